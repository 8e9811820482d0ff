"""End to end in a real headless Chromium (Debian's) driven by Playwright."""

import csv
import io
import os
import shutil

import pytest

from garant.core.models import Membership, Service
from garant.registry.models import AISystem
from tests.conftest import PASSWORD, make_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser

# Playwright's sync API runs an event loop in this thread; the Django calls made by the
# test itself (fixtures, assertions) are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing in CI: the browser tests cannot run")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(accept_downloads=True, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def login(page, live_server, username):
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")


def test_register_a_system_find_it_and_export_it(page, live_server, est_a):
    user = make_user("cadre.sante", est_a, "contributor", first_name="Claire")
    Service.objects.create(establishment=est_a, name="Urgences adultes", pole="Pôle urgences")
    login(page, live_server, "cadre.sante")
    assert page.get_by_role("heading", name="Bonjour Claire").is_visible()

    page.get_by_role("link", name="Déclarer un système d'IA").click()
    page.get_by_label("Nom", exact=True).fill("Aide au tri des urgences")
    page.get_by_label("Finalité prévue").fill("Proposer un niveau de tri à l'infirmier d'accueil")
    page.get_by_label("Services utilisateurs").select_option(
        label="Pôle urgences › Urgences adultes"
    )
    page.get_by_label("Type de solution").select_option("S1")
    page.get_by_label("Domaine", exact=True).select_option("D1")
    page.get_by_label("Modalité de mise en œuvre").select_option("M1")
    page.get_by_label("Sensible / santé").check()
    page.get_by_label("DPI (dossier patient informatisé)").check()
    page.get_by_label("Hébergement", exact=True).select_option("on_premises")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("est enregistré dans la cartographie").wait_for()
    assert page.get_by_text("Maximale").first.is_visible()
    system = AISystem.objects.get(name="Aide au tri des urgences")
    assert system.created_by == user
    assert system.data_categories == ["health"]

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Cartographie"
    ).click()
    page.get_by_label("Domaine").select_option("D1")
    page.get_by_label("Catégorie de données").select_option("health")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**/systemes/?*")
    rows = page.locator("table#systems tbody tr")
    assert rows.count() == 1
    assert "Aide au tri des urgences" in rows.first.inner_text()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    path = download_info.value.path()
    text = path.read_text(encoding="utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["Nom"] for r in records] == ["Aide au tri des urgences"]


def test_form_errors_are_shown_in_french(page, live_server, est_a):
    make_user("referent.ia", est_a, "referent")
    login(page, live_server, "referent.ia")
    page.goto(f"{live_server.url}/systemes/nouveau/")
    page.get_by_role("button", name="Enregistrer").click()
    alert = page.get_by_role("alert")
    assert "La fiche n'a pas été enregistrée" in alert.inner_text()
    assert "Ce champ est obligatoire." in alert.inner_text()
    assert AISystem.objects.count() == 0
    assert Membership.objects.count() == 1
