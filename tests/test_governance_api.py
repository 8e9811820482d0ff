# ruff: noqa: F811 (the shared fixtures are imported by name)
"""Governance API: committees with members (warning above 15), meetings, decisions
(recorded on the frozen assessment, signed, then PATCH refused with 409 and audited), actions,
permissions and bad input answered 4xx in French."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from garant.core.models import AuditEvent
from garant.governance.models import Decision
from tests.conftest import token_client
from tests.test_governance_fixtures import (  # noqa: F401 (gov: a fixture)
    gov,
    make_decision,
    make_project,
)

pytestmark = pytest.mark.django_db


def send(client, method, url, payload=None):
    return getattr(client, method)(
        "/api" + url, data=json.dumps(payload or {}), content_type="application/json"
    )


def test_committee_and_members(gov):
    api = token_client(gov["users"]["a"]["committee"])
    response = send(
        api,
        "post",
        "/committees",
        {"establishment": gov["a"]["est"].pk, "name": "Copil opérationnel", "kind": "operational"},
    )
    assert response.status_code == 201, response.content
    committee = response.json()
    for i in range(16):
        response = send(
            api,
            "post",
            f"/committees/{committee['id']}/members",
            {"name": f"P{i}", "role": "field"},
        )
        assert response.status_code == 201
    assert response.json()["team_size_warning"] is True and len(response.json()["members"]) == 16
    response = send(api, "post", f"/committees/{committee['id']}/members", {"role": "alien"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["detail"]}
    assert {"role", "name"} <= fields
    reader = token_client(gov["users"]["a"]["contributor"])
    assert reader.get(f"/api/committees/{committee['id']}").status_code == 200
    response = send(
        reader, "post", "/committees", {"establishment": gov["a"]["est"].pk, "name": "X"}
    )
    assert response.status_code == 403
    outsider = token_client(gov["users"]["b"]["committee"])
    assert outsider.get(f"/api/committees/{committee['id']}").status_code == 404


def test_decision_lifecycle_through_the_api(gov):
    member = gov["users"]["a"]["committee"]
    api = token_client(member)
    meeting, project = gov["meeting"], gov["project"]
    chair = gov["committee"].members.get(chair=True)
    review = (timezone.localdate() + dt.timedelta(days=200)).isoformat()
    payload = {
        "meeting": meeting.pk,
        "project": project.pk,
        "outcome": "generalise_with_conditions",
        "consensus": True,
        "chair": chair.pk,
        "rationale": "Bénéfice démontré.",
        "next_review_date": review,
    }
    response = send(api, "post", "/decisions", payload)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"field": "conditions", "message": "Précisez les conditions de la généralisation."}
    ]
    response = send(api, "post", "/decisions", {**payload, "conditions": "Former les équipes."})
    assert response.status_code == 201, response.content
    decision = response.json()
    assert decision["assessment"] == project.assessments.get().pk and decision["signed_at"] is None
    assert send(api, "post", "/decisions", {**payload, "conditions": "x"}).status_code == 409

    response = send(api, "patch", f"/decisions/{decision['id']}", {"votes_for": 3})
    assert response.status_code == 422  # consensus and a vote count at once
    response = send(
        api, "patch", f"/decisions/{decision['id']}", {"options": "Généraliser ; arrêter."}
    )
    assert response.status_code == 200 and response.json()["options"] == "Généraliser ; arrêter."

    response = send(api, "post", f"/decisions/{decision['id']}/sign")
    assert response.status_code == 409 and "Relevez les présences" in response.json()["detail"]
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    signing = {
        "attendance": [
            {"member": m.pk, "status": "present"} for m in gov["committee"].members.all()
        ],
        "conditions": [{"title": "Former les équipes.", "owner_name": "Cadre", "due_date": due}],
    }
    bad = {**signing, "attendance": [{"member": 999999, "status": "present"}]}
    response = send(api, "post", f"/decisions/{decision['id']}/sign", bad)
    assert response.status_code == 422
    response = send(api, "post", f"/decisions/{decision['id']}/sign", signing)
    assert response.status_code == 200 and response.json()["signed_by"] == member.pk
    assert Decision.objects.get(pk=decision["id"]).actions.get().is_condition

    response = send(api, "patch", f"/decisions/{decision['id']}", {"outcome": "stop"})
    assert response.status_code == 409
    assert "ne peut plus être modifiée" in response.json()["detail"]
    event = AuditEvent.objects.filter(object_type="governance.decision", action="event").get()
    assert event.source == "api" and event.actor_id == member.pk
    assert event.changes["outcome"] == [None, "stop"]
    assert send(api, "delete", f"/decisions/{decision['id']}").status_code == 409
    assert send(api, "post", f"/decisions/{decision['id']}/sign").status_code == 409
    assert Decision.objects.get(pk=decision["id"]).outcome == "generalise_with_conditions"

    listed = api.get("/api/decisions", {"state": "signed", "project": project.pk}).json()
    assert [d["id"] for d in listed["items"]] == [decision["id"]]
    assert api.get("/api/decisions", {"state": "draft"}).json()["count"] == 0


def test_meetings_and_actions(gov):
    member = gov["users"]["a"]["committee"]
    api = token_client(member)
    response = send(
        api,
        "post",
        "/meetings",
        {"committee": gov["committee"].pk, "starts_at": "2030-01-15T09:30:00", "place": "Salle 2"},
    )
    assert response.status_code == 201, response.content
    meeting = response.json()
    assert meeting["starts_at"] == "2030-01-15T08:30:00Z"  # 09:30 in Paris
    response = send(api, "patch", f"/meetings/{meeting['id']}", {"status": "held"})
    assert response.status_code == 422  # a future meeting cannot have been held
    response = send(
        api, "post", "/meetings", {"committee": gov["committee"].pk, "starts_at": "demain"}
    )
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "starts_at"

    decision = make_decision(gov["meeting"], gov["project"])
    owner = gov["users"]["a"]["referent"]
    due = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    response = send(
        api,
        "post",
        "/actions",
        {
            "meeting": gov["meeting"].pk,
            "decision": decision.pk,
            "title": "Former",
            "owner": owner.pk,
            "due_date": due,
        },
    )
    assert response.status_code == 201, response.content
    action = response.json()
    assert action["overdue"] is True
    response = send(
        api,
        "post",
        "/actions",
        {"meeting": gov["meeting"].pk, "title": "Sans porteur", "due_date": due},
    )
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "owner_name"
    response = send(token_client(owner), "patch", f"/actions/{action['id']}", {"status": "done"})
    assert response.status_code == 200 and response.json()["done_at"] is not None
    dpo = token_client(gov["users"]["a"]["dpo"])
    assert send(dpo, "patch", f"/actions/{action['id']}", {"status": "open"}).status_code == 403


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("post", "/decisions", {"meeting": "x"}),
        ("post", "/decisions", {"meeting": 10**30}),
        ("post", "/decisions", {}),
        ("post", "/meetings", {"committee": 1, "starts_at": None}),
        ("post", "/actions", {"meeting": None}),
        ("get", "/decisions?state=peut-etre", None),
        ("get", "/actions?meeting=-1", None),
    ],
)
def test_bad_input_is_a_4xx(gov, method, url, payload):
    api = token_client(gov["users"]["a"]["committee"])
    response = api.get("/api" + url) if method == "get" else send(api, method, url, payload)
    assert 400 <= response.status_code < 500, response.content
