"""Forms of the register. `AISystemForm` is the one place where a system's input is validated:
the web form, the API and the CSV/XLSX import all go through it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from garant.core.dates import DATE_WIDGET
from garant.core.models import Establishment, Service
from garant.registry.models import AISystem, AISystemVersion, Declaration, Vendor

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


# --- declarations from the field -------------------------------------------------------------


class DeclarationForm(forms.ModelForm):
    """The short declaration: four questions, each answerable « je ne sais pas »."""

    class Meta:
        model = Declaration
        fields = [
            "establishment",
            "name",
            "name_unknown",
            "purpose",
            "purpose_unknown",
            "service",
            "service_unknown",
            "context",
            "context_unknown",
        ]
        widgets = {
            "purpose": forms.Textarea(attrs={"rows": 3}),
            "context": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        creating = self.instance.pk is None
        establishments = Establishment.objects.for_user(user, "declare")
        field = self.fields["establishment"]
        field.queryset = establishments
        only = list(establishments[:2])
        field.empty_label = None if len(only) == 1 else "---------"
        if creating and len(only) == 1:
            self.initial.setdefault("establishment", only[0].pk)  # a hidden field then
        if not creating:
            field.disabled = True
        self.fields["service"].queryset = Service.objects.for_user(user, "declare").select_related(
            "establishment"
        )
        for name in Declaration.QUESTIONS:
            self.fields[f"{name}_unknown"].label = _("Je ne sais pas")

    def questions(self):
        """(answer, « je ne sais pas ») bound fields, question by question."""
        return [(self[name], self[f"{name}_unknown"]) for name in Declaration.QUESTIONS]

    def clean(self):
        data = super().clean()
        answered = False
        for name in Declaration.QUESTIONS:
            value = data.get(name)
            if isinstance(value, str):
                value = value.strip()
                data[name] = value
            if value and data.get(f"{name}_unknown"):
                self.add_error(
                    name,
                    _("Vous avez répondu et coché « Je ne sais pas » : gardez l'un ou l'autre."),
                )
            answered = answered or bool(value)
        if not answered and not self.errors:
            raise forms.ValidationError(
                _(
                    "Répondez au moins à une question (le nom de l'outil ou ce qu'il fait, "
                    "même approximativement) : le référent IA a besoin d'un point de départ."
                )
            )
        establishment = data.get("establishment") or getattr(self.instance, "establishment", None)
        service = data.get("service")
        if establishment and service and service.establishment_id != establishment.pk:
            self.add_error("service", _("Ce service appartient à un autre établissement."))
        return data


class DeclarationMergeForm(forms.Form):
    """Merging: the tool declared is a system already in the register."""

    ai_system = forms.ModelChoiceField(
        label=_("système déjà inscrit"), queryset=AISystem.objects.none()
    )
    note = forms.CharField(
        label=_("message pour le déclarant"),
        required=False,
        widget=forms.Textarea({"rows": 2}),
        max_length=2000,
    )

    def __init__(self, *args, declaration, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ai_system"].queryset = AISystem.objects.within(
            establishment=declaration.establishment
        ).order_by("name", "pk")


class DeclarationRejectForm(forms.Form):
    note = forms.CharField(
        label=_("motif (lu par le déclarant)"),
        widget=forms.Textarea({"rows": 2}),
        max_length=2000,
        help_text=_("Par exemple : ce n'est pas un outil d'IA, ou il n'est pas utilisé ici."),
    )


def system_initial(declaration: Declaration) -> dict:
    """What a declaration already says of the register entry it becomes (the form's initial)."""
    initial = {
        "establishment": declaration.establishment_id,
        "name": declaration.name,
        "intended_purpose": declaration.purpose,
        "use_case": declaration.context,
    }
    if declaration.service_id:
        initial["services"] = [declaration.service_id]
    return initial
