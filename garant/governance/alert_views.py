"""What governance adds to a monitoring alert's page (`garant.monitoring.alert_panels`):
open an action (owner, due date) followed at a committee's meeting, and put the alert on the
agenda of a committee's next meeting. Both need the "change" permission on the alert's
system, like acknowledging it; the action and the agenda item keep a link to the alert."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.governance import agenda
from garant.governance.forms import FollowUpActionForm, users_of
from garant.governance.models import Action, AgendaItem
from garant.governance.views import _errors
from garant.monitoring import alerts
from garant.monitoring.models import Alert

#: the due date proposed for an action opened from an alert
DEFAULT_DUE_DAYS = 14


class MeetingChoice(forms.ModelChoiceField):
    def label_from_instance(self, meeting):
        when = timezone.localtime(meeting.starts_at).strftime("%d/%m/%Y %H:%M")
        return f"{meeting.committee} — {when}"


def prepare_follow_up(form: FollowUpActionForm, establishment, title: str, due_days: int) -> None:
    """Fill an action form opened to follow something up in `establishment`: the upcoming
    meetings where it may be followed (the soonest proposed), the establishment's users as
    owners, the proposed title and due date."""
    meetings = agenda.upcoming_meetings(establishment)
    form.fields["meeting"] = MeetingChoice(
        queryset=meetings,
        label=gettext_lazy("suivie en séance"),
        initial=meetings.first(),
        empty_label=None,
    )
    form.fields["owner"].queryset = users_of(establishment.pk)
    form.fields["title"].initial = title
    form.fields["due_date"].initial = timezone.localdate() + dt.timedelta(due_days)


def _meetings_field(alert: Alert, label) -> MeetingChoice:
    meetings = agenda.upcoming_meetings(alert.feed.ai_system.establishment)
    return MeetingChoice(queryset=meetings, label=label, initial=meetings.first(), empty_label=None)


class AlertActionForm(FollowUpActionForm):
    def __init__(self, *args, alert: Alert, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.alert = alert
        self.fields["meeting"] = _meetings_field(alert, gettext_lazy("suivie en séance"))
        self.fields["owner"].queryset = users_of(alert.feed.ai_system.establishment_id)
        self.fields["title"].initial = _("Traiter l'alerte « %(kind)s » — %(feed)s") % {
            "kind": alert.rule.get_kind_display(),
            "feed": alert.feed.name,
        }
        self.fields["due_date"].initial = timezone.localdate() + dt.timedelta(DEFAULT_DUE_DAYS)


class AlertAgendaForm(forms.Form):
    meeting = forms.ModelChoiceField(queryset=None)

    def __init__(self, *args, alert: Alert, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"] = _meetings_field(alert, gettext_lazy("séance"))


def panel_context(request, alert: Alert, can_change: bool) -> dict:
    """The governance panel of an alert's page: its actions and agenda items, and the forms."""
    actions = Action.objects.within(alert=alert).select_related("owner", "meeting__committee")
    items = AgendaItem.objects.within(alert=alert).select_related("meeting__committee")
    context = {"alert": alert, "actions": list(actions), "agenda_items": list(items)}
    if can_change:
        has_meeting = agenda.upcoming_meetings(alert.feed.ai_system.establishment).exists()
        context["has_meeting"] = has_meeting
        if has_meeting:
            context["action_form"] = AlertActionForm(alert=alert, prefix="action")
            context["agenda_form"] = AlertAgendaForm(alert=alert, prefix="odj")
    context["can_change"] = can_change
    return context


def _alert(request, pk) -> Alert:
    queryset = Alert.objects.select_related("feed__ai_system__establishment", "rule")
    return permissions.get_scoped(request.user, queryset, pk, "change")


@login_required
@require_POST
def alert_action(request, pk):
    alert = _alert(request, pk)
    form = AlertActionForm(request.POST, alert=alert, prefix="action")
    if form.is_valid():
        action = form.save()
        messages.success(
            request,
            _("Action « %(title)s » ouverte, suivie en séance du %(meeting)s.")
            % {
                "title": action,
                "meeting": form.fields["meeting"].label_from_instance(action.meeting),
            },
        )
    else:
        messages.error(request, _("Action refusée : %(errors)s") % {"errors": _errors(form)})
    return redirect(f"{alert.get_absolute_url()}#gouvernance")


@login_required
@require_POST
def alert_agenda(request, pk):
    alert = _alert(request, pk)
    form = AlertAgendaForm(request.POST, alert=alert, prefix="odj")
    if not form.is_valid():
        messages.error(request, _("Point refusé : %(errors)s") % {"errors": _errors(form)})
        return redirect(f"{alert.get_absolute_url()}#gouvernance")
    meeting = form.cleaned_data["meeting"]
    text = alerts.plain_text(alert)
    notes = " ".join([text["change"], text["since"], text["how_much"]])
    try:
        agenda.add_alert(meeting, alert, notes)
    except agenda.AlreadyOnAgenda:
        messages.info(request, _("Cette alerte est déjà à l'ordre du jour de cette séance."))
    else:
        messages.success(
            request,
            _("Alerte inscrite à l'ordre du jour de la séance du %(meeting)s.")
            % {"meeting": form.fields["meeting"].label_from_instance(meeting)},
        )
    return redirect(f"{alert.get_absolute_url()}#gouvernance")
