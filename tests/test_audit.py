"""The audit trail: every write recorded with who/what/before/after, and a verifiable chain."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from garant.core.audit import audit_context, verify
from garant.core.models import AuditEvent
from garant.registry.models import AISystem
from tests.conftest import make_system


def test_create_update_delete_are_recorded_with_before_and_after(world):
    user = world["users"]["a"]["referent"]
    with audit_context(user=user, source="test"):
        system = make_system(world["a"]["est"], name="Aide au codage PMSI", domain="D2")
        system.phase = "poc"
        system.save()
        pk = system.pk
        system.delete()
    events = list(
        AuditEvent.objects.filter(object_type="registry.aisystem", object_id=str(pk)).order_by(
            "seq"
        )
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
    call_command("audit", "verify")


@pytest.mark.parametrize("how", ["edit", "delete", "delete_last"])
def test_tampering_with_one_row_is_detected_and_named(world, how):
    events = list(AuditEvent.objects.order_by("seq"))
    target = events[-1] if how == "delete_last" else events[len(events) // 2]
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        if how == "edit":
            cursor.execute(
                f"UPDATE {table} SET object_repr = %s WHERE seq = %s", ["falsifié", target.seq]
            )
        else:
            cursor.execute(f"DELETE FROM {table} WHERE seq = %s", [target.seq])
    result = verify()
    assert not result.ok
    assert result.first_bad_seq == target.seq
    assert f"n° {target.seq}" in result.message
    with pytest.raises(CommandError, match=f"n° {target.seq}"):
        call_command("audit", "verify")


def test_rewriting_a_row_with_a_recomputed_hash_still_breaks_the_chain(world):
    from garant.core.audit import compute_hash

    events = list(AuditEvent.objects.order_by("seq"))
    target = events[3]
    target.object_repr = "falsifié"
    target.hash = compute_hash(target.prev_hash, target)
    AuditEvent.objects.filter(pk=target.pk).update(object_repr=target.object_repr, hash=target.hash)
    result = verify()
    assert not result.ok and result.first_bad_seq == target.seq + 1


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
