"""Monitoring pages and REST endpoints: the "Suivi" tab, feed creation, file upload, JSON
batches, permissions and tenancy."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from django.urls import reverse

from garant.core.models import Role
from garant.monitoring import storage
from garant.monitoring.models import Feed, IngestBatch
from tests.conftest import make_feed, token_client

JSON = "application/json"


@pytest.fixture(autouse=True)
def monitoring_dir(settings, tmp_path):
    settings.GARANT_MONITORING_DIR = tmp_path / "monitoring"


@pytest.fixture
def feed(world):
    return make_feed(world["a"]["system"], operating_threshold=0.4)


def records(n=3, start=0):
    return [
        {
            "prediction_id": f"r{i}",
            "timestamp": f"2024-05-0{1 + i % 9}T10:00:00+02:00",
            "patient_id": f"S{i}",
            "score": 0.25 + i / 100,
            "model_version": "2.1",
        }
        for i in range(start, start + n)
    ]


def csv_upload(rows, name="lot.csv"):
    buffer = io.BytesIO()
    columns = {key: [str(row[key]) for row in rows] for key in rows[0]}
    pacsv.write_csv(pa.table(columns), buffer)
    upload = io.BytesIO(buffer.getvalue())
    upload.name = name
    return upload


def test_system_page_has_a_monitoring_tab_listing_feeds(world, client_for, feed):
    client = client_for(world["users"]["a"][Role.AUDITOR])
    page = client.get(reverse("registry:system_detail", args=[world["a"]["system"].pk]))
    url = reverse("monitoring:system_feeds", args=[world["a"]["system"].pk])
    assert url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert feed.get_absolute_url() in response.content.decode()
    assert "Définir un flux" not in response.content.decode()  # read-only role: no form


def test_referent_creates_a_feed_through_the_form(world, client_for):
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    data = {
        "name": "Réadmission",
        "slug": "readmission",
        "prediction_id_column": "id",
        "timestamp_column": "ts",
        "patient_id_column": "sejour",
        "score_column": "proba",
        "model_version_column": "",
        "feature_columns": "age, creatinine",
        "categorical_columns": "",
        "subgroup_columns": "site, sexe",
        "operating_threshold": "0.3",
        "quantum": "0.0001",
        "outcome_id_column": "id",
        "outcome_column": "readmis",
        "outcome_time_column": "date_readmission",
        "outcome_window_hours": "720",
    }
    response = client.post(reverse("monitoring:system_feeds", args=[system.pk]), data)
    feed = Feed.objects.get(slug="readmission")
    assert response.status_code == 302 and response["Location"] == feed.get_absolute_url()
    assert feed.feature_columns == ["age", "creatinine"] and feed.subgroup_columns == [
        "site",
        "sexe",
    ]
    # a column named like a direct identifier, a bad quantum and a duplicate slug are refused
    data.update(subgroup_columns="nom_patient", quantum="0.0003")
    response = client.post(reverse("monitoring:system_feeds", args=[system.pk]), data)
    assert response.status_code == 200 and Feed.objects.count() == 1
    body = response.content.decode()
    assert "identifiant direct" in body and "1/k" in body and "déjà un flux" in body


def test_upload_stores_a_batch_and_shows_errors_of_a_bad_one(world, client_for, feed):
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = feed.get_absolute_url()
    response = client.post(url, {"kind": "predictions", "file": csv_upload(records())})
    assert response.status_code == 302
    batch = IngestBatch.objects.get()
    assert batch.source == "ui" and batch.rows == 3
    assert storage.read(feed, "predictions").num_rows == 3
    page = client.get(url).content.decode()
    assert "3 lignes enregistrées" in page and batch.sha256[:12] in page
    bad = records(3, start=10)
    bad[1]["score"] = "abc"
    response = client.post(url, {"kind": "predictions", "file": csv_upload(bad)})
    body = response.content.decode()
    assert response.status_code == 422 and "Lot refusé" in body
    assert "<td>2</td><td>score</td><td>nombre attendu</td>" in body
    assert IngestBatch.objects.count() == 1
    # the same file again: nothing stored, said so
    response = client.post(url, {"kind": "predictions", "file": csv_upload(records())}, follow=True)
    assert "déjà reçu" in response.content.decode() and IngestBatch.objects.count() == 1


def test_read_only_roles_cannot_upload(world, client_for, feed):
    client = client_for(world["users"]["a"][Role.AUDITOR])
    response = client.post(
        feed.get_absolute_url(), {"kind": "predictions", "file": csv_upload(records())}
    )
    assert response.status_code == 200 and not IngestBatch.objects.exists()


def test_api_creates_a_feed_and_receives_batches(world):
    api = token_client(world["users"]["a"][Role.REFERENT])
    system = world["a"]["system"]
    response = api.post(
        "/api/feeds",
        {
            "ai_system": system.pk,
            "name": "Chute",
            "slug": "chute",
            "operating_threshold": 0.4,
            "outcome_window_hours": 72,
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.json()
    feed_id = response.json()["id"]
    assert response.json()["reference"] == f"{system.pk}/chute"
    url = f"/api/feeds/{feed_id}/predictions"
    response = api.post(url, {"records": records()}, content_type=JSON)
    assert response.status_code == 201 and response.json()["rows"] == 3
    again = api.post(url, {"records": records()}, content_type=JSON)
    assert again.status_code == 200 and "déjà reçu" in again.json()["detail"]
    assert again.json()["id"] == response.json()["id"]
    bad = records(2, start=5)
    bad[1]["timestamp"] = "01/05/2024 10:00"
    refused = api.post(url, {"records": bad}, content_type=JSON)
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": [
            {
                "row": 2,
                "column": "timestamp",
                "message": "date et heure ISO 8601 attendues",
            }
        ],
        "error_count": 1,
    }
    with_email = records(1, start=9)
    with_email[0]["courriel"] = "x@y.fr"
    refused = api.post(url, {"records": with_email}, content_type=JSON)
    assert refused.status_code == 422 and refused.json()["detail"][0]["column"] == "courriel"
    outcomes = [{"prediction_id": "r0", "outcome": 1, "outcome_time": "2024-05-02T08:00:00Z"}]
    response = api.post(f"/api/feeds/{feed_id}/outcomes", {"records": outcomes}, content_type=JSON)
    assert response.status_code == 201
    feed = Feed.objects.get(pk=feed_id)
    assert storage.joined(feed)["label"].to_pylist()[0] == 1
    assert IngestBatch.objects.filter(source="api").count() == 2


def test_api_writing_needs_change_on_the_system(world, feed):
    api = token_client(world["users"]["a"][Role.AUDITOR])
    assert api.get(f"/api/feeds/{feed.pk}").status_code == 200
    response = api.post(
        f"/api/feeds/{feed.pk}/predictions", {"records": records()}, content_type=JSON
    )
    assert response.status_code == 403
    response = api.post(
        "/api/feeds",
        {
            "ai_system": feed.ai_system_id,
            "name": "X",
            "slug": "x",
            "operating_threshold": 0.5,
            "outcome_window_hours": 48,
        },
        content_type=JSON,
    )
    assert response.status_code == 403


def test_a_system_with_a_feed_is_not_deleted_but_explained(world, client_for, feed):
    system = world["a"]["system"]
    response = client_for(world["users"]["a"]["admin"]).post(
        reverse("registry:system_delete", args=[system.pk]), follow=True
    )
    assert response.status_code == 200
    assert "ne peut pas être supprimé" in response.content.decode()
    assert Feed.objects.filter(pk=feed.pk, ai_system=system).exists()
