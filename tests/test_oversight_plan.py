"""The oversight plan of a system (garant/oversight/plans.py): versions and their diff, the
audit of each version, the gate into routine, the home page's gaps, the decision dossier, the
compliance evidence and the API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.compliance.models import Qualification
from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.models import AuditEvent
from garant.demo.compliance import QUALIFIED
from garant.lifecycle import gates
from garant.lifecycle.gates import GateRefused
from garant.oversight import plans
from garant.oversight.models import OversightPlanVersion
from tests.conftest import token_client
from tests.test_lifecycle_builders import (
    add_value,
    frozen_assessment,
    make_charter,
    make_decision,
    make_project,
)

TRIAGE = QUALIFIED[("valmont", "Aide au tri des patients aux urgences (IOA)")]

VALUES = {
    "points": [
        {
            "moment": "before",
            "rate": None,
            "who": "IOA",
            "checks": "niveau de tri proposé",
            "action": "retenir son propre niveau",
        }
    ],
    "people": [{"who": "IDE d'accueil (IOA)", "competence": "formation IOA et à l'outil"}],
    "override": "L'IOA retient son niveau ; l'écart est tracé.",
    "stop": "Le médecin responsable des urgences suspend l'outil.",
    "fallback": "Tri selon la grille FRENCH papier.",
    "review_months": 12,
}


def form_data(values: dict, comment: str = "") -> dict:
    data = {k: values[k] for k in ("override", "stop", "fallback", "review_months")}
    data["comment"] = comment
    for prefix in ("points", "people"):
        rows = values[prefix]
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows) + 1)
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = "" if value is None else value
    return data


def high_risk(system):
    with audit_context(source="test"):
        return Qualification.objects.create(
            ai_system=system, referential_version="test", risk_level="high"
        )


@pytest.fixture
def system(world):
    return world["a"]["system"]


@pytest.fixture
def referent(world):
    return world["users"]["a"]["referent"]


def save(system, values, user, comment=""):
    with audit_context(user=user, source="test"):
        return plans.save_version(system, values, user, comment)


def test_each_save_is_a_new_audited_version_and_the_latest_is_current(system, referent):
    first = save(system, VALUES, referent)
    changed = {**VALUES, "review_months": 6, "fallback": "Tri papier, double contrôle."}
    second = save(system, changed, referent, "revue annuelle")
    assert (first.number, second.number) == (1, 2)
    assert plans.current(system) == second
    with pytest.raises(plans.NoChange):
        save(system, changed, referent)
    with pytest.raises(ValueError):
        second.save()  # a version is never changed
    events = AuditEvent.objects.filter(
        object_type="oversight.oversightplanversion", action="create"
    )
    assert events.count() == 2
    assert {e.actor_name for e in events} == {referent.get_username()}
    assert events.filter(object_id=str(second.pk)).get().changes["fallback"] is not None


def test_diff_names_each_changed_field_with_its_french_label(system, referent):
    first = save(system, VALUES, referent)
    sampled = {
        "moment": "sampled",
        "rate": 10.0,
        "who": "cadre de santé",
        "checks": "concordance du tri",
        "action": "",
    }
    second = save(
        system, {**VALUES, "points": [*VALUES["points"], sampled], "review_months": 6}, referent
    )
    changes = {c["field"]: c for c in plans.diff(first, second)}
    assert set(changes) == {"points", "review_months"}
    assert changes["review_months"]["label"] == "revue du plan (mois)"
    assert (changes["review_months"]["before"], changes["review_months"]["after"]) == (12, 6)
    assert changes["points"]["removed"] == []
    assert "par échantillonnage (10 %)" in changes["points"]["added"][0]


def test_the_form_saves_versions_and_the_page_shows_the_diff(system, referent, client_for):
    client = client_for(referent)
    edit = reverse("oversight:plan_edit", args=[system.pk])
    assert client.get(edit).status_code == 200
    response = client.post(edit, form_data(VALUES))
    assert response.status_code == 302
    response = client.post(edit, form_data({**VALUES, "stop": "Arrêt par le chef de pôle."}))
    assert response.status_code == 302
    page = client.get(reverse("oversight:plan", args=[system.pk])).content.decode()
    assert "Version 2 en vigueur" in page
    assert "Arrêt par le chef de pôle." in page and "<del>" in page
    assert OversightPlanVersion.objects.within(ai_system=system).count() == 2


def test_the_form_refuses_bad_rows_and_stores_nothing(system, referent, client_for):
    client = client_for(referent)
    bad = {**VALUES, "points": [{**VALUES["points"][0], "moment": "sampled", "rate": None}]}
    response = client.post(reverse("oversight:plan_edit", args=[system.pk]), form_data(bad))
    assert response.status_code == 422
    assert "Indiquez la part des sorties contrôlées" in response.content.decode()
    none = {**VALUES, "people": []}
    response = client.post(reverse("oversight:plan_edit", args=[system.pk]), form_data(none))
    assert response.status_code == 422
    assert "Nommez au moins une personne" in response.content.decode()
    assert not OversightPlanVersion.objects.within(ai_system=system).exists()


def test_a_reader_sees_the_plan_but_cannot_edit_it(world, system, referent, client_for):
    save(system, VALUES, referent)
    reader = world["users"]["a"]["auditor"]
    client = client_for(reader)
    assert client.get(reverse("oversight:plan", args=[system.pk])).status_code == 200
    assert client.get(reverse("oversight:plan_edit", args=[system.pk])).status_code == 403
    other = client_for(world["users"]["b"]["referent"])
    assert other.get(reverse("oversight:plan", args=[system.pk])).status_code == 404


@pytest.fixture
def at_decision(system, referent):
    project = make_project(system)
    charter = make_charter(project)
    with audit_context(user=referent, source="test"):
        gates.transition(project, "poc", referent, "motif")
        add_value(charter.indicators.get())
        gates.transition(project, "evaluation", referent, "motif")
        assessment = frozen_assessment(project)
        gates.transition(project, "generalisation", referent, "motif")
    make_decision(project, assessment, "generalise")
    return project


def test_a_high_risk_system_needs_a_plan_to_enter_routine(at_decision, system, referent):
    high_risk(system)
    with pytest.raises(GateRefused) as refused, audit_context(user=referent, source="test"):
        gates.transition(at_decision, "routine", referent, "motif")
    problem = refused.value.messages[0]
    assert "sans plan de supervision" in problem
    assert problem.url == reverse("oversight:plan_edit", args=[system.pk])
    save(system, VALUES, referent)
    with audit_context(user=referent, source="test"):
        gates.transition(at_decision, "routine", referent, "motif")
    assert at_decision.phase == "routine"


def test_a_system_not_high_risk_enters_routine_without_a_plan(at_decision, referent):
    with audit_context(user=referent, source="test"):
        gates.transition(at_decision, "routine", referent, "motif")
    assert at_decision.phase == "routine"


def test_home_names_high_risk_routine_systems_without_plan_and_overdue_reviews(
    world, system, referent, client_for
):
    high_risk(system)
    with audit_context(source="test"):
        type(system).objects.unrestricted().filter(pk=system.pk).update(phase="routine")
    page = client_for(referent).get("/").content.decode()
    assert "sans plan de supervision" in page and "CHU A" in page
    assert (
        "sans plan de supervision"
        not in client_for(world["users"]["b"]["referent"]).get("/").content.decode()
    )
    version = save(system, VALUES, referent)
    assert "sans plan de supervision" not in client_for(referent).get("/").content.decode()
    old = timezone.now() - dt.timedelta(days=400)
    OversightPlanVersion.objects.unrestricted().filter(pk=version.pk).update(created_at=old)
    page = client_for(referent).get("/").content.decode()
    assert "revue du plan de supervision en retard" in page


def test_the_decision_dossier_contains_the_plan(at_decision, system, referent, client_for):
    save(system, VALUES, referent)
    client = client_for(referent)
    page = client.get(reverse("lifecycle:dossier", args=[at_decision.pk])).content.decode()
    assert "Plan de supervision humaine" in page and "Tri selon la grille FRENCH papier." in page
    pdf = client.get(reverse("lifecycle:dossier_pdf", args=[at_decision.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_the_plan_is_evidence_of_the_deployer_oversight_obligations(system, referent, client_for):
    with audit_context(user=referent, source="test"):
        qualify(system, TRIAGE, referent)
    obligation = system.obligations.get(code="aia_26_2")
    client = client_for(referent)
    assert (
        "Plan de supervision humaine"
        not in client.get(obligation.get_absolute_url()).content.decode()
    )
    save(system, VALUES, referent)
    page = client.get(obligation.get_absolute_url()).content.decode()
    assert "Plan de supervision humaine, version 1" in page
    checklist = client.get(reverse("compliance:system", args=[system.pk])).content.decode()
    assert reverse("oversight:plan", args=[system.pk]) in checklist


def test_api_reads_and_writes_the_plan(world, system, referent):
    client = token_client(referent)
    url = f"/api/oversight/systems/{system.pk}/plan"
    assert client.get(url).status_code == 404
    response = client.put(url, json.dumps(VALUES), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["number"] == 1
    again = client.put(url, json.dumps(VALUES), content_type="application/json")
    assert again.status_code == 200 and again.json()["number"] == 1
    bad = {**VALUES, "points": [{**VALUES["points"][0], "moment": "sampled"}]}
    response = client.put(url, json.dumps(bad), content_type="application/json")
    assert response.status_code == 422
    assert {"field": "points[0].rate"}.items() <= response.json()["detail"][0].items()
    assert client.get(url).json()["review_due"]
    reader = token_client(world["users"]["a"]["auditor"])
    assert reader.put(url, json.dumps(VALUES), content_type="application/json").status_code == 403
    other = token_client(world["users"]["b"]["referent"])
    assert other.get(url).status_code == 404


def test_the_demo_has_plans_with_a_diff_and_shows_the_remaining_gaps(demo, client_for):
    from garant.core.models import User
    from garant.registry.models import AISystem

    fractures = AISystem.objects.unrestricted().get(
        name="Détection des fractures sur radiographies", establishment__code="valmont"
    )
    rows = plans.history(fractures)
    assert [r["version"].number for r in rows] == [2, 1]
    assert {c["field"] for c in rows[0]["changes"]} == {"points", "review_months"}
    assert not plans.missing_plan(fractures)
    referent = User.objects.get(username="referent.valmont")
    page = client_for(referent).get(reverse("oversight:plan", args=[fractures.pk]))
    assert "par échantillonnage (5 %)" in page.content.decode()
