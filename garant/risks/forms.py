"""Forms of the risk analysis: start an analysis from the referential, edit a failure mode."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from garant.core.models import User
from garant.core.referentials import localized
from garant.risks.analyses import ROW_FIELDS
from garant.risks.models import FailureMode
from garant.risks.referential import DIMENSIONS, referential

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CreateForm(forms.Form):
    scale = forms.ChoiceField(
        label=_("Échelles de cotation"),
        help_text=_("Celles de la politique qualité et gestion des risques de l'établissement."),
    )
    codes = forms.MultipleChoiceField(
        label=_("Modes de défaillance du référentiel"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Cochez ceux qui s'appliquent ; vous pourrez en ajouter d'autres, libres."),
    )
    comment = forms.CharField(label=_("Motif"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ref = referential()
        self.fields["scale"].choices = [(code, s.label) for code, s in ref.scales.items()]
        self.fields["scale"].initial = ref.default_scale
        self.fields["codes"].choices = [
            (code, localized(item)) for code, item in ref.failure_modes.items()
        ]
        self.fields["codes"].initial = list(ref.failure_modes)


class FailureModeForm(forms.ModelForm):
    class Meta:
        model = FailureMode
        # the row's editable fields, as a new version copies them (the referential code aside)
        fields = [name.removesuffix("_id") for name in ROW_FIELDS if name != "code"]
        widgets = {
            "review_date": DATE_WIDGET,
            **{
                name: forms.Textarea(attrs={"rows": 2})
                for name in (
                    "cause",
                    "effect_patient",
                    "effect_organisation",
                    "existing_controls",
                    "occurrence_basis",
                )
            },
        }

    def __init__(self, *args, analysis, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.analysis = analysis
        scale = referential().scale(analysis.scale)
        for dimension in DIMENSIONS:
            choices = [("", "—")] + [(v, f"{v} — {label}") for v, label in scale.levels(dimension)]
            for name in (dimension, f"residual_{dimension}"):
                field = self.fields[name]
                self.fields[name] = forms.TypedChoiceField(
                    label=field.label,
                    choices=choices,
                    coerce=int,
                    empty_value=None,
                    required=False,
                )
        self.fields["owner"].queryset = (
            User.objects.filter(
                is_active=True, memberships__establishment_id=analysis.ai_system.establishment_id
            )
            .distinct()
            .order_by("last_name", "first_name", "username")
        )
