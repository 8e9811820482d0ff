"""Patients: the objection check of 100,000 identifiers, and the erasure of one patient in a
10M-row feed, vacuum included.

    .venv/bin/python benchmarks/patients.py [--identifiers 100000] [--objections 10000]
                                            [--rows 10000000] [--repeat 3]

Objection check (target ≤ 1 s for 100,000 identifiers). One establishment with
``--objections`` objections to evaluation use (one system, or all), recorded as the product
does (keyed pseudonyms), and a clinical software's token. Times, medians of ``--repeat``:

* the whole request, ``POST /api/objections/check`` through Django's request cycle in
  process (middleware and its input check, token, pydantic, the check, its audit event,
  JSON of 100,000 booleans);
* the check itself (`garant.patients.objections.check`: one query for the objected
  pseudonyms, one HMAC per identifier, Arrow's hash-set `is_in`);
* the alternative it was chosen over: the same pseudonyms looked up in the database through
  the pseudonym index (``pseudonym IN (…)`` by chunks of 1,000);
* floors: the 100,000 HMACs alone, and `is_in` on the raw identifiers (no key).

Erasure (target ≤ 10 s). A feed of ``--rows`` predictions over a year (12 month partitions,
10 batches, a million patients of about 10 rows each) and outcomes for 30 % of them, written
as the ingestion writes them (Delta, one commit per batch). The target patient has rows in
several months. Timed once each on a fresh copy of the tables:

* the whole run (`garant.patients.deletion.run`: both tables of the feed rewritten without
  the patient's rows — only the (month, batch) files holding them —, vacuumed with no
  retention, the erased days counted again in the monitoring state, the oversight events
  and uploaded files searched, certificate and audit event), for a patient followed all
  year (rows in each of the 12 months: the worst case) and for a patient of one stay
  (12 rows over two days); and its main part, `monitoring.storage.erase`;
* peer: delta-rs's own ``DeltaTable.delete("patient_id = '…'")`` on both tables then
  ``vacuum(retention_hours=0)`` (the same rows gone, no state, no certificate — and the
  identifier left in clear in the Delta log, as the delete's predicate).

The machine may be shared: figures are medians on whatever else was running.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from oversight import median_time  # benchmarks/oversight.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
TARGET = "IPP-0424242"  # followed all year: rows in each of the 12 months (the worst case)
STAY = "IPP-0737373"  # one stay: 12 rows over two days (the usual case)


def _setup(data: str) -> None:
    os.environ["GARANT_DATA_DIR"] = data
    os.environ["GARANT_ALLOWED_HOSTS"] = "testserver"  # the in-process test client
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "garant.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_check(n: int, objected: int, repeat: int) -> None:
    from django.test import Client

    from garant.core.audit import audit_context
    from garant.core.models import Establishment, EstablishmentGroup
    from garant.oversight.models import FeedbackToken
    from garant.patients import objections
    from garant.patients.models import Objection
    from garant.patients.pseudonyms import pseudonym, pseudonyms
    from garant.registry.models import AISystem

    with audit_context(source="benchmark"):
        group = EstablishmentGroup.objects.create(name="GCS banc", short_name="B")
        est = Establishment.objects.create(group=group, code="banc", name="CH banc")
        system = AISystem.objects.create(establishment=est, name="Aide au tri")
        _, raw = FeedbackToken.issue(est, "DPI banc")
    identifiers = [f"IPP-{i:07d}" for i in range(n)]
    rng = np.random.default_rng(15)
    chosen = rng.choice(n, size=objected, replace=False)
    Objection.objects.bulk_create(  # set-up only: not the audited path
        Objection(
            establishment=est,
            pseudonym=pseudonym(identifiers[i]),
            purpose="evaluation",
            ai_system=system if k % 2 else None,
        )
        for k, i in enumerate(chosen)
    )
    expected = np.ones(n, dtype=bool)
    expected[chosen] = False

    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = json.dumps({"purpose": "evaluation", "system": system.pk, "identifiers": identifiers})

    def request():
        response = client.post("/api/objections/check", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        return response.json()["allowed"]

    request()  # warm
    request_s, allowed = median_time(request, repeat)
    assert allowed == expected.tolist()
    check_s, answer = median_time(
        lambda: objections.check(est, "evaluation", system.pk, identifiers), repeat
    )
    assert (answer == expected).all()

    def database_lookup():
        hashed = pseudonyms(identifiers)
        found = set()
        for start in range(0, len(hashed), 1000):
            found.update(
                Objection.objects.within(establishment=est)
                .filter(purpose="evaluation", lifted_at__isnull=True)
                .filter(pseudonym__in=hashed[start : start + 1000])
                .values_list("pseudonym", flat=True)
            )
        return np.array([h not in found for h in hashed])

    db_s, answer = median_time(database_lookup, repeat)
    assert (answer == expected).all()
    key = hashlib.sha256(b"k").digest()
    hmac_s, _ = median_time(
        lambda: [hmac.digest(key, i.encode(), "sha256") for i in identifiers], repeat
    )
    batch_s, _ = median_time(lambda: pseudonyms(identifiers), repeat)
    raw_ids = pa.array(identifiers)
    raw_objected = pa.array([identifiers[i] for i in chosen])
    isin_s, _ = median_time(lambda: pc.is_in(raw_ids, value_set=raw_objected), repeat)

    print(f"identifiers: {n:,}; objections: {objected:,}".replace(",", " "))
    print(
        f"POST /api/objections/check (whole request): {request_s * 1000:.0f} ms "
        f"(target ≤ 1000 ms); the check alone: {check_s * 1000:.0f} ms"
    )
    print(
        f"  alternative: database lookup on the pseudonym index by chunks of 1 000: "
        f"{db_s * 1000:.0f} ms (ratio {db_s / check_s:.1f}× the check)"
    )
    print(
        f"  floors: {n:_} pseudonyms alone {batch_s * 1000:.0f} ms (hmac.digest one by one: ".replace(
            "_", " "
        )
        + f"{hmac_s * 1000:.0f} ms); Arrow is_in on the raw identifiers (no key) "
        f"{isin_s * 1000:.1f} ms"
    )


def _feed_tables(rows: int, seed: int = 11) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    patients = max(1, rows // 10)
    start = np.datetime64("2025-01-01T00:00:00", "us")
    seconds = np.sort(rng.integers(0, 365 * 86400, rows)).astype("timedelta64[s]")
    patient = rng.integers(0, patients, rows)
    ids = np.char.add("pr-", np.arange(rows).astype(str))
    patient_ids = np.char.add("IPP-", np.char.zfill(patient.astype(str), 7))
    mine = np.linspace(0, rows - 1, 12).astype(np.int64)  # the target, in every month
    patient_ids[mine] = TARGET
    stay = int(rows * 0.45) + np.arange(12) * max(1, rows // 2000)
    patient_ids[stay] = STAY
    predictions = pa.table(
        {
            "prediction_id": pa.array(ids),
            "timestamp": pa.array(start + seconds, pa.timestamp("us", tz="UTC")),
            "patient_id": pa.array(patient_ids),
            "score": pa.array(np.round(rng.random(rows), 4)),
            "model_version": pa.array(np.full(rows, "1.0")),
        }
    )
    labelled = np.sort(np.concatenate([rng.choice(rows, int(rows * 0.3), replace=False), mine]))
    labelled = np.unique(labelled)
    outcomes = pa.table(
        {
            "prediction_id": pa.array(ids[labelled]),
            "outcome": pa.array(rng.integers(0, 2, len(labelled)).astype(np.int8)),
            "outcome_time": pa.array(
                start + seconds[labelled] + np.timedelta64(6, "h"),
                pa.timestamp("us", tz="UTC"),
            ),
            "patient_id": pa.array(patient_ids[labelled]),
        }
    )
    return predictions, outcomes


def bench_erasure(rows: int) -> None:
    from deltalake import DeltaTable
    from django.conf import settings

    from garant.core.audit import audit_context
    from garant.core.models import Establishment, EstablishmentGroup, User
    from garant.monitoring import storage
    from garant.monitoring.models import Feed, IngestBatch
    from garant.patients import deletion
    from garant.registry.models import AISystem

    with audit_context(source="benchmark"):
        group = EstablishmentGroup.objects.create(name="GCS effacement", short_name="E")
        est = Establishment.objects.create(group=group, code="eff", name="CHU effacement")
        system = AISystem.objects.create(establishment=est, name="Sepsis")
        feed = Feed.objects.create(
            ai_system=system, name="Sepsis", slug="sepsis", operating_threshold=0.5
        )
        dpo = User.objects.create(username="dpo-banc")
    t0 = time.perf_counter()
    predictions, outcomes = _feed_tables(rows)
    for kind, table, parts in (("predictions", predictions, 10), ("outcomes", outcomes, 3)):
        size = -(-table.num_rows // parts)
        for k in range(parts):
            part = table.slice(k * size, size)
            with audit_context(source="benchmark"):
                times = pc.min_max(part[storage.TIME_COLUMN[kind]]).as_py()
                batch = IngestBatch.objects.create(
                    feed=feed,
                    kind=kind,
                    sha256=f"{kind}{k}",
                    rows=part.num_rows,
                    source="cli",
                    first_time=times["min"],
                    last_time=times["max"],
                )
            ids = pa.repeat(pa.scalar(batch.pk, pa.int64()), part.num_rows)
            storage.append(feed, kind, part.append_column("batch_id", ids))
    storage.rebuild_state(feed)
    built_s = time.perf_counter() - t0
    del predictions, outcomes
    folder = Path(settings.GARANT_MONITORING_DIR) / str(feed.pk)
    pristine = Path(tempfile.mkdtemp(prefix="garant-erasure-pristine-")) / "feed"
    shutil.copytree(folder, pristine)

    def restore():
        shutil.rmtree(folder)
        shutil.copytree(pristine, folder)
        storage._cache.clear()

    # the whole run
    t0 = time.perf_counter()
    with audit_context(user=dpo, source="benchmark"):
        run = deletion.run(est, TARGET, "withdrawal", dpo)
    run_s = time.perf_counter() - t0
    removed = run.records_removed
    stores = {s["store"]: s for s in run.certificate["stores"] if s.get("feed") == feed.pk}

    # the usual case: a patient of one stay
    restore()
    t0 = time.perf_counter()
    with audit_context(user=dpo, source="benchmark"):
        stay_run = deletion.run(est, STAY, "erasure", dpo)
    stay_s = time.perf_counter() - t0

    # its main part: the feed's tables and state
    restore()
    t0 = time.perf_counter()
    with audit_context(user=dpo, source="benchmark"):
        part = storage.erase(feed, TARGET, vacuum_always=True)
    erase_s = time.perf_counter() - t0
    assert part.removed == removed

    # peer: delta-rs delete + vacuum, on both tables
    restore()
    t0 = time.perf_counter()
    peer_removed = 0
    for kind in ("outcomes", "predictions"):
        table = DeltaTable(str(folder / kind))
        metrics = table.delete(f"patient_id = '{TARGET}'")
        peer_removed += metrics["num_deleted_rows"]
        table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    peer_s = time.perf_counter() - t0
    shutil.rmtree(pristine.parent)

    print(
        f"feed: {rows:,} predictions, 30 % with an outcome (built in {built_s:.0f} s)".replace(
            ",", " "
        )
    )
    print(
        f"erasure of a patient followed all year ({removed} rows in "
        f"{len(stores)} stores, predictions v{stores['monitoring.predictions']['version_before']}"
        f" → v{stores['monitoring.predictions']['version_after']}, "
        f"{stores['monitoring.predictions']['files_vacuumed']} files vacuumed): "
        f"{run_s:.2f} s (target ≤ 10 s), whole run with certificate"
    )
    print(
        f"  a patient of one stay ({stay_run.records_removed} rows over two days): "
        f"{stay_s:.2f} s, whole run with certificate"
    )
    print(
        f"  of which the feed (storage.erase: rewrite of the files holding the patient, "
        f"vacuum, the erased days counted again in the state): {erase_s:.2f} s"
    )
    print(
        f"  peer: delta-rs DeltaTable.delete + vacuum on both tables ({peer_removed} rows, no "
        f"state, no certificate): {peer_s:.2f} s; ratio {run_s / peer_s:.1f}× "
        f"(rewrite + vacuum alone: {erase_s / peer_s:.1f}×)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--identifiers", type=int, default=100_000)
    parser.add_argument("--objections", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="garant-patients-bench-")
    _setup(data)
    bench_check(args.identifiers, args.objections, args.repeat)
    bench_erasure(args.rows)
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
