"""The Garant side of benchmarks/monitoring.py: three functions, each run in a fresh process.

    cold(parquet_path) -> dict            full report from the raw table, timed end to end
    warm(parquet_path, workdir) -> dict   builds the stored statistics once (not timed), then
                                          times reports of several windows and subgroups
    ingest(parquet_path, workdir) -> dict ingestion of the Parquet file, timed

The file's layout (feature, categorical and subgroup columns, threshold, reference and
current half-years, months) is read from its Parquet metadata, key ``garant.benchmark``
(written by ``benchmarks/monitoring.py``; see ``layout()`` there).

Returned keys (the harness reads these; keep them when replacing the internals):

cold:
    seconds                 float, the timed part (from the Parquet path to every figure)
    stages                  {name: seconds}, optional breakdown printed by the harness
    report                  the full metric set, compared figure by figure with the pandas
                            peer (same paths, see below); values are floats or null
    auc, auc_ci, brier, sensitivity, score_psi, score_ks
                            headline figures: whole year (AUC, CI, Brier, sensitivity);
                            score PSI and KS of the current half against the reference half
    month_auc               [12 floats], January to December
    subgroup_sensitivity    {"site=CHU-Nord": float, …} over the whole year

    report = {
      "overall": P, "halves": {"reference": P, "current": P}, "months": {"2025-01": P, …},
      "subgroups": {"site=CHU-Nord": P, "sex=F": P, "age_band=85+": P, …},
      "drift": {"current": D, "2025-07": D, …, "2025-12": D},   # against the reference half
      "missing": {feature: rate over the year}, "volume": {"2025-01": count, …},
    }
    P = {count, labeled, prevalence, auc, auc_ci_low, auc_ci_high, sensitivity, specificity,
         ppv, npv, f1, flag_rate, brier, ece,
         calibration: [{count, mean_score, observed_rate} × 10]}
    D = {"score": N, <numeric feature>: N, <categorical feature>: C}
    N = {psi, ks, js, wasserstein, missing_reference, missing_current}
    C = {psi, js, chi2, chi2_dof, missing_reference, missing_current}

warm:
    seconds                 float, the slowest report (the target is "any window")
    reports                 {report name: seconds}
    build_seconds           float, building the statistics (not part of `seconds`)
    auc, sensitivity, score_psi   figures of the first report (the whole year), as a check

ingest:
    seconds                 float, the timed ingestion
    rows                    int, rows stored
    stages                  {name: seconds}, optional breakdown

What each one runs:

* ``cold``: ``engine.aggregate`` of the Parquet path by **month** (the report's resolution:
  whole year, halves, months, subgroups, monthly drift), then every metric from the counts;
* ``warm``: the product's monitoring state, counts per **day** (any window of days), built
  once, saved to and loaded from its ``.npz`` file as the product does, then one report per
  window or subgroup, each timed;
* ``ingest``: the product's ``ingest.ingest`` on a real database (SQLite in the work
  directory, migrated before timing): read, validate (types, ranges, ids, direct
  identifiers), content fingerprint, Delta append, database commit, then the state update
  that follows each commit (``storage.sync_state``), all timed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pyarrow.parquet as pq

from garant.monitoring import engine


def read_layout(parquet_path: str) -> dict:
    metadata = pq.read_schema(parquet_path).metadata or {}
    return json.loads(metadata[b"garant.benchmark"])


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _month_window(month: str) -> tuple[dt.date, dt.date]:
    year, number = (int(part) for part in month.split("-"))
    start = dt.date(year, number, 1)
    end = dt.date(year + number // 12, number % 12 + 1, 1)
    return start, end


def _spec(layout: dict) -> engine.ColumnSpec:
    return engine.ColumnSpec(
        numeric_features=tuple(layout["numeric"]),
        categorical_features=tuple(layout["categorical"]),
        groups=tuple(layout["groups"]),
    )


def _value(metric) -> float | None:
    return None if metric is None else metric.value


def _performance(h: engine.ScoreHistogram, layout: dict) -> dict:
    p = engine.performance(h, threshold=layout["threshold"], n_bins=layout["bins"])
    c = p.operating
    return {
        "count": p.n_predictions,
        "labeled": p.n_labeled,
        "prevalence": p.prevalence.value,
        "auc": p.auc.value,
        "auc_ci_low": p.auc.ci_low,
        "auc_ci_high": p.auc.ci_high,
        "sensitivity": c.sensitivity.value,
        "specificity": c.specificity.value,
        "ppv": c.ppv.value,
        "npv": c.npv.value,
        "f1": c.f1.value,
        "flag_rate": c.flag_rate.value,
        "brier": p.brier.value,
        "ece": p.calibration.ece.value,
        "calibration": [
            {"count": b.count, "mean_score": b.mean_score, "observed_rate": b.observed_rate}
            for b in p.calibration.bins
        ],
    }


def _drift(results: list[engine.Drift]) -> dict:
    out = {}
    for d in results:
        row = {
            "psi": _value(d.psi),
            "js": _value(d.js_distance),
            "missing_reference": d.missing_reference.value,
            "missing_current": d.missing_current.value,
        }
        if d.kind == "numeric":
            row.update(ks=_value(d.ks), wasserstein=_value(d.wasserstein))
        else:
            row.update(chi2=_value(d.chi2), chi2_dof=d.chi2_dof)
        out[d.name] = row
    return out


def full_report(counts: engine.Counts, layout: dict) -> dict:
    """Every figure of the metric set, from the aggregated counts."""
    reference = counts.window(_date(layout["reference"][0]), _date(layout["reference"][1]))
    current = counts.window(_date(layout["current"][0]), _date(layout["current"][1]))
    report: dict = {
        "overall": _performance(counts.score_histogram(), layout),
        "halves": {
            "reference": _performance(reference.score_histogram(), layout),
            "current": _performance(current.score_histogram(), layout),
        },
        "months": {
            month: _performance(counts.window(*_month_window(month)).score_histogram(), layout)
            for month in layout["months"]
        },
        "subgroups": {},
        "drift": {"current": _drift(engine.drift_report(reference, current, layout["bins"]))},
    }
    for column in layout["groups"]:
        for (value,), h in counts.score_histograms_by((column,)).items():
            report["subgroups"][f"{column}={value}"] = _performance(h, layout)
        # gaps and ratios to the largest group (part of the engine's subgroup table)
        engine.subgroup_report(counts, (column,), threshold=layout["threshold"])
    for month in layout["drift_months"]:
        window = counts.window(*_month_window(month))
        report["drift"][month] = _drift(engine.drift_report(reference, window, layout["bins"]))
    report["missing"] = {}
    for name in layout["numeric"] + layout["categorical"]:
        h = counts.value_histogram(name)
        report["missing"][name] = h.missing / (h.n + h.missing) if h.n + h.missing else None
    report["volume"] = {
        f"{v.period_start:%Y-%m}": v.count for v in engine.volume_report(counts, "month")
    }
    return report


def _headline(report: dict) -> dict:
    overall = report["overall"]
    return {
        "auc": overall["auc"],
        "auc_ci": [overall["auc_ci_low"], overall["auc_ci_high"]],
        "brier": overall["brier"],
        "sensitivity": overall["sensitivity"],
        "score_psi": report["drift"]["current"]["score"]["psi"],
        "score_ks": report["drift"]["current"]["score"]["ks"],
        "month_auc": [p["auc"] for p in report["months"].values()],
        "subgroup_sensitivity": {k: p["sensitivity"] for k, p in report["subgroups"].items()},
    }


def cold(parquet_path: str) -> dict:
    """The full report from the raw Parquet file, timed from the path to the last figure."""
    layout = read_layout(parquet_path)
    started = time.perf_counter()
    counts = engine.aggregate(parquet_path, _spec(layout), quantum=layout["quantum"], unit="month")
    aggregated = time.perf_counter()
    report = full_report(counts, layout)
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "stages": {"aggregate": aggregated - started, "metrics": finished - aggregated},
        "report": report,
        **_headline(report),
    }


def warm_reports(layout: dict) -> list[tuple[str, tuple[dt.date, dt.date], dict]]:
    """The windows and subgroups a user may ask for: (name, [start, end), subgroup filter)."""
    year = (_date(layout["reference"][0]), _date(layout["current"][1]))
    half = (_date(layout["current"][0]), _date(layout["current"][1]))
    last = _month_window(layout["months"][-1])
    november = _month_window(layout["months"][-2])
    week = (november[0] + dt.timedelta(days=9), november[0] + dt.timedelta(days=16))
    quarter = (_month_window(layout["months"][-3])[0], last[1])
    return [
        ("whole year", year, {}),
        ("current half-year", half, {}),
        (f"month {layout['months'][-2]}", november, {}),
        (f"week from {week[0]:%d/%m/%Y}", week, {}),
        ("site CH-Est, current half-year", half, {"site": "CH-Est"}),
        (
            f"site CHU-Sud, month {layout['months'][-4]}",
            _month_window(layout["months"][-4]),
            {"site": "CHU-Sud"},
        ),
        ("age band 85+, last quarter", quarter, {"age_band": "85+"}),
    ]


def _window_report(
    counts: engine.Counts, reference: engine.Counts, layout: dict, subgroups: bool = True
) -> dict:
    """What the dashboard shows for one window: performance, drift, subgroups, volume.

    A report narrowed to one subgroup has no subgroup table (and the engine keeps feature
    counts for the whole population only, so its drift is the score's).
    """
    perf = _performance(counts.score_histogram(), layout)
    drift = _drift(engine.drift_report(reference, counts, layout["bins"]))
    for column in layout["groups"] if subgroups else ():
        engine.subgroup_report(counts, (column,), threshold=layout["threshold"])
    engine.volume_report(counts, "day")
    return {"performance": perf, "drift": drift}


def warm(parquet_path: str, workdir: str) -> dict:
    """The state built once and saved (not timed), loaded, then each report timed on its own."""
    layout = read_layout(parquet_path)
    started = time.perf_counter()
    state = os.path.join(workdir, "state.npz")
    engine.aggregate(parquet_path, _spec(layout), quantum=layout["quantum"]).save(state)
    build = time.perf_counter() - started
    counts = engine.load(state)
    reference = counts.window(_date(layout["reference"][0]), _date(layout["reference"][1]))
    _window_report(counts.window(*_month_window(layout["months"][0])), reference, layout)  # warm-up
    times, first = {}, None
    for name, (start, end), where in warm_reports(layout):
        began = time.perf_counter()
        window = counts.window(start, end)
        base = reference
        if where:
            window, base = window.where(**where), reference.where(**where)
        result = _window_report(window, base, layout, subgroups=not where)
        times[name] = time.perf_counter() - began
        first = first or result
    return {
        "seconds": max(times.values()),
        "reports": times,
        "build_seconds": build,
        "auc": first["performance"]["auc"],
        "sensitivity": first["performance"]["sensitivity"],
        "score_psi": first["drift"]["score"]["psi"],
    }


def _django(workdir: str) -> None:
    os.environ["GARANT_DATA_DIR"] = workdir
    os.environ["GARANT_MONITORING_DIR"] = os.path.join(workdir, "monitoring")
    os.environ.pop("DATABASE_URL", None)  # the embedded SQLite of the work directory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "garant.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _feed(layout: dict):
    from garant.core.audit import audit_context
    from garant.core.models import Establishment, EstablishmentGroup
    from garant.monitoring.models import Feed
    from garant.registry.models import AISystem

    with audit_context(source="command"):
        group = EstablishmentGroup.objects.create(name="GCS du banc d'essai", short_name="GCS")
        establishment = Establishment.objects.create(group=group, code="chu", name="CHU")
        system = AISystem.objects.create(
            establishment=establishment,
            name="Score de sepsis (banc d'essai)",
            intended_purpose="Alerte précoce",
            solution_type="S1",
            domain="D1",
            modality="M1",
        )
        return Feed.objects.create(
            ai_system=system,
            name="benchmark",
            slug="benchmark",
            model_version_column="",
            feature_columns=layout["numeric"],
            categorical_columns=layout["categorical"],
            subgroup_columns=layout["groups"],
            operating_threshold=layout["threshold"],
            quantum=layout["quantum"],
        )


def ingest(parquet_path: str, workdir: str) -> dict:
    """The product's ingestion of the file's predictions, state update included, timed."""
    _django(workdir)  # not timed: a server has its database already
    from garant.core.audit import audit_context
    from garant.monitoring import ingest as ingestion
    from garant.monitoring import storage
    from garant.monitoring.models import IngestBatch

    feed = _feed(read_layout(parquet_path))
    stages = {}
    started = last = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        stages[name] = now - last
        last = now

    raw = ingestion.read_file(parquet_path)
    stage("read")
    with audit_context(source="command"):
        # autocommit: the batch commits inside, then its state update runs (on_commit)
        original = storage.sync_state
        timings = {}

        def timed_sync(*args):
            begun = time.perf_counter()
            result = original(*args)
            timings["state"] = time.perf_counter() - begun
            return result

        storage.sync_state = timed_sync
        try:
            batch = ingestion.ingest(feed, "predictions", raw, IngestBatch.Source.CLI)
        finally:
            storage.sync_state = original
    stage("validate, fingerprint, Delta append, commit, state")
    stages["of which state update"] = timings.get("state")
    state = storage.counts(feed)
    counted = int(state.score_histogram().totals.sum())
    return {
        "seconds": time.perf_counter() - started,
        "rows": batch.rows,
        "counted_in_state": counted,
        "stages": stages,
    }
