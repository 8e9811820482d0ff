"""The forms of an oversight plan: its text fields, and two tables of rows (oversight points,
people). The web page and the API validate alike (`validate`)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.oversight.models import OversightPlanVersion
from garant.oversight.plans import MOMENTS

EXTRA_ROWS = 2


class PlanForm(forms.ModelForm):
    class Meta:
        model = OversightPlanVersion
        fields = ["override", "stop", "fallback", "review_months", "comment"]
        widgets = {
            "override": forms.Textarea(attrs={"rows": 3}),
            "stop": forms.Textarea(attrs={"rows": 3}),
            "fallback": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "override": gettext_lazy(
                "Comment la personne écarte ou corrige une sortie de l'IA (et où elle le note)."
            ),
            "stop": gettext_lazy("Qui peut arrêter ou suspendre le système, et comment."),
            "fallback": gettext_lazy("Comment le service travaille quand le système est arrêté."),
            "review_months": gettext_lazy("Le plan est à revoir tous les N mois."),
        }

    def clean_review_months(self):
        months = self.cleaned_data["review_months"]
        if not 1 <= months <= 36:
            raise ValidationError(_("Entre 1 et 36 mois."))
        return months


class PointForm(forms.Form):
    moment = forms.ChoiceField(
        label=gettext_lazy("Moment"), choices=[("", "—"), *MOMENTS.items()], required=False
    )
    rate = forms.FloatField(
        label=gettext_lazy("Taux d'échantillonnage (%)"), required=False, localize=True
    )
    who = forms.CharField(label=gettext_lazy("Qui"), max_length=200, required=False)
    checks = forms.CharField(label=gettext_lazy("Ce qui est vérifié"), required=False)
    action = forms.CharField(
        label=gettext_lazy("En cas de désaccord (ignorer, corriger, arrêter)"), required=False
    )

    def clean(self):
        data = super().clean()
        if not any(data.get(k) not in (None, "") for k in ("moment", "who", "checks", "action")):
            return data  # an empty row is skipped
        for name in ("moment", "who", "checks"):
            if not data.get(name):
                self.add_error(name, _("Ce champ est obligatoire."))
        rate = data.get("rate")
        if data.get("moment") == "sampled":
            if rate is None:
                self.add_error("rate", _("Indiquez la part des sorties contrôlées (en %)."))
            elif not 0 < rate <= 100:
                self.add_error("rate", _("Un pourcentage entre 0 (exclu) et 100."))
        else:
            data["rate"] = None
        return data

    def row(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("moment"):
            return None
        return {
            "moment": data["moment"],
            "rate": data["rate"],
            "who": data["who"].strip(),
            "checks": data["checks"].strip(),
            "action": data.get("action", "").strip(),
        }


class PersonForm(forms.Form):
    who = forms.CharField(label=gettext_lazy("Personne ou rôle"), max_length=200, required=False)
    competence = forms.CharField(
        label=gettext_lazy("Compétence, formation"), max_length=300, required=False
    )

    def clean(self):
        data = super().clean()
        if (data.get("who") or data.get("competence")) and not data.get("who"):
            self.add_error("who", _("Ce champ est obligatoire."))
        if data.get("who") and not data.get("competence"):
            self.add_error(
                "competence", _("Indiquez la compétence ou la formation de cette personne.")
            )
        return data

    def row(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("who"):
            return None
        return {"who": data["who"].strip(), "competence": data["competence"].strip()}


PointFormSet = forms.formset_factory(PointForm, extra=EXTRA_ROWS)
PersonFormSet = forms.formset_factory(PersonForm, extra=EXTRA_ROWS)


def build(data=None, initial: dict | None = None):
    """The plan form and its two row tables, bound to `data` or showing `initial`."""
    initial = initial or {}
    plan = PlanForm(data, initial={k: v for k, v in initial.items() if k not in ("points",)})
    points = PointFormSet(data, prefix="points", initial=initial.get("points") or None)
    people = PersonFormSet(data, prefix="people", initial=initial.get("people") or None)
    return plan, points, people


def validate(plan, points, people) -> tuple[dict | None, dict]:
    """(values for `plans.save_version`, None if invalid) and errors by field name
    (`points[0].rate`…)."""
    errors: dict[str, list[str]] = {}
    ok = plan.is_valid() & points.is_valid() & people.is_valid()
    for name, messages in plan.errors.items():
        errors[name] = list(messages)
    for prefix, formset in (("points", points), ("people", people)):
        for i, form in enumerate(formset.forms):
            for name, messages in form.errors.items():
                errors[f"{prefix}[{i}].{name}"] = list(messages)
    if not ok:
        return None, errors
    point_rows = [r for f in points.forms if (r := f.row())]
    person_rows = [r for f in people.forms if (r := f.row())]
    if not point_rows:
        errors["points"] = [_("Indiquez au moins un point de contrôle.")]
    if not person_rows:
        errors["people"] = [_("Nommez au moins une personne ou un rôle chargé du contrôle.")]
    if errors:
        return None, errors
    values = {k: plan.cleaned_data[k] for k in ("override", "stop", "fallback", "review_months")}
    values.update(points=point_rows, people=person_rows)
    return values, {}


def as_form_data(payload: dict) -> dict:
    """A JSON payload (API) as the form data the web page posts."""
    data = {k: payload.get(k, "") for k in ("override", "stop", "fallback", "comment")}
    data["review_months"] = payload.get("review_months", "")
    for prefix in ("points", "people"):
        rows = payload.get(prefix) or []
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for i, row in enumerate(rows):
            for key, value in (row or {}).items():
                data[f"{prefix}-{i}-{key}"] = "" if value is None else str(value)
    return data
