"""Property-based tests (Hypothesis) of the monitoring engine on awkward data.

Hypothesis draws small prediction tables whose scores come from a handful of values (heavy
ties), with unknown outcomes, NaN and null scores, missing feature values, days with nothing
and subgroups of one row, then checks, for every table drawn:

* the engine against scikit-learn (``roc_auc_score``, ``confusion_matrix``,
  ``brier_score_loss``) and SciPy within 1e-12 where the metric is defined, and an undefined
  value with its reason (never NaN, never an exception) where it is not: one-class windows,
  empty windows, no known outcome;
* NaN and null scores: counted as predictions without a score, excluded from every metric;
* subgroups below ``min_count`` censored, a one-row subgroup included;
* counts of two parts merged by addition give exactly (``==``) the figures of their union.

Scores are drawn as ``q × 1e-4`` so the per-row references see exactly the scores the engine
counts. ``derandomize=True``: the same examples on every run (reproducible in CI). No test
touches the database.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, confusion_matrix, roc_auc_score

from garant.monitoring import engine
from garant.monitoring.engine import results as r
from garant.monitoring.engine.drift import score_values

QUANTUM = 1e-4
SCALE = 10_000  # 1 / QUANTUM
BASE = dt.datetime(2024, 1, 1, 6)
SPEC = engine.ColumnSpec(
    numeric_features=("age",), categorical_features=("service",), groups=("site",)
)
NAN = -1  # a drawn score of NAN becomes float('nan'); None stays null


def examples(n: int) -> settings:
    """Hypothesis settings: ``n`` examples, the same ones on every run (derandomize), no
    deadline (the machine may be busy)."""
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


LABELS = (0, 1, None)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


# --- data --------------------------------------------------------------------------------


@st.composite
def tables(
    draw, min_rows: int = 0, max_rows: int = 40, labels=LABELS, missing_scores: bool = True
) -> pa.Table:
    """A table of predictions whose scores take at most five distinct values (heavy ties)."""
    levels = draw(st.lists(st.integers(0, SCALE), min_size=1, max_size=5, unique=True))
    scores = levels + ([NAN, None] if missing_scores and draw(st.booleans()) else [])
    row = st.tuples(
        st.integers(0, 9),  # day (days without predictions happen)
        st.integers(0, 23),  # hour
        st.sampled_from(scores),
        st.sampled_from(labels),
        st.sampled_from(["A", "A", "A", "B", "B", "C", None]),
        st.sampled_from([30.0, 45.0, 45.0, 45.5, 80.0, math.nan]),
        st.sampled_from(["urgences", "urgences", "réanimation", "cardiologie", None]),
    )
    return build(draw(st.lists(row, min_size=min_rows, max_size=max_rows)))


def build(rows) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7
    day, hour, q, label, site, age, service = columns
    score = [None if v is None else math.nan if v == NAN else v * QUANTUM for v in q]
    return pa.table(
        {
            "timestamp": pa.array(
                [BASE + dt.timedelta(days=d, hours=h) for d, h in zip(day, hour, strict=True)],
                pa.timestamp("us"),
            ),
            "score": pa.array(score, pa.float64()),
            "label": pa.array(label, pa.int8()),
            "site": pa.array(site, pa.string()),
            "age": pa.array(age, pa.float64()),
            "service": pa.array(service, pa.string()),
        }
    )


def aggregate(table: pa.Table) -> engine.Counts:
    return engine.aggregate(table, SPEC, quantum=QUANTUM)


def scored(table: pa.Table) -> np.ndarray:
    """Mask of the rows that carry a score (not null, not NaN)."""
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    return ~np.isnan(score)


def labeled(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (score, outcome) of the rows with a score and a known outcome."""
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    label = table["label"].to_numpy(zero_copy_only=False).astype(float)
    keep = ~np.isnan(score) & ~np.isnan(label)
    return score[keep], label[keep].astype(int)


def assert_well_formed(result) -> None:
    """No NaN or infinity anywhere; every undefined Metric says why."""
    if isinstance(result, float):
        assert math.isfinite(result), result
    elif isinstance(result, r.Metric):
        assert_well_formed(result.value)
        if result.value is None:
            assert result.reason, result
    elif dataclasses.is_dataclass(result):
        for f in dataclasses.fields(result):
            assert_well_formed(getattr(result, f.name))
    elif isinstance(result, list | tuple):
        for item in result:
            assert_well_formed(item)
    elif isinstance(result, dict):
        for item in result.values():
            assert_well_formed(item)


def assert_ratio(metric: r.Metric, numerator: int, denominator: int) -> None:
    if denominator:
        assert metric.value == numerator / denominator
        assert (metric.numerator, metric.denominator) == (numerator, denominator)
    else:
        assert metric.value is None and metric.reason


def two_class_reason(table: pa.Table) -> str | None:
    """The reason the engine must give for an AUC it cannot compute, or None."""
    _, y = labeled(table)
    if not scored(table).any():
        return r.EMPTY_WINDOW  # no prediction with a score
    if len(y) == 0:
        return r.NO_OUTCOME
    if y.min() == y.max():
        return r.ONE_CLASS
    return None


def delong_by_placements(s: np.ndarray, y: np.ndarray) -> float:
    """Direct O(P × N) DeLong variance: every positive against every negative."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    s10 = np.sum((v10 - auc) ** 2) / (len(pos) - 1)
    s01 = np.sum((v01 - auc) ** 2) / (len(neg) - 1)
    return s10 / len(pos) + s01 / len(neg)


# --- performance against scikit-learn -------------------------------------------------------


@examples(150)
@given(tables(), st.lists(st.integers(0, SCALE), max_size=3))
@example(build([(0, 0, 0, 0, "A", math.nan, None)]), [])  # features with no value at all
def test_performance_matches_sklearn_with_heavy_ties(table, extra):
    h = aggregate(table).score_histogram()
    s, y = labeled(table)
    # thresholds exactly on the tied scores, at both ends, and anywhere
    thresholds = sorted({*h.values.tolist(), 0.0, 1.0, *(q * QUANTUM for q in extra)})
    p = engine.performance(h, threshold=0.5, thresholds=tuple(thresholds))
    assert_well_formed(p)
    has_score = scored(table)
    assert p.n_predictions == table.num_rows
    assert p.n_missing_score == int((~has_score).sum())
    assert (p.n_labeled, p.n_positive, p.n_negative) == (len(y), int(y.sum()), int((1 - y).sum()))
    positives, negatives = int(y.sum()), int((1 - y).sum())
    assert_ratio(p.prevalence, positives, len(y))

    reason = two_class_reason(table)
    if reason is None:
        assert close(p.auc.value, roc_auc_score(y, s))
        if positives >= 2 and negatives >= 2:
            assert close(p.auc.variance, delong_by_placements(s, y))
            assert 0.0 <= p.auc.ci_low <= p.auc.value <= p.auc.ci_high <= 1.0
        else:
            assert p.auc.ci_low is None and p.auc.ci_reason == r.TOO_FEW_PER_CLASS
    else:
        assert p.auc.value is None and p.auc.ci_low is None and p.auc.reason == reason

    if len(y):
        assert close(p.brier.value, brier_score_loss(y, s, pos_label=1))
    else:
        assert p.brier.value is None and p.brier.reason

    all_scores = table["score"].to_numpy(zero_copy_only=False).astype(float)[has_score]
    for c in p.thresholds:
        flagged = (s >= c.threshold).astype(int)
        matrix = confusion_matrix(y, flagged, labels=[0, 1]) if len(y) else np.zeros((2, 2))
        tn, fp, fn, tp = matrix.astype(int).ravel().tolist()
        assert (c.tp, c.fp, c.tn, c.fn) == (tp, fp, tn, fn)
        assert_ratio(c.sensitivity, tp, tp + fn)
        assert_ratio(c.specificity, tn, tn + fp)
        assert_ratio(c.ppv, tp, tp + fp)
        assert_ratio(c.npv, tn, tn + fn)
        assert_ratio(c.fpr, fp, fp + tn)
        assert_ratio(c.fnr, fn, fn + tp)
        assert_ratio(c.f1, 2 * tp, 2 * tp + fp + fn)
        assert_ratio(c.flag_rate, int((all_scores >= c.threshold).sum()), len(all_scores))

    # reliability bins: floor(q × 10 / 10000) per row, 1.0 in the last bin
    index = np.minimum(np.round(s / QUANTUM).astype(np.int64) * 10 // SCALE, 9)
    ece = 0.0
    for b, bin_ in enumerate(p.calibration.bins):
        members = index == b
        assert (bin_.count, bin_.positives) == (int(members.sum()), int(y[members].sum()))
        if bin_.count:
            assert close(bin_.mean_score, s[members].mean())
            assert bin_.observed_rate == y[members].sum() / members.sum()
            ece += members.mean() * abs(s[members].mean() - y[members].mean())
        else:
            assert bin_.mean_score is None and bin_.observed_rate is None
    if len(y):
        assert close(p.calibration.ece.value, ece)
    else:
        assert p.calibration.ece.value is None


@examples(50)
@given(st.sampled_from([0, 1]), st.data())
def test_one_class_window_has_no_auc_and_no_crash(only, data):
    table = data.draw(tables(min_rows=1, labels=(only, only, None)))
    counts = aggregate(table)
    p = engine.performance(counts.score_histogram(), threshold=0.5, thresholds=(0.0, 1.0))
    assert_well_formed(p)
    s, y = labeled(table)
    assert p.auc.value is None and p.auc.ci_low is None and p.auc.ci_high is None
    assert p.auc.reason == two_class_reason(table)
    if len(y):
        assert p.auc.reason == r.ONE_CLASS
        assert p.prevalence.value == float(only)
        assert close(p.brier.value, brier_score_loss(y, s, pos_label=1))
        missing, present = (
            (p.operating.sensitivity, p.operating.specificity)
            if only == 0
            else (p.operating.specificity, p.operating.sensitivity)
        )
        assert missing.value is None
        assert missing.reason == (r.NO_POSITIVE if only == 0 else r.NO_NEGATIVE)
        assert present.defined
    report = engine.subgroup_report(counts, ("site",), threshold=0.5, min_count=1)
    assert_well_formed(report)
    for row in report.rows:
        assert row.metrics["auc"].value is None and row.metrics["auc"].reason


@examples(30)
@given(tables())
def test_empty_window_is_undefined_everywhere(table):
    counts = aggregate(table)
    empty = counts.window(dt.date(2030, 1, 1), dt.date(2030, 2, 1))
    nothing = aggregate(table.slice(0, 0))
    p = engine.performance(empty.score_histogram(), threshold=0.5, thresholds=(0.0, 1.0))
    assert p == engine.performance(nothing.score_histogram(), threshold=0.5, thresholds=(0.0, 1.0))
    assert_well_formed(p)
    assert p.n_predictions == 0
    for metric in (p.prevalence, p.brier, p.calibration.ece, p.operating.flag_rate):
        assert metric.value is None and metric.reason == r.EMPTY_WINDOW
    assert p.auc.value is None and p.auc.reason == r.EMPTY_WINDOW
    for c in (p.operating, *p.thresholds):
        for metric in (c.sensitivity, c.specificity, c.ppv, c.npv, c.fpr, c.fnr, c.f1):
            assert metric.value is None and metric.reason == r.EMPTY_WINDOW
    assert all(b.count == 0 for b in p.calibration.bins)
    for drift in engine.drift_report(counts, empty):
        assert_well_formed(drift)
        expected = r.EMPTY_REFERENCE if drift.n_reference == 0 else r.EMPTY_WINDOW
        assert drift.n_current == 0 and drift.psi.reason == expected
        assert drift.js_distance.value is None and drift.bins == []
        assert (drift.ks or drift.chi2).value is None
    for drift in engine.drift_report(empty, counts):
        assert drift.psi.value is None and drift.psi.reason == r.EMPTY_REFERENCE
    report = engine.subgroup_report(empty, ("site",), threshold=0.5)
    assert report.rows == [] and report.reference_key is None
    assert engine.volume_report(empty) == [] and engine.volume_report(nothing, "week") == []


# --- NaN scores ------------------------------------------------------------------------------


@examples(30)
@given(
    tables(missing_scores=False),
    st.lists(
        st.tuples(
            st.integers(0, 9),
            st.integers(0, 23),
            st.sampled_from([NAN, None]),
            st.sampled_from(LABELS),
            st.sampled_from(["A", "B", None]),
            st.just(50.0),
            st.just("urgences"),
        ),
        min_size=1,
        max_size=10,
    ),
)
def test_nan_scores_are_counted_as_missing_and_excluded(table, without_score):
    """Adding predictions without a score changes the counts of predictions, nothing else."""
    both = pa.concat_tables([table, build(without_score)])
    k = len(without_score)
    h_before, h_after = aggregate(table).score_histogram(), aggregate(both).score_histogram()
    before = engine.performance(h_before, 0.5, (0.0, 0.3, 1.0))
    after = engine.performance(h_after, 0.5, (0.0, 0.3, 1.0))
    assert after.n_predictions == before.n_predictions + k
    assert after.n_missing_score == before.n_missing_score + k == k
    assert after == dataclasses.replace(
        before, n_predictions=after.n_predictions, n_missing_score=after.n_missing_score
    )
    score_before = engine.numeric_drift(score_values(h_before), score_values(h_before))
    score_after = engine.numeric_drift(score_values(h_before), score_values(h_after))
    assert score_after.n_current == score_before.n_current == table.num_rows
    assert score_after.missing_current.numerator == k
    assert score_after.missing_current.denominator == table.num_rows + k
    assert (score_after.psi, score_after.ks, score_after.bins) == (
        score_before.psi,
        score_before.ks,
        score_before.bins,
    )


# --- subgroups ---------------------------------------------------------------------------


@examples(50)
@given(
    tables(min_rows=1),
    st.integers(1, 12),
    st.integers(0, SCALE),
)
def test_subgroups_censor_small_groups_and_keep_one_row_groups_apart(table, min_count, q):
    lonely = build([(3, 12, 5000, 1, "Z", 40.0, "urgences")])  # a subgroup of one row
    table = pa.concat_tables([table, lonely])
    threshold = q * QUANTUM
    counts = aggregate(table)
    report = engine.subgroup_report(counts, ("site",), threshold=threshold, min_count=min_count)
    assert_well_formed(report)
    sizes = collections.Counter(table["site"].to_pylist())  # every prediction, scored or not
    assert {row.key["site"]: row.n_predictions for row in report.rows} == dict(sizes)
    uncensored = {k: n for k, n in sizes.items() if n >= min_count}
    if uncensored:
        assert sizes[report.reference_key["site"]] == max(uncensored.values())
    else:
        assert report.reference_key is None
    reference = next((row for row in report.rows if row.key == report.reference_key), None)
    for row in report.rows:
        assert row.censored == (row.n_predictions < min_count)
        if row.censored:
            assert row.metrics == row.gaps == row.ratios == row.flags == {}
            continue
        expected = engine.performance(counts.where(**row.key).score_histogram(), threshold)
        assert row.metrics["auc"] == r.Metric(expected.auc.value, expected.auc.reason)
        assert row.metrics["prevalence"] == expected.prevalence
        assert row.metrics["sensitivity"] == expected.operating.sensitivity
        assert row.metrics["flag_rate"] == expected.operating.flag_rate
        for name, metric in row.metrics.items():
            base = reference.metrics[name]
            ratio, gap = row.ratios[name], row.gaps[name]
            if metric.defined and base.defined:
                assert gap.value == metric.value - base.value
                if base.value:
                    assert ratio.value == metric.value / base.value
                    assert row.flags[name] == (not 0.8 <= ratio.value <= 1.25)
                    continue
            else:
                assert gap.value is None and gap.reason
            assert ratio.value is None and ratio.reason and row.flags[name] is None
    lonely_row = next(row for row in report.rows if row.key == {"site": "Z"})
    assert lonely_row.n_predictions == 1 and lonely_row.censored == (min_count > 1)
    if not lonely_row.censored:  # one case: one class only
        assert lonely_row.metrics["auc"].reason == r.ONE_CLASS
        assert lonely_row.metrics["prevalence"].value == 1.0


# --- merging counts ----------------------------------------------------------------------


def every_figure(counts: engine.Counts, reference: engine.Counts) -> dict:
    """Everything the engine derives from counts, for comparison with ``==``."""
    h, ages = counts.score_histogram(), counts.value_histogram("age")
    middle = dt.date(2024, 1, 5)
    return {
        "performance": engine.performance(h, 0.5, thresholds=(0.0, 0.25, 1.0)),
        "early": engine.performance(counts.window(end=middle).score_histogram(), 0.5),
        "site A": engine.performance(counts.where(site="A").score_histogram(), 0.5),
        "drift": engine.drift_report(reference, counts),
        "drift back": engine.drift_report(counts, reference),
        "subgroups": engine.subgroup_report(counts, ("site",), threshold=0.5, min_count=3),
        "volume": engine.volume_report(counts, "day"),
        "histogram": [a.tolist() for a in (h.q, h.positives, h.negatives, h.unlabeled)]
        + [h.missing_score],
        "ages": [ages.values.tolist(), ages.counts.tolist(), ages.missing],
    }


@examples(30)
@given(tables(), st.data())
def test_merged_counts_give_the_figures_of_the_union(table, data):
    """Two parts of one table (any split: same days, other days, one part empty)."""
    mask = data.draw(st.lists(st.booleans(), min_size=table.num_rows, max_size=table.num_rows))
    mask = pa.array(mask, pa.bool_())
    first, second = table.filter(mask), table.filter(pc.invert(mask))
    reference = aggregate(data.draw(tables(min_rows=1), label="reference"))
    merged = aggregate(first) + aggregate(second)
    whole = aggregate(table)
    merged_figures, whole_figures = every_figure(merged, reference), every_figure(whole, reference)
    for name, value in whole_figures.items():
        assert merged_figures[name] == value, name
    assert_well_formed(whole_figures)


# --- drift against SciPy with ties -------------------------------------------------------


def exact_edges(values: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Upper edge k = smallest value x with n_bins × C(x) >= k × n (exact, in integers)."""
    distinct, counts = np.unique(values, return_counts=True)
    cumulative, n = np.cumsum(counts), len(values)
    edges = [distinct[np.argmax(n_bins * cumulative >= k * n)] for k in range(1, n_bins)]
    return np.unique(edges)


def psi_reference(ref: np.ndarray, cur: np.ndarray, epsilon: float = 1e-4) -> float:
    p = np.maximum(ref / ref.sum(), epsilon)
    q = np.maximum(cur / cur.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def present(table: pa.Table, name: str) -> np.ndarray:
    values = table[name].to_numpy(zero_copy_only=False)
    if name == "service":
        return np.array([v for v in values if v is not None], dtype=object)
    values = values.astype(float)
    return values[~np.isnan(values)]


@examples(40)
@given(tables(), tables())
def test_drift_matches_scipy_with_ties(reference_table, current_table):
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

    report = engine.drift_report(aggregate(reference_table), aggregate(current_table))
    assert_well_formed(report)
    drifts = {d.name: d for d in report}
    assert set(drifts) == {"score", "age", "service"}
    for name in ("score", "age", "service"):
        d = drifts[name]
        ref, cur = present(reference_table, name), present(current_table, name)
        assert (d.n_reference, d.n_current) == (len(ref), len(cur))
        assert_ratio(
            d.missing_reference, reference_table.num_rows - len(ref), reference_table.num_rows
        )
        assert_ratio(d.missing_current, current_table.num_rows - len(cur), current_table.num_rows)
        if not len(ref) or not len(cur):
            assert d.psi.value is None and d.js_distance.value is None
            assert d.psi.reason == (r.EMPTY_REFERENCE if not len(ref) else r.EMPTY_WINDOW)
            continue
        if name == "service":
            categories = sorted(set(ref) | set(cur))
            observed = np.array([[np.sum(x == c) for c in categories] for x in (ref, cur)])
            assert [(b.label, b.reference, b.current) for b in d.bins] == [
                (c, int(a), int(b)) for c, a, b in zip(categories, *observed, strict=True)
            ]
            assert math.isclose(d.psi.value, psi_reference(*observed), rel_tol=1e-9, abs_tol=1e-9)
            assert close(d.js_distance.value, jensenshannon(*observed))
            if len(categories) < 2:
                assert d.chi2.value is None and d.chi2.reason == r.ONE_CATEGORY
                continue
            statistic, pvalue, dof, _ = chi2_contingency(observed, correction=False)
            assert close(d.chi2.value, statistic) and d.chi2_dof == dof
            assert math.isclose(d.chi2_pvalue.value, pvalue, rel_tol=1e-9, abs_tol=1e-12)
            continue
        # KS: the exact rational max |F_ref − F_cur|, correctly rounded
        union = np.union1d(ref, cur)
        exact = max(
            abs(
                Fraction(int(np.sum(ref <= v)), len(ref))
                - Fraction(int(np.sum(cur <= v)), len(cur))
            )
            for v in union
        )
        assert d.ks.value == float(exact)
        with np.errstate(divide="ignore"):  # SciPy's p-value of tiny samples, not used
            assert close(d.ks.value, ks_2samp(ref, cur, method="asymp").statistic)
        assert close(d.wasserstein.value, wasserstein_distance(ref, cur))
        edges = exact_edges(ref)
        count = len(edges) + 1
        ref_bins = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=count)
        cur_bins = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=count)
        assert [(b.reference, b.current) for b in d.bins] == list(
            zip(ref_bins.tolist(), cur_bins.tolist(), strict=True)
        )
        assert math.isclose(
            d.psi.value, psi_reference(ref_bins, cur_bins), rel_tol=1e-9, abs_tol=1e-9
        )
        assert close(d.js_distance.value, jensenshannon(ref_bins, cur_bins))


# --- volume ------------------------------------------------------------------------------


@examples(30)
@given(tables())
def test_volume_counts_every_prediction_once(table):
    counts = aggregate(table)
    days = collections.Counter(t.date() for t in table["timestamp"].to_pylist())
    points = engine.volume_report(counts, "day")
    assert_well_formed(points)
    if not days:
        assert points == []
        return
    first, last = min(days), max(days)
    assert [p.period_start for p in points] == [
        first + dt.timedelta(days=i) for i in range((last - first).days + 1)
    ]
    assert [p.count for p in points] == [days.get(p.period_start, 0) for p in points]
    assert points[0].anomaly is None and points[0].reason == r.NO_PREVIOUS_PERIOD
    for period in ("week", "month"):
        assert sum(p.count for p in engine.volume_report(counts, period)) == table.num_rows
