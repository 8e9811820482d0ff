"""Forms of the DPO's pages for objections and erasures: the identifier is a field of the
form only, turned into its keyed pseudonym before anything is stored."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from garant.monitoring.ingest import MAX_ID_LENGTH
from garant.patients.erasure import ErasureRun
from garant.patients.objections import Purpose
from garant.registry.models import AISystem

IDENTIFIER_HELP = _(
    "Tel que le logiciel l'envoie aux flux de suivi (IPP, numéro de séjour pseudonyme…). "
    "Garant ne l'enregistre pas : il n'en garde que le pseudonyme (HMAC)."
)


class IdentifiedForm(forms.Form):
    """The patient's identifier (matched exactly, never stored) and the request's reference."""

    identifier = forms.CharField(
        label=_("identifiant du patient"),
        max_length=MAX_ID_LENGTH,
        strip=False,  # matched exactly as the feeds store it
        help_text=IDENTIFIER_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    request_reference = forms.CharField(
        label=_("référence de la demande"),
        max_length=100,
        required=False,
        help_text=_("Numéro de la demande d'exercice des droits (jamais l'identifiant)."),
    )

    def clean_identifier(self):
        value = self.cleaned_data["identifier"]
        if not value.strip():
            raise forms.ValidationError(_("Saisissez l'identifiant du patient."))
        return value


class ObjectionForm(IdentifiedForm):
    purpose = forms.ChoiceField(label=_("finalité"), choices=Purpose.choices)
    ai_system = forms.ModelChoiceField(
        label=_("système d'IA"),
        queryset=AISystem.objects.none(),
        required=False,
        empty_label=_("tous les systèmes de l'établissement"),
    )
    received_on = forms.DateField(
        label=_("reçue le"), widget=forms.DateInput(attrs={"type": "date"})
    )
    field_order = ["identifier", "purpose", "ai_system", "received_on", "request_reference"]

    def __init__(self, *args, establishment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ai_system"].queryset = AISystem.objects.within(
            establishment=establishment
        ).order_by("name")


class ErasureForm(IdentifiedForm):
    reason = forms.ChoiceField(label=_("motif"), choices=ErasureRun.Reason.choices)
    confirm = forms.BooleanField(
        label=_(
            "Je confirme : les données de ce patient seront effacées définitivement de tous "
            "les flux de suivi et retours d'usage de l'établissement."
        )
    )
    field_order = ["identifier", "reason", "request_reference", "confirm"]
