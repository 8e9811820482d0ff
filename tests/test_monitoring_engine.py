"""Exactness of the monitoring engine against scikit-learn and SciPy on the same data.

The engine quantises scores to ``q = round(score / quantum)`` and derives every metric from
counts. The data below are *already* quantised (scores are ``q × quantum``, many rounded to
2 decimals to create ties), so the per-row references (scikit-learn, SciPy) see exactly the
scores the engine counts, and the results must agree to the last digit.

``==`` is used where both sides perform the same floating-point operations on the same
integers (a ratio of two counts, a difference of two ratios). ``math.isclose(rel_tol=1e-12)``
is used where the mathematics is identical but the floating-point summation order differs
(per-row sums in the reference vs. sums of per-score counts in the engine: e.g. Brier,
AUC by trapezoids vs. by Mann–Whitney). No test touches the database.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.metrics import (
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from garant.monitoring import engine
from garant.monitoring.engine import results as r

QUANTUM = 1e-4
START = dt.date(2024, 1, 1)
SPEC = engine.ColumnSpec(
    numeric_features=("age", "creatinine"),
    categorical_features=("service",),
    groups=("site", "sex"),
)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def make_table(n: int = 4000, seed: int = 0, days: int = 10, prevalence: float = 0.15):
    """Random predictions with ties, a few unknown outcomes, features and subgroups."""
    rng = np.random.default_rng(seed)
    label = rng.random(n) < prevalence
    raw = np.clip(rng.normal(0.3 + 0.25 * label, 0.18), 0, 1)
    coarse = rng.random(n) < 0.5  # half the scores rounded to 2 decimals: many ties
    q = np.where(coarse, np.round(raw * 100) * 100, np.round(raw / QUANTUM)).astype(np.int64)
    score = q * QUANTUM
    known = rng.random(n) < 0.9
    base = dt.datetime(START.year, START.month, START.day)
    seconds = rng.integers(0, days * 86400, n)
    age = rng.integers(18, 95, n).astype(float)
    age[rng.random(n) < 0.03] = np.nan
    creatinine = np.round(rng.lognormal(0, 0.4, n), 1)
    services = np.array(["urgences", "cardiologie", "réanimation", "pneumologie"])
    table = pa.table(
        {
            "timestamp": pa.array([base + dt.timedelta(seconds=int(s)) for s in seconds]),
            "score": score,
            "label": pa.array(label.astype(np.int8), mask=~known),
            "age": pa.array(age, from_pandas=True),
            "creatinine": creatinine,
            "service": services[rng.integers(0, 4, n)],
            "site": np.array(["A", "B", "C", "D"])[rng.choice(4, n, p=[0.5, 0.3, 0.195, 0.005])],
            "sex": np.array(["F", "M"])[rng.integers(0, 2, n)],
        }
    )
    return table


@pytest.fixture(scope="module")
def table():
    return make_table()


@pytest.fixture(scope="module")
def counts(table):
    return engine.aggregate(table, SPEC, quantum=QUANTUM)


def labeled(table):
    """The per-row (score, label) of predictions whose outcome is known."""
    label = table["label"].to_numpy(zero_copy_only=False)
    known = ~np.isnan(label.astype(float))
    return table["score"].to_numpy()[known], label[known].astype(int)


def test_counts_keep_every_prediction(table, counts):
    h = counts.score_histogram()
    assert int(h.totals.sum()) == table.num_rows
    y = table["label"].to_numpy(zero_copy_only=False).astype(float)
    assert int(h.positives.sum()) == int(np.nansum(y == 1))
    assert int(h.unlabeled.sum()) == int(np.isnan(y).sum())
    assert np.all(np.diff(h.q) > 0)


def test_auc_matches_sklearn_with_ties(table, counts):
    s, y = labeled(table)
    auc = engine.roc_auc(counts.score_histogram())
    # trapezoids (sklearn) vs Mann–Whitney (engine): same number, different summation.
    assert close(auc.value, roc_auc_score(y, s))
    assert "DeLong" in auc.method and auc.ci_low < auc.value < auc.ci_high


def delong_by_placements(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Direct O(P × N) DeLong (1988): placement value of every case against every other."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    variance = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    return auc, variance


def test_delong_variance_matches_direct_placements():
    small = make_table(n=300, seed=3)
    s, y = labeled(small)
    auc = engine.roc_auc(engine.aggregate(small, SPEC, quantum=QUANTUM).score_histogram())
    expected_auc, expected_variance = delong_by_placements(s, y)
    assert close(auc.value, expected_auc)
    assert close(auc.variance, expected_variance)
    half = 1.959963984540054 * math.sqrt(expected_variance)
    assert close(auc.ci_low, max(0.0, expected_auc - half))
    assert close(auc.ci_high, min(1.0, expected_auc + half))


@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.3, 0.4137, 0.5, 1.0])
def test_confusion_matches_sklearn(table, counts, threshold):
    s, y = labeled(table)
    predicted = (s >= threshold).astype(int)
    c = engine.confusion(counts.score_histogram(), threshold)
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    assert (c.tp, c.fp, c.tn, c.fn) == (tp, fp, tn, fn)
    # Ratios of the same two integers: identical to the last digit.
    assert c.sensitivity.value == recall_score(y, predicted, zero_division=np.nan)
    assert c.specificity.value == recall_score(1 - y, 1 - predicted)
    if tp + fn:
        assert c.fnr.value == fn / (fn + tp)
    assert c.fpr.value == fp / (fp + tn)
    if tp + fp:
        assert c.ppv.value == precision_score(y, predicted)
        assert c.f1.value == f1_score(y, predicted)
    else:
        assert c.ppv.value is None and c.ppv.reason == r.NO_FLAG
    if tn + fn:
        assert c.npv.value == precision_score(1 - y, 1 - predicted)
    all_scores = table["score"].to_numpy()
    assert c.flag_rate.value == int((all_scores >= threshold).sum()) / len(all_scores)


def test_brier_matches_sklearn(table, counts):
    s, y = labeled(table)
    # per-row mean (sklearn) vs sum over distinct scores (engine): summation order differs.
    assert close(engine.brier(counts.score_histogram()).value, brier_score_loss(y, s))


def test_calibration_bins_and_ece(table, counts):
    s, y = labeled(table)
    cal = engine.calibration(counts.score_histogram(), n_bins=10)
    index = np.minimum(np.round(s / QUANTUM).astype(np.int64) * 10 // 10000, 9)
    ece = 0.0
    for b, bin_ in enumerate(cal.bins):
        members = index == b
        assert bin_.count == members.sum()
        assert bin_.positives == y[members].sum()
        if bin_.count:
            assert close(bin_.mean_score, s[members].mean())
            assert bin_.observed_rate == y[members].mean()
            ece += members.mean() * abs(s[members].mean() - y[members].mean())
    assert close(cal.ece.value, ece)


def test_calibration_matches_sklearn_away_from_edges():
    from sklearn.calibration import calibration_curve

    table = make_table(seed=5)
    s, y = labeled(table)
    on_edge = np.round(s / QUANTUM).astype(np.int64) % 1000 == 0
    table = table.filter(pa.array(~np.isin(table["score"].to_numpy(), s[on_edge])))
    s, y = labeled(table)
    cal = engine.calibration(engine.aggregate(table, SPEC).score_histogram())
    observed, predicted = calibration_curve(y, s, n_bins=10, strategy="uniform")
    ours = [b for b in cal.bins if b.count]
    assert [b.observed_rate for b in ours] == list(observed)
    assert all(close(b.mean_score, p) for b, p in zip(ours, predicted, strict=True))


def performance(counts: engine.Counts) -> engine.Performance:
    return engine.performance(counts.score_histogram(), threshold=0.4, thresholds=(0.2, 0.6))


def test_merge_of_two_windows_equals_the_union(table, counts):
    """Counts add up, so every metric of the merge is identical (==) to that of the union."""
    middle = START + dt.timedelta(days=4)
    first = engine.aggregate(table, SPEC, end=middle)
    second = engine.aggregate(table, SPEC, start=middle)
    assert performance(first + second) == performance(counts)
    assert performance(counts.window(end=middle)) == performance(first)
    assert performance(counts.window(start=middle)) == performance(second)


def test_merge_of_two_sites_equals_the_union(table):
    a = engine.aggregate(table.filter(pc.equal(table["site"], "A")), SPEC)
    b = engine.aggregate(table.filter(pc.not_equal(table["site"], "A")), SPEC)
    whole = engine.aggregate(table, SPEC)
    assert performance(a + b) == performance(whole)
    assert performance(whole.where(site="A")) == performance(a)


def test_empty_window_is_undefined_not_an_error(counts):
    empty = counts.window(dt.date(2030, 1, 1), dt.date(2030, 2, 1))
    p = engine.performance(empty.score_histogram(), threshold=0.5)
    assert p.n_predictions == 0
    assert p.prevalence.value is None and p.prevalence.reason == r.EMPTY_WINDOW
    assert p.auc.value is None and p.auc.reason == r.EMPTY_WINDOW
    assert p.brier.value is None and p.calibration.ece.value is None
    assert p.operating.sensitivity.value is None and p.operating.flag_rate.value is None


def test_one_class_only_is_undefined():
    table = make_table(n=200, seed=1).drop_columns(["label"])
    table = table.append_column("label", pa.array(np.zeros(200, dtype=np.int8)))
    p = engine.performance(engine.aggregate(table, SPEC).score_histogram(), threshold=0.5)
    assert p.auc.value is None and p.auc.reason == r.ONE_CLASS
    assert p.prevalence.value == 0.0
    assert p.operating.sensitivity.value is None
    assert p.operating.sensitivity.reason == r.NO_POSITIVE
    assert p.operating.specificity.defined and p.brier.defined


def test_no_known_outcome_counts_volume_only():
    table = make_table(n=100, seed=2).drop_columns(["label"])
    table = table.append_column("label", pa.nulls(100, pa.int8()))
    p = engine.performance(engine.aggregate(table, SPEC).score_histogram(), threshold=0.5)
    assert p.n_predictions == 100 and p.n_labeled == 0
    assert p.auc.reason == r.NO_OUTCOME and p.prevalence.reason == r.NO_OUTCOME
    assert p.operating.flag_rate.defined


def test_auc_without_interval_when_a_class_has_one_case():
    h = engine.ScoreHistogram(
        QUANTUM, np.array([1000, 5000]), np.array([0, 1]), np.array([3, 0]), np.array([0, 0])
    )
    auc = engine.roc_auc(h)
    assert auc.value == 1.0 and auc.ci_low is None and auc.ci_reason == r.TOO_FEW_PER_CLASS


def test_bad_labels_and_scores_are_rejected():
    table = make_table(n=50, seed=4)
    bad = table.set_column(2, "label", pa.array(np.full(50, 2, dtype=np.int8)))
    with pytest.raises(ValueError, match="0, 1 or null"):
        engine.aggregate(bad, SPEC)
    bad = table.set_column(1, "score", pa.array(np.full(50, 1.5)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        engine.aggregate(bad, SPEC)
