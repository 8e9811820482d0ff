# ruff: noqa: F811 (the shared fixtures are imported by name)
"""Decisions: validation of their content (votes, conditions, review date), signing, and the
immutability of a signed decision through the ORM, with each refused attempt audited."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from garant.core.audit import audit_context, verify
from garant.core.models import AuditEvent
from garant.governance.decisions import SignRefused, sign
from garant.governance.models import Action, Decision, DecisionSigned, Outcome
from tests.test_governance_fixtures import (  # noqa: F401 (gov: a fixture)
    gov,
    make_decision,
    make_project,
)

pytestmark = pytest.mark.django_db


def errors_of(decision) -> dict:
    with pytest.raises(ValidationError) as caught:
        decision.full_clean()
    return caught.value.message_dict


def draft(gov, **kw) -> Decision:
    values = {
        "meeting": gov["meeting"],
        "project": gov["project"],
        "assessment": gov["project"].assessments.first(),
        "outcome": Outcome.GENERALISE,
        "rationale": "Bénéfice net.",
        "next_review_date": timezone.localdate() + dt.timedelta(days=365),
        **kw,
    }
    return Decision(**values)


def test_votes_or_consensus(gov):
    assert "votes_against" in errors_of(draft(gov, votes_for=3))
    message = errors_of(draft(gov, consensus=True, votes_for=3))["votes_for"][0]
    assert "consensus" in message
    assert (
        "non adoptée"
        in errors_of(draft(gov, votes_for=2, votes_against=2, votes_abstain=1))["votes_for"][0]
    )
    assert (
        "Aucune voix"
        in errors_of(draft(gov, votes_for=0, votes_against=0, votes_abstain=0))["votes_for"][0]
    )
    # the committee has 5 members: 6 votes cannot have been cast
    assert (
        "6 voix décomptées pour 5 membres"
        in errors_of(draft(gov, votes_for=4, votes_against=1, votes_abstain=1))["votes_for"][0]
    )
    draft(gov, votes_for=3, votes_against=1, votes_abstain=1).full_clean()
    draft(gov, consensus=True).full_clean()


def test_conditions_and_review_date_required(gov):
    errors = errors_of(draft(gov, consensus=True, outcome=Outcome.WITH_CONDITIONS))
    assert errors["conditions"] == ["Précisez les conditions de la généralisation."]
    errors = errors_of(draft(gov, consensus=True, next_review_date=None))
    assert "next_review_date" in errors
    draft(gov, consensus=True, outcome=Outcome.STOP, next_review_date=None).full_clean()
    past = timezone.localdate() - dt.timedelta(days=3)
    errors = errors_of(draft(gov, consensus=True, next_review_date=past))
    assert "doit suivre la date de la séance" in errors["next_review_date"][0]


def test_project_and_assessment_must_match(gov):
    other = make_project(gov["b"]["est"])
    errors = errors_of(draft(gov, consensus=True, project=other))
    assert "établissement du comité" in errors["project"][0]
    assert "porter sur le projet" in errors["assessment"][0]


def test_sign_needs_a_chair(gov):
    decision = make_decision(gov["meeting"], gov["project"], chair=None)
    with pytest.raises(SignRefused) as caught:
        sign(decision, gov["users"]["a"]["committee"])
    assert caught.value.problems == ["Indiquez le président de séance avant de signer."]


def test_signed_decision_refuses_orm_changes_and_audits_them(gov):
    member = gov["users"]["a"]["committee"]
    decision = make_decision(gov["meeting"], gov["project"], sign_by=member)
    decision.refresh_from_db()
    assert decision.signed_by == member and decision.signed_at is not None
    before = AuditEvent.objects.filter(action="event").count()

    decision.rationale = "Réécrite après coup."
    with audit_context(user=member, source="test"), pytest.raises(DecisionSigned) as caught:
        decision.save()
    assert "ne peut plus être modifiée" in str(caught.value)
    assert timezone.localdate().strftime("%d/%m/%Y") in str(caught.value)
    event = AuditEvent.objects.filter(action="event").latest("id")
    assert event.object_type == "governance.decision" and event.object_id == str(decision.pk)
    assert event.actor_id == member.pk
    assert "ne peut plus être modifiée" in event.changes["refused"][1]
    assert event.changes["rationale"] == [
        "Bénéfice clinique net, risques maîtrisés.",
        "Réécrite après coup.",
    ]

    with pytest.raises(DecisionSigned):
        Decision.objects.filter(pk=decision.pk).update(outcome=Outcome.STOP)
    with pytest.raises(DecisionSigned) as caught:
        Decision.objects.get(pk=decision.pk).delete()
    assert "ne peut pas être supprimée" in str(caught.value)
    with pytest.raises(DecisionSigned):
        Decision.objects.filter(pk=decision.pk).delete()
    with pytest.raises(DecisionSigned):
        Decision.objects.get(pk=decision.pk).save()  # even unchanged: the row is sealed

    assert AuditEvent.objects.filter(action="event").count() == before + 5
    stored = Decision.objects.get(pk=decision.pk)
    assert stored.rationale == "Bénéfice clinique net, risques maîtrisés."
    assert stored.outcome == Outcome.WITH_CONDITIONS
    assert verify().ok


def test_unsigned_decision_may_change(gov):
    decision = make_decision(gov["meeting"], gov["project"])
    decision.rationale = "Précisée."
    decision.save()
    assert Decision.objects.get(pk=decision.pk).rationale == "Précisée."


def test_action_done_at_follows_status(gov):
    with audit_context(source="test"):
        action = Action.objects.create(
            meeting=gov["meeting"],
            title="Former",
            owner_name="Cadre",
            due_date=timezone.localdate(),
        )
        action.status = Action.Status.DONE
        action.save()
        assert action.done_at is not None
        action.status = Action.Status.OPEN
        action.save()
        assert action.done_at is None
    action.owner_name = ""
    with pytest.raises(ValidationError) as caught:
        action.full_clean()
    assert "owner_name" in caught.value.message_dict
