# ruff: noqa: F811 (the shared fixtures are imported by name)
"""The demo's governance on lifecycle projects: a Copil IA with its members, a past meeting
with minutes and signed decisions (one "arrêter" with reasons, one "généraliser sous
conditions" with conditions and actions, one overdue), an upcoming meeting with its agenda."""

import pytest
from django.utils import timezone

from garant.core.audit import audit_context, verify
from garant.demo.governance import load_demo_governance
from garant.governance.models import Action, Committee, Meeting
from tests.test_governance_fixtures import make_project

pytestmark = pytest.mark.django_db


def test_demo_governance(world):
    est = world["a"]["est"]
    users = {
        f"{role}.chu-a": user
        for role, user in (
            ("comite", world["users"]["a"]["committee"]),
            ("referent", world["users"]["a"]["referent"]),
        )
    }
    stopped = make_project(est, phase="retired")
    stopped.assessments.update(
        recommendation="stop", reasons=["Dérive du modèle non maîtrisée (critère 4)."]
    )
    conditional = make_project(est, phase="routine")
    awaiting = make_project(est, phase="evaluation")
    with audit_context(source="demo"):
        [committee] = load_demo_governance({"chu-a": est}, users, timezone.localdate())
    assert (
        committee.members.count() == 6
        and committee.members.get(chair=True).user == users["comite.chu-a"]
    )
    past = committee.meetings.get(status=Meeting.Status.HELD)
    stop = past.decisions.get(project=stopped)
    assert stop.outcome == "stop" and "Dérive du modèle" in stop.rationale and stop.is_signed
    kept = past.decisions.get(project=conditional)
    assert kept.outcome == "generalise_with_conditions" and kept.conditions and kept.is_signed
    assert kept.actions.count() == 2
    assert Action.objects.filter(decision=kept, due_date__lt=timezone.localdate()).count() == 1
    assert str(conditional) in past.minutes
    upcoming = committee.meetings.get(status=Meeting.Status.PLANNED)
    assert list(upcoming.agenda.values_list("project_id", flat=True)) == [awaiting.pk]
    assert Committee.objects.count() == 1 and verify().ok
