"""The home page (its sections come from the apps: `garant.core.home`) and the audit trail page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core import home as home_sections
from garant.core import permissions
from garant.core.dates import parse_day
from garant.core.history import describe, kind_label
from garant.core.models import AuditEvent


@login_required
def home(request):
    """The home page: what each app contributes (`garant.core.home`)."""
    context = {
        **home_sections.context_for(request.user),
        "today": timezone.localdate(),
        "roles": request.user.memberships.select_related("establishment"),
    }
    return render(request, "core/home.html", context)


@login_required
def audit_list(request):
    if not permissions.can(request.user, "audit"):
        raise PermissionDenied(_("Le journal d'audit est réservé aux rôles habilités."))
    events = AuditEvent.objects.order_by("-id")
    ids = permissions.establishment_ids(request.user, "audit")
    if ids is not None:
        # events of the user's establishments, and their own events with no establishment
        events = events.filter(
            Q(establishment_id__in=ids) | Q(establishment_id__isnull=True, actor_id=request.user.pk)
        )
    filters = {
        "object_type": request.GET.get("object_type", "").strip(),
        "user": request.GET.get("user", "").strip(),
        "date_from": request.GET.get("date_from", "").strip(),
        "date_to": request.GET.get("date_to", "").strip(),
        "q": request.GET.get("q", "").strip(),
    }
    errors = []
    if filters["object_type"]:
        events = events.filter(object_type=filters["object_type"])
    if filters["user"]:
        events = events.filter(actor_name__iexact=filters["user"])
    if filters["q"]:
        events = events.filter(object_repr__icontains=filters["q"])
    for key, lookup in (("date_from", "at__date__gte"), ("date_to", "at__date__lte")):
        if filters[key]:
            day = parse_day(filters[key])
            if day is None:
                errors.append(
                    _("Date invalide : « %(v)s » (attendu jj/mm/aaaa).") % {"v": filters[key]}
                )
            else:
                events = events.filter(**{lookup: day})
    object_types = AuditEvent.objects.order_by().values_list("object_type", flat=True).distinct()
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    describe(page)
    kinds = sorted(((t, kind_label(t)) for t in object_types), key=lambda pair: pair[1].lower())
    return render(
        request,
        "core/audit_list.html",
        {
            "page": page,
            "filters": filters,
            "errors": errors,
            "object_types": kinds,
            "query": query.urlencode(),
        },
    )
