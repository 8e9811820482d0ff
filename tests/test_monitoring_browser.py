"""Monitoring end to end in a real headless Chromium: a system whose prediction feed drifts
shows its alerts on its Suivi tab, and a committee member (who may change the system and
read the audit trail) acknowledges one with a comment; an auditor asks the feed's dashboard
for another decision threshold.

The feed is the demo's drifting sepsis feed, made smaller (70 days, ~40 predictions a day)
and ingested through the real path; its rules are evaluated when the ingestion commits.
"""

import re

import pytest
from django.utils import timezone

from garant.core.audit import audit_context, verify
from garant.core.models import AuditEvent, Role
from garant.demo.monitoring import DRIFTING, load_demo_feed
from garant.monitoring.models import Alert, Feed
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser

COMMENT = "Dérive connue : nouveau protocole de dosage du lactate depuis un mois ; revue en comité."


def test_see_the_drift_alert_on_the_system_and_acknowledge_it(page, live_server, est_a):  # noqa: F811
    member = make_user("comite.ia", est_a, Role.COMMITTEE, first_name="Anne", last_name="Lefort")
    today = timezone.localdate()
    with audit_context(source="test"):
        system = make_system(est_a, name=DRIFTING.system)
        feed = load_demo_feed(DRIFTING, system, today, days=70, per_day=40)
    opened = set(Alert.objects.filter(feed=feed, state="open").values_list("rule__kind", flat=True))
    assert opened == {  # evaluated on commit
        "psi_above",
        "subgroup_ratio_outside",
        "feature_psi_above",
        "oe_ratio_outside",
    }

    login(page, live_server, "comite.ia")
    page.goto(live_server.url + system.get_absolute_url())
    tabs = page.get_by_role("navigation", name="Rubriques du système")
    tabs.get_by_role("link", name="Suivi").click()
    page.get_by_role("heading", name="Alertes ouvertes").wait_for()
    item = page.get_by_role("listitem").filter(has_text=feed.name)
    assert "4 alertes ouvertes" in item.inner_text()

    item.get_by_role("link", name=feed.name).click()
    page.wait_for_url(f"**{feed.get_absolute_url()}#alertes")
    current = page.get_by_role("table", name="Alertes en cours")
    row = current.locator("tbody tr").filter(has_text="PSI du score")
    assert "au-dessus de 0,200" in row.inner_text()
    assert row.get_by_text("ouverte", exact=True).is_visible()
    row.get_by_label("Commentaire").fill(COMMENT)
    row.get_by_role("button", name="Prendre en compte").click()
    page.get_by_text("Alerte prise en compte.").wait_for()

    # the page now shows the alert acknowledged, by whom, when, with the comment
    row = current.locator("tbody tr").filter(has_text="PSI du score")
    text = row.inner_text()
    assert re.search(r"prise en compte — Anne Lefort, \d\d/\d\d/\d{4} \d\d:\d\d : ", text), text
    assert COMMENT in text and today.strftime("%d/%m/%Y") in text
    assert row.get_by_role("button", name="Prendre en compte").count() == 0
    other = current.locator("tbody tr").filter(has_text="sensibilité du sous-groupe")
    assert other.get_by_role("button", name="Prendre en compte").count() == 1  # still open

    alert = Alert.objects.get(feed=feed, rule__kind="psi_above")
    assert alert.state == "acknowledged" and alert.acknowledged_by == member
    assert alert.comment == COMMENT

    # the audit trail holds the acknowledgement, by the member, and the chain is intact
    event = AuditEvent.objects.filter(
        object_type="monitoring.alert", object_id=str(alert.pk), action="update"
    ).get()
    assert event.actor_id == member.pk and event.actor_name == "comite.ia"
    assert event.changes["state"] == ["open", "acknowledged"]
    assert event.changes["comment"] == ["", COMMENT]
    assert verify().ok
    page.goto(f"{live_server.url}/audit/?object_type=monitoring.alert")
    latest = page.locator("table.data tbody tr").first
    assert "comite.ia" in latest.inner_text() and "modification" in latest.inner_text()
    assert COMMENT in latest.inner_text()

    # back on the Suivi tab, three alerts are still open
    page.goto(live_server.url + system.get_absolute_url())
    tabs.get_by_role("link", name="Suivi").click()
    item = page.get_by_role("listitem").filter(has_text=feed.name)
    item.get_by_text("3 alertes ouvertes").wait_for()


def test_ask_the_dashboard_for_another_threshold(page, live_server, est_a):  # noqa: F811
    make_user("auditeur", est_a, Role.AUDITOR)
    today = timezone.localdate()
    with audit_context(source="test"):
        system = make_system(est_a, name=DRIFTING.system)
        feed = load_demo_feed(DRIFTING, system, today, days=70, per_day=40)
    login(page, live_server, "auditeur")
    page.goto(live_server.url + feed.get_absolute_url())
    page.get_by_role("link", name="Tableau de bord").click()
    performance = page.get_by_role("table", name="Performance globale")

    def sensitivity() -> str:
        return performance.locator("tr").filter(has_text="Sensibilité").first.inner_text()

    at_operating = sensitivity()
    assert page.get_by_text("seuil demandé pour ce rapport").count() == 0
    field = page.get_by_label("Seuil pour ce rapport")
    field.fill("0,9")
    page.get_by_role("button", name="Afficher").click()
    page.get_by_text("seuil demandé pour ce rapport").wait_for()
    assert "seuil=0%2C9" in page.url
    assert sensitivity() != at_operating  # far fewer flagged at 0.9
    stored = Feed.objects.get(pk=feed.pk)
    assert stored.operating_threshold == feed.operating_threshold  # nothing stored

    field = page.get_by_label("Seuil pour ce rapport")
    field.fill("2")
    page.get_by_role("button", name="Afficher").click()
    page.locator(".errorlist").first.wait_for()
    assert page.get_by_role("table", name="Performance globale").count() == 0
