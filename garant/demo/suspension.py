"""Fictional suspensions of the demo: every system placed in the "suspended" phase (the
patient chatbot of Valmont…) gets the suspension in effect that the clinical software reads
(`GET /api/systems/{id}/status`), proposed by its referent and confirmed by the committee's
chair, and a draft resumption decision on the next committee meeting's agenda, referencing
it: the resumption is pending until that decision is signed after the meeting."""

from __future__ import annotations

import datetime as dt

from garant.governance import agenda
from garant.governance.decisions import assessment_for
from garant.governance.models import Decision, Meeting, Outcome
from garant.lifecycle.models import Project
from garant.oversight.models import Suspension

CAUSE = "Réponses à des questions médicales malgré les consignes (signalements du service)."
REASON = (
    "Incident en cours d'analyse : l'agent a répondu à des questions médicales ; "
    "suspension jusqu'au filtrage des sujets médicaux et à une nouvelle évaluation."
)


def load_demo_suspensions(establishments: dict, users: dict) -> int:
    count = 0
    for code, est in sorted(establishments.items()):
        projects = Project.objects.filter(establishment=est, phase="suspended")
        for project in projects.select_related("ai_system"):
            _suspend(project, users.get(f"referent.{code}"), users.get(f"comite.{code}"))
            count += 1
    return count


def _suspend(project, referent, chair_user) -> Suspension:
    into = project.transitions.filter(to_phase="suspended").order_by("-at").first()
    at = into.at if into else project.phase_entered_at
    suspension = Suspension(
        ai_system=project.ai_system,
        state=Suspension.State.SUSPENDED,
        cause=CAUSE,
        proposed_by=referent,
        proposed_at=at,
        reason=REASON,
        suspended_by=chair_user,
        suspended_at=at,
    )
    suspension.full_clean()
    suspension.save()
    meeting = (
        Meeting.objects.filter(committee__establishment=project.establishment)
        .filter(status=Meeting.Status.PLANNED)
        .order_by("starts_at")
        .first()
    )
    assessment = assessment_for(project)
    if meeting is None or assessment is None:
        return suspension
    agenda.add_to_agenda(
        meeting,
        [p for p in agenda.proposals(meeting.committee, meeting) if p.project.pk == project.pk],
    )
    decision = Decision(
        meeting=meeting,
        project=project,
        assessment=assessment,
        outcome=Outcome.WITH_CONDITIONS,
        options="Reprendre sous conditions ; prolonger la suspension ; arrêter.",
        consensus=True,
        chair=meeting.committee.members.filter(chair=True).first(),
        rationale="Reprise proposée : filtrage des sujets médicaux mis en place par l'éditeur.",
        conditions="Filtrage des sujets médicaux vérifié sur 200 questions tests.",
        next_review_date=meeting.starts_at.date() + dt.timedelta(days=365),
        suspension=suspension,
    )
    decision.full_clean()
    decision.save()
    return suspension
