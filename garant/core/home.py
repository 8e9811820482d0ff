"""The home page's sections, contributed by the apps above core (core imports none of them).

Each app calls `register` from its `AppConfig.ready`, so the page grows without edits here (as
a system's tabs do, `garant.registry.tabs`). A section may give, each optional:

- `todo(user) -> dict`: the variables of its part of the "À faire" card, rendered by
  `todo_template`; when every value of every section is empty (0, None, [], {}), the card says
  that nothing is urgent;
- `context(user) -> dict`: the variables of `intro_template` (under the greeting),
  `card_template` (a card beside "À faire") and `panel_template` (below the cards).

Sections are shown by `order`; their variables share the page's context, so keep names distinct.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str
    order: int
    todo: Callable[[object], dict] | None = None
    todo_template: str = ""
    context: Callable[[object], dict] | None = None
    intro_template: str = ""
    card_template: str = ""
    panel_template: str = ""


_SECTIONS: dict[str, Section] = {}


def register(key: str, order: int, **parts) -> None:
    _SECTIONS[key] = Section(key, order, **parts)


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: s.order)


def context_for(user) -> dict:
    """The home page's variables from every section, with the templates to include
    (`home_intro`, `home_cards`, `home_todo`, `home_panels`) and `nothing_to_do`."""
    context: dict = {"home_intro": [], "home_cards": [], "home_todo": [], "home_panels": []}
    pending = False
    for section in sections():
        if section.todo is not None:
            items = section.todo(user)
            pending = pending or any(bool(v) for v in items.values())
            context.update(items)
        if section.context is not None:
            context.update(section.context(user))
        for name, template in (
            ("home_intro", section.intro_template),
            ("home_cards", section.card_template),
            ("home_todo", section.todo_template),
            ("home_panels", section.panel_template),
        ):
            if template:
                context[name].append(template)
    context["nothing_to_do"] = not pending
    return context
