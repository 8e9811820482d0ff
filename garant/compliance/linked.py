"""Evidence kept elsewhere in Garant, linked to a system's obligations.

An app above compliance (e.g. oversight's plan) registers a provider from its
`AppConfig.ready`: `provider(system) -> {obligation code: [{"title", "detail", "url"}]}`.
The checklist and the obligation page show these links beside the files and links attached
by hand; compliance imports none of those apps.
"""

from __future__ import annotations

from collections.abc import Callable

_PROVIDERS: dict[str, Callable[[object], dict[str, list[dict]]]] = {}


def register(key: str, provider: Callable[[object], dict[str, list[dict]]]) -> None:
    _PROVIDERS[key] = provider


def linked_evidence(system) -> dict[str, list[dict]]:
    """Every provider's evidence for `system`, by obligation code."""
    found: dict[str, list[dict]] = {}
    for key in sorted(_PROVIDERS):
        for code, items in _PROVIDERS[key](system).items():
            found.setdefault(code, []).extend(items)
    return found
