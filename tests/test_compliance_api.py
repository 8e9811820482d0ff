"""REST API of compliance: questionnaire, side-effect-free evaluation, qualifications and
obligations, with the permission layer of the rest of the API."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from garant.compliance.models import Obligation, ObligationStatus, Qualification
from garant.compliance.rules import rulebook
from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from tests.conftest import token_client
from tests.test_compliance_dashboard import RULES_ONLY, TRIAGE, qualified

API = "/api/compliance"


def send(client, method, path, body):
    return getattr(client, method)(
        f"{API}{path}", data=json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def api(world):
    """Token clients of A's referent (may change), auditor (reads only) and B's referent."""
    users = world["users"]
    return {
        "referent": token_client(users["a"][Role.REFERENT]),
        "auditor": token_client(users["a"][Role.AUDITOR]),
        "other": token_client(users["b"][Role.REFERENT]),
    }


# --- questionnaire and evaluation -------------------------------------------------------------


def test_questionnaire_lists_steps_questions_options_conditions_and_articles(api):
    response = api["auditor"].get(f"{API}/questionnaire")
    assert response.status_code == 200
    data = response.json()
    assert data["version"] == rulebook().version
    questions = {q["id"]: q for step in data["steps"] for q in step["questions"]}
    assert questions.keys() == rulebook().questions.keys()
    uses = questions["uses"]
    assert "emergency_triage" in [o["code"] for o in uses["options"]]
    assert uses["cite"]["ref"] and uses["cite"]["act"] == "ai_act"
    regime = questions["regime"]
    assert regime["when"] == {"answer": "medical_purpose", "in": ["yes", "unsure"]}
    assert "ce_modified" in [o["code"] for o in regime["options"]]
    # « je ne sais pas »: the option, what it is read as, and alone among the choices
    assert uses["exclusive"] == ["none", "unsure"]
    assert "haut risque" in uses["unsure_means"]
    assert questions["hosting"]["options"][-1] == {"code": "unsure", "label": "Je ne sais pas"}
    assert questions["legal_status"]["unsure_means"] is None
    # an older or unknown version
    ok = api["auditor"].get(f"{API}/questionnaire", {"version": rulebook().version})
    assert ok.status_code == 200
    for bad in ("1999.1", "../taxonomy/2026.1", "x" * 300):
        response = api["auditor"].get(f"{API}/questionnaire", {"version": bad})
        assert response.status_code in (404, 422), bad
    response = api["auditor"].get(f"{API}/questionnaire", {"version": "1999.1"})
    assert response.status_code == 404 and "1999.1" in response.json()["detail"]


def test_evaluate_describes_the_result_and_stores_nothing(api, world):
    events = AuditEvent.objects.count()
    response = send(api["auditor"], "post", "/evaluate", {"answers": TRIAGE})
    assert response.status_code == 200
    data = response.json()
    assert data["risk_level"] == "high"
    assert data["high_risk"] is True
    assert [b["code"] for b in data["high_risk_bases"]] == ["annex_iii_5d"]
    assert data["fria_required"] is True and data["dpia_required"] is True
    assert "deployer" in data["roles"]
    fria = next(o for o in data["obligations"] if o["code"] == "aia_27_fria")
    assert fria["date"]["date"] == "2027-12-02"  # ISO dates in JSON
    assert fria["date"]["original_date"] == "2026-08-02"
    assert "2026/1744" in fria["date"]["amended_by"]
    assert fria["cite"]["ref"].startswith("Art. 27")
    assert {f["code"] for f in data["flags"]} >= {"unconfirmed_facts"}
    # no side effect: no qualification, no obligation, no audit event
    assert Qualification.objects.count() == 0
    assert Obligation.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_evaluate_refuses_bad_answers_per_question(api):
    answers = {**TRIAGE, "uses": ["teleportation"], "unknown_question": True}
    del answers["legal_status"]
    response = send(api["referent"], "post", "/evaluate", {"answers": answers})
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["detail"]}
    assert "teleportation" in errors["answers.uses"]
    assert errors["answers.unknown_question"] == "question inconnue de ce référentiel"
    assert errors["answers.legal_status"] == "réponse obligatoire"
    assert Qualification.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"answers": []},
        {"answers": "oui"},
        {"answers": {"technique": 12}},
        {"answers": {"technique": ["learned"]}},
        {"answers": {"technique": None}},
        {"answers": {**TRIAGE, "practices": "none\x00"}},
        {"answers": RULES_ONLY, "version": "2099.9"},
        {"answers": RULES_ONLY, "version": 3},
    ],
)
def test_evaluate_never_answers_5xx(api, body):
    response = send(api["referent"], "post", "/evaluate", body)
    assert 400 <= response.status_code < 500, response.content


def test_evaluate_needs_authentication(db, client):
    response = send(client, "post", "/evaluate", {"answers": TRIAGE})
    assert response.status_code == 401


# --- qualifications ---------------------------------------------------------------------------


def test_store_a_qualification_through_the_api(api, world):
    system = world["a"]["system"]
    response = send(
        api["referent"], "post", "/qualifications", {"system": system.pk, "answers": TRIAGE}
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["system"] == system.pk
    assert data["risk_level"] == "high" and data["high_risk_bases"] == ["annex_iii_5d"]
    assert data["created_by_name"] == world["users"]["a"][Role.REFERENT].username
    assert data["stale"] is False and data["description"]["fria_required"] is True
    qualification = Qualification.objects.get(pk=data["id"])
    assert qualification.ai_system.obligations.filter(code="aia_27_fria").exists()
    event = AuditEvent.objects.filter(object_type="compliance.qualification").first()
    assert event is not None and event.actor_name == world["users"]["a"][Role.REFERENT].username

    listed = api["auditor"].get(f"{API}/qualifications", {"system": system.pk}).json()
    assert [q["id"] for q in listed["items"]] == [data["id"]]
    detail = api["auditor"].get(f"{API}/qualifications/{data['id']}")
    assert detail.status_code == 200 and detail.json()["answers"]["uses"] == ["emergency_triage"]


def test_qualification_permissions(api, world):
    system_a, system_b = world["a"]["system"], world["b"]["system"]
    body = {"system": system_a.pk, "answers": TRIAGE}
    assert send(api["auditor"], "post", "/qualifications", body).status_code == 403
    assert send(api["other"], "post", "/qualifications", body).status_code == 404
    qualification = qualified(system_b)
    assert api["referent"].get(f"{API}/qualifications/{qualification.pk}").status_code == 404
    listed = api["referent"].get(f"{API}/qualifications").json()
    assert listed["count"] == 0  # B's qualification is not listed to A
    assert Qualification.objects.filter(ai_system=system_a).count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"system": 0, "answers": TRIAGE},
        {"system": 2**70, "answers": TRIAGE},
        {"system": "x", "answers": TRIAGE},
        {"answers": TRIAGE},
        {"system": 1},
        {"system": 1, "answers": {"technique": "magic"}},
    ],
)
def test_store_a_qualification_bad_input(api, world, body):
    body = {**body}
    if body.get("system") == 1:
        body["system"] = world["a"]["system"].pk
    response = send(api["referent"], "post", "/qualifications", body)
    assert 400 <= response.status_code < 500, response.content
    assert Qualification.objects.count() == 0


def test_a_stale_qualification_says_why(api, world):
    system = world["a"]["system"]
    qualification = qualified(system)
    with audit_context(source="test"):
        system.hosting = "cloud_fr"
        system.save()
    data = api["auditor"].get(f"{API}/qualifications/{qualification.pk}").json()
    assert data["stale"] is True
    assert any("Hébergement" in r or "hébergement" in r for r in data["stale_reasons"])


# --- obligations ------------------------------------------------------------------------------


@pytest.fixture
def checklist(world):
    qualified(world["a"]["system"])
    qualified(world["b"]["system"])
    return Obligation.objects.filter(ai_system=world["a"]["system"])


def test_list_obligations_with_filters(api, world, checklist):
    late = checklist.get(code="gdpr_30_record")
    with audit_context(source="test"):
        late.due_date = dt.date.today() - dt.timedelta(days=5)
        late.save()
        done = checklist.get(code="aia_4_literacy")
        done.status = ObligationStatus.DONE
        done.save()
    client = api["auditor"]
    everything = client.get(f"{API}/obligations", {"page_size": 100}).json()
    assert everything["count"] == checklist.count()  # B's are not listed
    fria = next(o for o in everything["items"] if o["code"] == "aia_27_fria")
    assert fria["applies_from"] == "2027-12-02" and fria["original_date"] == "2026-08-02"
    assert fria["article"].startswith("Art. 27") and fria["family"] == "ai_act_deployer"
    assert fria["status"] == "todo" and fria["status_label"] == "À faire"
    overdue = client.get(f"{API}/obligations", {"overdue": "true"}).json()
    assert [o["code"] for o in overdue["items"]] == ["gdpr_30_record"]
    assert overdue["items"][0]["overdue"] is True
    not_late = client.get(f"{API}/obligations", {"overdue": "false", "page_size": 100}).json()
    assert not_late["count"] == checklist.count() - 1
    statuses = client.get(f"{API}/obligations", {"status": "done"}).json()
    assert [o["code"] for o in statuses["items"]] == ["aia_4_literacy"]
    by_system = client.get(f"{API}/obligations", {"system": world["b"]["system"].pk}).json()
    assert by_system["count"] == 0
    for bad in ({"status": "fini"}, {"overdue": "peut-être"}, {"system": "x"}):
        response = client.get(f"{API}/obligations", bad)
        assert response.status_code == 422, bad
    assert (
        "fini"
        in client.get(f"{API}/obligations", {"status": "fini"}).json()["detail"][0]["message"]
    )


def test_patch_an_obligation(api, world, checklist):
    obligation = checklist.get(code="gdpr_35_dpia")
    dpo = world["users"]["a"][Role.DPO]
    response = send(
        api["referent"],
        "patch",
        f"/obligations/{obligation.pk}",
        {"status": "in_progress", "owner": dpo.pk, "due_date": "2027-03-15"},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "in_progress" and data["owner"] == dpo.pk
    assert data["due_date"] == "2027-03-15" and data["due_date_manual"] is True
    obligation.refresh_from_db()
    assert obligation.due_date_manual and obligation.owner == dpo
    event = AuditEvent.objects.filter(object_type="compliance.obligation").first()  # newest
    assert event.actor_name == world["users"]["a"][Role.REFERENT].username
    # re-qualifying keeps the due date set by hand
    qualified(world["a"]["system"])
    obligation.refresh_from_db()
    assert obligation.due_date == dt.date(2027, 3, 15)

    # a status alone leaves the due date untouched; done sets completed_at (without
    # evidence, "done" needs its justification)
    other = checklist.get(code="gdpr_30_record")
    response = send(api["referent"], "patch", f"/obligations/{other.pk}", {"status": "done"})
    assert response.status_code == 422 and "Aucune preuve" in response.content.decode()
    response = send(
        api["referent"],
        "patch",
        f"/obligations/{other.pk}",
        {"status": "done", "justification": "Registre tenu par la DPO, hors Garant."},
    )
    assert response.json()["completed_at"] is not None
    assert response.json()["due_date_manual"] is False


def test_not_applicable_needs_a_justification(api, checklist):
    obligation = checklist.get(code="has_3_1_06")
    url = f"/obligations/{obligation.pk}"
    response = send(api["referent"], "patch", url, {"status": "not_applicable"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["detail"]} == {"justification"}
    response = send(
        api["referent"],
        "patch",
        url,
        {"status": "not_applicable", "justification": "Aucun usage par les professionnels."},
    )
    assert response.status_code == 200 and response.json()["status"] == "not_applicable"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "fini"},
        {"status": None},
        {"due_date": "15/03/2027"},
        {"due_date": None},
        {"owner": 2**62},
        {"owner": "moi"},
        {"justification": "x\x00"},
        {"status": ["done"]},
    ],
)
def test_patch_bad_input_is_refused(api, checklist, body):
    obligation = checklist.get(code="gdpr_35_dpia")
    response = send(api["referent"], "patch", f"/obligations/{obligation.pk}", body)
    assert 400 <= response.status_code < 500, response.content
    obligation.refresh_from_db()
    assert obligation.status == "todo" and not obligation.due_date_manual


def test_patch_permissions(api, world, checklist):
    obligation = checklist.get(code="gdpr_35_dpia")
    url = f"/obligations/{obligation.pk}"
    assert send(api["auditor"], "patch", url, {"status": "done"}).status_code == 403
    assert send(api["other"], "patch", url, {"status": "done"}).status_code == 404
    assert api["other"].get(f"{API}{url}").status_code == 404
    assert api["auditor"].get(f"{API}{url}").status_code == 200
    # an owner from another establishment is refused
    outsider = world["users"]["b"][Role.DPO]
    response = send(api["referent"], "patch", url, {"owner": outsider.pk})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "owner"
    obligation.refresh_from_db()
    assert obligation.status == "todo" and obligation.owner is None


def test_endpoints_are_documented(api):
    paths = api["auditor"].get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/compliance/questionnaire",
        "/api/compliance/evaluate",
        "/api/compliance/qualifications",
        "/api/compliance/qualifications/{qualification_id}",
        "/api/compliance/obligations",
        "/api/compliance/obligations/{obligation_id}",
    ):
        assert path in paths, path


# --- what users know: « je ne sais pas » and answers that do not apply ------------------------


def test_evaluate_reports_the_answers_to_questions_that_do_not_apply(api):
    answers = {
        **RULES_ONLY,
        "practices": ["manipulation"],  # not asked: rules written by humans are not AI
        "exposure": ["interacts"],
        "regime": "ce_mdr",  # not asked: no medical purpose
        "legal_status": "public",
    }
    response = send(api["auditor"], "post", "/evaluate", {"answers": answers})
    assert response.status_code == 200, response.content
    data = response.json()
    ignored = {i["question"]: i for i in data["ignored_answers"]}
    assert ignored.keys() == {"practices", "exposure", "regime"}
    assert ignored["regime"]["label"] == "Sous quel régime le logiciel est-il mis en service ?"
    assert ignored["regime"]["condition"] == {
        "answer": "medical_purpose",
        "in": ["yes", "unsure"],
    }
    assert "pas été prise en compte" in ignored["practices"]["reason"]
    assert data["prohibited"] == []  # the ignored answer changed nothing
    clean = send(api["auditor"], "post", "/evaluate", {"answers": RULES_ONLY}).json()
    assert clean["ignored_answers"] == []


def test_evaluate_names_what_is_not_known(api):
    answers = {**TRIAGE, "hosting": "unsure"}
    data = send(api["auditor"], "post", "/evaluate", {"answers": answers}).json()
    assert [u["question"] for u in data["undetermined"]] == ["hosting"]
    flag = next(f for f in data["flags"] if f["code"] == "unsure:hosting")
    assert "« Où les données sont-elles hébergées ? »" in flag["reason"]
    hds = next(o for o in data["obligations"] if o["code"] == "hds_hosting")
    assert [q["question"] for q in hds["to_confirm"]] == ["hosting"]
    fria = next(o for o in data["obligations"] if o["code"] == "aia_27_fria")
    assert fria["to_confirm"] == []


def test_storing_a_qualification_reports_ignored_answers_and_stores_none_of_them(api, world):
    system = world["a"]["system"]
    answers = {**TRIAGE, "regime": "ce_mdr", "mdr_class": "IIa"}
    response = send(
        api["referent"], "post", "/qualifications", {"system": system.pk, "answers": answers}
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert {i["question"] for i in data["ignored_answers"]} == {"regime", "mdr_class"}
    assert "regime" not in data["answers"] and "mdr_class" not in data["answers"]


def test_ignored_answers_are_documented(api):
    schema = api["auditor"].get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "ignored_answers" in components["EvaluateOut"]["properties"]
    assert "ignored_answers" in components["QualificationCreatedOut"]["properties"]
    assert {"question", "reason"} <= components["IgnoredAnswer"]["properties"].keys()
