"""Benchmark of the monitoring engine against pandas + scikit-learn + SciPy and Evidently.

Issue 5, item 8. Generates seeded synthetic prediction logs (1M and 10M rows by default),
written once to Parquet under ``benchmarks/.data/`` (git-ignored): a whole year of UTC
timestamps, a reference half-year (January–June) and a current half-year (July–December),
~10 % prevalence, ~5 % outcomes not yet known, scores to 4 decimals, 8 numeric features at
their clinical precision (age, heart rate, SpO2, respiratory rate, systolic BP and creatinine
in whole units, temperature and lactate to 0.1), 1 categorical feature (service) and 3
subgroup columns (site, sex, age band). The current half carries covariate drift (features
shift a little more each month) and concept drift (a weaker signal, much weaker at one site).

Every implementation computes the same metric set on the same file, in its own subprocess
(peak memory = that process's peak resident set, ``peak_rss_mib``), one fresh process per run, timed from the Parquet file
to the full report (imports excluded):

* for the whole year, each half, each month and each subgroup value (site, sex, age band):
  count, prevalence, ROC AUC (+ DeLong 95 % CI), sensitivity, specificity, PPV, NPV, F1 and
  flag rate at the threshold 0.2, Brier score, 10 reliability bins + ECE;
* drift of the score and of every feature, for the current half and for each of its months,
  against the reference half-year: PSI on the reference deciles, Kolmogorov–Smirnov,
  Jensen–Shannon, Wasserstein-1 (chi-square + PSI + Jensen–Shannon for the categorical);
* missing rates; volume per month.

Implementations:

* Garant (``benchmarks/monitoring_garant.py``, the product's ``.venv``): ``cold`` (full report
  from the raw table), ``warm`` (reports of several windows and subgroups from statistics
  built beforehand), ``ingest`` (ingestion of the Parquet file);
* ``pandas``: plain pandas + scikit-learn + SciPy, per row and groupby
  (``benchmarks/monitoring_peers.py``);
* ``evidently``: Evidently 0.7's DataDriftPreset + ClassificationPreset, reference half-year
  against current half-year (a subset of the metric set: no Brier, calibration, subgroups,
  months or volume). One run only at 5M rows and more, because it is slow.

Peers are benchmark-only dependencies: the script creates ``benchmarks/.peers-venv``
(git-ignored) from the pinned ``benchmarks/requirements-peers.txt``, with ``DO_NOT_TRACK=1``;
nothing is installed in the product's ``.venv``.

    .venv/bin/python benchmarks/monitoring.py                    # 1M then 10M rows, ~30 min
    .venv/bin/python benchmarks/monitoring.py --rows 1000000     # ~5 min
    .venv/bin/python benchmarks/monitoring.py --rows 10000000 --only garant --repeats 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA_DIR = HERE / ".data"
PEERS_VENV = HERE / ".peers-venv"
PEERS_REQUIREMENTS = HERE / "requirements-peers.txt"
PEERS_SCRIPT = HERE / "monitoring_peers.py"

DATA_VERSION = (
    2  # bump when the generator changes (2: Snappy, the default of pyarrow and deltalake)
)
SEED = 20250101
YEAR = 2025
THRESHOLD = 0.2
NUMERIC = (
    "age",
    "heart_rate",
    "temperature",
    "lactate",
    "creatinine",
    "spo2",
    "resp_rate",
    "systolic_bp",
)
CATEGORICAL = ("service",)
GROUPS = ("site", "sex", "age_band")
SITES = ("CHU-Nord", "CHU-Sud", "CH-Est", "CH-Ouest")
SITE_SHARES = (0.4, 0.3, 0.2, 0.1)
WEAK_SITE = "CH-Est"  # where the concept drift is strongest
SEXES = ("F", "M")
AGE_BANDS = ((18, "18-44"), (45, "45-64"), (65, "65-74"), (75, "75-84"), (85, "85+"))
SERVICES = ("urgences", "réanimation", "cardiologie", "pneumologie", "médecine", "chirurgie")
SERVICE_SHARES_REFERENCE = (0.30, 0.08, 0.15, 0.12, 0.20, 0.15)
SERVICE_SHARES_SHIFTED = (0.36, 0.12, 0.13, 0.11, 0.16, 0.12)  # December; months in between

REPEATS = 3
PEER_SINGLE_RUN_ROWS = 5_000_000
TARGETS = {  # issue 5, on this 2-core machine at 10M rows
    "cold_seconds": 1.5,
    "cold_mib": 1.5 * 1024,
    "warm_seconds": 0.050,
    "ingest_seconds": 10.0,
}
AGREEMENT_KEYS = ("auc", "brier", "sensitivity", "psi", "ks")


def layout() -> dict:
    """What every implementation needs to know about the file (stored in its metadata)."""
    months = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    return {
        "threshold": THRESHOLD,
        "quantum": 1e-4,
        "bins": 10,
        "psi_epsilon": 1e-4,
        "numeric": list(NUMERIC),
        "categorical": list(CATEGORICAL),
        "groups": list(GROUPS),
        "reference": [f"{YEAR}-01-01", f"{YEAR}-07-01"],
        "current": [f"{YEAR}-07-01", f"{YEAR + 1}-01-01"],
        "months": months,
        "drift_months": months[6:],
    }


# --- data --------------------------------------------------------------------------------------


def make_table(rows: int, seed: int = SEED):
    """The synthetic prediction log, sorted by time (numpy + pyarrow, vectorised)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    start = np.datetime64(f"{YEAR}-01-01T00:00:00", "us")
    year_us = (np.datetime64(f"{YEAR + 1}-01-01", "us") - start).astype(np.int64)
    offsets = np.sort(rng.integers(0, year_us, rows))
    timestamp = start + offsets.astype("timedelta64[us]")
    month = timestamp.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
    # 0 in the reference half, then 1/6, 2/6 … 1 from July to December
    drift = np.clip(month - 5, 0, 6) / 6.0

    def pick(values, shares):
        return rng.choice(len(values), rows, p=shares).astype(np.int32)

    site = pick(SITES, SITE_SHARES)
    sex = pick(SEXES, (0.52, 0.48))
    shares = np.array(SERVICE_SHARES_REFERENCE)
    shifted = np.array(SERVICE_SHARES_SHIFTED)
    service = np.empty(rows, dtype=np.int32)
    for level in np.unique(drift):  # one categorical mix per month of drift
        member = drift == level
        mix = shares + (shifted - shares) * level
        service[member] = rng.choice(len(SERVICES), int(member.sum()), p=mix / mix.sum())
    age = np.clip(np.round(rng.normal(62 + 4 * drift, 17)), 18, 100)
    band = np.searchsorted([b for b, _ in AGE_BANDS[1:]], age, side="right").astype(np.int32)

    # outcome: depends on age and service; ~10 % overall
    service_risk = np.array([0.1, 1.1, 0.2, 0.3, -0.1, -0.3])[service]
    logit = -2.45 + 0.025 * (age - 62) + service_risk
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)

    # signal: how different a positive looks; weaker in the current half, much at one site
    strength = 1 - 0.30 * drift
    strength[site == SITES.index(WEAK_SITE)] = 1 - 0.75 * drift[site == SITES.index(WEAK_SITE)]
    signal = strength * label

    def measured(values, low, high, decimals=0, missing=0.0):
        values = np.round(np.clip(values, low, high), decimals)
        if missing:
            values[rng.random(rows) < missing] = np.nan
        return values

    heart_rate = measured(rng.normal(84 + 9 * signal + 5 * drift, 14), 30, 220)
    temperature = measured(rng.normal(37.0 + 0.45 * signal, 0.6), 34, 42, 1, 0.03)
    lactate = measured(
        rng.lognormal(np.log(1.3) + 0.28 * signal + 0.20 * drift, 0.45), 0.2, 20, 1, 0.25
    )
    creatinine = measured(
        rng.lognormal(np.log(85) + 0.18 * signal + 0.08 * drift, 0.35), 20, 1500, 0, 0.05
    )
    spo2 = measured(rng.normal(96.5 - 1.5 * signal, 2.0), 70, 100)
    resp_rate = measured(rng.normal(17 + 3 * signal + 1.0 * drift, 4), 6, 60)
    systolic_bp = measured(rng.normal(128 - 8 * signal - 4 * drift, 20), 50, 250, 0, 0.02)

    # the model: a fixed logistic combination fitted on the reference half (by hand)
    def filled(values, default):
        return np.where(np.isnan(values), default, values)

    model = (
        -3.05
        + 0.022 * (age - 62)
        + 0.040 * (heart_rate - 84)
        + 0.55 * (filled(temperature, 37.0) - 37.0)
        + 0.85 * np.log(filled(lactate, 1.3) / 1.3)
        + 0.70 * np.log(filled(creatinine, 85) / 85)
        - 0.16 * (spo2 - 96.5)
        + 0.07 * (resp_rate - 17)
        - 0.012 * (filled(systolic_bp, 128) - 128)
        + 0.6 * service_risk
        + rng.normal(0, 0.7, rows)
    )
    score = np.round(1 / (1 + np.exp(-model)), 4)
    known = rng.random(rows) >= 0.05

    def strings(prefix: str, numbers) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")

    def dictionary(codes, values) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(values)))

    table = pa.table(
        {
            "prediction_id": strings("pr-", np.arange(rows, dtype=np.int64) + 1_000_000),
            "patient_id": strings(
                "pt-", rng.integers(100_000, 100_000 + max(rows // 20, 10), rows)
            ),
            "timestamp": pa.array(timestamp, pa.timestamp("us")).cast(pa.timestamp("us", "UTC")),
            "score": score,
            "label": pa.array(label, mask=~known),
            **{
                name: pa.array(values, from_pandas=True)
                for name, values in zip(
                    NUMERIC,
                    (
                        age,
                        heart_rate,
                        temperature,
                        lactate,
                        creatinine,
                        spo2,
                        resp_rate,
                        systolic_bp,
                    ),
                    strict=True,
                )
            },
            "service": dictionary(service, SERVICES),
            "site": dictionary(site, SITES),
            "sex": dictionary(sex, SEXES),
            "age_band": dictionary(band, [name for _, name in AGE_BANDS]),
        }
    )
    meta = {b"garant.benchmark": json.dumps(layout()).encode()}
    return table.replace_schema_metadata(meta)


def data_path(rows: int) -> Path:
    return DATA_DIR / f"predictions-{rows}-seed{SEED}-v{DATA_VERSION}.parquet"


def ensure_data(rows: int) -> Path:
    """Write the Parquet file once (atomically); later runs reuse it."""
    import pyarrow.parquet as pq

    path = data_path(rows)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    print(f"generating {rows:,} predictions -> {path.relative_to(ROOT)} …", flush=True)
    started = time.perf_counter()
    table = make_table(rows)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial, row_group_size=1_000_000)  # Snappy, as Delta tables
    partial.rename(path)
    print(f"  written in {time.perf_counter() - started:.1f} s", flush=True)
    return path


# --- the peers' virtual environment ------------------------------------------------------------


def peers_python() -> Path:
    """benchmarks/.peers-venv, created or refreshed when requirements-peers.txt changed."""
    python = PEERS_VENV / "bin" / "python"
    digest = hashlib.sha256(PEERS_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = PEERS_VENV / ".requirements.sha256"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    print(f"installing the peers in {PEERS_VENV.relative_to(ROOT)} (once) …", flush=True)
    if PEERS_VENV.exists():
        shutil.rmtree(PEERS_VENV)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
    done = subprocess.run(
        [*pip, "install", "-r", str(PEERS_REQUIREMENTS)],
        env=peer_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        shutil.rmtree(PEERS_VENV, ignore_errors=True)
        raise SystemExit(f"pip could not install the peers:\n{done.stderr[-4000:]}")
    stamp.write_text(digest + "\n")
    return python


def peer_env() -> dict:
    env = dict(os.environ)
    env["DO_NOT_TRACK"] = "1"  # Evidently's telemetry (and any other that honours it)
    env.pop("PYTHONPATH", None)
    return env


# --- running one implementation once ------------------------------------------------------------


def peak_rss_mib() -> float:
    """Peak resident memory of this process, in MiB.

    Linux's ``VmHWM`` belongs to the running program and starts again at ``exec``, whereas
    ``ru_maxrss`` is carried over from the process that forked it: a run started by a harness
    that has just generated 10M rows would report the harness's peak (seen: 2,144 MiB for
    every run). ``ru_maxrss`` is the fallback where ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: str) -> None:
    """Subprocess entry for Garant: run one mode once, print one JSON line."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    import monitoring_garant

    function = getattr(monitoring_garant, mode)
    baseline = peak_rss_mib()
    if mode == "cold":
        result = function(path)
    else:
        workdir = tempfile.mkdtemp(prefix=f"garant-{mode}-", dir=DATA_DIR)
        try:
            result = function(path, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    result.update(peak_mib=peak_rss_mib(), baseline_mib=baseline)
    print(json.dumps(result, default=float))


def run_once(implementation: str, path: Path, python: Path | None = None) -> dict:
    if implementation.startswith("garant-"):
        mode = implementation.removeprefix("garant-")
        command = [sys.executable, __file__, "--child", mode, "--data", str(path)]
        env = dict(os.environ)
    else:
        command = [str(python), str(PEERS_SCRIPT), implementation, str(path)]
        env = peer_env()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{implementation} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(implementation: str, path: Path, repeats: int, python: Path | None = None) -> dict:
    """Median time of `repeats` fresh processes; peak RSS = the largest of them."""
    runs = []
    for i in range(repeats):
        started = time.perf_counter()
        runs.append(run_once(implementation, path, python))
        print(
            f"  {implementation:18} run {i + 1}/{repeats}: {runs[-1]['seconds']:8.3f} s "
            f"(process {time.perf_counter() - started:.0f} s, peak {runs[-1]['peak_mib']:,.0f} MiB)",
            flush=True,
        )
    result = dict(sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2])  # the median run
    result["seconds"] = statistics.median(r["seconds"] for r in runs)
    result["peak_mib"] = max(r["peak_mib"] for r in runs)
    result["runs"] = len(runs)
    if "reports" in result:  # warm: the median of each report over the runs
        result["reports"] = {
            name: statistics.median(r["reports"][name] for r in runs) for name in result["reports"]
        }
        result["seconds"] = max(result["reports"].values())
    return result


# --- comparing the figures -----------------------------------------------------------------


def leaves(value, path=()):
    """(path, number) for every number of a nested report."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, str(index)))
    elif value is None:
        yield path, None  # undefined: must be undefined on both sides
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, float(value)


def agreement(a: dict, b: dict) -> dict[str, tuple[float, int, str]]:
    """max |a − b| per metric name over the report paths both give, and where it is."""
    left = dict(leaves(a.get("report", {})))
    right = dict(leaves(b.get("report", {})))
    worst: dict[str, tuple[float, int, str]] = {}
    for path, x in left.items():
        if path not in right:
            continue
        y = right[path]
        if path[0] in ("missing", "volume"):
            name = {"missing": "missing rate (year)", "volume": "volume per month"}[path[0]]
        else:
            name = next((p for p in reversed(path) if not p.isdigit()), path[-1])
        x = math.nan if x is None else x
        y = math.nan if y is None else y
        if math.isnan(x) and math.isnan(y):
            difference = 0.0
        elif math.isnan(x) or math.isnan(y):
            difference = math.inf  # defined on one side only
        else:
            difference = abs(x - y)
        previous = worst.get(name, (-1.0, 0, ""))
        count = previous[1] + 1
        if difference > previous[0]:
            worst[name] = (difference, count, "/".join(path))
        else:
            worst[name] = (previous[0], count, previous[2])
    return worst


def scoped_agreement(a: dict, b: dict, keys=AGREEMENT_KEYS) -> list[tuple[str, str, float, int]]:
    """For the issue's check: max |Δ| of `keys`, whole period and per month, by scope."""
    left = dict(leaves(a.get("report", {})))
    right = dict(leaves(b.get("report", {})))
    rows = []
    scopes = {
        "whole year": lambda p: p[0] == "overall",
        "current half": lambda p: p[:2] == ("halves", "current") or p[:2] == ("drift", "current"),
        "per month": lambda p: p[0] == "months" or (p[0] == "drift" and p[1] != "current"),
        "per subgroup": lambda p: p[0] == "subgroups",
    }
    for scope, member in scopes.items():
        for key in keys:
            values = [
                math.inf if (x is None) != (right[p] is None) else abs(x - right[p])
                for p, x in left.items()
                if p in right and member(p) and p[-1] == key and (x, right[p]) != (None, None)
            ]
            if values:
                rows.append((scope, key, max(values), len(values)))
    return rows


# --- printing --------------------------------------------------------------------------------


def engine_version() -> str:
    """The commit measured, and whether the engine had uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = git(
        "status", "--porcelain", "--", "garant/monitoring", "benchmarks/monitoring_garant.py"
    )
    state = "with uncommitted changes to the engine or its benchmark side" if dirty else "clean"
    return f"commit {git('rev-parse', '--short', 'HEAD') or '?'}, {state}"


def load() -> str:
    """The 1-, 5- and 15-minute load averages: other work on the 2 cores slows every figure."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def mib(value: float) -> str:
    return f"{value:,.0f}"


def print_table(rows: int, results: dict) -> None:
    cold = results.get("garant-cold")
    print(f"\n== {rows:,} predictions: median of the runs, peak RSS of the process")
    header = f"{'implementation':44} {'runs':>4} {'median s':>10} {'peak MiB':>9} {'time ×':>8} {'mem ×':>6}"
    print(header)
    labels = {
        "garant-cold": "Garant, full report from the raw table",
        "garant-warm": "Garant, warm report (slowest of the windows)",
        "garant-ingest": "Garant, ingestion of the Parquet file",
        "pandas": "pandas + scikit-learn + SciPy, full report",
        "evidently": "Evidently 0.7 drift + classification presets",
    }
    for name, label in labels.items():
        if name not in results:
            continue
        r = results[name]
        ratio_t = ratio_m = ""
        if cold and name in ("pandas", "evidently"):
            ratio_t = f"{r['seconds'] / cold['seconds']:.1f}"
            ratio_m = f"{r['peak_mib'] / cold['peak_mib']:.1f}"
        print(
            f"{label:44} {r['runs']:>4} {r['seconds']:>10.3f} {mib(r['peak_mib']):>9} "
            f"{ratio_t:>8} {ratio_m:>6}"
        )
    print(
        "(time × and mem × = the peer's median time and peak RSS divided by Garant's cold report)"
    )
    if results.get("pandas", {}).get("runs") == 1:
        print("pandas peer: 1 run at this size (several minutes each).")
    if "evidently" in results:
        e = results["evidently"]
        note = "1 run (slow)" if e["runs"] == 1 else f"{e['runs']} runs"
        print(
            f"Evidently: {note}; it computes a subset of the metric set (reference vs current "
            "half only: no Brier, calibration, DeLong CI, months, subgroups or volume)."
        )
    if cold and "stages" in cold:
        stages = ", ".join(f"{k} {v:.3f} s" for k, v in cold["stages"].items())
        print(f"Garant cold stages (median run): {stages}")
    if "garant-warm" in results:
        warm = results["garant-warm"]
        print("Garant warm reports (median per report):")
        for name, seconds in warm["reports"].items():
            print(f"  {name:52} {seconds * 1000:8.1f} ms")
    if "garant-ingest" in results and "stages" in results["garant-ingest"]:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in results["garant-ingest"]["stages"].items())
        print(f"Garant ingestion stages (median run): {stages}")


def print_targets(rows: int, results: dict) -> None:
    print(f"\nTargets (issue 5; they apply at 10,000,000 rows, shown here for {rows:,}):")
    checks = []
    if "garant-cold" in results:
        cold = results["garant-cold"]
        checks.append(("cold full report ≤ 1.5 s", cold["seconds"], TARGETS["cold_seconds"], "s"))
        checks.append(
            ("cold full report ≤ 1.5 GB peak", cold["peak_mib"], TARGETS["cold_mib"], "MiB")
        )
    if "garant-warm" in results:
        checks.append(
            (
                "warm report of any window/subgroup ≤ 50 ms",
                results["garant-warm"]["seconds"] * 1000,
                50,
                "ms",
            )
        )
    if "garant-ingest" in results:
        checks.append(
            (
                "ingestion of the Parquet file ≤ 10 s",
                results["garant-ingest"]["seconds"],
                TARGETS["ingest_seconds"],
                "s",
            )
        )
    for label, value, target, unit in checks:
        verdict = "MET" if value <= target else "NOT MET"
        print(
            f"  {label:46} {value:>10.3f} {unit:3} → {verdict} ({value / target:.2f} of the target)"
        )


def print_agreement(results: dict) -> None:
    cold = results.get("garant-cold")
    if not cold:
        return
    if "pandas" in results:
        print("\nAgreement, max |Garant − pandas peer| (should be ~1e-12):")
        for scope, key, difference, count in scoped_agreement(cold, results["pandas"]):
            print(f"  {scope:14} {key:12} {difference:.3g}  ({count} values)")
        print("  every other figure both give (max |Δ| per metric, over all scopes):")
        for name, (difference, count, where) in sorted(agreement(cold, results["pandas"]).items()):
            if name not in AGREEMENT_KEYS:
                print(f"    {name:20} {difference:.3g}  ({count} values; worst at {where})")
    if "evidently" in results:
        print("\nAgreement with Evidently where it computes the same figure (current half-year):")
        rows = agreement(cold, results["evidently"])
        for name, (difference, count, where) in sorted(rows.items()):
            print(f"  {name:20} {difference:.3g}  ({count} values; worst at {where})")
        print(
            "  (Evidently's drift defaults differ: normed Wasserstein for numeric columns, "
            "compared here once multiplied back by the reference standard deviation; "
            "Jensen–Shannon over categories; its PSI and KS tests are not run by the preset.)"
        )


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000_000, 10_000_000], help="sizes to run"
    )
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per implementation")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument(
        "--only",
        choices=["garant", "pandas", "evidently"],
        help="run one implementation (garant: cold, warm and ingestion)",
    )
    parser.add_argument("--child", choices=["cold", "warm", "ingest"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write every result to this JSON file")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data)
        return

    implementations = ["garant-cold", "garant-warm", "garant-ingest", "pandas", "evidently"]
    if args.only == "garant":
        implementations = implementations[:3]
    elif args.only:
        implementations = ["garant-cold", args.only]  # the peer and its reference
    if args.skip_evidently and "evidently" in implementations:
        implementations.remove("evidently")
    python = None
    if any(not name.startswith("garant-") for name in implementations):
        python = peers_python()
    print(
        f"machine: {os.cpu_count()} cores, shared; Python {sys.version.split()[0]}; "
        f"started {dt.datetime.now():%d/%m/%Y %H:%M}; load average {load()}"
    )
    print(f"Garant: {engine_version()}")
    everything = {}
    for rows in args.rows:
        path = ensure_data(rows)
        size = path.stat().st_size / 2**20
        print(f"\n{rows:,} predictions, {size:,.0f} MiB of Parquet ({path.name})", flush=True)
        results = {}
        for name in implementations:
            repeats = args.repeats
            if not name.startswith("garant-") and rows >= PEER_SINGLE_RUN_ROWS:
                repeats = 1  # a peer takes minutes per run at this size: one run, said so
            results[name] = measure(name, path, repeats, python)
        print(f"load average after {rows:,}: {load()}")
        print_table(rows, results)
        print_targets(rows, results)
        print_agreement(results)
        everything[rows] = results
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1, default=float))


if __name__ == "__main__":
    main()
