"""Forms of the incident circuit: the declaration (under ten fields, no patient identity), the
qualification, marking a report sent with its proof, and the establishment's FEI policy."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.incidents import loop
from garant.incidents.identity import refuse_identifiers
from garant.incidents.models import Incident, IncidentPolicy, RegulatoryReport
from garant.oversight.models import Suspension

PROOF_MAX_BYTES = 20 * 1024 * 1024
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
#: consequences an EIGS requires (CSP R1413-67)
EIGS_CONSEQUENCES = ("permanent_deficit", "life_threat", "death")


class DeclareForm(forms.ModelForm):
    alert = forms.IntegerField(required=False, widget=forms.HiddenInput)
    oversight_alert = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Incident
        fields = [
            "occurred_at",
            "aware_at",
            "service",
            "consequence",
            "description",
            "immediate_actions",
            "local_reference",
            "anonymous",
        ]
        widgets = {
            "occurred_at": DATETIME,
            "aware_at": DATETIME,
            "description": forms.Textarea(attrs={"rows": 3}),
            "immediate_actions": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, system, anonymous_allowed: bool, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["aware_at"].initial = now
        self.fields["occurred_at"].initial = now
        self.fields["service"].queryset = system.services.all()
        self.fields["description"].max_length = 4000
        self.fields["immediate_actions"].max_length = 4000
        if not anonymous_allowed:
            del self.fields["anonymous"]

    def clean(self):
        cleaned = super().clean()
        for name, message in refuse_identifiers(
            cleaned,
            {
                n: str(self.fields[n].label)
                for n in ("description", "immediate_actions", "local_reference")
            },
        ).items():
            self.add_error(name, message)
        occurred, aware = cleaned.get("occurred_at"), cleaned.get("aware_at")
        if occurred and aware and aware < occurred:
            self.add_error("aware_at", _("La connaissance ne peut précéder l'événement."))
        if aware and aware > timezone.now() + timedelta(minutes=5):
            self.add_error("aware_at", _("Cette date est dans le futur."))
        return cleaned


QUALIFICATION_FIELDS = [
    "consequence",
    "causal_link",
    "is_device",
    "ai_act_high_risk",
    "ai_act_serious",
    "critical_infrastructure",
    "fundamental_rights",
    "widespread_infringement",
    "provider_unreachable",
    "mdr_serious",
    "public_health_threat",
    "eigs",
    "data_breach",
    "breach_risk",
    "security_incident",
    "aware_at",
    "suspension",
    "qualification_note",
]


class QualifyForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = QUALIFICATION_FIELDS
        widgets = {"aware_at": DATETIME, "qualification_note": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # only a suspension (proposed or decided) of the same system can be linked
        self.fields["suspension"].queryset = Suspension.objects.within(
            ai_system=self.instance.ai_system
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("eigs") and cleaned.get("consequence") not in EIGS_CONSEQUENCES:
            self.add_error(
                "eigs",
                _(
                    "Un EIGS suppose un décès, une mise en jeu du pronostic vital ou un déficit "
                    "fonctionnel permanent probable (CSP R1413-67)."
                ),
            )
        aware = cleaned.get("aware_at")
        if aware and aware > timezone.now() + timedelta(minutes=5):
            self.add_error("aware_at", _("Cette date est dans le futur."))
        elif aware and aware < self.instance.occurred_at:
            self.add_error("aware_at", _("La connaissance ne peut précéder l'événement."))
        if cleaned.get("critical_infrastructure") or cleaned.get("fundamental_rights"):
            cleaned["ai_act_serious"] = True  # both are serious incidents under Art 3(49)
        if not cleaned.get("data_breach"):
            cleaned["breach_risk"] = "none"
        if cleaned.get("breach_risk") != "none" and not cleaned.get("data_breach"):
            self.add_error("breach_risk", _("Sans violation de données, pas de risque à évaluer."))
        for name, message in refuse_identifiers(
            cleaned, {"qualification_note": str(self.fields["qualification_note"].label)}
        ).items():
            self.add_error(name, message)
        return cleaned


class SentForm(forms.ModelForm):
    sent_at = forms.DateTimeField(label=gettext_lazy("envoyé le"), widget=DATETIME)

    class Meta:
        model = RegulatoryReport
        fields = ["sent_at", "proof"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proof"].required = True
        self.fields["sent_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_proof(self):
        upload = self.cleaned_data.get("proof")
        if upload and upload.size > PROOF_MAX_BYTES:
            raise ValidationError(
                _("Le fichier « %(name)s » dépasse 20 Mo.") % {"name": upload.name}
            )
        return upload

    def clean_sent_at(self):
        sent = self.cleaned_data["sent_at"]
        if sent > timezone.now() + timedelta(minutes=5):
            raise ValidationError(_("Cette date est dans le futur."))
        if sent < self.instance.clock_start:
            raise ValidationError(_("L'envoi ne peut précéder le départ du délai."))
        return sent


class NotRequiredForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("motif"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("analyse et clôture (causes, actions correctives)"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PolicyForm(forms.ModelForm):
    class Meta:
        model = IncidentPolicy
        fields = ["anonymous_allowed", "essential_operator"]


class AnalysisForm(forms.ModelForm):
    """The root-cause analysis: contributing factors by ALARM category (the referential's
    codes), free text, and the AMDEC failure mode the event is an occurrence of."""

    contributing_factors = forms.MultipleChoiceField(
        label=gettext_lazy("facteurs contributifs"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Incident
        fields = ["contributing_factors", "root_cause_analysis", "failure_mode"]
        widgets = {"root_cause_analysis": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contributing_factors"].choices = [
            (group["label"], group["items"]) for group in loop.factor_groups()
        ]
        self.fields["root_cause_analysis"].max_length = 8000
        self.fields["failure_mode"].queryset = loop.failure_modes_for(
            self.instance.ai_system, self.instance.failure_mode_id
        )
        self.fields["failure_mode"].label_from_instance = lambda m: (
            f"AMDEC v{m.analysis.number} — {m.position}. {m.title}"
        )

    def clean(self):
        cleaned = super().clean()
        for name, message in refuse_identifiers(
            cleaned, {"root_cause_analysis": str(self.fields["root_cause_analysis"].label)}
        ).items():
            self.add_error(name, message)
        return cleaned


class OccurrenceForm(forms.Form):
    """The quality manager's confirmation of the occurrence the events suggest."""

    occurrence = forms.TypedChoiceField(label=gettext_lazy("fréquence retenue"), coerce=int)
    basis = forms.CharField(
        label=gettext_lazy("justification"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, levels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurrence"].choices = [(v, f"{v} — {label}") for v, label in levels]
