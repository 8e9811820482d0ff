"""Audit chains per establishment: writers of different establishments, and a long ingestion,
do not wait for each other's audit lock (PostgreSQL, where writers run concurrently; SQLite
serialises every write transaction anyway). No timing: a second connection, in a thread, is
given a `lock_timeout`; waiting on a lock makes it fail, not being blocked lets it write."""

from __future__ import annotations

import datetime as dt
import threading

import pyarrow as pa
import pytest
from django.db import OperationalError, connection, transaction

from garant.core.audit import audit_context, record_event, verify
from garant.core.audit_models import chain_key
from garant.core.models import AuditEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the other connection sees committed rows only
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time"
    ),
]


def write_in_another_connection(establishment_id: int, lock_timeout: str):
    """Record one event of `establishment_id` from another connection; returns "écrit" or
    the error raised by waiting longer than `lock_timeout` for a lock."""
    outcome = []

    def write():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
                with audit_context(source="test"):
                    record_event("test.concurrence", "écriture concurrente", {}, establishment_id)
            outcome.append("écrit")
        except OperationalError as error:
            outcome.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    return outcome[0]


def test_a_writer_of_b_is_not_held_up_by_a_transaction_of_a(est_a, est_b):
    with transaction.atomic(), audit_context(source="test"):
        record_event("test.concurrence", "A tient sa chaîne", {}, est_a.pk)  # A's head locked
        # B's chain is free: B writes and commits while A's transaction is still open
        assert write_in_another_connection(est_b.pk, "10s") == "écrit"
        # A's chain is not: another writer of A waits, here until its lock_timeout
        refused = write_in_another_connection(est_a.pk, "200ms")
        assert isinstance(refused, OperationalError)
        assert refused.__cause__.sqlstate == "55P03"  # lock_not_available: it waited for A
    assert AuditEvent.objects.filter(object_type="test.concurrence").count() == 2
    assert verify().ok


def test_an_ingestion_holds_no_audit_lock_during_its_delta_append(world, monkeypatch):
    from garant.monitoring import ingest, storage
    from tests.conftest import make_feed

    feed = make_feed(world["a"]["system"], operating_threshold=0.5)
    real_append = storage.append
    during = []

    def append_while_a_writes(*args, **kwargs):  # in the middle of the ingestion's transaction
        during.append(write_in_another_connection(world["a"]["est"].pk, "10s"))
        return real_append(*args, **kwargs)

    monkeypatch.setattr(storage, "append", append_while_a_writes)
    t0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    table = pa.table(
        {
            "prediction_id": ["p1", "p2"],
            "timestamp": [t0.isoformat(), (t0 + dt.timedelta(hours=1)).isoformat()],
            "patient_id": ["P1", "P2"],
            "score": [0.2, 0.8],
            "model_version": ["1.0", "1.0"],
        }
    )
    with audit_context(source="test"):
        batch = ingest.ingest(feed, "predictions", table, "api")
    assert during == ["écrit"]  # the same establishment wrote during the append
    written = AuditEvent.objects.get(object_type="test.concurrence")
    event = AuditEvent.objects.get(object_type="monitoring.ingestbatch", object_id=str(batch.pk))
    assert event.chain == written.chain == chain_key(world["a"]["est"].pk)
    assert written.seq < event.seq  # chained after the write that happened during the append
    assert verify().ok
