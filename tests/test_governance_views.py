# ruff: noqa: F811 (the shared fixtures are imported by name)
"""Governance pages: committees and the warning above 15 members, meetings with an agenda
proposed from the lifecycle, recording and signing a decision, the refusal (audited) of any
edit once signed, actions follow-up, permissions and scoping, no server error on bad input."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.models import AuditEvent
from garant.governance.models import Action, AgendaItem, Committee, CommitteeMember, Decision
from tests.test_governance_fixtures import (  # noqa: F401 (gov: a fixture)
    gov,
    make_committee,
    make_decision,
    make_meeting,
    make_project,
)

pytestmark = pytest.mark.django_db


def test_committee_pages_and_team_size_warning(gov, client_for):
    member = gov["users"]["a"]["committee"]
    c = client_for(member)
    response = c.post(
        reverse("governance:committee_create"),
        {
            "establishment": gov["a"]["est"].pk,
            "name": "Collège de garantie humaine",
            "kind": "operational",
        },
    )
    committee = Committee.objects.get(name="Collège de garantie humaine")
    assert response.status_code == 302 and committee.establishment == gov["a"]["est"]
    for i in range(16):
        response = c.post(
            reverse("governance:member_add", args=[committee.pk]),
            {"name": f"Personne {i}", "role": "field"},
            follow=True,
        )
    assert committee.members.count() == 16  # a warning, not a refusal
    assert "16 membres : au-delà de 15 membres, on ne fait plus équipe" in response.content.decode()
    page = c.get(reverse("governance:committee_list")).content.decode()
    assert "plus de 15" in page
    # a seat needs a user or a name; a user of another establishment is not a valid choice
    response = c.post(
        reverse("governance:member_add", args=[committee.pk]), {"role": "cme"}, follow=True
    )
    assert "Choisissez un utilisateur ou saisissez le nom" in response.content.decode()
    other = gov["users"]["b"]["admin"]
    c.post(reverse("governance:member_add", args=[committee.pk]), {"user": other.pk, "role": "it"})
    assert not committee.members.filter(user=other).exists()


def test_meeting_agenda_is_proposed_from_the_lifecycle(gov, client_for):
    est = gov["a"]["est"]
    committee = gov["committee"]
    awaiting = gov["project"]
    overdue = make_project(
        est, phase="routine", next_review_date=timezone.localdate() - dt.timedelta(days=10)
    )
    decided = make_project(est)
    make_decision(gov["meeting"], decided, sign_by=gov["users"]["a"]["committee"])
    make_project(est, phase="poc")  # not awaiting anything
    make_project(est, frozen=False)  # no frozen assessment yet
    make_project(gov["b"]["est"])  # another establishment

    c = client_for(gov["users"]["a"]["committee"])
    page = c.get(reverse("governance:meeting_create", args=[committee.pk])).content.decode()
    assert f'value="{awaiting.pk}"' in page and f'value="{overdue.pk}"' in page
    assert "en retard de 10 jours" in page
    assert page.count('name="proposal"') == 2
    response = c.post(
        reverse("governance:meeting_create", args=[committee.pk]),
        {
            "starts_at": "2030-03-05T14:30",
            "place": "Salle B",
            "status": "planned",
            "proposal": [awaiting.pk, overdue.pk],
        },
    )
    assert response.status_code == 302
    meeting = committee.meetings.get(place="Salle B")
    assert timezone.localtime(meeting.starts_at).strftime("%d/%m/%Y %H:%M") == "05/03/2030 14:30"
    assert list(meeting.agenda.values_list("project_id", "kind")) == [
        (awaiting.pk, "decision"),
        (overdue.pk, "review"),
    ]
    # a project on a planned meeting's agenda is not proposed again to another meeting
    page = c.get(reverse("governance:meeting_create", args=[committee.pk])).content.decode()
    assert page.count('name="proposal"') == 0
    # the agenda is editable: add a point, remove one
    c.post(reverse("governance:agenda_add", args=[meeting.pk]), {"title": "Point sur la formation"})
    item = meeting.agenda.get(project=overdue)
    c.post(reverse("governance:agenda_delete", args=[item.pk]))
    assert list(meeting.agenda.values_list("title", flat=True)) == [
        f"Décision sur « {awaiting} »",
        "Point sur la formation",
    ]
    detail = c.get(meeting.get_absolute_url()).content.decode()
    assert "1 projet attend le comité" in detail
    c.post(reverse("governance:agenda_complete", args=[meeting.pk]))
    assert meeting.agenda.filter(project=overdue).exists()


def put_on_agenda(meeting, project):
    return AgendaItem.objects.create(meeting=meeting, project=project, kind="decision", title="D")


def decision_post(gov, **kw):
    chair = gov["committee"].members.get(chair=True)
    return {
        "outcome": "generalise_with_conditions",
        "consensus": "",
        "votes_for": "4",
        "votes_against": "1",
        "votes_abstain": "0",
        "chair": chair.pk,
        "rationale": "Bénéfice clinique démontré.",
        "conditions": "Former les équipes de nuit.",
        "next_review_date": (timezone.localdate() + dt.timedelta(days=180)).isoformat(),
        **kw,
    }


def sign_post(decision, **kw) -> dict:
    """The signing page's confirmation: every member present, each condition an action."""
    data = {"confirm": "yes", "conditions-count": "1"}
    for member in decision.meeting.committee.members.all():
        data[f"m{member.pk}-status"] = "present"
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    data.update({"c0-title": "Former les équipes", "c0-owner_name": "Cadre", "c0-due_date": due})
    return {**data, **kw}


def test_record_sign_then_refuse_edits(gov, client_for):
    member = gov["users"]["a"]["committee"]
    meeting, project = gov["meeting"], gov["project"]
    put_on_agenda(meeting, project)
    c = client_for(member)
    url = reverse("governance:decision_create", args=[meeting.pk, project.pk])
    page = c.get(url).content.decode()
    assert "Généraliser sous conditions" in page  # the assessment's recommendation
    assert "Impact clinique démontré sur les indicateurs du PoC." in page  # and its reasons

    response = c.post(url, decision_post(gov, conditions=""))
    assert "Précisez les conditions de la généralisation." in response.content.decode()
    response = c.post(url, decision_post(gov, votes_for="1", votes_against="3"))
    assert "Décision non adoptée" in response.content.decode()
    response = c.post(url, decision_post(gov))
    decision = Decision.objects.get(project=project)
    assert response.status_code == 302 and decision.votes_for == 4

    response = c.post(
        reverse("governance:decision_sign", args=[decision.pk]), sign_post(decision), follow=True
    )
    page = response.content.decode()
    decision.refresh_from_db()
    assert decision.signed_by == member
    assert f"Signée le {timezone.localtime(decision.signed_at):%d/%m/%Y %H:%M} par {member}" in page
    assert reverse("governance:decision_edit", args=[decision.pk]) not in page  # read-only

    events = AuditEvent.objects.filter(object_type="governance.decision", action="event")
    response = c.post(
        reverse("governance:decision_edit", args=[decision.pk]),
        decision_post(gov, outcome="stop", rationale="Changée après coup"),
        follow=True,
    )
    assert "ne peut plus être modifiée" in response.content.decode()
    event = events.get()
    assert event.actor_id == member.pk and event.source == "ui"
    assert event.changes["outcome"] == [None, "stop"]
    decision.refresh_from_db()
    assert decision.outcome == "generalise_with_conditions"
    assert c.post(reverse("governance:decision_sign", args=[decision.pk])).status_code == 302
    assert events.count() == 1  # signing again is refused before any write


def test_readers_read_and_cannot_write(gov, client_for):
    decision = make_decision(gov["meeting"], gov["project"])
    put_on_agenda(gov["meeting"], make_project(gov["a"]["est"]))
    contributor = client_for(gov["users"]["a"]["contributor"])
    for url in (
        reverse("governance:committee_list"),
        gov["committee"].get_absolute_url(),
        gov["meeting"].get_absolute_url(),
        decision.get_absolute_url(),
        reverse("governance:decision_register"),
        reverse("governance:action_list"),
    ):
        response = contributor.get(url)
        assert response.status_code == 200, url
        assert "Signer la décision" not in response.content.decode()
    for url in (
        reverse("governance:committee_create"),
        reverse("governance:meeting_create", args=[gov["committee"].pk]),
        reverse("governance:decision_edit", args=[decision.pk]),
    ):
        assert contributor.get(url).status_code == 403, url
    assert (
        contributor.post(reverse("governance:decision_sign", args=[decision.pk])).status_code == 403
    )
    # another establishment's committee member does not even see A's records
    outsider = client_for(gov["users"]["b"]["committee"])
    assert outsider.get(decision.get_absolute_url()).status_code == 404
    assert outsider.get(gov["committee"].get_absolute_url()).status_code == 404
    assert "Copil IA" not in outsider.get(reverse("governance:committee_list")).content.decode()


def test_actions_follow_up_overdue_first_and_owner_updates(gov, client_for):
    owner = gov["users"]["a"]["referent"]
    decision = make_decision(gov["meeting"], gov["project"])
    c = client_for(gov["users"]["a"]["committee"])
    today = timezone.localdate()
    for title, days in (
        ("Auditer les usages", 30),
        ("Former les IDE de nuit", -5),
        ("Mettre à jour la procédure", 3),
    ):
        response = c.post(
            reverse("governance:action_add", args=[gov["meeting"].pk]),
            {
                "title": title,
                "decision": decision.pk,
                "owner": owner.pk,
                "due_date": (today + dt.timedelta(days=days)).isoformat(),
                "status": "open",
            },
        )
        assert response.status_code == 302
    page = c.get(reverse("governance:action_list")).content.decode()
    page = page[page.index("<tbody>") :]  # after the messages of the additions
    assert (
        page.index("Former les IDE de nuit")
        < page.index("Mettre à jour la procédure")
        < page.index("Auditer les usages")
    )
    assert "en retard</span>" in page
    action = Action.objects.get(title="Mettre à jour la procédure")
    as_owner = client_for(owner)
    values = {
        "title": "Mettre à jour la procédure",
        "owner": owner.pk,
        "due_date": action.due_date.isoformat(),
        "status": "done",
    }
    assert (
        as_owner.post(reverse("governance:action_edit", args=[action.pk]), values).status_code
        == 302
    )
    action.refresh_from_db()
    assert action.status == "done" and action.done_at is not None
    assert (
        "Mettre à jour la procédure"
        not in c.get(reverse("governance:action_list")).content.decode()
    )
    other = client_for(gov["users"]["a"]["dpo"])
    assert (
        other.post(reverse("governance:action_edit", args=[action.pk]), values).status_code == 403
    )


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "32/13/2024"},
        {"committee": "abc"},
        {"committee": "99999999999999999999"},
        {"outcome": "nope", "state": "x"},
        {"q": "a" * 500},
        {"page": "-1"},
    ],
)
def test_no_server_error_on_bad_filters(gov, client_for, params):
    c = client_for(gov["users"]["a"]["committee"])
    for name in ("decision_register", "action_list"):
        assert c.get(reverse(f"governance:{name}"), params).status_code == 200
    assert c.get(reverse("governance:decision_export", args=["xlsx"]), params).status_code == 200


def test_no_server_error_on_bad_forms(gov, client_for):
    c = client_for(gov["users"]["a"]["committee"])
    meeting = gov["meeting"]
    put_on_agenda(meeting, gov["project"])
    bad = {
        "starts_at": "hier",
        "status": "zzz",
        "votes_for": "-3",
        "votes_against": "1e9",
        "next_review_date": "31/02/2020",
        "chair": "x",
        "due_date": "n",
        "user": "0",
    }
    for url in (
        reverse("governance:meeting_create", args=[gov["committee"].pk]),
        reverse("governance:meeting_edit", args=[meeting.pk]),
        reverse("governance:decision_create", args=[meeting.pk, gov["project"].pk]),
        reverse("governance:action_add", args=[meeting.pk]),
        reverse("governance:member_add", args=[gov["committee"].pk]),
        reverse("governance:agenda_add", args=[meeting.pk]),
    ):
        assert c.post(url, bad).status_code in (200, 302), url
    assert (
        c.get(reverse("governance:decision_create", args=[meeting.pk, 999999])).status_code == 404
    )
    assert c.get(reverse("governance:decision_export", args=["csv"])).status_code == 404


def test_list_pages_do_not_grow_queries_with_rows(gov, client_for, django_assert_max_num_queries):
    member = gov["users"]["a"]["committee"]
    for _ in range(3):
        meeting = make_meeting(gov["committee"])
        make_decision(meeting, make_project(gov["a"]["est"]), sign_by=member)
    make_committee(gov["a"]["est"], name="Comité opérationnel")
    c = client_for(member)
    for name in ("committee_list", "decision_register", "action_list"):
        with django_assert_max_num_queries(12):
            assert c.get(reverse(f"governance:{name}")).status_code == 200
    with django_assert_max_num_queries(16):
        c.get(gov["committee"].get_absolute_url())
    with django_assert_max_num_queries(20):
        c.get(gov["meeting"].get_absolute_url())
    assert CommitteeMember.objects.count() == 10


def test_home_lists_overdue_actions_and_upcoming_meetings(gov, client_for):
    make_meeting(gov["committee"], days=5, place="Salle du directoire")
    Action.objects.create(
        meeting=gov["meeting"],
        title="Rédiger la note d'information des patients",
        owner_name="Cadre de santé",
        due_date=timezone.localdate() - dt.timedelta(days=1),
    )
    page = client_for(gov["users"]["a"]["contributor"]).get(reverse("home")).content.decode()
    assert "Actions en retard" in page and "Rédiger la note d&#x27;information" in page
    assert "Séances à venir (30 j)" in page
    other = client_for(gov["users"]["b"]["contributor"]).get(reverse("home")).content.decode()
    assert "Actions en retard" not in other and "Séances à venir" not in other


def test_a_decision_that_departs_from_the_grid_says_so(gov, client_for):
    member = gov["users"]["a"]["committee"]
    followed = make_decision(gov["meeting"], gov["project"])  # as recommended: under conditions
    page = client_for(member).get(reverse("governance:decision_detail", args=[followed.pk]))
    assert "s'écarte de la recommandation" not in page.content.decode()
    other_meeting = make_meeting(gov["committee"], days=-2)
    departed = make_decision(other_meeting, gov["project"], outcome="generalise", conditions="")
    page = client_for(member).get(reverse("governance:decision_detail", args=[departed.pk]))
    assert (
        "Le comité s'écarte de la recommandation de la grille (« généraliser sous conditions »)"
        in page.content.decode()
    )
