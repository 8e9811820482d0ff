"""Tenancy by construction: every establishment-owned record is read through a user's scope.

Every model owned by an establishment derives from `TenantModel` and names, in
`tenant_path`, the chain of foreign keys that leads from it to its `core.Establishment`
(`"ai_system__establishment_id"`). Its default manager hands out `TenantQuerySet`s, which
know three states:

- restricted: `Model.objects.restrict(user, "change")` (or `scope(queryset, user, perm)`)
  keeps the rows of the establishments where the user holds that permission;
- unrestricted: `Model.objects.unrestricted()` says "system code, on purpose" (the scoping
  itself, the demo loader, commands, signals, cross-establishment jobs);
- neither: a plain `Model.objects.filter(...)`.

While a request is served (`TenancyMiddleware`), a queryset of the third kind refuses to be
read (`UnscopedQueryError`): a view or an API endpoint cannot fetch a record without a user
scope, it fails loudly instead of leaking another establishment's record. Querysets of a
related manager (`system.versions.all()`, prefetches) are scoped by their parent object,
which was itself fetched through a scope. `exists()` is not guarded: Django's uniqueness
validation calls it on the default manager. Outside requests (commands, tasks, tests'
set-up) nothing is refused. See docs/decisions/0010-tenancy-by-construction.md.

A start-up check (`check_tenancy`) refuses a model of Garant that is neither a
`TenantModel` whose `tenant_path` follows real foreign keys to `core.Establishment`, nor a
model visible in several establishments (`tenant_q`), nor declared in `NOT_TENANT_OWNED`.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from django.apps import apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q

from garant.core.roles import PERMISSIONS

# models of Garant that belong to no establishment, and why
NOT_TENANT_OWNED: dict[str, str] = {
    "core.ApiToken": "belongs to its user, who sees only their own tokens",
    "core.AuditEvent": "history outlives its records: establishment_id is a plain number, "
    "the trail's pages filter on it",
    "core.AuditChainHead": "one head row per audit chain (per establishment), never listed",
    "sso.Identity": "belongs to its user (the provider's subject); read by the sign-in flow "
    "and on the user's own page, which is scoped through the user",
}

_enforced: ContextVar[bool] = ContextVar("garant_tenancy_enforced", default=False)


class UnscopedQueryError(RuntimeError):
    """A request read establishment-owned records without restricting them to a user."""


@contextlib.contextmanager
def enforced():
    """Refuse unscoped reads of establishment-owned records inside this block."""
    token = _enforced.set(True)
    try:
        yield
    finally:
        _enforced.reset(token)


class TenancyMiddleware:
    """Every view and API endpoint runs with unscoped reads refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with enforced():
            return self.get_response(request)


class TenantQuerySet(models.QuerySet):
    _tenant_scope: str | None = None  # "user" or "unrestricted" once said

    def restrict(self, user, permission: str = "view"):
        """The rows in establishments where `user` holds `permission` (none if anonymous)."""
        return scope(self, user, permission)

    for_user = restrict

    def unrestricted(self):
        """Every row, on purpose: for system code, never for what a user asked for."""
        clone = self._chain()
        clone._tenant_scope = "unrestricted"
        return clone

    def within(self, **lookups):
        """The rows related to records already in scope: each lookup's value is a scoped
        queryset, a record (or records) of an establishment-owned model, read through a
        scope like a related manager's, or a user (their own rows: notifications, ideas).
        Anything else (a list of ids, an unscoped queryset) is refused."""
        for name, value in lookups.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            if not all(_in_scope(v) for v in values):
                raise UnscopedQueryError(
                    f"{self.model._meta.label}.within({name}=…): give a scoped queryset, "
                    f"records or a user, not {type(value).__name__}."
                )
        clone = self.filter(**lookups)
        clone._tenant_scope = "user"
        return clone

    def none(self):
        """No row: nothing to reveal, so it counts as scoped."""
        clone = super().none()
        clone._tenant_scope = self._tenant_scope or "user"
        return clone

    def _mark_scoped(self):
        self._tenant_scope = "user"
        return self

    @property
    def is_scoped(self) -> bool:
        """Restricted to a user, unrestricted on purpose, or read through a parent object."""
        return self._tenant_scope is not None or "instance" in self._hints

    def _clone(self):
        clone = super()._clone()
        clone._tenant_scope = self._tenant_scope
        return clone

    def _refuse_unscoped(self):
        if _enforced.get() and not self.is_scoped:
            raise UnscopedQueryError(
                f"{self.model._meta.label}: read without a user scope while serving a "
                "request; use .restrict(user, permission) or get_scoped(), or "
                ".unrestricted() for system code."
            )

    def _fetch_all(self):
        if self._result_cache is None:
            self._refuse_unscoped()
        super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._refuse_unscoped()
        return super().iterator(*args, **kwargs)

    def count(self):
        if self._result_cache is None:
            self._refuse_unscoped()
        return super().count()

    def aggregate(self, *args, **kwargs):
        self._refuse_unscoped()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._refuse_unscoped()
        return super().update(**kwargs)

    update.alters_data = True

    def delete(self):
        self._refuse_unscoped()
        return super().delete()

    delete.alters_data = True
    delete.queryset_only = True


def _in_scope(value) -> bool:
    from django.contrib.auth.models import AbstractBaseUser

    if isinstance(value, TenantQuerySet):
        return value.is_scoped
    return isinstance(value, (TenantModel, AbstractBaseUser))


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    pass


class TenantModel(models.Model):
    """A record owned by one establishment, reached through `tenant_path` (foreign keys)."""

    tenant_path: str = ""

    objects = TenantManager()

    class Meta:
        abstract = True


# --- scoping: the one place where a user's roles become a filter -----------------------------


def roles_by_establishment(user) -> dict[int, frozenset[str]]:
    """{establishment id: roles}; one query per request, cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_garant_roles", None)
    if cached is None:
        membership = apps.get_model("core", "Membership")
        roles: dict[int, set[str]] = {}
        rows = membership.objects.unrestricted().filter(user=user)
        for est_id, role in rows.values_list("establishment_id", "role"):
            roles.setdefault(est_id, set()).add(role)
        cached = {k: frozenset(v) for k, v in roles.items()}
        user._garant_roles = cached
    return cached


def establishment_ids(user, permission: str) -> set[int] | None:
    """Establishments where `user` has `permission`; None means all (superuser)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return None
    granted = PERMISSIONS[permission]
    return {est for est, roles in roles_by_establishment(user).items() if roles & granted}


def scope(queryset, user, permission: str = "view"):
    """The records of `queryset` in establishments where `user` has `permission`."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        scoped = queryset.none()
    else:
        ids = establishment_ids(user, permission)
        scoped = (
            queryset.all() if ids is None else queryset.filter(tenant_filter(queryset.model, ids))
        )
    if isinstance(scoped, TenantQuerySet):
        scoped._mark_scoped()
    return scoped


def tenant_filter(model, ids) -> Q:
    custom = getattr(model, "tenant_q", None)
    if custom is not None:
        return custom(ids)
    return Q(**{f"{model.tenant_path}__in": ids})


# --- the start-up check ----------------------------------------------------------------------


def tenant_path_error(model) -> str | None:
    """Why `model.tenant_path` does not lead to core.Establishment (None when it does)."""
    establishment = apps.get_model("core", "Establishment")
    path = model.tenant_path
    if not isinstance(path, str) or not path:
        return "tenant_path is empty"
    current = model
    parts = path.split("__")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and part in ("id", "pk") and current is establishment:
            return None
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            field = next(
                (f for f in current._meta.concrete_fields if f.attname == part and last), None
            )
            if field is None:
                return f"{current._meta.label} has no field {part!r}"
        if not (field.is_relation and (field.many_to_one or field.one_to_one) and field.concrete):
            return f"{current._meta.label}.{part} is not a foreign key"
        current = field.related_model
    if current is not establishment:
        return f"it ends at {current._meta.label}, not core.Establishment"
    return None


def tenancy_errors(models_to_check) -> list[checks.CheckMessage]:
    errors = []
    for model in models_to_check:
        label = model._meta.label
        if label in NOT_TENANT_OWNED:
            continue
        if issubclass(model, TenantModel):
            why = tenant_path_error(model)
            if why:
                errors.append(
                    checks.Error(
                        f"{label}.tenant_path = {model.tenant_path!r} does not lead to the "
                        f"record's establishment: {why}.",
                        hint="Name the foreign keys from the model to core.Establishment, "
                        "e.g. 'ai_system__establishment_id'.",
                        obj=model,
                        id="garant.E101",
                    )
                )
            elif not isinstance(model._default_manager.all(), TenantQuerySet):
                errors.append(
                    checks.Error(
                        f"{label}'s default manager does not hand out TenantQuerySets.",
                        hint="Derive its queryset from garant.core.tenancy.TenantQuerySet.",
                        obj=model,
                        id="garant.E102",
                    )
                )
        elif not callable(getattr(model, "tenant_q", None)):
            errors.append(
                checks.Error(
                    f"{label} belongs to no establishment that Garant can scope by.",
                    hint="Derive it from garant.core.tenancy.TenantModel with a tenant_path, "
                    "give it a tenant_q(ids), or declare it in tenancy.NOT_TENANT_OWNED "
                    "with the reason.",
                    obj=model,
                    id="garant.E100",
                )
            )
    return errors


@checks.register(checks.Tags.models)
def check_tenancy(app_configs=None, **kwargs):
    """Every concrete model of Garant says which establishment its records belong to."""
    configs = app_configs or apps.get_app_configs()
    candidates = [
        model
        for config in configs
        if config.name.startswith("garant.")
        for model in config.get_models()
        if not model._meta.proxy
    ]
    return tenancy_errors(candidates)
