"""The model version as a subgroup, and subgroup tables with the Brier score, the calibration
error and the AUC confidence interval (issue 11, item 3), through ingestion, the report, the
dashboard and the alert rules."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from garant.core.models import Role
from garant.monitoring import engine, report, storage
from garant.monitoring.forms import FeedForm
from garant.monitoring.ingest import ingest
from garant.monitoring.models import Feed
from tests.conftest import make_feed

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def feed(world):
    return make_feed(
        world["a"]["system"],
        model_version_column="version",  # the file's name for it
        subgroup_columns=["site", "model_version"],
        operating_threshold=0.5,
    )


def batch(n=400, seed=4):
    rng = np.random.default_rng(seed)
    label = rng.random(n) < 0.3
    version = np.where(np.arange(n) < n // 3, "2.0", "2.1")
    noise = np.where(version == "2.0", 0.35, 0.15)  # version 2.1 discriminates better
    score = np.round(np.clip(0.3 + 0.3 * label + rng.normal(0, noise), 0, 1), 3)
    ids = [f"p{i}" for i in range(n)]
    predictions = pa.table(
        {
            "prediction_id": ids,
            "timestamp": [(T0 + dt.timedelta(minutes=30 * i)).isoformat() for i in range(n)],
            "patient_id": [f"S{i % 50}" for i in range(n)],
            "score": score,
            "version": version,
            "site": np.where(np.arange(n) % 2, "Nord", "Sud"),
        }
    )
    outcomes = pa.table(
        {
            "prediction_id": ids,
            "outcome": label.astype(int),
            "outcome_time": [
                (T0 + dt.timedelta(minutes=30 * i + 60)).isoformat() for i in range(n)
            ],
        }
    )
    return predictions, outcomes, score, label.astype(int), version


def test_the_model_version_is_a_subgroup_of_the_report(feed):
    predictions, outcomes, score, label, version = batch()
    ingest(feed, "predictions", predictions, "api")
    ingest(feed, "outcomes", outcomes, "api")
    stored = storage.read(feed, "predictions")
    assert "version" not in stored.column_names  # stored once, as model_version
    assert stored.column_names.count("model_version") == 1
    built = report.build_report(feed, dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    tables = {tuple(s["columns"]): s for s in built["subgroups"]}
    assert set(tables) == {("site",), ("model_version",)}
    rows = {r["key"]["model_version"]: r for r in tables[("model_version",)]["rows"]}
    assert set(rows) == {"2.0", "2.1"}
    assert tables[("model_version",)]["reference_key"] == {"model_version": "2.1"}
    state = storage.counts(feed)
    for v, row in rows.items():
        mine = version == v
        assert row["n"] == int(mine.sum())
        assert row["metrics"]["brier"]["value"] == pytest.approx(
            brier_score_loss(label[mine], score[mine]), rel=1e-12
        )
        assert row["metrics"]["auc"]["value"] == pytest.approx(
            roc_auc_score(label[mine], score[mine]), rel=1e-12
        )
        expected = engine.performance(
            state.window(dt.date(2024, 3, 1), dt.date(2024, 4, 1))
            .where(model_version=v)
            .score_histogram(),
            threshold=0.5,
        )
        assert row["auc"]["ci_low"] == expected.auc.ci_low
        assert row["auc"]["ci_high"] == expected.auc.ci_high
        assert row["metrics"]["ece"]["value"] == expected.calibration.ece.value
        assert row["auc"]["ci_low"] < row["auc"]["value"] < row["auc"]["ci_high"]
    assert rows["2.0"]["metrics"]["auc"]["value"] < rows["2.1"]["metrics"]["auc"]["value"]
    # the site table carries them too
    site = tables[("site",)]["rows"][0]
    assert {"brier", "ece"} <= set(site["metrics"]) and site["auc"]["ci_low"] is not None


def test_the_dashboard_shows_brier_ece_and_the_interval_per_group(world, client_for, feed):
    predictions, outcomes, *_ = batch()
    ingest(feed, "predictions", predictions, "api")
    ingest(feed, "outcomes", outcomes, "api")
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = f"/suivi/flux/{feed.pk}/tableau/?du=2024-03-01&au=2024-03-31&par=week"
    page = client.get(url).content.decode()
    assert "Sous-groupes : model_version" in page
    assert '<th scope="col" class="num">Brier</th>' in page and ">ECE</th>" in page
    assert page.count('<span class="ci">[') == 4  # 2 sites, 2 versions


def test_a_subgroup_rule_on_the_model_version(feed):
    from garant.monitoring import alerts
    from garant.monitoring.models import AlertRule

    predictions, outcomes, *_ = batch()
    ingest(feed, "predictions", predictions, "api")
    ingest(feed, "outcomes", outcomes, "api")
    rule = AlertRule.objects.create(
        feed=feed,
        kind=AlertRule.Kind.SUBGROUP_RATIO_OUTSIDE,
        threshold=0.8,
        window_days=3650,
        subgroup_column="model_version",
    )
    alerts.evaluate_feed(feed, today=dt.date(2024, 3, 31))
    rule.refresh_from_db()
    assert rule.last_value is not None, rule.last_status


def form_values(**changes):
    values = {f.name: f.default for f in Feed._meta.fields if f.name.endswith("_column")}
    values.update(name="F", slug="f", operating_threshold=0.5, quantum=1e-4)
    values.update(outcome_window_hours=48, subgroup_columns="site, model_version")
    values.update(changes)
    return values


def test_the_form_accepts_model_version_as_a_subgroup_only_with_its_column(world):
    system = world["a"]["system"]
    form = FeedForm(form_values(), ai_system=system)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["subgroup_columns"] == ["site", "model_version"]
    form = FeedForm(form_values(model_version_column=""), ai_system=system)
    assert not form.is_valid()
    assert form.errors["subgroup_columns"] == [
        "« model_version » comme sous-groupe demande une colonne version du modèle."
    ]
    form = FeedForm(form_values(categorical_columns="model_version"), ai_system=system)
    assert form.errors["categorical_columns"] == ["« model_version » est un nom réservé."]
