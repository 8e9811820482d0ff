"""Patients, information part (docs/patients.md): notices per qualification outcome, their
review and publication, the public register (anonymous reader), rights requests with their
deadlines, and the audit of publishing."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json

import pypdf
import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from garant.compliance.linked import linked_evidence
from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.audit_models import AuditEvent
from garant.core.models import Role
from garant.patients import notices, public, rights
from garant.patients.models import InformationChannel, PatientNotice, RightsRequest
from tests.conftest import make_system, token_client
from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE

DEVICE = {"medical_purpose": "yes", "regime": "ce_mdr", "mdr_class": "IIa"}

# qualification outcome -> the obligation that calls for a notice (referential `patients`)
OUTCOMES = {
    "learning medical device (CSP L4001-3)": (DEVICE, "csp_l4001_3_patient"),
    "health data of patients (GDPR 13/14)": (HEALTH_CARE, "gdpr_13_14_information"),
    "Annex III emergency triage (AI Act 26(11))": (TRIAGE, "aia_26_11"),
    "emotion recognition (AI Act 50(3))": (
        {**HEALTH_CARE, "uses": ["emotion_recognition"], "derogation": "none"},
        "aia_50_3",
    ),
    "chatbot built on a general-purpose model (AI Act 50(1))": (
        {"technique": "llm", "origin": "gpai_app", "exposure": ["interacts", "generates"]},
        "aia_50_1",
    ),
}


def _qualified(world, answers, name="Outil patients"):
    est = world["a"]["est"]
    referent = world["users"]["a"][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        system = make_system(
            est, name=name, services=[world["a"]["service"]], phase="routine", vendor=None
        )
        qualify(system, {**BASE, **answers}, referent)
    return system


def _pdf_text(content: bytes) -> str:
    return " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)


def _body_sizes(content: bytes) -> set[int]:
    """Font sizes of the text of the first page, the title (18 pt) and footer left out."""
    sizes = set()

    def visit(text, cm, tm, font, size):
        if text.strip():
            sizes.add(round(size * tm[0]))

    pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text(visitor_text=visit)
    return sizes - {18}


@pytest.mark.parametrize("outcome", OUTCOMES, ids=list(OUTCOMES))
def test_a_notice_is_required_and_generated_for_each_outcome(world, outcome):
    answers, code = OUTCOMES[outcome]
    system = _qualified(world, answers)
    assert code in notices.required_obligations(system)
    text = notices.generate(system)
    assert system.name in text["what"]
    assert "CNIL" in text["rights"]
    assert ("L4001-3" in text["rights"]) == (code == "csp_l4001_3_patient")


def test_no_notice_is_required_without_such_an_obligation(world):
    system = _qualified(world, {})
    assert notices.required_obligations(system) == []
    assert notices.required_obligations(world["a"]["system"]) == []  # never qualified


def test_notice_review_versions_pdf_and_evidence(world, client_for):
    system = _qualified(world, HEALTH_CARE)
    users = world["users"]["a"]
    referent, dpo = client_for(users[Role.REFERENT]), client_for(users[Role.DPO])
    assert referent.post(reverse("patients:notice_generate", args=[system.pk])).status_code == 302
    edited = {**notices.generate(system), "what": "Un outil qui trie les appels."}
    response = referent.post(
        reverse("patients:notice_edit", args=[system.pk]), {**edited, "change_note": "Plus simple"}
    )
    assert response.status_code == 302
    notice = PatientNotice.objects.get(ai_system=system)
    assert [v.number for v in notice.versions.all()] == [2, 1]
    changes = notices.compare(notice.versions.last(), notice.versions.first())
    assert [c["field"] for c in changes] == ["what"]

    referent.post(reverse("patients:notice_submit", args=[system.pk]))
    # only the DPO office approves
    referent.raise_request_exception = False
    assert referent.post(reverse("patients:notice_approve", args=[system.pk])).status_code == 403
    dpo.post(reverse("patients:notice_approve", args=[system.pk]), {"note": "Clair"})
    notice.refresh_from_db()
    assert notice.state == PatientNotice.State.APPROVED and notice.approved_version.number == 2

    page = referent.get(reverse("patients:system", args=[system.pk]))
    assert "Un outil qui trie les appels." in page.content.decode()
    normal = referent.get(reverse("patients:notice_pdf", args=[system.pk]))
    large = referent.get(reverse("patients:notice_pdf_large", args=[system.pk]))
    assert "trie les appels" in _pdf_text(normal.content)
    assert max(_body_sizes(large.content)) >= 16 > max(_body_sizes(normal.content))

    stale = "La qualification du système a changé"
    assert stale not in page.content.decode()
    with audit_context(source="test"):
        qualify(system, {**BASE, **HEALTH_CARE, **TRIAGE}, users[Role.REFERENT])
    assert stale in referent.get(reverse("patients:system", args=[system.pk])).content.decode()

    with audit_context(source="test"):
        InformationChannel.objects.create(ai_system=system, kind="poster", description="Hall")
    evidence = linked_evidence(system)["gdpr_13_14_information"]
    assert {e["title"] for e in evidence} == {
        "Notice d'information du patient, version 2",
        "Affiche dans le service",
    }


def _publishable(world, name, answers=HEALTH_CARE):
    system = _qualified(world, answers, name=name)
    dpo = world["users"]["a"][Role.DPO]
    with audit_context(user=dpo, source="test"):
        notices.save_version(system, notices.generate(system), dpo)
        notice = notices.notice_of(system)
        notices.submit(notice)
        notices.approve(notice, dpo)
        notices.set_published(notice, True)
    return system


def test_public_register_shows_only_published_fields(world, client_for):
    est_a, est_b = world["a"]["est"], world["b"]["est"]
    shown = _publishable(world, "Tri des urgences publié")
    draft = _qualified(world, HEALTH_CARE, name="Outil sans notice publiée")
    anonymous = Client()
    page = reverse("public_register:establishment", args=[est_a.pk])
    assert anonymous.get(page).status_code == 404  # nothing published yet

    admin = client_for(world["users"]["a"][Role.ADMIN])
    settings_url = reverse("patients:register_settings", args=[est_a.pk])
    admin.post(settings_url, {"action": "save", "published_fields": ["name", "purpose"]})
    preview = admin.get(settings_url).content.decode()
    assert shown.name in preview
    assert anonymous.get(page).status_code == 404  # a preview is not a publication

    admin.post(settings_url, {"action": "publish"})
    text = anonymous.get(page).content.decode()
    version = PatientNotice.objects.get(ai_system=shown).approved_version
    assert shown.name in text and escape(version.what) in text
    assert draft.name not in text  # its notice is not published
    assert escape(version.data_used) not in text and "Données utilisées" not in text  # not chosen
    export = json.loads(anonymous.get(reverse("public_register:json", args=[est_a.pk])).content)
    assert export["fields"] == ["name", "purpose"]
    assert export["algorithms"][0]["algorithm"]["name"] == shown.name
    assert set(export["algorithms"][0]["garant"]) == {"name", "purpose"}

    # B publishes nothing: nothing of B, neither alone nor in the group's page
    assert anonymous.get(reverse("public_register:establishment", args=[est_b.pk])).status_code == (
        404
    )
    group = anonymous.get(reverse("public_register:group", args=[est_a.group_id])).content.decode()
    assert est_a.name in group and est_b.name not in group

    # an edit reaches the public only when published again
    with audit_context(source="test"):
        shown.name = "Nouveau nom interne"
        shown.save()
    assert "Nouveau nom interne" not in anonymous.get(page).content.decode()
    assert public.out_of_date(public.register_of(est_a))

    admin.post(settings_url, {"action": "withdraw"})
    assert anonymous.get(page).status_code == 404
    events = AuditEvent.objects.filter(object_type="patients.publicregister").order_by("id")
    published, withdrawn = [e.changes["snapshot"] for e in events if "snapshot" in e.changes]
    assert published[0] is None and published[1]["fields"] == ["name", "purpose"]
    assert withdrawn[1] is None
    assert events.last().actor_name


def test_only_the_dpo_office_and_admins_see_requests(world, client_for):
    users = world["users"]["a"]
    with audit_context(source="test"):
        item = rights.receive(_request(world, dt.date(2027, 1, 31)), users[Role.DPO])
    url = reverse("patients:request", args=[item.pk])
    assert client_for(users[Role.DPO]).get(url).status_code == 200
    assert client_for(users[Role.ADMIN]).get(url).status_code == 200
    for role in (Role.REFERENT, Role.COMMITTEE, Role.CONTRIBUTOR, Role.AUDITOR):
        assert client_for(users[role]).get(url).status_code == 404


def _request(world, received, kind="explanation"):
    return RightsRequest(
        establishment=world["a"]["est"],
        kind=kind,
        local_reference="DPO-2027-014",
        received_on=received,
        summary="Explication du rôle de l'outil dans l'orientation",
        identity_checked_by="Secrétariat du DPO",
        identity_check_method="Pièce d'identité vue au guichet, non conservée",
        identity_checked_on=received,
    )


def test_deadline_one_month_and_extension_to_three(world):
    dpo = world["users"]["a"][Role.DPO]
    assert rights.add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert rights.add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)
    with audit_context(user=dpo, source="test"):
        item = rights.receive(_request(world, dt.date(2027, 1, 31)), dpo)
        assert item.deadline == dt.date(2027, 2, 28)
        with pytest.raises(rights.RequestError, match="motif"):
            rights.extend(item, dt.date(2027, 4, 30), " ", dpo)
        with pytest.raises(rights.RequestError, match="30/04/2027"):
            rights.extend(item, dt.date(2027, 5, 1), "Demande complexe", dpo)
        rights.extend(item, dt.date(2027, 4, 30), "Demande complexe", dpo)
    item.refresh_from_db()
    assert item.extended and item.deadline == dt.date(2027, 4, 30)
    assert item.steps.count() == 1
    letter = _pdf_text(rights.letter_pdf(item, "extension"))
    assert "30/04/2027" in letter and "Demande complexe" in letter
    assert rights.rules_text("explanation")["deadline_status"] == "unconfirmed"
    assert rights.rules_text("access")["deadline_status"] == "confirmed"


def test_home_lists_requests_due_for_the_dpo_only(world, client_for):
    users = world["users"]["a"]
    today = dt.date.today()
    with audit_context(source="test"):
        late = rights.receive(_request(world, today - dt.timedelta(days=40)), users[Role.DPO])
    todo = rights.home_todo(users[Role.DPO])
    assert late in todo["rights_overdue"]
    assert rights.home_todo(users[Role.REFERENT]) == {"rights_overdue": [], "rights_soon": []}
    assert late.local_reference in client_for(users[Role.DPO]).get(reverse("home")).content.decode()


@pytest.mark.parametrize(
    "field,value",
    [
        ("local_reference", "1 84 12 75 108 042 31"),
        ("summary", "Merci de répondre à jean.dupont@example.org"),
        ("summary", "Rappeler au 06 12 34 56 78"),
    ],
)
def test_a_request_refuses_patient_identifiers(world, client_for, field, value):
    est = world["a"]["est"]
    data = {
        "kind": "access",
        "local_reference": "DPO-1",
        "received_on": "2026-11-16",
        "summary": "Accès aux données",
        "identity_checked_by": "Secrétariat",
        "identity_check_method": "Pièce vue",
        "identity_checked_on": "2026-11-16",
        field: value,
    }
    client = client_for(world["users"]["a"][Role.DPO])
    response = client.post(reverse("patients:request_create", args=[est.pk]), data)
    assert response.status_code == 200
    assert "aucune donnée identifiant le patient" in response.content.decode()
    assert not RightsRequest.objects.unrestricted().filter(establishment=est).exists()


def test_api_requests_for_the_dpo_office_and_notice_review(world):
    users, est = world["users"]["a"], world["a"]["est"]
    dpo, referent = token_client(users[Role.DPO]), token_client(users[Role.REFERENT])
    body = {
        "establishment": est.pk,
        "kind": "explanation",
        "local_reference": "API-7",
        "received_on": "2026-11-30",
        "summary": "Rôle de l'outil dans l'orientation",
        "identity_checked_by": "Secrétariat du DPO",
        "identity_check_method": "Pièce vue",
        "identity_checked_on": "2026-11-30",
    }
    refused = dpo.post(
        "/api/rights-requests",
        {**body, "local_reference": "jean@example.org"},
        content_type="application/json",
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "local_reference"
    created = dpo.post("/api/rights-requests", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["deadline"] == "2026-12-30"
    url = f"/api/rights-requests/{created.json()['id']}"
    assert referent.get(url).status_code == 404
    assert referent.get("/api/rights-requests").json()["items"] == []
    extended = dpo.post(
        f"{url}/extension",
        {"new_deadline": "2027-03-01", "reason": "Complexe"},
        content_type="application/json",
    )
    assert extended.status_code == 422  # beyond three months (28/02/2027)

    system = _qualified(world, TRIAGE)
    notice = f"/api/patient-notices/{system.pk}"
    assert referent.post(f"{notice}/generate").json()["required_obligations"] == ["aia_26_11"]
    referent.post(f"{notice}/submit")
    review = {"approve": True, "note": ""}
    assert referent.post(
        f"{notice}/review", review, content_type="application/json"
    ).status_code == (403)
    approved = dpo.post(f"{notice}/review", review, content_type="application/json").json()
    assert approved["state"] == "approved" and approved["approved_version"] == 1


def test_demo_publishes_valmont_register_and_an_explanation_request(demo):
    from garant.core.models import Establishment
    from garant.patients.models import PublicRegister

    valmont = Establishment.objects.unrestricted().get(code="valmont")
    register = PublicRegister.objects.unrestricted().get(establishment=valmont)
    names = [s["name"] for s in register.snapshot["systems"]]
    assert names, "the demo publishes notices at Valmont"
    page = Client().get(reverse("public_register:establishment", args=[valmont.pk]))
    assert all(escape(name) in page.content.decode() for name in names)
    kinds = set(
        RightsRequest.objects.unrestricted()
        .filter(establishment=valmont)
        .values_list("kind", flat=True)
    )
    assert "explanation" in kinds
    explanation = RightsRequest.objects.unrestricted().get(
        establishment=valmont, kind="explanation"
    )
    assert explanation.ai_system.name in rights.draft_answer(explanation)
    other = Establishment.objects.unrestricted().exclude(pk=valmont.pk).first()
    assert (
        Client().get(reverse("public_register:establishment", args=[other.pk])).status_code == 404
    )


def test_the_referential_refuses_unknown_obligations_and_placeholders(tmp_path):
    from garant.core.referentials import Referential, ReferentialError
    from garant.patients import referential

    good = referential.rules()
    bad_code = copy.deepcopy(good.data)
    bad_code["notice"]["obligations"][0]["code"] = "no_such_obligation"
    with pytest.raises(ReferentialError, match="no_such_obligation"):
        referential.check(Referential("patients", good.version, tmp_path / "x.yaml", bad_code))
    bad_letter = copy.deepcopy(good.data)
    bad_letter["letters"][0]["fr"].append("Bonjour {patient_name}")
    with pytest.raises(ReferentialError, match="patient_name"):
        referential.check(Referential("patients", good.version, tmp_path / "x.yaml", bad_letter))
