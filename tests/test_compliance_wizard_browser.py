"""The qualification wizard from the user's side, in a real headless Chromium and with the
keyboard: Enter in an answer goes forward (never « Précédent »), « Étape n sur N », an error
summary focused at the top and linked to its question, the review page with « Modifier » links,
and a requalification that starts from the previous answers and the establishment's status."""

import re

import pytest

from garant.compliance.models import Qualification
from garant.core.audit import audit_context
from garant.core.models import Role
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser

PRACTICES = "Le système fait-il l'une de ces choses ?"
MEDICAL = (
    "Le logiciel sert-il, pour des patients pris individuellement, au diagnostic, à la "
    "prévention, au suivi, à la prédiction, au pronostic ou au traitement ?"
)
EXPOSURE = "Le système… ?"
LEGAL_STATUS = "Quel est le statut juridique de l'établissement ?"
PUBLIC = "Établissement public de santé (CHU, CH, GCS de droit public)"


def option(tab, question: str, label: str):
    return tab.get_by_role("group", name=question).get_by_label(label, exact=True)


def progress(tab) -> tuple[int, int]:
    text = tab.locator(".wizard-progress strong").inner_text()
    n, total = re.fullmatch(r"Étape (\d+) sur (\d+)", text).groups()
    return int(n), int(total)


def heading(tab, name: str) -> None:
    tab.get_by_role("heading", name=name, exact=True).wait_for()


def forward(tab) -> None:
    tab.get_by_role("button", name="Suivant", exact=True).click()


def test_the_wizard_with_the_keyboard_review_and_requalify(page, live_server, est_a):  # noqa: F811
    est_a.legal_status = "public"
    est_a.save()
    make_user("ref.wizard", est_a, Role.REFERENT, first_name="Inès", last_name="Roche")
    with audit_context(source="test"):
        system = make_system(
            est_a, name="Prévision des admissions", data_categories=[], hosting="on_premises"
        )
    login(page, live_server, "ref.wizard")
    page.goto(live_server.url + f"/conformite/systemes/{system.pk}/qualifier/")

    # step 1: the register's answer is preselected; the progress says where we are
    heading(page, "Est-ce un système d'IA ?")
    assert progress(page)[0] == 1
    option(
        page,
        "Est-il développé et utilisé uniquement pour la recherche scientifique, "
        "sans aucun usage pour les soins ou l'organisation ?",
        "Non",
    ).check()
    forward(page)

    # step 2: Enter in an answer goes forward to step 3, not back to step 1
    heading(page, "Pratiques interdites")
    assert progress(page)[0] == 2
    none = option(page, PRACTICES, "Aucune")
    none.check()
    none.press("Enter")
    heading(page, "Dispositif médical")
    n, total = progress(page)
    assert n == 3 and total > 3

    # step 3 without its answer: a summary at the top, focused, linked to the question
    forward(page)
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    link = summary.get_by_role("link")
    assert link.get_attribute("href") == "#id_medical_purpose_0"
    assert MEDICAL in link.inner_text() and "Répondez à cette question." in link.inner_text()
    first = option(page, MEDICAL, "Oui")
    assert "medical_purpose-error" in first.get_attribute("aria-describedby")
    assert first.get_attribute("aria-invalid") == "true"
    assert page.title().startswith("Erreur")
    link.click()
    option(page, MEDICAL, "Non (organisation, gestion, logistique, ressources humaines…)").check()
    option(page, MEDICAL, "Non (organisation, gestion, logistique, ressources humaines…)").press(
        "Enter"
    )

    # the next steps with the keyboard only
    heading(page, "Usages à haut risque")
    option(page, "Le système est-il utilisé pour l'un de ces usages ?", "Aucun").check()
    page.keyboard.press("Enter")
    heading(page, "Transparence")
    option(page, EXPOSURE, "Rien de cela").check()
    page.keyboard.press("Enter")
    heading(page, "Rôle de l'établissement")
    bought = option(page, "D'où vient le système ?", "Acheté à un éditeur et utilisé tel quel")
    assert bought.is_checked()  # prefilled from the register (S1)
    bought.press("Enter")
    heading(page, "Changements apportés")
    for question in (
        "L'établissement le met-il en service ou le diffuse-t-il sous son propre nom ou sa "
        "propre marque ?",
        "L'utilisez-vous pour une finalité différente de celle prévue par le fournisseur ?",
    ):
        option(page, question, "Non").check()
    page.keyboard.press("Enter")
    heading(page, "Données personnelles")
    option(
        page, "Quelles données personnelles le système traite-t-il ?", "Aucune donnée personnelle"
    ).check()
    page.keyboard.press("Enter")

    # the establishment's legal status is reused, and the wizard says so
    heading(page, "Statut de l'établissement")
    assert option(page, LEGAL_STATUS, PUBLIC).is_checked()
    assert page.get_by_text("Repris du statut juridique de l'établissement").is_visible()
    forward(page)

    # the review: every answer, the result, the obligations with proposed owner and due date
    heading(page, "Récapitulatif : vérifiez vos réponses avant d'enregistrer")
    n, total = progress(page)
    assert n == total
    row = page.locator(".review-row").filter(has_text=EXPOSURE)
    assert "Rien de cela" in row.inner_text()
    literacy = page.get_by_role("row").filter(
        has_text="Favoriser la maîtrise de l'IA des personnels qui l'utilisent"
    )
    assert "déjà applicable" in literacy.inner_text()  # in force since 2025: due now
    row.get_by_role("button", name=re.compile("^Modifier")).click()
    heading(page, "Transparence")
    option(page, EXPOSURE, "Rien de cela").uncheck()
    option(
        page,
        EXPOSURE,
        "dialogue directement avec des personnes (agent conversationnel, assistant vocal)",
    ).check()
    forward(page)  # straight back to the review: nothing else is missing
    heading(page, "Récapitulatif : vérifiez vos réponses avant d'enregistrer")
    assert (
        "dialogue directement" in page.locator(".review-row").filter(has_text=EXPOSURE).inner_text()
    )
    page.get_by_role("button", name="Enregistrer la qualification").click()
    page.get_by_text("Qualification enregistrée.").wait_for()
    first_q = Qualification.objects.get(ai_system=system)
    assert first_q.answers["exposure"] == ["interacts"]
    assert first_q.answers["legal_status"] == "public"

    # requalify: the previous answers are preselected and say where they come from
    page.goto(live_server.url + f"/conformite/systemes/{system.pk}/qualifier/")
    heading(page, "Est-ce un système d'IA ?")
    assert page.get_by_text(re.compile("^Requalification : les réponses de la qualification du"))
    research = option(
        page,
        "Est-il développé et utilisé uniquement pour la recherche scientifique, sans aucun "
        "usage pour les soins ou l'organisation ?",
        "Non",
    )
    assert research.is_checked()
    assert page.get_by_text(re.compile("^Réponse de la qualification du")).first.is_visible()
    for _ in range(12):  # Enter through every preselected step up to the review
        if page.get_by_role("heading", name=re.compile("^Récapitulatif")).count():
            break
        with page.expect_navigation():
            page.locator("form.wizard input:checked").first.press("Enter")
    heading(page, "Récapitulatif : vérifiez vos réponses avant d'enregistrer")
    assert PUBLIC in page.locator(".review-row").filter(has_text=LEGAL_STATUS).inner_text()
    assert (
        "dialogue directement" in page.locator(".review-row").filter(has_text=EXPOSURE).inner_text()
    )
    page.get_by_role("button", name="Enregistrer la qualification").click()
    page.get_by_text("Qualification enregistrée.").wait_for()
    assert Qualification.objects.filter(ai_system=system).count() == 2
