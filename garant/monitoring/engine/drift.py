"""Drift of the score and of the features between a reference window and the current one.

Every statistic is computed from two count distributions (value -> count), never from rows:

* numeric variables (the score, numeric features): PSI and Jensen–Shannon distance on
  bins anchored on the reference deciles, Kolmogorov–Smirnov statistic and Wasserstein-1
  distance on the exact distributions;
* categorical features: PSI and Jensen–Shannon distance over categories, chi-square test of
  homogeneity (reference vs current) with its p-value;
* missing-value rates of both windows.
"""

from __future__ import annotations

import math

import numpy as np

from . import results as r
from .counts import Counts, ScoreHistogram, ValueHistogram

PSI_EPSILON = 1e-4
"""Floor applied to each bin's share in PSI so that an empty bin gives a finite value: an
empty bin counts as if it held 0.01 % of the window."""

SCORE = "score"


def score_values(h: ScoreHistogram) -> ValueHistogram:
    """The distribution of the quantised score over all predictions (outcome known or not)."""
    return ValueHistogram(SCORE, h.values, h.totals, h.missing_score)


def mean(h: ValueHistogram) -> float | None:
    """Mean of a numeric variable's non-missing values: ``Σ v × count / Σ count`` (None if
    there is none)."""
    if h.n == 0:
        return None
    return float(np.dot(h.values.astype(float), h.counts) / h.n)


def reference_edges(reference: ValueHistogram, n_bins: int = 10) -> np.ndarray:
    """Upper edges of the reference-anchored bins: the reference deciles (for 10 bins).

    Edge ``k`` is the smallest value ``x`` with ``F_ref(x) >= k / n_bins`` (the
    "inverted CDF" quantile); equal edges (heavy ties) are merged. The bins are
    ``(-inf, e_1], (e_1, e_2], …, (e_last, +inf)``.
    """
    cumulative = np.cumsum(reference.counts)
    targets = np.arange(1, n_bins) * cumulative[-1] / n_bins
    edges = reference.values[np.searchsorted(cumulative, targets, side="left")]
    return np.unique(edges)


def _aligned(reference: ValueHistogram, current: ValueHistogram):
    """Both count vectors over the union of their distinct values (sorted)."""
    values = np.union1d(reference.values, current.values)
    ref = np.zeros(len(values), dtype=np.int64)
    cur = np.zeros(len(values), dtype=np.int64)
    ref[np.searchsorted(values, reference.values)] = reference.counts
    cur[np.searchsorted(values, current.values)] = current.counts
    return values, ref, cur


def _binned(reference: ValueHistogram, current: ValueHistogram, n_bins: int):
    edges = reference_edges(reference, n_bins)
    count = len(edges) + 1

    def bin_counts(h: ValueHistogram) -> np.ndarray:
        index = np.searchsorted(edges, h.values, side="left")
        return np.bincount(index, weights=h.counts, minlength=count).astype(np.int64)

    labels = [f"<= {edges[0]:g}"] if len(edges) else ["tout"]
    labels += [f"({lo:g}, {hi:g}]" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels += [f"> {edges[-1]:g}"] if len(edges) else []
    return labels, bin_counts(reference), bin_counts(current)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray, epsilon=PSI_EPSILON) -> float:
    """Population stability index: ``Σ_b (c_b − r_b) × ln(c_b / r_b)``.

    ``r_b`` and ``c_b`` are the shares of the reference and current windows in bin ``b``,
    each floored at ``epsilon``. Usual reading: < 0.1 stable, 0.1–0.25 moderate shift,
    > 0.25 major shift.
    """
    ref = np.maximum(reference_counts / reference_counts.sum(), epsilon)
    cur = np.maximum(current_counts / current_counts.sum(), epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_distance(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen–Shannon distance (natural log): ``√((KL(p‖m) + KL(q‖m)) / 2)``, ``m = (p+q)/2``.

    ``p`` and ``q`` are the bin shares of the two windows; 0 means identical, the maximum is
    ``√ln 2``. Same definition as ``scipy.spatial.distance.jensenshannon``.
    """
    p = reference_counts / np.sum(reference_counts, axis=0)
    q = current_counts / np.sum(current_counts, axis=0)
    m = (p + q) / 2.0

    def kl(a: np.ndarray) -> float:
        positive = a > 0
        return float(np.sum(a[positive] * np.log(a[positive] / m[positive])))

    return math.sqrt(max((kl(p) + kl(q)) / 2.0, 0.0))


def ks_statistic(ref: np.ndarray, cur: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic: ``max_x |F_ref(x) − F_cur(x)|``.

    ``ref`` and ``cur`` are counts aligned on the sorted union of distinct values; the
    empirical distribution functions are the cumulative counts divided by the totals. The
    maximum is taken on the integers ``|C_ref × n_cur − C_cur × n_ref|`` and divided once by
    ``n_ref × n_cur``: the exact rational, correctly rounded.
    """
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    difference = np.cumsum(ref) * n_cur - np.cumsum(cur) * n_ref
    return int(np.max(np.abs(difference))) / (n_ref * n_cur)


def wasserstein(values: np.ndarray, ref: np.ndarray, cur: np.ndarray) -> float:
    """Wasserstein-1 (earth mover's) distance: ``∫ |F_ref(x) − F_cur(x)| dx``.

    Both distribution functions are steps on the sorted distinct ``values``, so the integral is
    ``Σ_i |F_ref(v_i) − F_cur(v_i)| × (v_{i+1} − v_i)``, in the unit of the variable.
    """
    difference = np.cumsum(ref)[:-1] / ref.sum() - np.cumsum(cur)[:-1] / cur.sum()
    return float(np.sum(np.abs(difference) * np.diff(values)))


def chi2_homogeneity(ref: np.ndarray, cur: np.ndarray) -> tuple[float, int]:
    """Chi-square statistic of the 2 × k table (reference, current) × categories, and its dof.

    ``χ² = Σ (O − E)² / E`` with ``E = row total × column total / grand total``; categories
    absent from both windows are dropped; ``dof = k − 1``. No continuity correction.
    """
    keep = (ref + cur) > 0
    observed = np.vstack([ref[keep], cur[keep]]).astype(float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    return float(np.sum((observed - expected) ** 2 / expected)), int(keep.sum()) - 1


def chi2_sf(statistic: float, dof: int) -> float:
    """P(χ²_dof >= statistic): the regularised upper incomplete gamma ``Q(dof/2, statistic/2)``.

    Series for ``x < a + 1``, Lentz continued fraction otherwise (Numerical Recipes, §6.2),
    to about 1e-14 relative precision.
    """
    a, x = dof / 2.0, statistic / 2.0
    if x <= 0:
        return 1.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-17:
            n += 1
            term *= x / n
            total += term
        return max(0.0, 1.0 - total * math.exp(log_prefactor))
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-16:
            break
    return math.exp(log_prefactor) * h


def _missing(h: ValueHistogram) -> r.Metric:
    return r.Metric.ratio(h.missing, h.n + h.missing, r.EMPTY_WINDOW)


def _undefined_reason(reference: ValueHistogram, current: ValueHistogram) -> str | None:
    if reference.n == 0:
        return r.EMPTY_REFERENCE
    if current.n == 0:
        return r.EMPTY_WINDOW
    return None


def _common_fields(reference: ValueHistogram, current: ValueHistogram, kind: str) -> dict:
    """What every drift result reports, defined or not: sizes and missing rates."""
    return dict(
        name=current.name,
        kind=kind,
        n_reference=reference.n,
        n_current=current.n,
        missing_reference=_missing(reference),
        missing_current=_missing(current),
        psi_epsilon=PSI_EPSILON,
    )


def numeric_drift(reference: ValueHistogram, current: ValueHistogram, n_bins: int = 10) -> r.Drift:
    """PSI, Jensen–Shannon, KS and Wasserstein-1 of a numeric variable, and missing rates."""
    common = _common_fields(reference, current, "numeric")
    reason = _undefined_reason(reference, current)
    if reason:
        none = r.Metric.undefined(reason)
        return r.Drift(**common, psi=none, js_distance=none, ks=none, wasserstein=none)
    labels, ref_bins, cur_bins = _binned(reference, current, n_bins)
    values, ref, cur = _aligned(reference, current)
    return r.Drift(
        **common,
        psi=r.Metric(psi(ref_bins, cur_bins)),
        js_distance=r.Metric(js_distance(ref_bins, cur_bins)),
        ks=r.Metric(ks_statistic(ref, cur)),
        wasserstein=r.Metric(wasserstein(values, ref, cur)),
        bins=[
            r.DriftBin(*row)
            for row in zip(labels, ref_bins.tolist(), cur_bins.tolist(), strict=True)
        ],
    )


def categorical_drift(reference: ValueHistogram, current: ValueHistogram) -> r.Drift:
    """PSI and Jensen–Shannon over categories, chi-square homogeneity test, missing rates."""
    common = _common_fields(reference, current, "categorical")
    reason = _undefined_reason(reference, current)
    if reason:
        none = r.Metric.undefined(reason)
        return r.Drift(**common, psi=none, js_distance=none, chi2=none, chi2_pvalue=none)
    categories, ref, cur = _aligned(reference, current)
    statistic, dof = chi2_homogeneity(ref, cur)
    if dof < 1:
        chi2 = pvalue = r.Metric.undefined(r.ONE_CATEGORY)
    else:
        chi2, pvalue = r.Metric(statistic), r.Metric(chi2_sf(statistic, dof))
    return r.Drift(
        **common,
        psi=r.Metric(psi(ref, cur)),
        js_distance=r.Metric(js_distance(ref, cur)),
        chi2=chi2,
        chi2_dof=max(dof, 0),
        chi2_pvalue=pvalue,
        bins=[
            r.DriftBin(str(c), int(a), int(b)) for c, a, b in zip(categories, ref, cur, strict=True)
        ],
    )


def drift(reference: ValueHistogram, current: ValueHistogram, n_bins: int = 10) -> r.Drift:
    if current.categorical:
        return categorical_drift(reference, current)
    return numeric_drift(reference, current, n_bins)


def drift_report(reference: Counts, current: Counts, n_bins: int = 10) -> list[r.Drift]:
    """Drift of the score and of every aggregated feature, reference window -> current."""
    report = [
        numeric_drift(
            score_values(reference.score_histogram()),
            score_values(current.score_histogram()),
            n_bins,
        )
    ]
    for name in current.feature_names:
        report.append(drift(reference.value_histogram(name), current.value_histogram(name), n_bins))
    return report
