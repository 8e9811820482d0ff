"""Audit chains per establishment: writers of different establishments do not wait for each
other's audit lock (PostgreSQL, where writers run concurrently; SQLite serialises every write
transaction anyway). No timing: a second connection, in a thread, is given a `lock_timeout`;
waiting on a lock makes it fail, not being blocked lets it write."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from garant.core.audit import audit_context, record_event, verify
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
        assert isinstance(refused, OperationalError) and "lock timeout" in str(refused)
    assert AuditEvent.objects.filter(object_type="test.concurrence").count() == 2
    assert verify().ok
