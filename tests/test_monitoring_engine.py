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
    crossings=(("site", "sex"),),
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


def test_observed_expected_ratio(table, counts):
    s, y = labeled(table)
    # the number of events over the sum of the predicted probabilities (outcome known)
    assert close(engine.observed_expected(counts.score_histogram()).value, y.sum() / s.sum())


def test_observed_expected_is_undefined_without_outcome_or_expected_event(counts):
    empty = counts.window(dt.date(1990, 1, 1), dt.date(1990, 1, 2)).score_histogram()
    assert engine.observed_expected(empty).reason == r.EMPTY_WINDOW
    zero = engine.aggregate(
        pa.table(
            {"timestamp": [dt.datetime(2024, 1, 1)] * 2, "score": [0.0, 0.0], "label": [0, 1]}
        ),
        engine.ColumnSpec(),
    ).score_histogram()
    assert engine.observed_expected(zero).reason == r.NO_EXPECTED_EVENT


def test_mean_of_a_feature(table, counts):
    age = table["age"].to_numpy(zero_copy_only=False)
    assert close(engine.mean(counts.value_histogram("age")), float(np.nanmean(age)))
    empty = counts.window(dt.date(1990, 1, 1), dt.date(1990, 1, 2))
    assert engine.mean(empty.value_histogram("age")) is None


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


# --- Drift -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shifted():
    """A current window whose score, feature and category distributions moved."""
    return make_table(n=3000, seed=8, prevalence=0.3)


def column(table: pa.Table, name: str) -> np.ndarray:
    values = table[name].to_numpy(zero_copy_only=False)
    return values if values.dtype == object else values[~np.isnan(values.astype(float))]


def reference_bin_counts(ref: np.ndarray, cur: np.ndarray, n_bins: int = 10):
    """Independent per-row computation of the reference-decile bins."""
    levels = np.arange(1, n_bins) / n_bins
    edges = np.unique(np.quantile(ref, levels, method="inverted_cdf"))
    count = len(edges) + 1

    def bins(x):
        return np.bincount(np.searchsorted(edges, x, side="left"), minlength=count)

    return bins(ref), bins(cur)


@pytest.mark.parametrize("name", ["score", "creatinine", "age"])
def test_numeric_drift_matches_scipy(table, shifted, counts, name):
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp, wasserstein_distance

    current_counts = engine.aggregate(shifted, SPEC)
    report = {d.name: d for d in engine.drift_report(counts, current_counts)}
    d = report[name]
    ref, cur = column(table, name), column(shifted, name)
    assert (d.n_reference, d.n_current) == (len(ref), len(cur))
    # Same cumulative counts divided by the same totals: identical to the last digit.
    assert d.ks.value == ks_2samp(ref, cur).statistic
    # Same integral, summed over distinct values (engine) vs over all rows (SciPy).
    assert close(d.wasserstein.value, wasserstein_distance(ref, cur))
    ref_bins, cur_bins = reference_bin_counts(ref, cur)
    assert [b.reference for b in d.bins] == ref_bins.tolist()
    assert [b.current for b in d.bins] == cur_bins.tolist()
    assert close(d.js_distance.value, jensenshannon(ref_bins, cur_bins))
    p = np.maximum(ref_bins / ref_bins.sum(), 1e-4)
    q = np.maximum(cur_bins / cur_bins.sum(), 1e-4)
    assert close(d.psi.value, float(np.sum((q - p) * np.log(q / p))))
    assert d.psi.value > 0


def test_missing_rates(table, shifted, counts):
    d = next(
        d for d in engine.drift_report(counts, engine.aggregate(shifted, SPEC)) if d.name == "age"
    )
    missing = np.isnan(table["age"].to_numpy(zero_copy_only=False)).sum()
    assert d.missing_reference.value == missing / table.num_rows
    assert d.missing_reference.numerator == missing


def test_categorical_drift_matches_scipy(table, counts):
    from scipy.stats import chi2_contingency

    current_table = make_table(n=2000, seed=9)
    services = current_table["service"].to_numpy(zero_copy_only=False)
    services[: len(services) // 3] = "urgences"  # the case mix moved towards emergencies
    current_table = current_table.set_column(5, "service", pa.array(services))
    report = engine.drift_report(counts, engine.aggregate(current_table, SPEC))
    d = next(d for d in report if d.name == "service")
    categories = sorted(set(column(table, "service")))
    observed = np.array(
        [[np.sum(column(t, "service") == c) for c in categories] for t in (table, current_table)]
    )
    statistic, pvalue, dof, _ = chi2_contingency(observed, correction=False)
    assert [b.label for b in d.bins] == categories
    assert close(d.chi2.value, statistic) and d.chi2_dof == dof
    assert math.isclose(d.chi2_pvalue.value, pvalue, rel_tol=1e-9)  # series vs SciPy's igamc
    p, q = observed[0] / observed[0].sum(), observed[1] / observed[1].sum()
    assert close(d.psi.value, float(np.sum((q - p) * np.log(q / p))))


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 30, 101])
def test_chi2_survival_function_matches_scipy(dof):
    from scipy.stats import chi2

    from garant.monitoring.engine.drift import chi2_sf

    for statistic in [0.0, 0.01, 0.5, 1.0, dof / 2, dof, dof + 3.7, 2 * dof + 10, 60.0, 250.0]:
        expected = chi2.sf(statistic, dof)
        assert math.isclose(chi2_sf(statistic, dof), expected, rel_tol=1e-9, abs_tol=1e-300)


def test_drift_of_an_empty_window_is_undefined(counts):
    empty = counts.window(dt.date(2030, 1, 1))
    for d in engine.drift_report(counts, empty):
        assert d.psi.value is None and d.psi.reason == r.EMPTY_WINDOW
        assert d.js_distance.value is None
    for d in engine.drift_report(empty, counts):
        assert d.psi.reason == r.EMPTY_REFERENCE


def test_one_category_has_no_chi2(counts):
    one = make_table(n=50, seed=6)
    one = one.set_column(5, "service", pa.array(["urgences"] * 50))
    only = engine.aggregate(one, SPEC)
    d = next(d for d in engine.drift_report(only, only) if d.name == "service")
    assert d.chi2.value is None and d.chi2.reason == r.ONE_CATEGORY
    assert d.psi.value == 0.0 and d.js_distance.value == 0.0


# --- Volume ------------------------------------------------------------------------------


def volume_table(per_day: list[int]) -> pa.Table:
    base = dt.datetime(2024, 3, 4, 12)
    stamps = [base + dt.timedelta(days=d) for d, n in enumerate(per_day) for _ in range(n)]
    n = len(stamps)
    return pa.table(
        {"timestamp": stamps, "score": np.full(n, 0.5), "label": pa.nulls(n, pa.int8())}
    )


def test_volume_per_day_with_gaps_and_anomalies():
    counts = engine.aggregate(volume_table([100, 110, 0, 90, 40, 400]), engine.ColumnSpec())
    points = engine.volume_report(counts, "day")
    assert [p.count for p in points] == [100, 110, 0, 90, 40, 400]
    assert points[0].anomaly is None and points[0].reason == r.NO_PREVIOUS_PERIOD
    assert [p.anomaly for p in points[1:]] == [False, True, False, True, True]
    assert points[4].baseline_median == 95.0  # median of 100, 110, 0, 90
    weeks = engine.volume_report(counts, "week")
    assert [(p.period_start, p.count) for p in weeks] == [(dt.date(2024, 3, 4), 740)]
    months = counts.volume("month")
    assert months == [(dt.date(2024, 3, 1), 740)]


def test_volume_of_nothing_is_empty():
    counts = engine.aggregate(volume_table([]), engine.ColumnSpec())
    assert engine.volume_report(counts) == []


# --- Subgroups ---------------------------------------------------------------------------


def test_subgroups_ratios_to_the_largest_group_and_censoring(table, counts):
    report = engine.subgroup_report(counts, ("site",), threshold=0.4, min_count=25)
    rows = {row.key["site"]: row for row in report.rows}
    sites = column(table, "site")
    assert report.reference_key == {"site": "A"}
    assert {k: row.n_predictions for k, row in rows.items()} == {
        k: int(np.sum(sites == k)) for k in "ABCD"
    }
    assert rows["D"].censored and rows["D"].n_predictions < 25 and rows["D"].metrics == {}
    reference = rows["A"].metrics
    for site in "ABC":
        row = rows[site]
        expected = engine.performance(counts.where(site=site).score_histogram(), threshold=0.4)
        assert row.metrics["sensitivity"] == expected.operating.sensitivity
        assert row.metrics["auc"].value == expected.auc.value
        for name, metric in row.metrics.items():
            assert row.ratios[name].value == metric.value / reference[name].value
            assert row.gaps[name].value == metric.value - reference[name].value
            assert row.flags[name] == (not 0.8 <= row.ratios[name].value <= 1.25)
    assert all(ratio.value == 1.0 for ratio in rows["A"].ratios.values())


def test_subgroups_carry_brier_ece_and_the_auc_interval(table, counts):
    """Issue 11: each subgroup's Brier score, calibration error and AUC confidence
    interval, checked like the overall ones (scikit-learn, per-row, direct DeLong)."""
    report = engine.subgroup_report(counts, ("site",), threshold=0.4, min_count=25)
    sites = column(table, "site")
    s_all, y_all = table["score"].to_numpy(), table["label"].to_numpy(zero_copy_only=False)
    for row in report.rows:
        if row.censored:
            assert row.auc is None and "brier" not in row.metrics
            continue
        site = row.key["site"]
        known = (sites == site) & ~np.isnan(y_all.astype(float))
        s, y = s_all[known], y_all[known].astype(int)
        assert close(row.metrics["brier"].value, brier_score_loss(y, s))
        index = np.minimum(np.round(s / QUANTUM).astype(np.int64) * 10 // 10000, 9)
        ece = sum(
            (index == b).mean() * abs(s[index == b].mean() - y[index == b].mean())
            for b in range(10)
            if (index == b).any()
        )
        assert close(row.metrics["ece"].value, ece)
        expected_auc, variance = delong_by_placements(s, y)
        assert close(row.auc.value, expected_auc) and close(row.auc.variance, variance)
        assert close(row.auc.value, roc_auc_score(y, s))
        half = 1.959963984540054 * math.sqrt(variance)
        assert close(row.auc.ci_low, max(0.0, expected_auc - half))
        assert close(row.auc.ci_high, min(1.0, expected_auc + half))
        assert row.metrics["auc"].value == row.auc.value
        reference = next(r_ for r_ in report.rows if r_.key == report.reference_key)
        assert (
            row.ratios["brier"].value
            == row.metrics["brier"].value / reference.metrics["brier"].value
        )


def test_subgroup_flags_a_disparity_and_undefined_ratios():
    n = 200
    site = np.array(["A"] * 120 + ["B"] * 80)
    label = np.tile([0, 1], n // 2).astype(np.int8)
    score = np.where(site == "A", np.where(label == 1, 0.9, 0.1), 0.9)  # B: everyone flagged
    data = pa.table(
        {
            "timestamp": [dt.datetime(2024, 1, 1)] * n,
            "score": score,
            "label": label,
            "site": site,
        }
    )
    counts = engine.aggregate(data, engine.ColumnSpec(groups=("site",)))
    report = engine.subgroup_report(counts, ("site",), threshold=0.5)
    b = next(row for row in report.rows if row.key == {"site": "B"})
    assert b.metrics["flag_rate"].value == 1.0 and b.ratios["flag_rate"].value == 2.0
    assert b.flags["flag_rate"] is True and b.flags["sensitivity"] is False
    assert b.ratios["fpr"].value is None and b.ratios["fpr"].reason == r.REFERENCE_UNDEFINED
    assert b.flags["fpr"] is None


def test_subgroups_by_default_censor_below_ten(counts):
    report = engine.subgroup_report(counts, ("site", "sex"), threshold=0.4)
    assert report.min_count == 10 and report.tolerance == (0.8, 1.25)
    for row in report.rows:
        assert row.censored == (row.n_predictions < 10)
