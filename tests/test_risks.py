"""Risk analysis (AMDEC): criticality, referential checks, versions and their immutability,
the occurrence hook for adverse events, the tab, the API, the audit trail, the home page,
the decision grid's evidence and the mitigation actions."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from garant.core.audit import audit_context
from garant.core.audit_models import AuditEvent
from garant.core.referentials import Referential, ReferentialError, load
from garant.governance.forms import ActionForm
from garant.risks import analyses
from garant.risks.models import AnalysisFrozen, FailureMode, RiskAnalysis, criticality
from garant.risks.referential import KIND, check, referential
from tests.test_governance_fixtures import make_committee, make_meeting
from tests.test_lifecycle_builders import make_project

pytestmark = pytest.mark.django_db

CODES = ["automation_bias", "data_drift"]


def scored(system, user, codes=CODES, scores=(4, 3, 2)) -> RiskAnalysis:
    """A draft from the referential, every row scored (S, O, D) and residual (S, O-1, D)."""
    with audit_context(user=user, source="test"):
        analysis = analyses.create(system, user, "1-5", codes)
        for row in FailureMode.objects.unrestricted().filter(analysis=analysis):
            row.severity, row.occurrence, row.detectability = scores
            row.residual_severity, row.residual_occurrence = scores[0], scores[1] - 1
            row.residual_detectability = scores[2]
            row.save()
    return analysis


# --- criticality and thresholds ------------------------------------------------------------


def test_criticality_is_the_product_and_the_zone_follows_the_referential_thresholds():
    assert criticality(4, 3, 2) == 24
    assert criticality(4, None, 2) is None
    scale = referential().scale("1-5")
    limits = scale.data["thresholds"]
    assert scale.zone(limits["acceptable"]) == "acceptable"
    assert scale.zone(limits["acceptable"] + 1) == "alarp"
    assert scale.zone(limits["alarp"]) == "alarp"
    assert scale.zone(limits["alarp"] + 1) == "unacceptable"
    assert scale.zone(None) is None
    assert referential().scale("1-10").values == list(range(1, 11))


def test_a_saved_row_stores_both_criticalities(world):
    analysis = scored(world["a"]["system"], world["users"]["a"]["referent"])
    row = analysis.failure_modes.first()
    assert (row.criticality, row.residual_criticality) == (24, 16)
    assert row.effective_residual == 16
    row.residual_occurrence = None
    row.save()
    assert row.residual_criticality is None and row.effective_residual == 24


# --- the referential's own checks ------------------------------------------------------------


def _broken(change) -> Referential:
    ref = load(KIND)
    data = copy.deepcopy(ref.data)
    change(data)
    return Referential(KIND, ref.version, Path("risk_failure_modes/2026.1.yaml"), data)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["failure_modes"].append(d["failure_modes"][0]), "duplicate codes"),
        (lambda d: d["scales"][0]["severity"].pop(), "severity: levels must cover"),
        (
            lambda d: d["scales"][0]["thresholds"].update(acceptable=60, alarp=40),
            "thresholds: expected acceptable < alarp",
        ),
        (lambda d: d.update(default_scale="1-4"), "default_scale: '1-4' is not a scale"),
        (lambda d: d.update(feeds_criterion="nowhere"), "not a criterion of the decision grid"),
    ],
)
def test_a_broken_referential_is_refused_with_the_file_and_the_item(change, message):
    with pytest.raises(ReferentialError, match=message) as error:
        check(_broken(change))
    assert "risk_failure_modes/2026.1.yaml" in str(error.value)


def test_the_shipped_referential_has_the_ai_failure_modes_each_with_a_source():
    ref = referential()
    assert {"data_drift", "automation_bias", "generative_hallucination", "cybersecurity"} <= set(
        ref.failure_modes
    )
    assert len(ref.failure_modes) == 12
    assert all(m["source"] for m in ref.failure_modes.values())


# --- versions --------------------------------------------------------------------------------


def test_a_frozen_version_never_changes_and_a_new_version_copies_it(world):
    system, user = world["a"]["system"], world["users"]["a"]["referent"]
    with audit_context(user=user, source="test"):
        draft = analyses.create(system, user, "1-5", CODES)
        with pytest.raises(analyses.FreezeRefused) as refused:
            analyses.freeze(draft, user)
        assert len(refused.value.problems) == 2
    analysis = RiskAnalysis.objects.unrestricted().get(pk=draft.pk)
    for row in analysis.failure_modes.all():
        row.severity, row.occurrence, row.detectability = 3, 3, 3
        row.save()
    with audit_context(user=user, source="test"):
        frozen = analyses.freeze(analysis, user)
        row = frozen.failure_modes.first()
        row.title = "changé"
        with pytest.raises(AnalysisFrozen):
            row.save()
        with pytest.raises(AnalysisFrozen):
            row.delete()
        with pytest.raises(AnalysisFrozen):
            FailureMode.objects.create(analysis=frozen, title="nouveau", cause="x")
        frozen.comment = "changé"
        with pytest.raises(AnalysisFrozen):
            frozen.save()
        second = analyses.new_version(system, user, "revue annuelle")
        with pytest.raises(analyses.DraftExists):
            analyses.new_version(system, user)
    assert (second.number, second.status) == (2, "draft")
    old = {r.lineage: r.criticality for r in analyses.rows(frozen)}
    assert {r.lineage: r.criticality for r in analyses.rows(second)} == old
    assert analyses.diff(frozen, second) == []
    copied = second.failure_modes.get(code="data_drift")
    copied.occurrence = 1
    copied.save()
    (change,) = analyses.diff(frozen, second)
    assert change["field"] == "failure_modes"
    assert "F 3" in change["removed"][0] and "F 1" in change["added"][0]
    assert analyses.current(system) == frozen  # the draft is not in force


def test_real_events_reestimate_the_occurrence_on_a_new_draft(world):
    system, user = world["a"]["system"], world["users"]["a"]["referent"]
    analysis = scored(system, user)
    with audit_context(user=user, source="test"):
        analyses.freeze(analysis, user)
        row = analysis.failure_modes.get(code="automation_bias")
        with pytest.raises(ValueError, match="hors de l'échelle"):
            analyses.reestimate_occurrence(row, 9, user, "trop")
        updated = analyses.reestimate_occurrence(row, 4, user, "3 événements en 6 mois")
    assert updated.analysis.number == 2 and not updated.analysis.is_frozen
    assert updated.lineage == row.lineage
    assert (updated.residual_occurrence, updated.residual_criticality) == (4, 32)
    assert updated.occurrence_basis == "3 événements en 6 mois"
    assert RiskAnalysis.objects.unrestricted().get(pk=analysis.pk).is_frozen
    with audit_context(user=user, source="test"):
        updated.delete()
        with pytest.raises(ValueError, match="retiré"):
            analyses.reestimate_occurrence(row, 3, user, "x")


# --- pages -----------------------------------------------------------------------------------


def test_the_referent_starts_scores_and_freezes_an_analysis_from_the_tab(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"]["referent"]
    client = client_for(user)
    tab = client.get(reverse("risks:system", args=[system.pk]))
    assert tab.status_code == 200 and reverse("risks:create", args=[system.pk]) in tab.text
    response = client.post(
        reverse("risks:create", args=[system.pk]), {"scale": "1-5", "codes": ["data_drift"]}
    )
    analysis = RiskAnalysis.objects.unrestricted().get(ai_system=system)
    assert response.status_code == 302 and analysis.failure_modes.count() == 1
    client.post(reverse("risks:freeze", args=[analysis.pk]))
    assert not RiskAnalysis.objects.unrestricted().get(pk=analysis.pk).is_frozen
    row = analysis.failure_modes.get()
    values = {
        "position": 1,
        "title": row.title,
        "cause": row.cause,
        "severity": 5,
        "occurrence": 4,
        "detectability": 3,
        "residual_severity": 5,
        "residual_occurrence": 1,
        "residual_detectability": 2,
        "review_date": "2027-01-31",
    }
    bad = client.post(reverse("risks:mode_edit", args=[row.pk]), {**values, "severity": 7})
    assert bad.status_code == 400
    client.post(reverse("risks:mode_edit", args=[row.pk]), values)
    client.post(
        reverse("risks:mode_add", args=[analysis.pk]),
        {"position": 2, "title": "Mode libre", "cause": "Cause libre"},
    )
    page = client.get(reverse("risks:analysis", args=[analysis.pk])).text
    assert "60" in page and "Inacceptable" in page and "Acceptable" in page  # 5×4×3, 5×1×2
    assert "à coter" in page and 'id="risk-matrix"' in page
    assert "Mode 2 « Mode libre »" in page  # why it cannot be frozen yet
    free = analysis.failure_modes.get(position=2)
    client.post(reverse("risks:mode_delete", args=[free.pk]))
    client.post(reverse("risks:freeze", args=[analysis.pk]))
    assert RiskAnalysis.objects.unrestricted().get(pk=analysis.pk).is_frozen
    frozen = client.post(reverse("risks:mode_edit", args=[row.pk]), values)
    assert frozen.status_code == 302  # back to the page, with a message: nothing saved
    client.post(reverse("risks:new_version", args=[system.pk]), {"comment": "revue"})
    assert RiskAnalysis.objects.unrestricted().filter(ai_system=system).count() == 2
    history = client.get(reverse("risks:system", args=[system.pk])).text
    assert "Version 2 (brouillon)" in history and "Version 1 (figée)" in history
    events = AuditEvent.objects.filter(object_type="risks.failuremode", actor_id=user.pk)
    assert {"create", "update", "delete"} <= set(events.values_list("action", flat=True))


def test_reading_roles_see_the_tab_but_may_not_write(world, client_for):
    system = world["a"]["system"]
    scored(system, world["users"]["a"]["referent"])
    auditor = client_for(world["users"]["a"]["auditor"])
    assert auditor.get(reverse("risks:system", args=[system.pk])).status_code == 200
    analysis = RiskAnalysis.objects.unrestricted().get(ai_system=system)
    assert auditor.post(reverse("risks:freeze", args=[analysis.pk])).status_code == 403
    assert auditor.get(reverse("risks:mode_add", args=[analysis.pk])).status_code == 403


def test_an_overdue_review_is_a_gap_on_the_home_page(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"]["referent"]
    analysis = scored(system, user)
    row = analysis.failure_modes.first()
    row.review_date = timezone.localdate() - dt.timedelta(days=3)
    row.save()
    home = client_for(user).get(reverse("home")).text
    assert 'id="risk-reviews-overdue"' in home and escape(row.title) in home
    other = client_for(world["users"]["b"]["referent"]).get(reverse("home")).text
    assert 'id="risk-reviews-overdue"' not in other


# --- API -------------------------------------------------------------------------------------


def test_the_api_lists_reads_and_adds_rows(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"]["referent"]
    analysis = scored(system, user)
    client = client_for(user)
    listed = client.get(f"/api/risks/systems/{system.pk}/analyses").json()
    assert listed[0]["highest_residual_criticality"] == 16
    read = client.get(f"/api/risks/analyses/{analysis.pk}").json()
    assert len(read["failure_modes"]) == 2
    url = f"/api/risks/analyses/{analysis.pk}/failure-modes"
    body = {"title": "Panne réseau", "cause": "Coupure", "severity": 2, "occurrence": 2}
    created = client.post(url, {**body, "detectability": 5}, content_type="application/json")
    assert created.status_code == 201
    assert (created.json()["criticality"], created.json()["position"]) == (20, 3)
    wrong = client.post(url, {**body, "detectability": 6}, content_type="application/json")
    assert wrong.status_code == 422 and "detectability" in json.dumps(wrong.json())
    with audit_context(user=user, source="test"):
        analyses.freeze(RiskAnalysis.objects.unrestricted().get(pk=analysis.pk), user)
    late = client.post(url, {**body, "detectability": 1}, content_type="application/json")
    assert late.status_code == 409
    auditor = client_for(world["users"]["a"]["auditor"])
    assert auditor.get(url).status_code == 200


# --- the decision grid, the dossier and mitigations -----------------------------------------


def test_the_highest_residual_criticality_is_evidence_for_the_safety_criterion(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"]["referent"]
    project = make_project(system, user)
    with audit_context(user=user, source="test"):
        from garant.lifecycle import assessments

        assessment = assessments.start(project, user)
    client = client_for(user)
    page = client.get(reverse("lifecycle:assessment_detail", args=[assessment.pk])).text
    assert "Aucune analyse de risques (AMDEC) figée" in page
    analysis = scored(system, user, scores=(5, 4, 3))
    with audit_context(user=user, source="test"):
        analyses.freeze(analysis, user)
    evidence = analyses.criterion_evidence(system)
    assert list(evidence) == [referential().feeds_criterion]
    page = client.get(reverse("lifecycle:assessment_detail", args=[assessment.pk])).text
    assert "Criticité résiduelle la plus élevée : 45 / 125" in page
    dossier = client.get(reverse("lifecycle:dossier", args=[project.pk])).text
    assert 'id="dossier-risks"' in dossier and "45 / 125" in dossier


def test_a_governance_action_mitigates_a_failure_mode_across_versions(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"]["referent"]
    analysis = scored(system, user)
    row = analysis.failure_modes.get(code="automation_bias")
    meeting = make_meeting(make_committee(world["a"]["est"]))
    form = ActionForm(
        {
            "title": "Relecture à l'aveugle",
            "failure_mode": row.pk,
            "owner_name": "Référent",
            "due_date": "2027-02-01",
            "status": "open",
        },
        meeting=meeting,
    )
    assert form.is_valid(), form.errors
    with audit_context(user=user, source="test"):
        form.save()
        analyses.freeze(analysis, user)
        analyses.new_version(system, user)
    page = client_for(user).get(reverse("risks:system", args=[system.pk])).text
    assert "Relecture à l&#x27;aveugle" in page  # shown on version 2's row too
    other = scored(world["b"]["system"], world["users"]["b"]["referent"])
    foreign = ActionForm(
        {
            "title": "x",
            "failure_mode": other.failure_modes.first().pk,
            "owner_name": "x",
            "due_date": "2027-02-01",
            "status": "open",
        },
        meeting=meeting,
    )
    assert not foreign.is_valid() and "failure_mode" in foreign.errors
