# ruff: noqa: F811 (the shared fixtures are imported by name)
"""One filter definition per governance list (`garant.governance.filtersets`): the page, its
export and the API give the same records for the same query string."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.governance.models import Action, Outcome
from tests.conftest import token_client
from tests.test_governance_fixtures import (  # noqa: F401  (gov is a fixture)
    gov,
    make_committee,
    make_decision,
    make_meeting,
    make_project,
)


def page_ids(client, name, query) -> list[int]:
    response = client.get(reverse(f"governance:{name}"), query)
    assert response.status_code == 200
    return [record.pk for record in response.context["page"].object_list]


def api_ids(client, path, query) -> list[int]:
    response = client.get(f"/api{path}", query)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def actions(gov):
    """Open (one overdue, one mine), done and cancelled actions at two committees of A."""
    owner = gov["users"]["a"]["committee"]
    decision = make_decision(gov["meeting"], gov["project"])
    other = make_meeting(make_committee(gov["a"]["est"], name="Comité éthique"), days=-3)
    today = timezone.localdate()
    with audit_context(source="test"):
        rows = {
            title: Action.objects.create(
                meeting=meeting,
                decision=decision if meeting == gov["meeting"] else None,
                title=title,
                owner=owner if mine else None,
                owner_name="" if mine else "Cadre de santé",
                due_date=today + dt.timedelta(days=days),
                status=status,
            )
            for title, meeting, days, status, mine in (
                ("en retard", gov["meeting"], -4, "open", False),
                ("à venir, à moi", gov["meeting"], 10, "open", True),
                ("réalisée", gov["meeting"], -1, "done", True),
                ("annulée", other, 5, "cancelled", False),
                ("autre comité", other, 20, "open", False),
            )
        }
    return {**gov, "actions": rows, "owner": owner, "other": other}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["en retard", "à venir, à moi", "autre comité"]),  # open, overdue first
        ({"state": "overdue"}, ["en retard"]),
        ({"state": "done"}, ["réalisée"]),
        (
            {"state": "all"},
            ["en retard", "à venir, à moi", "autre comité", "réalisée", "annulée"],
        ),
        ({"mine": "true", "state": "all"}, ["à venir, à moi", "réalisée"]),
        ({"committee": "OTHER", "state": "all"}, ["autre comité", "annulée"]),
        ({"meeting": "MEETING"}, ["en retard", "à venir, à moi"]),
    ],
)
def test_actions_page_and_api_filter_alike(actions, client_for, query, expected):
    query = {
        k: {"OTHER": actions["other"].committee_id, "MEETING": actions["meeting"].pk}.get(v, v)
        for k, v in query.items()
    }
    ids = [actions["actions"][title].pk for title in expected]
    user = actions["owner"]
    assert page_ids(client_for(user), "action_list", query) == ids
    assert api_ids(token_client(user), "/actions", query) == ids


def test_actions_invalid_filter_no_records_on_the_page_422_in_the_api(actions, client_for):
    user = actions["owner"]
    response = client_for(user).get(reverse("governance:action_list"), {"state": "bientôt"})
    assert response.status_code == 200 and not response.context["page"].object_list
    assert "Filtres invalides" in response.content.decode()
    response = token_client(user).get("/api/actions", {"state": "bientôt"})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "state"


@pytest.fixture
def decisions(gov):
    """A signed decision and a draft at two meetings of A's committee, one of B's."""
    member = gov["users"]["a"]["committee"]
    signed = make_decision(gov["meeting"], gov["project"], sign_by=member)
    later = make_meeting(gov["committee"], days=-40)
    draft = make_decision(
        later,
        make_project(gov["a"]["est"], system={"name": "Triage IA"}),
        outcome=Outcome.STOP,
        conditions="",
        next_review_date=None,
    )
    b = make_decision(make_meeting(make_committee(gov["b"]["est"])), make_project(gov["b"]["est"]))
    return {**gov, "signed": signed, "draft": draft, "b": b, "member": member}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["signed", "draft"]),  # not B's
        ({"state": "signed"}, ["signed"]),
        ({"state": "draft"}, ["draft"]),
        ({"outcome": "stop"}, ["draft"]),
        ({"q": "triage"}, ["draft"]),
        ({"date_from": "DAYS_AGO_10"}, ["signed"]),
        ({"date_to": "DAYS_AGO_10"}, ["draft"]),
        ({"date_to": "DAYS_AGO_10_FR"}, ["draft"]),  # dd/mm/yyyy as well as ISO
        ({"project": "PROJECT"}, ["signed"]),
    ],
)
def test_register_page_export_and_api_filter_alike(decisions, client_for, query, expected):
    ten_days_ago = timezone.localdate() - dt.timedelta(days=10)
    values = {
        "DAYS_AGO_10": ten_days_ago.isoformat(),
        "DAYS_AGO_10_FR": f"{ten_days_ago:%d/%m/%Y}",
        "PROJECT": decisions["project"].pk,
    }
    query = {k: values.get(v, v) for k, v in query.items()}
    ids = [decisions[key].pk for key in expected]
    user = decisions["member"]
    assert page_ids(client_for(user), "decision_register", query) == ids
    if "/" not in query.get("date_to", ""):  # the API takes ISO dates only (JSON's)
        assert api_ids(token_client(user), "/decisions", query) == ids
    export = client_for(user).get(reverse("governance:decision_export", args=["xlsx"]), query)
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet.max_row - 1 == len(ids)
