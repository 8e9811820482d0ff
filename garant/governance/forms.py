"""Forms of governance: the one place where input is validated, for the pages and the API.

The choices of users, members and decisions are those of the record's establishment or
committee, so a record of another establishment is refused as an invalid choice.
"""

from __future__ import annotations

import contextlib

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.dates import DATE_WIDGET, DATETIME_WIDGET
from garant.core.models import Establishment, User
from garant.governance.models import (
    Action,
    AgendaItem,
    Attendance,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
)
from garant.incidents.models import Incident
from garant.oversight.models import Suspension
from garant.risks.models import FailureMode, RiskAnalysis


def failure_modes_of(establishment):
    """The failure modes of the latest version of each risk analysis of the establishment
    (a mitigation is decided on the analysis as it stands)."""
    latest = (
        RiskAnalysis.objects.within(ai_system__establishment=establishment)
        .filter(ai_system=OuterRef("analysis__ai_system"))
        .order_by("-number")
        .values("pk")[:1]
    )
    return (
        FailureMode.objects.within(analysis__ai_system__establishment=establishment)
        .filter(analysis=Subquery(latest))
        .select_related("analysis__ai_system")
        .order_by("analysis__ai_system__name", "position")
    )


def failure_mode_label(mode) -> str:
    return f"{mode.analysis.ai_system.name} — {mode.position}. {mode.title}"


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
        fields = ["establishment", "name", "kind", "mandate", "quorum", "second_signature"]
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
            "suspension",
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
        # a resumption decision: the suspension in effect on the project's system
        project = self.instance.project if self.instance.project_id else None
        suspensions = Suspension.objects.none()
        if project is not None:
            suspensions = Suspension.objects.within(ai_system=project.ai_system).filter(
                Q(state=Suspension.State.SUSPENDED) | Q(pk=self.instance.suspension_id)
            )
        if suspensions.exists():
            self.fields["suspension"].queryset = suspensions
        else:
            del self.fields["suspension"]  # nothing to lift: the field is not offered
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
        fields = [
            "title",
            "decision",
            "failure_mode",
            "incident",
            "owner",
            "owner_name",
            "due_date",
            "status",
            "notes",
        ]
        widgets = {"due_date": DATE_WIDGET, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, meeting, **kwargs):
        kwargs.setdefault("auto_id", "action-%s")  # ids apart from the meeting page's forms
        super().__init__(*args, **kwargs)
        self.instance.meeting = meeting
        self.fields["decision"].queryset = meeting.decisions.select_related("project__ai_system")
        self.fields["owner"].queryset = users_of(meeting.committee.establishment_id)
        self.fields["failure_mode"].queryset = failure_modes_of(meeting.committee.establishment)
        self.fields["failure_mode"].label_from_instance = failure_mode_label
        self.fields["incident"].queryset = Incident.objects.within(
            ai_system__establishment=meeting.committee.establishment
        ).select_related("ai_system")


class AttendanceForm(forms.Form):
    """One member's attendance at the meeting (prefixed by the member on the signing page)."""

    status = forms.ChoiceField(
        label=_("présence"), choices=Attendance.Status.choices, widget=forms.RadioSelect
    )
    conflict_of_interest = forms.BooleanField(label=_("conflit d'intérêts déclaré"), required=False)
    conflict_note = forms.CharField(
        label=_("objet du conflit d'intérêts"), required=False, max_length=300
    )

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member

    def clean(self):
        data = super().clean()
        if data.get("conflict_of_interest") and not (data.get("conflict_note") or "").strip():
            self.add_error("conflict_note", _("Précisez l'objet du conflit d'intérêts déclaré."))
        return data

    def row(self) -> dict:
        return {"member": self.member, **self.cleaned_data}


class ConditionForm(forms.Form):
    """One condition of a decision "sous conditions", turned into an action when signing."""

    title = forms.CharField(label=_("condition"), max_length=300)
    owner = forms.ModelChoiceField(
        label=_("porteur (utilisateur)"), queryset=User.objects.none(), required=False
    )
    owner_name = forms.CharField(label=_("porteur (nom)"), max_length=200, required=False)
    due_date = forms.DateField(label=_("échéance"), widget=DATE_WIDGET)

    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = users_of(meeting.committee.establishment_id)

    def clean(self):
        data = super().clean()
        if not data.get("owner") and not (data.get("owner_name") or "").strip():
            self.add_error(
                "owner_name", _("Choisissez un utilisateur ou saisissez le nom du porteur.")
            )
        return data


def attendance_forms(meeting, data=None) -> list[AttendanceForm]:
    """One form per member of the meeting's committee, filled from what is recorded."""
    recorded = {a.member_id: a for a in meeting.attendance.all()}
    forms_ = []
    for member in meeting.committee.members.select_related("user"):
        row = recorded.get(member.pk)
        initial = (
            {
                "status": row.status,
                "conflict_of_interest": row.conflict_of_interest,
                "conflict_note": row.conflict_note,
            }
            if row
            else {"status": Attendance.Status.PRESENT}
        )
        forms_.append(AttendanceForm(data, member=member, initial=initial, prefix=f"m{member.pk}"))
    return forms_


def condition_forms(decision, data=None) -> list[ConditionForm]:
    """One form per line of the decision's conditions (and as many as posted)."""
    lines = [line.strip() for line in decision.conditions.splitlines() if line.strip()]
    count = len(lines)
    if data is not None:
        with contextlib.suppress(ValueError):
            count = max(0, min(int(data.get("conditions-count", count)), 50))
    return [
        ConditionForm(
            data,
            meeting=decision.meeting,
            initial={"title": lines[i]} if i < len(lines) else {},
            prefix=f"c{i}",
        )
        for i in range(count)
    ]


class FollowUpActionForm(forms.ModelForm):
    """An action opened to follow something up (a monitoring alert, a collège finding): the
    meeting where it is followed, an owner (a user or a name) and a due date not yet passed."""

    class Meta:
        model = Action
        fields = ["meeting", "title", "owner", "owner_name", "due_date", "notes"]
        widgets = {"due_date": DATE_WIDGET, "notes": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("owner") and not cleaned.get("owner_name"):
            self.add_error("owner", _("Désignez un porteur : un utilisateur ou un nom."))
        due = cleaned.get("due_date")
        if due and due < timezone.localdate():
            self.add_error("due_date", _("L'échéance est déjà passée."))
        return cleaned
