"""What governance adds to an adverse event's page (`garant.incidents.loop.register_actions`):
its corrective actions, governance actions pointing at the event (`Action.incident`), and a form
to open one, followed at a committee's meeting. Opening one needs "qualify_incident" on the
event (the quality/risk manager, the AI referent)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.governance import agenda
from garant.governance.alert_views import prepare_follow_up
from garant.governance.forms import FollowUpActionForm
from garant.governance.models import Action
from garant.governance.views import _errors
from garant.incidents.models import Incident

#: the due date proposed for a corrective action
DEFAULT_DUE_DAYS = 30


class IncidentActionForm(FollowUpActionForm):
    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.incident = incident
        title = _("Action corrective — événement n° %(pk)s") % {"pk": incident.pk}
        prepare_follow_up(self, incident.ai_system.establishment, title, DEFAULT_DUE_DAYS)


def panel_context(request, incident: Incident) -> dict:
    actions = Action.objects.within(incident=incident).select_related("owner", "meeting")
    context = {"incident": incident, "actions": list(actions), "form": None}
    if permissions.object_permission(request.user, incident, "qualify_incident"):
        has_meeting = agenda.upcoming_meetings(incident.ai_system.establishment).exists()
        context["has_meeting"] = has_meeting
        if has_meeting:
            context["form"] = IncidentActionForm(incident=incident, prefix="action")
    return context


@login_required
@require_POST
def incident_action(request, pk):
    incident = permissions.get_scoped(
        request.user,
        Incident.objects.select_related("ai_system__establishment"),
        pk,
        "qualify_incident",
    )
    form = IncidentActionForm(request.POST, incident=incident, prefix="action")
    if form.is_valid():
        action = form.save()
        messages.success(request, _("Action corrective « %(title)s » ouverte.") % {"title": action})
    else:
        messages.error(request, _("Action refusée : %(errors)s") % {"errors": _errors(form)})
    return redirect(f"{incident.get_absolute_url()}#actions-correctives")
