"""Every gate rule of the lifecycle (garant/lifecycle/gates.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import AuditEvent
from garant.lifecycle import gates
from garant.lifecycle.gates import GateRefused
from garant.lifecycle.models import PhaseTransition
from tests.conftest import make_system
from tests.test_lifecycle_builders import (
    add_value,
    frozen_assessment,
    make_charter,
    make_decision,
    make_project,
)


@pytest.fixture
def user(world):
    return world["users"]["a"]["referent"]


@pytest.fixture
def project(world):
    return make_project(world["a"]["system"])


def move(project, phase, user, reason="motif"):
    with audit_context(user=user, source="test"):
        return gates.transition(project, phase, user, reason)


def refused(project, phase, user, reason="motif") -> str:
    with pytest.raises(GateRefused) as exc:
        move(project, phase, user, reason)
    return " ".join(exc.value.messages)


def test_a_new_project_starts_in_instruction_with_the_register_in_step(project):
    assert project.phase == "instruction"
    assert project.ai_system.phase == "instruction"
    assert project.transitions.get().to_phase == "instruction"


def test_poc_needs_a_charter(project, user):
    assert "Pas de charte de PoC" in refused(project, "poc", user)


def test_poc_needs_a_measurable_indicator_and_an_end_date(project, user):
    make_charter(project, end_date=None, measurable=False)
    message = refused(project, "poc", user)
    assert "aucun indicateur de succès mesurable" in message
    assert "pas de date de fin" in message


def test_poc_allowed_with_a_good_charter_and_recorded(project, user):
    make_charter(project)
    step = move(project, "poc", user, "Charte validée")
    project.refresh_from_db()
    assert project.phase == "poc" and project.ai_system.phase == "poc"
    assert (step.from_phase, step.to_phase, step.by, step.reason) == (
        "instruction",
        "poc",
        user,
        "Charte validée",
    )
    event = AuditEvent.objects.filter(object_type="lifecycle.phasetransition").latest("id")
    assert event.actor_id == user.pk


def test_m1_cannot_skip_the_poc(project, user):
    assert "Modalité M1" in refused(project, "evaluation", user)


def test_m2_skips_the_poc_but_not_the_decision(world, user):
    project = make_project(make_system(world["a"]["est"], modality="M2"))
    assert "Modalité M2" in refused(project, "poc", user)
    move(project, "evaluation", user)
    assert "Aucune évaluation figée" in refused(project, "generalisation", user)
    assessment = frozen_assessment(project)
    move(project, "generalisation", user)
    assert "Aucune décision signée" in refused(project, "routine", user)
    make_decision(project, assessment, "generalise")
    move(project, "routine", user)


def test_evaluation_after_poc_needs_indicator_values(project, user):
    charter = make_charter(project)
    move(project, "poc", user)
    assert "Aucune valeur d'indicateur" in refused(project, "evaluation", user)
    add_value(charter.indicators.get())
    move(project, "evaluation", user)


@pytest.fixture
def at_decision(project, user):
    """A project in phase generalisation, with a frozen assessment."""
    charter = make_charter(project)
    move(project, "poc", user)
    add_value(charter.indicators.get())
    move(project, "evaluation", user)
    assessment = frozen_assessment(project)
    move(project, "generalisation", user)
    return project, assessment


def test_routine_needs_a_signed_decision(at_decision, user):
    project, assessment = at_decision
    make_decision(project, assessment, "generalise", signed=False)
    assert "Aucune décision signée" in refused(project, "routine", user)


@pytest.mark.parametrize("outcome", ["stop", "extend_poc"])
def test_routine_refused_when_the_decision_does_not_allow_it(at_decision, user, outcome):
    project, assessment = at_decision
    make_decision(project, assessment, outcome)
    assert "ne permet pas ce passage" in refused(project, "routine", user)


def test_routine_with_conditions_sets_the_next_review_from_the_decision(at_decision, user):
    project, assessment = at_decision
    review = dt.date.today() + dt.timedelta(days=180)
    decision = make_decision(
        project, assessment, "generalise_with_conditions", next_review_date=review
    )
    with audit_context(source="test"):
        decision.actions.update(status="done")
    move(project, "routine", user)
    project.refresh_from_db()
    assert project.phase == "routine" and project.next_review_date == review


def test_a_decision_on_an_older_assessment_does_not_count(at_decision, user):
    project, assessment = at_decision
    make_decision(project, assessment, "generalise")
    frozen_assessment(project)  # a newer assessment, not yet decided on
    assert "Aucune décision signée" in refused(project, "routine", user)


def test_overdue_review_blocks_the_return_to_routine(at_decision, user):
    project, assessment = at_decision
    make_decision(
        project,
        assessment,
        "generalise",
        next_review_date=dt.date(2020, 1, 1),
        held_on=dt.date(2019, 12, 2),  # the meeting that set that review date
    )
    assert "Réévaluation en retard" in refused(project, "routine", user)


def test_overdue_routine_project_is_reported_blocked_and_can_be_reevaluated(at_decision, user):
    project, assessment = at_decision
    make_decision(project, assessment, "generalise")
    move(project, "routine", user)
    project.next_review_date = dt.date(2020, 1, 1)
    project.save()
    assert project.review_overdue
    assert "Réévaluation en retard" in gates.blocked_reason(project)
    move(project, "evaluation", user, "Réévaluation périodique")


def test_extend_poc_needs_that_decision(at_decision, user):
    project, assessment = at_decision
    assert "Aucune décision signée" in refused(project, "poc", user)
    make_decision(project, assessment, "extend_poc")
    move(project, "poc", user)


def test_retiring_at_the_decision_needs_a_stop_decision(at_decision, user):
    project, assessment = at_decision
    make_decision(project, assessment, "generalise")
    assert "ne permet pas ce passage" in refused(project, "retired", user)


def test_stop_decision_retires_the_project(at_decision, user):
    project, assessment = at_decision
    make_decision(project, assessment, "stop")
    move(project, "retired", user, "Arrêt décidé par le Copil")
    project.refresh_from_db()
    assert project.ai_system.phase == "retired"
    assert gates.allowed_targets(project) == []
    assert "Passage impossible" in refused(project, "instruction", user)


def test_suspension_needs_a_reason_and_resumes_to_the_phase_it_left(project, user):
    assert "motif" in refused(project, "suspended", user, reason="  ")
    move(project, "suspended", user, "Incident en cours d'analyse")
    project.refresh_from_db()
    assert gates.allowed_targets(project) == ["instruction", "retired"]
    assert "Passage impossible" in refused(project, "poc", user)
    move(project, "instruction", user, "Incident clos")


def test_unknown_and_same_phase_are_refused(project, user):
    assert "Phase inconnue" in refused(project, "nirvana", user)
    assert "déjà en phase" in refused(project, "instruction", user)
    assert "Passage impossible" in refused(project, "routine", user)


def test_a_refused_transition_changes_nothing(project, user):
    refused(project, "poc", user)
    project.refresh_from_db()
    assert project.phase == "instruction"
    assert PhaseTransition.objects.filter(project=project).count() == 1


def test_the_register_form_no_longer_changes_the_phase_of_a_project(world, client_for):
    from garant.registry.forms import AISystemForm

    system = world["a"]["system"]
    admin = world["users"]["a"]["admin"]
    make_project(system)
    system.refresh_from_db()
    form = AISystemForm(instance=system, user=admin)
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(phase="routine", services=[s.pk for s in system.services.all()])
    data["establishment"] = system.establishment_id
    form = AISystemForm(data, instance=system, user=admin)
    assert form.fields["phase"].disabled
    assert form.is_valid(), form.errors
    form.save()
    system.refresh_from_db()
    assert system.phase == "instruction"


def test_the_register_form_still_offers_the_phase_without_a_project(world):
    from garant.registry.forms import AISystemForm

    form = AISystemForm(instance=world["b"]["system"], user=world["users"]["b"]["admin"])
    assert not form.fields["phase"].disabled


def test_the_decision_builder_cannot_build_what_the_product_refuses(at_decision):
    from django.core.exceptions import ValidationError

    project, assessment = at_decision
    with pytest.raises(ValidationError, match="suivre la date de la séance"):
        make_decision(project, assessment, "generalise", next_review_date=dt.date(2020, 1, 1))
    decision = make_decision(project, assessment, "generalise")
    assert decision.is_signed and decision.chair.chair
    assert decision.next_review_date > timezone.localdate()
