"""From a qualified incident to its regulatory reports, and the clocks people see.

`sync(incident)` turns the incident's qualification into `rules.Facts`, asks the referential
which reports are due, and opens, updates or closes `RegulatoryReport` rows: a new report opens
« à faire » (or « non requis » with the reason when the obligation does not apply yet); one still
to do gets the new deadline; one no longer required after a requalification becomes « non requis »
with the reason; a sent report is never touched.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.core.tenancy import scope
from garant.incidents import referential
from garant.incidents.models import Incident, RegulatoryReport
from garant.incidents.rules import Facts

#: reports due within this many hours count as "due soon" on the home page
DUE_SOON_HOURS = 48


def facts_of(incident: Incident) -> Facts:
    policy = getattr(incident.ai_system.establishment, "incident_policy", None)
    return Facts(
        awareness=timezone.localtime(incident.aware_at),
        consequence=incident.consequence,
        causal_link=incident.causal_link,
        is_device=incident.is_device,
        ai_act_high_risk=incident.ai_act_high_risk,
        ai_act_serious=incident.ai_act_serious,
        critical_infrastructure=incident.critical_infrastructure,
        fundamental_rights=incident.fundamental_rights,
        widespread_infringement=incident.widespread_infringement,
        mdr_serious=incident.mdr_serious,
        public_health_threat=incident.public_health_threat,
        eigs=incident.eigs,
        data_breach=incident.data_breach,
        breach_risk=incident.breach_risk,
        security_incident=incident.security_incident,
        essential_operator=bool(policy and policy.essential_operator),
        provider_unreachable=incident.provider_unreachable,
    )


@transaction.atomic
def sync(incident: Incident) -> list[RegulatoryReport]:
    """Open, update or close the reports of `incident`; returns the newly opened ones."""
    version = referential.rules().version
    due = {d.code: d for d in referential.due(facts_of(incident))}
    existing = {r.code: r for r in incident.reports.all()}
    opened = []
    for code, d in due.items():
        report = existing.get(code)
        if report is not None and report.status == RegulatoryReport.Status.SENT:
            continue
        if report is None:
            report = RegulatoryReport(incident=incident, code=code)
        report.regime, report.recipient = d.regime, d.recipient
        report.clock_start, report.deadline = d.clock_start, d.deadline
        report.without_delay, report.ref, report.fact_status = d.without_delay, d.ref, d.status
        report.rules_version = version
        report.status = (
            RegulatoryReport.Status.TO_DO if d.required else RegulatoryReport.Status.NOT_REQUIRED
        )
        report.not_required_reason = d.reason
        if report.pk is None:
            opened.append(report)
        report.save()
    when = date_format(timezone.localtime(), "d/m/Y H:i")
    for code, report in existing.items():
        if code not in due and report.status == RegulatoryReport.Status.TO_DO:
            report.status = RegulatoryReport.Status.NOT_REQUIRED
            report.not_required_reason = _("Plus requis après la requalification du %(when)s.") % {
                "when": when
            }
            report.save()
    return opened


def title(report: RegulatoryReport) -> str:
    return referential.label(referential.report(report.code, report.rules_version)["title"])


def recipient_label(report: RegulatoryReport) -> str:
    return referential.label(referential.recipient(report.recipient, report.rules_version))


def recipient_status(report: RegulatoryReport) -> str:
    return referential.recipient(report.recipient, report.rules_version)["status"]


def open_reports(user):
    """Reports to do in the establishments where `user` qualifies incidents."""
    return scope(RegulatoryReport.objects.all(), user, "qualify_incident").filter(
        status=RegulatoryReport.Status.TO_DO
    )


def home_todo(user) -> dict:
    now = timezone.now()
    reports = open_reports(user).select_related("incident__ai_system")
    overdue = list(reports.filter(deadline__lt=now)[:10])
    soon = list(
        reports.filter(deadline__gte=now, deadline__lt=now + timedelta(hours=DUE_SOON_HOURS))[:10]
    )
    to_qualify = (
        scope(Incident.objects.all(), user, "qualify_incident")
        .filter(state=Incident.State.DECLARED)
        .count()
    )
    return {
        "incident_reports_overdue": [(r, title(r)) for r in overdue],
        "incident_reports_soon": [(r, title(r)) for r in soon],
        "incidents_to_qualify": to_qualify,
    }


def register_stats(incidents, reports) -> dict:
    """On-time rate of the reports sent, and median times to qualify and to close."""
    sent = [r for r in reports if r.status == RegulatoryReport.Status.SENT]
    on_time = sum(1 for r in sent if r.sent_at <= r.deadline)
    late_open = sum(1 for r in reports if r.late())

    def median_hours(pairs):
        values = sorted((b - a).total_seconds() / 3600 for a, b in pairs if a and b)
        if not values:
            return None
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

    return {
        "count": len(incidents),
        "near_misses": sum(1 for i in incidents if i.consequence == "near_miss"),
        "sent": len(sent),
        "on_time": on_time,
        "on_time_rate": (on_time / len(sent)) if sent else None,
        "late_open": late_open,
        "median_qualify_hours": median_hours((i.declared_at, i.qualified_at) for i in incidents),
        "median_close_hours": median_hours((i.declared_at, i.closed_at) for i in incidents),
    }
