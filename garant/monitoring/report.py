"""The monitoring report of one feed over a period: a plain, JSON-serialisable dict.

Used by the dashboard (`dashboard.py`), by ``garant monitor report`` (JSON or a standalone
HTML evidence document) and by anyone scripting against it. Everything is computed from the
feed's monitoring state (``storage.counts(feed)``: the engine's counts per local day, kept
up to date at each ingestion), so no prediction row is read: every figure comes from counts.

Periods are calendar days of Europe/Paris (``settings.TIME_ZONE``), both bounds included:
``start=2024-03-01, end=2024-03-31`` is the whole of March. Dates are ISO strings.

Keys of the result (``REPORT_KEYS``):

* ``format``: ``"garant.monitoring.report/1"``; ``generated_at``: ISO time with offset;
* ``feed``: id, name, slug, reference (``<system id>/<slug>``), operating threshold, quantum,
  outcome window (hours), numeric / categorical features, subgroup columns;
* ``threshold``: the decision threshold of every confusion figure below (performance, series,
  ROC operating point, subgroups): the feed's operating threshold unless another was asked
  ("what if the threshold were 0.3?"); nothing is stored when one is asked;
* ``system``: id, name, establishment (code, name);
* ``period``: start, end (included), days, granularity (``day``/``week``/``month``), time zone;
  ``reference``: the drift reference window (start, end, days; default the same number of
  days just before the period) and its ``count``;
* ``model_versions``: predictions per model version in the period;
* ``outcome_window``: the feed's window (``hours``) and, among the ``outcomes`` received for
  the period's predictions, those that fell ``outside`` it and were not counted
  (``before_prediction``, ``after_window``): read from the tables' id and time columns;
* ``performance``: count, missing scores, outcomes known / positive / negative / unknown,
  prevalence, ``auc`` (value, ci_low, ci_high, confidence, method, reason, ci_reason),
  sensitivity, specificity, ppv, npv, fpr, fnr, f1, flag_rate, brier, ece, the confusion
  counts (tp, fp, tn, fn, flagged) at ``threshold``;
* ``reference_performance``: the same for the reference window (thresholds of the charts);
* ``series``: one row per period (start, end, partial): count, prevalence, auc, sensitivity,
  flag_rate, n_labeled;
* ``roc``: ``points`` = ``[threshold, fpr, tpr]`` from (0, 0) (no prediction flagged,
  threshold ``null``) to (1, 1), one point per distinct score; ``operating_point``;
  ``auc_trapezoid``; ``reason`` when undefined (one class only…);
* ``calibration``: bins (lower, upper, count, positives, mean_score, observed_rate), ``ece``;
* ``drift``: one row per variable (score first): kind, counts, missing rates, psi,
  js_distance, ks, wasserstein (numeric) or chi2, chi2_dof, chi2_pvalue (categorical), bins;
* ``subgroups``: one report per declared subgroup column (reference group, tolerance,
  min_count, rows with n, censored, metrics — those of ``performance``' confusion figures,
  prevalence, auc, brier and ece —, ``auc`` with its DeLong interval, ratios, gaps, flags);
  ``model_version`` may be one of the columns;
* ``volume``: predictions per whole period (a partial first or last period, clipped by the
  dates, is left out so that it is not taken for a fall) with ``baseline_median`` (median of
  the previous periods), ``anomaly`` (``drop``/``rise`` or ``null``) and ``reason``.

A metric is ``{"value": float | null, "reason": str | null}`` (plus ``numerator`` and
``denominator`` for proportions): an undefined value is ``null`` with the engine's French
reason; no NaN or infinity.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from garant.monitoring import engine, storage
from garant.monitoring.engine.counts import PERIODS, next_period, period_start

FORMAT = "garant.monitoring.report/1"
REPORT_KEYS = (
    "format",
    "generated_at",
    "feed",
    "threshold",
    "system",
    "period",
    "reference",
    "model_versions",
    "outcome_window",
    "performance",
    "reference_performance",
    "series",
    "roc",
    "calibration",
    "drift",
    "subgroups",
    "volume",
)


def metric(m: engine.Metric | None) -> dict | None:
    """An engine Metric as a dict: value (or null) and reason, and its integer counts."""
    if m is None:
        return None
    result = {"value": m.value, "reason": m.reason}
    if m.numerator is not None:
        result.update(numerator=m.numerator, denominator=m.denominator)
    return result


def _auc(a: engine.AUC) -> dict:
    return {
        "value": a.value,
        "ci_low": a.ci_low,
        "ci_high": a.ci_high,
        "confidence": a.confidence,
        "method": a.method,
        "reason": a.reason,
        "ci_reason": a.ci_reason,
    }


def performance_dict(p: engine.Performance) -> dict:
    c = p.operating
    return {
        "count": p.n_predictions,
        "missing_score": p.n_missing_score,
        "n_labeled": p.n_labeled,
        "n_positive": p.n_positive,
        "n_negative": p.n_negative,
        "n_unlabeled": p.n_unlabeled,
        "prevalence": metric(p.prevalence),
        "auc": _auc(p.auc),
        "sensitivity": metric(c.sensitivity),
        "specificity": metric(c.specificity),
        "ppv": metric(c.ppv),
        "npv": metric(c.npv),
        "fpr": metric(c.fpr),
        "fnr": metric(c.fnr),
        "f1": metric(c.f1),
        "flag_rate": metric(c.flag_rate),
        "brier": metric(p.brier),
        "ece": metric(p.calibration.ece),
        "confusion": {"tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn, "flagged": c.flagged},
    }


def roc_points(h: engine.ScoreHistogram) -> list[list[float | None]]:
    """``[threshold, fpr, tpr]`` for every distinct score, from (0, 0) to (1, 1).

    At threshold ``s_i`` (flagged iff score >= s_i): TP = positives with a score >= s_i, FP the
    same for negatives, FPR = FP / N, TPR = TP / P. Tied positives and negatives move both
    coordinates at once, so the trapezoids under these points add up to the Mann–Whitney AUC
    of the engine (a tie counts one half). Empty when either class is absent.
    """
    positives, negatives = int(h.positives.sum()), int(h.negatives.sum())
    if positives == 0 or negatives == 0:
        return []
    points: list[list[float | None]] = [[None, 0.0, 0.0]]
    tp = fp = 0
    for i in range(len(h.q) - 1, -1, -1):
        pos, neg = int(h.positives[i]), int(h.negatives[i])
        if pos == 0 and neg == 0:
            continue  # only unknown outcomes at this score: the point would repeat
        tp, fp = tp + pos, fp + neg
        points.append([float(h.values[i]), fp / negatives, tp / positives])
    return points


def trapezoid_area(points: list[list[float | None]]) -> float:
    """Area under the ``[threshold, fpr, tpr]`` points (trapezoidal rule)."""
    return sum(
        (b[1] - a[1]) * (a[2] + b[2]) / 2 for a, b in zip(points[:-1], points[1:], strict=True)
    )


def _drift(d: engine.Drift) -> dict:
    return {
        "name": d.name,
        "kind": d.kind,
        "n_reference": d.n_reference,
        "n_current": d.n_current,
        "missing_reference": metric(d.missing_reference),
        "missing_current": metric(d.missing_current),
        "psi": metric(d.psi),
        "js_distance": metric(d.js_distance),
        "ks": metric(d.ks),
        "wasserstein": metric(d.wasserstein),
        "chi2": metric(d.chi2),
        "chi2_dof": d.chi2_dof,
        "chi2_pvalue": metric(d.chi2_pvalue),
        "psi_epsilon": d.psi_epsilon,
        "bins": [
            {"label": b.label, "reference": b.reference, "current": b.current} for b in d.bins
        ],
    }


def _subgroups(s: engine.SubgroupReport) -> dict:
    return {
        "columns": list(s.columns),
        "reference_key": s.reference_key,
        "threshold": s.threshold,
        "tolerance": list(s.tolerance),
        "min_count": s.min_count,
        "rows": [
            {
                "key": row.key,
                "n": row.n_predictions,
                "censored": row.censored,
                "metrics": {k: metric(v) for k, v in row.metrics.items()},
                "auc": _auc(row.auc) if row.auc is not None else None,
                "ratios": {k: metric(v) for k, v in row.ratios.items()},
                "gaps": {k: metric(v) for k, v in row.gaps.items()},
                "flags": row.flags,
            }
            for row in s.rows
        ],
    }


def periods(start: dt.date, end: dt.date, by: str) -> list[tuple[dt.date, dt.date, bool]]:
    """The calendar periods meeting ``[start, end]``, clipped to it: (first day, last day,
    partial)."""
    result, current = [], period_start(start, by)
    while current <= end:
        following = next_period(current, by)
        first, last = max(current, start), min(following - dt.timedelta(days=1), end)
        result.append((first, last, first != current or last != following - dt.timedelta(days=1)))
        current = following
    return result


def _series_row(counts: engine.Counts, first: dt.date, last: dt.date, partial: bool, threshold):
    h = counts.window(first, last + dt.timedelta(days=1)).score_histogram()
    c = engine.confusion(h, threshold)
    auc = engine.roc_auc(h)
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "partial": partial,
        "count": int(h.totals.sum()) + h.missing_score,
        "n_labeled": int(h.positives.sum() + h.negatives.sum()),
        "prevalence": metric(engine.prevalence(h)),
        "auc": {"value": auc.value, "reason": auc.reason},
        "sensitivity": metric(c.sensitivity),
        "flag_rate": metric(c.flag_rate),
    }


def build_report(
    feed,
    start: dt.date,
    end: dt.date,
    reference: tuple[dt.date, dt.date] | None = None,
    by: str = "week",
    threshold: float | None = None,
) -> dict:
    """The report of ``feed`` over the days ``start`` to ``end`` (both included, local days).

    ``reference`` (both days included) is the drift reference window; by default the same
    number of days just before ``start``. ``by`` is the granularity of the time series and of
    the volume: ``day``, ``week`` (from Monday) or ``month``. ``threshold`` (in [0, 1]) replaces
    the feed's operating threshold for this report only.
    """
    if by not in PERIODS:
        raise ValueError(f"by must be one of {PERIODS}")
    if threshold is None:
        threshold = feed.operating_threshold
    elif not 0 <= threshold <= 1:  # NaN included
        raise ValueError("threshold must be in [0, 1]")
    if end < start:
        raise ValueError("end must not be before start")
    days = (end - start).days + 1
    if reference is None:
        reference = (start - dt.timedelta(days=days), start - dt.timedelta(days=1))
    ref_start, ref_end = reference
    if ref_end < ref_start:
        raise ValueError("reference end must not be before its start")
    counts = storage.counts(feed)
    after = end + dt.timedelta(days=1)
    current = counts.window(start, after)
    previous = counts.window(ref_start, ref_end + dt.timedelta(days=1))
    histogram = current.score_histogram()
    perf = engine.performance(histogram, threshold=threshold)
    reference_perf = engine.performance(previous.score_histogram(), threshold=threshold)

    points = roc_points(histogram)
    roc = {
        "points": points,
        "auc_trapezoid": trapezoid_area(points) if points else None,
        "operating_point": None,
        "reason": perf.auc.reason,
    }
    if points:
        roc["operating_point"] = {
            "threshold": threshold,
            "fpr": perf.operating.fpr.value,
            "tpr": perf.operating.sensitivity.value,
        }

    versions = current.value_histogram(storage.MODEL_VERSION)
    model_versions = sorted(
        (
            {"version": v, "count": int(n)}
            for v, n in zip(versions.values.tolist(), versions.counts.tolist(), strict=True)
        ),
        key=lambda v: (-v["count"], str(v["version"])),
    )

    # volume anomalies on whole periods only: a partial first or last week is not a fall
    whole = [(a, b) for a, b, partial in periods(start, end, by) if not partial]
    volume = []
    if whole:
        volume = engine.volume_report(
            current.window(whole[0][0], whole[-1][1] + dt.timedelta(days=1)), by
        )
    return {
        "format": FORMAT,
        "generated_at": timezone.localtime().isoformat(timespec="seconds"),
        "feed": {
            "id": feed.pk,
            "name": feed.name,
            "slug": feed.slug,
            "reference": feed.reference,
            "operating_threshold": feed.operating_threshold,
            "quantum": feed.quantum,
            "outcome_window_hours": feed.outcome_window_hours,
            "numeric_features": list(feed.feature_columns),
            "categorical_features": list(feed.categorical_columns),
            "subgroup_columns": list(feed.subgroup_columns),
        },
        "threshold": threshold,
        "system": {
            "id": feed.ai_system_id,
            "name": feed.ai_system.name,
            "establishment": {
                "code": feed.ai_system.establishment.code,
                "name": feed.ai_system.establishment.name,
            },
        },
        "period": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": days,
            "granularity": by,
            "time_zone": settings.TIME_ZONE,
        },
        "reference": {
            "start": ref_start.isoformat(),
            "end": ref_end.isoformat(),
            "days": (ref_end - ref_start).days + 1,
            "count": reference_perf.n_predictions,
        },
        "model_versions": model_versions,
        "outcome_window": storage.outcomes_outside_window(
            feed, storage._local_midnight(start), storage._local_midnight(after)
        ),
        "performance": performance_dict(perf),
        "reference_performance": performance_dict(reference_perf),
        "series": [
            _series_row(current, a, b, partial, threshold)
            for a, b, partial in periods(start, end, by)
        ],
        "roc": roc,
        "calibration": {
            "bins": [
                {
                    "lower": b.lower,
                    "upper": b.upper,
                    "count": b.count,
                    "positives": b.positives,
                    "mean_score": b.mean_score,
                    "observed_rate": b.observed_rate,
                }
                for b in perf.calibration.bins
            ],
            "ece": metric(perf.calibration.ece),
        },
        "drift": [_drift(d) for d in engine.drift_report(previous, current)],
        "subgroups": [
            _subgroups(engine.subgroup_report(current, (column,), threshold))
            for column in feed.subgroup_columns
        ],
        "volume": [
            {
                "start": v.period_start.isoformat(),
                "count": v.count,
                "baseline_median": v.baseline_median,
                "anomaly": _anomaly(v),
                "reason": v.reason,
            }
            for v in volume
        ],
    }


def _anomaly(v: engine.VolumePoint) -> str | None:
    if not v.anomaly:
        return None
    return "drop" if v.count < v.baseline_median else "rise"
