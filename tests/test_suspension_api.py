"""REST API of suspensions (garant/oversight/api.py): propose (from an alert, a collège
finding or a free cause), suspend, decline, resume — the rules of garant/oversight/suspension.py,
a refused step being a 409 with its French message, nothing stored — and the list of a system's
suspensions. Cross-establishment access is also covered by tests/test_tenancy_generated.py."""

from __future__ import annotations

import pytest

from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from garant.governance import college
from garant.governance.models import CaseReview
from garant.monitoring.models import Alert, AlertRule
from garant.oversight.models import Suspension
from tests.conftest import make_feed, token_client
from tests.test_college import make_campaign, make_college, send_events
from tests.test_governance_fixtures import make_committee, make_decision, make_meeting
from tests.test_lifecycle_builders import frozen_assessment, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world):
    users = world["users"]["a"]
    system = world["a"]["system"]
    feed = make_feed(system, operating_threshold=0.5)
    with audit_context(user=users[Role.REFERENT], source="test"):
        rule = AlertRule.objects.create(feed=feed, kind="auc_below", threshold=0.7)
        alert = Alert.objects.create(rule=rule, feed=feed, value=0.6, message="AUC à 0,60")
        project = make_project(system, users[Role.REFERENT])
        frozen_assessment(project, users[Role.REFERENT])
    return {"users": users, "system": system, "alert": alert, "project": project}


def _propose(client, system, **body):
    return client.post(
        f"/api/systems/{system.pk}/suspensions", body, content_type="application/json"
    )


def _post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_propose_suspend_then_resume_on_a_signed_decision(setup):
    users, system = setup["users"], setup["system"]
    contributor = token_client(users[Role.CONTRIBUTOR])
    response = _propose(contributor, system, cause="Faux négatifs", alert=setup["alert"].pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "proposed" and body["alert"] == setup["alert"].pk
    assert body["proposed_by"] == users[Role.CONTRIBUTOR].get_username()
    assert body["suspended_by"] is None and body["resumed_by"] is None
    pk = body["id"]
    status_url = f"/api/systems/{system.pk}/status"
    assert contributor.get(status_url).json()["status"] == "active"

    # a contributor may propose, not suspend
    suspend_url = f"/api/suspensions/{pk}/suspend"
    assert _post(contributor, suspend_url, {"reason": "x"}).status_code == 403
    referent = token_client(users[Role.REFERENT])
    refused = _post(referent, suspend_url, {"reason": "  "})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "reason"
    response = _post(referent, suspend_url, {"reason": "Sensibilité effondrée la nuit"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "suspended"
    assert response.json()["suspended_by"] == users[Role.REFERENT].get_username()
    status = referent.get(status_url).json()
    assert status["status"] == "suspended" and status["suspension"] == pk
    # a second confirmation is a conflict
    again = _post(referent, suspend_url, {"reason": "Encore"})
    assert again.status_code == 409
    assert again.json()["detail"] == "Seule une proposition en attente peut être confirmée."

    # resumption refused without a signed decision referencing the suspension
    resume_url = f"/api/suspensions/{pk}/resume"
    refused = _post(referent, resume_url)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("La reprise exige une décision signée du comité")
    suspension = Suspension.objects.unrestricted().get(pk=pk)
    meeting = make_meeting(make_committee(system.establishment))
    draft = make_decision(meeting, setup["project"], suspension=suspension)
    refused = _post(referent, resume_url, {"decision": draft.pk})  # unsigned: not accepted
    assert refused.status_code == 409 and "décision signée" in refused.json()["detail"]
    assert referent.get(status_url).json()["status"] == "suspended"

    signer = users[Role.COMMITTEE]
    meeting2 = make_meeting(make_committee(system.establishment, name="Copil 2"))
    signed = make_decision(meeting2, setup["project"], sign_by=signer, suspension=suspension)
    response = _post(referent, resume_url, {"decision": signed.pk})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "resumed"
    assert response.json()["resumption_decision"] == signed.pk
    assert referent.get(status_url).json()["status"] == "active"
    # audited, attributed to the API caller
    events = AuditEvent.objects.filter(object_type="oversight.suspension", object_id=pk)
    assert events.filter(actor_id=users[Role.REFERENT].pk, source="api").count() >= 2
    assert events.filter(actor_id=users[Role.CONTRIBUTOR].pk, source="api").exists()


def test_resume_without_decision_id_takes_the_signed_one(setup):
    users, system = setup["users"], setup["system"]
    admin = token_client(users[Role.ADMIN])
    pk = _propose(admin, system, cause="Dérive").json()["id"]
    _post(admin, f"/api/suspensions/{pk}/suspend", {"reason": "Dérive confirmée"})
    suspension = Suspension.objects.unrestricted().get(pk=pk)
    meeting = make_meeting(make_committee(system.establishment))
    make_decision(meeting, setup["project"], sign_by=users[Role.COMMITTEE], suspension=suspension)
    response = _post(admin, f"/api/suspensions/{pk}/resume")
    assert response.status_code == 200 and response.json()["state"] == "resumed"


def test_refusals_store_nothing(setup):
    users, system = setup["users"], setup["system"]
    auditor = token_client(users[Role.AUDITOR])
    assert _propose(auditor, system, cause="x").status_code == 403
    contributor = token_client(users[Role.CONTRIBUTOR])
    response = _propose(contributor, system, cause=" ", alert=999_999, finding=999_999)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["detail"]}
    assert fields == {"cause", "alert", "finding"}
    assert not Suspension.objects.unrestricted().exists()
    pk = _propose(contributor, system, cause="Doute").json()["id"]
    committee = token_client(users[Role.COMMITTEE])
    decline_url = f"/api/suspensions/{pk}/decline"
    assert _post(committee, decline_url, {"note": ""}).status_code == 422
    response = _post(committee, decline_url, {"note": "Panne du laboratoire"})
    assert response.status_code == 200 and response.json()["state"] == "declined"
    assert _post(committee, f"/api/suspensions/{pk}/suspend", {"reason": "x"}).status_code == 409
    resume = _post(committee, f"/api/suspensions/{pk}/resume")
    assert resume.status_code == 409
    assert resume.json()["detail"] == "Ce système n'est pas suspendu."


def test_proposal_from_a_college_finding_and_the_list(setup, world):
    users, system = setup["users"], setup["system"]
    send_events(world["a"]["est"], system, 3)
    campaign = make_campaign(world, make_college(world), per_stratum=1)
    case = campaign.cases.order_by("position").first()
    client = token_client(users[Role.COMMITTEE])
    # a case nobody reviewed is no finding yet
    response = _propose(client, system, cause="Constat", finding=case.pk)
    assert response.status_code == 422
    with audit_context(source="test"):
        CaseReview.objects.create(
            case=case,
            reviewer=users[Role.COMMITTEE],
            ai_output_appropriate="no",
            human_decision_appropriate="no",
            reason=next(iter(college.reasons().items)),
        )
    response = _propose(client, system, cause="Constat du collège", finding=case.pk)
    assert response.status_code == 201, response.content
    assert response.json()["findings"] == [case.pk]
    case.refresh_from_db()
    assert case.suspension_id == response.json()["id"]
    again = _propose(client, system, cause="Encore", finding=case.pk)
    assert again.status_code == 409
    assert again.json()["detail"] == "Ce constat a déjà donné lieu à une proposition de suspension."
    listed = client.get(f"/api/systems/{system.pk}/suspensions")
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [response.json()["id"]]


def test_another_establishment_gets_404(setup, world):
    users, system = setup["users"], setup["system"]
    admin_a = token_client(users[Role.ADMIN])
    pk = _propose(admin_a, system, cause="Dérive").json()["id"]
    admin_b = token_client(world["users"]["b"][Role.ADMIN])
    assert admin_b.get(f"/api/systems/{system.pk}/suspensions").status_code == 404
    assert _propose(admin_b, system, cause="x").status_code == 404
    for step in ("suspend", "decline", "resume"):
        url = f"/api/suspensions/{pk}/{step}"
        body = {"reason": "x", "note": "x"}
        assert _post(admin_b, url, body).status_code == 404
    assert admin_b.get(f"/api/suspensions/{pk}").status_code == 404
    # a system of A cannot be proposed with an alert of B's system
    system_b = world["b"]["system"]
    feed_b = make_feed(system_b, operating_threshold=0.5)
    with audit_context(source="test"):
        rule = AlertRule.objects.create(feed=feed_b, kind="auc_below", threshold=0.7)
        alert_b = Alert.objects.create(rule=rule, feed=feed_b, value=0.6, message="B")
    response = _propose(admin_a, system, cause="x", alert=alert_b.pk)
    assert response.status_code == 422
    assert Suspension.objects.unrestricted().get(pk=pk).state == "proposed"
