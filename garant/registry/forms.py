"""Forms of the register. `AISystemForm` is the one place where a system's input is validated:
the web form, the API and the CSV/XLSX import all go through it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from garant.core.dates import DATE_WIDGET
from garant.core.models import Establishment, Service
from garant.registry.models import AISystem, AISystemVersion, Vendor

SYSTEM_FIELDS = [
    "establishment",
    "name",
    "vendor",
    "product",
    "intended_purpose",
    "use_case",
    "services",
    "medical_referent",
    "technical_referent",
    "solution_type",
    "domain",
    "modality",
    "phase",
    "hosting",
    "hds_certified",
    "data_categories",
    "data_sources",
    "data_sources_other",
    "workflow_integration",
    "device_status",
    "ce_certificate",
    "notified_body",
    "ce_expiry",
    "gpai_based",
    "gpai_model",
    "users_count",
    "patients_per_year",
    "go_live",
]

# Where each field sits on the form (fieldsets shown as sections).
SECTIONS = [
    (_("Identification"), ["establishment", "name", "vendor", "product"]),
    (_("Usage"), ["intended_purpose", "use_case", "services", "workflow_integration"]),
    (_("Responsables"), ["medical_referent", "technical_referent"]),
    (_("Classification"), ["solution_type", "domain", "modality", "phase"]),
    (
        _("Données et hébergement"),
        ["data_categories", "data_sources", "data_sources_other", "hosting", "hds_certified"],
    ),
    (_("Dispositif médical"), ["device_status", "ce_certificate", "notified_body", "ce_expiry"]),
    (_("Modèle d'IA à usage général"), ["gpai_based", "gpai_model"]),
    (_("Volumétrie et calendrier"), ["users_count", "patients_per_year", "go_live"]),
]

YES_NO_UNKNOWN = [("", _("Ne sait pas")), ("true", _("Oui")), ("false", _("Non"))]


class AISystemForm(forms.ModelForm):
    hds_certified = forms.TypedChoiceField(
        label=_("hébergeur certifié HDS"),
        choices=YES_NO_UNKNOWN,
        coerce=lambda v: {"true": True, "false": False}.get(v),
        empty_value=None,
        required=False,
        help_text=_("Hébergeur de données de santé certifié (CSP L1111-8)."),
    )

    class Meta:
        model = AISystem
        fields = SYSTEM_FIELDS
        widgets = {
            "ce_expiry": DATE_WIDGET,
            "go_live": DATE_WIDGET,
            "intended_purpose": forms.Textarea(attrs={"rows": 3}),
            "use_case": forms.Textarea(attrs={"rows": 3}),
            "workflow_integration": forms.Textarea(attrs={"rows": 2}),
            "services": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        creating = self.instance.pk is None
        establishments = Establishment.objects.for_user(user, "add" if creating else "change")
        self.fields["establishment"].queryset = establishments
        self.fields["establishment"].empty_label = (
            None if establishments.count() == 1 else "---------"
        )
        if not creating:
            self.fields["establishment"].disabled = True
        self.fields["vendor"].queryset = Vendor.objects.for_user(user).select_related(
            "establishment"
        )
        self.fields["services"].queryset = Service.objects.for_user(user).select_related(
            "establishment"
        )
        self.fields["services"].required = False
        self.fields["services"].help_text = _(
            "Maintenir Ctrl (ou Cmd sur Mac) pour en choisir plusieurs."
        )
        if self.instance.pk and hasattr(self.instance, "project"):
            # the lifecycle drives the phase of a system that has a project (gates only)
            self.fields["phase"].disabled = True
            self.fields["phase"].help_text = _("Changée par les étapes du projet.")
        if self.instance.pk and self.instance.hds_certified is not None:
            self.initial["hds_certified"] = "true" if self.instance.hds_certified else "false"

    def clean(self):
        data = super().clean()
        establishment = data.get("establishment") or getattr(self.instance, "establishment", None)
        vendor = data.get("vendor")
        if establishment and vendor and vendor.establishment_id != establishment.pk:
            self.add_error("vendor", _("Cet éditeur appartient à un autre établissement."))
        foreign = [
            s
            for s in data.get("services") or []
            if s.establishment_id != getattr(establishment, "pk", None)
        ]
        if establishment and foreign:
            self.add_error(
                "services",
                _("Services d'un autre établissement : %(names)s")
                % {"names": ", ".join(s.name for s in foreign)},
            )
        if data.get("gpai_based") and not data.get("gpai_model"):
            self.add_error("gpai_model", _("Précisez le modèle d'IA à usage général utilisé."))
        if "other" in (data.get("data_sources") or []) and not data.get("data_sources_other"):
            self.add_error("data_sources_other", _("Précisez l'autre source de données."))
        device = data.get("device_status")
        if device == "not_device" and (data.get("ce_certificate") or data.get("notified_body")):
            self.add_error(
                "ce_certificate",
                _("Un certificat CE n'a de sens que pour un dispositif médical."),
            )
        return data

    def save(self, commit=True):
        if self.instance.pk is None and self.user.is_authenticated:
            self.instance.created_by = self.user
        return super().save(commit)


class VersionForm(forms.ModelForm):
    class Meta:
        model = AISystemVersion
        fields = ["version", "released_on", "change_summary"]
        widgets = {"released_on": DATE_WIDGET, "change_summary": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, ai_system, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.ai_system = ai_system

    def clean_version(self):
        version = self.cleaned_data["version"].strip()
        others = AISystemVersion.objects.filter(ai_system=self.instance.ai_system, version=version)
        if others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Cette version existe déjà pour ce système."))
        return version


class VendorForm(forms.ModelForm):
    class Meta:
        model = Vendor
        fields = [
            "establishment",
            "name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "contract_reference",
            "contract_end",
            "notes",
        ]
        widgets = {"contract_end": DATE_WIDGET, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        creating = self.instance.pk is None
        qs = Establishment.objects.for_user(user, "add" if creating else "change")
        self.fields["establishment"].queryset = qs
        if not creating:
            self.fields["establishment"].disabled = True

    def clean(self):
        data = super().clean()
        establishment = data.get("establishment") or getattr(self.instance, "establishment", None)
        name = (data.get("name") or "").strip()
        if establishment and name:
            clash = Vendor.objects.filter(establishment=establishment, name__iexact=name)
            if clash.exclude(pk=self.instance.pk).exists():
                self.add_error(
                    "name", _("Un éditeur de ce nom existe déjà dans cet établissement.")
                )
        return data
