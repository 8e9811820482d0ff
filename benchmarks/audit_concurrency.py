"""Benchmark of the audit trail under concurrent writers, on PostgreSQL.

WRITERS processes each update, in a loop, one AI system of their own establishment (one
transaction per write, as a view does: the row, then its audit event, then the commit) for
SECONDS seconds. Two cases:

- "écrivains seuls": the writers only;
- "écrivains + ingestion longue": one more process ingests monitoring batches back to back
  in establishment 0 (also written by writer 0) through the real `ingest()`, whose Delta
  append is made to last APPEND_S seconds (a large batch), without using the CPU.

Printed per case: audited writes per second (all writers), p50 / p95 / max latency of one
write, ingestions done. Each code tree is measured in its own subprocess, in a fresh database:

    .venv/bin/python benchmarks/audit_concurrency.py                       # this tree
    .venv/bin/python benchmarks/audit_concurrency.py --before /tmp/before  # and another one

`--before` runs the same measurement on another checkout (e.g. `git worktree add /tmp/before
<commit>`) with this interpreter, then prints both and the ratios (after / before).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = "garant_audit_bench"
QUIET = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}  # no "does not exist"
WRITERS, APPEND_S = 8, 1.5
SECONDS = float(os.environ.get("GARANT_BENCH_SECONDS", 8))


def seed() -> tuple[list[int], int]:
    from garant.core.audit import audit_context
    from garant.core.models import Establishment
    from garant.monitoring.models import Feed
    from garant.registry.models import AISystem

    with audit_context(source="benchmark"):
        systems = []
        for i in range(WRITERS):
            est = Establishment.objects.create(code=f"ch-{i}", name=f"CH {i}")
            systems.append(
                AISystem.objects.create(
                    establishment=est,
                    name=f"Système {i}",
                    intended_purpose="Aide à la décision",
                    solution_type="S1",
                    domain="D1",
                    modality="M1",
                ).pk
            )
        feed = Feed.objects.create(
            ai_system_id=systems[0], name="Sepsis", slug="sepsis", operating_threshold=0.5
        )
    return systems, feed.pk


def writer(system_id: int, start, stop_at_queue, results) -> None:
    from django.db import connections, transaction

    from garant.core.audit import audit_context
    from garant.registry.models import AISystem

    connections.close_all()  # a connection of its own, not the parent's
    start.wait()
    deadline = stop_at_queue
    latencies = []
    n = 0
    with audit_context(source="benchmark"):
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            with transaction.atomic():
                system = AISystem.objects.get(pk=system_id)
                system.intended_purpose = f"Aide à la décision, révision {n}"
                system.save()
            latencies.append(time.perf_counter() - t0)
            n += 1
    connections.close_all()
    results.put(("writer", latencies))


def ingester(feed_id: int, start, deadline: float, results) -> None:
    import datetime as dt

    import pyarrow as pa
    from django.db import connections

    from garant.core.audit import audit_context
    from garant.monitoring import ingest, storage
    from garant.monitoring.models import Feed

    connections.close_all()
    real_append = storage.append

    def long_append(*args, **kwargs):  # a large batch: the Delta append takes APPEND_S
        time.sleep(APPEND_S)
        return real_append(*args, **kwargs)

    storage.append = long_append
    feed = Feed.objects.get(pk=feed_id)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    start.wait()
    durations, batch = [], 0
    with audit_context(source="benchmark"):
        while time.monotonic() < deadline:
            began = time.perf_counter()
            n = 100
            table = pa.table(
                {
                    "prediction_id": [f"b{batch}-{i}" for i in range(n)],
                    "timestamp": [
                        (t0 + dt.timedelta(minutes=batch * n + i)).isoformat() for i in range(n)
                    ],
                    "patient_id": [f"P{i}" for i in range(n)],
                    "score": [(i % 10) / 10 for i in range(n)],
                    "model_version": ["1.0"] * n,
                }
            )
            ingest.ingest(feed, "predictions", table, "cli")
            durations.append(time.perf_counter() - began)
            batch += 1
    connections.close_all()
    results.put(("ingester", durations))


def run_case(systems: list[int], feed_id: int, with_ingestion: bool) -> dict:
    from django.db import connections

    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    connections.close_all()
    deadline_holder = time.monotonic() + 3 + SECONDS  # processes start within 3 s
    processes = [
        context.Process(target=writer, args=(pk, start, deadline_holder, results)) for pk in systems
    ]
    if with_ingestion:
        processes.append(
            context.Process(target=ingester, args=(feed_id, start, deadline_holder, results))
        )
    for p in processes:
        p.start()
    time.sleep(max(0.0, deadline_holder - SECONDS - time.monotonic()))
    began = time.monotonic()
    start.set()
    latencies, ingestions = [], []
    for _ in processes:
        kind, value = results.get(timeout=SECONDS + 120)
        if kind == "writer":
            latencies.extend(value)
        else:
            ingestions = value
    elapsed = max(time.monotonic() - began, SECONDS)
    for p in processes:
        p.join()
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    return {
        "writes": len(ms),
        "writes_per_s": round(len(ms) / SECONDS, 1),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
        "max_ms": round(ms[-1], 1),
        "ingestions": len(ingestions),
        "ingestion_s": round(statistics.mean(ingestions), 2) if ingestions else None,
        "elapsed_s": round(elapsed, 1),
    }


def run_in_process() -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "garant.settings")
    django.setup()
    from django.core.management import call_command

    from garant.core.audit import verify

    call_command("migrate", verbosity=0)
    systems, feed_id = seed()
    cases = {
        "écrivains seuls": run_case(systems, feed_id, with_ingestion=False),
        "écrivains + ingestion longue": run_case(systems, feed_id, with_ingestion=True),
    }
    result = verify()
    return {"cases": cases, "verify": result.message, "verify_ok": result.ok}


def measure(tree: Path) -> dict:
    """Run this file's measurement with `tree`'s code, in a fresh database."""
    for command in (["dropdb", "--if-exists", DB], ["createdb", DB]):
        subprocess.run(
            [*command[:1], "-h", "127.0.0.1", "-U", "postgres", *command[1:]], check=True, env=QUIET
        )
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
            "GARANT_DATA_DIR": data,
            "GARANT_MONITORING_DIR": str(Path(data) / "monitoring"),
            "PYTHONPATH": str(tree),
            "DJANGO_SETTINGS_MODULE": "garant.settings",
        }
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child"],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True, env=QUIET
    )
    if done.returncode:
        sys.exit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def commit_of(tree: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


def show(label: str, figures: dict) -> None:
    print(f"== {label}   ({figures['verify']})")
    print(
        f"{'cas':<30} {'écritures/s':>11} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f" {'ingestions (durée moy.)':>24}"
    )
    for case, f in figures["cases"].items():
        ingestions = f"{f['ingestions']} ({f['ingestion_s']} s)" if f["ingestions"] else "-"
        print(
            f"{case:<30} {f['writes_per_s']:>11.1f} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f}"
            f" {f['max_ms']:>8.1f} {ingestions:>24}"
        )


def main() -> int:
    global SECONDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout, measured first")
    parser.add_argument("--seconds", type=float, default=8.0, help="per case (8)")
    parser.add_argument("--rounds", type=int, default=1, help="alternated measurements (1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    SECONDS = args.seconds
    os.environ["GARANT_BENCH_SECONDS"] = str(SECONDS)
    if args.child:
        print(json.dumps(run_in_process()))
        return 0
    print(
        f"{WRITERS} écrivains (un établissement chacun), {SECONDS:.0f} s par cas ; ingestion : "
        f"ajout Delta de {APPEND_S} s, établissement 0 ; PostgreSQL 127.0.0.1, {os.cpu_count()} cœurs"
    )
    trees = [("avant", args.before.resolve())] if args.before else []
    trees.append(("après", ROOT))
    runs = []  # rounds alternate the trees, so that a change of load hits both
    for round_ in range(1, args.rounds + 1):
        for name, tree in trees:
            runs.append((name, f"{name} ({commit_of(tree)}), tour {round_}", measure(tree)))
    for _, label, figures in runs:
        show(label, figures)
    if args.before:
        print(f"== rapport après / avant (médianes des {args.rounds} tours)")
        for case in runs[0][2]["cases"]:
            ratios = []
            for key in ("writes_per_s", "p50_ms", "p95_ms"):
                med = {
                    name: statistics.median(f["cases"][case][key] for n, _, f in runs if n == name)
                    for name, _ in trees
                }
                ratios.append(
                    f"{key} {med['avant']} -> {med['après']} (x{med['après'] / med['avant']:.2f})"
                )
            print(f"{case:<30} " + ", ".join(ratios))
    return 0 if all(f["verify_ok"] for _, _, f in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
