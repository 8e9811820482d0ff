"""Administration of users and their roles by an establishment's administrators.

Who may do what (the "manage" permission of `garant.core.permissions`):

- the pages need "manage" in at least one establishment (an administrator there, or a
  platform superuser); anyone else gets 403;
- an administrator sees only the users who hold a role in an establishment they administer
  (404 for the others) and, for each, only the roles held there; they give and take roles
  only in their own establishments;
- the account itself (names, e-mail, active flag, password) is shared by every establishment
  where its owner works, so changing it needs to administer all of them, and a platform
  superuser's account is changed only by a superuser. Otherwise the administrator of A could
  reset the password of someone who is also administrator of B, and sign in as them.

Temporary passwords (new account, reset) are shown once, in the response to the POST that
made them, never stored anywhere else; the owner must replace them at the next sign-in
(`User.must_change_password`, enforced by `ForcePasswordChangeMiddleware`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import audit, permissions
from garant.core.forms import (
    MembershipForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
    temporary_password,
)
from garant.core.history import describe
from garant.core.models import AuditEvent, Establishment, Membership, Role, User


def _managed_ids(request) -> set[int] | None:
    """Establishments the request's user administers (None: all); 403 if none."""
    if not permissions.can(request.user, "manage"):
        raise PermissionDenied(_("Réservé aux administrateurs d'établissement."))
    return permissions.establishment_ids(request.user, "manage")


def _managed_establishments(request):
    return Establishment.objects.for_user(request.user, "manage").order_by("name")


def _get_user(request, pk) -> User:
    users = permissions.scope(User.objects.all(), request.user, "manage")
    return get_object_or_404(users, pk=pk)


def _memberships(ids):
    """The roles an administrator of `ids` may see and change (`ids` is the scope: the
    establishments they manage, from `establishment_ids(user, "manage")`)."""
    queryset = (
        Membership.objects.unrestricted()
        .select_related("establishment")
        .order_by("establishment__name", "role")
    )
    return queryset if ids is None else queryset.filter(establishment_id__in=ids)


def account_refusal(actor, target, ids) -> str:
    """Why `actor` may not change `target`'s account itself ("" when they may)."""
    if actor.is_superuser:
        return ""
    if target.is_superuser:
        return _("Seul un super-utilisateur de la plateforme peut modifier ce compte.")
    if target.memberships.exclude(establishment_id__in=ids).exists():
        return _(
            "Ce compte a aussi des rôles dans des établissements que vous n'administrez pas : "
            "son identité, son activation et son mot de passe ne peuvent être modifiés que par "
            "un administrateur de la plateforme. Vous pouvez gérer ses rôles dans vos "
            "établissements."
        )
    return ""


def _locked_usernames(usernames) -> set[str]:
    """Which of these accounts django-axes currently refuses after too many failures."""
    from axes.models import AccessAttempt

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return set(
        AccessAttempt.objects.filter(
            username__in=list(usernames),
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=since,
        ).values_list("username", flat=True)
    )


def _show_password(request, target, password: str, created: bool):
    response = render(
        request,
        "core/user_password.html",
        {"target": target, "password": password, "created": created},
    )
    add_never_cache_headers(response)
    return response


# --- pages --------------------------------------------------------------------------------


@login_required
def user_list(request):
    ids = _managed_ids(request)
    establishments = _managed_establishments(request)
    form = UserFilterForm(request.GET or None, establishments=establishments)
    users = permissions.scope(User.objects.all(), request.user, "manage")
    if form.is_bound and form.is_valid():
        users = form.filter(users, ids)
    users = users.order_by("last_name", "first_name", "username").prefetch_related(
        Prefetch("memberships", queryset=_memberships(ids), to_attr="visible_memberships")
    )
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/user_list.html",
        {
            "page": page,
            "form": form,
            "query": query.urlencode(),
            "locked": _locked_usernames(u.username for u in page),
        },
    )


@login_required
def user_create(request):
    _managed_ids(request)
    form = UserCreateForm(
        request.POST or None,
        establishments=_managed_establishments(request),
        actor=request.user,
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
        return _show_password(request, user, form.password, created=True)
    return render(
        request,
        "core/user_form.html",
        {"form": form, "title": _("Nouvel utilisateur"), "creating": True},
    )


@login_required
def user_detail(request, pk):
    ids = _managed_ids(request)
    target = _get_user(request, pk)
    form = MembershipForm(
        request.POST or None, user=target, establishments=_managed_establishments(request)
    )
    if request.method == "POST" and form.is_valid():
        membership = form.save()
        messages.success(
            request,
            _("Rôle « %(role)s » donné dans %(est)s.")
            % {"role": membership.get_role_display(), "est": membership.establishment.name},
        )
        return redirect("accounts:user_detail", pk=target.pk)
    events = AuditEvent.objects.filter(subject=f"core.user:{target.pk}").order_by("-id")
    if ids is not None:
        events = events.filter(Q(establishment_id__in=ids) | Q(establishment_id__isnull=True))
    events = Paginator(events, 20).get_page(request.GET.get("page"))
    describe(events)
    refusal = account_refusal(request.user, target, ids)
    return render(
        request,
        "core/user_detail.html",
        {
            "target": target,
            "memberships": _memberships(ids).filter(user=target),
            "form": form,
            "account_refusal": refusal,
            "can_reset": not refusal and target.pk != request.user.pk,
            "is_locked": bool(_locked_usernames([target.username])),
            "events": events,
        },
    )


@login_required
def user_edit(request, pk):
    ids = _managed_ids(request)
    target = _get_user(request, pk)
    if refusal := account_refusal(request.user, target, ids):
        raise PermissionDenied(refusal)
    form = UserEditForm(request.POST or None, instance=target, actor=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, _("Modifications enregistrées."))
        return redirect("accounts:user_detail", pk=target.pk)
    return render(
        request,
        "core/user_form.html",
        {
            "form": form,
            "target": target,
            "title": _("Modifier le compte de %(name)s") % {"name": target},
        },
    )


@login_required
@require_POST
def membership_remove(request, pk, membership_pk):
    ids = _managed_ids(request)
    target = _get_user(request, pk)
    membership = get_object_or_404(_memberships(ids), pk=membership_pk, user=target)
    if target.pk == request.user.pk and membership.role == Role.ADMIN and ids is not None:
        messages.error(
            request,
            _(
                "Vous ne pouvez pas retirer votre propre rôle d'administrateur : "
                "demandez-le à un autre administrateur."
            ),
        )
        return redirect("accounts:user_detail", pk=target.pk)
    label = _("Rôle « %(role)s » retiré dans %(est)s.") % {
        "role": membership.get_role_display(),
        "est": membership.establishment.name,
    }
    with transaction.atomic():
        membership.delete()
    messages.success(request, label)
    if ids is not None and not target.memberships.filter(establishment_id__in=ids).exists():
        messages.info(
            request,
            _(
                "%(name)s n'a plus de rôle dans vos établissements et ne figure plus dans votre liste."
            )
            % {"name": target},
        )
        return redirect("accounts:user_list")
    return redirect("accounts:user_detail", pk=target.pk)


@login_required
def user_password_reset(request, pk):
    ids = _managed_ids(request)
    target = _get_user(request, pk)
    if refusal := account_refusal(request.user, target, ids):
        raise PermissionDenied(refusal)
    if target.pk == request.user.pk:
        raise PermissionDenied(
            _("Pour votre propre compte, utilisez « Changer mon mot de passe ».")
        )
    if request.method == "POST":
        password = temporary_password()
        with transaction.atomic():
            target.set_password(password)
            target.must_change_password = True
            target.save()
            audit.record(target, "event", {"password_reset": [None, True]})
            _unlock(target)
        return _show_password(request, target, password, created=False)
    return render(request, "core/user_password_reset.html", {"target": target})


@login_required
@require_POST
def user_unlock(request, pk):
    _managed_ids(request)
    target = _get_user(request, pk)
    with transaction.atomic():
        if _unlock(target):
            audit.record(target, "event", {"login_unlocked": [None, True]})
    messages.success(
        request, _("La connexion de %(name)s est débloquée.") % {"name": target.username}
    )
    return redirect("accounts:user_detail", pk=target.pk)


def _unlock(target) -> int:
    """Forget django-axes' failed attempts for this account (after a reset or on request)."""
    from axes.utils import reset

    return reset(username=target.username)
