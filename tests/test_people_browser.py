"""People in a real headless Chromium (issue 14's acceptance): an AI referent imports the
training records of the learning-management export (a real CSV file: checked and previewed,
stored only on confirmation), grants habilitations for the triage tool (refused to a nurse
without the training), sees the tool's coverage rise from 0 of 3 to 2 of 4, and the overseer
of the oversight plan whose habilitation lapsed is flagged on the « Plan de supervision » tab.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.oversight.models import OversightPlanVersion
from garant.people.models import Habilitation, Person, TrainingRecord
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)
from tests.test_people import HEADER, setup_people, train

pytestmark = pytest.mark.browser


def coverage_total(tab) -> list[str]:
    """The « Total » row of the coverage table: users, habilitated, share, expiring within
    30 and 90 days, lapsed."""
    return [c.strip() for c in tab.locator("#system-coverage tfoot td").all_inner_texts()]


def test_import_grant_coverage_rises_and_the_lapsed_overseer_is_flagged(
    page,  # noqa: F811
    live_server,
    world,
    tmp_path,
):
    module, people, referent = setup_people(world)  # three nurses of « Urgences A »
    system = world["a"]["system"]
    today = timezone.localdate()
    # Petit, named in the oversight plan, was habilitated on a training that has lapsed
    old = train(people["Petit"], module, today - dt.timedelta(days=500), referent)
    with audit_context(user=referent, source="test"):
        lapsed = Habilitation.objects.create(
            person=people["Petit"], ai_system=system, granted_on=today - dt.timedelta(days=400)
        )
        lapsed.trainings.set([old])
        OversightPlanVersion.objects.create(
            ai_system=system,
            number=1,
            points=[],
            override="Le médecin ignore la proposition et trie lui-même.",
            stop="Le référent désactive le module dans le DPI.",
            fallback="Tri manuel selon la grille FRENCH.",
            review_months=12,
            people=[
                {"who": "Alex Petit", "competence": "IDE d'accueil"},
                {"who": "Alex Martin", "competence": "IDE d'accueil"},
                {"who": "Médecin de garde", "competence": "urgentiste"},
            ],
        )
    system_url = live_server.url + reverse("people:system", args=[system.pk])

    # before: nobody habilitated among the 3 nurses, Petit lapsed
    login(page, live_server, referent.username)
    page.goto(system_url)
    page.get_by_role("heading", name="Couverture").wait_for()
    assert coverage_total(page) == ["3", "0", "0 %", "0", "0", "1"]

    # the learning-management export: Martin (known by RPPS) and a new nurse, Sam Nouveau
    done = (today - dt.timedelta(days=10)).strftime("%d/%m/%Y")
    export = tmp_path / "formations.csv"
    export.write_text(
        HEADER
        + f"chu-a;Martin;Alex;;;10000000001;triage-use;{done}\n"
        + f"chu-a;Nouveau;Sam;infirmier;Urgences A;;triage-use;{done}\n",
        encoding="utf-8",
    )
    page.goto(live_server.url + reverse("people:import"))
    page.get_by_label("Fichier CSV ou XLSX").set_input_files(str(export))
    page.get_by_role("button", name="Vérifier le fichier").click()
    result = page.locator("#import-result")
    result.wait_for()
    assert "Le fichier « formations.csv » est valide : 2 formations seront enregistrées." in (
        result.inner_text()
    )
    assert "1 personne sera ajoutée au registre." in result.inner_text()
    preview = page.locator("#import-preview tbody").inner_text()
    assert "Alex Martin" in preview and "Sam Nouveau (sera créée)" in preview
    # the preview stores nothing
    assert not Person.objects.unrestricted().filter(last_name="Nouveau").exists()
    assert TrainingRecord.objects.unrestricted().count() == 1
    page.get_by_role("button", name="Confirmer l'import").click()
    page.wait_for_url(re.compile(r".*/personnes/$"))
    page.get_by_text("2 formations importées depuis « formations.csv ».").wait_for()
    sam = Person.objects.unrestricted().get(last_name="Nouveau")
    assert sam.trainings.get().completed_on == today - dt.timedelta(days=10)
    assert people["Martin"].trainings.count() == 1

    # the new nurse counts as a user; the trainings alone habilitate nobody
    page.goto(system_url)
    page.get_by_role("heading", name="Couverture").wait_for()
    assert coverage_total(page) == ["4", "0", "0 %", "0", "0", "1"]

    # Durand has no training: refused, with the reason
    grant_form = page.locator("#grant-form")
    grant_form.get_by_label("Personne").select_option(label="Alex Durand")
    grant_form.get_by_role("button", name="Habiliter").click()
    page.get_by_text("Formation manquante ou expirée : Utiliser le triage.").wait_for()
    assert not Habilitation.objects.unrestricted().filter(person=people["Durand"]).exists()

    for name in ("Alex Martin", "Sam Nouveau"):
        page.goto(system_url)
        grant_form.get_by_label("Personne").select_option(label=name)
        grant_form.get_by_role("button", name="Habiliter").click()
        page.get_by_text(f"Habilitation accordée à {name}.").wait_for()

    # after: 2 of the 4 nurses habilitated; Petit still lapsed
    assert coverage_total(page) == ["4", "2", "50 %", "0", "0", "1"]
    holders = page.locator("#habilitations tbody").inner_text()
    assert "Alex Martin" in holders and "Sam Nouveau" in holders

    # the plan tab flags Petit, and only Petit: Martin is habilitated now, the on-call
    # physician names no person of the register
    page.get_by_role("navigation", name="Rubriques du système").get_by_role(
        "link", name="Plan de supervision"
    ).click()
    overseers = page.locator("#plan-people")
    overseers.wait_for()
    flags = overseers.locator(".overseer-flag")
    assert flags.count() == 1
    since = (old.expires_on + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    petit = overseers.locator("li", has_text="Alex Petit")
    assert petit.locator(".overseer-flag").inner_text() == f"habilitation expirée depuis le {since}"
    assert overseers.locator("li", has_text="Alex Martin").locator(".overseer-flag").count() == 0
