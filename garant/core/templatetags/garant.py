import datetime as dt

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def field_label(labels, field):
    return (labels or {}).get(field, field)


@register.filter
def audit_value(value):
    """An audit-trail value as a person reads it: dates dd/mm/yyyy, booleans oui/non."""
    if value is None or value == "":
        return "∅"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "∅"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return value
