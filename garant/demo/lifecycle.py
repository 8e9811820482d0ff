"""Fictional lifecycle of the demo group: a project for every system past the idea stage, in
the phase the register gives it, with the phase history that led there, a PoC charter with
success indicators and their monthly history, and assessments on the grid (frozen once the
project reached the decision). A few ideas from the field await triage or were triaged.

The projects are placed in their phase directly (the transitions are recorded with their
past dates): the signed decisions that the gates ask for are created afterwards by the
governance demo (garant/demo/governance.py) from the frozen assessments. One project in
routine has its re-evaluation overdue; the retired ones were stopped on a stop-if condition.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from garant.lifecycle import assessments, grids
from garant.lifecycle.models import (
    Assessment,
    CriterionScore,
    Idea,
    Indicator,
    IndicatorValue,
    NotApplicableIndicator,
    PhaseTransition,
    PocCharter,
    Project,
)
from garant.registry.models import AISystem

PATH = {
    "M1": ["instruction", "poc", "evaluation", "generalisation", "routine"],
    "M2": ["instruction", "evaluation", "generalisation", "routine"],
}
STEP_DAYS = 75  # the mean time a demo project spends in a phase


def step_days(system: AISystem) -> int:
    """Days per phase for this demo project: 40 to 110, fixed per system, so the portfolio does
    not show the same duration on every card."""
    return STEP_DAYS - 35 + (system.pk * 37) % 71


# mandatory indicator of the grids -> (name, unit, baseline, target, direction, method)
INDICATORS = {
    "clinical_outcome": (
        "Délai de prise en charge",
        "min",
        95,
        60,
        "lower",
        "Extraction DPI, médiane mensuelle",
    ),
    "adverse_events": (
        "Événements indésirables liés à l'outil",
        "nb/mois",
        0,
        0,
        "lower",
        "Déclarations FEI",
    ),
    "error_rates": (
        "Taux de faux négatifs",
        "%",
        12,
        8,
        "lower",
        "Revue de 100 dossiers tirés au sort",
    ),
    "usage_rate": (
        "Taux d'utilisation par les professionnels ciblés",
        "%",
        0,
        80,
        "higher",
        "Journaux d'usage",
    ),
    "discrimination": (
        "AUC sur données locales",
        "",
        0.80,
        0.85,
        "higher",
        "Validation locale mensuelle",
    ),
    "drift": ("Dérive du score (PSI)", "", 0, 0.1, "lower", "Suivi du flux de prédictions"),
    "gdpr_audit": ("Audit RGPD conforme (1 = oui)", "", 0, 1, "higher", "Audit du DPO"),
    "cost_benefit": ("Coût par patient", "€", 14, 10, "lower", "Contrôle de gestion"),
    "time_saved": ("Temps agent économisé", "h/mois", 0, 120, "higher", "Relevé des équipes"),
    "roi": ("ROI à 3 ans", "%", 0, 20, "higher", "Contrôle de gestion"),
    "error_rate": (
        "Taux d'erreur des résultats",
        "%",
        9,
        3,
        "lower",
        "Contrôle qualité d'un échantillon",
    ),
    "adoption_rate": ("Taux d'adoption", "%", 0, 75, "higher", "Journaux d'usage"),
}
USERS = (
    "Dr Claire Dumas — médecin référente du PoC\n"
    "Karim Benali — cadre de santé, organisation des tests\n"
    "Équipe de nuit des urgences — utilisateurs pilotes"
)
#: grid indicators that mean nothing for a transcription tool (no score, no model to drift)
NOT_FOR_TRANSCRIPTION = ("discrimination", "drift")
NOT_FOR_TRANSCRIPTION_REASON = (
    "Outil de transcription : il ne produit ni score ni classement, l'AUC et la dérive du "
    "modèle ne s'appliquent pas. La qualité est suivie par le taux d'erreur des comptes rendus."
)
IDEAS = [
    (
        "Tri automatique des courriers entrants",
        "Les secrétariats trient chaque matin plus de 300 courriers à la main.",
        "staff",
        "declined",
        "Déjà couvert par le projet de gestion électronique des documents.",
    ),
    (
        "Alerte de dénutrition à l'admission",
        "Repérer plus tôt les patients âgés dénutris à partir des données du DPI.",
        "patients",
        "submitted",
        "",
    ),
    (
        "Résumé des transmissions infirmières",
        "Les transmissions de fin de poste prennent 30 minutes par équipe.",
        "both",
        "submitted",
        "",
    ),
]


def _value_series(spec, months: int, good: bool) -> list[float]:
    _name, _unit, baseline, target, _direction, _method = spec
    start, end = float(baseline), float(target) if good else (float(baseline) + float(target)) / 2
    if start == end:
        return [start] * months
    return [round(start + (end - start) * (i + 1) / months, 3) for i in range(months)]


def _charter(project, system, start: dt.date, measured_months: int, good: bool):
    grid = grids.grid(project.effective_grid_code)
    charter = PocCharter(
        project=project,
        use_case=system.use_case or system.intended_purpose,
        operational_objective=f"Mesurer sur {max(measured_months, 3)} mois le bénéfice de « {system.name} » "
        "sur le périmètre pilote avant de décider de sa généralisation.",
        users_count=system.users_count or 25,
        patient_population="Patients adultes du périmètre pilote",
        duration_weeks=26,
        start_date=start,
        end_date=start + dt.timedelta(weeks=26),
        users_involved=USERS,
        data_quality_check="Complétude des données d'entrée vérifiée sur 3 mois d'historique (98 %).",
        scalability="Dimensionnement pour l'ensemble de l'établissement validé avec la DSI.",
        integration=system.workflow_integration
        or "Résultat affiché dans le DPI, sans double saisie.",
        regulatory_status=system.get_device_status_display(),
        budget=Decimal("45000"),
    )
    charter.full_clean(exclude=["project"])
    charter.save()
    charter.services.set(system.services.all())
    transcription = "Transcrire" in (system.intended_purpose or "")
    for criterion in grid.criteria:
        for item in criterion.mandatory_indicators:
            if transcription and item["code"] in NOT_FOR_TRANSCRIPTION:
                NotApplicableIndicator.objects.create(
                    project=project, code=item["code"], reason=NOT_FOR_TRANSCRIPTION_REASON
                )
                continue
            spec = INDICATORS[item["code"]]
            name, unit, baseline, target, direction, method = spec
            indicator = Indicator.objects.create(
                charter=charter,
                name=name,
                unit=unit,
                baseline=Decimal(str(baseline)),
                target=Decimal(str(target)),
                direction=direction,
                measurement_method=method,
                criterion_code=criterion.code,
                grid_indicator=item["code"],
            )
            values = [
                IndicatorValue.objects.create(
                    indicator=indicator,
                    value=Decimal(str(value)),
                    measured_on=start + dt.timedelta(days=30 * (i + 1)),
                )
                for i, value in enumerate(_value_series(spec, measured_months, good))
            ]
            if item["code"] == "usage_rate" and values:  # a typing error, corrected
                wrong = values[0]
                IndicatorValue.objects.create(
                    indicator=indicator,
                    value=wrong.value,
                    measured_on=wrong.measured_on,
                    supersedes=wrong,
                    comment="Correction : la première extraction comptait aussi les internes.",
                )
                IndicatorValue.objects.filter(pk=wrong.pk).update(value=wrong.value + 7)
    return charter


def _assess(project, when, *, profile: str, frozen: bool):
    assessment = assessments.start(project, None)
    Assessment.objects.filter(pk=assessment.pk).update(created_at=when)
    assessment.refresh_from_db()
    grid = assessments.grid_of(assessment)
    for i, criterion in enumerate(grid.criteria):
        score = CriterionScore.objects.get(assessment=assessment, criterion_code=criterion.code)
        score.score = {"good": 4 if i % 2 else 3, "conditions": 2 if i == 2 else 3}.get(profile, 2)
        score.stop_if_met = False  # every stop-if answered: an assessment is frozen whole
        if profile == "stop" and i == 3:
            score.stop_if_met = True
            score.comment = f"Constaté sur le PoC : {criterion.stop_if.lower()}."
        score.save()
    assessments.compute(assessment)
    if frozen:
        assessment = assessments.freeze(assessment, None, at=when + dt.timedelta(days=1))
    return assessment


def _project(system: AISystem, today: dt.date, overdue: bool) -> Project:
    final = system.phase
    path = PATH[system.modality if system.modality in PATH else "M1"]
    if final in path:
        steps = path[: path.index(final) + 1]
    else:  # suspended after routine; retired after the decision (stopped)
        steps = path[:-1] + [final] if final == "retired" else path + [final]
    step = step_days(system)
    start = today - dt.timedelta(days=step * len(steps))
    project = Project.objects.create(
        establishment=system.establishment,
        ai_system=system,
        phase=final,
        created_at=timezone.make_aware(dt.datetime.combine(start, dt.time(9))),
    )
    previous = ""
    for n, phase in enumerate(steps):
        at = timezone.make_aware(
            dt.datetime.combine(start + dt.timedelta(days=step * n), dt.time(10))
        )
        PhaseTransition.objects.create(
            project=project,
            from_phase=previous,
            to_phase=phase,
            at=at,
            reason={
                "poc": "Charte validée par le Copil",
                "suspended": "Incident en cours d'analyse",
                "retired": "Arrêt décidé par le comité sur la grille",
            }.get(phase, ""),
        )
        previous = phase
    project.phase_entered_at = at
    if "poc" in steps or "evaluation" in steps:
        # in the PoC now: one monthly value per month elapsed, none in the future
        measured = 6 if final not in ("poc",) else max(1, step // 30)
        _charter(project, system, start + dt.timedelta(days=step), measured, final != "retired")
    decided = [p for p in steps if p in ("generalisation", "routine", "suspended", "retired")]
    if final == "evaluation":
        _assess(project, timezone.now(), profile="conditions", frozen=False)
    elif decided:
        profile = (
            "stop" if final == "retired" else ("conditions" if final == "suspended" else "good")
        )
        # decided at the governance demo's past meeting (45 days ago): assessed before it
        when = timezone.now() - dt.timedelta(days=max(step, 60))
        _assess(project, when, profile=profile, frozen=True)
    if final == "routine":
        project.next_review_date = (
            today - dt.timedelta(days=20) if overdue else today + dt.timedelta(days=200)
        )
    project.save()
    return project


def load_demo_lifecycle(establishments: dict, users: dict, today: dt.date | None = None) -> int:
    """Projects for the demo systems and a few ideas; returns the number of projects."""
    today = today or timezone.localdate()
    count, overdue_done = 0, False
    systems = (
        AISystem.objects.filter(establishment__in=establishments.values())
        .exclude(phase="idea")
        .select_related("establishment")
        .order_by("establishment__code", "pk")
    )
    for system in systems:
        overdue = system.phase == "routine" and not overdue_done
        overdue_done = overdue_done or overdue
        _project(system, today, overdue)
        count += 1
    for code, establishment in sorted(establishments.items())[:2]:
        author = users.get(f"terrain.{code}")
        for title, need, benefit, status, reason in IDEAS:
            Idea.objects.create(
                establishment=establishment,
                author=author,
                title=title,
                need=need,
                expected_benefit=benefit,
                status=status,
                triage_reason=reason,
                triaged_at=timezone.now() if status != "submitted" else None,
                triaged_by=users.get(f"comite.{code}") if status != "submitted" else None,
            )
    return count
