"""Subgroup metrics, with gaps and ratios to the reference (largest) group.

Each subgroup (e.g. each site × sex, or each model version) gets the same performance
metrics as the whole window, the Brier score and the calibration error (ECE) included, and
its AUC keeps its DeLong confidence interval (``SubgroupRow.auc``).
The reference group is the largest uncensored group by number of predictions. For every
metric, ``gap = value − reference value`` and ``ratio = value / reference value``; a ratio
outside the tolerance (default [0.8, 1.25], the "four-fifths rule" and its inverse) is
flagged. Groups with fewer than ``min_count`` predictions (default 10) are censored: only
their number of predictions is reported, to protect small groups and avoid noise.
"""

from __future__ import annotations

from collections.abc import Callable

from . import results as r
from .counts import Counts, ScoreHistogram
from .metrics import brier, calibration, confusion, prevalence, roc_auc

DEFAULT_TOLERANCE = (0.8, 1.25)
DEFAULT_MIN_COUNT = 10


def _metrics(h: ScoreHistogram, threshold: float, auc: r.AUC | None = None) -> dict:
    c = confusion(h, threshold)
    auc = auc or roc_auc(h)
    return {
        "prevalence": prevalence(h),
        "auc": r.Metric(auc.value, auc.reason),
        "sensitivity": c.sensitivity,
        "specificity": c.specificity,
        "ppv": c.ppv,
        "npv": c.npv,
        "fpr": c.fpr,
        "fnr": c.fnr,
        "flag_rate": c.flag_rate,
        "brier": brier(h),
        "ece": calibration(h).ece,
    }


def _compare(value: r.Metric, reference: r.Metric, operation: Callable) -> r.Metric:
    if value.value is None:
        return r.Metric.undefined(r.GROUP_UNDEFINED)
    if reference.value is None or (operation is _divide and reference.value == 0):
        return r.Metric.undefined(r.REFERENCE_UNDEFINED)
    return r.Metric(operation(value.value, reference.value))


def _divide(a: float, b: float) -> float:
    return a / b


def _subtract(a: float, b: float) -> float:
    return a - b


def subgroup_report(
    counts: Counts,
    columns: tuple[str, ...],
    threshold: float,
    tolerance: tuple[float, float] = DEFAULT_TOLERANCE,
    min_count: int = DEFAULT_MIN_COUNT,
) -> r.SubgroupReport:
    """Metrics of each subgroup of ``columns`` at ``threshold``, compared to the largest group."""
    by_group = counts.score_histograms_by(columns)
    keys = [dict(zip(columns, key, strict=True)) for key in by_group]
    histograms = list(by_group.values())
    sizes = [int(h.totals.sum()) + h.missing_score for h in histograms]
    uncensored = [i for i, size in enumerate(sizes) if size >= min_count]
    reference = max(uncensored, key=lambda i: sizes[i], default=None)
    reference_metrics = _metrics(histograms[reference], threshold) if reference is not None else {}
    rows = []
    for i, (key, h) in enumerate(zip(keys, histograms, strict=True)):
        if sizes[i] < min_count:
            rows.append(r.SubgroupRow(key, sizes[i], censored=True))
            continue
        auc = roc_auc(h)
        metrics = _metrics(h, threshold, auc)
        ratios = {m: _compare(v, reference_metrics[m], _divide) for m, v in metrics.items()}
        rows.append(
            r.SubgroupRow(
                key,
                sizes[i],
                censored=False,
                metrics=metrics,
                auc=auc,
                gaps={m: _compare(v, reference_metrics[m], _subtract) for m, v in metrics.items()},
                ratios=ratios,
                flags={
                    m: None if q.value is None else not tolerance[0] <= q.value <= tolerance[1]
                    for m, q in ratios.items()
                },
            )
        )
    return r.SubgroupReport(
        columns=tuple(columns),
        reference_key=keys[reference] if reference is not None else None,
        threshold=threshold,
        tolerance=tolerance,
        min_count=min_count,
        rows=rows,
    )
