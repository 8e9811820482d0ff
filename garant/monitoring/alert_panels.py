"""What the apps above monitoring add to an alert's page (monitoring imports none of them).

An app calls `register` from its `AppConfig.ready` (governance: open an action, put the alert
on a committee's agenda). A panel is a template included in the page with the variables its
`context(request, alert, can_change)` returns; a panel whose context is None is not shown.

The alerts of the oversight rates (`oversight.OversightAlert`, above) have a page of their own
with the same panels: a panel names the kinds of alert it serves (model labels), the
monitoring alert by default. Both kinds give their system as `alert.ai_system`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    key: str
    order: int
    template: str
    context: Callable[[object, object, bool], dict | None]
    kinds: tuple[str, ...]


_PANELS: dict[str, Panel] = {}


MONITORING = "monitoring.alert"
OVERSIGHT = "oversight.oversightalert"


def link_field(alert) -> str:
    """The name of the field by which a record of the apps above points at `alert` (an
    action, an agenda item, a suspension, an incident's query string): "alert" for a
    monitoring alert, "oversight_alert" for one of the oversight rates."""
    return "oversight_alert" if alert._meta.label_lower == OVERSIGHT else "alert"


def register(key: str, order: int, template: str, context, kinds=(MONITORING,)) -> None:
    _PANELS[key] = Panel(key, order, template, context, tuple(kinds))


def panels_for(request, alert, can_change: bool) -> list[dict]:
    """[{template, context}] of the registered panels, by order."""
    shown = []
    kind = alert._meta.label_lower
    for panel in sorted(_PANELS.values(), key=lambda p: p.order):
        if kind not in panel.kinds:
            continue
        context = panel.context(request, alert, can_change)
        if context is not None:
            shown.append({"template": panel.template, "context": context})
    return shown
