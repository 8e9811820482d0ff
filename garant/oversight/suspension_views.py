"""Pages of a system's suspension (`garant.oversight.suspension`): propose it (from a
monitoring alert, an oversight alert, a collège finding on a review campaign's page or the
« Supervision humaine » tab), confirm or decline
a proposal, resume on a signed committee decision. Proposing needs "propose_suspension" on
the system; the other steps "suspend" (garant/core/roles.py). Refusals are French messages,
nothing stored."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.monitoring import alert_panels
from garant.monitoring.models import Alert
from garant.oversight import suspension as service
from garant.oversight.models import OversightAlert, Suspension
from garant.registry.models import AISystem
from garant.registry.views import _system_context


class ProposeForm(forms.Form):
    cause = forms.CharField(
        label=gettext_lazy("cause de la proposition"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    alert = forms.IntegerField(required=False, widget=forms.HiddenInput)
    finding = forms.IntegerField(required=False, widget=forms.HiddenInput)  # a collège case
    oversight_alert = forms.TypedChoiceField(
        label=gettext_lazy("alerte de supervision à l'origine"),
        required=False,
        coerce=int,
        empty_value=None,
    )

    def __init__(self, *args, system=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("aucune"))]
        if system is not None:
            active = system.oversight_alerts.filter(state__in=("open", "acknowledged"))
            choices += [(a.pk, a.message[:120]) for a in active]
        self.fields["oversight_alert"].choices = choices


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("motif de la suspension"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DeclineForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("motif du refus"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def resume_form(suspension, data=None) -> forms.Form:
    decisions = service.resumption_decisions(suspension)
    form = forms.Form(data)
    form.fields["decision"] = forms.TypedChoiceField(
        label=gettext_lazy("décision signée du comité"),
        choices=[("", _("aucune décision signée ne fait référence à cette suspension"))]
        if not decisions
        else [(d.pk, str(d)) for d in decisions],
        coerce=int,
        required=False,
        empty_value=None,
    )
    form.decisions = {d.pk: d for d in decisions}
    return form


def system_context(request, system) -> dict:
    """The suspension section of the « Supervision humaine » tab."""
    can_propose = permissions.object_permission(request.user, system, "propose_suspension")
    return {
        "suspension_in_effect": service.in_effect(system),
        "suspensions": list(
            Suspension.objects.within(ai_system=system).select_related(
                "proposed_by", "suspended_by"
            )[:10]
        ),
        "propose_form": ProposeForm(system=system, prefix="susp") if can_propose else None,
    }


def banner_context(request, system) -> dict | None:
    """The « Suspendu » banner of every page of a suspended system."""
    current = service.in_effect(system)
    return None if current is None else {"suspension": current}


def alert_panel_context(request, alert, can_change: bool) -> dict | None:
    """The « Proposer la suspension » panel of an alert's page: a monitoring alert, or an
    alert of the oversight rates (sent as `oversight_alert`)."""
    system = alert.ai_system
    field = alert_panels.link_field(alert)
    can_propose = permissions.object_permission(request.user, system, "propose_suspension")
    proposals = list(Suspension.objects.within(**{field: alert}))
    if not can_propose and not proposals:
        return None
    form = None
    if can_propose:
        form = ProposeForm(
            prefix="susp",
            initial={"cause": _("Alerte : %(message)s") % {"message": alert.message}},
        )
        del form.fields["oversight_alert"]  # the alert goes as a hidden field
    return {
        "alert": alert,
        "field": f"susp-{field}",
        "system": system,
        "proposals": proposals,
        "in_effect": service.in_effect(system),
        "form": form,
    }


@login_required
@require_POST
def propose(request, pk):
    queryset = AISystem.objects.select_related("establishment")
    system = permissions.get_scoped(request.user, queryset, pk, "propose_suspension")
    form = ProposeForm(request.POST, system=system, prefix="susp")
    valid = form.is_valid()
    data = form.cleaned_data
    alert = oversight_alert = None
    if data.get("alert"):
        alerts = Alert.objects.within(feed__ai_system=system)
        alert = alerts.filter(pk=data["alert"]).first()
    if data.get("oversight_alert"):
        oversight_alerts = OversightAlert.objects.within(ai_system=system)
        oversight_alert = oversight_alerts.filter(pk=data["oversight_alert"]).first()
    finding = service.find_finding(system, data["finding"]) if data.get("finding") else None
    if finding is not None:
        back = finding.get_absolute_url()  # the case on its campaign's page
    elif alert is not None:
        back = alert.get_absolute_url() + "#suspension"
    else:
        back = reverse("oversight:system", args=[system.pk]) + "#suspension"
    if data.get("finding") and finding is None:  # not a reviewed case of this system
        messages.error(request, _("Aucun constat du collège sur ce système n'a cet identifiant."))
        return redirect(back)
    if not valid:
        messages.error(request, _("Indiquez la cause de la proposition de suspension."))
        return redirect(back)
    try:
        proposal = service.propose(
            system,
            request.user,
            data["cause"],
            alert=alert,
            oversight_alert=oversight_alert,
            finding=finding,
        )
    except service.Refused as refused:
        messages.error(request, str(refused))
        return redirect(back)
    messages.success(request, _("Suspension proposée : une personne habilitée doit la confirmer."))
    return redirect(proposal)


def _suspension(request, pk, permission="view") -> Suspension:
    queryset = Suspension.objects.select_related(
        "ai_system__establishment", "alert__feed", "oversight_alert", "proposed_by"
    )
    return permissions.get_scoped(request.user, queryset, pk, permission)


def _detail(request, suspension, status=200, **forms_given):
    system = suspension.ai_system
    context = _system_context(request, system, "oversight")
    can_suspend = permissions.object_permission(request.user, system, "suspend")
    context.update(
        suspension=suspension,
        findings=service.findings(suspension),
        can_suspend=can_suspend,
        reason_form=forms_given.get("reason_form") or ReasonForm(),
        decline_form=forms_given.get("decline_form") or DeclineForm(),
        resume_form=forms_given.get("resume_form") or resume_form(suspension),
    )
    return render(request, "oversight/suspension_detail.html", context, status=status)


@login_required
def detail(request, pk):
    return _detail(request, _suspension(request, pk))


@login_required
@require_POST
def confirm(request, pk):
    suspension = _suspension(request, pk, "suspend")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _detail(request, suspension, 422, reason_form=form)
    try:
        service.suspend(suspension, request.user, form.cleaned_data["reason"])
    except service.Refused as refused:
        messages.error(request, str(refused))
        return redirect(suspension)
    messages.success(request, _("Système suspendu : le logiciel clinique en est informé."))
    return redirect(suspension)


@login_required
@require_POST
def decline(request, pk):
    suspension = _suspension(request, pk, "suspend")
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _detail(request, suspension, 422, decline_form=form)
    try:
        service.decline(suspension, request.user, form.cleaned_data["note"])
    except service.Refused as refused:
        messages.error(request, str(refused))
        return redirect(suspension)
    messages.success(request, _("Proposition de suspension refusée."))
    return redirect(suspension)


@login_required
@require_POST
def resume(request, pk):
    suspension = _suspension(request, pk, "suspend")
    form = resume_form(suspension, request.POST)
    decision = None
    if form.is_valid() and form.cleaned_data["decision"] is not None:
        decision = form.decisions.get(form.cleaned_data["decision"])
    try:
        service.resume(suspension, request.user, decision)
    except service.Refused as refused:
        messages.error(request, str(refused))
        return redirect(suspension)
    messages.success(request, _("Reprise enregistrée : le système est de nouveau actif."))
    return redirect(suspension)
