"""Fictional collège de garantie humaine of the demo's first establishment (CHU de Valmont):
members with their roles and a quorum of two, a month of feedback events of its first system (fracture detection) sent
through the oversight ingestion, a completed review campaign drawn from them (seed 2026), the
findings of two reviewers on every case, and one finding turned into an action followed at
the copil's next meeting.

Runs after the governance demo (the action is followed at the copil's upcoming meeting). The
events are this module's own (event ids « demo-college-… »), so the draw does not depend on
any other demo data.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from garant.governance import agenda, college
from garant.governance.models import (
    Action,
    CaseReview,
    Committee,
    CommitteeMember,
    ReviewCampaign,
)
from garant.oversight import ingest
from garant.registry.models import AISystem

CODE = "valmont"
SEED = 2026
MANDATE = (
    "Revoir chaque trimestre un échantillon de décisions prises avec l'aide d'une IA : la "
    "sortie de l'outil était-elle juste, la décision du professionnel appropriée ? Proposer "
    "des actions et des recommandations au Copil IA."
)
# seats of the demo accounts: (username prefix, role, chair)
USER_SEATS = [
    ("comite", CommitteeMember.Role.PHYSICIAN, True),
    ("terrain", CommitteeMember.Role.NURSE, False),
    ("dpo", CommitteeMember.Role.DPO, False),
    ("referent", CommitteeMember.Role.DATA_SCIENTIST, False),
]
NAMED_SEATS = [
    ("Jean-Pierre Roux, représentant des usagers", CommitteeMember.Role.USERS),
    ("Claire Vidal, responsable qualité et gestion des risques", CommitteeMember.Role.QUALITY),
]
SERVICES = ["Urgences adultes", "Radiologie"]
OUTCOMES = ["accepted", "accepted", "overridden", "modified"]
REASONS = {"overridden": "clinical_judgement", "modified": "patient_context"}


def _save(obj):
    obj.full_clean()
    obj.save()
    return obj


def _events(system: AISystem, today: dt.date) -> list[dict]:
    rows = []
    for i in range(48):
        day = today - dt.timedelta(days=2 + i % 28)
        outcome = OUTCOMES[i % len(OUTCOMES)]
        rows.append(
            {
                "system": system.pk,
                "event_id": f"demo-college-{i:03d}",
                "prediction_id": f"demo-pred-{i:03d}",
                "time": f"{day.isoformat()}T{8 + i % 12:02d}:15:00+01:00",
                "outcome": outcome,
                "reason": REASONS.get(outcome),
                "role": "manipulateur" if i % 3 else "medecin",
                "service": SERVICES[(i // len(OUTCOMES)) % len(SERVICES)],
            }
        )
    return rows


def _finding(case, position: int, reviewer, second: bool) -> CaseReview:
    """Both reviewers agree the AI output was right; on overridden cases the nurse (second)
    is less sure the override was justified; the first case is the finding acted upon."""
    human = "yes"
    reason = "appropriate" if case.outcome == "accepted" else "justified_override"
    if position == 1:
        human, reason = "no", "automation_bias"
    elif second and case.outcome == "overridden":
        human, reason = "unsure", "insufficient_info"
    return _save(
        CaseReview(
            case=case,
            reviewer=reviewer,
            ai_output_appropriate="yes",
            human_decision_appropriate=human,
            reason=reason,
            note="Détection acceptée sans relecture du cliché." if position == 1 else "",
        )
    )


def load_demo_college(establishments: dict, users: dict, today: dt.date | None = None):
    """Create the collège of the first demo establishment and its completed campaign."""
    today = today or timezone.localdate()
    est = establishments.get(CODE)
    system = AISystem.objects.unrestricted().filter(establishment=est).order_by("pk").first()
    chair, nurse = users.get(f"comite.{CODE}"), users.get(f"terrain.{CODE}")
    if est is None or system is None or chair is None or nurse is None:
        return None
    committee = _save(
        Committee(
            establishment=est,
            name="Collège de garantie humaine",
            kind=Committee.Kind.COLLEGE,
            mandate=MANDATE,
            quorum=2,
        )
    )
    for prefix, role, is_chair in USER_SEATS:
        if (user := users.get(f"{prefix}.{CODE}")) is not None:
            _save(CommitteeMember(committee=committee, user=user, role=role, chair=is_chair))
    for name, role in NAMED_SEATS:
        _save(CommitteeMember(committee=committee, name=name, role=role))

    ingest.ingest(est, ingest.read_records(_events(system, today)), "demo", evaluate=False)
    campaign = college.draw(
        committee,
        title="Revue du trimestre",
        start=today - dt.timedelta(days=30),
        end=today - dt.timedelta(days=1),
        system_ids=[system.pk],
        per_stratum=1,
        seed=SEED,
        user=chair,
    )
    cases = list(campaign.cases.order_by("position"))
    for reviewer, second in ((chair, False), (nurse, True)):
        for case in cases:
            _finding(case, case.position, reviewer, second)

    meeting = agenda.upcoming_meetings(est).filter(committee__name="Copil IA").first()
    if meeting is not None:
        first = cases[0]
        action = _save(
            Action(
                meeting=meeting,
                title="Rappeler aux équipes la relecture du cliché avant de valider une détection",
                owner=nurse,
                due_date=today + dt.timedelta(days=30),
                notes="Constat du collège : une sortie acceptée sans examen critique.",
            )
        )
        first.action = action
        first.save(update_fields=["action"])
    campaign.conclusion = (
        "Sorties de l'outil jugées appropriées ; un cas d'acceptation sans examen critique "
        "donne lieu à une action de sensibilisation."
    )
    campaign.status = ReviewCampaign.Status.CLOSED
    campaign.closed_at = timezone.now()
    _save(campaign)
    return campaign
