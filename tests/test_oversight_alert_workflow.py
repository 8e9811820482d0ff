"""An alert on the oversight rates follows the alert workflow of monitoring: a page of its
own in plain words, acknowledged with a comment, and the panels the apps above add to an
alert's page — an action followed at a committee's meeting, a point on the agenda, a
suspension proposal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from garant.governance.models import Action, AgendaItem
from garant.oversight.models import OversightAlert, OversightRule, Suspension
from tests.test_governance_fixtures import make_committee, make_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world):
    users = world["users"]["a"]
    system = world["a"]["system"]
    with audit_context(source="test"):
        rule = OversightRule.objects.create(
            ai_system=system, kind="override_rate_doubling", threshold=2
        )
        alert = OversightAlert.objects.create(
            rule=rule,
            ai_system=system,
            service="Urgences",
            value=2.6,
            message="Taux d'écart aux urgences : 26,0 % contre 10,0 % avant",
        )
    meeting = make_meeting(make_committee(system.establishment), days=10)
    return {"users": users, "system": system, "alert": alert, "meeting": meeting}


def test_the_page_says_what_happens_and_offers_the_panels(setup, client_for):
    alert, system = setup["alert"], setup["system"]
    page = client_for(setup["users"][Role.REFERENT]).get(alert.get_absolute_url())
    text = page.content.decode()
    assert page.status_code == 200
    assert "26,0 % contre 10,0 %" in text and "Service Urgences" in text
    assert "écartent bien plus souvent" in text  # what a rising override rate may mean
    assert "× 2,6" in text and "seuil × 2," in text  # the ratio as a number, not raw
    # the panels of governance and of the suspension, as on a monitoring alert's page
    assert reverse("governance:oversight_alert_action", args=[alert.pk]) in text
    assert reverse("governance:oversight_alert_agenda", args=[alert.pk]) in text
    assert "Proposer la suspension" in text
    # the system's oversight tab links to the page
    tab = client_for(setup["users"][Role.REFERENT]).get(
        reverse("oversight:system", args=[system.pk])
    )
    assert alert.get_absolute_url() in tab.content.decode()


def test_an_auditor_reads_the_page_without_the_forms(setup, client_for):
    alert = setup["alert"]
    text = client_for(setup["users"][Role.AUDITOR]).get(alert.get_absolute_url()).content.decode()
    assert "26,0 % contre 10,0 %" in text
    assert reverse("governance:oversight_alert_action", args=[alert.pk]) not in text
    assert "Prendre en compte" not in text


def test_acknowledged_from_its_page_comes_back_to_it(setup, client_for):
    alert = setup["alert"]
    client = client_for(setup["users"][Role.REFERENT])
    response = client.post(
        reverse("oversight:alert_acknowledge", args=[alert.pk]),
        {"comment": "Nouvel interne aux urgences : revue prévue", "from": "alert"},
    )
    assert response.status_code == 302 and response["Location"] == alert.get_absolute_url()
    alert.refresh_from_db()
    assert alert.state == OversightAlert.State.ACKNOWLEDGED


def test_an_action_and_an_agenda_point_from_the_alert(setup, client_for):
    alert, meeting = setup["alert"], setup["meeting"]
    referent = setup["users"][Role.REFERENT]
    client = client_for(referent)
    response = client.post(
        reverse("governance:oversight_alert_action", args=[alert.pk]),
        {
            "action-title": "Revue des écarts aux urgences",
            "action-owner": referent.pk,
            "action-due_date": "2027-01-15",
            "action-meeting": meeting.pk,
        },
    )
    assert response.status_code == 302
    action = Action.objects.unrestricted().get(oversight_alert=alert)
    assert (action.title, action.meeting, action.alert) == (
        "Revue des écarts aux urgences",
        meeting,
        None,
    )
    url = reverse("governance:oversight_alert_agenda", args=[alert.pk])
    client.post(url, {"odj-meeting": meeting.pk})
    client.post(url, {"odj-meeting": meeting.pk})  # once per meeting
    [item] = AgendaItem.objects.unrestricted().filter(oversight_alert=alert)
    assert item.kind == AgendaItem.Kind.ALERT and item.notes == alert.message
    assert "Urgences" in item.title
    page = client.get(meeting.get_absolute_url()).content.decode()
    assert alert.get_absolute_url() in page  # the agenda links back to the alert
    # both are in the audit trail, by the referent
    events = AuditEvent.objects.filter(
        object_type__in=["governance.action", "governance.agendaitem"], action="create"
    )
    assert {e.object_type for e in events if e.actor_id == referent.pk} == {
        "governance.action",
        "governance.agendaitem",
    }
    alert_page = client.get(alert.get_absolute_url()).content.decode()
    assert "Revue des écarts aux urgences" in alert_page


def test_a_suspension_proposed_from_the_alert_page_keeps_the_link(setup, client_for):
    alert, system = setup["alert"], setup["system"]
    client = client_for(setup["users"][Role.CONTRIBUTOR])
    client.post(
        reverse("oversight:suspension_propose", args=[system.pk]),
        {"susp-cause": "Écarts en hausse", "susp-oversight_alert": alert.pk},
    )
    assert Suspension.objects.unrestricted().get().oversight_alert == alert
    text = client.get(alert.get_absolute_url()).content.decode()
    assert "Suspension proposée le" in text
