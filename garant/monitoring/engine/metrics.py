"""Performance metrics derived from the counts per (quantised score, outcome).

Notation used in the docstrings, for one window (or subgroup):

* the distinct quantised scores ``s_1 < s_2 < … < s_m`` (``s_i = q_i × quantum``);
* ``pos_i`` and ``neg_i``: predictions with score ``s_i`` whose outcome is positive (1)
  or negative (0); predictions whose outcome is not yet known are left out of every metric
  below except the flag rate;
* ``P = Σ pos_i``, ``N = Σ neg_i``.

Because the scores are quantised before counting, every metric here is *exact* for the
quantised scores: the same number scikit-learn would give on the per-row quantised scores,
up to the order of floating-point summation (see docs/monitoring-engine.md).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from . import results as r
from .counts import ScoreHistogram

DELONG_METHOD = "DeLong (1988) : variance exacte, intervalle de Wald à {level} borné à [0, 1]"


def _labeled_total(h: ScoreHistogram) -> tuple[int, int]:
    return int(h.positives.sum()), int(h.negatives.sum())


def _reason_two_classes(h: ScoreHistogram) -> str | None:
    """Why a metric needing both classes is undefined, or None when it is defined."""
    positives, negatives = _labeled_total(h)
    if h.totals.sum() == 0:
        return r.EMPTY_WINDOW
    if positives + negatives == 0:
        return r.NO_OUTCOME
    if positives == 0 or negatives == 0:
        return r.ONE_CLASS
    return None


def prevalence(h: ScoreHistogram) -> r.Metric:
    """Share of positive outcomes among predictions whose outcome is known: ``P / (P + N)``."""
    positives, negatives = _labeled_total(h)
    reason = r.EMPTY_WINDOW if h.totals.sum() == 0 else r.NO_OUTCOME
    return r.Metric.ratio(positives, positives + negatives, reason)


def _placements(h: ScoreHistogram) -> tuple[np.ndarray, np.ndarray]:
    """Twice the placement counts of each distinct score.

    ``2 × (#negatives below s_i) + neg_i`` for a positive at ``s_i`` (a tie counts one half),
    and ``2 × (#positives above s_i) + pos_i`` for a negative at ``s_i``. Kept doubled so that
    they stay integers.
    """
    negatives_below = np.cumsum(h.negatives) - h.negatives
    positives_above = h.positives.sum() - np.cumsum(h.positives)
    return 2 * negatives_below + h.negatives, 2 * positives_above + h.positives


def roc_auc(h: ScoreHistogram, confidence: float = 0.95) -> r.AUC:
    """Exact ROC AUC with ties (Mann–Whitney) and its DeLong confidence interval.

    ``AUC = U / (P × N)`` with ``U = Σ_i pos_i × (Σ_{j<i} neg_j + neg_i / 2)``: the probability
    that a positive scores above a negative, ties counting one half. ``2U`` is an integer,
    computed exactly, and the division is correctly rounded.

    DeLong's variance uses the placement values: ``V10(s) = (#neg below s + #neg at s / 2) / N``
    for each positive and ``V01(s) = (#pos above s + #pos at s / 2) / P`` for each negative.
    They are constant within a group of tied scores, so they are computed from the counts:
    ``S10 = Σ_i pos_i (V10(s_i) − AUC)² / (P − 1)``, ``S01 = Σ_i neg_i (V01(s_i) − AUC)² / (N − 1)``,
    ``Var = S10 / P + S01 / N``; the interval is ``AUC ± z × √Var`` bounded to [0, 1].
    """
    method = DELONG_METHOD.format(level=f"{confidence * 100:g} %")
    reason = _reason_two_classes(h)
    if reason:
        return r.AUC(None, None, None, confidence, method, reason, reason)
    positives, negatives = _labeled_total(h)
    twice_below, twice_above = _placements(h)
    twice_u = int(np.dot(h.positives, twice_below))
    auc = twice_u / (2 * positives * negatives)
    if positives < 2 or negatives < 2:
        return r.AUC(auc, None, None, confidence, method, None, r.TOO_FEW_PER_CLASS)
    v10 = twice_below / (2 * negatives)
    v01 = twice_above / (2 * positives)
    s10 = float(np.dot(h.positives, (v10 - auc) ** 2)) / (positives - 1)
    s01 = float(np.dot(h.negatives, (v01 - auc) ** 2)) / (negatives - 1)
    variance = s10 / positives + s01 / negatives
    half_width = NormalDist().inv_cdf(0.5 + confidence / 2) * variance**0.5
    low, high = max(0.0, auc - half_width), min(1.0, auc + half_width)
    return r.AUC(auc, low, high, confidence, method, variance=variance)


def confusion(h: ScoreHistogram, threshold: float) -> r.Confusion:
    """Confusion counts and rates at ``threshold``: a prediction is flagged iff score >= threshold.

    With ``TP`` = flagged positives, ``FP`` = flagged negatives, ``TN`` = not-flagged negatives,
    ``FN`` = not-flagged positives (outcome known):
    sensitivity = TP / P, specificity = TN / N, PPV = TP / (TP + FP), NPV = TN / (TN + FN),
    FPR = FP / N, FNR = FN / P, F1 = 2TP / (2TP + FP + FN).
    The flag rate is flagged / all predictions of the window, *including* those whose outcome
    is not yet known (it measures the alert load).
    """
    flagged = h.values >= threshold
    tp, fp = int(h.positives[flagged].sum()), int(h.negatives[flagged].sum())
    fn, tn = int(h.positives[~flagged].sum()), int(h.negatives[~flagged].sum())
    n_flagged, n_all = int(h.totals[flagged].sum()), int(h.totals.sum())
    no_outcome = r.EMPTY_WINDOW if n_all == 0 else r.NO_OUTCOME
    no_positive = r.NO_POSITIVE if tp + fn + fp + tn else no_outcome
    no_negative = r.NO_NEGATIVE if tp + fn + fp + tn else no_outcome
    return r.Confusion(
        threshold=threshold,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        flagged=n_flagged,
        n_predictions=n_all,
        sensitivity=r.Metric.ratio(tp, tp + fn, no_positive),
        specificity=r.Metric.ratio(tn, tn + fp, no_negative),
        ppv=r.Metric.ratio(tp, tp + fp, r.NO_FLAG if tp + fn + fp + tn else no_outcome),
        npv=r.Metric.ratio(tn, tn + fn, r.NO_NOT_FLAGGED if tp + fn + fp + tn else no_outcome),
        fpr=r.Metric.ratio(fp, fp + tn, no_negative),
        fnr=r.Metric.ratio(fn, fn + tp, no_positive),
        f1=r.Metric.ratio(2 * tp, 2 * tp + fp + fn, no_positive),
        flag_rate=r.Metric.ratio(n_flagged, n_all, r.EMPTY_WINDOW),
    )


def brier(h: ScoreHistogram) -> r.Metric:
    """Brier score: mean squared difference between score and outcome, outcome known.

    ``Σ_i [pos_i (1 − s_i)² + neg_i s_i²] / (P + N)``, exact for the quantised scores.
    """
    positives, negatives = _labeled_total(h)
    if positives + negatives == 0:
        return r.Metric.undefined(r.EMPTY_WINDOW if h.totals.sum() == 0 else r.NO_OUTCOME)
    s = h.values
    total = float(np.dot(h.positives, (1.0 - s) ** 2) + np.dot(h.negatives, s**2))
    return r.Metric(total / (positives + negatives))


def observed_expected(h: ScoreHistogram) -> r.Metric:
    """Observed / expected ratio (calibration-in-the-large), outcome known.

    ``Σ_i pos_i / Σ_i (pos_i + neg_i) × s_i``: the number of positive outcomes over the
    number the scores predict. 1 when the scores are calibrated on average, below 1 when
    they overstate the risk (fewer events than predicted), above 1 when they understate it.
    """
    positives, negatives = _labeled_total(h)
    if positives + negatives == 0:
        return r.Metric.undefined(r.EMPTY_WINDOW if h.totals.sum() == 0 else r.NO_OUTCOME)
    expected = float(np.dot(h.positives + h.negatives, h.values))
    if expected == 0:
        return r.Metric.undefined(r.NO_EXPECTED_EVENT)
    return r.Metric(positives / expected)


def calibration_bin_index(h: ScoreHistogram, n_bins: int) -> np.ndarray:
    """Equal-width bin of each quantised score: ``floor(s × n_bins)``, score 1 in the last bin.

    Computed on the integer ``q`` (``s = q / k`` with ``k = 1 / quantum``), so a score lying
    exactly on an edge (0.3 with 10 bins) always goes to the upper bin.
    """
    inverse_quantum = round(1 / h.quantum)
    return np.minimum(h.q * n_bins // inverse_quantum, n_bins - 1)


def calibration(h: ScoreHistogram, n_bins: int = 10) -> r.Calibration:
    """Reliability bins and expected calibration error (ECE), outcome known.

    In bin ``b``: ``n_b`` predictions, mean score ``ŝ_b = Σ s × count / n_b`` and observed
    rate ``o_b = positives_b / n_b``. ``ECE = Σ_b (n_b / n) × |ŝ_b − o_b|`` over non-empty bins.
    """
    labeled = h.positives + h.negatives
    index = calibration_bin_index(h, n_bins)
    counts = np.bincount(index, weights=labeled, minlength=n_bins).astype(np.int64)
    positives = np.bincount(index, weights=h.positives, minlength=n_bins).astype(np.int64)
    score_sums = np.bincount(index, weights=labeled * h.values, minlength=n_bins)
    bins, ece_terms, n = [], [], int(labeled.sum())
    for b in range(n_bins):
        count = int(counts[b])
        mean = float(score_sums[b] / count) if count else None
        observed = int(positives[b]) / count if count else None
        bins.append(
            r.CalibrationBin(b / n_bins, (b + 1) / n_bins, count, int(positives[b]), mean, observed)
        )
        if count:
            ece_terms.append(count / n * abs(mean - observed))
    if n == 0:
        ece = r.Metric.undefined(r.EMPTY_WINDOW if h.totals.sum() == 0 else r.NO_OUTCOME)
    else:
        ece = r.Metric(float(sum(ece_terms)))
    return r.Calibration(bins, ece)


def performance(
    h: ScoreHistogram,
    threshold: float,
    thresholds: tuple[float, ...] = (),
    n_bins: int = 10,
    confidence: float = 0.95,
) -> r.Performance:
    """Every performance metric of one window, at the operating ``threshold`` and others."""
    positives, negatives = _labeled_total(h)
    n_predictions = int(h.totals.sum())
    return r.Performance(
        quantum=h.quantum,
        n_predictions=n_predictions + h.missing_score,
        n_missing_score=h.missing_score,
        n_labeled=positives + negatives,
        n_positive=positives,
        n_negative=negatives,
        n_unlabeled=int(h.unlabeled.sum()),
        prevalence=prevalence(h),
        auc=roc_auc(h, confidence),
        brier=brier(h),
        calibration=calibration(h, n_bins),
        operating=confusion(h, threshold),
        thresholds=[confusion(h, t) for t in thresholds],
    )
