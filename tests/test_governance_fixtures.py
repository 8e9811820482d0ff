"""What the governance tests share: a committee of establishment A with members, a project
in evaluation with a frozen assessment, a meeting to decide on it.

Imported by the other tests/test_governance_*.py modules (`from tests.test_governance_fixtures
import ...`); it holds no test itself.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from garant.core.audit import audit_context
from garant.governance.models import Committee, CommitteeMember, Decision, Meeting, Outcome
from garant.lifecycle import grids
from garant.lifecycle.models import Assessment, Project
from tests.conftest import make_system


def make_project(establishment, phase="evaluation", frozen=True, **kw) -> Project:
    """A project of a new system of `establishment`, with one assessment (frozen or not)."""
    with audit_context(source="test"):
        system = make_system(establishment, **kw.pop("system", {}))
        project = Project.objects.create(
            establishment=establishment, ai_system=system, phase=phase, **kw
        )
        grid = grids.grid(project.effective_grid_code)  # a grid of the referential in force
        Assessment.objects.create(
            project=project,
            grid_code=grid.code,
            grid_version=grid.version,
            status="frozen" if frozen else "draft",
            frozen_at=timezone.now() if frozen else None,
            recommendation="generalise_with_conditions",
            reasons=["Impact clinique démontré sur les indicateurs du PoC."],
        )
    return project


def make_committee(establishment, members: int = 5, **kw) -> Committee:
    with audit_context(source="test"):
        committee = Committee.objects.create(
            establishment=establishment, name=kw.pop("name", "Copil IA"), **kw
        )
        for i in range(members):
            CommitteeMember.objects.create(
                committee=committee,
                name=f"Membre {i + 1}",
                role=CommitteeMember.Role.CME if i else CommitteeMember.Role.DIRECTION,
                chair=i == 0,
            )
    return committee


def make_meeting(committee, days: int = -1, **kw) -> Meeting:
    with audit_context(source="test"):
        values = {"place": "Salle du conseil", **kw}
        return Meeting.objects.create(
            committee=committee, starts_at=timezone.now() + dt.timedelta(days=days), **values
        )


def make_decision(meeting, project, sign_by=None, **kw) -> Decision:
    values = {
        "outcome": Outcome.WITH_CONDITIONS,
        "consensus": True,
        "rationale": "Bénéfice clinique net, risques maîtrisés.",
        "conditions": "Former les équipes de nuit avant le déploiement.",
        "next_review_date": timezone.localdate() + dt.timedelta(days=180),
        "chair": meeting.committee.members.filter(chair=True).first(),
        **kw,
    }
    with audit_context(source="test"):
        decision = Decision(
            meeting=meeting, project=project, assessment=project.assessments.first(), **values
        )
        decision.full_clean()
        decision.save()
        if sign_by is not None:
            from garant.governance.decisions import sign
            from tests.test_lifecycle_builders import conditions_of, everyone_present

            sign(
                decision,
                sign_by,
                attendance=everyone_present(meeting),
                conditions=conditions_of(decision),
            )
    return decision


@pytest.fixture
def gov(world):
    """world + a committee of A (5 members), a project in evaluation with a frozen
    assessment, a meeting held yesterday."""
    est = world["a"]["est"]
    committee = make_committee(est)
    project = make_project(est)
    meeting = make_meeting(committee)
    return {**world, "committee": committee, "project": project, "meeting": meeting}
