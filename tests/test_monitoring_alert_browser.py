"""An alert leads to action, in a real headless Chromium: a committee member opens the alert
raised by the demo's lactate drift, reads it in plain French, opens the dashboard at the
alert's window, acknowledges it with a comment, opens an action (owner, due date), puts it
on the next committee meeting's agenda and finds it there."""

import datetime as dt

import pytest
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.demo.monitoring import DRIFTING, load_demo_feed
from garant.governance.models import Action, AgendaItem, Committee, Meeting
from garant.monitoring.models import Alert
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser

COMMENT = "Nouveau protocole de dosage du lactate depuis un mois : vérification en cours."


def test_an_alert_leads_to_an_action_and_to_the_agenda(page, live_server, est_a):  # noqa: F811
    member = make_user("comite.ia", est_a, Role.COMMITTEE, first_name="Anne", last_name="Lefort")
    today = timezone.localdate()
    with audit_context(source="test"):
        system = make_system(est_a, name=DRIFTING.system)
        feed = load_demo_feed(DRIFTING, system, today, days=70, per_day=40)
        committee = Committee.objects.create(establishment=est_a, name="Copil IA")
        later = Meeting.objects.create(
            committee=committee, starts_at=timezone.now() + dt.timedelta(days=40)
        )
        nearest = Meeting.objects.create(
            committee=committee, starts_at=timezone.now() + dt.timedelta(days=10)
        )
    alert = Alert.objects.get(feed=feed, rule__kind="feature_psi_above", state="open")

    # the feed's page lists the alert; its page speaks plain French
    login(page, live_server, "comite.ia")
    page.goto(live_server.url + feed.get_absolute_url())
    current = page.get_by_role("table", name="Alertes en cours")
    row = current.locator("tbody tr").filter(has_text="PSI de « lactate »")
    row.get_by_role("link", name="dérive d'une variable (PSI) au-dessus d'un seuil").click()
    page.wait_for_url(f"**{alert.get_absolute_url()}")
    text = page.get_by_role("region", name="Ce qui se passe").inner_text()
    assert "Une variable d'entrée du modèle ne se répartit plus" in text
    assert "Moyenne de « lactate » passée de" in text
    window = f"du {alert.window_start:%d/%m/%Y} au {alert.window_end:%d/%m/%Y}"
    assert window in text
    assert "Ce que cela peut signifier pour les patients" in text and "Que faire" in text
    detail = page.get_by_text("Détail statistique")
    assert not page.get_by_text(alert.message, exact=True).is_visible()  # one click away
    detail.click()
    assert page.get_by_text(alert.message, exact=True).is_visible()

    # the dashboard opens at the alert's window and reference, and says so
    page.get_by_role("link", name="Ouvrir le tableau de bord sur la période de l'alerte").click()
    status = page.locator("#periode-alerte")
    status.wait_for()
    said = status.inner_text()
    assert "Période de l'alerte" in said and f"fenêtre {window}" in said
    assert f"référence du {alert.reference_start:%d/%m/%Y}" in said
    assert page.locator("#id_du").input_value() == alert.window_start.isoformat()
    assert page.locator("#id_au").input_value() == alert.window_end.isoformat()
    page.get_by_role("link", name="Retour à l'alerte").click()

    # acknowledged with a comment: still in progress
    page.get_by_label("Commentaire").fill(COMMENT)
    page.get_by_role("button", name="Prendre en compte").click()
    page.get_by_text("Alerte prise en compte.").wait_for()
    assert page.get_by_text("prise en compte, toujours en cours").is_visible()
    assert COMMENT in page.get_by_role("region", name="Suivi de l'alerte").inner_text()

    # an action with an owner and a due date, followed at the nearest meeting
    due = today + dt.timedelta(days=21)
    form = page.locator("form").filter(has=page.get_by_role("heading", name="Ouvrir une action"))
    assert form.get_by_label("Suivie en séance").input_value() == str(nearest.pk)
    form.get_by_label("Action", exact=True).fill(
        "Vérifier le dosage du lactate avec le laboratoire"
    )
    form.get_by_label("Porteur (utilisateur)").select_option(str(member.pk))
    form.get_by_label("Échéance").fill(due.isoformat())
    form.get_by_role("button", name="Ouvrir l'action").click()
    page.get_by_text(
        "Action « Vérifier le dosage du lactate avec le laboratoire » ouverte"
    ).wait_for()
    actions = page.get_by_role("table", name="Actions ouvertes sur cette alerte")
    assert (
        "Anne Lefort" in actions.inner_text() and due.strftime("%d/%m/%Y") in actions.inner_text()
    )

    # on the next committee meeting's agenda
    agenda = page.locator("form").filter(
        has=page.get_by_role("heading", name="Inscrire à l'ordre du jour du comité")
    )
    assert agenda.get_by_label("Séance").input_value() == str(nearest.pk)
    agenda.get_by_role("button", name="Inscrire à l'ordre du jour").click()
    page.get_by_text("Alerte inscrite à l'ordre du jour").wait_for()
    page.get_by_role("region", name="Actions et comité").get_by_role(
        "link", name=str(nearest)
    ).first.click()
    page.wait_for_url(f"**{nearest.get_absolute_url()}")
    items = page.get_by_role("table", name="Ordre du jour")
    item = items.locator("tbody tr").filter(has_text="Alerte de suivi")
    assert "alerte de suivi" in item.inner_text()
    item.get_by_role("link").first.click()
    page.wait_for_url(f"**{alert.get_absolute_url()}")

    action = Action.objects.get()
    assert (action.alert, action.owner, action.due_date, action.meeting) == (
        alert,
        member,
        due,
        nearest,
    )
    assert AgendaItem.objects.get().alert == alert and later.agenda.count() == 0
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.comment == COMMENT
