"""Fictional governance of the demo group: a Copil IA per establishment, a past meeting with
its minutes and signed decisions, actions (one overdue), and an upcoming meeting whose agenda
is what the lifecycle proposes.

Runs after the lifecycle demo, on its projects: a project past the evaluation (generalised,
in routine, suspended or retired) whose latest assessment recommends something gets a signed
decision following that recommendation — "arrêter" with its reasons, "généraliser sous
conditions" with conditions and actions; projects still awaiting a decision go on the next
meeting's agenda. Every record is validated (`full_clean`) and audited like any other change.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from garant.governance import agenda
from garant.governance.decisions import assessment_for, record_attendance, sign
from garant.governance.models import (
    Action,
    Attendance,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
    Outcome,
)

DECIDED_PHASES = ("generalisation", "routine", "suspended", "retired")
MANDATE = (
    "Instance unique de gouvernance de l'IA de l'établissement : cartographier les SIA, "
    "examiner les idées et les PoC, décider de leur généralisation ou de leur arrêt sur la "
    "grille de décision, suivre les actions et les réévaluations. Se réunit une fois par mois ; "
    "rend compte au CODIR (financements) et à la CME."
)
# seats held by people without a Garant account: (name, role)
NAMED_SEATS = [
    ("Dr Hélène Marsac, présidente de la CME", CommitteeMember.Role.CME),
    ("Jean-Pierre Roux, représentant des usagers", CommitteeMember.Role.USERS),
    ("Claire Vidal, responsable qualité et gestion des risques", CommitteeMember.Role.QUALITY),
    ("Maître Lise Aubert, juriste", CommitteeMember.Role.LEGAL),
]
# seats of the demo accounts: (username prefix, role, chair)
USER_SEATS = [
    ("comite", CommitteeMember.Role.DIRECTION, True),
    ("referent", CommitteeMember.Role.IT, False),
    ("dpo", CommitteeMember.Role.DPO, False),
    ("terrain", CommitteeMember.Role.FIELD, False),
]
CONDITIONS = (
    "Former toutes les équipes utilisatrices avant l'ouverture (habilitation par outil) ; "
    "informer les patients (affichage et livret d'accueil) ; suivre mensuellement les "
    "indicateurs du PoC pendant la première année."
)


def _save(obj):
    obj.full_clean()
    obj.save()
    return obj


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def load_demo_governance(establishments: dict, users: dict, today: dt.date | None = None):
    """Create the governance of each demo establishment; returns the committees."""
    today = today or timezone.localdate()
    return [_establishment(code, est, users, today) for code, est in sorted(establishments.items())]


def _establishment(code, est, users, today) -> Committee:
    committee = _save(
        Committee(establishment=est, name="Copil IA", kind=Committee.Kind.SINGLE, mandate=MANDATE)
    )
    chair = None
    for prefix, role, is_chair in USER_SEATS:
        user = users.get(f"{prefix}.{code}")
        if user is not None:
            seat = _save(CommitteeMember(committee=committee, user=user, role=role, chair=is_chair))
            chair = seat if is_chair else chair
    if (coordinator := users.get("direction.gcs")) is not None:
        _save(CommitteeMember(committee=committee, user=coordinator, role="nursing"))
    for name, role in NAMED_SEATS:
        _save(CommitteeMember(committee=committee, name=name, role=role))
    secretary = users.get(f"referent.{code}")
    past = _save(
        Meeting(
            committee=committee,
            starts_at=_at(today - dt.timedelta(days=45), 14),
            place="Salle du directoire",
            status=Meeting.Status.HELD,
            secretary=secretary,
        )
    )
    _attendance(past)
    decided = _decide_past(past, chair, users.get(f"comite.{code}"), today)
    past.minutes = _minutes(decided)
    _save(past)
    upcoming = _save(
        Meeting(
            committee=committee,
            starts_at=_at(today + dt.timedelta(days=12), 14),
            place="Salle du directoire",
            secretary=secretary,
        )
    )
    agenda.add_to_agenda(upcoming, agenda.proposals(committee, upcoming))
    return committee


def _attendance(meeting) -> None:
    """Everyone present but the jurist (excused); the users' representative declares a
    conflict of interest (a relative treated with one of the tools)."""
    rows = []
    for member in meeting.committee.members.all():
        excused = member.role == CommitteeMember.Role.LEGAL
        conflict = member.role == CommitteeMember.Role.USERS
        rows.append(
            {
                "member": member,
                "status": Attendance.Status.EXCUSED if excused else Attendance.Status.PRESENT,
                "conflict_of_interest": conflict,
                "conflict_note": "Un proche suivi avec l'un des outils examinés"
                if conflict
                else "",
            }
        )
    record_attendance(meeting, rows)


def _decide_past(meeting, chair, signer, today) -> list[Decision]:
    from garant.lifecycle.assessments import freeze
    from garant.lifecycle.models import Project

    projects = Project.objects.filter(
        establishment_id=meeting.committee.establishment_id, phase__in=DECIDED_PHASES
    ).select_related("ai_system")
    decisions = []
    for project in projects:
        assessment = assessment_for(project)
        if assessment is None or assessment.recommendation not in Outcome.values:
            continue
        if project.decisions.signed().exists():
            continue
        assessment = freeze(assessment, signer)
        decision = _decision(meeting, project, assessment, chair, today)
        agenda.add_to_agenda(
            meeting,
            [agenda.Proposal("decision", project, f"Décision sur « {project} »", "")],
        )
        if signer is not None and decision.chair_id:
            sign(decision, signer, at=meeting.starts_at + dt.timedelta(hours=2))
        decisions.append(decision)
    return decisions


def _decision(meeting, project, assessment, chair, today) -> Decision:
    outcome = assessment.recommendation
    voted = outcome == Outcome.STOP  # a stop is voted, one against and one abstention
    seats = meeting.committee.members.count()
    reasons = " ".join(assessment.reasons) or "Indicateurs du PoC et grille de décision."
    decision = Decision(
        meeting=meeting,
        project=project,
        assessment=assessment,
        outcome=outcome,
        options="Généraliser ; généraliser sous conditions ; prolonger le PoC ; arrêter.",
        consensus=not voted,
        votes_for=seats - 2 if voted else None,
        votes_against=1 if voted else None,
        votes_abstain=1 if voted else None,
        chair=chair,
        rationale=(
            f"Arrêt décidé : {reasons}"
            if outcome == Outcome.STOP
            else f"Au vu de l'évaluation : {reasons}"
        ),
        conditions=CONDITIONS if outcome == Outcome.WITH_CONDITIONS else "",
        next_review_date=None if outcome == Outcome.STOP else today + dt.timedelta(days=320),
    )
    _save(decision)
    if outcome == Outcome.WITH_CONDITIONS:
        for title, days, owner in (
            (
                "Former les équipes utilisatrices et tracer les habilitations",
                -10,
                "Cadre supérieur de santé",
            ),
            ("Mettre à jour le livret d'information des patients", 20, "Direction de la qualité"),
        ):
            _save(
                Action(
                    meeting=meeting,
                    decision=decision,
                    is_condition=True,
                    title=title,
                    owner_name=owner,
                    due_date=today + dt.timedelta(days=days),
                )
            )
    return decision


def _minutes(decisions) -> str:
    lines = [
        "Présences et conflits d'intérêts : relevés avec la signature des décisions. Quorum atteint.",
        "1. Approbation du compte rendu de la séance précédente : approuvé.",
    ]
    for n, decision in enumerate(decisions, start=2):
        lines.append(
            f"{n}. {decision.project} : {decision.get_outcome_display()}. {decision.rationale}"
        )
    lines.append(f"{len(decisions) + 2}. Questions diverses : point sur la charte IA générative.")
    return "\n".join(lines)
