"""Shared fixtures: a group of two establishments (A and B) with one user per role in each,
and the demo group; both built once and shared by the tests that follow (see `Shared`)."""

from __future__ import annotations

import copy
import functools
import io
import itertools
import shutil

import pytest
import yaml
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from pytest_django.fixtures import validate_django_db

from garant.core.audit import audit_context
from garant.core.models import (
    Establishment,
    EstablishmentGroup,
    Membership,
    Role,
    Service,
    User,
)
from garant.core.referentials import parse_yaml
from garant.registry.models import AISystem, AISystemVersion, Vendor

PASSWORD = "motdepasse-de-test-42"
_counter = itertools.count(1)


YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@functools.cache
def _parsed_yaml(text: str):
    return parse_yaml(text)


def read_yaml(path):
    """The YAML file at `path`, parsed (libyaml, once per content) into a copy of its own."""
    return copy.deepcopy(_parsed_yaml(path.read_text(encoding="utf-8")))


def write_yaml(path, data, **kw) -> None:
    """`yaml.safe_dump` of `data` to `path` with libyaml's emitter when available."""
    text = yaml.dump(data, Dumper=YAML_DUMPER, allow_unicode=True, **kw)
    path.write_text(text, encoding="utf-8")


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 (hashes still read "argon2$argon2id$...") at its lowest cost, for the tests
    only: the configured parameters (100 MiB, 2 passes) make each hash or check of a
    password cost 0.1-0.3 s, some fifty times a run. tests/test_password_hashing.py checks
    the real configuration."""

    time_cost = 1
    memory_cost = 8  # KiB, argon2's minimum for one lane
    parallelism = 1


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    real = list(django_settings.PASSWORD_HASHERS)
    with override_settings(PASSWORD_HASHERS=[f"{__name__}.CheapArgon2PasswordHasher", *real]):
        yield


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once (argon2 is slow on purpose, even at its lowest cost)."""
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


# --- data built once, shared by consecutive tests ------------------------------------------
#
# Building the `world` for each of ~700 tests, or loading the demo for each demo test, was a
# large part of the suite's time. Like Django's TestCase.setUpTestData, a shared data set is
# now built once inside a transaction left open; each test using it runs in a savepoint of
# that transaction (pytest-django's `db`, rolled back after the test) and receives a deep copy
# of its Python objects, so neither its database changes nor its in-memory ones reach the
# next test. The transaction is rolled back as soon as a test needs another data set, or none:
# a transactional test (`transactional_db`, `live_server`, `django_db(transaction=True)`)
# never runs inside it and builds its own world as before.

TRANSACTIONAL_FIXTURES = {
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def transactional(item) -> bool:
    if TRANSACTIONAL_FIXTURES & set(item.fixturenames):
        return True
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return False
    is_transactional, reset_sequences, *_ = validate_django_db(marker)
    return is_transactional or reset_sequences


def uses_db(item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(
        "_django_db_helper" in names
        or TRANSACTIONAL_FIXTURES & names
        or item.get_closest_marker("django_db")
    )


#: set once a test of this process has used the live server (the browser tests) on SQLite:
#: from then on each test builds its own data, as before sharing existed. With SQLite's shared
#: in-memory database the live server's thread shares the test thread's connection, and a
#: transaction kept open across tests after it had run could no longer be rolled back
#: ("database table is locked"). `pytest_collection_modifyitems` puts the browser tests last,
#: so little is lost. PostgreSQL gives the live server its own connection: sharing goes on.
_live_server_used = False


def uses_live_server(item) -> bool:
    return "live_server" in getattr(item, "fixturenames", ())


def shared_key(item) -> tuple[str, ...]:
    """The shared data sets `item` uses, in build order (empty: none, or transactional)."""
    if _live_server_used:
        return ()
    names = getattr(item, "fixturenames", ())
    wanted = tuple(name for name in BUILDERS if name in names)
    return wanted if wanted and not transactional(item) else ()


class Shared:
    """The shared data sets currently built, in the transaction that holds them."""

    def __init__(self, blocker, monitoring_root):
        self.blocker = blocker
        self.monitoring_root = monitoring_root  # where the demo's Delta tables are written
        self.key: tuple[str, ...] = ()
        self.atomic = None
        self.data: dict[str, object] = {}

    def enter(self, key: tuple[str, ...]) -> None:
        if key == self.key:
            return
        self.close()
        with self.blocker.unblock():
            if transaction.get_connection().in_atomic_block:  # it would end with the test
                raise RuntimeError("shared test data must be built before the test's transaction")
            self.atomic = transaction.atomic()
            self.atomic._from_testcase = True  # as TestCase's own: durable blocks stay allowed
            self.atomic.__enter__()
            self.key = key
            try:
                for name in key:
                    self.data[name] = BUILDERS[name](self)
            except BaseException:
                self.close()  # a failed build is not kept for the next test
                raise

    def close(self) -> None:
        if self.atomic is None:
            return
        with self.blocker.unblock():
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
        self.atomic, self.key, self.data = None, (), {}
        shutil.rmtree(self.monitoring_root, ignore_errors=True)

    def copy(self, name: str):
        """A deep copy of data set `name` for one test (None if it is not built)."""
        return copy.deepcopy(self.data[name]) if name in self.data else None


_shared: Shared | None = None


@pytest.fixture(scope="session")
def shared_data(django_db_setup, django_db_blocker, tmp_path_factory):
    """The session's `Shared`; rolled back before the test database is destroyed."""
    global _shared
    _shared = Shared(django_db_blocker, tmp_path_factory.mktemp("shared") / "monitoring")
    yield _shared
    _shared.close()
    _shared = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture of a database test that does not use the open data sets: roll them
    back (a test without database access cannot see them)."""
    global _live_server_used
    if uses_live_server(item):
        if _shared is not None:
            _shared.close()
        _live_server_used = django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    if _shared is not None and _shared.key != shared_key(item) and uses_db(item):
        _shared.close()


#: the modules that take longest (a minute or more of one worker, see `--durations`): started
#: first among the modules of their kind, so that the workers finish together rather than one
#: worker running a long module alone at the end (pytest-xdist hands out whole files in order).
LONGEST_MODULES = {
    "test_accessibility.py",
    "test_home_browser.py",
    "test_start.py",
    "test_backup.py",
}


def pytest_collection_modifyitems(items):
    """Within each module, the tests using the same shared data sets run one after the other
    (otherwise in their order of definition), so that a module builds each set once, as
    Django's test runner groups its test cases by kind. Modules keep their order, except
    that those with browser tests come last, their browser tests after their other tests,
    and that the `LONGEST_MODULES` come first among their kind."""
    first: dict[object, int] = {}
    for i, item in enumerate(items):
        first.setdefault(item.parent, i)
        first.setdefault((item.parent, shared_key(item)), i)
    browser_modules = {item.parent for item in items if uses_live_server(item)}
    items.sort(
        key=lambda item: (
            item.parent in browser_modules,  # modules with browser tests last,
            item.path.name not in LONGEST_MODULES,  # the longest first in their kind,
            first[item.parent],
            uses_live_server(item),  # and their browser tests after the others
            first[(item.parent, shared_key(item))],
        )
    )


@pytest.fixture(autouse=True)
def _django_db_marker(request):
    """pytest-django's own autouse fixture (it opens the test's transaction for a test marked
    `django_db`), overridden to first open the shared data sets' transaction around it: an
    autouse fixture of this conftest would come after it, too late for marked tests."""
    if key := shared_key(request.node):
        request.getfixturevalue("shared_data").enter(key)
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")


@pytest.fixture(autouse=True)
def monitoring_dir(request, settings, tmp_path):
    """Each test writes its Delta tables apart: feed ids are reused between tests. A test on
    the shared demo starts from a copy of the demo's tables."""
    target = tmp_path / "monitoring"
    if "demo" in shared_key(request.node) and _shared.monitoring_root.exists():
        shutil.copytree(_shared.monitoring_root, target)
    settings.GARANT_MONITORING_DIR = target


def build_world(shared: Shared | None = None) -> dict:
    """Two establishments, each with a service, a vendor, a system with a version, and one
    user per role: {"group": group, "world": world} (see the `world` fixture)."""
    group = EstablishmentGroup.objects.create(name="GCS de test", short_name="GCS-T")
    est_a = Establishment.objects.create(group=group, code="chu-a", name="CHU A")
    est_b = Establishment.objects.create(group=group, code="chu-b", name="CHU B")
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
    return {"group": group, "world": data}


def build_demo(shared: Shared | None = None) -> str:
    """The demo group, loaded by `garant demo`: what the command printed. Shared, its Delta
    tables are written apart, and each test copies them (`monitoring_dir`)."""
    out = io.StringIO()
    if shared is None:
        call_command("demo", stdout=out)
    else:
        with override_settings(GARANT_MONITORING_DIR=shared.monitoring_root):
            call_command("demo", stdout=out)
    return out.getvalue()


#: the shared data sets, in the order they are built when a test uses several
BUILDERS = {"world": build_world, "demo": build_demo}


@pytest.fixture
def world_data(request, db) -> dict:
    """This test's copy of the shared world, or a world of its own (transactional test)."""
    if "world" in shared_key(request.node):
        return _shared.copy("world")
    return build_world()


@pytest.fixture
def group(request, db):
    if "world" in request.fixturenames:
        return request.getfixturevalue("world_data")["group"]
    return EstablishmentGroup.objects.create(name="GCS de test", short_name="GCS-T")


@pytest.fixture
def est_a(request, group):
    if "world" in request.fixturenames:
        return request.getfixturevalue("world_data")["world"]["a"]["est"]
    return Establishment.objects.create(group=group, code="chu-a", name="CHU A")


@pytest.fixture
def est_b(request, group):
    if "world" in request.fixturenames:
        return request.getfixturevalue("world_data")["world"]["b"]["est"]
    return Establishment.objects.create(group=group, code="chu-b", name="CHU B")


@pytest.fixture
def world(world_data):
    """Two establishments, each with a service, a vendor, a system with a version, and one
    user per role; `world["users"]["a"][role]` is the user holding `role` in A; `est_a`,
    `est_b` and `group` are its objects. Built once, shared (see `Shared`)."""
    return world_data["world"]


@pytest.fixture
def demo(request, db) -> str:
    """The demo group loaded by `garant demo` (what it printed); built once, shared."""
    if "demo" in shared_key(request.node):
        return _shared.copy("demo")
    return build_demo()


@pytest.fixture
def client_for():
    """A logged-in test client for a user."""

    def _client(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return _client
