"""Human oversight: ingest 1,000,000 feedback events, then compute every rate of a year.

    .venv/bin/python benchmarks/oversight.py [--events 1000000] [--repeat 3]

One system, a year of events (12 services, 5 roles, 14 reasons, decision times), given as a
file import delivers them (an Arrow table read from Parquet: text, times, numbers). Times:

* ingestion (`garant.oversight.ingest.ingest`: whole validation with the identifier search,
  idempotence check, Delta append, batch record and its audit event), each run into a new
  establishment; target ≤ 5 s;
* the dashboard query (`rates.system_summary`, by day: rates per day, service, role, reason
  and day × service, blind acceptance, kappa, exact medians), from the system's tally
  (`garant/oversight/tally.py`, kept up to date by the ingestion; in memory after the first
  read); target ≤ 200 ms. Also printed: the same query with the tally loaded from its file
  (cold), and the raw computation it replaces (DuckDB over the events read from Delta).

Peers on the same data, in the same run: for ingestion, writing the raw batch to Parquet
with `pyarrow.parquet.write_table` (no validation at all: the floor of any file store); for
the query, PyArrow's own engine (Acero, `Table.group_by`) computing the outcome counts per
day × service × reason from the table already in memory (no read). Medians are printed,
with ratios (Garant / peer).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
SERVICES = [f"Service {i:02d}" for i in range(12)]
ROLES = ["medecin", "interne", "infirmier", "manipulateur", "pharmacien"]
OUTCOMES = ["accepted", "modified", "overridden", "ignored", "not_shown"]
SHARES = [0.7, 0.1, 0.12, 0.05, 0.03]


def events(n: int, system_id: int, seed: int = 12) -> pa.Table:
    from garant.oversight import referential

    reasons = list(referential.codes().reasons)
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 12, 31, 23, tzinfo=dt.UTC)  # 01/01/2025 00:00, Paris
    seconds = np.sort(rng.integers(0, 365 * 86400, n))
    outcome = rng.choice(len(OUTCOMES), n, p=SHARES)
    reason = np.where(outcome == 0, -1, rng.integers(0, len(reasons), n))
    ai = rng.integers(0, 2, n)
    final = np.where(outcome == 2, 1 - ai, ai)

    def text(values, codes):
        return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(values))

    return pa.table(
        {
            "system": pa.array(np.full(n, str(system_id))),
            "event_id": pa.array(np.char.add("ev-", np.arange(n).astype(str))),
            "time": pa.array(
                np.datetime64(start.replace(tzinfo=None), "us") + seconds.astype("timedelta64[s]"),
                pa.timestamp("us", tz="UTC"),
            ),
            "outcome": text(OUTCOMES, outcome),
            "reason": pa.DictionaryArray.from_arrays(
                pa.array(reason, pa.int32(), mask=reason < 0), pa.array(reasons)
            ),
            "role": text(ROLES, rng.integers(0, len(ROLES), n)),
            "service": text(SERVICES, rng.integers(0, len(SERVICES), n)),
            "decision_ms": pa.array(rng.integers(300, 60_000, n)),
            "ai_decision": text(["negatif", "positif"], ai),
            "final_decision": text(["negatif", "positif"], final),
        }
    )


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="garant-oversight-bench-")
    os.environ["GARANT_DATA_DIR"] = data
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "garant.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from garant.core.audit import audit_context
    from garant.core.models import Establishment, EstablishmentGroup
    from garant.oversight import ingest, rates, tally
    from garant.registry.models import AISystem

    with audit_context(source="benchmark"):
        group = EstablishmentGroup.objects.create(name="GCS banc", short_name="B")
    n = args.events

    systems = []

    def ingest_once():
        with audit_context(source="benchmark"):
            est = Establishment.objects.create(
                group=group, code=f"b{len(systems)}", name=f"CH {len(systems)}"
            )
            system = AISystem.objects.create(establishment=est, name="Aide au tri")
        systems.append(system)
        table = events(n, system.pk)
        t0 = time.perf_counter()
        with audit_context(source="benchmark"):
            received = ingest.ingest(est, table, "file", evaluate=False)
        assert received.stored == n
        return time.perf_counter() - t0, table

    runs = [ingest_once() for _ in range(args.repeat)]
    ingest_s = statistics.median(t for t, _ in runs)
    table = runs[-1][1]
    system = systems[-1]

    sink = Path(data) / "peer.parquet"
    peer_ingest_s, _ = median_time(lambda: pq.write_table(table, sink), args.repeat)

    start, end = dt.date(2025, 1, 1), dt.date(2026, 1, 1)
    rates.system_summary(system, start, end, "day")  # warm: imports, caches
    query_s, summary = median_time(
        lambda: rates.system_summary(system, start, end, "day"), max(5, args.repeat)
    )
    assert summary["total"]["events"] == n

    def peer_query():
        day = pc.floor_temporal(table["time"], unit="day")
        frame = pa.table(
            {
                "day": day,
                "service": table["service"].cast(pa.string()),
                "reason": table["reason"].cast(pa.string()),
                "outcome": table["outcome"].cast(pa.string()),
            }
        )
        return frame.group_by(["day", "service", "reason", "outcome"]).aggregate(
            [([], "count_all")]
        )

    peer_query_s, _ = median_time(peer_query, max(5, args.repeat))

    def cold():
        tally._cache.clear()
        return rates.system_summary(system, start, end, "day")

    cold_s, _ = median_time(cold, 3)
    raw_s, raw = median_time(lambda: rates.summarise(rates.events(system, start, end), "day"), 1)
    assert raw["total"]["events"] == n and raw["total"]["accepted"] == summary["total"]["accepted"]

    print(f"events: {n:,}".replace(",", " "))
    print(
        f"ingestion (validation + Delta + record): {ingest_s:.2f} s (target ≤ 5 s); "
        f"peer pyarrow.parquet.write_table (no validation): {peer_ingest_s:.2f} s; "
        f"ratio {ingest_s / peer_ingest_s:.1f}×"
    )
    print(
        f"dashboard query (a year by day, service, role, reason, day×service, kappa; from "
        f"the tally): {query_s * 1000:.0f} ms (target ≤ 200 ms); peer pyarrow "
        f"Table.group_by day×service×reason×outcome in memory: {peer_query_s * 1000:.0f} ms; "
        f"ratio {query_s / peer_query_s:.2f}×"
    )
    print(
        f"  same query, tally loaded from its file: {cold_s * 1000:.0f} ms; raw computation "
        f"it replaces (DuckDB over the events read from Delta): {raw_s * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
