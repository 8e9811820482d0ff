"""Upgrading to one chain per establishment (migration core 0002): the events recorded before
keep their hashes and stay verifiable as the closed "legacy" chain, whose head is recorded in
the chain with no establishment; a later rewrite of the legacy chain, head included, is
detected."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from garant.core.audit import compute_hash, record_event, verify
from garant.core.audit_models import GENESIS, LEGACY_CHAIN, NONE_CHAIN
from garant.core.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)  # migrations run outside the test's

BEFORE = [("core", "0001_initial")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


def record_the_old_way(apps, n: int) -> list[str]:
    """n events chained as before the upgrade: one chain, no chain key in the hash."""
    OldEvent = apps.get_model("core", "AuditEvent")
    OldHead = apps.get_model("core", "AuditChainHead")
    prev, hashes = GENESIS, []
    for seq in range(1, n + 1):
        event = OldEvent(
            seq=seq,
            at=dt.datetime(2026, 11, 1, 9, seq, tzinfo=dt.UTC),
            actor_id=None,
            actor_name="système",
            source="ui",
            establishment_id=seq % 2 or None,
            object_type="registry.aisystem",
            object_id=str(seq),
            object_repr=f"Système {seq}",
            subject=f"registry.aisystem:{seq}",
            action="create",
            changes={"name": [None, f"Système {seq}"]},
            prev_hash=prev,
        )
        event.chain = LEGACY_CHAIN  # hashed as before: the legacy form has no chain key
        event.hash = prev = compute_hash(prev, event)
        event.save()
        hashes.append(prev)
    OldHead.objects.create(pk=1, seq=n, hash=prev)
    return hashes


@pytest.fixture(scope="module")
def upgraded_rows(django_db_setup, django_db_blocker):
    """Down to core 0001, five events recorded the old way, up to the latest migrations: done
    once for the module (unapplying and reapplying every app takes most of a minute). Returns
    the old hashes and the audit rows the upgrade left, which each test starts from."""
    with django_db_blocker.unblock():
        executor = migrate(BEFORE)
        try:
            hashes = record_the_old_way(executor.loader.project_state(BEFORE).apps, 5)
            migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
            rows = {model: list(model.objects.values()) for model in (AuditEvent, AuditChainHead)}
        finally:  # the other tests need the current schema, and an empty database
            migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
            call_command("flush", interactive=False, verbosity=0)
    return hashes, rows


@pytest.fixture
def upgraded(upgraded_rows):
    hashes, rows = upgraded_rows
    for model, values in rows.items():
        model.objects.bulk_create([model(**row) for row in values])
    with connection.cursor() as cursor:  # the next ids follow the rows copied (PostgreSQL)
        for sql in connection.ops.sequence_reset_sql(no_style(), list(rows)):
            cursor.execute(sql)
    return hashes


def test_old_events_stay_verifiable_as_the_closed_legacy_chain(upgraded):
    legacy = list(AuditEvent.objects.filter(chain=LEGACY_CHAIN).order_by("seq"))
    assert [e.hash for e in legacy] == upgraded  # unchanged
    head = AuditChainHead.objects.get(chain=LEGACY_CHAIN)
    assert (head.seq, head.hash) == (5, upgraded[-1])  # a head copied before still matches
    closing = AuditEvent.objects.get(chain=NONE_CHAIN, seq=1)
    assert closing.changes == {
        "chain": [None, LEGACY_CHAIN],
        "seq": [None, 5],
        "hash": [None, upgraded[-1]],
    }
    record_event("test.apres", "après la mise à jour", {}, establishment_id=1)
    result = verify()
    assert result.ok, result.message
    # legacy 5; none 2 (the legacy closing, the opening of establishment 1); establishment 1
    assert (result.checked, result.chains) == (8, 3)


def test_a_legacy_event_edited_is_named(upgraded):
    target = AuditEvent.objects.get(chain=LEGACY_CHAIN, seq=3)
    AuditEvent.objects.filter(pk=target.pk).update(object_repr="falsifié")
    result = verify()
    assert not result.ok and (result.first_bad_seq, result.first_bad_id) == (3, target.pk)
    assert f"événement n° {target.pk} du journal (chaîne historique, maillon 3) modifié" in (
        result.message
    )


def test_rewriting_the_whole_legacy_chain_and_its_head_contradicts_its_closing(upgraded):
    prev = GENESIS
    for event in AuditEvent.objects.filter(chain=LEGACY_CHAIN).order_by("seq"):
        event.object_repr = "réécrit"
        event.prev_hash = prev
        event.hash = prev = compute_hash(prev, event)
        event.save()
    AuditChainHead.objects.filter(chain=LEGACY_CHAIN).update(hash=prev)
    result = verify()
    assert not result.ok
    [problem] = result.problems
    assert problem.chain == LEGACY_CHAIN
    assert "ne correspond plus à celle relevée à sa clôture" in result.message
