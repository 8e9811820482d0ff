"""Shared fixtures: a group of two establishments (A and B) with one user per role in each."""

from __future__ import annotations

import functools
import itertools

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from garant.core.audit import audit_context
from garant.core.models import (
    Establishment,
    EstablishmentGroup,
    Membership,
    Role,
    Service,
    User,
)
from garant.registry.models import AISystem, AISystemVersion, Vendor

PASSWORD = "motdepasse-de-test-42"
_counter = itertools.count(1)


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once with the configured (argon2) hasher: argon2 is slow on purpose."""
    return make_password(PASSWORD)


def make_user(
    username: str, establishment: Establishment | None = None, role: str | None = None, **kw
):
    user = User(username=username, password=password_hash(), **kw)
    user.save()
    if establishment is not None and role is not None:
        Membership.objects.create(user=user, establishment=establishment, role=role)
    return user


def make_system(establishment: Establishment, **kw) -> AISystem:
    defaults = {
        "name": f"Système {next(_counter)}",
        "intended_purpose": "Aide à la décision",
        "solution_type": "S1",
        "domain": "D1",
        "modality": "M1",
    }
    defaults.update(kw)
    services = defaults.pop("services", [])
    system = AISystem.objects.create(establishment=establishment, **defaults)
    if services:
        system.services.set(services)
    return system


def make_feed(system: AISystem, **fields):
    """A monitoring feed "Sepsis" of `system` (created as the tests' audited source)."""
    from garant.monitoring.models import Feed

    values = {"name": "Sepsis", "slug": "sepsis", **fields}
    with audit_context(source="test"):
        return Feed.objects.create(ai_system=system, **values)


def token_client(user) -> Client:
    """A test client authenticated by a new API bearer token of `user`."""
    from garant.core.models import ApiToken

    _, raw = ApiToken.issue(user, name="script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture(autouse=True)
def monitoring_dir(settings, tmp_path):
    """Each test writes its Delta tables apart: feed ids are reused between tests."""
    settings.GARANT_MONITORING_DIR = tmp_path / "monitoring"


@pytest.fixture
def group(db):
    return EstablishmentGroup.objects.create(name="GCS de test", short_name="GCS-T")


@pytest.fixture
def est_a(group):
    return Establishment.objects.create(group=group, code="chu-a", name="CHU A")


@pytest.fixture
def est_b(group):
    return Establishment.objects.create(group=group, code="chu-b", name="CHU B")


@pytest.fixture
def world(est_a, est_b):
    """Two establishments, each with a service, a vendor, a system with a version, and one
    user per role; `world["users"]["a"][role]` is the user holding `role` in A."""
    data = {"a": {"est": est_a}, "b": {"est": est_b}, "users": {"a": {}, "b": {}}}
    with audit_context(source="test"):
        for key, est in (("a", est_a), ("b", est_b)):
            service = Service.objects.create(establishment=est, name=f"Urgences {key.upper()}")
            vendor = Vendor.objects.create(establishment=est, name=f"Éditeur {key.upper()}")
            system = make_system(
                est, name=f"Triage {key.upper()}", vendor=vendor, services=[service]
            )
            version = AISystemVersion.objects.create(ai_system=system, version="1.0")
            data[key].update(service=service, vendor=vendor, system=system, version=version)
            for role in Role.values:
                data["users"][key][role] = make_user(f"{role}-{key}", est, role)
    return data


@pytest.fixture
def client_for():
    """A logged-in test client for a user."""

    def _client(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return _client
