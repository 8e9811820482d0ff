"""What governance adds to an alert's page (`garant.monitoring.alert_panels`), for an alert of
monitoring as for one of the oversight rates (`garant.oversight`): open an action (owner, due
date) followed at a committee's meeting, and put the alert on the agenda of a committee's
next meeting. Both need the "change" permission on the alert's system, like acknowledging
it; the action and the agenda item keep a link to the alert (`agenda.alert_field`)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
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
from garant.oversight.models import OversightAlert

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


def _meetings_field(alert, label) -> MeetingChoice:
    meetings = agenda.upcoming_meetings(alert.ai_system.establishment)
    return MeetingChoice(queryset=meetings, label=label, initial=meetings.first(), empty_label=None)


def _action_title(alert) -> str:
    if agenda.alert_field(alert) == "oversight_alert":
        where = alert.service or alert.ai_system.name
    else:
        where = alert.feed.name
    return _("Traiter l'alerte « %(kind)s » — %(feed)s") % {
        "kind": alert.rule.get_kind_display(),
        "feed": where,
    }


class AlertActionForm(FollowUpActionForm):
    """An action opened from an alert, of monitoring or of the oversight rates."""

    def __init__(self, *args, alert, **kwargs):
        super().__init__(*args, **kwargs)
        setattr(self.instance, agenda.alert_field(alert), alert)
        prepare_follow_up(
            self, alert.ai_system.establishment, _action_title(alert), DEFAULT_DUE_DAYS
        )


class AlertAgendaForm(forms.Form):
    meeting = forms.ModelChoiceField(queryset=None)

    def __init__(self, *args, alert, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"] = _meetings_field(alert, gettext_lazy("séance"))


#: per kind of alert: its model, the names of the two views below, and how its text reads on
#: the agenda
KINDS = {
    "alert": (Alert, "governance:alert_action", "governance:alert_agenda"),
    "oversight_alert": (
        OversightAlert,
        "governance:oversight_alert_action",
        "governance:oversight_alert_agenda",
    ),
}


def panel_context(request, alert, can_change: bool) -> dict:
    """The governance panel of an alert's page (of monitoring or of the oversight rates): its
    actions and agenda items, and the forms."""
    field = agenda.alert_field(alert)
    _model, action_url, agenda_url = KINDS[field]
    actions = Action.objects.within(**{field: alert}).select_related("owner", "meeting__committee")
    items = AgendaItem.objects.within(**{field: alert}).select_related("meeting__committee")
    context = {
        "alert": alert,
        "actions": list(actions),
        "agenda_items": list(items),
        "action_url": reverse(action_url, args=[alert.pk]),
        "agenda_url": reverse(agenda_url, args=[alert.pk]),
    }
    if can_change:
        has_meeting = agenda.upcoming_meetings(alert.ai_system.establishment).exists()
        context["has_meeting"] = has_meeting
        if has_meeting:
            context["action_form"] = AlertActionForm(alert=alert, prefix="action")
            context["agenda_form"] = AlertAgendaForm(alert=alert, prefix="odj")
    context["can_change"] = can_change
    return context


def _alert(request, kind: str, pk):
    model = KINDS[kind][0]
    queryset = model.objects.select_related("rule")
    return permissions.get_scoped(request.user, queryset, pk, "change")


def _agenda_notes(alert) -> str:
    if agenda.alert_field(alert) == "oversight_alert":
        return alert.message
    text = alerts.plain_text(alert)
    return " ".join([text["change"], text["since"], text["how_much"]])


@login_required
@require_POST
def alert_action(request, pk, kind: str = "alert"):
    alert = _alert(request, kind, pk)
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
def alert_agenda(request, pk, kind: str = "alert"):
    alert = _alert(request, kind, pk)
    form = AlertAgendaForm(request.POST, alert=alert, prefix="odj")
    if not form.is_valid():
        messages.error(request, _("Point refusé : %(errors)s") % {"errors": _errors(form)})
        return redirect(f"{alert.get_absolute_url()}#gouvernance")
    meeting = form.cleaned_data["meeting"]
    try:
        agenda.add_alert(meeting, alert, _agenda_notes(alert))
    except agenda.AlreadyOnAgenda:
        messages.info(request, _("Cette alerte est déjà à l'ordre du jour de cette séance."))
    else:
        messages.success(
            request,
            _("Alerte inscrite à l'ordre du jour de la séance du %(meeting)s.")
            % {"meeting": form.fields["meeting"].label_from_instance(meeting)},
        )
    return redirect(f"{alert.get_absolute_url()}#gouvernance")
