"""A declaration from the field in a real headless Chromium: a nurse declares a tool in a few
words with « je ne sais pas »; it reaches the referent's queue with what is missing
highlighted; she corrects it and is told what happens next; the referent completes it into a
register entry; she can no longer edit it and sees the outcome. A referent of another
establishment never sees it."""

import re

import pytest

from garant.core.models import Role, Service
from garant.registry.models import AISystem, Declaration
from tests.conftest import make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser


def test_a_nurse_declares_a_tool_and_the_referent_registers_it(
    page,  # noqa: F811
    live_server,
    est_a,
    est_b,
):
    service = Service.objects.create(establishment=est_a, name="Gériatrie", pole="Pôle médecine")
    make_user("infirmiere", est_a, Role.CONTRIBUTOR, first_name="Amélie")
    make_user("referent", est_a, Role.REFERENT, first_name="Thomas")
    make_user("referent-b", est_b, Role.REFERENT, first_name="Léa")

    # the nurse declares from the home page, answering « je ne sais pas » to one question
    login(page, live_server, "infirmiere")
    page.get_by_role("link", name="Proposer une idée").wait_for()  # the idea form too
    page.get_by_role("link", name="Déclarer un outil").click()
    page.get_by_label("Nom de l'outil", exact=True).fill("Aide à la rédaction des transmissions")
    page.get_by_label("Je ne sais pas — ce qu'il fait").check()
    page.get_by_label("Service", exact=True).select_option(label="Pôle médecine › Gériatrie")
    page.get_by_role("button", name="Envoyer la déclaration").click()
    page.get_by_text("Votre déclaration est transmise au référent IA").wait_for()
    declaration = Declaration.objects.get()
    assert declaration.purpose_unknown and not declaration.context_unknown
    assert (
        "Un référent IA de votre établissement va l'examiner"
        in page.locator("#declaration-next").inner_text()
    )

    # she corrects it: where she saw it
    page.get_by_role("link", name="Corriger ma déclaration").click()
    page.get_by_label("Où en avez-vous entendu parler ou l'avez-vous utilisé ?", exact=True).fill(
        "Vu en démonstration au congrès"
    )
    page.get_by_role("button", name="Enregistrer la correction").click()
    page.get_by_text("Votre déclaration est corrigée.").wait_for()
    assert page.locator("#answer-context").inner_text() == "Vu en démonstration au congrès"

    # the referent finds it in the home page's to-do and in the queue, what is missing shown
    page.context.clear_cookies()
    login(page, live_server, "referent")
    page.locator("#declarations-to-review").get_by_role(
        "link", name="Aide à la rédaction des transmissions"
    ).wait_for()
    page.get_by_role("link", name="1 déclaration en attente").click()
    row = page.get_by_role("row", name=re.compile("Aide à la rédaction des transmissions"))
    assert "Ce qu'il fait (ne sait pas)" in row.inner_text()
    row.get_by_role("link", name="Aide à la rédaction des transmissions").click()
    assert "le déclarant ne sait pas" in page.locator("#answer-purpose").inner_text()

    # she completes it into a register entry: the system form comes prefilled
    page.get_by_role("link", name="Compléter la fiche").click()
    assert page.get_by_label("Nom", exact=True).input_value() == (
        "Aide à la rédaction des transmissions"
    )
    page.get_by_label("Finalité prévue").fill("Proposer un brouillon des transmissions ciblées")
    page.get_by_label("Type de solution").select_option("S4")
    page.get_by_label("Domaine", exact=True).select_option("D1")
    page.get_by_label("Modalité de mise en œuvre").select_option("M1")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("est inscrit à la cartographie").wait_for()
    system = AISystem.objects.get(name="Aide à la rédaction des transmissions")
    assert list(system.services.all()) == [service]
    declaration.refresh_from_db()
    assert (declaration.status, declaration.ai_system) == ("registered", system)

    # a referent of another establishment never sees it
    page.context.clear_cookies()
    login(page, live_server, "referent-b")
    assert "Aide à la rédaction" not in page.content()
    response = page.goto(live_server.url + declaration.get_absolute_url())
    assert response.status == 404
    page.goto(live_server.url + "/systemes/declarations/")
    assert "Aucune déclaration en attente." in page.content()
    assert "Aide à la rédaction" not in page.content()

    # the nurse sees the outcome and can no longer correct it
    page.context.clear_cookies()
    login(page, live_server, "infirmiere")
    page.goto(live_server.url + declaration.get_absolute_url())
    assert page.locator("#declaration-status").inner_text() == "Inscrite à la cartographie"
    assert "inscrite à la cartographie" in page.locator("#declaration-next").inner_text()
    page.locator("#declaration-outcome").get_by_role(
        "link", name="Aide à la rédaction des transmissions"
    ).wait_for()
    assert page.get_by_role("link", name="Corriger ma déclaration").count() == 0
    page.goto(live_server.url + f"/systemes/declarations/{declaration.pk}/corriger/")
    page.get_by_text("elle ne peut plus être corrigée").wait_for()
