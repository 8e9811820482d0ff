"""Forms of the information part: a notice's text, its review, how information is given, the
public register's choices, and a rights request with its steps (no patient identity: the
monitoring rule refuses NIR/INS, e-mail addresses and phone numbers, naming the field)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.monitoring.identifiers import refuse_identifiers
from garant.patients import referential
from garant.patients.models import InformationChannel, NoticeVersion, PublicRegister, RightsRequest

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT_MAX = 4000


def _refuse(form, names) -> None:
    labels = {n: str(form.fields[n].label) for n in names if n in form.fields}
    for name, message in refuse_identifiers(form.cleaned_data, labels).items():
        form.add_error(name, message)


def _not_future(form, name) -> None:
    day = form.cleaned_data.get(name)
    if day and day > timezone.localdate():
        form.add_error(name, _("Cette date est dans le futur."))


class NoticeForm(forms.ModelForm):
    class Meta:
        model = NoticeVersion
        fields = [*NoticeVersion.SECTIONS, "contact", "change_note"]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in NoticeVersion.SECTIONS}
        widgets["contact"] = forms.Textarea(attrs={"rows": 2})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in (*NoticeVersion.SECTIONS, "contact"):
            self.fields[name].max_length = TEXT_MAX

    def clean(self):
        cleaned = super().clean()
        _refuse(self, (*NoticeVersion.SECTIONS, "contact"))
        return cleaned


class ReviewForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Observations"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ChannelForm(forms.ModelForm):
    kind = forms.ChoiceField(label=gettext_lazy("Moyen d'information"))

    class Meta:
        model = InformationChannel
        fields = ["kind", "description", "since"]
        widgets = {"since": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = referential.channel_choices()


class RegisterForm(forms.ModelForm):
    published_fields = forms.MultipleChoiceField(
        label=gettext_lazy("Champs publiés"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Cochez un à un les champs que le public pourra lire."),
    )

    class Meta:
        model = PublicRegister
        fields = ["published_fields", "introduction", "contact"]
        widgets = {"introduction": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["published_fields"].choices = referential.public_field_choices()
        self.fields["introduction"].max_length = TEXT_MAX

    def clean(self):
        cleaned = super().clean()
        _refuse(self, ("introduction",))
        return cleaned


class RequestForm(forms.ModelForm):
    kind = forms.ChoiceField(label=gettext_lazy("Type de demande"))

    class Meta:
        model = RightsRequest
        fields = [
            "kind",
            "local_reference",
            "received_on",
            "ai_system",
            "summary",
            "identity_checked_by",
            "identity_check_method",
            "identity_checked_on",
        ]
        widgets = {
            "received_on": DATE,
            "identity_checked_on": DATE,
            "summary": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, systems, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = referential.request_kind_choices()
        self.fields["ai_system"].queryset = systems
        self.fields["summary"].max_length = TEXT_MAX
        today = timezone.localdate()
        self.fields["received_on"].initial = today
        self.fields["identity_checked_on"].initial = today

    def clean(self):
        cleaned = super().clean()
        _refuse(
            self,
            ("local_reference", "summary", "identity_checked_by", "identity_check_method"),
        )
        _not_future(self, "received_on")
        _not_future(self, "identity_checked_on")
        return cleaned


class StepForm(forms.Form):
    done_on = forms.DateField(label=gettext_lazy("Date"), widget=DATE)
    note = forms.CharField(
        label=gettext_lazy("Ce qui a été fait"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        cleaned = super().clean()
        _refuse(self, ("note",))
        _not_future(self, "done_on")
        return cleaned


class ExtendForm(forms.Form):
    new_deadline = forms.DateField(label=gettext_lazy("Nouvelle échéance"), widget=DATE)
    reason = forms.CharField(
        label=gettext_lazy("Motif de la prolongation"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        cleaned = super().clean()
        _refuse(self, ("reason",))
        return cleaned


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=gettext_lazy("Réponse"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Reprise dans le courrier de réponse."),
    )
    answered_on = forms.DateField(label=gettext_lazy("Répondue le"), widget=DATE)
    close = forms.BooleanField(label=gettext_lazy("Close sans suite"), required=False)

    def clean(self):
        cleaned = super().clean()
        _refuse(self, ("answer",))
        _not_future(self, "answered_on")
        return cleaned
