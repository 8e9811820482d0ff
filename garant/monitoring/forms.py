"""Forms of the monitoring feeds, shared by the web UI and the API."""

from __future__ import annotations

import math
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.utils.translation import gettext_lazy as _

from garant.monitoring.identifiers import identifying_name
from garant.monitoring.models import MODEL_VERSION_SUBGROUP, Feed, IngestBatch

DEFAULT_TIMEZONE = "Europe/Paris"
MAX_WINDOW_HOURS = 24 * 365
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
RESERVED = {
    "prediction_id",
    "timestamp",
    "patient_id",
    "score",
    "model_version",
    "label",
    "batch_id",
    "month",
}


class ColumnListField(forms.CharField):
    """A list of column names typed as "age, creatinine" (stored as a JSON list)."""

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed = frozenset(allowed)  # reserved names accepted here

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        return [part.strip() for part in (value or "").split(",") if part.strip()]

    def validate(self, value):
        super().validate(value)
        for name in value:
            if not COLUMN_NAME.match(name):
                raise forms.ValidationError(
                    _("« %(name)s » : lettres sans accent, chiffres et _ uniquement."),
                    params={"name": name},
                )
            if name in RESERVED and name not in self.allowed:
                raise forms.ValidationError(
                    _("« %(name)s » est un nom réservé."), params={"name": name}
                )


class FeedForm(forms.ModelForm):
    feature_columns = ColumnListField(
        label=_("variables numériques"), required=False, help_text=_("Séparées par des virgules.")
    )
    categorical_columns = ColumnListField(
        label=_("variables catégorielles"),
        required=False,
        help_text=_("Séparées par des virgules."),
    )
    subgroup_columns = ColumnListField(
        label=_("colonnes de sous-groupes"),
        required=False,
        help_text=_(
            "Tranche d'âge, sexe, site, service… séparées par des virgules ; "
            "« model_version » : par version du modèle."
        ),
        allowed=(MODEL_VERSION_SUBGROUP,),
    )

    class Meta:
        model = Feed
        fields = [
            "name",
            "slug",
            "prediction_id_column",
            "timestamp_column",
            "patient_id_column",
            "score_column",
            "model_version_column",
            "feature_columns",
            "categorical_columns",
            "subgroup_columns",
            "operating_threshold",
            "quantum",
            "timezone",
            "outcome_id_column",
            "outcome_column",
            "outcome_time_column",
            "outcome_window_hours",
            "objection_policy",
        ]

    def __init__(self, *args, ai_system, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.ai_system = ai_system
        self.fields["timezone"].required = False  # empty: Europe/Paris
        self.fields["objection_policy"].required = False  # empty: drop the rows
        if self.instance.pk is None:  # the window is stated by whoever creates the feed
            self.fields["outcome_window_hours"].initial = None

    def clean_objection_policy(self):
        return self.cleaned_data.get("objection_policy") or Feed.ObjectionPolicy.DROP

    def clean_operating_threshold(self):
        value = self.cleaned_data["operating_threshold"]
        if value is not None and not 0 <= value <= 1:
            raise forms.ValidationError(_("Le seuil est compris entre 0 et 1."))
        return value

    def clean_quantum(self):
        value = self.cleaned_data["quantum"]
        if value is None:
            return value
        inverse = round(1 / value) if value > 0 else 0
        if not 0 < value <= 1 or not math.isclose(1 / value, inverse, rel_tol=1e-9):
            raise forms.ValidationError(_("La précision doit valoir 1/k (1e-4, 0.001, 0.01…)."))
        return value

    def clean_outcome_window_hours(self):
        value = self.cleaned_data["outcome_window_hours"]
        if value is not None and not 1 <= value <= MAX_WINDOW_HOURS:
            raise forms.ValidationError(
                _("La fenêtre de l'issue est comprise entre 1 et 8760 heures (un an).")
            )
        return value

    def clean_timezone(self):
        value = (self.cleaned_data["timezone"] or "").strip() or DEFAULT_TIMEZONE
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError):
            raise forms.ValidationError(
                _("Fuseau horaire inconnu : nom IANA attendu (ex. Europe/Paris).")
            ) from None
        return value

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        others = Feed.objects.filter(ai_system=self.instance.ai_system, slug=slug)
        if others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Ce système a déjà un flux avec cet identifiant."))
        return slug

    def clean(self):
        cleaned = super().clean()
        columns = [
            cleaned.get(name)
            for name in self.Meta.fields
            if name.endswith("_column") and cleaned.get(name)
        ]
        for name in ("feature_columns", "categorical_columns", "subgroup_columns"):
            columns += cleaned.get(name) or []
        if MODEL_VERSION_SUBGROUP in (cleaned.get("subgroup_columns") or []) and not cleaned.get(
            "model_version_column"
        ):
            self.add_error(
                "subgroup_columns",
                _("« model_version » comme sous-groupe demande une colonne version du modèle."),
            )
        for name in columns:
            if identifying_name(name):
                raise forms.ValidationError(
                    _("« %(name)s » désigne un identifiant direct : interdit dans un flux."),
                    params={"name": name},
                )
        return cleaned


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("nature"), choices=IngestBatch.Kind.choices)
    file = forms.FileField(label=_("fichier Parquet, CSV ou lot FHIR R4 (.json)"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "upload-%s")  # ids apart from the alert rule form's
        super().__init__(*args, **kwargs)
