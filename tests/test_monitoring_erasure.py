# ruff: noqa: F811 (the feed fixture is imported by name)
"""Erasure of a patient (consent withdrawn), issue 11 item 3: repeated erasures on one feed
keep working whatever files earlier rewrites left, the counts and the report drop by the
rows removed, and nothing stored anywhere (files of the data directory, Delta logs, the
monitoring state, every database table) lets anyone recover the identifier, not even a
plain hash of it."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from garant.core.audit import audit_context
from garant.core.models import AuditEvent
from garant.monitoring import report, storage
from garant.monitoring.ingest import ingest
from tests.test_monitoring_state import feed  # noqa: F401  (the same feed, by name)

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
PATIENTS = [f"SEJ-{k:03d}-ZX" for k in range(10)]


def predictions(first: int, n: int, patient=lambda i: PATIENTS[i % 10]) -> pa.Table:
    """Predictions every 3 hours; patient k % 10 (3 of each among the first 30)."""
    k = range(first, first + n)
    return pa.table(
        {
            "prediction_id": [f"pr-{i:05d}" for i in k],
            "timestamp": [(T0 + dt.timedelta(hours=3 * i)).isoformat() for i in k],
            "patient_id": [patient(i) for i in k],
            "score": [round((i * 37 % 100) / 100, 2) for i in k],
            "model_version": ["1.0" if i % 4 else "1.1" for i in k],
            "age": [float(30 + i % 50) for i in k],
            "service": ["urgences" if i % 3 else "réa" for i in k],
            "site": ["Nord" if i % 2 else "Sud" for i in k],
        }
    )


def outcomes(first: int, n: int) -> pa.Table:
    k = range(first, first + n)
    return pa.table(
        {
            "prediction_id": [f"pr-{i:05d}" for i in k],
            "outcome": [int(i % 3 == 0) for i in k],
            "outcome_time": [(T0 + dt.timedelta(hours=3 * i + 5)).isoformat() for i in k],
        }
    )


def total(feed) -> int:
    return int(storage.counts(feed).score_histogram().totals.sum())


def labelled(feed) -> int:
    h = storage.counts(feed).score_histogram()
    return int(h.positives.sum() + h.negatives.sum())


def everything_stored() -> bytes:
    """Every file under the data and monitoring directories, and every database table's
    rows as text."""
    blobs = []
    for root in {Path(settings.DATA_DIR), Path(settings.GARANT_MONITORING_DIR)}:
        for path in root.rglob("*"):
            if path.is_file():
                blobs.append(path.read_bytes())
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 (names from the database)
            blobs.append(repr(cursor.fetchall()).encode())
    return b"\n".join(blobs)


def traces(identifier: str) -> list[bytes]:
    """The identifier and its plain digests, as anyone could compute them."""
    raw = identifier.encode()
    found = [raw]
    for name in ("sha256", "md5", "sha1"):
        digest = hashlib.new(name, raw).hexdigest()
        found += [digest.encode(), digest.upper().encode()]
    return found


def test_five_erasures_in_a_row_then_a_new_batch_then_the_report(feed):
    ingest(feed, "predictions", predictions(0, 30), "api")
    ingest(feed, "outcomes", outcomes(0, 24), "api")
    assert (total(feed), labelled(feed)) == (30, 24)
    expected_total, expected_labelled = 30, 24
    with audit_context(source="test"):
        for patient in PATIENTS[:5]:
            mine = [i for i in range(30) if PATIENTS[i % 10] == patient]
            removed = storage.erase_patient(feed, patient)
            with_outcome = sum(1 for i in mine if i < 24)
            assert removed == len(mine) + with_outcome
            expected_total -= len(mine)
            expected_labelled -= with_outcome
            assert (total(feed), labelled(feed)) == (expected_total, expected_labelled)
            assert patient not in storage.read(feed, "predictions")["patient_id"].to_pylist()
    assert (expected_total, expected_labelled) == (15, 10)
    # the tables still take batches (outcomes of the erased predictions no longer can: id
    # pr-00024 was patient 4's), and the report counts what is left
    ingest(feed, "predictions", predictions(30, 10, lambda i: PATIENTS[5 + i % 5]), "api")
    ingest(feed, "outcomes", outcomes(25, 9), "api")
    assert (total(feed), labelled(feed)) == (25, 19)
    state = storage.counts(feed)
    storage.rebuild_state(feed)
    assert (
        storage.counts(feed).score_histogram().totals.sum() == state.score_histogram().totals.sum()
    )
    built = report.build_report(feed, dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert built["performance"]["count"] == 25
    assert built["performance"]["n_labeled"] == labelled(feed) == 19
    with audit_context(source="test"):  # and a sixth erasure after the new batch
        # predictions 5, 15, 25, 30, 35; outcomes of 5, 15, 25, 30
        assert storage.erase_patient(feed, PATIENTS[5]) == 5 + 4
    assert total(feed) == 20
    stored = everything_stored()
    for patient in PATIENTS[:6]:
        for trace in traces(patient):
            assert trace not in stored, (patient, trace)


def test_the_erasure_record_holds_a_keyed_hash_only(feed):
    ingest(feed, "predictions", predictions(0, 10), "api")
    ingest(feed, "outcomes", outcomes(0, 10), "api")
    with audit_context(source="test"):
        assert storage.erase_patient(feed, PATIENTS[0]) == 2
    event = AuditEvent.objects.get(object_type="monitoring.erasure")
    keyed = event.changes["patient_hmac"][1]
    assert keyed == storage.keyed_digest(PATIENTS[0]) and len(keyed) == 64
    assert "patient_sha256" not in event.changes
    assert keyed != hashlib.sha256(PATIENTS[0].encode()).hexdigest()
    # the same identifier on another installation (another secret) gives another digest
    original = settings.SECRET_KEY
    settings.SECRET_KEY = original + "-autre"
    try:
        assert storage.keyed_digest(PATIENTS[0]) != keyed
    finally:
        settings.SECRET_KEY = original
    stored = everything_stored()
    for trace in traces(PATIENTS[0]):
        assert trace not in stored, trace
    # the Delta logs record which months and batches were rewritten, nothing about the patient
    predicates = []
    for kind in storage.KINDS:
        for path in (storage.table_path(feed, kind) / "_delta_log").glob("*.json"):
            for line in path.read_text().splitlines():
                info = json.loads(line).get("commitInfo") or {}
                if "predicate" in info.get("operationParameters", {}):
                    predicates.append(info["operationParameters"]["predicate"])
    predictions_batch = feed.batches.get(kind="predictions").pk
    outcomes_batch = feed.batches.get(kind="outcomes").pk
    assert predicates == [  # in the order of storage.KINDS (as delta-rs writes it)
        f"month = '2024-03' AND batch_id = {predictions_batch}",
        f"month = '2024-03' AND batch_id = {outcomes_batch}",
    ]


def test_erasure_from_the_command_line_leaves_no_trace(feed):
    ingest(feed, "predictions", predictions(0, 20), "api")
    out = io.StringIO()
    call_command("monitor", "erase", "--feed", feed.reference, "--patient", PATIENTS[3], stdout=out)
    assert "2 ligne(s) effacée(s)" in out.getvalue()
    assert total(feed) == 18
    stored = everything_stored()
    for trace in traces(PATIENTS[3]):
        assert trace not in stored, trace


def test_erasing_an_unknown_patient_removes_nothing(feed):
    ingest(feed, "predictions", predictions(0, 10), "api")
    with audit_context(source="test"):
        assert storage.erase_patient(feed, "SEJ-inconnu") == 0
    assert total(feed) == 10
