"""The lifecycle API: same forms, permissions and gates as the web pages."""

from __future__ import annotations

import json

from garant.lifecycle.models import Idea
from tests.conftest import token_client
from tests.test_lifecycle_builders import add_value, make_charter, make_project


def post(client, url, data, method="post"):
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


def test_submit_an_idea_and_refused_input(world):
    client = token_client(world["users"]["a"]["contributor"])
    response = post(
        client,
        "/api/ideas",
        {
            "establishment": world["a"]["est"].pk,
            "title": "Tri",
            "need": "Besoin",
            "expected_benefit": "patients",
        },
    )
    assert response.status_code == 201, response.content
    assert Idea.objects.get().author == world["users"]["a"]["contributor"]
    bad = post(client, "/api/ideas", {"establishment": world["a"]["est"].pk})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["detail"]} >= {"title", "need", "expected_benefit"}
    other = post(client, "/api/ideas", {"establishment": world["b"]["est"].pk, "title": "x"})
    assert other.status_code == 403


def test_transitions_charter_values_and_assessment(world):
    project = make_project(world["a"]["system"])
    client = token_client(world["users"]["a"]["referent"])
    refused = post(client, f"/api/projects/{project.pk}/transitions", {"to_phase": "poc"})
    assert refused.status_code == 409
    assert "Pas de charte de PoC" in refused.json()["detail"][0]
    charter = post(
        client,
        f"/api/projects/{project.pk}/charter",
        {"use_case": "Sepsis", "operational_objective": "Délai", "end_date": "2026-09-30"},
        "put",
    )
    assert charter.status_code == 200 and charter.json()["warnings"]
    indicator = post(
        client,
        f"/api/projects/{project.pk}/indicators",
        {
            "name": "Délai",
            "target": "60",
            "measurement_method": "DPI",
            "grid_indicator": "clinical_outcome",
        },
    )
    assert indicator.status_code == 201, indicator.content
    ok = post(
        client, f"/api/projects/{project.pk}/transitions", {"to_phase": "poc", "reason": "ok"}
    )
    assert ok.status_code == 201 and ok.json()["to_phase"] == "poc"
    value = post(
        client,
        f"/api/indicators/{indicator.json()['id']}/values",
        {"value": "70", "measured_on": "2026-07-01"},
    )
    assert value.status_code == 201
    assessment = post(client, f"/api/projects/{project.pk}/assessments", {}).json()
    scores = [
        {"criterion_code": s["criterion_code"], "score": 3, "stop_if_met": False}
        for s in assessment["scores"]
    ]
    put = post(client, f"/api/assessments/{assessment['id']}/scores", {"scores": scores}, "put")
    assert put.status_code == 200, put.content
    assert put.json()["recommendation"] == "not_yet"  # mandatory indicators still missing
    scores[0]["score"] = 9
    bad = post(client, f"/api/assessments/{assessment['id']}/scores", {"scores": scores}, "put")
    assert bad.status_code == 422
    frozen = post(client, f"/api/assessments/{assessment['id']}/freeze", {})
    assert frozen.json()["status"] == "frozen"
    outsider = token_client(world["users"]["b"]["admin"])
    assert outsider.get(f"/api/projects/{project.pk}").status_code == 404
    auditor = token_client(world["users"]["a"]["auditor"])
    assert auditor.get(f"/api/projects/{project.pk}").json()["phase"] == "poc"
    assert (
        post(
            auditor,
            f"/api/projects/{project.pk}/transitions",
            {"to_phase": "retired", "reason": "x"},
        ).status_code
        == 403
    )


def test_values_are_listed(world):
    project = make_project(world["a"]["system"])
    indicator = make_charter(project).indicators.get()
    add_value(indicator, "70")
    client = token_client(world["users"]["a"]["auditor"])
    values = client.get(f"/api/indicators/{indicator.pk}/values").json()
    assert [float(v["value"]) for v in values] == [70.0]
