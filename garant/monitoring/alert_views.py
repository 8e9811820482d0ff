"""Web pages of alerts: rules and alerts on a feed's page, acknowledgement with a comment."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.monitoring import alerts
from garant.monitoring.alert_forms import AcknowledgeForm, AlertRuleForm
from garant.monitoring.models import Alert, Feed


def feed_context(feed: Feed, can_change: bool, rule_form=None) -> dict:
    """What the feed's page shows of alerts (template `monitoring/_feed_alerts.html`)."""
    return {
        "alert_rules": feed.alert_rules.all(),
        "active_alerts": feed.alerts.filter(state__in=alerts.ACTIVE_STATES).select_related(
            "rule", "acknowledged_by"
        ),
        "rule_form": (rule_form or AlertRuleForm(feed=feed)) if can_change else None,
        "acknowledge_form": AcknowledgeForm() if can_change else None,
    }


def _errors(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@login_required
@require_POST
def add_rule(request, pk):
    feed = permissions.get_scoped(
        request.user, Feed.objects.select_related("ai_system"), pk, "change"
    )
    form = AlertRuleForm(request.POST, feed=feed)
    if form.is_valid():
        rule = form.save()
        messages.success(
            request, _("Règle « %(rule)s » ajoutée.") % {"rule": rule.get_kind_display()}
        )
        alerts.evaluate_after_ingest(feed)
    else:
        messages.error(request, _("Règle refusée : %(errors)s") % {"errors": _errors(form)})
    return redirect(feed)


@login_required
@require_POST
def acknowledge(request, pk):
    alert = permissions.get_scoped(
        request.user, Alert.objects.select_related("feed__ai_system", "rule"), pk, "change"
    )
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Un commentaire est obligatoire pour prendre en compte l'alerte.")
        )
    elif alert.state != Alert.State.OPEN:
        messages.error(request, _("Seule une alerte ouverte peut être prise en compte."))
    else:
        alerts.acknowledge(alert, request.user, form.cleaned_data["comment"])
        messages.success(request, _("Alerte prise en compte."))
    return redirect(alert.feed)
