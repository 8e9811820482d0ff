"""Incidents: declaration without patient identity, qualification opening the reports, the
clocks people see, the register, drafts and the audit trail."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from garant.core.audit import audit_context
from garant.incidents import reports
from garant.incidents.identity import identifiers_in
from garant.incidents.models import Consequence, Incident, RegulatoryReport
from garant.incidents.rules import CONSEQUENCES

PARIS = ZoneInfo("Europe/Paris")


def make_incident(world, key="a", **kw):
    fields = dict(
        ai_system=world[key]["system"],
        occurred_at=datetime(2028, 9, 12, 13, tzinfo=PARIS),
        aware_at=datetime(2028, 9, 12, 14, tzinfo=PARIS),
        service=world[key]["service"],
        description="Score de triage sous-estimé, patient réorienté à temps.",
        consequence="serious",
        declared_by=world["users"][key]["contributor"],
    )
    fields.update(kw)
    with audit_context(source="test"):
        return Incident.objects.create(**fields)


def test_model_consequences_are_the_referential_codes():
    assert tuple(Consequence.values) == CONSEQUENCES


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("patient 1 84 12 76 451 089 46 aux urgences", True),  # NIR with a valid key
        ("écrire à jean.dupont@example.org", True),
        ("rappeler au 06 12 34 56 78", True),
        ("FEI-2028-0042, lit 12, score 0,82", False),
        ("n° 184127645108945", False),  # 15 digits with a wrong key: not a NIR
    ],
)
def test_identifiers_in_free_text(text, found):
    assert bool(identifiers_in(text)) is found


def test_sync_opens_updates_and_closes_reports(world):
    incident = make_incident(
        world,
        ai_act_high_risk=True,
        ai_act_serious=True,
        is_device=True,
        mdr_serious=True,
        eigs=True,
    )
    with audit_context(source="test"):
        opened = reports.sync(incident)
    assert sorted(r.code for r in opened) == [
        "ai_provider_notice",
        "eigs_part1",
        "eigs_part2",
        "materiovigilance",
    ]
    mv = incident.reports.get(code="materiovigilance")
    assert timezone.localtime(mv.deadline, PARIS).strftime("%d/%m/%Y %H:%M") == "14/09/2028 14:00"
    assert mv.recipient == "ansm" and mv.status == RegulatoryReport.Status.TO_DO
    # one report sent, then the event is requalified: not an EIGS after all
    mv.status, mv.sent_at = RegulatoryReport.Status.SENT, timezone.now()
    with audit_context(source="test"):
        mv.save()
        incident.eigs = False
        incident.is_device = False
        incident.save()
        assert reports.sync(incident) == [
            incident.reports.get(code="ai_msa_notice")
        ]  # a non-device opens the AI Act channel
    statuses = dict(incident.reports.values_list("code", "status"))
    assert statuses["materiovigilance"] == "sent"  # sent reports are never touched
    assert statuses["eigs_part1"] == statuses["eigs_part2"] == "not_required"
    assert "requalification" in incident.reports.get(code="eigs_part1").not_required_reason


def test_declare_qualify_send_with_proof(
    world, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from garant.core.audit_models import AuditEvent

    system = world["a"]["system"]
    system.device_status = "mdr_iia"
    system.save()
    dpo = world["users"]["a"]["dpo"]
    dpo.email = "qualite@chu-a.test"
    dpo.save()
    nurse = client_for(world["users"]["a"]["contributor"])
    # the button is on every page of the system
    page = nurse.get(reverse("registry:system_detail", args=[system.pk]))
    declare_url = reverse("incidents:declare", args=[system.pk])
    assert declare_url in page.content.decode()
    form = nurse.get(declare_url).context["form"]
    assert len(form.visible_fields()) < 10
    data = {
        "occurred_at": "2026-12-07T08:00",
        "aware_at": "2026-12-07T08:30",
        "service": world["a"]["service"].pk,
        "consequence": "near_miss",
        "description": "Alerte de sepsis absente ; patient 1 84 12 76 451 089 46 vu à temps.",
        "immediate_actions": "Surveillance renforcée",
        "local_reference": "FEI-2026-118",
    }
    refused = nurse.post(declare_url, data)
    assert refused.status_code == 200
    assert "numéro NIR / INS" in refused.content.decode()
    assert not Incident.objects.unrestricted().filter(local_reference="FEI-2026-118").exists()
    data["description"] = "Alerte de sepsis absente ; patient vu à temps par l'interne."
    with django_capture_on_commit_callbacks(execute=True):
        nurse.post(declare_url, data)
    incident = Incident.objects.unrestricted().get(local_reference="FEI-2026-118")
    assert incident.is_device and incident.state == "declared"
    assert mailoutbox and mailoutbox[-1].to == ["qualite@chu-a.test"]
    # the nurse may not qualify
    assert nurse.get(reverse("incidents:qualify", args=[incident.pk])).status_code == 403
    quality = client_for(dpo)
    qualify_url = reverse("incidents:qualify", args=[incident.pk])
    with django_capture_on_commit_callbacks(execute=True):
        answer = quality.post(
            qualify_url,
            {
                "consequence": "near_miss",
                "causal_link": "suspected",
                "is_device": "on",
                "mdr_serious": "on",
                "breach_risk": "none",
                "aware_at": "2026-12-07T08:30",
                "qualification_note": "Aurait pu entraîner une dégradation grave.",
            },
        )
    assert answer.status_code == 302
    report = RegulatoryReport.objects.unrestricted().get(incident=incident)
    assert report.code == "materiovigilance" and report.recipient == "ansm"
    assert timezone.localtime(report.deadline, PARIS).strftime("%d/%m/%Y %H:%M") == (
        "09/12/2026 08:30"
    )
    assert "1 déclaration(s)" in mailoutbox[-1].subject
    detail = quality.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert "ANSM, par le correspondant local" in detail and "09/12/2026 08:30" in detail
    # drafts
    draft = quality.get(reverse("incidents:draft_json", args=[report.pk])).json()
    assert draft["report"]["deadline"] == "09/12/2026 08:30"
    assert draft["device"]["device_status"] == "DM classe IIa"
    assert draft["garant"]["nature"].endswith("non transmis")
    pdf = quality.get(reverse("incidents:draft_pdf", args=[report.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    # marked sent with its proof
    report_url = reverse("incidents:report", args=[report.pk])
    missing = quality.post(report_url, {"sent_at": "2026-12-07T10:00"})
    assert (
        missing.status_code == 200
        and RegulatoryReport.objects.unrestricted().get(pk=report.pk).status == "to_do"
    )
    proof = SimpleUploadedFile("accuse-ansm.pdf", b"%PDF-1.4 accuse")
    quality.post(report_url, {"sent_at": "2026-12-07T10:00", "proof": proof})
    report.refresh_from_db()
    assert report.status == "sent" and report.sent_by == dpo and not report.late()
    download = quality.get(reverse("incidents:proof", args=[report.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == (
        b"%PDF-1.4 accuse"
    )
    # the register counts it on time
    register = quality.get(reverse("incidents:register")).context["stats"]
    assert (register["sent"], register["on_time"]) == (1, 1)
    # every step is in the audit trail
    actions = set(
        AuditEvent.objects.filter(
            object_type="incidents.regulatoryreport", object_id=str(report.pk)
        ).values_list("action", flat=True)
    )
    assert {"create", "update"} <= actions
    assert (
        AuditEvent.objects.filter(
            object_type="incidents.incident", object_id=str(incident.pk)
        ).count()
        >= 2
    )


def test_overdue_and_due_soon_on_the_home_page_and_reminders(
    world, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.management import call_command
    from django.urls import reverse

    now = timezone.now()
    late = make_incident(world, aware_at=now - timezone.timedelta(days=5), security_incident=True)
    soon = make_incident(
        world, aware_at=now - timezone.timedelta(hours=60), data_breach=True, breach_risk="risk"
    )
    with audit_context(source="test"):
        reports.sync(late)
        reports.sync(soon)
    dpo = world["users"]["a"]["dpo"]
    home = client_for(dpo).get(reverse("home")).content.decode()
    assert "En retard" in home and "Signalement d&#x27;incident de sécurité" in home
    assert "Notification de violation de données à la CNIL" in home
    # not on the home page of someone who does not follow reports, nor of establishment B
    assert (
        "En retard"
        not in client_for(world["users"]["a"]["contributor"]).get(reverse("home")).content.decode()
    )
    assert (
        "Notification de violation"
        not in client_for(world["users"]["b"]["dpo"]).get(reverse("home")).content.decode()
    )
    dpo.email = "qualite@chu-a.test"
    dpo.save()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("incident_reminders")
    subjects = [m.subject for m in mailoutbox]
    assert sum("échéance le" in s for s in subjects) == 2
    with django_capture_on_commit_callbacks(execute=True):
        call_command("incident_reminders")  # once per report
    assert sum("échéance le" in m.subject for m in mailoutbox) == 2


def test_api_declare_qualify_and_draft(world):
    from tests.conftest import token_client

    system = world["a"]["system"]
    nurse = token_client(world["users"]["a"]["contributor"])
    body = {
        "system": system.pk,
        "occurred_at": "2026-09-12T13:00:00+02:00",
        "aware_at": "2026-09-12T14:00:00+02:00",
        "consequence": "death",
        "description": "Triage sous-estimé ; écrire à jean.dupont@example.org",
    }
    refused = nurse.post("/api/incidents", body, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "description"
    body["description"] = "Triage sous-estimé, décès en attente d'analyse."
    made = nurse.post("/api/incidents", body, content_type="application/json")
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    qualification = {
        "consequence": "death",
        "causal_link": "suspected",
        "ai_act_high_risk": True,
        "ai_act_serious": True,
        "provider_unreachable": True,
        "eigs": True,
        "aware_at": "2026-09-12T14:00:00+02:00",
    }
    assert (
        nurse.put(
            f"/api/incidents/{pk}/qualification", qualification, content_type="application/json"
        ).status_code
        == 403
    )
    quality = token_client(world["users"]["a"]["dpo"])
    answer = quality.put(
        f"/api/incidents/{pk}/qualification", qualification, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    due = {r["code"]: r for r in answer.json()["reports"]}
    assert set(due) == {
        "ai_provider_notice",
        "ai_msa_notice",
        "ai_art73_report",
        "eigs_part1",
        "eigs_part2",
    }
    art73 = due["ai_art73_report"]
    assert art73["deadline"].startswith("2026-09-22T14:00:00+02:00") or art73["deadline"] in (
        "2026-09-22T12:00:00Z",
        "2026-09-22T12:00:00+00:00",
    )
    assert art73["fact_status"] == "unconfirmed"  # the French AI Act authority is ❓
    # in 2026 the deployer's AI Act duties do not apply yet (Annex III: 02/12/2027)
    assert art73["status"] == "not_required" and "02/12/2027" in art73["not_required_reason"]
    assert due["eigs_part1"]["status"] == "to_do"
    draft = quality.get(f"/api/incident-reports/{art73['id']}/draft").json()
    assert draft["ai_act"]["provider_unreachable"] is True
    # establishment B sees nothing of it
    other = token_client(world["users"]["b"]["dpo"])
    assert other.get(f"/api/incidents/{pk}").status_code == 404
    assert other.get(f"/api/incident-reports/{art73['id']}").status_code == 404


def test_demo_events(demo):
    events = Incident.objects.unrestricted().filter(ai_system__establishment__code="valmont")
    by_ref = {i.local_reference: i for i in events}
    near_miss = by_ref["FEI-2026-0311"]
    assert near_miss.consequence == "near_miss" and near_miss.state == "closed"
    assert not near_miss.reports.exists()
    ansm = by_ref["FEI-2026-0342"].reports.get(code="materiovigilance")
    assert ansm.recipient == "ansm" and ansm.status == "sent" and not ansm.late() and ansm.proof
    eigs = {r.code: r for r in by_ref["FEI-2026-0358"].reports.all()}
    assert eigs["eigs_part1"].status == "sent" and eigs["eigs_part2"].status == "to_do"
    assert not eigs["eigs_part2"].late()
    cnil = by_ref["FEI-2026-0377"].reports.get(code="gdpr_cnil")
    assert cnil.status == "to_do" and cnil.late()


def test_a_suspension_of_the_same_system_only_can_be_linked(world, client_for):
    from django.urls import reverse

    from garant.oversight.models import Suspension

    incident = make_incident(
        world, consequence="near_miss", occurred_at=datetime(2026, 12, 7, 8, tzinfo=PARIS)
    )
    with audit_context(source="test"):
        mine = Suspension.objects.create(ai_system=world["a"]["system"], cause="Alerte")
        other = Suspension.objects.create(ai_system=world["b"]["system"], cause="Alerte")
    quality = client_for(world["users"]["a"]["dpo"])
    url = reverse("incidents:qualify", args=[incident.pk])
    data = {
        "consequence": "near_miss",
        "causal_link": "suspected",
        "breach_risk": "none",
        "aware_at": "2026-12-07T08:30",
        "suspension": other.pk,
    }
    refused = quality.post(url, {**data, "aware_at": "2026-12-07T07:30"})
    assert refused.context["form"].errors["aware_at"] == [
        "La connaissance ne peut précéder l'événement."
    ]
    refused = quality.post(url, data)
    assert refused.status_code == 200 and "suspension" in refused.context["form"].errors
    data["suspension"] = mine.pk
    assert quality.post(url, data).status_code == 302
    incident.refresh_from_db()
    assert incident.suspension == mine and incident.state == "qualified"
    assert not incident.reports.exists()  # a near miss without serious potential: none


def test_anonymous_declaration_only_where_the_policy_allows_and_without_author(world, client_for):
    from django.urls import reverse

    from garant.core.audit_models import AuditEvent
    from garant.incidents.models import IncidentPolicy

    system = world["a"]["system"]
    nurse_user = world["users"]["a"]["contributor"]
    nurse = client_for(nurse_user)
    url = reverse("incidents:declare", args=[system.pk])
    assert "anonymous" not in nurse.get(url).context["form"].fields
    with audit_context(source="test"):
        IncidentPolicy.objects.create(establishment=world["a"]["est"], anonymous_allowed=True)
    assert "anonymous" in nurse.get(url).context["form"].fields
    nurse.post(
        url,
        {
            "occurred_at": "2026-12-07T08:00",
            "aware_at": "2026-12-07T08:30",
            "consequence": "none",
            "description": "Affichage du score décalé d'un patient.",
            "local_reference": "FEI-ANON-1",
            "anonymous": "on",
        },
    )
    incident = Incident.objects.unrestricted().get(local_reference="FEI-ANON-1")
    assert incident.anonymous and incident.declared_by is None
    event = AuditEvent.objects.get(object_type="incidents.incident", object_id=str(incident.pk))
    assert event.actor_id is None and event.source == "anonyme"
    assert nurse_user.username not in event.actor_name


def test_declare_from_a_monitoring_alert(world, client_for):
    from django.urls import reverse

    from garant.monitoring.models import Alert, AlertRule, Feed

    system = world["a"]["system"]
    with audit_context(source="test"):
        feed = Feed.objects.create(
            ai_system=system, name="Flux", slug="flux", operating_threshold=0.5
        )
        rule = AlertRule.objects.create(feed=feed, kind="auc_below", threshold=0.7)
        alert = Alert.objects.create(rule=rule, feed=feed, value=0.6, message="AUC sous 0,7")
    nurse = client_for(world["users"]["a"]["contributor"])
    link = reverse("incidents:declare", args=[system.pk]) + f"?alert={alert.pk}"
    page = nurse.get(alert.get_absolute_url()).content.decode()
    assert link.replace("&", "&amp;") in page or link in page
    form = nurse.get(link).context["form"]
    assert form.initial["description"] == "Alerte de suivi : AUC sous 0,7"
    nurse.post(
        link,
        {
            "alert": alert.pk,
            "occurred_at": "2026-12-07T08:00",
            "aware_at": "2026-12-07T08:30",
            "consequence": "none",
            "description": "AUC sous 0,7 depuis une semaine.",
        },
    )
    incident = Incident.objects.unrestricted().get(monitoring_alert=alert)
    assert incident.ai_system == system
    assert str(incident) in nurse.get(alert.get_absolute_url()).content.decode()
