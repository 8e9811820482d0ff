"""Pages of the incident circuit: declare an event from a system's page or an alert, qualify
it (quality/risk manager, AI referent), follow its regulatory reports (mark one sent with its
proof, or not required with a reason), download the drafts, close it; the register with its
on-time rate and times to qualify and to close. Declaring needs "report_incident" on the
system; the other steps "qualify_incident" (garant/core/roles.py). Every write is atomic and
audited; refusals are French messages, nothing stored."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.compliance.qualifications import current
from garant.core import permissions
from garant.core.documents import pdf_response
from garant.core.models import Establishment
from garant.core.referentials import vocabulary
from garant.incidents import circuit, drafts, loop, reports
from garant.incidents.forms import (
    AnalysisForm,
    CloseForm,
    DeclareForm,
    NotRequiredForm,
    OccurrenceForm,
    PolicyForm,
    QualifyForm,
    SentForm,
)
from garant.incidents.models import Incident, IncidentPolicy, RegulatoryReport
from garant.monitoring import alert_panels
from garant.monitoring.models import Alert
from garant.oversight.models import OversightAlert
from garant.registry.models import AISystem
from garant.registry.views import _system_context


def policy_of(establishment) -> IncidentPolicy | None:
    return IncidentPolicy.objects.within(establishment=establishment).first()


def _rows(queryset) -> list[dict]:
    now = timezone.now()
    return [
        {
            "report": r,
            "title": reports.title(r),
            "recipient": reports.recipient_label(r),
            "recipient_status": reports.recipient_status(r),
            "late": r.late(now),
        }
        for r in queryset
    ]


@login_required
def declare(request, pk):
    system = permissions.get_scoped(
        request.user, AISystem.objects.select_related("establishment"), pk, "report_incident"
    )
    policy = policy_of(system.establishment)
    allowed = bool(policy and policy.anonymous_allowed)
    alert = oversight_alert = None
    source = request.POST if request.method == "POST" else request.GET
    if (alert_id := source.get("alert", "")).isdigit():
        alert = Alert.objects.within(feed__ai_system=system).filter(pk=alert_id).first()
    if (oversight_id := source.get("oversight_alert", "")).isdigit():
        oversight_alert = (
            OversightAlert.objects.within(ai_system=system).filter(pk=oversight_id).first()
        )
    if request.method == "POST":
        form = DeclareForm(request.POST, system=system, anonymous_allowed=allowed)
        if form.is_valid():
            incident = circuit.declare(form, system, request.user, alert, oversight_alert)
            messages.success(
                request,
                _("Événement déclaré (n° %(pk)s) : le responsable qualité le qualifie.")
                % {"pk": incident.pk},
            )
            if permissions.object_permission(request.user, incident, "view"):
                return redirect(incident)
            return redirect(system)
    else:
        initial = {}
        if alert is not None:
            initial["description"] = _("Alerte de suivi : %(m)s") % {"m": alert.message}
        elif oversight_alert is not None:
            initial["description"] = _("Alerte de supervision : %(m)s") % {
                "m": oversight_alert.message
            }
        form = DeclareForm(initial=initial, system=system, anonymous_allowed=allowed)
    context = _system_context(request, system, "incidents")
    context.update({"form": form, "alert": alert, "oversight_alert": oversight_alert})
    return render(request, "incidents/declare.html", context)


def _incident(request, pk, permission="view") -> Incident:
    queryset = Incident.objects.select_related(
        "ai_system__establishment",
        "ai_system__vendor",
        "service",
        "declared_by",
        "qualified_by",
        "failure_mode__analysis",
    )
    return permissions.get_scoped(request.user, queryset, pk, permission)


@login_required
def detail(request, pk):
    incident = _incident(request, pk)
    system = incident.ai_system
    can_qualify = permissions.object_permission(request.user, incident, "qualify_incident")
    context = _system_context(request, system, "incidents")
    suggested = loop.suggestion(incident)
    context.update(
        {
            "incident": incident,
            "reports": _rows(incident.reports.all()),
            "can_qualify": can_qualify,
            "close_form": CloseForm() if can_qualify else None,
            "factors": loop.factor_labels(incident.contributing_factors, incident.factors_version),
            "suggestion": suggested,
            "occurrence_form": OccurrenceForm(
                initial={"occurrence": suggested["level"], "basis": suggested["basis"]},
                levels=suggested["levels"],
            )
            if suggested and can_qualify
            else None,
            "action_panels": loop.action_panels(request, incident),
        }
    )
    return render(request, "incidents/detail.html", context)


@login_required
def analyse(request, pk):
    """The root-cause analysis and the link to the AMDEC failure mode."""
    incident = _incident(request, pk, "qualify_incident")
    if incident.state == Incident.State.CLOSED:  # closed with its analysis: kept as it was
        messages.error(request, _("Événement clos : son analyse des causes n'est plus modifiable."))
        return redirect(incident)
    if request.method == "POST":
        form = AnalysisForm(request.POST, instance=incident)
        if form.is_valid():
            with transaction.atomic():
                incident = form.save(commit=False)
                incident.factors_version = loop.analysis_referential().version
                incident.analysed_by, incident.analysed_at = request.user, timezone.now()
                incident.save()
            messages.success(request, _("Analyse des causes enregistrée."))
            if incident.failure_mode_id and loop.suggestion(incident):
                messages.info(
                    request,
                    _("Lié à l'AMDEC : confirmez la fréquence que suggèrent les événements."),
                )
            return redirect(incident)
    else:
        form = AnalysisForm(instance=incident)
    context = _system_context(request, incident.ai_system, "incidents")
    context.update({"incident": incident, "form": form})
    return render(request, "incidents/analyse.html", context)


@login_required
@require_POST
def occurrence(request, pk):
    """The quality manager confirms (or changes) the suggested occurrence of the failure mode:
    the AMDEC draft gets it on the row of the same lineage."""
    incident = _incident(request, pk, "qualify_incident")
    suggested = loop.suggestion(incident)
    if suggested is None:
        messages.error(request, _("Aucun mode de défaillance lié ou aucun événement à compter."))
        return redirect(incident)
    form = OccurrenceForm(request.POST, levels=suggested["levels"])
    if not form.is_valid():
        messages.error(request, _("Fréquence non enregistrée : choisissez un niveau et justifiez."))
        return redirect(incident)
    try:
        row = loop.reestimate(
            incident, form.cleaned_data["occurrence"], request.user, form.cleaned_data["basis"]
        )
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect(incident)
    messages.success(
        request,
        _("Fréquence résiduelle %(o)s enregistrée dans l'AMDEC version %(v)s (brouillon).")
        % {"o": row.residual_occurrence, "v": row.analysis.number},
    )
    return redirect(incident)


@login_required
def qualify(request, pk):
    incident = _incident(request, pk, "qualify_incident")
    if incident.state == Incident.State.CLOSED:
        messages.error(request, _("Cet événement est clos : il ne peut plus être requalifié."))
        return redirect(incident)
    system = incident.ai_system
    if request.method == "POST":
        form = QualifyForm(request.POST, instance=incident)
        if form.is_valid():
            incident = circuit.qualify(form, request.user)
            messages.success(request, _("Qualification enregistrée : déclarations mises à jour."))
            return redirect(incident)
    else:
        form = QualifyForm(instance=incident)
    qualification = current(system)
    context = _system_context(request, system, "incidents")
    context.update(
        {
            "incident": incident,
            "form": form,
            "device_status": vocabulary("device_status").label_of(system.device_status),
            "qualification": qualification,
            "preview": [
                {
                    "title": reports.referential.label(reports.referential.report(d.code)["title"]),
                    "deadline": d.deadline,
                    "required": d.required,
                    "reason": d.reason,
                }
                for d in reports.referential.due(reports.facts_of(incident))
            ],
        }
    )
    return render(request, "incidents/qualify.html", context)


@login_required
@require_POST
def close(request, pk):
    incident = _incident(request, pk, "qualify_incident")
    form = CloseForm(request.POST)
    if incident.state != Incident.State.QUALIFIED:
        messages.error(request, _("Seul un événement qualifié peut être clos."))
    elif incident.reports.filter(status=RegulatoryReport.Status.TO_DO).exists():
        messages.error(request, _("Des déclarations restent à faire : clôture impossible."))
    elif not form.is_valid():
        messages.error(request, _("Indiquez l'analyse et les actions correctives."))
    else:
        incident.state = Incident.State.CLOSED
        incident.closing_note = form.cleaned_data["note"]
        incident.closed_by, incident.closed_at = request.user, timezone.now()
        incident.save()
        messages.success(request, _("Événement clos."))
    return redirect(incident)


def _report(request, pk, permission="view") -> RegulatoryReport:
    queryset = RegulatoryReport.objects.select_related(
        "incident__ai_system__establishment", "incident__ai_system__vendor", "sent_by"
    )
    return permissions.get_scoped(request.user, queryset, pk, permission)


@login_required
def report(request, pk):
    item = _report(request, pk)
    incident = item.incident
    can_qualify = permissions.object_permission(request.user, item, "qualify_incident")
    sent_form = not_required_form = None
    if request.method == "POST":
        if not can_qualify:
            raise PermissionDenied
        if item.status == RegulatoryReport.Status.SENT:
            messages.error(request, _("Cette déclaration est déjà marquée envoyée."))
            return redirect(item)
        if request.POST.get("action") == "not_required":
            not_required_form = NotRequiredForm(request.POST)
            if not_required_form.is_valid():
                circuit.not_required(item, not_required_form.cleaned_data["reason"])
                messages.success(request, _("Déclaration marquée non requise."))
                return redirect(incident)
        else:
            sent_form = SentForm(request.POST, request.FILES, instance=item)
            if sent_form.is_valid():
                with transaction.atomic():
                    item = sent_form.save(commit=False)
                    item.status = RegulatoryReport.Status.SENT
                    item.sent_by = request.user
                    item.save()
                messages.success(request, _("Déclaration marquée envoyée, avec sa preuve."))
                return redirect(incident)
    if can_qualify and item.status != RegulatoryReport.Status.SENT:
        sent_form = sent_form or SentForm(instance=item)
        not_required_form = not_required_form or NotRequiredForm()
    context = _system_context(request, incident.ai_system, "incidents")
    context.update(
        {
            "incident": incident,
            "row": _rows([item])[0],
            "item": item,
            "sent_form": sent_form,
            "not_required_form": not_required_form,
        }
    )
    return render(request, "incidents/report.html", context)


@login_required
def proof(request, pk):
    item = _report(request, pk)
    if not item.proof:
        raise Http404
    try:
        handle = item.proof.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=item.proof_name)


@login_required
def draft_json(request, pk):
    item = _report(request, pk)
    content = json.dumps(drafts.draft(item), ensure_ascii=False, indent=2)
    response = HttpResponse(content, content_type="application/json; charset=utf-8")
    filename = f"brouillon-{item.code}-{item.incident_id}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def draft_pdf(request, pk):
    item = _report(request, pk)
    return pdf_response(drafts.pdf(item), f"brouillon-{item.code}-{item.incident_id}.pdf")


@login_required
def system_incidents(request, pk):
    system = permissions.get_scoped(
        request.user, AISystem.objects.select_related("establishment"), pk
    )
    context = _system_context(request, system, "incidents")
    incidents = Incident.objects.within(ai_system=system).prefetch_related("reports")
    context.update(
        {
            "incidents": incidents,
            "can_declare": permissions.object_permission(request.user, system, "report_incident"),
        }
    )
    return render(request, "incidents/system.html", context)


@login_required
def register(request):
    incidents = list(
        permissions.scope(Incident.objects.all(), request.user)
        .select_related("ai_system__establishment", "service")
        .prefetch_related("reports")
    )
    all_reports = [r for i in incidents for r in i.reports.all()]
    establishments = permissions.scope(Establishment.objects.all(), request.user, "manage")
    policies = []
    for est in establishments:
        policy = IncidentPolicy.objects.within(establishment=est).first()
        policies.append((est, PolicyForm(instance=policy, prefix=f"p{est.pk}")))
    return render(
        request,
        "incidents/register.html",
        {
            "incidents": incidents,
            "stats": reports.register_stats(incidents, all_reports),
            "policies": policies,
        },
    )


@login_required
def report_list(request):
    queryset = (
        permissions.scope(RegulatoryReport.objects.all(), request.user)
        .select_related("incident__ai_system__establishment")
        .order_by("status", "deadline", "pk")
    )
    status = request.GET.get("statut", "")
    if status in RegulatoryReport.Status.values:
        queryset = queryset.filter(status=status)
    return render(
        request,
        "incidents/reports.html",
        {
            "rows": _rows(queryset[:500]),
            "status": status,
            "statuses": RegulatoryReport.Status.choices,
        },
    )


@login_required
@require_POST
def policy(request, pk):
    establishment = permissions.get_scoped(request.user, Establishment, pk, "manage")
    current_policy = IncidentPolicy.objects.within(establishment=establishment).first()
    form = PolicyForm(request.POST, instance=current_policy, prefix=f"p{establishment.pk}")
    if form.is_valid():
        item = form.save(commit=False)
        item.establishment = establishment
        item.save()
        messages.success(request, _("Politique de déclaration enregistrée."))
    else:
        messages.error(request, _("Politique non enregistrée."))
    return redirect("incidents:register")


# — registered views (registry.banners, monitoring.alert_panels, core.home) —


def banner_context(request, system) -> dict | None:
    """The « Déclarer un événement » button at the top of every page of a system."""
    if not permissions.object_permission(request.user, system, "report_incident"):
        return None
    return {"system": system}


def alert_panel_context(request, alert, can_change: bool) -> dict | None:
    """The « Événement indésirable » panel of an alert's page, of monitoring or of the
    oversight rates: the events declared from it, and a link to declare one."""
    system = alert.ai_system
    field = alert_panels.link_field(alert)
    linked = list(
        Incident.objects.within(**{"monitoring_alert" if field == "alert" else field: alert})
    )
    can_declare = permissions.object_permission(request.user, system, "report_incident")
    if not can_declare and not linked:
        return None
    declare = f"{reverse('incidents:declare', args=[system.pk])}?{field}={alert.pk}"
    return {
        "alert": alert,
        "system": system,
        "incidents": linked,
        "can_declare": can_declare,
        "declare_url": declare,
    }
