"""The « Supervision humaine » tab of a system: what clinicians did with its outputs.

`/supervision/systemes/<pk>/` shows, for a period read from the query string (``du``,
``au``, ``par``; by default the last 90 days by week), the rates per period, service, role
and reason, the blind-acceptance indicator and the kappa, the alert rules and alerts, the
batches received; with the "change" permission, a file import and a rule form. Every write
needs the "change" permission on the system and goes through the audit trail.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.oversight import alert_links, alerts, ingest, rates, referential, suspension_views
from garant.oversight.forms import (
    AcknowledgeForm,
    PeriodForm,
    RuleForm,
    UploadForm,
    default_period,
)
from garant.oversight.models import FeedbackBatch, OversightAlert, OversightRule
from garant.registry.models import AISystem
from garant.registry.views import _system_context

CLOSED_SHOWN = 10


def _system(request, pk, permission: str = "view") -> AISystem:
    queryset = AISystem.objects.select_related("establishment", "vendor")
    return permissions.get_scoped(request.user, queryset, pk, permission)


def _labelled(rows: list[dict], key: str, vocabulary: str | None, codes) -> list[dict]:
    for row in rows:
        value = row.get(key)
        if vocabulary:
            row["label"] = codes.label(vocabulary, value) if value else _("non renseigné")
        else:
            row["label"] = value or _("non renseigné")
    return rows


def _context(request, system, upload_form=None, rule_form=None, errors=None) -> dict:
    context = _system_context(request, system, "oversight")
    given = "du" in request.GET or "au" in request.GET
    period = PeriodForm(request.GET if given else default_period())
    summary = None
    if period.is_valid():
        data = period.cleaned_data
        summary = rates.system_summary(
            system, data["du"], data["au"] + dt.timedelta(days=1), data["par"]
        )
        codes = referential.codes()
        _labelled(summary["by_service"], "service", None, codes)
        _labelled(summary["by_role"], "role", "roles", codes)
        _labelled(summary["by_reason"], "reason", "reasons", codes)
        _labelled(summary["kappa"]["by_service"], "service", None, codes)
    can_change = context["can_change"]
    context.update(
        period_form=period,
        summary=summary,
        rules=system.oversight_rules.all(),
        active_alerts=alert_links.attach(
            request, system, system.oversight_alerts.filter(state__in=alerts.ACTIVE_STATES)
        ),
        closed_alerts=system.oversight_alerts.filter(state=OversightAlert.State.RESOLVED).order_by(
            "-resolved_at", "-pk"
        )[:CLOSED_SHOWN],
        batches=FeedbackBatch.objects.within(systems=system).order_by("-created_at", "-pk")[:20],
        upload_form=(upload_form or UploadForm()) if can_change else None,
        rule_form=(rule_form or RuleForm(ai_system=system)) if can_change else None,
        acknowledge_form=AcknowledgeForm() if can_change else None,
        errors=errors,
    )
    return context


@login_required
def system(request, pk):
    system = _system(request, pk)
    context = _context(request, system)
    context.update(suspension_views.system_context(request, system))
    return render(request, "oversight/system.html", context)


@login_required
@require_POST
def upload(request, pk):
    system = _system(request, pk, "change")
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            table = ingest.read_file(upload)
            received = ingest.ingest(
                system.establishment, table, "file", user=request.user, default_system=system
            )
        except ingest.BatchRefused as refused:
            errors = {"listed": refused.errors, "total": refused.total, "file": upload.name}
            context = _context(request, system, upload_form=form, errors=errors)
            return render(request, "oversight/system.html", context, status=422)
        messages.success(
            request,
            _("%(stored)s événement(s) enregistré(s), %(already)s déjà reçu(s).")
            % {"stored": received.stored, "already": received.already},
        )
        return redirect("oversight:system", system.pk)
    context = _context(request, system, upload_form=form)
    return render(request, "oversight/system.html", context, status=422)


@login_required
@require_POST
def add_rule(request, pk):
    system = _system(request, pk, "change")
    form = RuleForm(request.POST, ai_system=system)
    if form.is_valid():
        rule = form.save()
        alerts.evaluate(rule)
        messages.success(request, _("Règle d'alerte ajoutée."))
        return redirect(reverse("oversight:system", args=[system.pk]) + "#alertes")
    context = _context(request, system, rule_form=form)
    return render(request, "oversight/system.html", context, status=422)


@login_required
@require_POST
def deactivate_rule(request, pk):
    queryset = OversightRule.objects.select_related("ai_system")
    rule = permissions.get_scoped(request.user, queryset, pk, "change")
    alerts.set_active(rule, False)
    messages.success(request, _("Règle désactivée : ses alertes en cours sont closes."))
    return redirect(reverse("oversight:system", args=[rule.ai_system_id]) + "#alertes")


@login_required
@require_POST
def acknowledge(request, pk):
    queryset = OversightAlert.objects.select_related("ai_system", "rule")
    alert = permissions.get_scoped(request.user, queryset, pk, "change")
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Un commentaire est obligatoire pour prendre en compte l'alerte.")
        )
    elif alert.state != OversightAlert.State.OPEN:
        messages.error(request, _("Seule une alerte ouverte peut être prise en compte."))
    else:
        alerts.acknowledge(alert, request.user, form.cleaned_data["comment"])
        messages.success(request, _("Alerte prise en compte."))
    return redirect(reverse("oversight:system", args=[alert.ai_system_id]) + "#alertes")
