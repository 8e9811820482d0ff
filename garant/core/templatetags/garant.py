from django import template

from garant.core import numbers

register = template.Library()


@register.filter
def number(value, places=None):
    """A number in the active language, no trailing zeros: 4,5 · 18 000 · 0,82 (`|number:2`
    rounds to two decimals at most)."""
    return numbers.number(value, None if places in (None, "") else int(places))


@register.filter
def money(value):
    """An amount in euros: 18 000 € · 4,50 €."""
    return numbers.money(value)


@register.filter
def percent(rate):
    """A rate (0–1) as a percentage: 12,5 % · "—" when undefined."""
    return numbers.percent(rate)
