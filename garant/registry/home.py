"""What the home page shows of the register: the systems counted per establishment, the
breakdowns by type, domain, phase, hosting and data category, and its "À faire" items (records
to complete, CE certificates and vendor contracts ending within 90 days). Registered with
`garant.core.home` by `RegistryConfig.ready`."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core.models import Establishment
from garant.core.referentials import vocabulary
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


def summary(user) -> dict:
    systems = AISystem.objects.for_user(user)
    return {
        "total": systems.count(),
        "establishments": Establishment.objects.for_user(user).annotate(
            n_systems=Count("ai_systems")
        ),
        "by_type": breakdown(systems, "solution_type", "solution_type"),
        "by_domain": breakdown(systems, "domain", "domain"),
        "by_phase": breakdown(systems, "phase", "phase"),
        "by_hosting": breakdown(systems, "hosting", "hosting"),
        "by_data": data_category_breakdown(systems),
    }


def todo(user) -> dict:
    systems = AISystem.objects.for_user(user)
    today = timezone.localdate()
    ce_expiring = (
        systems.filter(ce_expiry__isnull=False, ce_expiry__lte=today + SOON)
        .select_related("establishment")
        .order_by("ce_expiry")[:8]
    )
    contracts_ending = (
        Vendor.objects.for_user(user)
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
    return {
        "ce_expiring": ce_expiring,
        "contracts_ending": contracts_ending,
        "incomplete": incomplete,
    }
