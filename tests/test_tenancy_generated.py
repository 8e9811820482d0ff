"""Tenancy, for every URL of the site and every operation of the API, generated.

The routes are read from the site itself (`get_resolver()`) and from the API's OpenAPI
document, never listed by hand, so a page or an operation added later is checked without
editing this module; one that this module cannot fill with a record fails
`test_every_route_can_be_filled` until `PAGE_ARGS` (pages) or `API_KINDS` (API path
parameters) says what its parameters point at.

Establishment B holds a record of every kind. For each route:

- every role of establishment A asking for B's record (GET and POST, with a well-formed API
  body) gets 404: another establishment's record is never revealed, neither by a 200 nor by
  a 403, and never a 5xx;
- A's roles on a page or list without a record never see B's records (their names carry the
  marker "Zeta-B"), and an API creation that points at B's records is refused (4xx);
- anonymous gets the login redirect (pages) or 401 (API), except on the few public pages.

The public register of AI in use (`PUBLISHED_PAGES`, docs/patients.md) is the deliberate
exception: anyone, signed in or not, reads what an establishment published. Establishment B
publishes nothing here, so those pages follow the same rule as the others — B's register is
404 to every role of A — and anonymous gets 404 too (not the login page), never a 5xx nor a
mark of B. What a published register shows (the chosen fields only) is tested in
tests/test_patients_info.py.

This replaces the per-app cross-establishment matrices; the tests of what each role may do in
its own establishment stay with their apps.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from urllib.parse import urlencode, urlsplit

import openpyxl
import pypdf
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from garant.api import api
from garant.compliance.models import Evidence
from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.documents import XLSX_TYPE
from garant.core.models import Establishment, EstablishmentGroup, Membership, Role, Service
from garant.governance.models import (
    Action,
    AgendaItem,
    Committee,
    CommitteeMember,
    EthicsRecommendation,
    EthicsReferral,
    ReviewCampaign,
    ReviewCase,
)
from garant.incidents import reports as incident_reports
from garant.incidents.models import Incident
from garant.lifecycle.models import Idea, Notification
from garant.monitoring.models import Alert, AlertRule, Feed
from garant.oversight.models import OversightAlert, OversightPlanVersion, OversightRule, Suspension
from garant.patients import deletion
from garant.patients import notices as patient_notices
from garant.patients import rights as patient_rights
from garant.patients.models import InformationChannel, Objection, RightsRequest
from garant.patients.pseudonyms import pseudonym
from garant.people.models import Habilitation, Person, Prerequisites, TrainingModule
from garant.registry.models import AISystemVersion, Declaration, Vendor
from garant.risks import analyses as risk_analyses
from tests.conftest import make_system, make_user
from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE
from tests.test_governance_fixtures import make_committee, make_decision, make_meeting
from tests.test_lifecycle_builders import add_value, frozen_assessment, make_charter, make_project

MARKER = "Zeta-B"  # in the names of B's records: never on a page or in an answer given to A

# pages anyone may open: signing in (with a password or through single sign-on)
PUBLIC_PAGES = {"login", "logout", "set_language", "sso:start", "sso:callback"}
# the public register of AI in use: readable without signing in, 404 until published
PUBLISHED_PAGES = {
    "public_register:establishment",
    "public_register:json",
    "public_register:group",
}

# page name -> what each of its URL parameters points at (a kind of record of B, or a value)
PAGE_ARGS: dict[str, tuple[str, ...]] = {
    "sso:start": ("provider",),
    "establishment_detail": ("establishment",),
    "service_delete": ("service",),
    "accounts:user_detail": ("user",),
    "accounts:user_edit": ("user",),
    "accounts:user_password_reset": ("user",),
    "accounts:user_unlock": ("user",),
    "accounts:membership_remove": ("user", "membership"),
    "registry:system_detail": ("system",),
    "registry:system_edit": ("system",),
    "registry:system_delete": ("system",),
    "registry:system_versions": ("system",),
    "registry:system_history": ("system",),
    "registry:system_export": ("fmt",),
    "registry:vendor_detail": ("vendor",),
    "registry:vendor_edit": ("vendor",),
    "registry:version_delete": ("version",),
    "registry:declaration_detail": ("declaration",),
    "registry:declaration_edit": ("declaration",),
    "registry:declaration_register": ("declaration",),
    "registry:declaration_review": ("declaration",),
    "monitoring:system_feeds": ("system",),
    "monitoring:feed_detail": ("feed",),
    "monitoring:dashboard": ("feed",),
    "monitoring:alert_rule_add": ("feed",),
    "monitoring:alert_rule_edit": ("rule",),
    "monitoring:alert_rule_activate": ("rule",),
    "monitoring:alert_rule_deactivate": ("rule",),
    "monitoring:alert_rule_delete": ("rule",),
    "monitoring:alert_acknowledge": ("alert",),
    "oversight:system": ("system",),
    "oversight:upload": ("system",),
    "oversight:plan": ("system",),
    "oversight:plan_edit": ("system",),
    "oversight:rule_add": ("system",),
    "oversight:rule_deactivate": ("oversight_rule",),
    "oversight:alert_acknowledge": ("oversight_alert",),
    "oversight:alert_detail": ("oversight_alert",),
    "governance:oversight_alert_action": ("oversight_alert",),
    "governance:oversight_alert_agenda": ("oversight_alert",),
    "oversight:suspension_propose": ("system",),
    "oversight:suspension_detail": ("suspension",),
    "oversight:suspension_confirm": ("suspension",),
    "oversight:suspension_decline": ("suspension",),
    "oversight:suspension_resume": ("suspension",),
    "incidents:system": ("system",),
    "incidents:declare": ("system",),
    "incidents:detail": ("incident",),
    "incidents:qualify": ("incident",),
    "incidents:close": ("incident",),
    "incidents:analyse": ("incident",),
    "incidents:occurrence": ("incident",),
    "incidents:report": ("regulatory_report",),
    "incidents:proof": ("regulatory_report",),
    "incidents:draft_json": ("regulatory_report",),
    "incidents:draft_pdf": ("regulatory_report",),
    "incidents:policy": ("establishment",),
    "monitoring:alert_detail": ("alert",),
    "monitoring:alert_resolve": ("alert",),
    "monitoring:drift_reference": ("feed",),
    "governance:alert_action": ("alert",),
    "governance:alert_agenda": ("alert",),
    "governance:incident_action": ("incident",),
    "compliance:system": ("system",),
    "compliance:wizard": ("system",),
    "compliance:qualification": ("qualification",),
    "compliance:obligation": ("obligation",),
    "compliance:evidence_file": ("evidence",),
    "compliance:evidence_delete": ("evidence",),
    "compliance:gap_report": ("fmt",),
    "lifecycle:idea_detail": ("idea",),
    "lifecycle:idea_triage": ("idea",),
    "lifecycle:notification_read": ("notification",),
    "lifecycle:system_project": ("system",),
    "lifecycle:project_detail": ("project",),
    "lifecycle:project_settings": ("project",),
    "lifecycle:project_transition": ("project",),
    "lifecycle:charter_edit": ("project",),
    "lifecycle:dossier": ("project",),
    "lifecycle:dossier_pdf": ("project",),
    "lifecycle:indicator_create": ("project",),
    "lifecycle:indicator_edit": ("project", "indicator"),
    "lifecycle:indicator_values": ("indicator",),
    "lifecycle:indicator_value_edit": ("indicator_value",),
    "lifecycle:not_applicable": ("project",),
    "lifecycle:assessment_create": ("project",),
    "lifecycle:assessment_detail": ("assessment",),
    "lifecycle:assessment_freeze": ("assessment",),
    "governance:committee_detail": ("committee",),
    "governance:committee_edit": ("committee",),
    "governance:member_add": ("committee",),
    "governance:member_edit": ("member",),
    "governance:member_delete": ("member",),
    "governance:meeting_create": ("committee",),
    "governance:meeting_detail": ("meeting",),
    "governance:meeting_edit": ("meeting",),
    "governance:agenda_add": ("meeting",),
    "governance:agenda_complete": ("meeting",),
    "governance:agenda_delete": ("agenda_item",),
    "governance:decision_create": ("meeting", "project"),
    "governance:decision_detail": ("decision",),
    "governance:decision_edit": ("decision",),
    "governance:decision_sign": ("decision",),
    "governance:decision_export": ("fmt",),
    "governance:action_add": ("meeting",),
    "governance:action_edit": ("action",),
    "governance:board_export": ("fmt",),
    "governance:campaign_create": ("committee",),
    "governance:campaign_detail": ("review_campaign",),
    "governance:campaign_verify": ("review_campaign",),
    "governance:campaign_close": ("review_campaign",),
    "governance:case_review": ("review_case",),
    "governance:case_action": ("review_case",),
    "governance:case_recommendation": ("review_case",),
    "governance:system_ethics": ("system",),
    "governance:referral_create": ("system",),
    "governance:referral_detail": ("ethics_referral",),
    "governance:referral_opinion": ("ethics_referral",),
    "governance:recommendation_action": ("ethics_recommendation",),
    "risks:system": ("system",),
    "risks:create": ("system",),
    "risks:new_version": ("system",),
    "risks:analysis": ("analysis",),
    "risks:freeze": ("analysis",),
    "risks:mode_add": ("analysis",),
    "risks:mode_edit": ("failure_mode",),
    "risks:mode_delete": ("failure_mode",),
    "people:module_edit": ("module",),
    "people:person": ("person",),
    "people:person_edit": ("person",),
    "people:record_add": ("person",),
    "people:system": ("system",),
    "people:prerequisites": ("system",),
    "people:grant": ("system",),
    "people:system_export": ("system",),
    "people:change": ("habilitation",),
    "patients:system": ("system",),
    "patients:notice_edit": ("system",),
    "patients:notice_generate": ("system",),
    "patients:notice_submit": ("system",),
    "patients:notice_approve": ("system",),
    "patients:notice_send_back": ("system",),
    "patients:notice_publish": ("system",),
    "patients:notice_pdf": ("system",),
    "patients:notice_pdf_large": ("system",),
    "patients:channel_add": ("system",),
    "patients:channel_delete": ("information_channel",),
    "patients:register_settings": ("establishment",),
    "patients:request_create": ("establishment",),
    "patients:request": ("rights_request",),
    "patients:request_step": ("rights_request",),
    "patients:request_extend": ("rights_request",),
    "patients:request_answer": ("rights_request",),
    "patients:request_letter": ("rights_request",),
    "patients:request_extension_letter": ("rights_request",),
    "public_register:establishment": ("establishment",),
    "public_register:json": ("establishment",),
    "public_register:group": ("group",),
    "patients_erasure:objection_add": ("establishment",),
    "patients_erasure:objection_lift": ("objection",),
    "patients_erasure:erasure_add": ("establishment",),
    "patients_erasure:run": ("erasure_run",),
    "patients_erasure:certificate_pdf": ("erasure_run",),
    "patients_erasure:certificate_json": ("erasure_run",),
}

# API path parameter -> kind of record, when it is not simply "<kind>_id"
API_KINDS = {
    "member_id": "member",
    "suspension_id": "suspension",
    "report_id": "regulatory_report",
    "request_id": "rights_request",
}

# API body fields that point at records (a record of B is sent in them)
BODY_KINDS = {
    "ai_system": "system",
    "system": "system",
    "establishment": "establishment",
    "vendor": "vendor",
    "services": "service",
    "service": "service",
    "feed": "feed",
    "project": "project",
    "assessment": "assessment",
    "committee": "committee",
    "meeting": "meeting",
    "decision": "decision",
    "user": "user",
    "failure_mode": "failure_mode",
    "alert": "alert",
    "oversight_alert": "oversight_alert",
    "finding": "review_case",
}

VALUES = {"fmt": "xlsx", "provider": "keycloak"}  # exports: a spreadsheet, read back
VALUE_OF_ROUTE = {
    ("registry:system_export", "fmt"): "csv",
    ("governance:board_export", "fmt"): "pdf",  # its text is read back too
}


# --- the routes, read from the site -------------------------------------------------------


def _patterns(resolver=None, namespace=None):
    """(name, parameter names) of every named URL pattern outside the API."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "api":
                continue
            yield from _patterns(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, list(entry.pattern.regex.groupindex)


PAGES = sorted(set((name, tuple(params)) for name, params in _patterns()))


def _operations():
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


OPERATIONS = sorted((method, path) for method, path, _ in _operations())
OPERATION_DETAIL = {(m, p): op for m, p, op in _operations()}
SCHEMAS = api.get_openapi_schema()["components"]["schemas"]


def _param_kind(param: str) -> str | None:
    return API_KINDS.get(param) or (param[: -len("_id")] if param.endswith("_id") else None)


# --- establishment B, with a record of every kind ------------------------------------------


def _records_of(est, users) -> dict:
    referent = users[Role.REFERENT]
    with audit_context(user=referent, source="test"):
        service = Service.objects.create(establishment=est, name=f"Service {MARKER}")
        vendor = Vendor.objects.create(establishment=est, name=f"Éditeur {MARKER}")
        system = make_system(
            est, name=f"Système {MARKER}", vendor=vendor, services=[service], phase="pilot"
        )
        version = AISystemVersion.objects.create(ai_system=system, version="1.0")
        qualification = qualify(system, {**BASE, **TRIAGE, **HEALTH_CARE}, referent)
        obligation = system.obligations.first()
        evidence = Evidence.objects.create(
            obligation=obligation,
            description=f"Preuve {MARKER}",
            file=SimpleUploadedFile("aipd.pdf", b"%PDF-1.4 preuve"),
        )
        feed = Feed.objects.create(
            ai_system=system, name=f"Flux {MARKER}", slug="flux", operating_threshold=0.5
        )
        rule = AlertRule.objects.create(feed=feed, kind="auc_below", threshold=0.7)
        alert = Alert.objects.create(rule=rule, feed=feed, value=0.6, message=f"Alerte {MARKER}")
        oversight_rule = OversightRule.objects.create(
            ai_system=system, kind="acceptance_above", threshold=0.98
        )
        oversight_alert = OversightAlert.objects.create(
            rule=oversight_rule, ai_system=system, value=0.99, message=f"Alerte {MARKER}"
        )
        incident = Incident.objects.create(
            ai_system=system,
            occurred_at=dt.datetime(2026, 1, 15, 9, tzinfo=dt.UTC),
            aware_at=dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC),
            description=f"Événement {MARKER}",
            consequence="near_miss",
            local_reference=f"FEI-{MARKER}",
            state="qualified",
            data_breach=True,
            breach_risk="risk",
        )
        incident_reports.sync(incident)
        regulatory_report = incident.reports.get()
        regulatory_report.proof = SimpleUploadedFile("ar.pdf", b"%PDF-1.4 accuse")
        regulatory_report.save()
        OversightPlanVersion.objects.create(
            ai_system=system,
            number=1,
            points=[{"moment": "before", "rate": None, "who": "IOA", "checks": "tri"}],
            people=[{"who": f"Personne {MARKER}", "competence": "IOA"}],
            override=f"Écarter {MARKER}",
            stop=f"Arrêter {MARKER}",
            fallback=f"Procédure {MARKER}",
            review_months=12,
        )
        suspension = Suspension.objects.create(
            ai_system=system, alert=alert, cause=f"Cause {MARKER}", proposed_by=referent
        )
        analysis = risk_analyses.create(system, referent, "1-5", ["data_drift"])
        failure_mode = analysis.failure_modes.get()
        failure_mode.title = f"Mode {MARKER}"
        failure_mode.save()
        project = make_project(system, referent)
        charter = make_charter(project)
        indicator = charter.indicators.first()
        indicator_value = add_value(indicator)
        assessment = frozen_assessment(project, referent)
        idea = Idea.objects.create(
            establishment=est,
            author=users[Role.CONTRIBUTOR],
            title=f"Idée {MARKER}",
            need="Trop d'appels non régulés la nuit",
        )
        declaration = Declaration.objects.create(
            establishment=est,
            declared_by=users[Role.CONTRIBUTOR],
            name=f"Outil {MARKER}",
            service=service,
            context_unknown=True,
        )
        notification = Notification.objects.create(
            user=referent, establishment=est, message=f"Notification {MARKER}"
        )
        committee = make_committee(est, name=f"Comité {MARKER}")
        meeting = make_meeting(committee, place=f"Salle {MARKER}")
        decision = make_decision(meeting, project, rationale=f"Bénéfice net {MARKER}")
        agenda_item = AgendaItem.objects.filter(meeting=meeting).first()
        if agenda_item is None:
            agenda_item = AgendaItem.objects.create(
                meeting=meeting, project=project, title=f"Point {MARKER}"
            )
        action = Action.objects.create(
            meeting=meeting,
            title=f"Action {MARKER}",
            owner_name="IDE",
            due_date=dt.date(2027, 1, 15),
        )
        review_campaign = ReviewCampaign.objects.create(
            committee=committee,
            title=f"Revue {MARKER}",
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 1, 31),
            seed=7,
            rule={"per_stratum": 1},
            reasons_version="2026.1",
        )
        review_case = ReviewCase.objects.create(
            campaign=review_campaign,
            position=1,
            ai_system=system,
            event_id=f"evt-{MARKER}",
            time=dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC),
            outcome="accepted",
        )
        ethics_referral = EthicsReferral.objects.create(
            committee=Committee.objects.create(
                establishment=est, name=f"Éthique {MARKER}", kind="ethics_committee"
            ),
            ai_system=system,
            question=f"Question {MARKER}",
            asked_by=referent,
        )
        ethics_recommendation = EthicsRecommendation.objects.create(
            referral=ethics_referral, position=1, text=f"Recommandation {MARKER}"
        )
        module = TrainingModule.objects.create(
            establishment=est,
            code="module-b",
            title=f"Module {MARKER}",
            kind="tool_use",
            level="basic",
            duration_hours=2,
            provider="internal",
            validity_months=12,
        )
        module.systems.set([system])
        Prerequisites.objects.create(ai_system=system).modules.set([module])
        person = Person.objects.create(
            establishment=est,
            last_name=f"Personne {MARKER}",
            first_name="Alix",
            profession="nurse",
            service=service,
            rpps="10000000009",
        )
        habilitation = Habilitation.objects.create(
            person=person, ai_system=system, granted_on=dt.date(2026, 1, 15)
        )
        content = {**patient_notices.generate(system), "what": f"Notice {MARKER}"}
        patient_notices.save_version(system, content, referent)
        information_channel = InformationChannel.objects.create(
            ai_system=system, kind="poster", description=f"Affiche {MARKER}"
        )
        rights_request = patient_rights.receive(
            RightsRequest(
                establishment=est,
                kind="explanation",
                local_reference=f"DPO-{MARKER}",
                received_on=dt.date(2026, 11, 2),
                ai_system=system,
                summary=f"Demande {MARKER}",
                identity_checked_by=f"Secrétariat {MARKER}",
                identity_check_method="Pièce vue au guichet",
                identity_checked_on=dt.date(2026, 11, 2),
            ),
            referent,
        )
        patient_rights.extend(rights_request, dt.date(2027, 1, 15), f"Motif {MARKER}", referent)
        objection = Objection.objects.create(
            establishment=est,
            pseudonym=pseudonym(f"IPP-{MARKER}"),
            purpose="evaluation",
            ai_system=system,
            request_reference=f"DR-{MARKER}",
        )
        erasure_run = deletion.run(
            est, f"IPP-{MARKER}", "erasure", users[Role.DPO], request_reference=f"DR-{MARKER}"
        )
    return {
        "group": est.group,
        "information_channel": information_channel,
        "rights_request": rights_request,
        "establishment": est,
        "service": service,
        "user": referent,
        "membership": Membership.objects.unrestricted().get(user=referent),
        "vendor": vendor,
        "system": system,
        "version": version,
        "qualification": qualification,
        "obligation": obligation,
        "evidence": evidence,
        "feed": feed,
        "rule": rule,
        "alert": alert,
        "oversight_rule": oversight_rule,
        "oversight_alert": oversight_alert,
        "incident": incident,
        "regulatory_report": regulatory_report,
        "suspension": suspension,
        "project": project,
        "indicator": indicator,
        "indicator_value": indicator_value,
        "assessment": assessment,
        "idea": idea,
        "notification": notification,
        "declaration": declaration,
        "committee": committee,
        "member": CommitteeMember.objects.unrestricted().filter(committee=committee).first(),
        "meeting": meeting,
        "agenda_item": agenda_item,
        "decision": decision,
        "action": action,
        "review_campaign": review_campaign,
        "review_case": review_case,
        "ethics_referral": ethics_referral,
        "ethics_recommendation": ethics_recommendation,
        "analysis": analysis,
        "failure_mode": failure_mode,
        "module": module,
        "person": person,
        "habilitation": habilitation,
        "objection": objection,
        "erasure_run": erasure_run,
    }


@pytest.fixture(scope="module")
def tenants(django_db_setup, django_db_blocker):
    """Built once for the module, rolled back after it; each test runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        group = EstablishmentGroup.objects.create(name="GCS de test")
        est_a = Establishment.objects.create(group=group, code="chu-a", name="CHU A")
        est_b = Establishment.objects.create(group=group, code="chu-b", name=f"CHU {MARKER}")
        users_a = {role: make_user(f"{role}-a", est_a, role) for role in Role.values}
        users_b = {
            role: make_user(f"{role}-b", est_b, role, last_name=MARKER) for role in Role.values
        }
        data = {"a": users_a, "b": _records_of(est_b, users_b)}
        yield data
        transaction.set_rollback(True)


def _clients(tenants) -> dict[str, Client]:
    clients = {}
    for role, user in tenants["a"].items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    return clients


MISSING = 987654321  # the id of no record


def _page_url(name: str, params, records, missing: bool = False) -> str:
    kinds = PAGE_ARGS[name]
    args = [
        VALUE_OF_ROUTE.get((name, k), VALUES[k])
        if k in VALUES
        else MISSING
        if missing
        else records[k].pk
        for k in kinds
    ]
    return reverse(name, args=args)


def _hides(response, same_for_missing) -> bool:
    """404; or a refusal that does not depend on the record (405 for a method the URL never
    accepts, 403 for a role that may never do it): the same answer as for a missing id."""
    if response.status_code == 404:
        return True
    return response.status_code in (403, 405) and same_for_missing().status_code == (
        response.status_code
    )


def _text(response) -> str:
    """What a person would read in the answer: HTML, JSON (not ASCII-escaped), CSV, or the
    cells of a spreadsheet."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "") == XLSX_TYPE:
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return " ".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    if response.get("Content-Type", "") == "application/pdf":
        pages = pypdf.PdfReader(io.BytesIO(body)).pages
        return " ".join(page.extract_text() for page in pages)
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(json.loads(body), ensure_ascii=False)
    return body.decode(errors="replace")


def _is_login_redirect(response) -> bool:
    login = resolve_url(settings.LOGIN_URL)
    return response.status_code == 302 and urlsplit(response["Location"]).path == login


# --- API bodies, from the OpenAPI schema ---------------------------------------------------


def _schema(ref_or_schema: dict) -> dict:
    if "$ref" in ref_or_schema:
        return SCHEMAS[ref_or_schema["$ref"].rsplit("/", 1)[-1]]
    return ref_or_schema


def _value(name: str, schema: dict, records):
    schema = _schema(schema)
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _value(name, option, records)
    kind = BODY_KINDS.get(name)
    kind_of = schema.get("type")
    if kind and kind_of == "integer":
        return records[kind].pk
    if kind and kind_of == "array":
        return [records[kind].pk]
    if "enum" in schema:
        return schema["enum"][0]
    if kind_of == "integer":
        return max(1, schema.get("minimum", 1))
    if kind_of == "number":
        return 0.5
    if kind_of == "boolean":
        return True
    if kind_of == "array":
        return []
    if kind_of == "object" or "properties" in schema:
        return _body(schema, records)
    if schema.get("format") == "date":
        return "2027-01-15"
    if schema.get("format") == "date-time":
        return "2027-01-15T10:00:00+01:00"
    return "Réunion de test"


def _body(schema: dict, records) -> dict:
    schema = _schema(schema)
    properties = schema.get("properties", {})
    wanted = set(schema.get("required", [])) | (set(properties) & set(BODY_KINDS))
    return {name: _value(name, properties[name], records) for name in sorted(wanted)}


def _api_request(client: Client, method: str, path: str, records, filters: bool = True):
    operation = OPERATION_DETAIL[(method, path)]
    url = path
    for param in re.findall(r"{(\w+)}", path):
        url = url.replace(f"{{{param}}}", str(records[_param_kind(param)].pk))
    # query filters that name records point at B's: a list filtered on B shows nothing of B
    query = {
        p["name"]: records[BODY_KINDS[p["name"]]].pk
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p["name"] in BODY_KINDS
    }
    if query and filters:
        url = f"{url}?{urlencode(query)}"
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return client.generic(method, url)
    media, spec = next(iter(content.items()))
    body = _body(spec["schema"], records)
    return client.generic(method, url, json.dumps(body), content_type=media)


def _names_records(method: str, path: str) -> bool:
    """Does the operation's body have a field that points at a record (sent as B's)?"""
    content = OPERATION_DETAIL[(method, path)].get("requestBody", {}).get("content", {})
    schemas = [_schema(spec["schema"]) for spec in content.values()]
    return any(set(schema.get("properties", {})) & set(BODY_KINDS) for schema in schemas)


# --- the tests ------------------------------------------------------------------------------


def test_every_route_can_be_filled():
    """A new page or operation with parameters must say what they point at, here."""
    unfilled = [
        name
        for name, params in PAGES
        if params and (name not in PAGE_ARGS or len(PAGE_ARGS[name]) != len(params))
    ]
    assert not unfilled, f"add these pages to PAGE_ARGS: {unfilled}"
    names = {name for name, _ in PAGES}
    assert not set(PAGE_ARGS) - names, "PAGE_ARGS names pages that no longer exist"
    unknown = [
        f"{m} {p}"
        for m, p in OPERATIONS
        for param in re.findall(r"{(\w+)}", p)
        if _param_kind(param) is None
    ]
    assert not unknown, f"add these path parameters to API_KINDS: {unknown}"
    assert len(PAGES) > 80 and len(OPERATIONS) > 80  # the whole site and API, not a part


@pytest.mark.parametrize("name,params", PAGES, ids=[name for name, _ in PAGES])
def test_page_of_another_establishment(tenants, db, name, params):
    """A's roles: B's record is 404 (GET and POST); a page without one never shows B's."""
    records = tenants["b"]
    if params and name not in PAGE_ARGS:
        pytest.fail(f"{name}: add its parameters to PAGE_ARGS")
    url = _page_url(name, params, records) if params else reverse(name)
    if name in PUBLIC_PAGES:
        return
    points_at_b = any(k not in VALUES for k in PAGE_ARGS.get(name, ()))
    missing = _page_url(name, params, records, missing=True) if points_at_b else None
    wrong, not_found = [], 0
    for role, client in _clients(tenants).items():
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if points_at_b:
                not_found += response.status_code == 404
                if not _hides(response, lambda: getattr(client, method)(missing)):  # noqa: B023
                    wrong.append((role, method.upper(), url, response.status_code))
            elif response.status_code >= 500 or MARKER in _text(response):
                wrong.append((role, method.upper(), url, response.status_code, "shows B"))
    assert not wrong
    assert not points_at_b or not_found, f"{url}: no role of A reached the record's scope"


@pytest.mark.parametrize("name,params", PAGES, ids=[name for name, _ in PAGES])
def test_page_for_anonymous(tenants, db, name, params):
    if params and name not in PAGE_ARGS:
        pytest.fail(f"{name}: add its parameters to PAGE_ARGS")
    url = _page_url(name, params, tenants["b"]) if params else reverse(name)
    client = Client(raise_request_exception=False)
    answers = {method: getattr(client, method)(url) for method in ("get", "post")}
    if name in PUBLIC_PAGES:
        assert all(r.status_code < 500 for r in answers.values())
        return
    if name in PUBLISHED_PAGES:  # B publishes nothing: nothing to read, signed in or not
        assert answers["get"].status_code == 404, answers["get"].status_code
        assert all(r.status_code < 500 and MARKER not in _text(r) for r in answers.values())
        return
    # a method the page does not accept may be refused (405) before the login is asked
    assert all(_is_login_redirect(r) or r.status_code == 405 for r in answers.values()), {
        m: r.status_code for m, r in answers.items()
    }
    assert any(_is_login_redirect(r) for r in answers.values())


@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_operation_on_another_establishment(tenants, db, method, path):
    """A's roles: an operation on B's record is 404; a list never shows B's records; a
    creation that points at B's records is refused."""
    records = tenants["b"]
    unknown = [p for p in re.findall(r"{(\w+)}", path) if _param_kind(p) not in records]
    assert not unknown, f"{method} {path}: add {unknown} to API_KINDS"
    wrong = []
    for role, client in _clients(tenants).items():
        response = _api_request(client, method, path, records)
        text = _text(response)
        if method == "GET" and "{" not in path:  # a list: unfiltered as well as filtered on B
            unfiltered = _api_request(client, method, path, records, filters=False)
            text += _text(unfiltered)
            if unfiltered.status_code >= 500:
                response = unfiltered
        if "{" in path:
            ok = response.status_code == 404
        elif method != "GET" and _names_records(method, path):
            ok = 400 <= response.status_code < 500 and MARKER not in text
        else:
            ok = response.status_code < 500 and MARKER not in text
        if not ok:
            wrong.append((role, method, path, response.status_code, text[:200]))
    assert not wrong


@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_operation_for_anonymous(tenants, db, method, path):
    response = _api_request(Client(raise_request_exception=False), method, path, tenants["b"])
    assert response.status_code == 401, response.content[:200]
