"""The collège de garantie humaine in a real headless Chromium: a committee member draws a
review campaign from the collège's page, two members record their findings on every case,
the agreement and the quorum show, and a finding becomes an action followed at a meeting."""

import datetime as dt

import pytest
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.governance.models import (
    Action,
    CaseReview,
    Committee,
    CommitteeMember,
    Meeting,
    ReviewCampaign,
)
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)
from tests.test_college import send_events

pytestmark = pytest.mark.browser


def review_every_case(tab, campaign, ai: str, human: str, reason: str):
    for case in campaign.cases.order_by("position"):
        form = tab.get_by_role("form", name=f"Mon avis sur le cas {case.position}")
        form.get_by_label("Sortie de l'IA appropriée").select_option(label=ai)
        form.get_by_label("Décision humaine appropriée").select_option(label=human)
        form.get_by_label("Motif").select_option(label=reason)
        form.get_by_role("button", name="Enregistrer mon avis").click()
        tab.get_by_text(f"Avis enregistré sur le cas {case.event_id}.").wait_for()


def college_with_meeting(est, physician, nurse) -> tuple[Committee, Meeting]:
    """A collège of quorum 2 (`physician` chairs it, `nurse` sits) with a meeting in 14 days."""
    with audit_context(source="test"):
        committee = Committee.objects.create(
            establishment=est,
            name="Collège de garantie humaine",
            kind=Committee.Kind.COLLEGE,
            quorum=2,
        )
        CommitteeMember.objects.create(
            committee=committee, user=physician, role=CommitteeMember.Role.PHYSICIAN, chair=True
        )
        CommitteeMember.objects.create(
            committee=committee, user=nurse, role=CommitteeMember.Role.NURSE
        )
        meeting = Meeting.objects.create(
            committee=committee, starts_at=timezone.now() + dt.timedelta(days=14)
        )
    return committee, meeting


def test_two_reviewers_review_a_drawn_sample_and_a_finding_becomes_an_action(
    page,  # noqa: F811
    live_server,
    est_a,
):
    physician = make_user("dr.martin", est_a, Role.COMMITTEE, first_name="Paul")
    nurse = make_user("ide.durand", est_a, Role.CONTRIBUTOR, first_name="Inès")
    with audit_context(source="test"):
        system = make_system(est_a, name="Sepsis Watch")
    committee, meeting = college_with_meeting(est_a, physician, nurse)
    send_events(est_a, system, 3)  # one accepted, one overridden, one modified: 3 strata

    # the committee member draws a campaign from the collège's page
    login(page, live_server, "dr.martin")
    page.goto(live_server.url + committee.get_absolute_url())
    page.get_by_role("link", name="Tirer une campagne de revue").click()
    page.get_by_label("Intitulé").fill("Revue de janvier")
    page.get_by_label("Début de la période").fill("2026-01-01")
    page.get_by_label("Fin de la période (incluse)").fill("2026-01-31")
    page.get_by_label("Cas par strate").fill("1")
    page.get_by_label("Graine").fill("2026")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Campagne « Revue de janvier » tirée : 3 cas.").wait_for()
    campaign = ReviewCampaign.objects.unrestricted().get()
    assert campaign.seed == 2026
    assert page.locator("#campaign-seed").inner_text() == "2026"
    # pseudonymous references only
    assert page.get_by_role("heading", name="Cas 1 — référence e-0000").is_visible()
    page.get_by_role("button", name="Refaire le tirage pour le vérifier").click()
    page.get_by_text("Tirage vérifié").wait_for()

    # two reviewers record their findings
    review_every_case(
        page, campaign, "oui", "non", "Suivi sans examen critique (biais d'automatisation)"
    )
    assert "Quorum non atteint : 1 relecteur(s)" in page.locator("#quorum-status").inner_text()
    page.context.clear_cookies()
    login(page, live_server, "ide.durand")
    page.goto(live_server.url + campaign.get_absolute_url())
    review_every_case(page, campaign, "oui", "non", "Sortie écartée sans justification")
    assert CaseReview.objects.unrestricted().count() == 6
    assert "Quorum atteint" in page.locator("#quorum-status").inner_text()
    agreement = page.get_by_role("table", name="Accord entre relecteurs").inner_text()
    assert "kappa de Cohen (2 relecteurs)" in agreement
    assert not page.get_by_text("En faire une action").count()  # the nurse does not govern

    # the committee member turns a finding into an action followed at the next meeting
    page.context.clear_cookies()
    login(page, live_server, "dr.martin")
    page.goto(live_server.url + campaign.get_absolute_url())
    case = page.locator("section").filter(
        has=page.get_by_role("heading", name="Cas 1 — référence e-0000")
    )
    case.get_by_role("link", name="En faire une action (cas 1)").click()
    assert "Suivi sans examen critique" in page.get_by_role("table").inner_text()
    form = page.locator("form").filter(has=page.get_by_role("button", name="Enregistrer"))
    assert form.get_by_label("Suivie en séance").input_value() == str(meeting.pk)
    form.get_by_label("Action", exact=True).fill("Rappeler la relecture critique des alertes")
    form.get_by_label("Porteur (nom)").fill("Cadre de santé des urgences")
    form.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Action « Rappeler la relecture critique des alertes » ouverte").wait_for()
    action = Action.objects.unrestricted().get()
    assert action.meeting == meeting and action.owner_name == "Cadre de santé des urgences"
    assert campaign.cases.get(position=1).action == action
    assert "Rappeler la relecture critique" in page.locator(".case-action").inner_text()
