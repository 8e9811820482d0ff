"""Template filters of the monitoring report: French numbers, undefined values with their
reason, ISO dates shown dd/mm/yyyy."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html

from garant.monitoring import charts

register = template.Library()


def _format(value, style: str) -> str:
    if style == "pct":
        return charts.percent(value)
    if style == "int":
        return charts.fr(value, 0)
    if style == "short":  # at most 4 decimals, no trailing zero: 0,15 and 0,3456
        text = charts.fr(value, 4)
        return text.rstrip("0").rstrip(",") if "," in text else text
    if style.startswith("dec"):
        return charts.fr(value, int(style[3:] or 3))
    return charts.fr(value, 3)


@register.filter
def metric(m, style: str = "dec3"):
    """A report metric (``{"value", "reason"}``) formatted, or "—" with the reason shown."""
    if m is None:
        return "—"
    if not isinstance(m, dict):
        return _format(m, style)
    if m.get("value") is None:
        reason = m.get("reason") or ""
        return format_html(
            '<span class="muted" title="{}">— <small>({})</small></span>', reason, reason
        )
    return _format(m["value"], style)


@register.filter
def number(value, style: str = "int"):
    return _format(value, style) if value is not None else "—"


@register.filter
def isodate(value: str | None) -> str:
    """``2024-04-01`` → ``01/04/2024``."""
    if not value:
        return "—"
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y")


@register.filter
def get(mapping, key):
    return mapping.get(key) if isinstance(mapping, dict) else None
