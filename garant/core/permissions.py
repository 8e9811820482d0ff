"""Who may do what, where: the one permission layer used by the web UI, the API and the CLI.

A user holds roles per establishment (`Membership`). A permission is granted in an
establishment when one of the user's roles there is listed for it below. Records are always
read through `scope(queryset, user, permission)`, which keeps only those of establishments
where the user holds that permission, so a user never reads or writes another
establishment's records. Platform superusers (the installer) are not restricted.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from garant.core.models import Role

ALL_ROLES = frozenset(Role.values)

# permission -> roles that grant it in an establishment
PERMISSIONS: dict[str, frozenset[str]] = {
    # the register and its objects (systems, versions, vendors)
    "view": ALL_ROLES,
    "add": frozenset({Role.ADMIN, Role.REFERENT, Role.DPO, Role.CONTRIBUTOR}),
    "change": frozenset({Role.ADMIN, Role.REFERENT, Role.DPO, Role.COMMITTEE}),
    "delete": frozenset({Role.ADMIN, Role.REFERENT}),
    "import": frozenset({Role.ADMIN, Role.REFERENT}),
    # the establishment itself: its services, users and roles
    "manage": frozenset({Role.ADMIN}),
    # governance: committees, their meetings, decisions and actions (others read them)
    "govern": frozenset({Role.ADMIN, Role.COMMITTEE}),
    # the lifecycle: anyone submits an idea; the committee and the project leads triage
    # ideas and steer projects (charter, indicators, phases, assessments)
    "submit_idea": ALL_ROLES,
    "triage": frozenset({Role.ADMIN, Role.REFERENT, Role.COMMITTEE}),
    "assess": frozenset({Role.ADMIN, Role.REFERENT, Role.COMMITTEE}),
    # the audit trail
    "audit": frozenset({Role.ADMIN, Role.DPO, Role.AUDITOR, Role.COMMITTEE}),
}


def roles_by_establishment(user) -> dict[int, frozenset[str]]:
    """{establishment id: roles}; one query per request, cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_garant_roles", None)
    if cached is None:
        from garant.core.models import Membership

        roles: dict[int, set[str]] = {}
        for est_id, role in Membership.objects.filter(user=user).values_list(
            "establishment_id", "role"
        ):
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


def can(user, permission: str, establishment_id: int | None = None) -> bool:
    """Has `user` got `permission` in that establishment (or in any, if none is given)?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    ids = establishment_ids(user, permission)
    if ids is None:
        return True
    return bool(ids) if establishment_id is None else establishment_id in ids


def scope(queryset, user, permission: str = "view"):
    """The records of `queryset` in establishments where `user` has `permission`."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    ids = establishment_ids(user, permission)
    if ids is None:
        return queryset
    return queryset.filter(tenant_filter(queryset.model, ids))


def tenant_filter(model, ids) -> Q:
    custom = getattr(model, "tenant_q", None)
    if custom is not None:
        return custom(ids)
    return Q(**{f"{model.tenant_path}__in": ids})


def object_permission(user, obj, permission: str) -> bool:
    """`permission` on one object, by the establishment it belongs to."""
    return can(user, permission, obj.audit_establishment_id())


def get_scoped(user, model_or_queryset, pk, permission: str = "view"):
    """The record `pk` if `user` may read it (Http404 otherwise: a record of another
    establishment is never revealed), then `permission` on it (PermissionDenied, 403)."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset.objects.all()
    )
    obj = scope(queryset, user).filter(pk=pk).first()
    if obj is None:
        raise Http404
    if permission != "view" and not object_permission(user, obj, permission):
        raise PermissionDenied(_("Votre rôle ne permet pas cette action dans cet établissement."))
    return obj
