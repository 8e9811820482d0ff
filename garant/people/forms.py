"""Forms of the people app: catalogue modules, persons, training records, prerequisites of a
system, and granting or changing a habilitation. Choices come from the people referential;
related records from the user's scope."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from garant.core.models import Establishment, Service
from garant.people.models import Person, Prerequisites, TrainingModule, TrainingRecord
from garant.people.referential import codes
from garant.registry.models import AISystem

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PERMISSION = "manage_people"


def _codes_field(form, name: str, vocabulary: str, multiple: bool = False) -> None:
    old = form.fields[name]
    choices = codes().choices(vocabulary)
    if multiple:
        form.fields[name] = forms.MultipleChoiceField(
            label=old.label,
            help_text=old.help_text,
            required=False,
            choices=choices,
            widget=forms.CheckboxSelectMultiple,
        )
    else:
        form.fields[name] = forms.ChoiceField(label=old.label, choices=choices)


def _establishments(form, user) -> None:
    if "establishment" in form.fields:
        form.fields["establishment"].queryset = Establishment.objects.for_user(user, PERMISSION)


class ModuleForm(forms.ModelForm):
    class Meta:
        model = TrainingModule
        fields = [
            "establishment",
            "code",
            "title",
            "kind",
            "level",
            "duration_hours",
            "audience_professions",
            "audience_roles",
            "provider",
            "provider_name",
            "validity_months",
            "systems",
            "active",
        ]
        widgets = {"systems": forms.CheckboxSelectMultiple}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _establishments(self, user)
        if self.instance.pk:
            del self.fields["establishment"]
        _codes_field(self, "kind", "module_kinds")
        _codes_field(self, "level", "levels")
        _codes_field(self, "provider", "providers")
        _codes_field(self, "audience_professions", "professions", multiple=True)
        self.fields["systems"].queryset = AISystem.objects.restrict(user, PERMISSION).order_by(
            "name"
        )

    def clean(self):
        data = super().clean()
        establishment = data.get("establishment") or getattr(self.instance, "establishment", None)
        if establishment and any(
            s.establishment_id != establishment.pk for s in data.get("systems") or []
        ):
            self.add_error("systems", _("Choisissez des systèmes de l'établissement du module."))
        return data


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = [
            "establishment",
            "last_name",
            "first_name",
            "profession",
            "service",
            "rpps",
            "staff_id",
            "left_on",
        ]
        widgets = {"left_on": DATE_WIDGET}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _establishments(self, user)
        if self.instance.pk:
            del self.fields["establishment"]
        _codes_field(self, "profession", "professions")
        self.fields["service"].queryset = Service.objects.restrict(user, PERMISSION).order_by(
            "name"
        )


class RecordForm(forms.ModelForm):
    class Meta:
        model = TrainingRecord
        fields = ["module", "completed_on", "evidence"]
        widgets = {"completed_on": DATE_WIDGET}

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.person = person
        self.fields["module"].queryset = TrainingModule.objects.within(
            establishment=person.establishment
        ).filter(active=True)


class PrerequisitesForm(forms.ModelForm):
    class Meta:
        model = Prerequisites
        fields = ["modules", "professions", "services", "charter_required"]
        widgets = {
            "modules": forms.CheckboxSelectMultiple,
            "services": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, system, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.ai_system = system
        _codes_field(self, "professions", "professions", multiple=True)
        self.fields["modules"].queryset = TrainingModule.objects.within(
            establishment=system.establishment
        )
        self.fields["services"].queryset = Service.objects.within(
            establishment=system.establishment
        )


class GrantForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Personne"), queryset=Person.objects.none())
    charter_signed_on = forms.DateField(
        label=_("Charte d'utilisation signée le"), required=False, widget=DATE_WIDGET
    )
    comment = forms.CharField(label=_("Commentaire"), max_length=500, required=False)

    def __init__(self, *args, system, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.within(
            establishment=system.establishment
        ).filter(left_on__isnull=True)


class ChangeForm(forms.Form):
    ACTIONS = {
        "suspend": _("Suspendre"),
        "withdraw": _("Retirer"),
        "renew": _("Renouveler"),
    }
    action = forms.ChoiceField(choices=list(ACTIONS.items()))
    comment = forms.CharField(label=_("Motif"), max_length=500, required=False)

    def clean(self):
        data = super().clean()
        if data.get("action") in ("suspend", "withdraw") and not data.get("comment"):
            self.add_error("comment", _("Indiquez le motif de la suspension ou du retrait."))
        return data
