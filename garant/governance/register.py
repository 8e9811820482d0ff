"""The decision register (relevé de décisions): every decision the user may read, filtered,
as a page and as XLSX and PDF documents built with `garant.core.documents`."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.documents import PdfDocument, display, pdf_response, xlsx_response, xlsx_workbook
from garant.core.filtersets import filtered
from garant.governance.filtersets import DecisionFilterSet
from garant.governance.models import Decision


def register_queryset(user):
    return Decision.objects.for_user(user).select_related(
        "meeting__committee__establishment",
        "project__ai_system",
        "assessment",
        "chair__user",
        "signed_by",
    )


def filtered_register(request):
    """(filter set, decisions) of the page and its exports (`DecisionFilterSet`)."""
    return filtered(DecisionFilterSet, request, register_queryset(request.user))


def votes(decision: Decision) -> str:
    if decision.consensus:
        return _("consensus")
    return _("%(for)s pour, %(against)s contre, %(abstain)s abstention(s)") % {
        "for": decision.votes_for,
        "against": decision.votes_against,
        "abstain": decision.votes_abstain,
    }


def signature(decision: Decision) -> str:
    if not decision.is_signed:
        return _("à signer")
    return _("signée le %(date)s par %(name)s") % {
        "date": display(decision.signed_at),
        "name": decision.signed_by,
    }


COLUMNS = [
    (gettext_lazy("Date de la séance"), lambda d: timezone.localtime(d.meeting.starts_at)),
    (gettext_lazy("Établissement"), lambda d: d.meeting.committee.establishment.name),
    (gettext_lazy("Comité"), lambda d: d.meeting.committee.name),
    (gettext_lazy("Projet"), lambda d: d.project.ai_system.name),
    (gettext_lazy("Décision"), lambda d: d.get_outcome_display()),
    (
        gettext_lazy("Recommandation de l'évaluation"),
        lambda d: d.assessment.get_recommendation_display(),
    ),
    (gettext_lazy("Vote"), votes),
    (gettext_lazy("Président de séance"), lambda d: str(d.chair) if d.chair_id else ""),
    (gettext_lazy("Motivation"), lambda d: d.rationale),
    (gettext_lazy("Conditions"), lambda d: d.conditions),
    (gettext_lazy("Prochaine réévaluation"), lambda d: d.next_review_date),
    (gettext_lazy("Signature"), signature),
]


def rows(decisions):
    for decision in decisions.iterator(chunk_size=500):
        yield [value(decision) for _label, value in COLUMNS]


def export(request, fmt: str):
    _filters, decisions = filtered_register(request)
    stamp = f"{timezone.localdate():%Y-%m-%d}"
    headers = [str(label) for label, _value in COLUMNS]
    if fmt == "xlsx":
        content = xlsx_workbook([(_("Relevé de décisions"), headers, rows(decisions))])
        return xlsx_response(content, f"releve-decisions-{stamp}.xlsx")
    doc = PdfDocument(_("Relevé de décisions"), subtitle=_("Décisions des comités"), wide=True)
    picked = [0, 2, 3, 4, 6, 8, 9, 10, 11]  # the PDF leaves out what the page width cannot hold
    doc.table(
        [headers[i] for i in picked],
        ([row[i] for i in picked] for row in rows(decisions)),
        widths=[0.09, 0.1, 0.11, 0.1, 0.1, 0.18, 0.14, 0.08, 0.1],
        empty=_("Aucune décision."),
    )
    return pdf_response(doc.render(), f"releve-decisions-{stamp}.pdf")
