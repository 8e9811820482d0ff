"""The audit trail: every write recorded with who/what/before/after, and a verifiable chain."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from garant.core import audit
from garant.core.audit import audit_context, compute_hash, verify
from garant.core.audit_models import NONE_CHAIN, chain_key
from garant.core.models import AuditChainHead, AuditEvent
from garant.registry.models import AISystem
from tests.conftest import make_feed, make_system


def test_create_update_delete_are_recorded_with_before_and_after(world):
    user = world["users"]["a"]["referent"]
    with audit_context(user=user, source="test"):
        system = make_system(world["a"]["est"], name="Aide au codage PMSI", domain="D2")
        system.phase = "poc"
        system.save()
        pk = system.pk
        system.delete()
    events = list(
        AuditEvent.objects.filter(object_type="registry.aisystem", object_id=str(pk)).order_by("id")
    )
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert {e.actor_name for e in events} == {"referent-a"}
    assert {e.establishment_id for e in events} == {world["a"]["est"].pk}
    assert events[0].changes["name"] == [None, "Aide au codage PMSI"]
    assert events[1].changes == {"phase": ["idea", "poc"]}
    assert events[2].changes["name"] == ["Aide au codage PMSI", None]


def test_many_to_many_change_is_recorded(world):
    system = world["a"]["system"]
    service = world["a"]["service"]
    system.services.remove(service)
    event = AuditEvent.objects.filter(
        object_id=str(system.pk), object_type="registry.aisystem"
    ).first()
    assert event.changes == {"services": [[service.pk], []]}


def test_ui_edit_is_attributed_to_the_user(world, client_for):
    user = world["users"]["a"]["referent"]
    system = world["a"]["system"]
    response = client_for(user).post(
        reverse("registry:system_edit", args=[system.pk]),
        {
            "name": "Triage A v2",
            "intended_purpose": "Aide au tri",
            "solution_type": "S1",
            "domain": "D1",
            "modality": "M1",
            "phase": "routine",
            "device_status": "mdr_iia",
        },
    )
    assert response.status_code == 302, response.content
    events = AuditEvent.objects.filter(object_type="registry.aisystem", action="update")
    event = events.filter(changes__has_key="name").get()
    assert event.actor_name == "referent-a"
    assert event.source == "ui"
    assert event.changes["name"] == ["Triage A", "Triage A v2"]
    assert event.changes["phase"] == ["idea", "routine"]
    history = client_for(user).get(reverse("registry:system_history", args=[system.pk]))
    assert "Triage A v2" in history.content.decode()


def test_chain_verifies_when_intact(world):
    result = verify()
    assert result.ok, result.message
    assert result.checked == AuditEvent.objects.count() > 10
    assert result.chains == 3  # A, B, and the events with no establishment (the users)
    call_command("audit", "verify")


def test_each_establishment_has_its_own_chain_announced_in_the_chain_with_no_establishment(
    world,
):
    est_a, est_b = world["a"]["est"], world["b"]["est"]
    for event in AuditEvent.objects.all():
        assert event.chain == chain_key(event.establishment_id)
    for key in (chain_key(est_a.pk), chain_key(est_b.pk), NONE_CHAIN):
        seqs = list(
            AuditEvent.objects.filter(chain=key).order_by("id").values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))  # numbered in the order recorded
        head = AuditChainHead.objects.get(chain=key)
        last = AuditEvent.objects.filter(chain=key).latest("seq")
        assert (head.seq, head.hash) == (last.seq, last.hash)
    openings = AuditEvent.objects.filter(chain=NONE_CHAIN, object_type="core.auditchain")
    assert sorted(openings.values_list("object_id", flat=True)) == sorted(
        [chain_key(est_a.pk), chain_key(est_b.pk)]
    )
    # the establishment's creation opened its chain: the opening comes first in the journal
    created = AuditEvent.objects.get(object_type="core.establishment", object_id=str(est_a.pk))
    assert openings.get(object_id=chain_key(est_a.pk)).pk < created.pk
    assert (created.chain, created.seq) == (chain_key(est_a.pk), 1)


def chain_of(est) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(chain=chain_key(est.pk)).order_by("seq"))


def execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{table}", AuditEvent._meta.db_table), params)


def assert_only_a_is_named(result, est_a, seq, event_id, words: str) -> None:
    """One problem, in A's chain (B's chain and the others are intact), named in the
    message of `verify` and of `garant audit verify`."""
    assert not result.ok
    [problem] = result.problems
    assert (problem.chain, problem.seq, problem.event_id) == (chain_key(est_a.pk), seq, event_id)
    assert (result.first_bad_seq, result.first_bad_id) == (seq, event_id)
    assert f"chaîne de l'établissement {est_a.pk}" in result.message
    assert words in result.message
    with pytest.raises(CommandError, match=f"ÉCHEC : .*{re.escape(words)}"):
        call_command("audit", "verify")


def test_an_edited_event_is_named(world):
    est_a = world["a"]["est"]
    target = chain_of(est_a)[4]
    execute("UPDATE {table} SET object_repr = %s WHERE id = %s", ["falsifié", target.pk])
    assert_only_a_is_named(
        verify(), est_a, target.seq, target.pk, f"événement n° {target.pk} du journal"
    )
    assert "modifié" in verify().message


def test_a_deleted_event_in_the_middle_of_a_chain_is_named(world):
    est_a = world["a"]["est"]
    events = chain_of(est_a)
    target = events[4]
    execute("DELETE FROM {table} WHERE id = %s", [target.pk])
    words = (
        f"maillon {target.seq} manquant (entre les événements n° {events[3].pk} "
        f"et n° {events[5].pk} du journal)"
    )
    assert_only_a_is_named(verify(), est_a, target.seq, None, words)


def test_deleting_the_last_events_of_a_chain_is_detected_by_its_head(world):
    est_a = world["a"]["est"]
    events = chain_of(est_a)
    execute("DELETE FROM {table} WHERE id IN (%s, %s)", [events[-1].pk, events[-2].pk])
    words = (
        f"maillon {events[-2].seq} manquant : la chaîne s'arrête au maillon {events[-3].seq} "
        f"(événement n° {events[-3].pk} du journal) alors que sa tête en annonce "
        f"{events[-1].seq}"
    )
    assert_only_a_is_named(verify(), est_a, events[-2].seq, None, words)


def test_two_swapped_events_are_detected(world):
    est_a = world["a"]["est"]
    events = chain_of(est_a)
    first, second = events[3], events[4]
    execute("UPDATE {table} SET seq = %s WHERE id = %s", [10**9, first.pk])
    execute("UPDATE {table} SET seq = %s WHERE id = %s", [first.seq, second.pk])
    execute("UPDATE {table} SET seq = %s WHERE id = %s", [second.seq, first.pk])
    # walked in seq order, `second` now comes right after events[2]: its link is broken
    words = f"événement n° {second.pk} du journal (chaîne de l'établissement {est_a.pk}, "
    assert_only_a_is_named(verify(), est_a, first.seq, second.pk, words)
    assert "le chaînage avec l'événement précédent est rompu" in verify().message


def test_an_event_added_after_the_head_is_detected(world):
    est_a = world["a"]["est"]
    last = chain_of(est_a)[-1]
    forged = AuditEvent.objects.get(pk=last.pk)
    forged.pk, forged.seq, forged.prev_hash = None, last.seq + 1, last.hash
    forged.object_repr = "ajouté à la main"
    forged.hash = compute_hash(last.hash, forged)
    forged.save()
    words = f"maillon {last.seq + 1} ajouté hors chaîne"
    assert_only_a_is_named(verify(), est_a, last.seq + 1, None, words)


def test_a_chain_deleted_whole_with_its_head_is_detected_by_its_opening(world):
    est_b = world["b"]["est"]
    key = chain_key(est_b.pk)
    AuditEvent.objects.filter(chain=key).delete()
    AuditChainHead.objects.filter(chain=key).delete()
    result = verify()
    assert not result.ok
    [problem] = result.problems
    assert (problem.chain, problem.seq, problem.event_id) == (key, None, None)
    opening = AuditEvent.objects.get(object_type="core.auditchain", object_id=key)
    assert f"ouverte par l'événement n° {opening.pk} du journal" in result.message
    assert "ont disparu" in result.message


def test_a_deleted_head_is_detected(world):
    est_b = world["b"]["est"]
    AuditChainHead.objects.filter(chain=chain_key(est_b.pk)).delete()
    result = verify()
    assert not result.ok and "tête de chaîne supprimée" in result.message
    assert result.problems[0].chain == chain_key(est_b.pk)


def test_every_broken_chain_is_named(world):
    est_a, est_b = world["a"]["est"], world["b"]["est"]
    for est in (est_a, est_b):
        target = chain_of(est)[2]
        execute("UPDATE {table} SET object_repr = %s WHERE id = %s", ["falsifié", target.pk])
    result = verify()
    assert [p.chain for p in result.problems] == sorted([chain_key(est_a.pk), chain_key(est_b.pk)])
    assert result.message.startswith("2 chaînes en défaut")


def test_rewriting_a_row_with_a_recomputed_hash_still_breaks_the_chain(world):
    est_a = world["a"]["est"]
    events = chain_of(est_a)
    target = events[3]
    target.object_repr = "falsifié"
    target.hash = compute_hash(target.prev_hash, target)
    AuditEvent.objects.filter(pk=target.pk).update(object_repr=target.object_repr, hash=target.hash)
    result = verify()
    assert not result.ok and result.first_bad_seq == target.seq + 1
    assert result.first_bad_id == events[4].pk


def test_failed_transaction_leaves_no_event(world):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), audit_context(source="test"):
        from django.db import transaction

        with transaction.atomic():
            make_system(world["a"]["est"], name="Jamais enregistré")
            raise RuntimeError("rollback")
    assert AuditEvent.objects.count() == before
    assert not AISystem.objects.filter(name="Jamais enregistré").exists()
    assert verify().ok


def test_audit_page_is_scoped_and_filterable(world, client_for):
    auditor_a = world["users"]["a"]["auditor"]
    page = client_for(auditor_a).get(reverse("audit_list"), {"object_type": "registry.aisystem"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Triage A" in body and "Triage B" not in body
    bad = client_for(auditor_a).get(reverse("audit_list"), {"date_from": "31/02/2026"})
    assert bad.status_code == 200 and "Date invalide" in bad.content.decode()
    contributor = world["users"]["a"]["contributor"]
    assert client_for(contributor).get(reverse("audit_list")).status_code == 403


# --- a transaction whose events are chained at its end (the ingestion) ------------------------


def test_deferred_events_are_chained_at_the_end_of_the_block_with_their_actor(world):
    est_a = world["a"]["est"]
    referent = world["users"]["a"]["referent"]
    key = chain_key(est_a.pk)
    before = AuditChainHead.objects.get(chain=key).seq
    with audit.deferred():
        with audit_context(user=referent, source="api"):
            system = make_system(est_a, name="Différé")
        pending = audit.record(system, "event", {"note": [None, "différée"]})
        assert isinstance(pending, audit.Pending)  # not stored yet: the head is not locked
        assert AuditChainHead.objects.get(chain=key).seq == before
        assert not AuditEvent.objects.filter(object_repr="Différé").exists()
    created, noted = AuditEvent.objects.filter(object_repr="Différé").order_by("id")
    assert (created.action, created.actor_name, created.source) == ("create", "referent-a", "api")
    assert (noted.action, noted.actor_name, noted.source) == ("event", "système", "system")
    assert [created.seq, noted.seq] == [before + 1, before + 2]
    assert verify().ok


def test_a_failed_deferred_block_keeps_neither_the_writes_nor_their_events(world):
    count = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), audit.deferred():
        make_system(world["a"]["est"], name="Jamais différé")
        raise RuntimeError("rollback")
    assert AuditEvent.objects.count() == count
    assert not AISystem.objects.filter(name="Jamais différé").exists()
    assert verify().ok


def test_an_ingested_batch_and_its_audit_event_are_stored_together(world, monkeypatch):
    from deltalake import DeltaTable

    from garant.monitoring import ingest, storage
    from garant.monitoring.models import IngestBatch

    feed = make_feed(world["a"]["system"], operating_threshold=0.5)
    with audit_context(source="test"):
        batch = ingest.ingest(feed, "predictions", predictions(), "api")
    event = AuditEvent.objects.get(object_type="monitoring.ingestbatch")
    assert (event.chain, event.object_id) == (chain_key(world["a"]["est"].pk), str(batch.pk))
    assert verify().ok

    real_append, real_store = audit.append, storage.append
    stored = []

    def store(*args, **kwargs):
        real_store(*args, **kwargs)
        stored.append(True)

    def audit_fails(pendings):  # the batch's event, chained after the Delta append, fails
        if stored:
            raise RuntimeError("audit indisponible")
        return real_append(pendings)

    monkeypatch.setattr(storage, "append", store)
    monkeypatch.setattr(audit, "append", audit_fails)
    with pytest.raises(RuntimeError, match="audit indisponible"), audit_context(source="test"):
        ingest.ingest(feed, "predictions", predictions(start=100), "api")
    assert stored  # the rows had reached the Delta table
    monkeypatch.undo()
    assert list(IngestBatch.objects.all()) == [batch]  # the second batch was rolled back ...
    raw = DeltaTable(str(storage.table_path(feed, "predictions"))).to_pyarrow_table()
    assert sorted(raw["prediction_id"].to_pylist()) == [
        "id0",
        "id1",
        "id2",
        "id3",
    ]  # ... and its rows
    assert AuditEvent.objects.filter(object_type="monitoring.ingestbatch").count() == 1
    assert verify().ok


def predictions(n=4, start=0):
    import datetime as dt

    import pyarrow as pa

    t0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
    return pa.table(
        {
            "prediction_id": [f"id{i}" for i in range(start, start + n)],
            "timestamp": [(t0 + dt.timedelta(hours=i)).isoformat() for i in range(n)],
            "patient_id": [f"P{i}" for i in range(n)],
            "score": [0.2 * (i % 5) for i in range(n)],
            "model_version": ["1.0"] * n,
        }
    )


def test_heads_command_prints_each_chain_head_to_copy_elsewhere(world):
    out = io.StringIO()
    call_command("audit", "heads", stdout=out)
    lines = [line.split("\t") for line in out.getvalue().splitlines()]
    heads = AuditChainHead.objects.order_by("chain")
    assert [line[:3] for line in lines] == [[h.chain, str(h.seq), h.hash] for h in heads]
    est_a = world["a"]["est"]
    assert [chain_key(est_a.pk), f"chaîne de l'établissement {est_a.pk}"] in [
        [line[0], line[3]] for line in lines
    ]


def test_one_append_to_several_chains_opens_the_new_one_first(world):
    est_a, est_b, unseen = world["a"]["est"].pk, world["b"]["est"].pk, 10**6

    def pending(establishment_id):
        return audit.Pending("event", "test.lot", "-", "lot", "test.lot", establishment_id, {})

    events = audit.append([pending(est_b), pending(est_a), pending(unseen), pending(None)])
    assert [e.chain for e in events] == [chain_key(i) for i in (est_b, est_a, unseen, None)]
    assert events[2].seq == 1 and events[2].prev_hash == "0" * 64  # a new chain
    opening = AuditEvent.objects.get(object_type="core.auditchain", object_id=chain_key(unseen))
    assert opening.chain == NONE_CHAIN and opening.pk < events[2].pk
    assert verify().ok
