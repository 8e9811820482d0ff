"""Forms of the « Supervision humaine » tab: the period, the file import, an alert rule."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.dates import DATE_WIDGET
from garant.oversight.models import OversightRule

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
GRANULARITIES = [
    ("day", gettext_lazy("jour")),
    ("week", gettext_lazy("semaine")),
    ("month", gettext_lazy("mois")),
]
INVALID_DATE = {"invalid": gettext_lazy("Date invalide : jj/mm/aaaa attendu.")}


class PeriodForm(forms.Form):
    du = forms.DateField(label=gettext_lazy("du"), widget=DATE_WIDGET, error_messages=INVALID_DATE)
    au = forms.DateField(label=gettext_lazy("au"), widget=DATE_WIDGET, error_messages=INVALID_DATE)
    par = forms.ChoiceField(
        label=gettext_lazy("granularité"), choices=GRANULARITIES, initial="week"
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("du"), data.get("au")
        if start and end:
            if end < start:
                self.add_error("au", _("La fin de la période est antérieure à son début."))
            elif (end - start).days > MAX_DAYS:
                self.add_error("au", _("Période trop longue : trois ans au plus."))
        return data


def default_period(today: dt.date | None = None) -> dict:
    today = today or timezone.localdate()
    return {"du": today - dt.timedelta(days=DEFAULT_DAYS - 1), "au": today, "par": "week"}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("fichier d'événements (CSV ou Parquet)"),
        help_text=gettext_lazy(
            "Une ligne par utilisation d'une sortie de l'IA ; colonnes décrites dans la "
            "documentation (docs/oversight.md). Sans colonne « system », les événements sont "
            "ceux de ce système."
        ),
    )


class RuleForm(forms.ModelForm):
    class Meta:
        model = OversightRule
        fields = ["kind", "threshold", "window_days", "min_events"]
        localized_fields = ["threshold"]

    def __init__(self, *args, ai_system=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.ai_system = ai_system

    def clean(self):
        data = super().clean()
        kind, threshold = data.get("kind"), data.get("threshold")
        window = data.get("window_days")
        if window is not None and not 1 <= window <= 365:
            self.add_error("window_days", _("Fenêtre de 1 à 365 jours."))
        if kind == OversightRule.Kind.ACCEPTANCE_ABOVE and threshold is not None:
            if not 0 < threshold < 1:
                self.add_error("threshold", _("Taux entre 0 et 1 (0,98 = 98 %)."))
        elif (
            kind == OversightRule.Kind.OVERRIDE_DOUBLING
            and threshold is not None
            and not 1 < threshold <= 100
        ):
            self.add_error("threshold", _("Rapport supérieur à 1 (2 = doublement)."))
        return data


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("commentaire"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
