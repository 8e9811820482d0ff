"""Suspension in a real headless Chromium: from a monitoring alert of the demo's sepsis feed,
a field professional proposes the suspension; an AI referent suspends with a reason; the
system's page says « Suspendu » and the status endpoint says suspended; the resumption is
refused without a decision, then recorded on a signed committee decision referencing it."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.demo.monitoring import DRIFTING, load_demo_feed
from garant.monitoring.models import Alert
from garant.oversight.models import Suspension
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)
from tests.test_governance_fixtures import make_committee, make_decision, make_meeting
from tests.test_lifecycle_builders import frozen_assessment, make_project

pytestmark = pytest.mark.browser

REASON = "Faux négatifs en série la nuit : suspension le temps de l'analyse."


def test_suspend_from_an_alert_then_resume_on_a_signed_decision(
    page,  # noqa: F811
    live_server,
    est_a,
):
    make_user("terrain.ide", est_a, Role.CONTRIBUTOR, first_name="Inès")
    referent = make_user("referent.ia", est_a, Role.REFERENT, first_name="Rémi")
    signer = make_user("comite.ia", est_a, Role.COMMITTEE)
    with audit_context(source="test"):
        system = make_system(est_a, name=DRIFTING.system)
        feed = load_demo_feed(DRIFTING, system, timezone.localdate(), days=70, per_day=40)
    project = make_project(system, referent)
    frozen_assessment(project, referent)
    alert = Alert.objects.filter(feed=feed, state="open").first()
    assert alert is not None

    # a field professional proposes the suspension from the alert's page
    login(page, live_server, "terrain.ide")
    page.goto(f"{live_server.url}{alert.get_absolute_url()}")
    panel = page.get_by_role("region", name="Suspension du système")
    panel.get_by_label("Cause de la proposition").fill("Sensibilité en chute sur le flux sepsis")
    panel.get_by_role("button", name="Proposer la suspension").click()
    page.wait_for_url(re.compile(r".*/supervision/suspensions/\d+/$"))
    assert page.get_by_text("Suspension proposée : une personne habilitée").is_visible()
    suspension = Suspension.objects.unrestricted().get(alert=alert)
    assert suspension.state == "proposed"
    # ... who may not confirm it
    assert page.get_by_role("button", name="Suspendre maintenant").count() == 0

    # an AI referent suspends, with a reason
    page.context.clear_cookies()
    login(page, live_server, "referent.ia")
    page.goto(f"{live_server.url}{suspension.get_absolute_url()}")
    page.get_by_label("Motif de la suspension").fill(REASON)
    page.get_by_role("button", name="Suspendre maintenant").click()
    assert page.get_by_text("Système suspendu : le logiciel clinique en est informé.").is_visible()

    # the system's page says so prominently; the status endpoint too
    page.goto(live_server.url + reverse("registry:system_detail", args=[system.pk]))
    banner = page.locator("#suspendu")
    assert banner.is_visible()
    assert "Suspendu" in banner.inner_text() and REASON in banner.inner_text()
    status = page.request.get(f"{live_server.url}/api/systems/{system.pk}/status").json()
    assert status["status"] == "suspended" and status["reason"] == REASON

    # no resumption without a signed decision referencing the suspension
    page.goto(f"{live_server.url}{suspension.get_absolute_url()}")
    page.get_by_role("button", name="Reprendre l'utilisation").click()
    assert page.get_by_text("La reprise exige une décision signée du comité").first.is_visible()
    suspension.refresh_from_db()
    assert suspension.state == "suspended"

    # the committee signs a decision referencing it: the resumption is recorded
    committee = make_committee(est_a)
    decision = make_decision(
        make_meeting(committee), project, sign_by=signer, suspension=suspension
    )
    page.reload()
    page.get_by_label("Décision signée du comité").select_option(str(decision.pk))
    page.get_by_role("button", name="Reprendre l'utilisation").click()
    assert page.get_by_text("Reprise enregistrée : le système est de nouveau actif.").is_visible()
    status = page.request.get(f"{live_server.url}/api/systems/{system.pk}/status").json()
    assert status["status"] == "active"
    page.goto(live_server.url + reverse("registry:system_detail", args=[system.pk]))
    assert page.locator("#suspendu").count() == 0
