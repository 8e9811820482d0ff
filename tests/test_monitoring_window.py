"""The outcome window (issue 11, item 3): stated by whoever creates a feed, and the report
says how many outcomes fell outside it."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from django.urls import reverse

from garant.core.models import Role
from garant.monitoring import report
from garant.monitoring.ingest import ingest
from garant.monitoring.models import Feed
from tests.conftest import make_feed, token_client

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
JSON = "application/json"


def test_the_api_requires_the_window(world):
    api = token_client(world["users"]["a"][Role.REFERENT])
    values = {"ai_system": world["a"]["system"].pk, "name": "C", "slug": "c"}
    values["operating_threshold"] = 0.4
    response = api.post("/api/feeds", values, content_type=JSON)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "outcome_window_hours" and "obligatoire" in error["message"]
    assert not Feed.objects.exists()
    response = api.post("/api/feeds", {**values, "outcome_window_hours": 0}, content_type=JSON)
    assert response.status_code == 422 and not Feed.objects.exists()
    response = api.post("/api/feeds", {**values, "outcome_window_hours": 6}, content_type=JSON)
    assert response.status_code == 201 and response.json()["outcome_window_hours"] == 6


def test_the_form_has_no_window_until_one_is_given(world, client_for):
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("monitoring:system_feeds", args=[system.pk])
    page = client.get(url).content.decode()
    field = page[page.index('name="outcome_window_hours"') :]
    field = field[: field.index(">")]
    assert "value=" not in field  # not pre-filled with a default
    data = {f.name: f.default for f in Feed._meta.fields if f.name.endswith("_column")}
    data.update(name="R", slug="r", operating_threshold="0.3", quantum="0.0001")
    response = client.post(url, data)
    assert response.status_code == 200 and not Feed.objects.exists()
    assert "Ce champ est obligatoire" in response.content.decode()
    response = client.post(url, {**data, "outcome_window_hours": "9000"})
    assert "entre 1 et 8760 heures" in response.content.decode()
    response = client.post(url, {**data, "outcome_window_hours": "720"})
    assert response.status_code == 302 and Feed.objects.get().outcome_window_hours == 720


def test_the_report_counts_outcomes_outside_the_window(world, client_for):
    feed = make_feed(world["a"]["system"], operating_threshold=0.5, outcome_window_hours=24)
    n = 6
    ingest(
        feed,
        "predictions",
        pa.table(
            {
                "prediction_id": [f"p{i}" for i in range(n)],
                "timestamp": [(T0 + dt.timedelta(days=i)).isoformat() for i in range(n)],
                "patient_id": [f"S{i}" for i in range(n)],
                "score": [0.2, 0.8, 0.3, 0.9, 0.1, 0.7],
                "model_version": ["1"] * n,
            }
        ),
        "api",
    )
    # p0 within, p1 30 h later (after the window), p2 an hour before its prediction,
    # p3 within, p4 at exactly 24 h (within), p5 none
    hours = {"p0": 2, "p1": 30, "p2": -1, "p3": 5, "p4": 24}
    ingest(
        feed,
        "outcomes",
        pa.table(
            {
                "prediction_id": list(hours),
                "outcome": [0, 1, 0, 1, 0],
                "outcome_time": [
                    (T0 + dt.timedelta(days=int(pid[1:]), hours=h)).isoformat()
                    for pid, h in hours.items()
                ],
            }
        ),
        "api",
    )
    built = report.build_report(feed, dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert built["outcome_window"] == {
        "hours": 24,
        "outcomes": 5,
        "outside": 2,
        "before_prediction": 1,
        "after_window": 1,
    }
    assert built["performance"]["n_labeled"] == 3  # the outcomes outside are not counted
    # a period holding p0-p1 only: one outcome outside, after the window
    first = report.build_report(feed, dt.date(2024, 3, 1), dt.date(2024, 3, 2))
    assert first["outcome_window"]["outside"] == 1 and first["outcome_window"]["after_window"] == 1
    client = client_for(world["users"]["a"][Role.REFERENT])
    page = client.get(
        f"/suivi/flux/{feed.pk}/tableau/?du=2024-03-01&au=2024-03-31&par=week"
    ).content.decode()
    assert "Issues hors de la fenêtre de 24 h (non comptées)" in page
    assert "1 avant la prédiction, 1 après la fenêtre" in page
