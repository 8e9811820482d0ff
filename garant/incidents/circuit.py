"""The writes of the incident circuit, shared by the pages and the API: each is atomic and
audited (Audited models; the request's audit context names who)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from garant.compliance.models import RiskLevel
from garant.compliance.qualifications import current
from garant.core.audit import audit_context
from garant.incidents import notify, reports
from garant.incidents.models import Incident, RegulatoryReport

#: device statuses of the register that do not make the system a medical device
NOT_DEVICE = ("not_device", "unknown")


@transaction.atomic
def declare(form, system, user, alert=None, oversight_alert=None) -> Incident:
    """Save a valid `DeclareForm`: device and high-risk status pre-filled from the register
    and the compliance qualification; no declarer kept for an anonymous declaration."""
    incident = form.save(commit=False)
    incident.ai_system = system
    incident.monitoring_alert, incident.oversight_alert = alert, oversight_alert
    incident.is_device = system.device_status not in NOT_DEVICE
    qualification = current(system)
    incident.ai_act_high_risk = bool(qualification and qualification.risk_level == RiskLevel.HIGH)
    incident.declared_by = None if incident.anonymous else user
    if incident.anonymous:
        # the trail records the declaration without its author: an anonymous FEI stays so
        # for the auditors too (the establishment's FEI policy allowed it)
        with audit_context(source="anonyme"):
            incident.save()
    else:
        incident.save()
    notify.declared(incident)
    return incident


@transaction.atomic
def qualify(form, user) -> Incident:
    """Save a valid `QualifyForm` and open, update or close the reports it requires."""
    incident = form.save(commit=False)
    incident.state = Incident.State.QUALIFIED
    incident.qualified_by = user
    incident.qualified_at = incident.qualified_at or timezone.now()
    incident.rules_version = reports.referential.rules().version
    incident.save()
    notify.opened(incident, reports.sync(incident))
    return incident


def not_required(report: RegulatoryReport, reason: str) -> RegulatoryReport:
    report.status = RegulatoryReport.Status.NOT_REQUIRED
    report.not_required_reason = reason
    report.save()
    return report
