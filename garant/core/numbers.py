"""Numbers as a person reads them: "4,5" and "18 000 €" in French, "4.5" and "18,000 €" in
English; never "4,5000" (a decimal field's precision) or "0.8234" in a French page."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils.formats import number_format


def number(value, places: int | None = None) -> str:
    """`value` in the active language, rounded to `places` decimals if given, with no
    trailing zeros and with its thousands grouped ("" for None; text is returned as is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not exact.is_finite():
        return str(value)
    if places is not None:
        exact = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    integral = exact == exact.to_integral_value()
    exact = exact.quantize(Decimal(1)) if integral else exact.normalize()
    decimals = max(0, -exact.as_tuple().exponent)
    return number_format(exact, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def money(value) -> str:
    """An amount in euros: "18 000 €", "4,50 €" (cents only when there are some)."""
    if value is None or value == "":
        return ""
    try:
        exact = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    if exact == exact.to_integral_value():
        text = number(exact, 0)
    else:
        text = number_format(exact, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{text}\u00a0€"


def percent(rate, places: int = 1) -> str:
    """A rate (0–1) as a percentage: "12,5 %" in French; "—" when undefined (None)."""
    return "—" if rate is None else f"{number(rate * 100, places)} %"
