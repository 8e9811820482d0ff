"""Demo risk analyses (AMDEC) of three Valmont systems:

- the fracture detection: version 1 frozen 200 days ago, version 2 frozen 30 days ago after
  a mitigation decided by the Copil IA (a governance action on "automation bias") lowered
  the residual occurrence;
- the emergency triage: one frozen version, one failure mode whose review date has passed
  (a gap on the referent's home page);
- the in-house sepsis model: a draft still being scored (it cannot be frozen yet).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from garant.governance.models import Action, Meeting
from garant.registry.models import AISystem
from garant.risks import analyses
from garant.risks.models import FailureMode

FRACTURES = "Détection des fractures sur radiographies"
TRIAGE = "Aide au tri des patients aux urgences (IOA)"
SEPSIS = "Détection précoce du sepsis (modèle interne)"

#: code -> (S, O, D, residual S, O, D, owner, effect on the organisation)
FRACTURE_SCORES = {
    "automation_bias": (4, 3, 4, 4, 3, 3, "Chef du pôle imagerie", "Reprise de dossiers"),
    "data_drift": (3, 3, 4, 3, 2, 2, "Référent IA", ""),
    "unvalidated_update": (3, 2, 4, 3, 1, 2, "Ingénieur biomédical", ""),
    "outage_fallback": (2, 2, 1, 2, 2, 1, "DSI", "Double lecture le lendemain"),
}
TRIAGE_SCORES = {
    "automation_bias": (5, 3, 3, 5, 2, 2, "Médecin responsable des urgences", ""),
    "out_of_scope_population": (4, 2, 3, 4, 1, 2, "Cadre de santé des urgences", ""),
    "integration_error": (5, 1, 4, 5, 1, 2, "DSI", "Identitovigilance sollicitée"),
    "input_data_quality": (4, 3, 3, 4, 2, 3, "Cadre de santé des urgences", ""),
}
SEPSIS_CODES = ["data_drift", "concept_drift", "subgroup_bias", "deskilling"]


def _score(analysis, scores: dict, review: dt.date) -> None:
    for row in FailureMode.objects.unrestricted().filter(analysis=analysis):
        s, o, d, rs, ro, rd, owner, organisation = scores[row.code]
        row.severity, row.occurrence, row.detectability = s, o, d
        row.residual_severity, row.residual_occurrence, row.residual_detectability = rs, ro, rd
        row.owner_name = owner
        row.effect_organisation = organisation
        row.review_date = review
        row.save()


def load_demo_risks(establishments, users, today: dt.date) -> int:
    """The demo's risk analyses; how many versions were created."""
    valmont = establishments.get("valmont")
    if valmont is None:
        return 0
    systems = {
        s.name: s
        for s in AISystem.objects.unrestricted().filter(
            establishment=valmont, name__in=[FRACTURES, TRIAGE, SEPSIS]
        )
    }
    referent = users.get("referent.valmont")
    quality = users.get("dpo.valmont")
    now = timezone.now()
    count = 0
    if (system := systems.get(FRACTURES)) is not None:
        first = analyses.create(
            system,
            referent,
            "1-5",
            list(FRACTURE_SCORES),
            "Analyse initiale du groupe de travail (radiologie, urgences, qualité)",
            at=now - dt.timedelta(days=210),
        )
        _score(first, FRACTURE_SCORES, today + dt.timedelta(days=150))
        analyses.freeze(first, quality, at=now - dt.timedelta(days=200))
        bias = FailureMode.objects.unrestricted().get(analysis=first, code="automation_bias")
        meeting = (
            Meeting.objects.unrestricted()
            .filter(committee__establishment=valmont, status=Meeting.Status.HELD)
            .order_by("-starts_at")
            .first()
        )
        if meeting is not None:
            action = Action(
                meeting=meeting,
                failure_mode=bias,
                title="Relecture à l'aveugle d'un échantillon mensuel de clichés (biais "
                "d'automatisation)",
                owner=referent,
                due_date=today + dt.timedelta(days=20),
            )
            action.full_clean()
            action.save()
        second = analyses.new_version(
            system,
            referent,
            "Nouvelle version du logiciel ; relecture par échantillonnage mise en place",
            at=now - dt.timedelta(days=35),
        )
        row = FailureMode.objects.unrestricted().get(analysis=second, lineage=bias.lineage)
        row.residual_occurrence = 2
        row.occurrence_basis = "Deux écarts relevés par le collège sur les 6 derniers mois."
        row.save()
        analyses.freeze(second, quality, at=now - dt.timedelta(days=30))
        count += 2
    if (system := systems.get(TRIAGE)) is not None:
        analysis = analyses.create(
            system,
            referent,
            "1-5",
            list(TRIAGE_SCORES),
            "Analyse avant le PoC",
            at=now - dt.timedelta(days=100),
        )
        _score(analysis, TRIAGE_SCORES, today + dt.timedelta(days=90))
        late = FailureMode.objects.unrestricted().get(analysis=analysis, code="input_data_quality")
        late.review_date = today - dt.timedelta(days=10)
        late.save()
        analyses.freeze(analysis, quality, at=now - dt.timedelta(days=95))
        count += 1
    if (system := systems.get(SEPSIS)) is not None:
        analyses.create(
            system, referent, "1-10", SEPSIS_CODES, "Analyse en cours (groupe de travail)"
        )
        count += 1
    return count
