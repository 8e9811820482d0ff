"""Qualification end to end in a real headless Chromium: a referent qualifies an emergency
department triage aid, sees it high-risk under Annex III 5(d) with a FRIA and the
02/12/2027 date with its source, uploads the evidence of one obligation, marks it done and
sees the establishment dashboard count it."""

import re

import pytest

from garant.compliance.models import Obligation, Qualification
from garant.core.audit import audit_context
from garant.core.models import Role
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"


def choose(tab, question: str, option: str) -> None:
    tab.get_by_role("group", name=question).get_by_label(option, exact=True).check()


def next_step(tab) -> None:
    tab.get_by_role("button", name="Suivant", exact=True).click()


def test_qualify_an_emergency_triage_aid_then_prove_one_obligation(
    page,  # noqa: F811
    live_server,
    est_a,
    tmp_path,
):
    make_user("ref.urgences", est_a, Role.REFERENT, first_name="Paul", last_name="Marchand")
    with audit_context(source="test"):
        system = make_system(
            est_a,
            name="Aide au tri des urgences",
            intended_purpose="Propose un niveau de tri (FRENCH) à l'infirmier d'accueil des urgences",
            data_categories=["health"],
            hosting="on_premises",
        )
    login(page, live_server, "ref.urgences")
    page.goto(live_server.url + system.get_absolute_url())
    page.get_by_role("navigation", name="Rubriques du système").get_by_role(
        "link", name="Conformité"
    ).click()
    page.get_by_role("link", name="Qualifier ce système").click()

    # 1. definition: prefilled from the register (bought tool, not an LLM) — checked, then next
    assert (
        page.get_by_role("group", name="Comment le système produit-il ses résultats ?")
        .get_by_label(
            "Il a appris à partir de données (apprentissage automatique, réseau de neurones…)"
        )
        .is_checked()
    )
    choose(
        page,
        "Est-il développé et utilisé uniquement pour la recherche scientifique, sans aucun usage pour les soins ou l'organisation ?",
        "Non",
    )
    next_step(page)
    choose(page, "Le système fait-il l'une de ces choses ?", "Aucune")
    next_step(page)
    choose(
        page,
        "Le logiciel sert-il, pour des patients pris individuellement, au diagnostic, à la prévention, au suivi, à la prédiction, au pronostic ou au traitement ?",
        "Non (organisation, gestion, logistique, ressources humaines…)",
    )
    next_step(page)
    choose(
        page,
        "Le système est-il utilisé pour l'un de ces usages ?",
        "Trier les appels d'urgence, prioriser les secours ou trier les patients aux urgences",
    )
    next_step(page)
    choose(
        page,
        "Le fournisseur (ou l'établissement) invoque-t-il une dérogation parce que le système n'influence pas substantiellement la décision ?",
        "Non",
    )
    next_step(page)
    choose(page, "Le système… ?", "Rien de cela")
    next_step(page)
    page.get_by_role("heading", name="Rôle de l'établissement").wait_for()
    next_step(page)  # "Acheté à un éditeur" is prefilled from S1
    choose(
        page,
        "L'établissement le met-il en service ou le diffuse-t-il sous son propre nom ou sa propre marque ?",
        "Non",
    )
    choose(
        page,
        "L'utilisez-vous pour une finalité différente de celle prévue par le fournisseur ?",
        "Non",
    )
    next_step(page)
    next_step(page)  # health data: prefilled from the register's data categories
    choose(page, "Sur qui portent les données ?", "Patients")
    choose(page, "À quoi servent les données ?", "Aux soins des patients")
    choose(
        page,
        "Lesquels de ces critères de risque s'appliquent ?",
        "Personnes vulnérables (patients, salariés, enfants)",
    )
    choose(
        page,
        "Des décisions ayant un effet juridique ou significatif sur une personne sont-elles prises sans intervention humaine ?",
        "Non",
    )
    next_step(page)  # hosting prefilled: on premises
    choose(
        page,
        "Quel est le statut juridique de l'établissement ?",
        "Établissement public de santé (CHU, CH, GCS de droit public)",
    )
    next_step(page)
    page.get_by_role("heading", name=re.compile("^Récapitulatif")).wait_for()
    page.get_by_role("button", name="Enregistrer la qualification").click()

    # 2. the result
    page.get_by_text("Qualification enregistrée.").wait_for()
    result = page.locator("section.card").filter(has=page.get_by_role("heading", name="Résultat"))
    text = result.inner_text()
    assert (
        "Tri des appels d'urgence, régulation des secours et tri des patients aux urgences" in text
    )
    assert "Annexe III, point 5(d)" in text
    assert re.search(r"AIDF \(AI Act art\. 27\)\s+Requise", text), text
    group = page.locator("section.obligations-by-date").filter(
        has_text="Réaliser l'analyse d'impact sur les droits fondamentaux"
    )
    group_text = group.inner_text()
    assert "Applicable le 02/12/2027" in group_text
    assert "initialement le 02/08/2026, reportée par le Règlement (UE) 2026/1744" in group_text
    assert "Texte consolidé CELEX 02024R1689-20260727" in group_text  # the source of the date
    assert "AI Act Art. 27(1), 27(2), 27(4)" in group_text
    assert "À confirmer par une revue juridique" in page.content()
    qualification = Qualification.objects.get(ai_system=system)
    assert qualification.risk_level == "high" and qualification.result["facts"]["fria"]

    # 3. the dashboard before any proof
    due = Obligation.objects.filter(ai_system=system, required=True).count()
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Conformité"
    ).click()
    done_card = page.locator("section").filter(
        has=page.get_by_role("heading", name="Obligations faites / dues")
    )
    assert done_card.locator(".kpi").inner_text() == f"0 / {due}"

    # 4. upload the DPIA as evidence of one obligation and mark it done
    page.goto(live_server.url + f"/conformite/systemes/{system.pk}/")
    page.get_by_role(
        "link", name="Réaliser une analyse d'impact relative à la protection des données (AIPD)"
    ).click()
    proof = tmp_path / "AIPD-tri-urgences.pdf"
    proof.write_bytes(b"%PDF-1.4\n% AIPD du tri des urgences\n")
    page.get_by_label("Description").fill("AIPD validée par le DPO")
    page.get_by_label("Fichier").set_input_files(str(proof))
    page.get_by_role("button", name="Ajouter la preuve").click()
    page.get_by_text("Preuve ajoutée.").wait_for()
    item = page.get_by_role("listitem").filter(has_text="AIPD validée par le DPO")
    assert "AIPD-tri-urgences.pdf" in item.inner_text() and "Paul Marchand" in item.inner_text()
    page.get_by_label("Statut").select_option(label="Fait")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Obligation mise à jour.").wait_for()

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Conformité"
    ).click()
    done_card = page.locator("section").filter(
        has=page.get_by_role("heading", name="Obligations faites / dues")
    )
    assert done_card.locator(".kpi").inner_text() == f"1 / {due}"
    dpia = Obligation.objects.get(ai_system=system, code="gdpr_35_dpia")
    assert dpia.status == "done" and dpia.evidence.get().added_by.username == "ref.urgences"
