"""The feed format examples of docs/monitoring.md (CSV, JSON, FHIR), ingested as written there
through the command line and the REST API: what the page shows is what Garant accepts."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from garant.core.audit import audit_context
from garant.core.models import ApiToken
from garant.monitoring import storage
from garant.monitoring.models import Feed

DOC = Path(__file__).resolve().parent.parent / "docs" / "monitoring.md"
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```\w*\n(.*?)\n```", re.DOTALL)
FHIR_JSON = "application/fhir+json"


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall(DOC.read_text(encoding="utf-8")))


@pytest.fixture
def feeds(world):
    """The page's `12/sepsis` (feature lactate, subgroup site) and `13/sepsis-fhir` (none)."""
    system = world["a"]["system"]
    with audit_context(source="test"):
        plain = Feed.objects.create(
            ai_system=system,
            name="Sepsis",
            slug="sepsis",
            feature_columns=["lactate"],
            subgroup_columns=["site"],
            operating_threshold=0.3,
        )
        fhir = Feed.objects.create(
            ai_system=system, name="Sepsis FHIR", slug="sepsis-fhir", operating_threshold=0.3
        )
    return plain, fhir


@pytest.fixture
def api(world) -> Client:
    _, raw = ApiToken.issue(world["users"]["a"]["referent"], name="script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def labels(feed) -> dict[str, int | None]:
    joined = storage.joined(feed)
    return dict(zip(joined["prediction_id"].to_pylist(), joined["label"].to_pylist(), strict=True))


def test_the_page_has_every_example():
    assert set(examples()) == {
        "predictions.csv",
        "outcomes.csv",
        "predictions.json",
        "outcomes.json",
        "refused.json",
        "refused.answer.json",
        "predictions.fhir.json",
        "outcomes.fhir.json",
    }


def test_csv_examples_through_the_command_line(feeds, tmp_path):
    feed = feeds[0]
    for kind in ("predictions", "outcomes"):
        path = tmp_path / f"{kind}.csv"
        path.write_text(examples()[f"{kind}.csv"] + "\n", encoding="utf-8")
        out = StringIO()
        call_command(
            "monitor", "ingest", "--feed", feed.reference, "--kind", kind, str(path), stdout=out
        )
    assert labels(feed) == {"sep-000101": 0, "sep-000102": 1, "sep-000103": None}
    stored = storage.read(feed, "predictions").sort_by("prediction_id")
    assert stored["lactate"].to_pylist() == [1.4, 3.2, None]
    assert stored["site"].to_pylist() == ["Hôpital Nord", "Hôpital Sud", "Hôpital Nord"]
    assert stored["model_version"].to_pylist() == ["1.0"] * 3


def test_json_examples_through_the_api(feeds, api):
    feed = feeds[0]
    url = f"/api/feeds/{feed.pk}"
    sent = api.post(f"{url}/predictions", examples()["predictions.json"], "application/json")
    assert sent.status_code == 201, sent.content
    assert sent.json()["rows"] == 2 and sent.json()["detail"] == "2 lignes enregistrées."
    again = api.post(f"{url}/predictions", examples()["predictions.json"], "application/json")
    assert again.status_code == 200 and again.json()["id"] == sent.json()["id"]
    outcomes = api.post(f"{url}/outcomes", examples()["outcomes.json"], "application/json")
    assert outcomes.status_code == 201, outcomes.content
    assert labels(feed) == {"sep-000104": 1, "sep-000105": 0}

    refused = api.post(f"{url}/predictions", examples()["refused.json"], "application/json")
    assert refused.status_code == 422
    assert refused.json() == json.loads(examples()["refused.answer.json"])
    assert feed.batches.filter(kind="predictions").count() == 1


def test_fhir_examples_through_the_api(feeds, api):
    feed = feeds[1]
    url = f"/api/feeds/{feed.pk}/fhir"
    for name in ("predictions.fhir.json", "outcomes.fhir.json"):
        response = api.post(url, examples()[name], content_type=FHIR_JSON)
        assert response.status_code == 201, response.content
        assert response.json()["rows"] == 2
    assert labels(feed) == {"sep-000201": 1, "sep-000202": 0}
    stored = storage.read(feed, "predictions").sort_by("prediction_id")
    assert stored["patient_id"].to_pylist() == ["SEJ004516", "SEJ004517"]
    assert stored["score"].to_pylist() == [0.2718, 0.0412]
