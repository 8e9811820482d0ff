"""The tabs of a system's page. Later capabilities (qualification, lifecycle, monitoring…)
add theirs with `register_tab` from their AppConfig.ready, so the page grows without edits here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from garant.core import permissions


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    url_name: str
    order: int
    permission: str = "view"


_TABS: dict[str, Tab] = {}


def register_tab(slug: str, label, url_name: str, order: int, permission: str = "view") -> None:
    _TABS[slug] = Tab(slug, label, url_name, order, permission)


def tabs_for(request, system) -> list[dict]:
    return [
        {"slug": t.slug, "label": t.label, "url": reverse(t.url_name, args=[system.pk])}
        for t in sorted(_TABS.values(), key=lambda t: t.order)
        if permissions.object_permission(request.user, system, t.permission)
    ]


register_tab("overview", _("Fiche"), "registry:system_detail", 0)
register_tab("versions", _("Versions"), "registry:system_versions", 10)
register_tab("history", _("Historique"), "registry:system_history", 90)
