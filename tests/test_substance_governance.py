# ruff: noqa: F811 (the shared fixtures are imported by name)
"""Decisions rest on substance, on the committee's side: signing asks for confirmation and
records the meeting's attendance against the committee's quorum; a meeting not yet held
signs nothing; the conditions of a decision become actions that block routine until done; an
optional second signature."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.governance.decisions import SignRefused, quorum, record_attendance, sign
from garant.governance.models import Action, Attendance, Committee, Decision
from garant.lifecycle import gates
from garant.lifecycle.gates import GateRefused
from tests.test_governance_fixtures import (  # noqa: F401 (gov: a fixture)
    gov,
    make_committee,
    make_decision,
    make_meeting,
)
from tests.test_lifecycle_builders import (
    add_value,
    conditions_of,
    everyone_present,
    frozen_assessment,
    make_charter,
)
from tests.test_lifecycle_builders import make_project as lifecycle_project

pytestmark = pytest.mark.django_db


def sign_as(decision, user, **kw):
    with audit_context(user=user, source="test"):
        return sign(decision, user, **kw)


def present(meeting, *statuses, conflict=()):
    """Attendance rows: the members in order, with the given statuses (default present)."""
    rows = []
    for n, member in enumerate(meeting.committee.members.order_by("pk")):
        status = statuses[n] if n < len(statuses) else "present"
        rows.append(
            {
                "member": member,
                "status": status,
                "conflict_of_interest": n in conflict,
                "conflict_note": "Lien avec l'éditeur" if n in conflict else "",
            }
        )
    return rows


def test_signing_asks_for_confirmation(gov, client_for):
    member = gov["users"]["a"]["committee"]
    decision = make_decision(gov["meeting"], gov["project"])
    client = client_for(member)
    page = client.get(decision.get_absolute_url()).content.decode()
    sign_url = reverse("governance:decision_sign", args=[decision.pk])
    assert f'href="{sign_url}"' in page and f'action="{sign_url}"' not in page
    page = client.get(sign_url).content.decode()
    assert "Ce que vous signez" in page and "Présences à la séance" in page
    assert "Confirmer : signer la décision" in page
    assert client.post(sign_url, {}).status_code == 400  # no confirmation: not signed
    decision.refresh_from_db()
    assert not decision.is_signed


def test_a_meeting_not_yet_held_signs_nothing_and_says_what_to_do(gov, client_for):
    upcoming = make_meeting(gov["committee"], days=3)
    decision = make_decision(upcoming, gov["project"])
    member = gov["users"]["a"]["committee"]
    with pytest.raises(SignRefused) as exc:
        sign_as(decision, member, attendance=everyone_present(upcoming))
    [message] = exc.value.problems
    assert "n'a pas encore eu lieu" in message and "Revenez la signer après la séance" in message
    assert not Attendance.objects.filter(meeting=upcoming).exists()  # nothing recorded
    page = client_for(member).get(decision.get_absolute_url()).content.decode()
    assert "n&#x27;a pas encore eu lieu" in page
    page = client_for(member).get(reverse("governance:decision_sign", args=[decision.pk]))
    assert "Confirmer" not in page.content.decode()


def test_attendance_is_recorded_and_the_quorum_is_the_majority_by_default(gov):
    meeting, member = gov["meeting"], gov["users"]["a"]["committee"]
    decision = make_decision(meeting, gov["project"])
    with pytest.raises(SignRefused, match="Relevez les présences"):
        sign_as(decision, member, conditions=conditions_of(decision))
    assert not decision.actions.exists()  # the refusal recorded nothing
    # 5 members: 3 needed; two present and one present with a conflict of interest
    rows = present(meeting, "present", "present", "present", "excused", "absent", conflict=(2,))
    with pytest.raises(SignRefused, match="Quorum non atteint : 2 membre"):
        sign_as(decision, member, attendance=rows, conditions=conditions_of(decision))
    assert not Attendance.objects.filter(meeting=meeting).exists()
    rows = present(meeting, "present", "present", "present", "present", "excused", conflict=(2,))
    sign_as(decision, member, attendance=rows, conditions=conditions_of(decision))
    assert decision.is_signed
    state = quorum(meeting)
    assert (len(state["present"]), len(state["excused"]), len(state["absent"])) == (4, 1, 0)
    assert (state["counted"], state["needed"], state["reached"]) == (3, 3, True)
    [conflict] = state["conflicts"]
    assert conflict.conflict_note == "Lien avec l'éditeur"


def test_the_committee_sets_its_quorum(gov, client_for):
    committee, meeting = gov["committee"], gov["meeting"]
    with audit_context(source="test"):
        Committee.objects.filter(pk=committee.pk).update(quorum=2)
    committee.refresh_from_db()
    assert committee.quorum_needed() == 2
    decision = make_decision(meeting, gov["project"])
    rows = present(meeting, "present", "present", "excused", "excused", "absent")
    sign_as(
        decision,
        gov["users"]["a"]["committee"],
        attendance=rows,
        conditions=conditions_of(decision),
    )
    assert decision.is_signed
    page = client_for(gov["users"]["a"]["committee"]).get(committee.get_absolute_url())
    assert "2 membres présents sans conflit d'intérêts" in page.content.decode()


def test_a_conflict_of_interest_needs_its_object_on_the_signing_page(gov, client_for):
    decision = make_decision(gov["meeting"], gov["project"])
    first = gov["committee"].members.order_by("pk").first()
    data = {"confirm": "yes", "conditions-count": "1", "c0-title": "Former", "c0-owner_name": "X"}
    data["c0-due_date"] = (timezone.localdate() + dt.timedelta(days=9)).isoformat()
    for member in gov["committee"].members.all():
        data[f"m{member.pk}-status"] = "present"
    data[f"m{first.pk}-conflict_of_interest"] = "on"
    url = reverse("governance:decision_sign", args=[decision.pk])
    response = client_for(gov["users"]["a"]["committee"]).post(url, data)
    assert response.status_code == 400
    assert "Précisez l&#x27;objet du conflit" in response.content.decode()
    decision.refresh_from_db()
    assert not decision.is_signed


def test_conditions_become_actions_and_block_routine_until_done(world):
    user = world["users"]["a"]["committee"]
    project = lifecycle_project(world["a"]["system"])
    charter = make_charter(project)

    def move(phase):
        with audit_context(user=user, source="test"):
            gates.transition(project, phase, user, "motif")

    move("poc")
    add_value(charter.indicators.get())
    move("evaluation")
    frozen_assessment(project, user)
    move("generalisation")
    committee = make_committee(world["a"]["est"], members=3)
    meeting = make_meeting(committee)
    decision = make_decision(
        meeting, project, conditions="Former les équipes de nuit\nInformer les patients"
    )
    with pytest.raises(SignRefused, match="Transformez chaque condition en action"):
        sign_as(decision, user, attendance=everyone_present(meeting))
    sign_as(
        decision, user, attendance=everyone_present(meeting), conditions=conditions_of(decision)
    )
    actions = list(decision.actions.order_by("pk"))
    assert [a.title for a in actions] == ["Former les équipes de nuit", "Informer les patients"]
    assert all(a.is_condition and a.owner_name and a.due_date for a in actions)

    with pytest.raises(GateRefused) as exc:
        move("routine")
    assert len(exc.value.messages) == 2
    first = exc.value.messages[0]
    assert "non levée : « Former les équipes de nuit »" in first
    assert first.url == reverse("governance:action_edit", args=[actions[0].pk])
    assert "Condition de la décision" in gates.blocked_reason(project)
    with audit_context(source="test"):
        actions[0].status = Action.Status.DONE
        actions[0].save()
        actions[1].status = Action.Status.CANCELLED  # a cancelled condition still holds
        actions[1].save()
    with pytest.raises(GateRefused, match="Informer les patients"):
        move("routine")
    with audit_context(source="test"):
        actions[1].status = Action.Status.DONE
        actions[1].save()
    move("routine")
    assert project.phase == "routine"


def test_the_signing_page_turns_each_line_of_conditions_into_an_action(gov, client_for):
    decision = make_decision(gov["meeting"], gov["project"], conditions="Former\nInformer")
    client = client_for(gov["users"]["a"]["committee"])
    url = reverse("governance:decision_sign", args=[decision.pk])
    page = client.get(url).content.decode()
    assert 'value="Former"' in page and 'value="Informer"' in page
    due = (timezone.localdate() + dt.timedelta(days=20)).isoformat()
    data = {"confirm": "yes", "conditions-count": "2"}
    for member in gov["committee"].members.all():
        data[f"m{member.pk}-status"] = "present"
    user = gov["users"]["a"]["referent"]
    data.update({"c0-title": "Former", "c0-owner": user.pk, "c0-due_date": due})
    data.update({"c1-title": "Informer", "c1-due_date": due})
    response = client.post(url, data)
    assert response.status_code == 400  # the second condition has no owner
    assert not decision.actions.exists()
    data["c1-owner_name"] = "Direction de la qualité"
    assert client.post(url, data).status_code == 302
    decision.refresh_from_db()
    assert decision.is_signed
    assert {(a.title, a.owner_display) for a in decision.actions.all()} == {
        ("Former", str(user)),
        ("Informer", "Direction de la qualité"),
    }


def test_a_second_signature_when_the_committee_asks_for_one(gov, client_for):
    committee, meeting = gov["committee"], gov["meeting"]
    with audit_context(source="test"):
        Committee.objects.filter(pk=committee.pk).update(second_signature=True)
    decision = Decision.objects.get(pk=make_decision(meeting, gov["project"]).pk)
    first, second = gov["users"]["a"]["committee"], gov["users"]["a"]["admin"]
    sign_as(
        decision, first, attendance=everyone_present(meeting), conditions=conditions_of(decision)
    )
    decision.refresh_from_db()
    assert not decision.is_signed and decision.first_signed_by == first
    page = client_for(first).get(decision.get_absolute_url()).content.decode()
    assert "attend la seconde signature" in page
    with pytest.raises(SignRefused, match="Vous avez déjà signé"):
        sign_as(decision, first)
    page = client_for(second).get(reverse("governance:decision_sign", args=[decision.pk]))
    assert "Confirmer : apposer la seconde signature" in page.content.decode()
    response = client_for(second).post(
        reverse("governance:decision_sign", args=[decision.pk]), {"confirm": "yes"}
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.is_signed and decision.signed_by == second
    assert decision.first_signed_by == first


def test_a_change_withdraws_the_first_signature(gov, client_for):
    committee, meeting = gov["committee"], gov["meeting"]
    with audit_context(source="test"):
        Committee.objects.filter(pk=committee.pk).update(second_signature=True)
    decision = Decision.objects.get(pk=make_decision(meeting, gov["project"]).pk)
    first = gov["users"]["a"]["committee"]
    sign_as(
        decision, first, attendance=everyone_present(meeting), conditions=conditions_of(decision)
    )
    from tests.test_governance_views import decision_post

    response = client_for(first).post(
        reverse("governance:decision_edit", args=[decision.pk]),
        decision_post(gov, rationale="Motivation reprise"),
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.first_signed_by is None and decision.rationale == "Motivation reprise"


def test_recording_attendance_twice_updates_it(gov):
    meeting = gov["meeting"]
    with audit_context(source="test"):
        record_attendance(meeting, present(meeting))
        record_attendance(meeting, present(meeting, "excused"))
    assert Attendance.objects.filter(meeting=meeting).count() == 5
    assert Attendance.objects.filter(meeting=meeting, status="excused").count() == 1
