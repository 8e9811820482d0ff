"""Web pages of alerts: rules and alerts on a feed's page, acknowledgement with a comment,
edition, activation and deletion of a rule. Every write needs the "change" permission on
the feed's system, like adding a rule."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.monitoring import alert_panels, alerts
from garant.monitoring.alert_forms import (
    AcknowledgeForm,
    AlertRuleForm,
    DriftReferenceForm,
    ResolveForm,
    rule_initial,
)
from garant.monitoring.models import Alert, AlertRule, Feed
from garant.registry.views import _system_context

CLOSED_SHOWN = 10  # the feed's page lists the last closed alerts; the API lists them all


def feed_context(feed: Feed, can_change: bool, rule_form=None) -> dict:
    """What the feed's page shows of alerts (template `monitoring/_feed_alerts.html`)."""
    return {
        "alert_rules": feed.alert_rules.annotate(
            n_alerts=Count("alerts"),
            n_active_alerts=Count("alerts", filter=Q(alerts__state__in=alerts.ACTIVE_STATES)),
        ).order_by("kind", "pk"),  # Meta.ordering is not applied to GROUP BY queries
        "active_alerts": feed.alerts.filter(state__in=alerts.ACTIVE_STATES).select_related(
            "rule", "acknowledged_by"
        ),
        "closed_alerts": feed.alerts.filter(state=Alert.State.RESOLVED)
        .select_related("rule")
        .order_by("-resolved_at", "-pk")[:CLOSED_SHOWN],
        "rule_form": (rule_form or AlertRuleForm(feed=feed)) if can_change else None,
        "rule_defaults": rule_initial(),
        "acknowledge_form": AcknowledgeForm() if can_change else None,
        "reference_form": DriftReferenceForm(instance=feed) if can_change else None,
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


def _back(request, alert):
    """Back to the alert's page when the form was sent from it, else to the feed's page."""
    if request.POST.get("from") == "alert":
        return redirect(alert)
    return redirect(alert.feed)


ALERT_QUERYSET = Alert.objects.select_related(
    "feed__ai_system__establishment", "rule", "acknowledged_by", "resolved_by"
)


@login_required
def alert_detail(request, pk):
    """An alert in plain words (what changed, since when, how much, what it may mean for
    patients, what to do), its statistical detail one click away, the dashboard at its
    window, and what may be done: acknowledge, resolve, and what the apps above add."""
    alert = permissions.get_scoped(request.user, ALERT_QUERYSET, pk)
    context = _system_context(request, alert.feed.ai_system, "monitoring")
    can_change = context["can_change"]
    context.update(
        feed=alert.feed,
        alert=alert,
        text=alerts.plain_text(alert),
        dashboard_url=f"{reverse('monitoring:dashboard', args=[alert.feed_id])}?alerte={alert.pk}",
        acknowledge_form=AcknowledgeForm() if can_change and alert.state == "open" else None,
        resolve_form=ResolveForm() if can_change and alert.ongoing else None,
        panels=alert_panels.panels_for(request, alert, can_change),
    )
    return render(request, "monitoring/alert_detail.html", context)


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
        messages.success(
            request,
            _("Alerte prise en compte. Elle reste en cours jusqu'au retour à la normale."),
        )
    return _back(request, alert)


@login_required
@require_POST
def resolve(request, pk):
    alert = permissions.get_scoped(
        request.user, Alert.objects.select_related("feed__ai_system", "rule"), pk, "change"
    )
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Une note est obligatoire pour résoudre l'alerte."))
    elif not alert.ongoing:
        messages.error(request, _("Cette alerte est déjà close."))
    else:
        alerts.resolve(alert, request.user, form.cleaned_data["note"])
        messages.success(request, _("Alerte résolue."))
    return _back(request, alert)


@login_required
@require_POST
def drift_reference(request, pk):
    """Choose the reference of the feed's drift rules: rolling or a fixed period."""
    feed = permissions.get_scoped(
        request.user, Feed.objects.select_related("ai_system"), pk, "change"
    )
    form = DriftReferenceForm(request.POST, instance=feed)
    if form.is_valid():
        feed = form.save()
        messages.success(request, _("Référence de la dérive enregistrée."))
        alerts.evaluate_after_ingest(feed)
    else:
        messages.error(request, _("Référence refusée : %(errors)s") % {"errors": _errors(form)})
    return redirect(_feed_alerts_url(feed))


def _rule(request, pk) -> AlertRule:
    """The rule `pk` if the user may change its feed's system (404 outside their scope)."""
    queryset = AlertRule.objects.select_related("feed__ai_system__establishment")
    return permissions.get_scoped(request.user, queryset, pk, "change")


def _feed_alerts_url(feed: Feed) -> str:
    return f"{feed.get_absolute_url()}#alertes"


def _closed_message(closed: int) -> str:
    return ngettext(
        "%(n)s alerte en cours a été close (règle désactivée).",
        "%(n)s alertes en cours ont été closes (règle désactivée).",
        closed,
    ) % {"n": closed}


@login_required
def edit_rule(request, pk):
    rule = _rule(request, pk)
    feed = rule.feed
    form = AlertRuleForm(request.POST or None, instance=rule, feed=feed)
    if request.method == "POST" and form.is_valid():
        rule, closed = alerts.save_rule(form)
        messages.success(
            request, _("Règle « %(rule)s » modifiée.") % {"rule": rule.get_kind_display()}
        )
        if closed:
            messages.info(request, _closed_message(closed))
        alerts.evaluate_after_ingest(feed)  # evaluated at once with its new parameters
        return redirect(_feed_alerts_url(feed))
    context = _system_context(request, feed.ai_system, "monitoring")
    context.update(feed=feed, rule=rule, form=form)
    return render(request, "monitoring/rule_form.html", context)


@login_required
@require_POST
def set_rule_active(request, pk, active: bool):
    rule = _rule(request, pk)
    closed = alerts.set_active(rule, active)
    if active:
        messages.success(
            request, _("Règle « %(rule)s » activée.") % {"rule": rule.get_kind_display()}
        )
        alerts.evaluate_after_ingest(rule.feed)
    else:
        messages.success(
            request,
            _("Règle « %(rule)s » désactivée : elle ne sera plus évaluée.")
            % {"rule": rule.get_kind_display()},
        )
        if closed:
            messages.info(request, _closed_message(closed))
    return redirect(_feed_alerts_url(rule.feed))


@login_required
def delete_rule(request, pk):
    rule = _rule(request, pk)
    feed = rule.feed
    alert_count = rule.alerts.count()
    if request.method == "POST":
        try:
            alerts.delete_rule(rule)
        except alerts.RuleHasAlerts as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request, _("Règle « %(rule)s » supprimée.") % {"rule": rule.get_kind_display()}
            )
        return redirect(_feed_alerts_url(feed))
    context = _system_context(request, feed.ai_system, "monitoring")
    context.update(
        feed=feed,
        rule=rule,
        alert_count=alert_count,
        deactivate_url=reverse("monitoring:alert_rule_deactivate", args=[rule.pk]),
    )
    return render(request, "monitoring/rule_confirm_delete.html", context)
