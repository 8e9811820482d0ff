"""Ethics referrals (« saisine du comité d'éthique ou de la cellule de soutien éthique »):
a question on an AI system referred to a `Committee` of an ethics kind, the body's opinion
(given once, with its date and recommendations), and each recommendation followed up as a
governance `Action` (docs/decisions/0018-ethics-referrals.md, docs/ethics.md).

Also what governance adds, for a project's system, to the decision dossier (the collège's
reviews and the ethics referrals) and to the compliance checklist's linked evidence: the
referrals for HAS criterion 3.1-06, the collège's reviews for the AI Act deployer
obligations of human oversight (Art 14, Art 26(2), 26(5)).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.documents import PdfDocument, display
from garant.core.numbers import number
from garant.governance import college
from garant.governance.models import (
    Committee,
    EthicsRecommendation,
    EthicsReferral,
    ReviewCampaign,
    ReviewCase,
)


class OpinionGiven(Exception):
    """The referral already has its opinion: a new question is a new referral."""


def bodies(establishment):
    """The establishment's ethics committee(s) and ethics support cell(s)."""
    return (
        Committee.objects.within(establishment=establishment)
        .filter(kind__in=Committee.ETHICS_KINDS)
        .order_by("name", "pk")
    )


def referrals_of(system):
    return (
        EthicsReferral.objects.within(ai_system=system)
        .select_related("committee", "asked_by", "opinion_recorded_by")
        .prefetch_related("recommendations__action__meeting__committee")
    )


def split_recommendations(text: str) -> list[str]:
    """One recommendation per non-empty line (a leading « - » or « • » dropped)."""
    lines = (line.strip().lstrip("-•*").strip() for line in (text or "").splitlines())
    return [line for line in lines if line]


def record_opinion(
    referral: EthicsReferral, *, opinion: str, text: str, date, recommendations: list[str], user
) -> EthicsReferral:
    """Record the body's opinion and its recommendations, all or nothing (the caller sets the
    audit context). Refused (`OpinionGiven`) when an opinion is already recorded."""
    with transaction.atomic():
        # system code: `referral` was reached through the caller's scope; locked to record once
        locked = EthicsReferral.objects.unrestricted().select_for_update().get(pk=referral.pk)
        if locked.has_opinion:
            raise OpinionGiven
        locked.opinion = opinion
        locked.opinion_text = text
        locked.opinion_date = date
        locked.opinion_recorded_by = user
        locked.full_clean()
        locked.save()
        for position, line in enumerate(recommendations, start=1):
            EthicsRecommendation.objects.create(referral=locked, position=position, text=line)
    return locked


def follow_up(recommendation: EthicsRecommendation, form) -> EthicsRecommendation:
    """The recommendation's follow-up: the action of `form` (a `FollowUpActionForm`)."""
    with transaction.atomic():
        action = form.save()
        recommendation.action = action
        recommendation.save(update_fields=["action"])
    return recommendation


# --- the decision dossier ---------------------------------------------------------------------


def _action_text(action) -> str:
    if action is None:
        return _("pas encore d'action")
    return _("%(title)s — %(owner)s, échéance %(due)s (%(status)s)") % {
        "title": action.title,
        "owner": action.owner_display or "—",
        "due": display(action.due_date),
        "status": action.get_status_display(),
    }


def dossier_referrals(project) -> list[dict]:
    rows = []
    for referral in referrals_of(project.ai_system):
        rows.append(
            {
                "referral": referral,
                "heading": str(referral),
                "fields": [
                    (_("Instance saisie"), str(referral.committee)),
                    (_("Saisine le"), display(referral.referred_on)),
                    (_("Posée par"), referral.asked_by_display),
                    (_("Question posée"), referral.question),
                    (
                        _("Avis"),
                        _("%(kind)s, rendu le %(date)s")
                        % {
                            "kind": referral.get_opinion_display(),
                            "date": display(referral.opinion_date),
                        }
                        if referral.has_opinion
                        else _("avis attendu"),
                    ),
                    (_("Texte de l'avis"), referral.opinion_text or "—"),
                ],
                "recommendations": [
                    (r.text, _action_text(r.action)) for r in referral.recommendations.all()
                ],
            }
        )
    return rows


def _pdf_rows(doc: PdfDocument, title, empty, rows, headers, key, table_empty) -> None:
    """A dossier section of the PDF: per row, its heading, fields and table `key`."""
    doc.heading(title)
    if not rows:
        doc.paragraph(empty, note=True)
    for row in rows:
        doc.heading(row["heading"], level=2)
        doc.fields(row["fields"])
        doc.table(headers, row[key], widths=[0.4, 0.6], empty=table_empty)


def pdf_referrals(doc: PdfDocument, rows: list[dict]) -> None:
    _pdf_rows(
        doc,
        _("Saisines éthiques"),
        _("Aucune saisine du comité d'éthique."),
        rows,
        [_("Recommandation"), _("Suivi")],
        "recommendations",
        _("Aucune recommandation."),
    )


def dossier_college(project) -> list[dict]:
    """The collège's campaigns that drew cases of the project's system: cases drawn and
    reviewed, the reviewers' agreement, the conclusion, and what the findings became."""
    system = project.ai_system
    campaigns = (
        ReviewCampaign.objects.within(cases__ai_system=system)
        .distinct()
        .select_related("committee")
        .annotate(
            n_cases=Count("cases", filter=Q(cases__ai_system=system), distinct=True),
            n_reviewed=Count(
                "cases",
                filter=Q(cases__ai_system=system, cases__reviews__isnull=False),
                distinct=True,
            ),
        )
        .order_by("-created_at", "-pk")
    )
    rows = []
    for campaign in campaigns:
        agreement = college.agreement(campaign)
        findings = []
        for case in (
            ReviewCase.objects.within(campaign=campaign, ai_system=system)
            .filter(Q(action__isnull=False) | Q(agenda_item__isnull=False))
            .select_related("action", "agenda_item__meeting__committee")
        ):
            if case.action_id:
                findings.append((case.event_id, _("action : %s") % _action_text(case.action)))
            if case.agenda_item_id:
                findings.append(
                    (
                        case.event_id,
                        _("recommandation à %(meeting)s : %(title)s")
                        % {"meeting": case.agenda_item.meeting, "title": case.agenda_item.title},
                    )
                )
        rows.append(
            {
                "campaign": campaign,
                "heading": str(campaign),
                "fields": [
                    (_("Collège"), str(campaign.committee)),
                    (
                        _("Période revue"),
                        f"{display(campaign.period_start)} → {display(campaign.period_end)}",
                    ),
                    (_("Statut"), campaign.get_status_display()),
                    (_("Cas tirés (ce système)"), number(campaign.n_cases)),
                    (_("Cas relus (ce système)"), number(campaign.n_reviewed)),
                    (_("Graine du tirage"), str(campaign.seed)),
                    *[
                        (label, _agreement_text(agreement.get(question)))
                        for question, label in (
                            ("ai", _("Accord des relecteurs : sortie de l'IA")),
                            ("human", _("Accord des relecteurs : décision humaine")),
                        )
                    ],
                    (_("Conclusions du collège"), campaign.conclusion or "—"),
                ],
                "findings": findings,
            }
        )
    return rows


def _agreement_text(data: dict | None) -> str:
    if not data or not data["cases"]:
        return _("non calculable (moins de deux relecteurs)")
    method = _("kappa de Cohen") if data["method"] == "cohen" else _("kappa de Fleiss")
    kappa = number(data["kappa"], 2) if data["kappa"] is not None else _("non défini")
    return _(
        "%(method)s %(kappa)s (accord observé %(agreement)s %%, %(n)s cas, %(r)s relecteurs)"
    ) % {
        "method": method,
        "kappa": kappa,
        "agreement": number(data["agreement"] * 100, 1),
        "n": number(data["cases"]),
        "r": data["raters"],
    }


def pdf_college(doc: PdfDocument, rows: list[dict]) -> None:
    _pdf_rows(
        doc,
        _("Revues du collège de garantie humaine"),
        _("Aucune revue du collège sur ce système."),
        rows,
        [_("Cas"), _("Suite donnée au constat")],
        "findings",
        _("Aucun constat n'a donné lieu à une action ou une recommandation."),
    )


# --- linked evidence for the compliance checklist ---------------------------------------------

#: obligation code → what the collège's reviews prove
COLLEGE_EVIDENCE = {
    "aia_26_2": gettext_lazy("revue a posteriori par des personnes compétentes (collège)"),
    "aia_26_5": gettext_lazy("surveillance du fonctionnement par revue de cas"),
    "aia_14_oversight": gettext_lazy("contrôle humain effectif vérifié sur un échantillon"),
}
ETHICS_EVIDENCE = "has_3_1_06"


def ethics_evidence(system) -> dict[str, list[dict]]:
    """The system's referrals as evidence of HAS criterion 3.1-06 (ethical questioning)."""
    items = []
    for referral in EthicsReferral.objects.within(ai_system=system).select_related("committee"):
        detail = (
            _("avis %(kind)s du %(date)s")
            % {
                "kind": referral.get_opinion_display(),
                "date": date_format(referral.opinion_date, "d/m/Y"),
            }
            if referral.has_opinion
            else _("avis attendu")
        )
        items.append({"title": str(referral), "detail": detail, "url": referral.get_absolute_url()})
    return {ETHICS_EVIDENCE: items} if items else {}


def college_evidence(system) -> dict[str, list[dict]]:
    """The collège's campaigns that reviewed cases of the system."""
    campaigns = (
        ReviewCampaign.objects.within(cases__ai_system=system)
        .distinct()
        .annotate(n=Count("cases", filter=Q(cases__ai_system=system), distinct=True))
        .order_by("-created_at", "-pk")
    )
    found: dict[str, list[dict]] = {}
    for campaign in campaigns:
        title = _("Revue du collège « %(title)s » (%(status)s), %(n)s cas de ce système") % {
            "title": campaign.title,
            "status": campaign.get_status_display(),
            "n": campaign.n,
        }
        for code, detail in COLLEGE_EVIDENCE.items():
            found.setdefault(code, []).append(
                {"title": title, "detail": str(detail), "url": campaign.get_absolute_url()}
            )
    return found
