"""Peers of benchmarks/monitoring.py, run with benchmarks/.peers-venv/bin/python (not the
product's .venv: pandas, Evidently and their dependencies are benchmark-only).

    .peers-venv/bin/python benchmarks/monitoring_peers.py pandas|evidently FILE.parquet

prints one JSON line: ``seconds`` (timed from the Parquet file to the last figure, imports
excluded), ``peak_mib`` (this process's peak resident set), ``report`` (same paths as Garant's, see
benchmarks/monitoring_garant.py, for the figures the peer computes) and headline figures.

* ``pandas``: the obvious pandas + scikit-learn + SciPy code a data scientist would write for
  the same metric set, per row and groupby: ``roc_auc_score``, ``confusion_matrix``,
  ``brier_score_loss`` per window and subgroup, a DeLong CI from ``rankdata`` midranks,
  reference deciles with ``np.quantile(method="inverted_cdf")`` and ``pd.cut``, ``ks_2samp``,
  ``wasserstein_distance``, ``jensenshannon``, ``chi2_contingency``. Definitions are the
  engine's (docs/monitoring-engine.md): flagged iff score >= threshold, reliability bins by
  ``floor(score × 10)`` on the 4-decimal score, PSI shares floored at 1e-4, outcome-unknown
  rows left out of performance but kept in drift and volume.
* ``evidently``: Evidently 0.7's ``DataDriftPreset`` (score and every feature, reference
  half-year against current half-year, every prediction) and ``ClassificationPreset``
  (current half-year, outcome known, threshold 0.2), with their default methods. Figures
  comparable with Garant's are put in ``report`` under the same paths.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

os.environ.setdefault("DO_NOT_TRACK", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from monitoring import peak_rss_mib  # noqa: E402  (benchmarks/monitoring.py, beside this file)
from scipy.spatial.distance import jensenshannon  # noqa: E402
from scipy.stats import chi2_contingency, ks_2samp, rankdata, wasserstein_distance  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    brier_score_loss,
    confusion_matrix,
    f1_score,
    roc_auc_score,
)


def read_layout(path: str) -> dict:
    return json.loads(pq.read_schema(path).metadata[b"garant.benchmark"])


def columns(layout: dict) -> list[str]:
    return [
        "timestamp",
        "score",
        "label",
        *layout["numeric"],
        *layout["categorical"],
        *layout["groups"],
    ]


def number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


# --- pandas + scikit-learn + SciPy -----------------------------------------------------------


def delong_ci(y: np.ndarray, s: np.ndarray, z: float = 1.959963984540054) -> tuple[float, float]:
    """Fast DeLong (Sun & Xu 2014) with midranks, per row: the 95 % Wald interval."""
    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    ranks = rankdata(np.concatenate([pos, neg]))
    auc = (ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (ranks[:m] - rankdata(pos)) / n
    v01 = 1 - (ranks[m:] - rankdata(neg)) / m
    se = math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    return max(0.0, auc - z * se), min(1.0, auc + z * se)


def performance(df: pd.DataFrame, layout: dict, with_ci: bool = False) -> dict:
    threshold = layout["threshold"]
    labeled = df[df["label"].notna()]
    y = labeled["label"].to_numpy().astype(np.int8)
    s = labeled["score"].to_numpy()
    out = {
        "count": len(df),
        "labeled": len(labeled),
        "prevalence": number(y.mean()) if len(y) else None,
    }
    two_classes = len(np.unique(y)) == 2
    out["auc"] = float(roc_auc_score(y, s)) if two_classes else None
    out["auc_ci_low"], out["auc_ci_high"] = (
        delong_ci(y, s) if with_ci and two_classes else (None, None)
    )
    tn, fp, fn, tp = confusion_matrix(y, s >= threshold, labels=[0, 1]).ravel()

    def ratio(a, b):
        return float(a / b) if b else None

    out.update(
        sensitivity=ratio(tp, tp + fn),
        specificity=ratio(tn, tn + fp),
        ppv=ratio(tp, tp + fp),
        npv=ratio(tn, tn + fn),
        f1=float(f1_score(y, s >= threshold, zero_division=np.nan)),
        flag_rate=ratio((df["score"] >= threshold).sum(), len(df)),
        brier=float(brier_score_loss(y, s)) if len(y) else None,
    )
    # reliability bins: floor(score × 10) on the 4-decimal score, 1.0 in the last bin
    bins = np.minimum(
        np.round(s * 10_000).astype(np.int64) * layout["bins"] // 10_000, layout["bins"] - 1
    )
    table = (
        pd.DataFrame({"bin": bins, "score": s, "label": y})
        .groupby("bin")
        .agg(count=("label", "size"), mean_score=("score", "mean"), observed_rate=("label", "mean"))
        .reindex(range(layout["bins"]))
    )
    weights = table["count"].fillna(0) / len(y) if len(y) else table["count"] * np.nan
    out["ece"] = number((weights * (table["mean_score"] - table["observed_rate"]).abs()).sum())
    out["calibration"] = [
        {
            "count": int(0 if math.isnan(row.count) else row.count),
            "mean_score": number(row.mean_score),
            "observed_rate": number(row.observed_rate),
        }
        for row in table.itertuples()
    ]
    return out


def psi(ref_share: np.ndarray, cur_share: np.ndarray, epsilon: float) -> float:
    ref, cur = np.maximum(ref_share, epsilon), np.maximum(cur_share, epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_drift(ref: pd.Series, cur: pd.Series, edges: np.ndarray, layout: dict) -> dict:
    r, c = ref.dropna().to_numpy(), cur.dropna().to_numpy()
    cut = [-np.inf, *edges, np.inf]
    r_counts = pd.cut(pd.Series(r), cut, right=True).value_counts(sort=False).to_numpy()
    c_counts = pd.cut(pd.Series(c), cut, right=True).value_counts(sort=False).to_numpy()
    return {
        "psi": psi(r_counts / len(r), c_counts / len(c), layout["psi_epsilon"]),
        "js": float(jensenshannon(r_counts, c_counts)),
        "ks": float(ks_2samp(r, c).statistic),
        "wasserstein": float(wasserstein_distance(r, c)),
        "missing_reference": float(ref.isna().mean()),
        "missing_current": float(cur.isna().mean()),
    }


def categorical_drift(ref: pd.Series, cur: pd.Series, layout: dict) -> dict:
    table = pd.concat(
        [ref.dropna().astype(str).value_counts(), cur.dropna().astype(str).value_counts()], axis=1
    ).fillna(0)
    r, c = table.iloc[:, 0].to_numpy(), table.iloc[:, 1].to_numpy()
    chi2, _, dof, _ = chi2_contingency(np.vstack([r, c]), correction=False)
    return {
        "psi": psi(r / r.sum(), c / c.sum(), layout["psi_epsilon"]),
        "js": float(jensenshannon(r, c)),
        "chi2": float(chi2),
        "chi2_dof": int(dof),
        "missing_reference": float(ref.isna().mean()),
        "missing_current": float(cur.isna().mean()),
    }


def run_pandas(path: str) -> dict:
    layout = read_layout(path)
    started = time.perf_counter()
    df = pd.read_parquet(path, columns=columns(layout))
    stamp = df["timestamp"]
    df["month"] = stamp.dt.tz_localize(None).dt.to_period("M")  # UTC months

    def between(bounds):
        start, end = (pd.Timestamp(b, tz="UTC") for b in bounds)
        return df[(stamp >= start) & (stamp < end)]

    reference, current = between(layout["reference"]), between(layout["current"])
    report = {
        "overall": performance(df, layout, with_ci=True),
        "halves": {
            "reference": performance(reference, layout, with_ci=True),
            "current": performance(current, layout, with_ci=True),
        },
        "months": {
            str(month): performance(g, layout, with_ci=True) for month, g in df.groupby("month")
        },
        "subgroups": {},
        "drift": {},
    }
    for column in layout["groups"]:
        for value, g in df.groupby(column, observed=True):
            report["subgroups"][f"{column}={value}"] = performance(g, layout, with_ci=True)
    variables = ["score", *layout["numeric"]]
    edges = {}
    for name in variables:
        values = reference[name].dropna().to_numpy()
        deciles = np.quantile(
            values, np.arange(1, layout["bins"]) / layout["bins"], method="inverted_cdf"
        )
        edges[name] = np.unique(deciles)
    windows = {
        "current": current,
        **{str(m): g for m, g in current.groupby("month") if str(m) in layout["drift_months"]},
    }
    for key, window in windows.items():
        drift = {
            name: numeric_drift(reference[name], window[name], edges[name], layout)
            for name in variables
        }
        for name in layout["categorical"]:
            drift[name] = categorical_drift(reference[name], window[name], layout)
        report["drift"][key] = drift
    report["missing"] = {
        name: float(df[name].isna().mean()) for name in layout["numeric"] + layout["categorical"]
    }
    report["volume"] = {str(m): int(n) for m, n in df.groupby("month").size().items()}
    seconds = time.perf_counter() - started
    overall = report["overall"]
    return {
        "seconds": seconds,
        "report": report,
        "auc": overall["auc"],
        "auc_ci": [overall["auc_ci_low"], overall["auc_ci_high"]],
        "brier": overall["brier"],
        "sensitivity": overall["sensitivity"],
        "score_psi": report["drift"]["current"]["score"]["psi"],
        "score_ks": report["drift"]["current"]["score"]["ks"],
        "month_auc": [p["auc"] for p in report["months"].values()],
        "subgroup_sensitivity": {k: p["sensitivity"] for k, p in report["subgroups"].items()},
    }


# --- Evidently ------------------------------------------------------------------------------


def _evidently_values(snapshot) -> dict[str, object]:
    """{metric name: value} of an Evidently snapshot (the name carries the column)."""
    return {m["metric_name"]: m["value"] for m in snapshot.dict()["metrics"]}


def run_evidently(path: str) -> dict:
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset

    layout = read_layout(path)
    started = time.perf_counter()
    df = pd.read_parquet(path, columns=columns(layout))
    stamp = df["timestamp"]

    def between(bounds):
        start, end = (pd.Timestamp(b, tz="UTC") for b in bounds)
        return df[(stamp >= start) & (stamp < end)]

    reference, current = between(layout["reference"]), between(layout["current"])
    variables = ["score", *layout["numeric"]]
    drift_columns = variables + layout["categorical"]
    drift_definition = DataDefinition(
        numerical_columns=variables, categorical_columns=layout["categorical"]
    )
    drift = Report([DataDriftPreset(columns=drift_columns)]).run(
        Dataset.from_pandas(current[drift_columns], data_definition=drift_definition),
        Dataset.from_pandas(reference[drift_columns], data_definition=drift_definition),
    )
    classification_definition = DataDefinition(
        numerical_columns=["score"],
        classification=[BinaryClassification(target="label", prediction_probas="score")],
    )

    def labeled(frame):
        known = frame.loc[frame["label"].notna(), ["score", "label"]]
        return Dataset.from_pandas(
            known.astype({"label": "int64"}), data_definition=classification_definition
        )

    quality = Report([ClassificationPreset(probas_threshold=layout["threshold"])]).run(
        labeled(current), labeled(reference)
    )
    drift_values, quality_values = _evidently_values(drift), _evidently_values(quality)
    seconds = time.perf_counter() - started

    # the figures Garant also gives, under Garant's paths (outside the timed part)
    def pick(values, prefix):
        return next(v for name, v in values.items() if name.startswith(prefix))

    current_half = {
        "auc": pick(quality_values, "RocAuc("),
        "sensitivity": pick(quality_values, "Recall("),
        "specificity": pick(quality_values, "TNR("),
        "ppv": pick(quality_values, "Precision("),
        "f1": pick(quality_values, "F1Score("),
    }
    methods, half_drift = {}, {}
    for name in drift_columns:
        label, value = next(
            (n, v) for n, v in drift_values.items() if n.startswith(f"ValueDrift(column={name},")
        )
        method = label.split("method=")[1].split(",threshold")[0]
        methods[name] = method
        if method.startswith("Wasserstein"):  # normed by the reference standard deviation
            norm = max(float(np.std(reference[name].dropna())), 0.001)
            half_drift[name] = {"wasserstein": float(value) * norm}
        elif method.startswith("Jensen-Shannon"):
            half_drift[name] = {"js": float(value)}
    return {
        "seconds": seconds,
        "report": {"halves": {"current": current_half}, "drift": {"current": half_drift}},
        "methods": methods,
        "drifted_columns": pick(drift_values, "DriftedColumnsCount("),
        "auc": current_half["auc"],
        "sensitivity": current_half["sensitivity"],
    }


def main() -> None:
    implementation, path = sys.argv[1], sys.argv[2]
    run = {"pandas": run_pandas, "evidently": run_evidently}[implementation]
    baseline = peak_rss_mib()
    result = run(path)
    result.update(peak_mib=peak_rss_mib(), baseline_mib=baseline)
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    main()
