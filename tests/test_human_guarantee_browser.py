"""The human guarantee end to end in a real headless Chromium (issue 12, acceptance): on a
high-risk system in routine whose emergency department overrides the AI more and more, a
committee member reads the rising override rate on the « Supervision humaine » tab, draws a
collège review campaign, two reviewers (each in their own browser) record their findings, a
finding becomes an action and the cause of a suspension proposal, the system is suspended
(the status endpoint says so), its resumption is refused without a signed decision, then a
committee decision referencing the suspension is signed and the system resumed."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.models import Role
from garant.governance.models import (
    Action,
    CaseReview,
    CommitteeMember,
    Outcome,
    ReviewCampaign,
)
from garant.lifecycle.models import Project
from garant.oversight import ingest
from garant.oversight.models import OversightAlert, OversightRule, Suspension
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)
from tests.test_college_browser import college_with_meeting, review_every_case
from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE
from tests.test_governance_fixtures import make_committee, make_decision, make_meeting
from tests.test_lifecycle_builders import frozen_assessment, make_project

pytestmark = pytest.mark.browser

REASON = "Écarts en hausse aux urgences : suspension le temps de l'analyse du collège."


def _events(system, today: dt.date) -> list[dict]:
    """In each 30-day window, 20 outputs of the emergency department, which overrides 2 of
    them before (10 %) and 8 in the last 30 days (40 %), and 60 of cardiology, 6 overridden in
    each (10 %): the whole system goes from 10 % to 17,5 %, below the rule's doubling."""
    rows = []
    windows = {"before": today - dt.timedelta(days=45), "recent": today - dt.timedelta(days=10)}
    counts = {"Urgences": 20, "Cardiologie": 60}
    overridden = {("Urgences", "before"): 2, ("Urgences", "recent"): 8}
    for service, n in counts.items():
        for window, day in windows.items():
            for i in range(n):
                outcome = "overridden" if i < overridden.get((service, window), 6) else "accepted"
                rows.append(
                    {
                        "system": system.pk,
                        "event_id": f"{service[:3].lower()}-{window}-{i:02d}",
                        "time": f"{day.isoformat()}T{8 + i % 10:02d}:00:00+01:00",
                        "outcome": outcome,
                        "reason": "false_positive" if outcome == "overridden" else None,
                        "role": "medecin",
                        "service": service,
                    }
                )
    return rows


def _override_rate(tab, service: str) -> str:
    table = tab.get_by_role("table", name="Par service")
    row = table.get_by_role("row").filter(has=tab.get_by_role("rowheader", name=service))
    # cells: events, shown, accepted, modified, overridden…; French spacing before "%"
    return row.get_by_role("cell").nth(4).inner_text().replace("\u202f", " ")


def test_rising_override_rate_to_review_suspension_and_resumption(
    page,  # noqa: F811
    chromium,  # noqa: F811
    live_server,
    est_a,
):
    member = make_user("dr.martin", est_a, Role.COMMITTEE, first_name="Paul")
    nurse = make_user("ide.durand", est_a, Role.CONTRIBUTOR, first_name="Inès")
    today = timezone.localdate()
    with audit_context(source="test"):
        system = make_system(est_a, name="Sepsis Watch", phase="routine")
        qualify(system, {**BASE, **TRIAGE, **HEALTH_CARE}, member)  # a high-risk use
        OversightRule.objects.create(
            ai_system=system, kind="override_rate_doubling", threshold=2, min_events=10
        )
        # the clinical software's feedback, through the ingestion path (rules evaluated)
        ingest.ingest(est_a, ingest.read_records(_events(system, today)), "api")
    college, meeting = college_with_meeting(est_a, member, nurse)
    project = make_project(system, member)
    Project.objects.filter(pk=project.pk).update(phase="routine")
    frozen_assessment(project, member)
    assert system.obligations.exists()  # qualified: the AI Act obligations apply
    alert = OversightAlert.objects.unrestricted().get(ai_system=system)
    assert alert.service == "Urgences"

    # 1. a committee member reads the rising override rate of the emergency department
    login(page, live_server, "dr.martin")
    tab = live_server.url + reverse("oversight:system", args=[system.pk])
    before = today - dt.timedelta(days=59)
    page.goto(f"{tab}?du={before:%d/%m/%Y}&au={today - dt.timedelta(days=31):%d/%m/%Y}&par=month")
    assert _override_rate(page, "Urgences") == "10,0 %"
    assert _override_rate(page, "Cardiologie") == "10,0 %"
    recent = today - dt.timedelta(days=30)
    page.goto(f"{tab}?du={recent:%d/%m/%Y}&au={today:%d/%m/%Y}&par=month")
    assert _override_rate(page, "Urgences") == "40,0 %"
    assert _override_rate(page, "Cardiologie") == "10,0 %"
    alerts = page.locator("#alertes").inner_text()
    assert "Taux d'écart (service Urgences) : 40,0 % sur les 30 derniers jours" in alerts

    # 2. ... and draws a collège review campaign on a sample of the last 30 days
    page.goto(live_server.url + college.get_absolute_url())
    page.get_by_role("link", name="Tirer une campagne de revue").click()
    page.get_by_label("Intitulé").fill("Revue des écarts aux urgences")
    page.get_by_label("Début de la période").fill(recent.isoformat())
    page.get_by_label("Fin de la période (incluse)").fill(today.isoformat())
    page.get_by_label("Cas par strate").fill("1")
    page.get_by_label("Graine").fill("2026")
    page.get_by_role("button", name="Enregistrer").click()
    # accepted × overridden, in two services: 4 strata, one case each
    page.get_by_text("Campagne « Revue des écarts aux urgences » tirée : 4 cas.").wait_for()
    campaign = ReviewCampaign.objects.unrestricted().get()
    assert campaign.seed == 2026
    finding = campaign.cases.get(position=4)
    assert (finding.outcome, finding.service) == ("overridden", "Urgences")

    # 3. two reviewers, each in their own browser, record their findings
    review_every_case(page, campaign, "non", "oui", "Sortie de l'IA erronée")
    other = chromium.new_context(locale="fr-FR")
    try:
        nurse_tab = other.new_page()
        nurse_tab.set_default_timeout(15_000)
        login(nurse_tab, live_server, "ide.durand")
        nurse_tab.goto(live_server.url + campaign.get_absolute_url())
        review_every_case(nurse_tab, campaign, "non", "oui", "Sortie de l'IA erronée")
    finally:
        other.close()
    assert CaseReview.objects.unrestricted().count() == 8  # 4 cases × 2 reviewers
    page.reload()
    assert "Quorum atteint" in page.locator("#quorum-status").inner_text()

    # 4. the finding becomes an action followed at the collège's next meeting
    case = page.locator(f"#cas-{finding.pk}")
    case.get_by_role("link", name="En faire une action (cas 4)").click()
    form = page.locator("form").filter(has=page.get_by_role("button", name="Enregistrer"))
    form.get_by_label("Action", exact=True).fill("Revoir le seuil d'alerte avec les urgentistes")
    form.get_by_label("Porteur (nom)").fill("Chef de service des urgences")
    form.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Action « Revoir le seuil d'alerte avec les urgentistes » ouverte").wait_for()
    action = Action.objects.unrestricted().get()
    assert action.meeting == meeting and campaign.cases.get(position=4).action == action

    # 5. ... and the cause of a suspension proposal, confirmed at once by the member
    proposal = page.get_by_role("form", name="Proposer la suspension du système sur le cas 4")
    assert "cas urg-recent-" in proposal.get_by_label("Cause de la proposition").input_value()
    proposal.get_by_role("button", name="Proposer la suspension du système").click()
    page.wait_for_url(re.compile(r".*/supervision/suspensions/\d+/$"))
    suspension = Suspension.objects.unrestricted().get()
    cause = f"revue « Revue des écarts aux urgences », cas 4 (référence {finding.event_id})"
    assert page.get_by_role("link", name=cause).is_visible()  # the page links the finding
    assert (
        suspension.state == "proposed" and campaign.cases.get(position=4).suspension == suspension
    )
    page.get_by_label("Motif de la suspension").fill(REASON)
    page.get_by_role("button", name="Suspendre maintenant").click()
    assert page.get_by_text("Système suspendu : le logiciel clinique en est informé.").is_visible()
    status_url = f"{live_server.url}/api/systems/{system.pk}/status"
    status = page.request.get(status_url).json()
    assert status["status"] == "suspended" and status["reason"] == REASON

    # 6. no resumption without a signed committee decision referencing the suspension
    page.get_by_role("button", name="Reprendre l'utilisation").click()
    assert page.get_by_text("La reprise exige une décision signée du comité").first.is_visible()
    assert page.request.get(status_url).json()["status"] == "suspended"

    # 7. the committee's decision referencing it (taken yesterday) is signed, the use resumes
    suspension.refresh_from_db()
    copil = make_committee(est_a, members=3)
    with audit_context(source="test"):
        CommitteeMember.objects.create(committee=copil, user=member, role="cme")
    decision = make_decision(
        make_meeting(copil),
        project,
        outcome=Outcome.GENERALISE,
        conditions="",
        suspension=suspension,
        rationale="Seuil revu avec les urgentistes : reprise de l'utilisation.",
    )
    page.goto(live_server.url + reverse("governance:decision_sign", args=[decision.pk]))
    page.get_by_role("button", name="Confirmer : signer la décision").click()
    page.get_by_text("Décision signée : elle ne peut plus être modifiée.").wait_for()
    page.goto(live_server.url + suspension.get_absolute_url())
    page.get_by_label("Décision signée du comité").select_option(str(decision.pk))
    page.get_by_role("button", name="Reprendre l'utilisation").click()
    assert page.get_by_text("Reprise enregistrée : le système est de nouveau actif.").is_visible()
    assert page.request.get(status_url).json()["status"] == "active"
    suspension.refresh_from_db()
    assert suspension.state == "resumed" and suspension.resumption_decision_id == decision.pk
