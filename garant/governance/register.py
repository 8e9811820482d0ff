"""The decision register (relevé de décisions): every decision the user may read, filtered,
as a page and as XLSX and PDF documents built with `garant.core.documents`."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.documents import PdfDocument, display, pdf_response, xlsx_response, xlsx_workbook
from garant.governance.forms import DATE_WIDGET
from garant.governance.models import Committee, Decision, Outcome


class RegisterFilters(forms.Form):
    """The register's filters; an invalid value is reported and ignored."""

    STATES = [
        ("", gettext_lazy("Toutes")),
        ("signed", gettext_lazy("Signées")),
        ("draft", gettext_lazy("À signer")),
    ]

    q = forms.CharField(label=gettext_lazy("Projet"), required=False, max_length=200)
    committee = forms.ModelChoiceField(
        label=gettext_lazy("Comité"),
        queryset=Committee.objects.none(),
        required=False,
        empty_label=gettext_lazy("Tous"),
    )
    outcome = forms.ChoiceField(
        label=gettext_lazy("Décision"),
        choices=[("", gettext_lazy("Toutes")), *Outcome.choices],
        required=False,
    )
    state = forms.ChoiceField(label=gettext_lazy("Signature"), choices=STATES, required=False)
    date_from = forms.DateField(label=gettext_lazy("Séance du"), required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label=gettext_lazy("au"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = Committee.objects.for_user(user).select_related(
            "establishment"
        )
        self.fields["q"].widget.attrs["type"] = "search"

    def filter(self, decisions):
        data = self.cleaned_data if self.is_valid() else {}
        if q := (data.get("q") or "").strip():
            decisions = decisions.filter(project__ai_system__name__icontains=q)
        if data.get("committee"):
            decisions = decisions.filter(meeting__committee=data["committee"])
        if data.get("outcome"):
            decisions = decisions.filter(outcome=data["outcome"])
        if data.get("state") == "signed":
            decisions = decisions.filter(signed_at__isnull=False)
        elif data.get("state") == "draft":
            decisions = decisions.filter(signed_at__isnull=True)
        if data.get("date_from"):
            decisions = decisions.filter(meeting__starts_at__date__gte=data["date_from"])
        if data.get("date_to"):
            decisions = decisions.filter(meeting__starts_at__date__lte=data["date_to"])
        return decisions


def register_queryset(user):
    return Decision.objects.for_user(user).select_related(
        "meeting__committee__establishment",
        "project__ai_system",
        "assessment",
        "chair__user",
        "signed_by",
    )


def filtered_register(request):
    filters = RegisterFilters(request.GET or None, user=request.user)
    return filters, filters.filter(register_queryset(request.user))


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
