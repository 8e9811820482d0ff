"""The lifecycle in a real headless Chromium: a field professional submits an idea; a committee
member accepts it, writes the PoC charter with two indicators, records values, starts the PoC
and assesses the project on the medical grid; the author follows the idea's status.

With GARANT_SCREENSHOTS=1, the second test writes the screenshots of docs/lifecycle.md
(portfolio, a charter, an assessment) from the demo data."""

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from garant.core.models import Role, Service
from garant.lifecycle.models import Assessment, Idea, Project
from tests.conftest import make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def test_idea_to_charter_to_assessment(page, live_server, est_a):  # noqa: F811
    service = Service.objects.create(establishment=est_a, name="Urgences adultes")
    make_user("infirmier", est_a, Role.CONTRIBUTOR, first_name="Julien")
    make_user("comite", est_a, Role.COMMITTEE, first_name="Anne")

    login(page, live_server, "infirmier")
    page.goto(live_server.url + "/projets/idees/proposer/")
    page.get_by_label("Titre de l'idée").fill("Repérage du sepsis aux urgences")
    page.get_by_label("Besoin").fill("Le sepsis est reconnu trop tard la nuit.")
    page.get_by_label("Service").select_option(str(service.pk))
    page.get_by_label("Pour les patients", exact=True).check()
    page.get_by_role("button", name="Envoyer l'idée").click()
    page.get_by_text("Votre idée « Repérage du sepsis aux urgences » est transmise").wait_for()
    idea = Idea.objects.get()

    page.context.clear_cookies()
    login(page, live_server, "comite")
    page.goto(live_server.url + "/projets/idees/")
    page.get_by_role("link", name="Repérage du sepsis aux urgences").click()
    page.get_by_label("Type de solution").select_option("S2")
    page.get_by_label("Domaine").select_option("D1")
    page.get_by_label("Modalité de mise en œuvre").select_option("M1")
    page.get_by_role("button", name="Accepter").click()
    page.get_by_text("Idée acceptée : le projet est ouvert en instruction.").wait_for()
    project = Project.objects.get()

    page.get_by_role("link", name="Rédiger la charte").click()
    page.get_by_label("Cas d'usage précis").fill("Alerte sepsis pour l'IOA de nuit")
    page.get_by_label("Objectif opérationnel").fill("Antibiothérapie en moins d'une heure")
    page.get_by_label("Date de début").fill("2026-06-01")
    page.get_by_label("Date de fin").fill("2026-09-30")
    page.get_by_label("Utilisateurs impliqués et leur rôle").fill("Dr Martin — référent")
    page.get_by_role("button", name="Enregistrer la charte").click()
    page.get_by_text("Charte du PoC enregistrée.").wait_for()
    assert page.get_by_text("Aucun indicateur de succès mesurable").first.is_visible()

    for name, baseline, target, grid_indicator in (
        ("Délai d'antibiothérapie", "95", "60", "clinical_outcome"),
        ("Taux de faux négatifs", "12", "8", "error_rates"),
    ):
        page.get_by_role("link", name="Ajouter un indicateur").click()
        page.get_by_label("Nom de l'indicateur").fill(name)
        page.get_by_label("Valeur de référence").fill(baseline)
        page.get_by_label("Cible", exact=True).fill(target)
        page.get_by_label("Sens").select_option("lower")
        page.get_by_label("Méthode de mesure").fill("Extraction DPI")
        page.get_by_label("Indicateur obligatoire de la grille").select_option(grid_indicator)
        page.get_by_role("button", name="Enregistrer l'indicateur").click()
        page.get_by_text("Indicateur enregistré.").wait_for()

    page.get_by_label("Nouvelle phase").select_option("poc")
    page.get_by_role("textbox", name="Motif", exact=True).fill("Charte validée")
    page.get_by_role("button", name="Changer de phase").click()
    page.get_by_text("Le projet passe en phase « Expérimentation / PoC ».").wait_for()

    indicators = page.get_by_role("table", name="Indicateurs de succès")
    indicators.get_by_role("row").filter(has_text="Délai d'antibiothérapie").get_by_role(
        "link", name="Valeurs"
    ).click()
    for day, value in (("2026-07-01", "80"), ("2026-08-01", "62,5")):
        page.get_by_label("Valeur", exact=True).fill(value)
        page.get_by_label("Mesurée le").fill(day)
        page.get_by_role("button", name="Enregistrer la valeur").click()
        page.get_by_text("Valeur enregistrée.").wait_for()
    assert page.locator("svg.chart").count() == 1
    assert "01/08/2026" in page.get_by_role("table", name="Historique des valeurs").inner_text()

    page.goto(live_server.url + project.get_absolute_url())
    page.get_by_role("button", name="Nouvelle évaluation").click()
    for section in page.locator("section.criterion").all():
        section.get_by_label("Note").select_option("3")
        section.get_by_role("radio", name="non", exact=True).check()
    page.get_by_role("button", name="Enregistrer l'évaluation").click()
    page.get_by_text("Évaluation enregistrée ; recommandation recalculée.").wait_for()
    assert page.locator("#recommendation").inner_text() == "Pas encore"
    assert "Indicateur obligatoire sans valeur mesurée" in page.locator("#reasons").inner_text()
    page.get_by_role("link", name="Figer l'évaluation…").click()
    page.get_by_role("button", name="Confirmer : figer l'évaluation").click()
    page.get_by_text("Évaluation figée le").wait_for()
    assert Assessment.objects.get().is_frozen

    page.context.clear_cookies()
    login(page, live_server, "infirmier")
    assert page.get_by_text(
        "« Repérage du sepsis aux urgences » est acceptée pour instruction"
    ).is_visible()
    page.goto(live_server.url + idea.get_absolute_url())
    assert page.locator("#idea-status").inner_text() == "Acceptée pour instruction"


@pytest.mark.skipif(not os.environ.get("GARANT_SCREENSHOTS"), reason="GARANT_SCREENSHOTS unset")
def test_screenshots_for_the_docs(page, live_server, db):  # noqa: F811
    call_command("demo", "--password", "demo-garant-2026")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Nom d’utilisateur").fill("comite.valmont")
    page.get_by_label("Mot de passe").fill("demo-garant-2026")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(live_server.url + "/projets/")
    page.screenshot(path=DOCS_IMG / "lifecycle-portfolio.png", full_page=False)
    project = Project.objects.filter(establishment__code="valmont", phase="evaluation").first()
    page.goto(live_server.url + project.get_absolute_url())
    page.screenshot(path=DOCS_IMG / "lifecycle-charter.png", full_page=False)
    frozen = Assessment.objects.filter(
        project__establishment__code="valmont", status="frozen"
    ).first()
    page.goto(live_server.url + frozen.get_absolute_url())
    page.screenshot(path=DOCS_IMG / "lifecycle-assessment.png", full_page=False)
