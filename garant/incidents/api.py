"""REST API of adverse events (FEI) and their regulatory reports (docs/incidents.md).

Declaring needs "report_incident" on the system, qualifying and following reports
"qualify_incident" (garant/core/roles.py); the checks and the refusals are those of the web
forms (no patient identity; 422 with one message per field). Marking a report sent needs its
proof file: it is done on the report's page. Garant prepares reports; it never transmits them.
"""

import datetime as dt

from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from garant.core import permissions
from garant.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    FormErrors,
    Id,
    Pagination,
    Text,
    forbidden,
    get_scoped,
)
from garant.incidents import circuit, drafts, reports
from garant.incidents.forms import DeclareForm, NotRequiredForm, QualifyForm
from garant.incidents.models import Incident, RegulatoryReport
from garant.incidents.views import policy_of
from garant.registry.models import AISystem

incidents = Router(tags=["Événements indésirables"])
reports_router = Router(tags=["Événements indésirables"])


class IncidentIn(Schema):
    system: Id = Field(description="Système d'IA en cause.")
    occurred_at: dt.datetime
    aware_at: dt.datetime = Field(
        description="Connaissance par l'établissement : départ des délais."
    )
    service: Id | None = None
    consequence: str = Field(
        description="none, near_miss, minor, serious, permanent_deficit, life_threat, death"
    )
    description: Text = Field(description="Ce qui s'est passé, sans identité du patient.")
    immediate_actions: Text = ""
    local_reference: Text = Field("", description="N° de FEI local (pas d'identité).")
    anonymous: bool = False


class QualificationIn(Schema):
    consequence: str
    causal_link: str = Field(description="established, suspected, excluded")
    is_device: bool = False
    ai_act_high_risk: bool = False
    ai_act_serious: bool = False
    critical_infrastructure: bool = False
    fundamental_rights: bool = False
    widespread_infringement: bool = False
    provider_unreachable: bool = False
    mdr_serious: bool = False
    public_health_threat: bool = False
    eigs: bool = False
    data_breach: bool = False
    breach_risk: str = Field("none", description="none, risk, high")
    security_incident: bool = False
    aware_at: dt.datetime
    qualification_note: Text = ""


class ReportOut(Schema):
    id: int
    incident: int = Field(alias="incident_id")
    code: str
    title: str
    regime: str
    recipient: str
    recipient_label: str
    clock_start: dt.datetime
    deadline: dt.datetime
    without_delay: bool = Field(description="« Sans délai » : l'échéance est la cible interne.")
    ref: str
    fact_status: str = Field(description="confirmed, secondary ou unconfirmed (à vérifier).")
    status: str
    late: bool
    not_required_reason: str
    sent_at: dt.datetime | None
    rules_version: str

    @staticmethod
    def resolve_title(obj):
        return reports.title(obj)

    @staticmethod
    def resolve_recipient_label(obj):
        return reports.recipient_label(obj)

    @staticmethod
    def resolve_late(obj):
        return obj.late()


class IncidentOut(Schema):
    id: int
    system: int = Field(alias="ai_system_id")
    state: str
    occurred_at: dt.datetime
    aware_at: dt.datetime
    service: int | None = Field(alias="service_id")
    consequence: str
    description: str
    immediate_actions: str
    local_reference: str
    anonymous: bool
    causal_link: str
    is_device: bool
    ai_act_high_risk: bool
    ai_act_serious: bool
    fundamental_rights: bool
    mdr_serious: bool
    eigs: bool
    data_breach: bool
    breach_risk: str
    security_incident: bool
    provider_unreachable: bool
    qualified_at: dt.datetime | None
    closed_at: dt.datetime | None
    contributing_factors: list[str] = Field(
        description="Facteurs contributifs (codes du référentiel incident_analysis)."
    )
    factors_version: str
    root_cause_analysis: str
    failure_mode: int | None = Field(
        alias="failure_mode_id", description="Mode de défaillance (AMDEC) que l'événement réalise."
    )
    reports: list[ReportOut]

    @staticmethod
    def resolve_reports(obj):
        return list(obj.reports.all())


class IncidentFilters(Schema):
    system: Id | None = None
    state: str | None = Field(None, description="declared, qualified, closed")


class NotRequiredIn(Schema):
    reason: Text


def incident_queryset():
    return Incident.objects.select_related("ai_system__establishment").prefetch_related("reports")


@incidents.get("", response=list[IncidentOut], summary="Lister les événements indésirables")
@paginate(Pagination)
def list_incidents(request, filters: Query[IncidentFilters]):
    queryset = permissions.scope(incident_queryset(), request.user)
    if filters.system:
        queryset = queryset.filter(ai_system_id=filters.system)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    return queryset


@incidents.post("", response={201: IncidentOut, **WRITE_ERRORS}, summary="Déclarer un événement")
def declare(request, payload: IncidentIn):
    system = get_scoped(
        request, AISystem.objects.select_related("establishment"), payload.system, "report_incident"
    )
    policy = policy_of(system.establishment)
    allowed = bool(policy and policy.anonymous_allowed)
    if payload.anonymous and not allowed:
        raise FormErrors({"anonymous": ["La politique de l'établissement exclut l'anonymat."]})
    data = payload.dict(exclude={"system"})
    data["service"] = data["service"] or ""
    form = DeclareForm(data, system=system, anonymous_allowed=allowed)
    if not form.is_valid():
        raise FormErrors(form.errors)
    incident = circuit.declare(form, system, request.user)
    return Status(201, incident)


@incidents.get(
    "/{incident_id}", response={200: IncidentOut, **READ_ERRORS}, summary="Lire un événement"
)
def get_incident(request, incident_id: Id):
    return get_scoped(request, incident_queryset(), incident_id)


@incidents.put(
    "/{incident_id}/qualification",
    response={200: IncidentOut, **WRITE_ERRORS},
    summary="Qualifier un événement (ouvre les déclarations réglementaires)",
)
def qualify(request, incident_id: Id, payload: QualificationIn):
    incident = get_scoped(request, incident_queryset(), incident_id, "qualify_incident")
    if incident.state == Incident.State.CLOSED:
        raise forbidden("Cet événement est clos : il ne peut plus être requalifié.")
    data = {k: v for k, v in payload.dict().items() if v is not False}
    form = QualifyForm(data, instance=incident)
    if not form.is_valid():
        raise FormErrors(form.errors)
    circuit.qualify(form, request.user)
    return get_scoped(request, incident_queryset(), incident_id)


def report_queryset():
    return RegulatoryReport.objects.select_related("incident__ai_system__establishment")


@reports_router.get("", response=list[ReportOut], summary="Lister les déclarations réglementaires")
@paginate(Pagination)
def list_reports(request):
    return permissions.scope(report_queryset(), request.user).order_by("deadline", "pk")


@reports_router.get(
    "/{report_id}", response={200: ReportOut, **READ_ERRORS}, summary="Lire une déclaration"
)
def get_report(request, report_id: Id):
    return get_scoped(request, report_queryset(), report_id)


@reports_router.get(
    "/{report_id}/draft",
    response={200: dict, **READ_ERRORS},
    summary="Brouillon pré-rempli (JSON) — Garant ne transmet rien",
)
def get_draft(request, report_id: Id):
    return drafts.draft(get_scoped(request, report_queryset(), report_id))


@reports_router.post(
    "/{report_id}/not-required",
    response={200: ReportOut, **WRITE_ERRORS},
    summary="Marquer une déclaration non requise, avec le motif",
)
def not_required(request, report_id: Id, payload: NotRequiredIn):
    report = get_scoped(request, report_queryset(), report_id, "qualify_incident")
    if report.status == RegulatoryReport.Status.SENT:
        raise forbidden("Cette déclaration est déjà marquée envoyée.")
    form = NotRequiredForm(payload.dict())
    if not form.is_valid():
        raise FormErrors(form.errors)
    return circuit.not_required(report, form.cleaned_data["reason"])
