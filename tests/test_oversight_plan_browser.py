"""The oversight plan in a real headless Chromium: a referent writes the plan of a system,
changes it, and reads what changed between the two versions."""

import pytest

from garant.core.audit import audit_context
from garant.core.models import Role
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser


def test_write_then_change_a_plan_and_read_the_diff(page, live_server, est_a):  # noqa: F811
    make_user("ref.plan", est_a, Role.REFERENT)
    with audit_context(source="test"):
        system = make_system(est_a, name="Aide au tri des urgences")
    login(page, live_server, "ref.plan")
    page.goto(live_server.url + system.get_absolute_url())
    page.get_by_role("navigation", name="Rubriques du système").get_by_role(
        "link", name="Plan de supervision"
    ).click()
    page.get_by_role("link", name="Rédiger le plan").click()
    page.locator('[name="points-0-moment"]').select_option("before")
    page.locator('[name="points-0-who"]').fill("IOA")
    page.locator('[name="points-0-checks"]').fill("niveau de tri proposé")
    page.locator('[name="points-0-action"]').fill("retenir son propre niveau")
    page.locator('[name="people-0-who"]').fill("IDE d'accueil")
    page.locator('[name="people-0-competence"]').fill("formation IOA")
    page.get_by_label("Ignorer ou corriger une sortie").fill("L'IOA retient son niveau.")
    page.get_by_label("Arrêter le système").fill("Le chef de service suspend l'outil.")
    page.get_by_label("Procédure dégradée en cas d'arrêt").fill("Grille FRENCH papier.")
    page.get_by_role("button", name="Enregistrer une nouvelle version").click()
    assert "Version 1 en vigueur" in page.locator("#plan-current").inner_text()

    page.get_by_role("link", name="Modifier le plan").click()
    page.locator('[name="points-1-moment"]').select_option("sampled")
    page.locator('[name="points-1-rate"]').fill("10")
    page.locator('[name="points-1-who"]').fill("cadre de santé")
    page.locator('[name="points-1-checks"]').fill("concordance du tri")
    page.get_by_label("Revue du plan (mois)").fill("6")
    page.get_by_label("Motif de la modification").fill("contrôle par échantillon ajouté")
    page.get_by_role("button", name="Enregistrer une nouvelle version").click()

    assert "Version 2 en vigueur" in page.locator("#plan-current").inner_text()
    diff = page.locator("#version-2").inner_text()
    assert "Points de contrôle" in diff and "par échantillonnage (10 %)" in diff
    assert "Revue du plan (mois)" in diff and "12" in diff and "6" in diff
    assert "contrôle par échantillon ajouté" in diff
