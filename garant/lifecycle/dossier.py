"""The decision dossier of a project, for the committee and auditors: register data,
qualification (when the compliance capability has one), charter, oversight plan, what the
clinicians did with the system's outputs (the oversight rates), the risk analysis (the current
frozen AMDEC), the sections registered by the apps above (the collège's reviews, the ethics
referrals: `register`), indicator history, the latest assessment, the decisions with their
conditions, and the actions. One set of values
(`sections`) is shown as an HTML page and written as a PDF (`garant.core.documents`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.core.documents import PdfDocument, display, pdf_response
from garant.core.numbers import money, number, percent
from garant.core.permissions import get_scoped
from garant.incidents import loop as incident_loop
from garant.lifecycle import assessments, committee
from garant.lifecycle.models import Assessment, Indicator, PocCharter, Project, Recommendation
from garant.oversight import plans, rates, referential
from garant.risks import analyses as risk_analyses

#: the oversight rates of the dossier: the last twelve months, by month
RATES_DAYS = 365


@dataclass(frozen=True)
class Section:
    """A section that an app above the lifecycle adds to the dossier (from its
    `AppConfig.ready`): `build(project)` gives its values (None: nothing recorded), shown by
    the HTML `template` (as ``section``) and written by `write_pdf(doc, values)`."""

    key: str
    order: int
    build: Callable[[object], object]
    template: str
    write_pdf: Callable[[PdfDocument, object], None]


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> None:
    _SECTIONS[section.key] = section


def _registered(project) -> list[dict]:
    return [
        {"key": s.key, "template": s.template, "values": s.build(project), "section": s}
        for s in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))
    ]


def _qualification(system) -> list[tuple[str, object]] | None:
    try:
        from garant.compliance.summary import current_summary
    except ImportError:
        return None
    summary = current_summary(system)
    if not summary:
        return None
    return [
        (_("Niveau de risque (AI Act)"), summary.get("risk_label")),
        (_("Référentiel"), summary.get("referential_version")),
        (_("Qualifié le"), summary.get("qualified_at")),
        (
            _("Obligations remplies"),
            f"{summary.get('obligations_done', 0)} / {summary.get('obligations_total', 0)}",
        ),
        (_("Obligations en retard"), summary.get("obligations_overdue", 0)),
        (_("À revoir (système modifié depuis)"), summary.get("stale")),
    ]


def _register(project: Project) -> list[tuple[str, object]]:
    s = project.ai_system
    return [
        (_("Système"), s.name),
        (_("Établissement"), s.establishment.name),
        (_("Éditeur"), s.vendor.name if s.vendor else _("Développement interne")),
        (_("Finalité prévue"), s.intended_purpose),
        (_("Cas d'usage"), s.use_case),
        (_("Type de solution"), f"{s.solution_type} — {s.get_solution_type_display()}"),
        (_("Domaine"), f"{s.domain} — {s.get_domain_display()}"),
        (_("Modalité"), f"{s.modality} — {s.get_modality_display()}"),
        (_("Phase"), s.get_phase_display()),
        (_("Statut dispositif médical"), s.get_device_status_display()),
        (_("Prochaine réévaluation"), display(project.next_review_date)),
    ]


def _charter(charter: PocCharter | None) -> list[tuple[str, object]] | None:
    if charter is None:
        return None
    return [
        (_("Cas d'usage précis"), charter.use_case),
        (_("Objectif opérationnel"), charter.operational_objective),
        (_("Services"), ", ".join(str(s) for s in charter.services.all())),
        (_("Nombre d'utilisateurs"), number(charter.users_count) or None),
        (_("Population de patients"), charter.patient_population),
        (_("Période"), f"{display(charter.start_date)} → {display(charter.end_date)}"),
        (_("Utilisateurs impliqués"), charter.users_involved),
        (_("Qualité des données"), charter.data_quality_check),
        (_("Passage à l'échelle"), charter.scalability),
        (_("Intégration aux outils"), charter.integration),
        (_("Statut réglementaire"), charter.regulatory_status),
        (_("Budget"), money(charter.budget) or None),
    ]


def _indicators(charter: PocCharter | None) -> list[dict]:
    if charter is None:
        return []
    return [
        {
            "name": str(i),
            "baseline": number(i.baseline) or None,
            "target": number(i.target) or None,
            "direction": i.get_direction_display(),
            "values": [
                (display(v.measured_on), number(v.value), v.get_source_display())
                for v in i.values.all()
            ],
        }
        for i in Indicator.objects.within(charter=charter).prefetch_related("values")
    ]


def _oversight_plan(system) -> dict | None:
    plan = plans.current(system)
    if plan is None:
        return None
    return {
        "fields": [
            (_("Version"), plan.number),
            (_("Enregistrée le"), timezone.localdate(plan.created_at)),
            (_("Ignorer ou corriger une sortie"), plan.override),
            (_("Arrêter le système"), plan.stop),
            (_("Procédure dégradée en cas d'arrêt"), plan.fallback),
            (_("Prochaine revue du plan"), plan.review_due),
        ],
        "points": [
            (plans.moment_label(p), p["who"], p["checks"], p.get("action") or "—")
            for p in plan.points
        ],
        "people": [(p["who"], p["competence"]) for p in plan.people],
    }


def _rate_row(label, row: dict) -> tuple:
    return (
        label,
        number(row["events"]),
        percent(row["accepted_rate"]),
        percent(row["modified_rate"]),
        percent(row["overridden_rate"]),
        percent(row["ignored_rate"]),
        _("oui") if row["blind_acceptance"] else _("non"),
    )


def _oversight_rates(system, today: dt.date | None = None) -> dict | None:
    """The rates of `oversight.rates` over the last twelve months, by month and service, with
    the blind-acceptance indicator and the AI/human kappa when the outcomes are known."""
    end = (today or timezone.localdate()) + dt.timedelta(days=1)
    summary = rates.system_summary(system, end - dt.timedelta(days=RATES_DAYS), end, "month")
    total = summary["total"]
    if not total["events"]:
        return None
    kappa = summary["kappa"]["total"]
    codes = referential.codes()
    return {
        "period": (summary["period"]["start"], summary["period"]["end"]),
        "fields": [
            (
                _("Période"),
                f"{display(summary['period']['start'])} → {display(summary['period']['end'])}",
            ),
            (_("Retours d'usage"), number(total["events"])),
            (_("Sorties affichées"), number(total["shown"])),
            (_("Taux d'acceptation"), percent(total["accepted_rate"])),
            (_("Taux de modification"), percent(total["modified_rate"])),
            (_("Taux d'écart (dérogation)"), percent(total["overridden_rate"])),
            (_("Acceptation sans examen suspectée"), total["blind_acceptance"]),
            (
                _("Accord IA / décision finale (kappa de Cohen)"),
                _("%(k)s sur %(n)s cas")
                % {"k": number(kappa["kappa"], 2), "n": number(kappa["pairs"])}
                if kappa["kappa"] is not None
                else _("non connu (décisions finales non transmises)"),
            ),
        ],
        "by_period": [
            _rate_row(date_format(row["period"], "m/Y"), row) for row in summary["by_period"]
        ],
        "by_service": [
            _rate_row(row["service"] or _("non renseigné"), row) for row in summary["by_service"]
        ],
        "by_reason": [
            _rate_row(
                codes.label("reasons", row["reason"]) if row["reason"] else _("sans motif"), row
            )
            for row in summary["by_reason"]
        ],
    }


def rate_tables(found: dict) -> list[tuple[str, list[tuple]]]:
    return [
        (_("Par mois"), found["by_period"]),
        (_("Par service"), found["by_service"]),
        (_("Par motif"), found["by_reason"]),
    ]


def rate_headers() -> list[str]:
    return [
        "",
        _("Retours"),
        _("Acceptation"),
        _("Modification"),
        _("Écart"),
        _("Ignorées"),
        _("Sans examen ?"),
    ]


def _risk_analysis(system) -> dict | None:
    """The current (frozen) risk analysis: its highest residual criticality, and its rows."""
    analysis = risk_analyses.current(system)
    if analysis is None:
        return None
    top = risk_analyses.highest_residual(analysis)
    fields = [
        (_("Version"), analysis.number),
        (_("Figée le"), timezone.localdate(analysis.frozen_at)),
        (_("Échelles"), risk_analyses.scale_of(analysis).label),
    ]
    if top:
        fields.append(
            (
                _("Criticité résiduelle la plus élevée"),
                f"{top['value']} / {top['max']} — {top['zone']['label']} "
                f"({top['row'].position}. {top['row'].title})",
            )
        )
    rows = [
        (
            f"{r['row'].position}. {r['row'].title}",
            display(r["row"].criticality),
            display(r["row"].residual_criticality),
            r["residual_zone"]["label"]
            if r["row"].residual_criticality is not None
            else r["zone"]["label"],
        )
        for r in risk_analyses.table(analysis)
    ]
    return {"fields": fields, "rows": rows}


def _events(project: Project) -> list[tuple]:
    """The adverse events per period (the decision grid's safety criterion shows the same
    counts): declared, serious, near misses."""
    rows = []
    for label, start, end in assessments.event_periods(project):
        found = incident_loop.system_counts(project.ai_system, start, end)
        period = f"{label} — {display(start)} → {display(end)}"
        rows.append((period, found.declared, found.serious, found.near_misses))
    return rows


def event_headers() -> list[str]:
    return [_("Période"), _("Déclarés"), _("Graves"), _("Presque accidents")]


def sections(project: Project) -> dict:
    charter = PocCharter.objects.within(project=project).prefetch_related("services").first()
    assessment = (
        Assessment.objects.within(project=project)
        .filter(status=Assessment.Status.FROZEN)
        .order_by("-frozen_at", "-pk")
        .first()
    )
    decisions, actions = committee.dossier_rows(project)
    return {
        "register": _register(project),
        "qualification": _qualification(project.ai_system),
        "charter": _charter(charter),
        "oversight_plan": _oversight_plan(project.ai_system),
        "oversight_rates": _oversight_rates(project.ai_system),
        "rate_headers": rate_headers(),
        "registered": _registered(project),
        "risk_analysis": _risk_analysis(project.ai_system),
        "events": _events(project),
        "event_headers": event_headers(),
        "indicators": _indicators(charter),
        "assessment": assessment,
        "snapshot": assessment.snapshot if assessment else None,
        "recommendation": Recommendation(assessment.recommendation).label
        if assessment and assessment.recommendation
        else "",
        "decisions": decisions,
        "actions": actions,
        "generated_at": timezone.now(),
    }


def _project(request, pk) -> Project:
    return get_scoped(
        request.user,
        Project.objects.select_related("ai_system__establishment", "ai_system__vendor"),
        pk,
    )


@login_required
def dossier_html(request, pk):
    project = _project(request, pk)
    data = sections(project)
    found = data["oversight_rates"]
    tables = rate_tables(found) if found else []
    context = {"project": project, "oversight_rates_tables": tables, **data}
    return render(request, "lifecycle/dossier.html", context)


def pdf(project: Project) -> bytes:
    data = sections(project)
    doc = PdfDocument(
        _("Dossier de décision — %(name)s") % {"name": project.ai_system.name},
        subtitle=project.establishment.name,
    )
    doc.heading(_("Fiche de la cartographie"))
    doc.fields(data["register"])
    doc.heading(_("Qualification réglementaire"))
    if data["qualification"]:
        doc.fields(data["qualification"])
    else:
        doc.paragraph(_("Pas de qualification enregistrée."), note=True)
    doc.heading(_("Charte du PoC"))
    if data["charter"]:
        doc.fields(data["charter"])
    else:
        doc.paragraph(_("Pas de charte."), note=True)
    doc.heading(_("Plan de supervision humaine"))
    plan = data["oversight_plan"]
    if plan:
        doc.fields(plan["fields"])
        doc.table(
            [_("Moment"), _("Qui"), _("Ce qui est vérifié"), _("En cas de désaccord")],
            plan["points"],
        )
        doc.table([_("Personne ou rôle"), _("Compétence")], plan["people"])
    else:
        doc.paragraph(_("Pas de plan de supervision."), note=True)
    doc.heading(_("Supervision humaine : ce que font les professionnels des sorties"))
    found = data["oversight_rates"]
    if found:
        doc.fields(found["fields"])
        widths = [0.22, 0.11, 0.14, 0.14, 0.13, 0.13, 0.13]
        for caption, rows in rate_tables(found):
            doc.table([caption, *data["rate_headers"][1:]], rows, widths=widths)
    else:
        doc.paragraph(_("Aucun retour d'usage sur les douze derniers mois."), note=True)
    doc.heading(_("Analyse de risques (AMDEC)"))
    risk = data["risk_analysis"]
    if risk:
        doc.fields(risk["fields"])
        doc.table(
            [_("Mode de défaillance"), _("Criticité"), _("Résiduelle"), _("Zone")],
            risk["rows"],
            widths=[0.52, 0.14, 0.14, 0.2],
        )
    else:
        doc.paragraph(_("Pas d'analyse de risques figée."), note=True)
    doc.heading(_("Événements indésirables"))
    doc.table(data["event_headers"], data["events"], widths=[0.52, 0.16, 0.16, 0.16])
    for registered in data["registered"]:
        registered["section"].write_pdf(doc, registered["values"])
    doc.heading(_("Indicateurs de succès"))
    for i in data["indicators"]:
        doc.heading(i["name"], level=2)
        doc.paragraph(
            _("Référence : %(b)s — cible : %(t)s (%(d)s)")
            % {"b": display(i["baseline"]), "t": display(i["target"]), "d": i["direction"]}
        )
        doc.table([_("Date"), _("Valeur"), _("Source")], i["values"], empty=_("Aucune valeur."))
    doc.heading(_("Évaluation sur la grille"))
    snap = data["snapshot"]
    if snap:
        doc.paragraph(
            _("%(grid)s (version %(version)s), figée le %(date)s — recommandation : %(rec)s")
            % {
                "grid": snap["grid_label"],
                "version": snap["grid_version"],
                "date": display(data["assessment"].frozen_at),
                "rec": data["recommendation"],
            }
        )
        doc.table(
            [_("Critère"), _("Note"), _("Arrêt"), _("Commentaire")],
            [
                (
                    f"{c['n']}. {c['title']}",
                    f"{display(c['score'])} / {c['scale_max']}",
                    c["stop_if_met"],
                    c["comment"],
                )
                for c in snap["criteria"]
            ],
            widths=[0.4, 0.12, 0.1, 0.38],
        )
        for reason in snap["reasons"]:
            doc.paragraph(f"• {reason}")
    else:
        doc.paragraph(_("Pas d'évaluation figée."), note=True)
    doc.heading(_("Décisions"))
    doc.table(
        [_("Signée le"), _("Décision"), _("Motivation"), _("Conditions"), _("Réévaluation")],
        [
            (
                d["date"] if d["signed"] else _("non signée"),
                d["outcome"],
                d["rationale"],
                d["conditions"],
                d["next_review_date"],
            )
            for d in data["decisions"]
        ],
        empty=_("Aucune décision."),
    )
    doc.heading(_("Actions"))
    doc.table(
        [_("Action"), _("Porteur"), _("Échéance"), _("Statut")],
        [(a["title"], a["owner"], a["due_date"], a["status"]) for a in data["actions"]],
        empty=_("Aucune action."),
    )
    return doc.render()


@login_required
def dossier_pdf(request, pk):
    project = _project(request, pk)
    stamp = date_format(timezone.localdate(), "Y-m-d")
    return pdf_response(pdf(project), f"dossier-projet-{project.pk}-{stamp}.pdf")
