"""Benchmark of the monitoring engine against a plain NumPy + scikit-learn + SciPy peer.

Generates N synthetic predictions (default 10,000,000; seeded): 30 days, ~8 % prevalence,
5 % of outcomes not yet known, scores given to 4 decimals, 3 features (age, creatinine,
service) and 2 subgroup columns (site, sex). On the same Arrow table, both implementations
compute, for the current window (days 8–30) against the reference window (days 1–7):
count, prevalence, ROC AUC + DeLong 95 % CI, confusion rates at the operating threshold,
Brier score, 10 reliability bins + ECE, score PSI and KS, feature drift (PSI, KS,
Wasserstein, Jensen–Shannon; chi-square for the categorical feature), missing rates, volume
per day, and the subgroup table (site × sex).

Each implementation runs in its own subprocess, so that its peak memory (maxrss) is its own;
times are the median of 3 runs after the data is built. Evidently is not installed here.

    .venv/bin/python benchmarks/monitoring.py              # 10M rows, ~3–4 minutes on 2 cores
    .venv/bin/python benchmarks/monitoring.py --rows 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

THRESHOLD = 0.2
DAYS, REFERENCE_DAYS, REPEATS = 30, 7, 3
START = dt.date(2024, 1, 1)
SITES = ["CHU-Nord", "CHU-Sud", "Hôpital-Est"]
SEXES = ["F", "M"]
SERVICES = ["urgences", "cardio", "réa", "pneumo", "médecine", "chirurgie", "gériatrie", "onco"]
EVIDENTLY = "not run here; the issue reports ~136 s / 4 GB on 10M rows (quoted, not measured)"


def make_table(rows: int, seed: int = 20240101) -> pa.Table:
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, DAYS * 86400, rows)
    timestamp = np.datetime64("2024-01-01T00:00:00", "s") + seconds
    label = (rng.random(rows) < 0.08).astype(np.int8)
    drift = (seconds > REFERENCE_DAYS * 86400) * 0.03
    raw = 1 / (1 + np.exp(-(rng.normal(-2.6, 1.0, rows) + 1.6 * label + drift)))
    known = rng.random(rows) >= 0.05
    age = rng.integers(18, 100, rows).astype(np.float64)
    age[rng.random(rows) < 0.02] = np.nan
    creatinine = np.round(rng.lognormal(0.0, 0.35, rows) + drift, 1)

    def categorical(values: list[str], p=None) -> pa.DictionaryArray:
        codes = rng.choice(len(values), rows, p=p).astype(np.int32)
        return pa.DictionaryArray.from_arrays(codes, pa.array(values))

    return pa.table(
        {
            "timestamp": pa.array(timestamp),
            "score": np.round(raw, 4),
            "label": pa.array(label, mask=~known),
            "age": pa.array(age, from_pandas=True),
            "creatinine": creatinine,
            "service": categorical(SERVICES),
            "site": categorical(SITES, p=[0.5, 0.3, 0.2]),
            "sex": categorical(SEXES),
        }
    )


def windows():
    middle = START + dt.timedelta(days=REFERENCE_DAYS)
    return (START, middle), (middle, START + dt.timedelta(days=DAYS))


# --- the engine -------------------------------------------------------------------------


def run_engine(table: pa.Table) -> dict:
    from garant.monitoring import engine

    spec = engine.ColumnSpec(
        numeric_features=("age", "creatinine"),
        categorical_features=("service",),
        groups=("site", "sex"),
    )
    (ref_start, ref_end), (cur_start, cur_end) = windows()
    started = time.perf_counter()
    counts = engine.aggregate(table, spec)
    aggregated = time.perf_counter()
    reference, current = counts.window(ref_start, ref_end), counts.window(cur_start, cur_end)
    perf = engine.performance(current.score_histogram(), threshold=THRESHOLD)
    drift = engine.drift_report(reference, current)
    subgroups = engine.subgroup_report(current, ("site", "sex"), threshold=THRESHOLD)
    volume = engine.volume_report(counts, "day")
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "aggregate_seconds": aggregated - started,
        "metrics_seconds": finished - aggregated,
        "count": perf.n_predictions,
        "auc": perf.auc.value,
        "auc_ci": [perf.auc.ci_low, perf.auc.ci_high],
        "sensitivity": perf.operating.sensitivity.value,
        "brier": perf.brier.value,
        "ece": perf.calibration.ece.value,
        "score_psi": drift[0].psi.value,
        "score_ks": drift[0].ks.value,
        "groups": len(subgroups.rows),
        "days": len(volume),
        "count_rows": counts.scores.num_rows,
    }


# --- the naive peer: per-row NumPy, scikit-learn, SciPy ---------------------------------


def naive_delong(y: np.ndarray, s: np.ndarray) -> tuple[float, float, float]:
    """Fast DeLong (Sun & Xu 2014) with midranks, per row."""
    from scipy.stats import rankdata

    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    all_ranks = rankdata(np.concatenate([pos, neg]))
    pos_ranks, neg_ranks = rankdata(pos), rankdata(neg)
    auc = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (all_ranks[:m] - pos_ranks) / n
    v01 = 1 - (all_ranks[m:] - neg_ranks) / m
    se = np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    return auc, auc - 1.959963984540054 * se, auc + 1.959963984540054 * se


def naive_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10, method="inverted_cdf"))
    p = np.bincount(np.searchsorted(edges, ref), minlength=len(edges) + 1) / len(ref)
    q = np.bincount(np.searchsorted(edges, cur), minlength=len(edges) + 1) / len(cur)
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    return float(np.sum((q - p) * np.log(q / p)))


def naive_numeric_drift(ref: np.ndarray, cur: np.ndarray) -> dict:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp, wasserstein_distance

    ref_ok, cur_ok = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    edges = np.unique(np.quantile(ref_ok, np.arange(1, 10) / 10, method="inverted_cdf"))
    p = np.bincount(np.searchsorted(edges, ref_ok), minlength=len(edges) + 1)
    q = np.bincount(np.searchsorted(edges, cur_ok), minlength=len(edges) + 1)
    return {
        "psi": naive_psi(ref_ok, cur_ok),
        "ks": ks_2samp(ref_ok, cur_ok).statistic,
        "wasserstein": wasserstein_distance(ref_ok, cur_ok),
        "js": jensenshannon(p, q),
        "missing": [np.isnan(ref).mean(), np.isnan(cur).mean()],
    }


def naive_group_metrics(y: np.ndarray, s: np.ndarray, flagged_all: np.ndarray) -> dict:
    from sklearn.metrics import confusion_matrix, roc_auc_score

    tn, fp, fn, tp = confusion_matrix(y, s >= THRESHOLD, labels=[0, 1]).ravel()
    return {
        "prevalence": y.mean(),
        "auc": roc_auc_score(y, s),
        "sensitivity": tp / (tp + fn),
        "specificity": tn / (tn + fp),
        "ppv": tp / (tp + fp),
        "npv": tn / (tn + fn),
        "fpr": fp / (fp + tn),
        "fnr": fn / (fn + tp),
        "flag_rate": flagged_all.mean(),
    }


def run_naive(table: pa.Table) -> dict:
    from scipy.stats import chi2_contingency
    from sklearn.metrics import brier_score_loss

    (_, ref_end), _ = windows()
    started = time.perf_counter()
    day = table["timestamp"].to_numpy().astype("datetime64[D]")
    score = table["score"].to_numpy()
    label = table["label"].to_numpy(zero_copy_only=False)  # float with NaN for unknown
    codes = {c: table[c].combine_chunks().indices.to_numpy() for c in ("service", "site", "sex")}
    reference = day < np.datetime64(ref_end)
    current = ~reference
    known = current & ~np.isnan(label)
    y, s = label[known].astype(np.int8), score[known]
    results = {"count": int(current.sum()), "prevalence": y.mean()}
    results["auc"], low, high = naive_delong(y, s)
    results["auc_ci"] = [low, high]
    results["group_current"] = naive_group_metrics(y, s, score[current] >= THRESHOLD)
    results["brier"] = brier_score_loss(y, s)
    index = np.minimum(np.round(s * 10_000).astype(np.int64) * 10 // 10_000, 9)
    sizes = np.bincount(index, minlength=10)
    means = np.bincount(index, weights=s, minlength=10)[sizes > 0] / sizes[sizes > 0]
    rates = np.bincount(index, weights=y, minlength=10)[sizes > 0] / sizes[sizes > 0]
    results["ece"] = float(np.sum(sizes[sizes > 0] / len(s) * np.abs(means - rates)))
    results["score"] = naive_numeric_drift(score[reference], score[current])
    for name in ("age", "creatinine"):
        values = table[name].to_numpy(zero_copy_only=False)
        results[name] = naive_numeric_drift(values[reference], values[current])
    service = codes["service"]
    observed_table = np.vstack(
        [np.bincount(service[w], minlength=len(SERVICES)) for w in (reference, current)]
    )
    results["service_chi2"] = chi2_contingency(observed_table, correction=False)[0]
    groups = []
    for site in range(len(SITES)):
        for sex in range(len(SEXES)):
            member = current & (codes["site"] == site) & (codes["sex"] == sex)
            labeled = member & known
            if member.sum() >= 10:
                groups.append(
                    naive_group_metrics(
                        label[labeled].astype(np.int8), score[labeled], score[member] >= THRESHOLD
                    )
                )
    results["volume"] = np.unique(day, return_counts=True)[1].tolist()
    return {
        "seconds": time.perf_counter() - started,
        "count": results["count"],
        "auc": results["auc"],
        "auc_ci": results["auc_ci"],
        "brier": results["brier"],
        "ece": results["ece"],
        "score_psi": results["score"]["psi"],
        "score_ks": results["score"]["ks"],
        "groups": len(groups),
    }


# --- driver ----------------------------------------------------------------------------


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(implementation: str, rows: int) -> None:
    """Build the data, run one implementation REPEATS times, print a JSON line."""
    table = make_table(rows)
    data_mib = maxrss_mib()
    run = run_engine if implementation == "engine" else run_naive
    outcomes = [run(table) for _ in range(REPEATS)]
    summary = dict(outcomes[-1])
    for key in ("seconds", "aggregate_seconds", "metrics_seconds"):
        if key in summary:
            summary[key] = statistics.median(o[key] for o in outcomes)
    summary.update(data_mib=data_mib, peak_mib=maxrss_mib(), table_mib=table.nbytes / 2**20)
    print(json.dumps(summary))


def measure(implementation: str, rows: int) -> dict:
    command = [sys.executable, __file__, "--child", implementation, "--rows", str(rows)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--child", choices=["engine", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    print(f"{args.rows:,} predictions, {DAYS} days; current window = days 8–30 vs reference 1–7")
    engine, naive = measure("engine", args.rows), measure("naive", args.rows)
    print(f"Arrow table: {engine['table_mib']:.0f} MiB; median of {REPEATS} runs")
    print(
        f"engine (DuckDB counts): {engine['seconds']:.2f} s "
        f"(aggregation {engine['aggregate_seconds']:.2f} s + metrics from counts "
        f"{engine['metrics_seconds']:.3f} s; {engine['count_rows']:,} count rows), "
        f"peak RSS {engine['peak_mib']:.0f} MiB (data alone {engine['data_mib']:.0f} MiB)"
    )
    print(
        f"naive (NumPy + scikit-learn + SciPy per row): {naive['seconds']:.2f} s, "
        f"peak RSS {naive['peak_mib']:.0f} MiB (data alone {naive['data_mib']:.0f} MiB)"
    )
    print(f"ratio naive / engine: {naive['seconds'] / engine['seconds']:.1f}x faster")
    print(f"Evidently: {EVIDENTLY}")
    for key in ("count", "auc", "brier", "ece", "score_psi", "score_ks", "groups"):
        print(f"  {key:10} engine {engine[key]!s:24} naive {naive[key]!s}")
    print(f"  auc_ci     engine {engine['auc_ci']}  naive {naive['auc_ci']}")


if __name__ == "__main__":
    main()
