"""Closing the loop on adverse events: the root-cause analysis, the link to the AMDEC failure
mode and the occurrence the real events suggest, corrective actions as governance actions,
the event counts beside the safety criterion and in the dossier, declaring from an oversight
alert, the referential's checks and the audit trail."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.audit_models import AuditEvent
from garant.core.referentials import Referential, ReferentialError, load
from garant.governance.forms import ActionForm
from garant.governance.models import Action
from garant.incidents import loop
from garant.oversight.models import OversightAlert, OversightRule
from garant.risks.models import FailureMode
from tests.conftest import token_client
from tests.test_governance_fixtures import make_committee, make_meeting
from tests.test_incidents import make_incident
from tests.test_lifecycle_builders import make_project
from tests.test_risks import scored

pytestmark = pytest.mark.django_db


def recent(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("scale", "per_year", "level"),
    [("1-5", 0.5, 2), ("1-5", 4, 3), ("1-5", 13, 4), ("1-10", 1, 5), ("1-10", 400, 10)],
)
def test_the_event_rate_suggests_the_level_the_referential_says(scale, per_year, level):
    assert loop.occurrence_for(scale, per_year) == level


def test_a_referential_whose_rates_do_not_increase_is_refused_with_its_file():
    ref = load(loop.KIND)
    data = copy.deepcopy(ref.data)
    data["occurrence"]["1-5"][2]["per_year"] = 0.1
    with pytest.raises(ReferentialError, match=r"incident_analysis/2026.1.yaml: occurrence/1-5"):
        loop.check(Referential(loop.KIND, ref.version, Path("incident_analysis/2026.1.yaml"), data))


def test_linking_to_the_amdec_suggests_the_occurrence_and_the_manager_confirms_it(
    world, client_for
):
    system, referent = world["a"]["system"], world["users"]["a"]["referent"]
    analysis = scored(system, referent)
    with audit_context(user=referent, source="test"):
        from garant.risks import analyses

        analyses.freeze(analysis, referent)
    row = analysis.failure_modes.get(code="automation_bias")
    dates = dict(occurred_at=recent(20), aware_at=recent(20))
    incident = make_incident(world, consequence="near_miss", **dates)
    # two earlier events of the same failure mode, one whose causal link is excluded
    make_incident(world, failure_mode=row, consequence="serious", **dates)
    make_incident(world, failure_mode=row, causal_link="excluded", **dates)
    client = client_for(referent)
    page = client.post(
        reverse("incidents:analyse", args=[incident.pk]),
        {
            "contributing_factors": ["individual_automation_bias", "task_output_design"],
            "root_cause_analysis": "Score affiché sans son intervalle ; validé sans relecture.",
            "failure_mode": row.pk,
        },
        follow=True,
    ).text
    incident.refresh_from_db()
    assert incident.failure_mode == row and incident.factors_version == "2026.1"
    assert "Confiance excessive dans la sortie" in page and "Tâches à accomplir" in page
    # 2 events counted (one serious, one near miss; the excluded one is not): 2 a year → 2
    suggestion = loop.suggestion(incident)
    assert (suggestion["counts"].declared, suggestion["counts"].serious) == (2, 1)
    assert suggestion["counts"].near_misses == 1 and suggestion["level"] == 2
    assert "fréquence suggérée 2" in page
    client.post(
        reverse("incidents:occurrence", args=[incident.pk]),
        {"occurrence": "3", "basis": suggestion["basis"]},
    )
    draft = FailureMode.objects.unrestricted().get(
        lineage=row.lineage, analysis__status="draft", analysis__ai_system=system
    )
    assert (draft.analysis.number, draft.residual_occurrence) == (2, 3)
    assert "2 événement(s) déclaré(s), dont 1 grave(s) et 1 presque accident(s)" in (
        draft.occurrence_basis
    )
    trail = AuditEvent.objects.filter(object_type="risks.failuremode", object_id=str(draft.pk))
    assert trail.filter(actor_id=referent.pk).exists()
    assert AuditEvent.objects.filter(
        object_type="incidents.incident", object_id=str(incident.pk), actor_id=referent.pk
    ).exists()
    # once the new version is frozen, the event stays linked to the row it was linked to
    with audit_context(user=referent, source="test"):
        analyses.freeze(draft.analysis, referent)
    kept = client.post(
        reverse("incidents:analyse", args=[incident.pk]),
        {
            "contributing_factors": ["individual_automation_bias"],
            "root_cause_analysis": "Complétée après la RMM.",
            "failure_mode": row.pk,
        },
    )
    assert kept.status_code == 302
    assert loop.suggestion(incident)["row"].pk == row.pk
    read = token_client(referent).get(f"/api/incidents/{incident.pk}").json()
    assert read["failure_mode"] == row.pk and read["factors_version"] == "2026.1"
    assert "individual_automation_bias" in read["contributing_factors"]
    # a declarer may not analyse nor re-estimate; a failure mode of another system is refused
    nurse = client_for(world["users"]["a"]["contributor"])
    assert nurse.get(reverse("incidents:analyse", args=[incident.pk])).status_code == 403
    other = scored(world["b"]["system"], world["users"]["b"]["referent"]).failure_modes.first()
    refused = client.post(
        reverse("incidents:analyse", args=[incident.pk]), {"failure_mode": other.pk}
    )
    assert refused.status_code == 200 and "failure_mode" in refused.context["form"].errors


def test_corrective_actions_are_governance_actions_shown_on_the_event(world, client_for):
    referent = world["users"]["a"]["referent"]
    incident = make_incident(world)
    meeting = make_meeting(make_committee(world["a"]["est"]), days=7)
    client = client_for(referent)
    client.post(
        reverse("governance:incident_action", args=[incident.pk]),
        {
            "action-meeting": meeting.pk,
            "action-title": "Afficher l'intervalle de confiance du score",
            "action-owner_name": "DSI",
            "action-due_date": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        },
    )
    action = Action.objects.unrestricted().get(incident=incident)
    assert action.meeting == meeting
    page = client.get(reverse("incidents:detail", args=[incident.pk])).text
    assert "Afficher l&#x27;intervalle de confiance du score" in page
    # the meeting's action form offers the establishment's events only
    foreign = make_incident(world, key="b", declared_by=world["users"]["b"]["contributor"])
    form = ActionForm(
        {"title": "x", "incident": foreign.pk, "owner_name": "x", "due_date": "2027-02-01"},
        meeting=meeting,
    )
    assert not form.is_valid() and "incident" in form.errors


def test_event_counts_are_evidence_for_the_safety_criterion_and_in_the_dossier(world, client_for):
    from garant.lifecycle import assessments

    system, referent = world["a"]["system"], world["users"]["a"]["referent"]
    project = make_project(system, referent)
    for consequence in ("near_miss", "near_miss", "death", "minor"):
        make_incident(world, consequence=consequence, occurred_at=recent(3), aware_at=recent(3))
    make_incident(world, occurred_at=recent(400), aware_at=recent(400))  # out of the period
    evidence = assessments.linked_evidence(project)["safety_risk"]
    texts = [e["text"] for e in evidence]
    assert any(
        "4 événement(s) déclaré(s), dont 1 grave(s) et 2 presque accident(s)" in t for t in texts
    )
    assert "Aucune analyse de risques (AMDEC) figée pour ce système." in texts
    with audit_context(user=referent, source="test"):
        assessment = assessments.start(project, referent)
    client = client_for(referent)
    page = client.get(reverse("lifecycle:assessment_detail", args=[assessment.pk])).text
    assert "Événements indésirables (12 derniers mois)" in page
    dossier = client.get(reverse("lifecycle:dossier", args=[project.pk])).text
    assert 'id="dossier-events"' in dossier and "<td>4</td><td>1</td><td>2</td>" in dossier


def test_an_oversight_alert_page_offers_to_declare_the_event(world, client_for):
    system = world["a"]["system"]
    with audit_context(source="test"):
        rule = OversightRule.objects.create(
            ai_system=system, kind="acceptance_above", threshold=0.98
        )
        alert = OversightAlert.objects.create(
            rule=rule, ai_system=system, value=0.99, message="Acceptation quasi systématique"
        )
    url = reverse("incidents:declare", args=[system.pk]) + f"?oversight_alert={alert.pk}"
    page = client_for(world["users"]["a"]["contributor"]).get(alert.get_absolute_url())
    assert url in page.text.replace("&amp;", "&")
    auditor = client_for(world["users"]["a"]["auditor"])  # may not declare: no button
    assert url not in auditor.get(alert.get_absolute_url()).text.replace("&amp;", "&")
    # declared from it, the event is listed on the alert's page, for the auditor too
    incident = make_incident(world, consequence="near_miss", oversight_alert=alert)
    assert incident.get_absolute_url() in auditor.get(alert.get_absolute_url()).text


def test_a_closed_event_keeps_its_analysis(world, client_for):
    incident = make_incident(world, consequence="near_miss", state="closed")
    client = client_for(world["users"]["a"]["referent"])
    url = reverse("incidents:analyse", args=[incident.pk])
    assert client.get(url)["Location"] == incident.get_absolute_url()
    response = client.post(url, {"root_cause_analysis": "Réécrite après clôture."}, follow=True)
    assert "analyse des causes n&#x27;est plus modifiable" in response.content.decode()
    incident.refresh_from_db()
    assert incident.root_cause_analysis == ""
