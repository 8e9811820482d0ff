"""Every page of the site filled with records of one establishment, for the tests that walk
the whole site (accessibility, layout). The routes and what their parameters point at are
those of tests/test_tenancy_generated.py (`PAGES`, `PAGE_ARGS`, `VALUES`): a page added later
is walked without editing this module."""

from __future__ import annotations

from django.db.models import Case, Count, When
from django.urls import reverse

from garant.compliance.models import Evidence, Obligation, Qualification
from garant.core.models import Establishment, Membership, Service, User
from garant.governance.models import (
    Action,
    AgendaItem,
    Committee,
    CommitteeMember,
    Decision,
    EthicsRecommendation,
    EthicsReferral,
    Meeting,
)
from garant.incidents.models import Incident, RegulatoryReport
from garant.lifecycle.models import Assessment, Idea, Indicator, Notification, Project
from garant.monitoring.models import Alert, AlertRule, Feed
from garant.patients.models import ErasureRun, InformationChannel, Objection, RightsRequest
from garant.people.models import Habilitation, Person, TrainingModule
from garant.registry.models import AISystem, AISystemVersion, Vendor
from garant.risks.models import FailureMode, RiskAnalysis
from tests.test_tenancy_generated import PAGE_ARGS, PAGES, PUBLIC_PAGES, VALUES

# kind of record (PAGE_ARGS) -> its model; the record chosen is the richest of its
# establishment where an ordering says what "rich" means, else the first
MODELS = {
    "establishment": Establishment,
    "service": Service,
    "membership": Membership,
    "vendor": Vendor,
    "system": AISystem,
    "version": AISystemVersion,
    "feed": Feed,
    "rule": AlertRule,
    "alert": Alert,
    "qualification": Qualification,
    "obligation": Obligation,
    "evidence": Evidence,
    "idea": Idea,
    "notification": Notification,
    "project": Project,
    "indicator": Indicator,
    "assessment": Assessment,
    "committee": Committee,
    "member": CommitteeMember,
    "meeting": Meeting,
    "agenda_item": AgendaItem,
    "decision": Decision,
    "action": Action,
    "ethics_referral": EthicsReferral,
    "ethics_recommendation": EthicsRecommendation,
    "analysis": RiskAnalysis,
    "failure_mode": FailureMode,
    "incident": Incident,
    "regulatory_report": RegulatoryReport,
    "module": TrainingModule,
    "person": Person,
    "habilitation": Habilitation,
    "information_channel": InformationChannel,
    "rights_request": RightsRequest,
    "objection": Objection,
    "erasure_run": ErasureRun,
}
RICHEST = {
    "system": ("-n", Count("feeds", distinct=True) + Count("obligations", distinct=True)),
    "feed": ("-n", Count("alerts")),
    "project": ("-n", Count("assessments")),
    "committee": ("-n", Count("meetings")),
    "meeting": ("-n", Count("decisions", distinct=True) + Count("agenda", distinct=True)),
    # a draft risk analysis (and its rows): its editing pages are pages, not redirects
    "analysis": ("n", Case(When(status="draft", then=0), default=1)),
    "failure_mode": ("n", Case(When(analysis__status="draft", then=0), default=1)),
    "incident": ("-n", Count("reports")),
}

# pages that are not HTML pages to look at: files, redirects, actions by POST only
NOT_PAGES = {"logout", "set_language", "sso:start", "sso:callback"}


def records_of(establishment: Establishment) -> dict:
    """A record of every kind of PAGE_ARGS in `establishment` (kinds it has none of are left
    out: their pages are not walked)."""
    records = {}
    for kind, model in MODELS.items():
        rows = model.objects.unrestricted().filter(**{model.tenant_path: establishment.pk})
        if kind in RICHEST:
            order, expression = RICHEST[kind]
            rows = rows.annotate(n=expression).order_by(order, "pk")
        else:
            rows = rows.order_by("pk")
        if (record := rows.first()) is not None:
            records[kind] = record
    if "indicator" in records:  # the indicator's own project, for indicator_edit
        records["indicator_project"] = records["indicator"].charter.project
    if "membership" in records:
        records["user"] = records["membership"].user
    return records


def _arg(name: str, kind: str, records):
    if kind in VALUES:
        return VALUES[kind]
    if name == "lifecycle:indicator_edit" and kind == "project":
        return records["indicator_project"].pk
    return records[kind].pk


def page_urls(establishment: Establishment) -> list[tuple[str, str]]:
    """(route name, URL) of every page, its parameters filled with `establishment`'s records;
    a route whose records the establishment lacks is left out."""
    records = records_of(establishment)
    urls = []
    for name, params in PAGES:
        if name in NOT_PAGES:
            continue
        kinds = PAGE_ARGS.get(name, ()) if params else ()
        if any(k not in VALUES and k not in records for k in kinds):
            continue
        urls.append((name, reverse(name, args=[_arg(name, k, records) for k in kinds])))
    return urls


def demo_users() -> dict[str, User]:
    """One demo user per role (CHU de Valmont), the platform's super-user and the group's
    member of every committee: {label: user}."""
    valmont = Establishment.objects.get(code="valmont")
    users = {"admin": User.objects.get(username="admin")}
    for membership in (
        Membership.objects.unrestricted().filter(establishment=valmont).order_by("pk")
    ):
        users.setdefault(membership.role, membership.user)
    users["direction.gcs"] = User.objects.get(username="direction.gcs")
    return users


__all__ = ["PUBLIC_PAGES", "demo_users", "page_urls", "records_of"]
