"""Suspension and resumption of an AI system (garant/oversight/suspension.py): a proposal,
its confirmation by an authorised person, the status read by the clinical software, the
notifications, the gates, and the resumption that needs a signed committee decision."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from garant.lifecycle import gates
from garant.lifecycle.models import Notification
from garant.monitoring.models import Alert, AlertRule
from garant.oversight import suspension as service
from garant.oversight.models import FeedbackToken, Suspension
from tests.conftest import make_feed, token_client
from tests.test_governance_fixtures import make_committee, make_decision, make_meeting
from tests.test_lifecycle_builders import frozen_assessment, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world):
    users = world["users"]["a"]
    system = world["a"]["system"]
    referent = users[Role.REFERENT]
    referent.email = "referent@chu-a.test"
    referent.save()
    feed = make_feed(system, operating_threshold=0.5)
    with audit_context(user=referent, source="test"):
        rule = AlertRule.objects.create(feed=feed, kind="auc_below", threshold=0.7)
        alert = Alert.objects.create(rule=rule, feed=feed, value=0.6, message="AUC à 0,60")
        project = make_project(system, referent)
        frozen_assessment(project, referent)
    return {"users": users, "system": system, "alert": alert, "project": project}


def _suspended(setup) -> Suspension:
    users = setup["users"]
    with audit_context(user=users[Role.CONTRIBUTOR], source="test"):
        proposal = service.propose(
            setup["system"], users[Role.CONTRIBUTOR], "Faux négatifs", alert=setup["alert"]
        )
    with audit_context(user=users[Role.ADMIN], source="test"):
        return service.suspend(proposal, users[Role.ADMIN], "Sensibilité effondrée la nuit")


def _resumption_decision(setup, suspension, sign=True):
    committee = make_committee(setup["system"].establishment)
    meeting = make_meeting(committee)
    signer = setup["users"][Role.COMMITTEE] if sign else None
    return make_decision(meeting, setup["project"], sign_by=signer, suspension=suspension)


def test_status_endpoint_says_suspended_with_reason_and_since(setup, client_for):
    users, system = setup["users"], setup["system"]
    url = f"/api/systems/{system.pk}/status"
    api = token_client(users[Role.AUDITOR])
    assert api.get(url).json() == {
        "system": system.pk,
        "status": "active",
        "since": None,
        "reason": None,
        "suspension": None,
    }
    suspension = _suspended(setup)
    body = api.get(url).json()
    assert body["status"] == "suspended"
    assert body["reason"] == "Sensibilité effondrée la nuit"
    assert body["suspension"] == suspension.pk
    assert body["since"].startswith(suspension.suspended_at.isoformat()[:19])
    # the clinical software's own token of the establishment reads it too
    _, raw = FeedbackToken.issue(system.establishment, "DPI")
    software = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert software.get(url).json()["status"] == "suspended"
    # ... but not another establishment's system, nor without a token
    _, other = FeedbackToken.issue(setup_other_establishment(users), "DPI B")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {other}").get(url).status_code == 404
    assert Client().get(url).status_code == 401


def setup_other_establishment(users):
    from garant.core.models import Establishment

    return Establishment.objects.get(code="chu-b")


def test_proposal_from_alert_then_suspension_by_authorised_person(
    setup, client_for, django_capture_on_commit_callbacks
):
    users, system, alert = setup["users"], setup["system"], setup["alert"]
    page = client_for(users[Role.CONTRIBUTOR]).get(alert.get_absolute_url())
    assert "Proposer la suspension" in page.content.decode()
    contributor = client_for(users[Role.CONTRIBUTOR])
    response = contributor.post(
        reverse("oversight:suspension_propose", args=[system.pk]),
        {"susp-cause": "Alerte AUC", "susp-alert": alert.pk},
    )
    proposal = Suspension.objects.unrestricted().get()
    assert response.status_code == 302 and proposal.alert == alert
    assert proposal.state == Suspension.State.PROPOSED
    # a contributor may propose, not suspend; nor may an auditor propose
    confirm = reverse("oversight:suspension_confirm", args=[proposal.pk])
    assert contributor.post(confirm, {"reason": "x"}).status_code == 403
    auditor = client_for(users[Role.AUDITOR])
    propose = reverse("oversight:suspension_propose", args=[system.pk])
    assert auditor.post(propose, {"susp-cause": "x"}).status_code == 403
    # the reason is required
    referent = client_for(users[Role.REFERENT])
    assert referent.post(confirm, {"reason": " "}).status_code == 422
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        referent.post(confirm, {"reason": "Faux négatifs en série"})
    proposal.refresh_from_db()
    assert proposal.state == Suspension.State.SUSPENDED
    assert proposal.suspended_by == users[Role.REFERENT]
    # in effect: every page of the system says so
    detail = referent.get(reverse("registry:system_detail", args=[system.pk])).content.decode()
    assert "Suspendu" in detail and "Faux négatifs en série" in detail
    # notified in-app and by e-mail, audited
    notified = Notification.objects.unrestricted().filter(message__contains="est suspendu")
    assert {n.user for n in notified} >= {users[Role.REFERENT], users[Role.ADMIN]}
    assert users[Role.AUDITOR] not in {n.user for n in notified}
    assert any("referent@chu-a.test" in m.to for m in mail.outbox)
    events = AuditEvent.objects.filter(object_type="oversight.suspension", object_id=proposal.pk)
    assert events.count() >= 2
    assert events.filter(actor_id=users[Role.REFERENT].pk).exists()


def test_decline_with_note(setup, client_for):
    users, system = setup["users"], setup["system"]
    proposal = service.propose(system, users[Role.CONTRIBUTOR], "Doute")
    client = client_for(users[Role.COMMITTEE])
    url = reverse("oversight:suspension_decline", args=[proposal.pk])
    assert client.post(url, {"note": ""}).status_code == 422
    client.post(url, {"note": "Alerte expliquée par une panne du laboratoire"})
    proposal.refresh_from_db()
    assert proposal.state == Suspension.State.DECLINED
    assert service.status(system)["status"] == "active"


def test_one_suspension_in_effect_per_system(setup):
    _suspended(setup)
    second = service.propose(setup["system"], setup["users"][Role.ADMIN], "Autre cause")
    with pytest.raises(service.Refused):
        service.suspend(second, setup["users"][Role.ADMIN], "Encore")


def test_suspended_project_cannot_change_phase(setup, client_for):
    suspension = _suspended(setup)
    project = setup["project"]
    page = client_for(setup["users"][Role.AUDITOR]).get(project.get_absolute_url())
    assert 'id="suspendu"' in page.content.decode()
    problems = gates.check(project, "poc", reason="test")
    assert problems and "Système suspendu" in problems[0]
    assert problems[0].url == suspension.get_absolute_url()
    assert gates.check(project, "retired", reason="Abandon") == []


def test_resumption_refused_without_signed_decision(setup, client_for):
    suspension = _suspended(setup)
    client = client_for(setup["users"][Role.ADMIN])
    url = reverse("oversight:suspension_resume", args=[suspension.pk])
    client.post(url, {})
    suspension.refresh_from_db()
    assert suspension.state == Suspension.State.SUSPENDED
    with pytest.raises(service.Refused):
        service.resume(suspension, setup["users"][Role.ADMIN], None)
    draft = _resumption_decision(setup, suspension, sign=False)
    client.post(url, {"decision": draft.pk})  # a draft is not offered, nor accepted
    with pytest.raises(service.Refused, match="signée"):
        service.resume(suspension, setup["users"][Role.ADMIN], draft)
    suspension.refresh_from_db()
    assert suspension.state == Suspension.State.SUSPENDED


def test_resumption_on_signed_decision_referencing_it(setup, client_for):
    suspension = _suspended(setup)
    decision = _resumption_decision(setup, suspension)
    assert decision.is_signed
    client = client_for(setup["users"][Role.ADMIN])
    page = client.get(suspension.get_absolute_url()).content.decode()
    assert str(decision) in page
    url = reverse("oversight:suspension_resume", args=[suspension.pk])
    client.post(url, {"decision": decision.pk})
    suspension.refresh_from_db()
    assert suspension.state == Suspension.State.RESUMED
    assert suspension.resumption_decision_id == decision.pk
    assert service.status(setup["system"])["status"] == "active"
    assert Notification.objects.unrestricted().filter(message__contains="reprend").exists()


def test_decision_must_reference_a_suspension_of_its_project(setup, world):
    from django.core.exceptions import ValidationError

    from tests.conftest import make_system

    other_system = make_system(world["a"]["est"], name="Autre")
    with audit_context(source="test"):
        other = service.propose(other_system, setup["users"][Role.ADMIN], "Cause")
        service.suspend(other, setup["users"][Role.ADMIN], "Motif")
    with pytest.raises(ValidationError):
        _resumption_decision(setup, other, sign=False)


def test_demo_has_a_suspended_system_with_its_resumption_decision_pending(demo):
    from garant.governance.models import Decision

    in_effect = Suspension.objects.unrestricted().filter(state=Suspension.State.SUSPENDED)
    suspension = in_effect.get(ai_system__name="Agent conversationnel d'information des patients")
    assert service.status(suspension.ai_system)["status"] == "suspended"
    pending = Decision.objects.unrestricted().get(suspension=suspension)
    assert not pending.is_signed
    assert service.resumption_decisions(suspension) == []


def test_proposal_from_an_oversight_alert(setup, client_for):
    from garant.oversight.models import OversightAlert, OversightRule

    system, users = setup["system"], setup["users"]
    with audit_context(source="test"):
        rule = OversightRule.objects.create(
            ai_system=system, kind="acceptance_above", threshold=0.98
        )
        alert = OversightAlert.objects.create(
            rule=rule, ai_system=system, value=0.99, message="Acceptation à 99 %"
        )
    client = client_for(users[Role.CONTRIBUTOR])
    page = client.get(reverse("oversight:system", args=[system.pk])).content.decode()
    assert "Proposer la suspension" in page and "Acceptation à 99 %" in page
    client.post(
        reverse("oversight:suspension_propose", args=[system.pk]),
        {"susp-cause": "Acceptation sans examen", "susp-oversight_alert": alert.pk},
    )
    assert Suspension.objects.unrestricted().get().oversight_alert == alert


def test_the_committee_agenda_and_decision_form_offer_the_resumption(setup, client_for):
    from garant.governance import agenda

    suspension = _suspended(setup)
    committee = make_committee(setup["system"].establishment)
    meeting = make_meeting(committee, days=10)
    proposed = [p for p in agenda.proposals(committee, meeting) if "Reprise" in p.title]
    assert [p.project for p in proposed] == [setup["project"]]
    with audit_context(source="test"):
        agenda.add_to_agenda(meeting, proposed)
    url = reverse("governance:decision_create", args=[meeting.pk, setup["project"].pk])
    page = client_for(setup["users"][Role.COMMITTEE]).get(url).content.decode()
    assert 'name="suspension"' in page and f'value="{suspension.pk}"' in page


def test_proposal_from_a_college_finding_on_the_campaign_page(setup, world, client_for):
    from garant.governance import college
    from garant.governance.models import CaseReview
    from tests.test_college import make_campaign, make_college, send_events

    users, system = setup["users"], setup["system"]
    send_events(world["a"]["est"], system, 3)
    campaign = make_campaign(world, make_college(world), per_stratum=1)
    case = campaign.cases.order_by("position").first()
    client = client_for(users[Role.CONTRIBUTOR])
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "Proposer la suspension du système" not in page  # nobody reviewed a case yet
    with audit_context(source="test"):
        CaseReview.objects.create(
            case=case,
            reviewer=users[Role.COMMITTEE],
            ai_output_appropriate="no",
            human_decision_appropriate="yes",
            reason=next(iter(college.reasons().items)),
        )
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert f'name="susp-finding" value="{case.pk}"' in page
    url = reverse("oversight:suspension_propose", args=[system.pk])
    other = campaign.cases.order_by("position").last()  # not reviewed: no finding
    response = client.post(url, {"susp-cause": "Constat", "susp-finding": other.pk})
    assert response.status_code == 302 and not Suspension.objects.unrestricted().exists()
    response = client.post(url, {"susp-cause": "Constat du collège", "susp-finding": case.pk})
    proposal = Suspension.objects.unrestricted().get()
    assert response.url == proposal.get_absolute_url()
    case.refresh_from_db()
    assert case.suspension == proposal
    detail = client.get(proposal.get_absolute_url()).content.decode()
    assert case.get_absolute_url() in detail and "Constat du collège" in detail
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert f'name="susp-finding" value="{case.pk}"' not in page  # the proposal is open
