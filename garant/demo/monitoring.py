"""A fictional prediction feed for the demo's in-house sepsis model, loaded through the real
ingestion path so that the monitoring tab, dashboard and alerts have something to show.

120 days of hourly-style predictions ending yesterday, ~8 % prevalence, outcomes known for
most of them within the 48-hour window; in the last 30 days the scores drift upwards and the
model loses discrimination at the smallest site, which the alert rules pick up.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from garant.monitoring import ingest
from garant.monitoring.models import AlertRule, Feed

DAYS = 120
PER_DAY = 150
DRIFT_DAYS = 30
SEED = 2026


def synthetic_feed(today: dt.date) -> tuple[pa.Table, pa.Table]:
    """(predictions, outcomes) in the demo feed's column layout, reproducible for a date."""
    rng = np.random.default_rng(SEED)
    n = DAYS * PER_DAY
    start = dt.datetime.combine(today - dt.timedelta(days=DAYS), dt.time(), tzinfo=dt.UTC)
    seconds = np.sort(rng.integers(0, DAYS * 86400, n))
    stamps = [start + dt.timedelta(seconds=int(s)) for s in seconds]
    drifted = seconds >= (DAYS - DRIFT_DAYS) * 86400
    site = rng.choice(["Hôpital Nord", "Hôpital Sud", "Clinique Est"], n, p=[0.55, 0.35, 0.10])
    label = rng.random(n) < 0.08
    # the model separates cases well, except at the small site once the drift starts
    signal = np.where(drifted & (site == "Clinique Est"), 0.05, 0.32)
    score = np.clip(rng.beta(2, 7, n) + signal * label + 0.10 * drifted, 0, 1)
    ids = [f"sep-{i:06d}" for i in range(n)]
    predictions = pa.table(
        {
            "prediction_id": ids,
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "patient_id": [f"SEJ{int(i):06d}" for i in rng.integers(0, n // 6, n)],
            "score": np.round(score, 4),
            "model_version": np.where(seconds > 60 * 86400, "2.1", "2.0").tolist(),
            "age": np.round(rng.normal(64, 16, n).clip(18, 101)).tolist(),
            "lactate": np.round(rng.gamma(2.0, 0.9, n) + 0.6 * label + 0.3 * drifted, 1).tolist(),
            "service": rng.choice(["urgences", "réanimation", "médecine", "chirurgie"], n).tolist(),
            "site": site.tolist(),
            "sexe": rng.choice(["F", "M"], n).tolist(),
        }
    )
    # outcomes arrive within the 48-hour window, except for the most recent two days
    delay = rng.uniform(2, 40, n)
    known = (rng.random(n) < 0.95) & (seconds < (DAYS - 2) * 86400)
    outcomes = pa.table(
        {
            "prediction_id": [i for i, k in zip(ids, known, strict=True) if k],
            "outcome": label[known].astype(int).tolist(),
            "outcome_time": pa.array(
                [
                    t + dt.timedelta(hours=float(h))
                    for t, h, k in zip(stamps, delay, known, strict=True)
                    if k
                ],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    return predictions, outcomes


def load_demo_feed(system, today: dt.date) -> Feed:
    """Create the feed of `system`, its alert rules, and ingest the synthetic batches."""
    feed = Feed.objects.create(
        ai_system=system,
        name="Score de sepsis horaire",
        slug="sepsis-horaire",
        feature_columns=["age", "lactate"],
        categorical_columns=["service"],
        subgroup_columns=["site", "sexe"],
        operating_threshold=0.35,
        outcome_window_hours=48,
    )
    for kind, threshold, extra in (
        (AlertRule.Kind.AUC_BELOW, 0.75, {}),
        (AlertRule.Kind.PSI_ABOVE, 0.2, {}),
        (AlertRule.Kind.SUBGROUP_RATIO_OUTSIDE, 0.8, {"subgroup_column": "site"}),
        (AlertRule.Kind.VOLUME_DROP, 0.5, {}),
    ):
        AlertRule.objects.create(feed=feed, kind=kind, threshold=threshold, **extra)
    predictions, outcomes = synthetic_feed(today)
    ingest.ingest(feed, "predictions", predictions, "cli")
    ingest.ingest(feed, "outcomes", outcomes, "cli")
    return feed
