"""FHIR R4 Bundles through the one ingestion path: REST, command line and web upload; the
FHIR columns are renamed to the feed's declared names before the usual validation."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.monitoring import ingest, storage
from garant.monitoring.models import Feed, IngestBatch
from tests.conftest import make_feed, token_client
from tests.test_monitoring_fhir import load

DATA = Path(__file__).parent / "data" / "fhir"
FHIR_JSON = "application/fhir+json"


@pytest.fixture(autouse=True)
def monitoring_dir(settings, tmp_path):
    settings.GARANT_MONITORING_DIR = tmp_path / "monitoring"


@pytest.fixture
def feed(world):
    return make_feed(world["a"]["system"], operating_threshold=0.4)


api = token_client


def bundle(name) -> bytes:
    return (DATA / name).read_bytes()


def n_entries(name) -> int:
    return len(json.loads(bundle(name))["entry"])


def test_rest_bundle_of_predictions_then_outcomes(world, feed):
    client = api(world["users"]["a"][Role.REFERENT])
    url = f"/api/feeds/{feed.pk}/fhir"
    response = client.post(url, bundle("sepsis_predictions_valid.json"), content_type=FHIR_JSON)
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "predictions"
    assert response.json()["rows"] == n_entries("sepsis_predictions_valid.json")
    again = client.post(url, bundle("sepsis_predictions_valid.json"), content_type=FHIR_JSON)
    assert again.status_code == 200 and "déjà reçu" in again.json()["detail"]
    response = client.post(url, bundle("sepsis_outcomes_valid.json"), content_type=FHIR_JSON)
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "outcomes"
    joined = storage.joined(feed)
    labels = dict(
        zip(joined["prediction_id"].to_pylist(), joined["label"].to_pylist(), strict=True)
    )
    assert labels["ra-sepsis-000101"] == 1
    predictions = storage.read(feed, "predictions")
    assert "sepsis-ews-2.3.1" in predictions["model_version"].to_pylist()
    assert IngestBatch.objects.filter(source="api").count() == 2


def test_rest_refused_bundle_lists_entry_and_path(world, feed):
    client = api(world["users"]["a"][Role.REFERENT])
    url = f"/api/feeds/{feed.pk}/fhir"
    response = client.post(url, bundle("sepsis_predictions_errors.json"), content_type=FHIR_JSON)
    assert response.status_code == 422
    body = response.json()
    assert body["error_count"] == len(body["detail"]) > 0
    first = body["detail"][0]
    assert first["row"].startswith("entry[") and first["column"] and first["message"]
    assert any("cancelled" in e["message"] or "status" in e["column"] for e in body["detail"])
    for name in ("malformed.json", "empty_bundle.json", "patient_not_bundle.json"):
        response = client.post(url, bundle(name), content_type=FHIR_JSON)
        assert response.status_code == 422, name
        assert response.json()["detail"][0]["row"] == "Bundle"
    assert not IngestBatch.objects.exists() and storage.read(feed, "predictions").num_rows == 0


def test_rest_bundle_goes_through_the_feed_validation(world):
    """Renamed to the feed's names, then validated like any batch: a feed that requires a
    subgroup column the Bundle cannot carry refuses it, naming that column."""
    with audit_context(source="test"):
        feed = Feed.objects.create(
            ai_system=world["a"]["system"],
            name="Renommé",
            slug="renomme",
            operating_threshold=0.4,
            prediction_id_column="id",
            score_column="proba",
            subgroup_columns=["site"],
        )
    client = api(world["users"]["a"][Role.REFERENT])
    url = f"/api/feeds/{feed.pk}/fhir"
    response = client.post(url, bundle("sepsis_predictions_valid.json"), content_type=FHIR_JSON)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"row": None, "column": "site", "message": "colonne obligatoire absente"}
    ]
    kind, table = ingest.read_fhir(feed, bundle("sepsis_predictions_valid.json"))
    assert kind == "predictions" and {"id", "proba", "timestamp"} <= set(table.column_names)


def test_rest_fhir_permissions_and_tenancy(world, feed):
    url = f"/api/feeds/{feed.pk}/fhir"
    body = bundle("sepsis_predictions_valid.json")
    assert api(world["users"]["a"][Role.AUDITOR]).post(url, body, FHIR_JSON).status_code == 403
    assert api(world["users"]["b"][Role.ADMIN]).post(url, body, FHIR_JSON).status_code == 404
    assert not IngestBatch.objects.exists()


def test_command_line_fhir(feed):
    out = io.StringIO()
    path = DATA / "sepsis_predictions_valid.json"
    call_command(
        "monitor", "ingest", "--feed", feed.reference, "--format", "fhir", str(path), stdout=out
    )
    assert "lignes enregistrées" in out.getvalue()
    batch = IngestBatch.objects.get()
    assert batch.kind == "predictions" and batch.source == "cli"
    # the extension suffices; the kind is deduced
    call_command(
        "monitor",
        "ingest",
        "--feed",
        feed.reference,
        str(DATA / "sepsis_outcomes_valid.json"),
        stdout=out,
    )
    assert IngestBatch.objects.filter(kind="outcomes").exists()
    err = io.StringIO()
    with pytest.raises(CommandError, match="Lot refusé"):
        call_command(
            "monitor",
            "ingest",
            "--feed",
            feed.reference,
            "--format",
            "fhir",
            str(DATA / "sepsis_predictions_errors.json"),
            stdout=out,
            stderr=err,
        )
    assert "entry[" in err.getvalue()
    with pytest.raises(CommandError, match="--kind"):
        call_command("monitor", "ingest", "--feed", feed.reference, "x.csv", stdout=out)


def test_web_upload_of_a_bundle(world, client_for, feed):
    client = client_for(world["users"]["a"][Role.REFERENT])
    upload = io.BytesIO(bundle("sepsis_predictions_valid.json"))
    upload.name = "predictions.json"
    response = client.post(feed.get_absolute_url(), {"kind": "outcomes", "file": upload})
    assert response.status_code == 302
    upload = io.BytesIO(bundle("sepsis_outcomes_valid.json"))
    upload.name = "issues.json"
    # the kind chosen in the form does not matter: the Bundle's resources decide
    response = client.post(feed.get_absolute_url(), {"kind": "predictions", "file": upload})
    assert response.status_code == 302
    assert IngestBatch.objects.order_by("pk").last().kind == "outcomes"
    upload = io.BytesIO(bundle("sepsis_predictions_errors.json"))
    upload.name = "lot.json"
    response = client.post(feed.get_absolute_url(), {"kind": "predictions", "file": upload})
    assert response.status_code == 422 and "entry[" in response.content.decode()
    assert "lot.json" in response.content.decode()
    assert IngestBatch.objects.count() == 2


def bundle_of_risk_assessments(n: int) -> dict:
    """A Bundle of `n` RiskAssessments made from the first entry of the valid fixture, each
    with its own id, pseudonymous subject, time and probability."""
    bundle = load("sepsis_predictions_valid.json")
    template = bundle["entry"][0]
    start = dt.datetime(2024, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    entries = []
    for i in range(n):
        entry = copy.deepcopy(template)
        entry["fullUrl"] = f"urn:uuid:00000000-0000-4000-8000-{i:012d}"
        resource = entry["resource"]
        resource["id"] = f"ra-lot-{i:04d}"
        resource["subject"] = {"reference": f"Patient/pseudo-{i % 250:04d}"}
        resource["occurrenceDateTime"] = (start + dt.timedelta(minutes=20 * i)).isoformat()
        resource["prediction"][0]["probabilityDecimal"] = round(i / n, 4)
        entries.append(entry)
    bundle["entry"] = entries
    return bundle


def test_rest_bundle_of_1000_risk_assessments(world, feed):
    client = api(world["users"]["a"][Role.REFERENT])
    url = f"/api/feeds/{feed.pk}/fhir"
    body = json.dumps(bundle_of_risk_assessments(1000))
    response = client.post(url, body, content_type=FHIR_JSON)
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "predictions" and response.json()["rows"] == 1000
    assert IngestBatch.objects.get().rows == 1000
    stored = storage.read(feed, "predictions")
    scores = dict(
        zip(stored["prediction_id"].to_pylist(), stored["score"].to_pylist(), strict=True)
    )
    assert scores == {f"ra-lot-{i:04d}": round(i / 1000, 4) for i in range(1000)}
    assert stored["timestamp"].to_pylist()[0].utcoffset() == dt.timedelta(0)
    assert min(stored["timestamp"].to_pylist()) == dt.datetime(2024, 2, 29, 23, tzinfo=dt.UTC)


def test_rest_bundle_of_1000_with_one_invalid_resource_stores_nothing(world, feed):
    bundle = bundle_of_risk_assessments(1000)
    bundle["entry"][637]["resource"]["prediction"][0]["probabilityDecimal"] = 1.7
    client = api(world["users"]["a"][Role.REFERENT])
    url = f"/api/feeds/{feed.pk}/fhir"
    response = client.post(url, json.dumps(bundle), content_type=FHIR_JSON)
    assert response.status_code == 422
    body = response.json()
    assert body["error_count"] == 1
    [error] = body["detail"]
    assert error["row"] == "entry[637]"
    assert error["column"] == "RiskAssessment.prediction[0].probabilityDecimal"
    assert "1.7 hors de l'intervalle [0, 1]" in error["message"]
    assert not IngestBatch.objects.exists()
    assert storage.read(feed, "predictions").num_rows == 0
    assert not storage.table_path(feed, "predictions").exists()
