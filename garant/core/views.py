"""Home dashboard, accounts pages and the audit trail page."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from garant.compliance.dashboard import todo_counts
from garant.core import permissions
from garant.core.models import AuditEvent, Establishment
from garant.core.referentials import vocabulary
from garant.governance.todo import governance_todo
from garant.lifecycle.todo import lifecycle_todo
from garant.monitoring.models import Alert
from garant.registry.models import AISystem, Vendor

SOON = dt.timedelta(days=90)


def breakdown(systems, field: str, vocab: str) -> list[dict]:
    """Counts of `systems` per code of `field`, in the vocabulary's order, with bar widths."""
    counts = dict(systems.order_by().values_list(field).annotate(n=Count("pk")))
    v = vocabulary(vocab)
    rows = [
        {"code": code, "label": v.label_of(code), "count": counts.get(code, 0)} for code in v.items
    ]
    if counts.get("", 0):
        rows.append({"code": "", "label": _("Non renseigné"), "count": counts[""]})
    return _with_width(rows)


def _with_width(rows):
    top = max((r["count"] for r in rows), default=0) or 1
    for r in rows:
        r["width"] = round(100 * r["count"] / top)
    return rows


def data_category_breakdown(systems) -> list[dict]:
    v = vocabulary("data_category")
    counts = systems.aggregate(
        **{code: Count("pk", filter=Q(data_categories__has=code)) for code in v.items}
    )
    return _with_width(
        [
            {
                "code": code,
                "label": v.label_of(code),
                "count": counts[code],
                "vigilance": vocabulary("vigilance").label_of(str(item.get("vigilance", ""))),
            }
            for code, item in v.items.items()
        ]
    )


@login_required
def home(request):
    systems = AISystem.objects.for_user(request.user)
    today = timezone.localdate()
    ce_expiring = (
        systems.filter(ce_expiry__isnull=False, ce_expiry__lte=today + SOON)
        .select_related("establishment")
        .order_by("ce_expiry")[:8]
    )
    contracts_ending = (
        Vendor.objects.for_user(request.user)
        .filter(contract_end__isnull=False, contract_end__lte=today + SOON)
        .select_related("establishment")
        .order_by("contract_end")[:8]
    )
    incomplete = (
        systems.filter(
            Q(medical_referent="") | Q(data_categories="") | Q(hosting="") | Q(use_case="")
        )
        .select_related("establishment")
        .order_by("-updated_at")[:8]
    )
    context = {
        "total": systems.count(),
        "establishments": Establishment.objects.for_user(request.user).annotate(
            n_systems=Count("ai_systems")
        ),
        "by_type": breakdown(systems, "solution_type", "solution_type"),
        "by_domain": breakdown(systems, "domain", "domain"),
        "by_phase": breakdown(systems, "phase", "phase"),
        "by_hosting": breakdown(systems, "hosting", "hosting"),
        "by_data": data_category_breakdown(systems),
        "ce_expiring": ce_expiring,
        "contracts_ending": contracts_ending,
        "incomplete": incomplete,
        "open_alerts": Alert.objects.for_user(request.user).filter(state=Alert.State.OPEN).count(),
        "compliance": todo_counts(request.user),
        **governance_todo(request.user),
        **lifecycle_todo(request.user),
        "today": today,
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
            day = _parse_day(filters[key])
            if day is None:
                errors.append(
                    _("Date invalide : « %(v)s » (attendu jj/mm/aaaa).") % {"v": filters[key]}
                )
            else:
                events = events.filter(**{lookup: day})
    object_types = AuditEvent.objects.order_by().values_list("object_type", flat=True).distinct()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_list.html",
        {
            "page": Paginator(events, 50).get_page(request.GET.get("page")),
            "filters": filters,
            "errors": errors,
            "object_types": sorted(object_types),
            "query": query.urlencode(),
        },
    )


def _parse_day(value: str):
    try:
        return dt.datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        try:
            return parse_date(value)
        except ValueError:
            return None
