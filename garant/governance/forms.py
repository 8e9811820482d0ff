"""Forms of governance: the one place where input is validated, for the pages and the API.

The choices of users, members and decisions are those of the record's establishment or
committee, so a record of another establishment is refused as an invalid choice.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.translation import gettext_lazy as _

from garant.core.dates import DATE_WIDGET, DATETIME_WIDGET
from garant.core.models import Establishment, User
from garant.governance.models import (
    Action,
    AgendaItem,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
)


def users_of(establishment_id):
    """Active users holding a role in the establishment."""
    return (
        User.objects.filter(is_active=True, memberships__establishment_id=establishment_id)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


class CommitteeForm(forms.ModelForm):
    class Meta:
        model = Committee
        fields = ["establishment", "name", "kind", "mandate"]
        widgets = {"mandate": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = Establishment.objects.for_user(user, "govern")
        if self.instance.pk:
            self.fields["establishment"].disabled = True


class MemberForm(forms.ModelForm):
    class Meta:
        model = CommitteeMember
        fields = ["user", "name", "role", "chair"]

    def __init__(self, *args, committee, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.committee = committee
        self.fields["user"].queryset = users_of(committee.establishment_id)

    def clean(self):
        data = super().clean()
        user = data.get("user")
        taken = CommitteeMember.objects.filter(committee=self.instance.committee, user=user)
        if user and taken.exclude(pk=self.instance.pk).exists():
            self.add_error("user", _("Cette personne siège déjà dans ce comité."))
        return data


class MeetingForm(forms.ModelForm):
    starts_at = forms.DateTimeField(
        label=_("date et heure"),
        widget=DATETIME_WIDGET,
        help_text=_("Heure de Paris."),
    )

    class Meta:
        model = Meeting
        fields = ["starts_at", "place", "status", "secretary", "minutes"]
        widgets = {"minutes": forms.Textarea(attrs={"rows": 10})}

    def __init__(self, *args, committee, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.committee = committee
        self.fields["secretary"].queryset = users_of(committee.establishment_id)


class AgendaItemForm(forms.ModelForm):
    class Meta:
        model = AgendaItem
        fields = ["title", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, meeting, **kwargs):
        kwargs.setdefault("auto_id", "agenda-%s")  # ids apart from the meeting page's forms
        super().__init__(*args, **kwargs)
        self.instance.meeting = meeting
        if not self.instance.pk:
            self.instance.position = meeting.agenda.count() + 1


class DecisionForm(forms.ModelForm):
    """A decision on `project` at `meeting`, resting on `assessment` (set by the caller)."""

    class Meta:
        model = Decision
        fields = [
            "outcome",
            "options",
            "consensus",
            "votes_for",
            "votes_against",
            "votes_abstain",
            "chair",
            "rationale",
            "conditions",
            "next_review_date",
        ]
        widgets = {
            "options": forms.Textarea(attrs={"rows": 3}),
            "rationale": forms.Textarea(attrs={"rows": 4}),
            "conditions": forms.Textarea(attrs={"rows": 3}),
            "next_review_date": DATE_WIDGET,
        }

    def __init__(self, *args, meeting, project=None, assessment=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.instance.meeting, self.instance.project = meeting, project
            self.instance.assessment = assessment
        self.fields["chair"].queryset = meeting.committee.members.select_related("user")
        if not self.is_bound and not self.instance.pk:
            self.initial["chair"] = meeting.committee.members.filter(chair=True).first()
        for name in ("votes_for", "votes_against", "votes_abstain"):
            self.fields[name].widget.attrs.update(min=0, max=999)
            self.fields[name].max_value = 999

    def _update_errors(self, errors):
        """The model's checks also judge the meeting, project and assessment, which the caller
        sets rather than the form: their messages become errors of the whole form (a project
        of another establishment is refused, not a server error)."""
        if hasattr(errors, "error_dict"):
            for field in [f for f in errors.error_dict if f not in self.fields]:
                if field != NON_FIELD_ERRORS:
                    moved = errors.error_dict.pop(field)
                    errors.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(moved)
        super()._update_errors(errors)


class ActionForm(forms.ModelForm):
    class Meta:
        model = Action
        fields = ["title", "decision", "owner", "owner_name", "due_date", "status", "notes"]
        widgets = {"due_date": DATE_WIDGET, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, meeting, **kwargs):
        kwargs.setdefault("auto_id", "action-%s")  # ids apart from the meeting page's forms
        super().__init__(*args, **kwargs)
        self.instance.meeting = meeting
        self.fields["decision"].queryset = meeting.decisions.select_related("project__ai_system")
        self.fields["owner"].queryset = users_of(meeting.committee.establishment_id)
