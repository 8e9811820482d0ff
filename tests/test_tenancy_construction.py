"""Tenancy by construction: the start-up check of every model's tenant path, and the guard
that refuses unscoped reads while a request is served (docs/decisions/0010)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from garant.core import tenancy
from garant.core.models import ApiToken, Membership, Role
from garant.core.tenancy import UnscopedQueryError, check_tenancy, enforced
from garant.monitoring.models import Feed
from garant.registry.models import AISystem, AISystemVersion


def ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_every_model_of_garant_says_whose_it_is():
    assert check_tenancy() == []
    call_command("check")  # registered with Django's checks: start-up runs it


@pytest.mark.parametrize(
    "path,why",
    [
        ("ai_system__vendor_id", "ends at registry.Vendor"),
        ("ai_system__nope", "has no field 'nope'"),
        ("name__establishment", "name is not a foreign key"),
        ("", "tenant_path is empty"),
    ],
)
def test_a_wrong_tenant_path_stops_start_up(monkeypatch, path, why):
    monkeypatch.setattr(Feed, "tenant_path", path)
    [error] = check_tenancy()
    assert error.id == "garant.E101" and error.obj is Feed
    assert why in error.msg


def test_a_model_owned_by_nobody_must_be_declared(monkeypatch):
    declared = dict(tenancy.NOT_TENANT_OWNED)
    del declared["core.ApiToken"]
    monkeypatch.setattr(tenancy, "NOT_TENANT_OWNED", declared)
    [error] = check_tenancy()
    assert error.id == "garant.E100" and error.obj is ApiToken


def test_unscoped_reads_are_refused_while_a_request_is_served(world):
    user = world["users"]["a"][Role.AUDITOR]
    system_a, system_b = world["a"]["system"], world["b"]["system"]
    with enforced():
        with pytest.raises(UnscopedQueryError, match="registry.AISystem"):
            list(AISystem.objects.all())
        for read in (
            lambda qs: qs.get(pk=system_a.pk),
            lambda qs: qs.first(),
            lambda qs: qs.count(),
            lambda qs: list(qs.iterator()),
            lambda qs: qs.update(name="x"),
            lambda qs: qs.delete(),
        ):
            with pytest.raises(UnscopedQueryError):
                read(AISystem.objects.filter(pk=system_b.pk))
        # scoped, on purpose, through a parent: allowed
        assert list(AISystem.objects.restrict(user)) == [system_a]
        assert AISystem.objects.restrict(user).filter(pk=system_b.pk).first() is None
        assert AISystem.objects.unrestricted().count() == 2
        assert list(system_a.versions.all()) == [world["a"]["version"]]
        assert list(AISystemVersion.objects.within(ai_system=system_a)) == [world["a"]["version"]]
        assert list(AISystem.objects.none()) == []
        assert AISystem.objects.filter(pk=system_b.pk).exists()  # uniqueness checks use it
        with pytest.raises(UnscopedQueryError, match="within"):
            AISystemVersion.objects.within(ai_system__in=[system_a.pk])
        with pytest.raises(UnscopedQueryError, match="within"):
            AISystemVersion.objects.within(ai_system__in=AISystem.objects.all())
    # outside a request (commands, loaders, tests' set-up) nothing is refused
    assert AISystem.objects.count() == 2


def test_anonymous_and_inactive_users_get_nothing(world):
    user = world["users"]["a"][Role.ADMIN]
    user.is_active = False
    assert not AISystem.objects.restrict(user).exists()
    from django.contrib.auth.models import AnonymousUser

    assert not AISystem.objects.restrict(AnonymousUser()).exists()
    assert Membership.objects.restrict(world["users"]["a"][Role.AUDITOR], "manage").count() == 0
