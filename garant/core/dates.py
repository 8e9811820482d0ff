"""Dates typed into Garant: one widget and one set of accepted formats, for every form.

Forms accept the active language's `DATE_INPUT_FORMATS` and `DATETIME_INPUT_FORMATS`
(`garant/formats`: dd/mm/yyyy first, then ISO), which every `DateField` and `DateTimeField` uses
when given no `input_formats`; a date-time also accepts ISO 8601. The widgets are the browser's
date and date-time pickers, which send ISO. The API takes ISO 8601 (JSON).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def parse_day(value: str) -> dt.date | None:
    """The day `value` names in an accepted format, or None."""
    try:
        return forms.DateField(required=False).clean(value)
    except ValidationError:
        return None
