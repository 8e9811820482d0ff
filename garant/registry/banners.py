"""What the apps above the register show at the top of every page of a system (under its
name), e.g. oversight's « Suspendu » banner. An app calls `register` from its
`AppConfig.ready`; a banner is a template included with the variables its
`context(request, system)` returns; a banner whose context is None is not shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Banner:
    key: str
    order: int
    template: str
    context: Callable[[object, object], dict | None]


_BANNERS: dict[str, Banner] = {}


def register(key: str, order: int, template: str, context) -> None:
    _BANNERS[key] = Banner(key, order, template, context)


def banners_for(request, system) -> list[dict]:
    """[{template, context}] of the registered banners shown for `system`, by order."""
    shown = []
    for banner in sorted(_BANNERS.values(), key=lambda b: b.order):
        context = banner.context(request, system)
        if context is not None:
            shown.append({"template": banner.template, "context": context})
    return shown
