"""Issue 4 end to end in a real headless Chromium: from an idea of the field to a signed
decision of the committee.

A nurse of the emergency department (role "contributor") submits an idea through the form.
A member of the AI committee (role "committee": triage, assess and govern) accepts it for
instruction, writes the PoC charter with two success indicators, moves the project into the
PoC, records indicator values, moves it into evaluation, assesses it on the medical & care
grid (the system is in domain D1), freezes the assessment, submits it to the committee,
creates the committee, schedules a meeting whose proposed agenda holds the project, records
"généraliser sous conditions" with its conditions and signs it, then takes the project into
routine. The nurse signs in again and reads the outcome of her idea; the decision dossier PDF
downloads and holds the decision and its conditions.
"""

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pypdf import PdfReader

from garant.core.audit import verify
from garant.core.models import AuditEvent, Role, Service
from garant.governance.models import Committee, Decision, Outcome
from garant.lifecycle.models import Assessment, Idea, IndicatorValue, Notification
from tests.conftest import make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.browser

TITLE = "Aide au tri des patients à l'accueil des urgences"
CONDITIONS = (
    "Former les infirmiers d'accueil de nuit avant le déploiement ; "
    "mesurer le taux de faux négatifs sur trois mois."
)
RATIONALE = "Délai de tri réduit de 22 à 13 minutes pendant le PoC, outil adopté par les IOA."


def iso(day: dt.date) -> str:
    return day.isoformat()


def fr(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def flash(tab, text: str) -> None:
    """Wait for a message of the page (success or error) containing `text`."""
    try:
        tab.get_by_text(text).first.wait_for()
    except PlaywrightTimeout as exc:  # say what the page shows instead
        shown = tab.locator("main").inner_text()[:3000]
        raise AssertionError(f"« {text} » absent de {tab.url} :\n{shown}") from exc


def change_phase(tab, phase: str, reason: str) -> None:
    form = tab.get_by_role("form", name="Changer de phase")
    form.get_by_label("Nouvelle phase").select_option(label=phase)
    form.get_by_label("Motif").fill(reason)
    form.get_by_role("button", name="Changer de phase").click()


def add_indicator(tab, **fields) -> None:
    tab.get_by_role("link", name="Ajouter un indicateur").click()
    tab.get_by_label("Nom de l'indicateur").fill(fields["name"])
    tab.get_by_label("Unité").fill(fields["unit"])
    tab.get_by_label("Valeur de référence").fill(fields["baseline"])
    tab.get_by_label("Cible", exact=True).fill(fields["target"])
    tab.get_by_label("Sens").select_option(label=fields["direction"])
    tab.get_by_label("Méthode de mesure").fill(fields["method"])
    tab.get_by_label("Fréquence").select_option(label=fields["frequency"])
    tab.get_by_label("Source", exact=True).select_option(label="Saisie manuelle")
    tab.get_by_label("Critère de la grille").select_option(label=fields["criterion"])
    tab.get_by_label("Indicateur obligatoire de la grille").select_option(
        label=fields["grid_indicator"]
    )
    tab.get_by_role("button", name="Enregistrer l'indicateur").click()
    flash(tab, "Indicateur enregistré.")


def record_value(tab, indicator: str, value: str, on: dt.date, comment: str) -> None:
    table = tab.get_by_role("table", name="Indicateurs de succès")
    table.locator("tbody tr").filter(has_text=indicator).get_by_role("link", name="Valeurs").click()
    tab.get_by_label("Valeur", exact=True).fill(value)
    tab.get_by_label("Mesurée le").fill(iso(on))
    tab.get_by_label("Commentaire").fill(comment)
    tab.get_by_role("button", name="Enregistrer la valeur").click()
    flash(tab, "Valeur enregistrée.")
    history = tab.get_by_role("table", name="Historique des valeurs")
    assert history.locator("tbody tr").filter(has_text=fr(on)).filter(has_text=comment).count()
    back_to_project(tab)


def back_to_project(tab) -> None:
    """The breadcrumb of every project page: Portefeuille › Projet."""
    tab.get_by_role("link", name="Projet", exact=True).last.click()
    tab.get_by_role("heading", name="Phase et étapes").wait_for()


def new_tab(browser):
    """A page in a browser context of its own: one person signed in."""
    tab = browser.new_context(accept_downloads=True, locale="fr-FR").new_page()
    tab.set_default_timeout(15_000)
    return tab


def score(tab, n: int, value: int, comment: str, evidence: str = "", values=()) -> None:
    criterion = tab.get_by_role("region", name=re.compile(rf"^{n}\. "))
    criterion.get_by_label("Note", exact=True).select_option(str(value))
    criterion.get_by_role("radio", name="non", exact=True).check()  # the stop-if, answered
    for label in values:
        criterion.get_by_label(label).check()
    if evidence:
        criterion.get_by_label("Preuves (liens)").fill(evidence)
    criterion.get_by_label("Commentaire").fill(comment)


def test_from_an_idea_of_the_field_to_a_signed_decision_and_its_dossier(
    page,  # noqa: F811
    chromium,  # noqa: F811
    live_server,
    est_a,
):
    today = timezone.localdate()
    Service.objects.create(establishment=est_a, name="Urgences adultes", pole="Pôle urgences")
    author = make_user(
        "ide.urgences", est_a, Role.CONTRIBUTOR, first_name="Sophie", last_name="Marchal"
    )
    member = make_user("comite.ia", est_a, Role.COMMITTEE, first_name="Anne", last_name="Lefort")

    # 1. the nurse submits her idea through the form
    field = new_tab(chromium)
    login(field, live_server, "ide.urgences")
    field.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Projets"
    ).click()
    field.get_by_role("link", name="Idées").first.click()
    field.get_by_role("link", name="Proposer une idée").click()
    field.get_by_label("Titre de l'idée").fill(TITLE)
    field.get_by_label("Besoin").fill(
        "Aux heures de pointe, le tri à l'accueil prend plus de 20 minutes et des patients "
        "graves attendent."
    )
    field.get_by_label("Service").select_option(label="Pôle urgences › Urgences adultes")
    field.get_by_label("Pour les patients et les professionnels").check()
    field.get_by_label("Précisions sur le bénéfice").fill(
        "Patients graves repérés plus tôt ; charge mentale des IOA allégée."
    )
    field.get_by_label("Données disponibles").fill("Dossiers de passage du DPI depuis 2021.")
    field.get_by_role("button", name="Envoyer l'idée").click()
    flash(field, f"Merci ! Votre idée « {TITLE} » est transmise au comité.")
    mine = field.get_by_role("table", name="Mes idées")
    assert "Soumise, en attente de tri" in mine.locator("tbody tr").first.inner_text()
    field.context.close()
    idea = Idea.objects.get(title=TITLE)
    assert idea.author == author and idea.status == Idea.Status.SUBMITTED
    assert idea.establishment == est_a and idea.expected_benefit == "both"

    # 2. the committee member finds it to triage and accepts it for instruction
    cp = new_tab(chromium)
    login(cp, live_server, "comite.ia")
    cp.get_by_role("link", name="1 idée en attente de tri").click()
    cp.get_by_role("table", name="Idées à trier").get_by_role("link", name=TITLE).click()
    accept = cp.get_by_role("form", name="Accepter pour instruction")
    accept.get_by_label("Type de solution").select_option("S1")
    accept.get_by_label("Domaine").select_option("D1")
    accept.get_by_label("Modalité de mise en œuvre").select_option("M1")
    accept.get_by_label("Commentaire pour l'auteur").fill(
        "Idée retenue : un PoC de trois mois aux urgences adultes."
    )
    accept.get_by_role("button", name="Accepter").click()
    flash(cp, "Idée acceptée : le projet est ouvert en instruction.")
    assert cp.locator("#project-phase").inner_text() == "Instruction"
    idea.refresh_from_db()
    project = idea.project
    assert idea.status == Idea.Status.ACCEPTED and idea.triaged_by == member
    assert project.ai_system.domain == "D1" and project.ai_system.modality == "M1"
    assert project.effective_grid_code == "medical_and_care"

    # a forbidden transition is refused with what is missing
    change_phase(cp, "Expérimentation / PoC", "Démarrage du PoC")
    flash(cp, "Passage refusé : Pas de charte de PoC : rédigez la charte avant de lancer le PoC.")
    project.refresh_from_db()
    assert project.phase == "instruction"

    # 3. the PoC charter with two indicators
    start, end = today - dt.timedelta(days=70), today + dt.timedelta(days=14)
    cp.get_by_role("link", name="Rédiger la charte").click()
    cp.get_by_label("Cas d'usage précis").fill(
        "Proposer un niveau de tri (FRENCH) à l'infirmier d'accueil à partir des constantes "
        "et du motif de venue."
    )
    cp.get_by_label("Objectif opérationnel").fill(
        "Ramener le délai médian de l'arrivée au tri sous 12 minutes aux heures de pointe."
    )
    cp.get_by_label("Services du périmètre").select_option(label="Pôle urgences › Urgences adultes")
    cp.get_by_label("Nombre d'utilisateurs").fill("14")
    cp.get_by_label("Population de patients").fill("Adultes se présentant à l'accueil des urgences")
    cp.get_by_label("Durée (semaines)").fill("12")
    cp.get_by_label("Date de début").fill(iso(start))
    cp.get_by_label("Date de fin").fill(iso(end))
    cp.get_by_label("Utilisateurs impliqués et leur rôle").fill(
        "Sophie Marchal (IOA, référente terrain) ; Dr Perrin (urgentiste, validation clinique)"
    )
    cp.get_by_label("Vérification de la qualité des données").fill(
        "Constantes manquantes < 3 % sur l'échantillon 2024."
    )
    cp.get_by_label("Intégration aux outils existants").fill(
        "Bandeau dans le module accueil du DPI"
    )
    cp.get_by_label("Budget (€)").fill("18000")
    # the PoC ran before the project was opened in Garant: it enters the phase today
    cp.get_by_label("Durée minimale du PoC (semaines)").fill("0")
    cp.get_by_label("Motif d'une durée minimale réduite").fill(
        "PoC mené depuis dix semaines, enregistré dans Garant à sa fin."
    )
    cp.get_by_role("button", name="Enregistrer la charte").click()
    flash(cp, "Charte du PoC enregistrée.")
    add_indicator(
        cp,
        name="Délai médian de l'arrivée au tri",
        unit="min",
        baseline="22",
        target="12",
        direction="Plus bas est mieux",
        method="Horodatages DPI de l'arrivée et du tri IOA, médiane mensuelle",
        frequency="Mensuelle",
        criterion="1. Impact clinique et qualité des soins",
        grid_indicator="1. Critère de jugement clinique ou de processus comparé à la référence",
    )
    add_indicator(
        cp,
        name="Taux d'utilisation par les IOA",
        unit="%",
        baseline="0",
        target="80",
        direction="Plus haut est mieux",
        method="Part des passages triés avec l'aide affichée",
        frequency="En fin de PoC",
        criterion="3. Acceptabilité et usage par les professionnels",
        grid_indicator="3. Taux d'utilisation par les professionnels ciblés",
    )
    indicators = cp.get_by_role("table", name="Indicateurs de succès").locator("tbody tr")
    assert indicators.count() == 2
    assert "non mesurable" not in indicators.first.inner_text()
    change_phase(cp, "Expérimentation / PoC", "Charte validée, PoC lancé aux urgences adultes")
    flash(cp, "Le projet passe en phase « Expérimentation / PoC ».")

    # 4. values measured during the PoC, then the evaluation
    change_phase(cp, "Évaluation", "Fin du PoC")
    flash(cp, "Passage refusé : Aucune valeur d'indicateur n'a été enregistrée pendant le PoC")
    record_value(cp, "Délai médian", "18", today - dt.timedelta(days=40), "Semaine 4")
    record_value(cp, "Délai médian", "13", today - dt.timedelta(days=5), "Semaine 9")
    record_value(cp, "Taux d'utilisation", "72", today - dt.timedelta(days=5), "Mois 2")
    assert IndicatorValue.objects.filter(indicator__charter__project=project).count() == 3
    assert set(IndicatorValue.objects.values_list("recorded_by", flat=True)) == {member.pk}
    change_phase(cp, "Évaluation", "Fin du PoC : mesures des semaines 4 et 9")
    flash(cp, "Le projet passe en phase « Évaluation ».")

    # 5. the assessment on the medical & care grid, frozen
    cp.get_by_role("button", name="Nouvelle évaluation").click()
    cp.get_by_role(
        "heading", name=re.compile("Évaluation sur la grille « Domaine médical")
    ).wait_for()
    score(
        cp,
        1,
        3,
        "Délai médian passé de 22 à 13 minutes.",
        evidence="https://intranet.chu-a.example/poc-tri/rapport-s9.pdf",
        values=[f"Délai médian de l'arrivée au tri : 13 ({fr(today - dt.timedelta(days=5))})"],
    )
    score(cp, 2, 3, "Aucun événement indésirable lié à l'outil.")
    score(
        cp,
        3,
        3,
        "72 % des passages triés avec l'aide.",
        values=[f"Taux d'utilisation par les IOA : 72 ({fr(today - dt.timedelta(days=5))})"],
    )
    score(cp, 4, 2, "Faux négatifs à documenter sur un volume plus large.")
    score(cp, 5, 3, "AIPD validée par le DPO.")
    score(cp, 6, 2, "Coût de licence à confirmer pour les deux sites.")
    cp.get_by_label("Synthèse de l'évaluateur").fill("Bénéfice net au tri ; preuves à compléter.")
    cp.get_by_role("button", name="Enregistrer l'évaluation").click()
    flash(cp, "Évaluation enregistrée ; recommandation recalculée.")
    # two indicators in the charter: the grid's other mandatory indicators are not measured
    assert cp.locator("#recommendation").inner_text() == "Pas encore"
    reasons = cp.locator("#reasons").inner_text()
    assert "Indicateur obligatoire sans valeur mesurée — 5. Conformité réglementaire" in reasons
    assert "Critère de jugement clinique" not in reasons  # measured in the PoC
    cp.get_by_role("link", name="Figer l'évaluation…").click()
    cp.get_by_role("button", name="Confirmer : figer l'évaluation").click()
    flash(cp, f"Évaluation figée le {fr(today)} : elle peut être soumise au comité.")
    assert cp.get_by_role("button", name="Enregistrer l'évaluation").count() == 0
    assessment = Assessment.objects.get(project=project)
    assert assessment.is_frozen and assessment.grid_code == "medical_and_care"
    assert assessment.assessor == member
    assert {s.criterion_code: s.score for s in assessment.scores.all()} == {
        "clinical_impact": 3,
        "safety_risk": 3,
        "acceptability": 3,
        "technical_performance": 2,
        "regulatory_ethics": 3,
        "organisational_economic": 2,
    }
    back_to_project(cp)
    change_phase(cp, "Généralisation", "Évaluation figée, soumise au comité")
    flash(cp, "Le projet passe en phase « Généralisation ».")

    # 6. the committee, a meeting whose proposed agenda holds the project
    cp.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Comités"
    ).click()
    cp.get_by_role("link", name="Nouveau comité").click()
    cp.get_by_label("Établissement").select_option(label="CHU A")
    cp.get_by_label("Nom", exact=True).fill("Copil IA")
    cp.get_by_label("Niveau").select_option("single")
    cp.get_by_label("Mandat").fill("Décider de la généralisation ou de l'arrêt des projets d'IA.")
    cp.get_by_role("button", name="Enregistrer").click()
    flash(cp, "Comité « Copil IA » enregistré.")
    members = cp.get_by_role("form", name="Ajouter un membre")
    members.get_by_label("Utilisateur").select_option(label="Anne Lefort")
    members.get_by_label("Fonction").select_option(label="CME")
    members.get_by_label("Préside le comité").check()
    members.get_by_role("button", name="Ajouter").click()
    flash(cp, "Anne Lefort siège au comité.")
    members = cp.get_by_role("form", name="Ajouter un membre")
    members.get_by_label("Nom", exact=True).fill("Marc Huet")
    members.get_by_label("Fonction").select_option(label="direction des soins")
    members.get_by_role("button", name="Ajouter").click()
    flash(cp, "Marc Huet siège au comité.")

    cp.get_by_role("link", name="Programmer une séance").click()
    # the meeting held an hour ago, recorded by its secretary
    held = timezone.localtime() - dt.timedelta(hours=1)
    cp.get_by_label("Date et heure").fill(held.strftime("%Y-%m-%dT%H:%M"))
    cp.get_by_label("Lieu").fill("Salle du directoire")
    cp.get_by_label("Statut").select_option(label="tenue")
    cp.get_by_label("Secrétaire de séance").select_option(label="Anne Lefort")
    proposal = cp.get_by_role("checkbox", name=f"Décision sur « {TITLE} »")
    assert proposal.is_checked()  # proposed by the lifecycle: frozen, no signed decision
    cp.get_by_role("button", name="Programmer la séance").click()
    flash(cp, "Séance programmée ; 1 point(s) à l'ordre du jour.")
    agenda = cp.get_by_role("table", name="Ordre du jour")
    assert TITLE in agenda.inner_text()

    # 7. the decision "généraliser sous conditions", recorded then signed
    agenda.get_by_role("link", name="Consigner la décision").click()
    form = cp.get_by_role("form", name="Décision")
    form.get_by_role("combobox", name="Décision").select_option(label="généraliser sous conditions")
    form.get_by_label("Options examinées").fill("Généraliser ; prolonger le PoC de 3 mois.")
    form.get_by_label("Adoptée par consensus").check()
    form.get_by_label("Président de séance").select_option(label="Anne Lefort")
    form.get_by_label("Motivation").fill(RATIONALE)
    form.get_by_label("Conditions").fill(CONDITIONS)
    form.get_by_label("Prochaine réévaluation").fill(iso(today + dt.timedelta(days=180)))
    form.get_by_role("button", name="Enregistrer la décision").click()
    flash(cp, "Décision enregistrée : relisez-la puis signez-la.")
    cp.get_by_role("link", name="Signer la décision…").click()
    condition = cp.get_by_role("group", name="Condition 1")
    condition.get_by_label("Porteur (nom)").fill("Cadre de santé des urgences")
    condition.get_by_label("Échéance").fill(iso(today + dt.timedelta(days=60)))
    cp.get_by_role("button", name="Confirmer : signer la décision").click()
    flash(cp, "Décision signée : elle ne peut plus être modifiée.")
    assert cp.get_by_text(re.compile("^Signée le .* par Anne Lefort")).is_visible()
    assert cp.get_by_role("link", name="Modifier").count() == 0
    decided = cp.get_by_role("region", name="Décision", exact=True).inner_text()
    assert "généraliser sous conditions" in decided and CONDITIONS in decided

    decision = Decision.objects.get(project=project)
    assert decision.is_signed and decision.signed_by == member
    assert decision.outcome == Outcome.WITH_CONDITIONS and decision.conditions == CONDITIONS
    assert decision.assessment == assessment and decision.consensus
    assert decision.chair.user == member and decision.chair.committee.name == "Copil IA"
    assert decision.meeting.committee == Committee.objects.get(establishment=est_a)
    assert decision.next_review_date == today + dt.timedelta(days=180)

    # the signed decision opens the way to routine, once its condition is met
    cp.get_by_role("link", name="Mettre à jour").first.click()
    cp.get_by_label("Statut").select_option(label="réalisée")
    cp.get_by_role("button", name="Enregistrer").click()
    cp.goto(live_server.url + decision.get_absolute_url())
    cp.get_by_role("link", name=TITLE).first.click()
    change_phase(cp, "Routine", "Généralisation décidée par le Copil IA")
    flash(cp, "Le projet passe en phase « Routine ».")
    project.refresh_from_db()
    assert project.phase == "routine" and project.ai_system.phase == "routine"
    assert project.next_review_date == decision.next_review_date
    steps = list(project.transitions.order_by("at", "pk").values_list("from_phase", "to_phase"))
    assert steps == [
        ("", "instruction"),
        ("instruction", "poc"),
        ("poc", "evaluation"),
        ("evaluation", "generalisation"),
        ("generalisation", "routine"),
    ]
    assert all(t.by == member and t.reason for t in project.transitions.all())

    # 8. the decision dossier, downloaded as PDF
    with cp.expect_download() as download_info:
        cp.get_by_role("link", name="Dossier de décision (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    reader = PdfReader(io.BytesIO(download.path().read_bytes()))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert TITLE in text
    assert "généraliser sous conditions" in text
    assert " ".join(CONDITIONS.split()) in text, text
    assert "Délai médian de l'arrivée au tri" in text
    cp.context.close()

    # 9. the author signs in again: the outcome of her idea
    login(page, live_server, "ide.urgences")
    notes = page.locator("#notifications")
    assert f"Votre idée « {TITLE} » est acceptée pour instruction." in notes.inner_text()
    notes.get_by_role("link", name=f"Décision du comité sur « {TITLE} » : ").wait_for()
    page.goto(f"{live_server.url}/projets/idees/")
    page.get_by_role("table", name="Mes idées").get_by_role("link", name=TITLE).click()
    outcome = page.locator("#idea-outcome").inner_text()
    assert f"Décision du comité du {fr(today)} : généraliser sous conditions." in outcome
    assert CONDITIONS in outcome
    assert Notification.objects.filter(user=author).count() == 2

    # 10. the audit trail: who did what, and the chain is intact
    def events(object_type, pk):
        return AuditEvent.objects.filter(object_type=object_type, object_id=str(pk))

    assert events("lifecycle.idea", idea.pk).filter(action="create").get().actor_id == author.pk
    signing = events("governance.decision", decision.pk).filter(action="update").last()
    assert signing.actor_id == member.pk and "signed_at" in signing.changes
    assert (
        events("lifecycle.assessment", assessment.pk)
        .filter(action="update", changes__has_key="status")
        .exists()
    )
    transitions = AuditEvent.objects.filter(object_type="lifecycle.phasetransition")
    assert transitions.filter(action="create", actor_id=member.pk).count() == 5
    assert verify().ok
