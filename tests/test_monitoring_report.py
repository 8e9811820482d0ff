"""The monitoring report (`report.build_report`), its SVG charts, the dashboard page and
`garant monitor report`: figures equal to the engine's, ROC points whose area is the AUC,
French errors, tenancy, no external resource in the standalone document."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.monitoring import charts, engine, ingest, report, storage
from tests.conftest import make_feed, token_client

PARIS = ZoneInfo("Europe/Paris")
START = dt.date(2024, 3, 1)  # first day of the synthetic data (30 March: change to summer time)


@pytest.fixture(autouse=True)
def monitoring_dir(settings, tmp_path):
    settings.GARANT_MONITORING_DIR = tmp_path / "monitoring"


@pytest.fixture
def feed(world):
    return make_feed(
        world["a"]["system"],
        feature_columns=["age"],
        categorical_columns=["service"],
        subgroup_columns=["site", "sexe"],
        operating_threshold=0.4,
    )


def synthetic(n: int, days: int, seed: int = 7, drift_after: int | None = None):
    """Predictions and outcomes: ~15 % prevalence, 10 % outcomes unknown, ties in the scores,
    two subgroup columns (one with a tiny site), a numeric and a categorical feature; after
    ``drift_after`` days the scores and the ages shift up."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, days * 86400, n))
    stamps = [
        dt.datetime.combine(START, dt.time(), tzinfo=PARIS) + dt.timedelta(seconds=int(s))
        for s in seconds
    ]
    label = rng.random(n) < 0.15
    shifted = np.array([(t.date() - START).days >= (drift_after or days + 1) for t in stamps])
    score = np.clip(rng.beta(2, 6, n) + 0.35 * label + 0.12 * shifted, 0, 1)
    score = np.where(rng.random(n) < 0.5, np.round(score, 2), np.round(score, 4))
    site = rng.choice(["Nord", "Sud", "Est"], n, p=[0.6, 0.395, 0.005])
    ids = [f"p{i}" for i in range(n)]
    predictions = pa.table(
        {
            "prediction_id": ids,
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="Europe/Paris")),
            "patient_id": [f"S{i % (n // 3 + 1)}" for i in range(n)],
            "score": score,
            "model_version": np.where(seconds > days * 86400 // 2, "2.0", "1.0").tolist(),
            "age": np.round(rng.normal(62, 15, n) + 8 * shifted).tolist(),
            "service": rng.choice(["urgences", "réanimation", "médecine"], n).tolist(),
            "site": site.tolist(),
            "sexe": rng.choice(["F", "M"], n).tolist(),
        }
    )
    known = rng.random(n) < 0.9
    outcomes = pa.table(
        {
            "prediction_id": [i for i, k in zip(ids, known, strict=True) if k],
            "outcome": label[known].astype(int).tolist(),
            "outcome_time": pa.array(
                [t + dt.timedelta(hours=6) for t, k in zip(stamps, known, strict=True) if k],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    return predictions, outcomes


def load(feed, n=3000, days=60, **kw):
    predictions, outcomes = synthetic(n, days, **kw)
    with audit_context(source="test"):
        ingest.ingest(feed, "predictions", predictions, "cli")
        ingest.ingest(feed, "outcomes", outcomes, "cli")
    return predictions


@pytest.fixture
def loaded(feed):
    load(feed, drift_after=40)
    return feed


PERIOD = (dt.date(2024, 3, 31), dt.date(2024, 4, 29))  # 30 days; reference: 1–30 March


def engine_counts(feed, start, end):
    """The engine on the joined table, independently of the report's own windowing."""
    low = dt.datetime.combine(start, dt.time(), tzinfo=PARIS)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=PARIS)
    table = storage.joined(feed, low, high)
    return engine.aggregate(table, feed.column_spec("Europe/Paris"), quantum=feed.quantum)


def test_report_figures_are_the_engines(loaded):
    result = report.build_report(loaded, *PERIOD)
    assert tuple(result) == report.REPORT_KEYS
    json.dumps(result, allow_nan=False)  # plain JSON, no NaN
    perf = engine.performance(
        engine_counts(loaded, *PERIOD).score_histogram(), threshold=loaded.operating_threshold
    )
    p = result["performance"]
    assert p["count"] == perf.n_predictions > 1000
    assert p["auc"]["value"] == perf.auc.value
    assert (p["auc"]["ci_low"], p["auc"]["ci_high"]) == (perf.auc.ci_low, perf.auc.ci_high)
    assert p["auc"]["method"].startswith("DeLong")
    for key, value in {
        "prevalence": perf.prevalence,
        "sensitivity": perf.operating.sensitivity,
        "specificity": perf.operating.specificity,
        "ppv": perf.operating.ppv,
        "npv": perf.operating.npv,
        "f1": perf.operating.f1,
        "flag_rate": perf.operating.flag_rate,
        "brier": perf.brier,
        "ece": perf.calibration.ece,
    }.items():
        assert p[key]["value"] == value.value, key
    assert [b["count"] for b in result["calibration"]["bins"]] == [
        b.count for b in perf.calibration.bins
    ]
    assert result["period"] == {
        "start": "2024-03-31",
        "end": "2024-04-29",
        "days": 30,
        "granularity": "week",
        "time_zone": "Europe/Paris",
    }
    assert result["reference"]["start"] == "2024-03-01"
    assert result["reference"]["end"] == "2024-03-30"
    # drift against the reference window, the score and both features; the shift is seen
    drift = {d["name"]: d for d in result["drift"]}
    assert set(drift) == {"score", "age", "service"}
    expected = engine.drift_report(
        engine_counts(loaded, dt.date(2024, 3, 1), dt.date(2024, 3, 30)),
        engine_counts(loaded, *PERIOD),
    )
    assert [d["psi"]["value"] for d in result["drift"]] == [d.psi.value for d in expected]
    assert drift["score"]["psi"]["value"] > 0.1 and drift["age"]["ks"]["value"] > 0.1
    assert drift["service"]["chi2"]["value"] is not None and drift["service"]["ks"] is None
    # subgroups: one table per declared column, the tiny site censored
    assert [s["columns"] for s in result["subgroups"]] == [["site"], ["sexe"]]
    sites = {row["key"]["site"]: row for row in result["subgroups"][0]["rows"]}
    assert sites["Est"]["censored"] and sites["Est"]["metrics"] == {}
    assert result["subgroups"][0]["reference_key"] == {"site": "Nord"}
    assert sum(v["count"] for v in result["model_versions"]) == p["count"]


def test_roc_points_area_is_the_engine_auc(loaded):
    result = report.build_report(loaded, *PERIOD)
    points = result["roc"]["points"]
    assert points[0] == [None, 0.0, 0.0] and points[-1][1:] == [1.0, 1.0]
    thresholds = [p[0] for p in points[1:]]
    assert thresholds == sorted(thresholds, reverse=True)  # one point per distinct score
    area = report.trapezoid_area(points)
    assert math.isclose(area, result["performance"]["auc"]["value"], rel_tol=1e-12)
    assert result["roc"]["auc_trapezoid"] == area
    operating = result["roc"]["operating_point"]
    assert operating["tpr"] == result["performance"]["sensitivity"]["value"]


def test_series_sums_to_the_overall_count(loaded):
    for by in ("day", "week", "month"):
        result = report.build_report(loaded, *PERIOD, by=by)
        series = result["series"]
        assert sum(row["count"] for row in series) == result["performance"]["count"]
        assert series[0]["start"] == "2024-03-31" and series[-1]["end"] == "2024-04-29"
    assert len(report.build_report(loaded, *PERIOD, by="day")["series"]) == 30
    weeks = report.build_report(loaded, *PERIOD)["series"]
    assert weeks[0] == weeks[0] | {"start": "2024-03-31", "end": "2024-03-31", "partial": True}
    assert weeks[1]["start"] == "2024-04-01" and not weeks[1]["partial"]


def test_empty_period_gives_reasons_not_errors(loaded):
    result = report.build_report(loaded, dt.date(2023, 1, 1), dt.date(2023, 1, 31))
    json.dumps(result, allow_nan=False)
    p = result["performance"]
    assert p["count"] == 0 and p["auc"]["value"] is None
    assert p["auc"]["reason"] == "fenêtre vide" and p["sensitivity"]["value"] is None
    assert result["roc"]["points"] == [] and result["volume"] == []
    assert all(row["count"] == 0 for row in result["series"])
    html = charts.line_chart([], title="AUC", y_label="AUC")
    assert "<svg" in html


def test_charts_are_accessible_escaped_and_french():
    svg = charts.line_chart(
        [("2024-04-01", 0.5), ("2024-04-08", None), ("2024-04-15", 0.75)],
        title="AUC <script>",
        y_label="AUC",
        thresholds=[(0.6, "référence")],
        desc="d & d",
    )
    assert svg.startswith("<svg") and "<title" in svg and "<desc" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "d &amp; d" in svg
    assert "0,6" in svg and "01/04" in svg
    roc = charts.roc_chart([[None, 0.0, 0.0], [0.5, 0.25, 0.5], [0.1, 1.0, 1.0]], (0.25, 0.5))
    assert "Taux de faux positifs" in roc and "Sensibilité" in roc
    calibration = charts.calibration_chart(
        [{"lower": 0.0, "upper": 0.1, "count": 10, "mean_score": 0.05, "observed_rate": 0.1}]
    )
    assert "Score moyen" in calibration
    bars = charts.volume_chart([{"start": "2024-04-01", "count": 1234, "anomaly": "drop"}])
    assert "1\u202f234" in bars
    assert charts.fr(0.1234, 2) == "0,12" and charts.fr(None) == "—"


def test_dashboard_page_for_the_systems_users_only(world, client_for, loaded):
    url = reverse("monitoring:dashboard", args=[loaded.pk])
    client = client_for(world["users"]["a"][Role.AUDITOR])
    response = client.get(url, {"du": "31/03/2024", "au": "2024-04-29", "par": "week"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<svg") >= 5 and "DeLong" in body and "Nord" in body
    assert "Aucune prédiction sur cette période" not in body
    # linked from the feed page and from the system's Suivi tab
    assert url in client.get(loaded.get_absolute_url()).content.decode()
    feeds = reverse("monitoring:system_feeds", args=[loaded.ai_system_id])
    assert url in client.get(feeds).content.decode()
    # another establishment: 404
    assert client_for(world["users"]["b"][Role.ADMIN]).get(url).status_code == 404


def test_dashboard_defaults_bad_dates_and_empty_period(world, client_for, loaded):
    url = reverse("monitoring:dashboard", args=[loaded.pk])
    client = client_for(world["users"]["a"][Role.AUDITOR])
    default = client.get(url)  # last 90 days ending today: no data in 2024 then
    assert default.status_code == 200
    today = dt.datetime.now(PARIS).date()
    assert today.strftime("%d/%m/%Y") in default.content.decode()
    assert "Aucune prédiction sur cette période" in default.content.decode()
    for params in (
        {"du": "31/02/2024", "au": "01/04/2024"},
        {"du": "hier", "au": "01/04/2024"},
        {"du": "01/05/2024", "au": "01/04/2024"},
        {"du": "01/01/2024", "au": "01/04/2024", "par": "heure"},
    ):
        response = client.get(url, params)
        assert response.status_code == 200, params
        body = response.content.decode()
        assert 'class="errorlist' in body and "<svg" not in body, params
    too_long = client.get(url, {"du": "01/01/2000", "au": "01/04/2024", "par": "day"})
    assert too_long.status_code == 200 and "Trop de périodes" in too_long.content.decode()


def call_report(*args) -> str:
    out = io.StringIO()
    call_command("monitor", "report", *args, stdout=out)
    return out.getvalue()


def test_cli_report_json_and_html(loaded, tmp_path):
    reference = loaded.reference
    text = call_report("--feed", reference, "--from", "2024-03-31", "--to", "2024-04-29")
    data = json.loads(text)
    assert tuple(data) == report.REPORT_KEYS and data["feed"]["reference"] == reference
    assert "é" in text  # ensure_ascii=False: French reasons and labels as they are
    target = tmp_path / "rapport.html"
    call_report(
        "--feed",
        reference,
        "--from",
        "2024-03-31",
        "--to",
        "2024-04-29",
        "--format",
        "html",
        "--output",
        str(target),
    )
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<svg" in html and "<style>" in html
    links = re.findall(r"https?://[^\s\"'<>)]*", html)
    assert links and set(links) == {"http://www.w3.org/2000/svg"}  # only the SVG namespace
    assert not re.search(r"<(link|script|img)\b", html) and "url(" not in html
    assert "Sepsis" in html and "31/03/2024" in html


def test_cli_report_errors_in_french(loaded):
    with pytest.raises(CommandError, match="Flux inconnu"):
        call_report("--feed", "999/x", "--from", "2024-03-01", "--to", "2024-03-31")
    with pytest.raises(CommandError, match="Date invalide"):
        call_report("--feed", loaded.reference, "--from", "2024-02-30", "--to", "2024-03-31")
    with pytest.raises(CommandError, match="antérieure"):
        call_report("--feed", loaded.reference, "--from", "2024-03-31", "--to", "2024-03-01")


def test_a_threshold_asked_for_one_report_changes_every_confusion_figure(loaded):
    at_operating = report.build_report(loaded, *PERIOD)
    asked = report.build_report(loaded, *PERIOD, threshold=0.55)
    assert at_operating["threshold"] == loaded.operating_threshold == 0.4
    assert asked["threshold"] == 0.55 and asked["feed"]["operating_threshold"] == 0.4
    counts = engine_counts(loaded, *PERIOD)
    c = engine.confusion(counts.score_histogram(), 0.55)
    p = asked["performance"]
    assert p["sensitivity"]["value"] == c.sensitivity.value
    assert p["flag_rate"]["value"] == c.flag_rate.value
    assert p["sensitivity"]["value"] < at_operating["performance"]["sensitivity"]["value"]
    assert asked["roc"]["operating_point"]["threshold"] == 0.55
    # threshold-free figures are the same
    assert p["auc"] == at_operating["performance"]["auc"]
    assert asked["drift"] == at_operating["drift"]
    [site] = [s for s in asked["subgroups"] if s["columns"] == ["site"]]
    assert site["threshold"] == 0.55
    [nord] = [r for r in site["rows"] if "Nord" in json.dumps(r["key"])]
    expected = engine.confusion(counts.where(site="Nord").score_histogram(), 0.55)
    assert nord["metrics"]["sensitivity"]["value"] == expected.sensitivity.value
    loaded.refresh_from_db()
    assert loaded.operating_threshold == 0.4  # nothing stored
    for wrong in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="threshold"):
            report.build_report(loaded, *PERIOD, threshold=wrong)


def test_dashboard_cli_and_api_take_a_threshold(world, client_for, loaded):
    url = reverse("monitoring:dashboard", args=[loaded.pk])
    client = client_for(world["users"]["a"][Role.AUDITOR])
    period = {"du": "31/03/2024", "au": "29/04/2024", "par": "week"}
    with translation.override("fr"):
        body = client.get(url, {**period, "seuil": "0,55"}).content.decode()
        assert "seuil demandé pour ce rapport" in body
        assert "0,55 (score supérieur ou égal" in body and "du flux : 0,4)" in body
        assert "seuil demandé" not in client.get(url, period).content.decode()
        for wrong in ("2", "abc", "-0,1", "nan"):
            response = client.get(url, {**period, "seuil": wrong})
            assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
            assert "<svg" not in response.content.decode(), wrong

    data = json.loads(
        call_report(
            "--feed", loaded.reference, "--from", "2024-03-31", "--to", "2024-04-29",
            "--threshold", "0,55",
        )
    )  # fmt: skip
    assert data["threshold"] == 0.55
    assert data == {
        **report.build_report(loaded, *PERIOD, threshold=0.55),
        "generated_at": data["generated_at"],
    }
    for wrong in ("1.5", "seuil"):
        with pytest.raises(CommandError, match="entre 0 et 1"):
            call_report(
                "--feed", loaded.reference, "--from", "2024-03-31", "--to", "2024-04-29",
                "--threshold", wrong,
            )  # fmt: skip

    api = f"/api/feeds/{loaded.pk}/report"
    reader = token_client(world["users"]["a"][Role.AUDITOR])
    response = reader.get(api, {"start": "2024-03-31", "end": "2024-04-29", "threshold": "0.55"})
    assert response.status_code == 200
    got = response.json()
    assert tuple(got) == report.REPORT_KEYS and got["threshold"] == 0.55
    assert got["performance"] == data["performance"] and got["subgroups"] == data["subgroups"]
    assert reader.get(api).json()["period"]["days"] == 90  # the dashboard's default period
    with translation.override("fr"):
        for params, field in (
            ({"start": "2024-03-31", "end": "2024-04-29", "threshold": "2"}, "threshold"),
            ({"start": "2024-03-31"}, "end"),
            ({"start": "2024-04-29", "end": "2024-03-31"}, "end"),
            ({"start": "2024-03-31", "end": "2024-04-29", "by": "hour"}, "by"),
            ({"start": "31-03-2024", "end": "2024-04-29"}, "start"),
        ):
            refused = reader.get(api, params)
            assert refused.status_code == 422, params
            assert field in json.dumps(refused.json()), (params, refused.json())
    other = token_client(world["users"]["b"][Role.ADMIN])
    assert other.get(api).status_code == 404
