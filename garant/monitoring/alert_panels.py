"""What the apps above monitoring add to an alert's page (monitoring imports none of them).

An app calls `register` from its `AppConfig.ready` (governance: open an action, put the alert
on a committee's agenda). A panel is a template included in the page with the variables its
`context(request, alert, can_change)` returns; a panel whose context is None is not shown.
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


_PANELS: dict[str, Panel] = {}


def register(key: str, order: int, template: str, context) -> None:
    _PANELS[key] = Panel(key, order, template, context)


def panels_for(request, alert, can_change: bool) -> list[dict]:
    """[{template, context}] of the registered panels, by order."""
    shown = []
    for panel in sorted(_PANELS.values(), key=lambda p: p.order):
        context = panel.context(request, alert, can_change)
        if context is not None:
            shown.append({"template": panel.template, "context": context})
    return shown
