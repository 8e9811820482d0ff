"""Who may do what, where: the one permission layer used by the web UI, the API and the CLI.

A user holds roles per establishment (`Membership`). A permission is granted in an
establishment when one of the user's roles there is listed for it in
`garant.core.roles.PERMISSIONS`. Records are always read through a scope
(`Model.objects.restrict(user, permission)`, or `scope(queryset, user, permission)`, both
in `garant.core.tenancy`), which keeps only those of establishments where the user holds
that permission, so a user never reads or writes another establishment's records. Platform
superusers (the installer) are not restricted.

Imports go downward only: roles <- tenancy <- models <- permissions.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from garant.core.roles import ALL_ROLES, PERMISSIONS, Role
from garant.core.tenancy import establishment_ids, roles_by_establishment, scope, tenant_filter

__all__ = [
    "ALL_ROLES",
    "PERMISSIONS",
    "Role",
    "can",
    "establishment_ids",
    "get_scoped",
    "object_permission",
    "roles_by_establishment",
    "scope",
    "tenant_filter",
]


def can(user, permission: str, establishment_id: int | None = None) -> bool:
    """Has `user` got `permission` in that establishment (or in any, if none is given)?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    ids = establishment_ids(user, permission)
    if ids is None:
        return True
    return bool(ids) if establishment_id is None else establishment_id in ids


def object_permission(user, obj, permission: str) -> bool:
    """`permission` on one object, by the establishment it belongs to."""
    return can(user, permission, obj.audit_establishment_id())


def get_scoped(user, model_or_queryset, pk, permission: str = "view"):
    """The record `pk` if `user` may read it (Http404 otherwise: a record of another
    establishment is never revealed), then `permission` on it (PermissionDenied, 403)."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    obj = scope(queryset, user).filter(pk=pk).first()
    if obj is None:
        raise Http404
    if permission != "view" and not object_permission(user, obj, permission):
        raise PermissionDenied(_("Votre rôle ne permet pas cette action dans cet établissement."))
    return obj
