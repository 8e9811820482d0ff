"""Forms of alert rules and of the acknowledgement of an alert (web pages and API)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.monitoring.models import AlertRule

Kind = AlertRule.Kind
#: ten years: longer windows would reach before year 1 in the evaluation's date arithmetic
MAX_WINDOW_DAYS = 3650


class AlertRuleForm(forms.ModelForm):
    """Adds a rule to `feed`, or edits `instance`: the same checks both ways. The kind of an
    existing rule is fixed (its alerts were raised under it): change it by adding a rule."""

    class Meta:
        model = AlertRule
        fields = ["kind", "threshold", "window_days", "subgroup_column", "active"]

    def __init__(self, *args, feed, **kwargs):
        kwargs.setdefault("auto_id", "rule-%s")  # ids apart from the feed page's other forms
        super().__init__(*args, **kwargs)
        self.instance.feed = feed
        self.fields["window_days"].min_value = 1
        if self.instance.pk:
            self.fields["kind"].disabled = True  # the page shows it and does not send it
        if feed.subgroup_columns:
            choices = [("", "—"), *((c, c) for c in feed.subgroup_columns)]
            self.fields["subgroup_column"] = forms.ChoiceField(
                label=self.fields["subgroup_column"].label, choices=choices, required=False
            )

    def clean(self):
        cleaned = super().clean()
        kind, threshold = cleaned.get("kind"), cleaned.get("threshold")
        window = cleaned.get("window_days")
        if window is not None and window < 1:
            self.add_error("window_days", _("La fenêtre doit compter au moins un jour."))
        elif window is not None and window > MAX_WINDOW_DAYS:
            self.add_error(
                "window_days",
                _("La fenêtre ne peut pas dépasser %(n)s jours.") % {"n": MAX_WINDOW_DAYS},
            )
        sent_kind = self.data.get("kind")  # a disabled field ignores what is sent: say so
        if self.instance.pk and sent_kind is not None and sent_kind != self.instance.kind:
            self.add_error(
                "kind",
                _(
                    "Le type d'une règle ne peut pas être modifié après sa création : "
                    "ajoutez une autre règle."
                ),
            )
        if kind is None or threshold is None:
            return cleaned
        proportion = kind in (Kind.AUC_BELOW, Kind.VOLUME_DROP, Kind.OUTCOMES_LATE)
        if proportion and not 0 < threshold < 1:
            self.add_error("threshold", _("Le seuil doit être compris entre 0 et 1 (exclus)."))
        if kind == Kind.PSI_ABOVE and threshold <= 0:
            self.add_error("threshold", _("Le seuil du PSI doit être positif."))
        if kind == Kind.SUBGROUP_RATIO_OUTSIDE:
            if not 0 < threshold < 1:
                self.add_error(
                    "threshold",
                    _("Le rapport minimal doit être compris entre 0 et 1 (0,8 : [0,8 ; 1,25])."),
                )
            column = cleaned.get("subgroup_column")
            if column not in self.instance.feed.subgroup_columns:
                self.add_error(
                    "subgroup_column", _("Choisissez une des colonnes de sous-groupes du flux.")
                )
        elif cleaned.get("subgroup_column"):
            cleaned["subgroup_column"] = ""
        return cleaned


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("commentaire"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        strip=True,
    )
