"""Forms of alert rules, of the acknowledgement and resolution of an alert and of a feed's
drift reference (web pages, API and command line)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.dates import DATE_WIDGET
from garant.monitoring import rule_kinds
from garant.monitoring.models import AlertRule, Feed

Kind = AlertRule.Kind
#: ten years: longer windows would reach before year 1 in the evaluation's date arithmetic
MAX_WINDOW_DAYS = 3650


class AlertRuleForm(forms.ModelForm):
    """Adds a rule to `feed`, or edits `instance`: the same checks both ways. The kind of an
    existing rule is fixed (its alerts were raised under it): change it by adding a rule."""

    class Meta:
        model = AlertRule
        fields = ["kind", "threshold", "window_days", "feature", "subgroup_column", "active"]

    def __init__(self, *args, feed, **kwargs):
        kwargs.setdefault("auto_id", "rule-%s")  # ids apart from the feed page's other forms
        super().__init__(*args, **kwargs)
        self.instance.feed = feed
        self.fields["window_days"].min_value = 1
        # a new rule left empty: the default of its kind (data: garant/referentials/alert_rules)
        for name in ("threshold", "window_days"):
            if self.instance.pk:
                continue
            self.fields[name].required = False
            proposed = _("Vide : la valeur proposée pour ce type de règle.")
            self.fields[name].help_text = f"{self.fields[name].help_text} {proposed}".strip()
        if self.instance.pk:
            self.fields["kind"].disabled = True  # the page shows it and does not send it
        if feed.subgroup_columns:
            choices = [("", "—"), *((c, c) for c in feed.subgroup_columns)]
            self.fields["subgroup_column"] = forms.ChoiceField(
                label=self.fields["subgroup_column"].label, choices=choices, required=False
            )
        features = [*feed.feature_columns, *feed.categorical_columns]
        self.fields["feature"] = forms.ChoiceField(
            label=self.fields["feature"].label,
            help_text=self.fields["feature"].help_text,
            choices=[("", "—"), *((c, c) for c in features)],
            required=False,
        )

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind and not self.instance.pk:
            spec = rule_kinds.spec(kind)
            for name in ("threshold", "window_days"):
                if cleaned.get(name) is None and name not in self.errors:
                    cleaned[name] = spec[name]
        threshold, window = cleaned.get("threshold"), cleaned.get("window_days")
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
        if kind is None:
            return cleaned
        spec = rule_kinds.spec(kind)
        self._check_feature(cleaned, spec["needs"])
        if threshold is None:
            return cleaned
        bounds = spec["bounds"]
        if bounds == "open_unit" and not 0 < threshold < 1:
            self.add_error("threshold", _("Le seuil doit être compris entre 0 et 1 (exclus)."))
        if bounds == "positive" and threshold <= 0:
            self.add_error("threshold", _("Le seuil du PSI doit être positif."))
        if bounds == "ratio" and not 0 < threshold < 1:
            self.add_error(
                "threshold",
                _("Le rapport minimal doit être compris entre 0 et 1 (0,8 : [0,8 ; 1,25])."),
            )
        if kind == Kind.SUBGROUP_RATIO_OUTSIDE:
            column = cleaned.get("subgroup_column")
            if column not in self.instance.feed.subgroup_columns:
                self.add_error(
                    "subgroup_column", _("Choisissez une des colonnes de sous-groupes du flux.")
                )
        elif cleaned.get("subgroup_column"):
            cleaned["subgroup_column"] = ""
        return cleaned

    def _check_feature(self, cleaned, needs: str) -> None:
        feed = self.instance.feed
        feature = cleaned.get("feature") or ""
        if needs == "feature" and feature not in (*feed.feature_columns, *feed.categorical_columns):
            self.add_error("feature", _("Choisissez une des variables déclarées du flux."))
        elif needs == "numeric_feature" and feature not in feed.feature_columns:
            self.add_error(
                "feature",
                _(
                    "Choisissez une des variables numériques du flux (le KS ne s'applique pas à une variable catégorielle)."
                ),
            )
        elif not needs.endswith("feature"):
            cleaned["feature"] = ""


def rule_initial() -> dict:
    """The threshold and window proposed for each kind (data: `rule_kinds`)."""
    return {
        kind: {"threshold": spec["threshold"], "window_days": spec["window_days"]}
        for kind, spec in rule_kinds.kinds().items()
    }


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("commentaire"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        strip=True,
    )


class ResolveForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("note de résolution"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        strip=True,
        help_text=gettext_lazy("Ce qui a été fait ou constaté : l'alerte sera close."),
    )


class DriftReferenceForm(forms.ModelForm):
    """The reference of the feed's drift rules and of its dashboard: rolling (the days before
    the window) or a fixed period (both days included), e.g. the validation period."""

    class Meta:
        model = Feed
        fields = ["drift_reference", "reference_start", "reference_end"]
        widgets = {"reference_start": DATE_WIDGET, "reference_end": DATE_WIDGET}

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("drift_reference")
        start, end = cleaned.get("reference_start"), cleaned.get("reference_end")
        if mode == Feed.DriftReference.FIXED:
            if start is None and "reference_start" not in self.errors:
                self.add_error("reference_start", _("Une référence fixe a besoin d'un début."))
            if end is None and "reference_end" not in self.errors:
                self.add_error("reference_end", _("Une référence fixe a besoin d'une fin."))
            if start and end and end < start:
                self.add_error(
                    "reference_end", _("La fin de la référence est antérieure à son début.")
                )
        elif mode == Feed.DriftReference.ROLLING:
            cleaned["reference_start"] = cleaned["reference_end"] = None
        return cleaned
