"""The API enforces the same permissions as the UI: every write by every role on A's own
records is allowed exactly when the role grants the permission.

Tenancy (records of establishment B never readable nor writable by A, anonymous refused) is
asserted for every operation by tests/test_tenancy_generated.py.
"""

import pytest

from garant.core.models import Establishment, Role, Service
from garant.core.permissions import PERMISSIONS
from garant.registry.models import AISystem, AISystemVersion, Vendor
from tests.conftest import make_system, make_user

RESOURCES = ["systems", "versions", "vendors", "services", "establishments"]
ACTIONS = ["list", "get", "create", "put", "patch", "delete"]
ROLES = Role.values

# which object of the `world` fixture each resource works on
RECORD_KEY = {
    "systems": "system",
    "versions": "version",
    "vendors": "vendor",
    "services": "service",
    "establishments": "est",
}

# the permission each write needs in the record's establishment; None: superusers only
REQUIRED = {
    "systems": {"create": "add", "put": "change", "patch": "change", "delete": "delete"},
    "versions": {"create": "change", "put": "change", "patch": "change", "delete": "change"},
    "vendors": {"create": "add", "put": "change", "patch": "change", "delete": "delete"},
    "services": {"create": "manage", "put": "manage", "patch": "manage", "delete": "manage"},
    "establishments": {"create": None, "put": "manage", "patch": "manage", "delete": None},
}
SUCCESS = {"list": 200, "get": 200, "create": 201, "put": 200, "patch": 200, "delete": 204}


def full_payload(resource, side):
    """A valid full representation of a record of `side` (the `world` dict of A or B)."""
    est = side["est"]
    return {
        "systems": {
            "establishment": est.pk,
            "name": "Nouveau système",
            "vendor": side["vendor"].pk,
            "services": [side["service"].pk],
            "intended_purpose": "Lecture de radiographies",
            "solution_type": "S1",
            "domain": "D1",
            "modality": "M1",
        },
        "versions": {"ai_system": side["system"].pk, "version": "9.9"},
        "vendors": {"establishment": est.pk, "name": "Nouvel éditeur"},
        "services": {"establishment": est.pk, "name": "Nouveau service"},
        "establishments": {"code": "nouveau", "name": "Nouvel établissement"},
    }[resource]


PATCHES = {
    "systems": {"phase": "poc"},
    "versions": {"change_summary": "Recalibrage"},
    "vendors": {"notes": "Contrat renégocié"},
    "services": {"pole": "Pôle urgences"},
    "establishments": {"city": "Lyon"},
}


def deletable(resource, side):
    """A record of `side` that nothing depends on (the world's vendor is used by its system)."""
    est = side["est"]
    if resource == "systems":
        return make_system(est, name="À supprimer")
    if resource == "versions":
        return AISystemVersion.objects.create(ai_system=side["system"], version="0.1")
    if resource == "vendors":
        return Vendor.objects.create(establishment=est, name="Éditeur à supprimer")
    if resource == "services":
        return Service.objects.create(establishment=est, name="Service à supprimer")
    return est


def call(client, resource, action, side, record=None):
    """Perform `action` on `resource`; `record` defaults to `side`'s record of that resource."""
    record = record or side[RECORD_KEY[resource]]
    url = f"/api/{resource}"
    if action == "list":
        return client.get(url)
    if action == "create":
        return client.post(url, full_payload(resource, side), content_type="application/json")
    url = f"{url}/{record.pk}"
    if action == "get":
        return client.get(url)
    if action == "put":
        body = full_payload(resource, side)
        if resource == "establishments":
            body["code"] = record.code
        elif resource == "versions":
            body["version"] = record.version
        return client.put(url, body, content_type="application/json")
    if action == "patch":
        return client.patch(url, PATCHES[resource], content_type="application/json")
    return client.delete(url)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ROLES)
def test_roles_on_their_own_establishment(world, client_for, role, resource, action):
    """Allowed exactly when the role grants the permission the action needs (PERMISSIONS)."""
    a = world["a"]
    record = deletable(resource, a) if action == "delete" else None
    response = call(client_for(world["users"]["a"][role]), resource, action, a, record)

    if action in ("list", "get"):
        allowed = True
    else:
        needed = REQUIRED[resource][action]
        allowed = needed is not None and role in PERMISSIONS[needed]
    assert response.status_code == (SUCCESS[action] if allowed else 403), response.content


# --- the same rules, spelt out role by role (not derived from the permission table) ----------


def test_admin_creates_updates_and_deletes_records_of_their_establishment(world, client_for):
    a = world["a"]
    client = client_for(world["users"]["a"][Role.ADMIN])
    for resource in ["systems", "versions", "vendors", "services"]:
        created = call(client, resource, "create", a)
        assert created.status_code == 201, (resource, created.content)
        record = type(a[RECORD_KEY[resource]]).objects.get(pk=created.json()["id"])
        assert call(client, resource, "put", a, record).status_code == 200
        assert call(client, resource, "patch", a, record).status_code == 200
        assert call(client, resource, "delete", a, record).status_code == 204
        assert not type(record).objects.filter(pk=record.pk).exists()
    assert call(client, "establishments", "patch", a).status_code == 200
    assert Establishment.objects.get(pk=a["est"].pk).city == "Lyon"
    # creating or deleting an establishment is for the platform's administrators
    assert call(client, "establishments", "create", a).status_code == 403
    assert call(client, "establishments", "delete", a).status_code == 403


def test_contributor_declares_a_system_but_cannot_change_or_delete_it(world, client_for):
    a = world["a"]
    client = client_for(world["users"]["a"][Role.CONTRIBUTOR])
    created = client.post(
        "/api/systems", full_payload("systems", a), content_type="application/json"
    )
    assert created.status_code == 201
    system = AISystem.objects.get(pk=created.json()["id"])
    assert system.created_by == world["users"]["a"][Role.CONTRIBUTOR]
    assert call(client, "systems", "patch", a, system).status_code == 403
    assert call(client, "systems", "delete", a, system).status_code == 403
    assert call(client, "versions", "create", a).status_code == 403
    assert AISystem.objects.filter(pk=system.pk).exists()


def test_auditor_only_reads(world, client_for):
    a = world["a"]
    client = client_for(world["users"]["a"][Role.AUDITOR])
    for resource in RESOURCES:
        assert call(client, resource, "list", a).status_code == 200
        assert call(client, resource, "get", a).status_code == 200
        for action in ["create", "put", "patch", "delete"]:
            response = call(client, resource, action, a)
            assert response.status_code == 403, (resource, action)
            assert response.json()["detail"]


def test_user_without_any_role_reads_nothing(world, client_for):
    client = client_for(make_user("sans-role"))
    for resource in RESOURCES:
        assert client.get(f"/api/{resource}").json() == {"items": [], "count": 0}
        assert call(client, resource, "get", world["a"]).status_code == 404


def test_superuser_creates_and_deletes_establishments(world, client_for):
    client = client_for(make_user("installateur", is_superuser=True, is_staff=True))
    created = call(client, "establishments", "create", world["a"])
    assert created.status_code == 201
    new = Establishment.objects.get(pk=created.json()["id"])
    assert call(client, "establishments", "delete", world["a"], new).status_code == 204
    # an establishment that still holds records is not deleted
    response = call(client, "establishments", "delete", world["b"])
    assert response.status_code == 409
    assert "Suppression impossible" in response.json()["detail"]
    assert Establishment.objects.filter(pk=world["b"]["est"].pk).exists()
