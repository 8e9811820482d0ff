"""Links that apps above offer on each oversight alert row (e.g. incidents: « Déclarer un
événement » from the alert). A provider `(request, system, alerts) -> {alert_pk: [links]}`,
each link `{"label", "url"}`, is registered from the app's `AppConfig.ready`."""

from __future__ import annotations

from collections.abc import Callable

_PROVIDERS: list[Callable] = []


def register(provider: Callable) -> None:
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def attach(request, system, alerts) -> list:
    """`alerts` as a list, each with its `links` (empty when no provider offers any)."""
    alerts = list(alerts)
    found: dict[int, list[dict]] = {}
    for provider in _PROVIDERS:
        for pk, links in provider(request, system, alerts).items():
            found.setdefault(pk, []).extend(links)
    for alert in alerts:
        alert.links = found.get(alert.pk, [])
    return alerts
