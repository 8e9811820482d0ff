"""Decisions rest on substance, in a real headless Chromium, from the user's side: an empty
assessment is refused when frozen (with the list of what is missing); a PoC that started and
ended the same day cannot pass its gate (the message says why and how to override it with a
reason); a decision "sous conditions" turns its conditions into actions when signed (with the
meeting's attendance and quorum), and they block routine until done."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.governance.models import Action, Attendance, Decision
from garant.lifecycle import gates
from garant.lifecycle.models import Assessment
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)
from tests.test_governance_fixtures import make_committee, make_meeting
from tests.test_governance_fixtures import make_decision as record_decision
from tests.test_lifecycle_builders import add_value, frozen_assessment, make_charter, make_project

pytestmark = pytest.mark.browser


def flash(tab, text: str) -> None:
    tab.locator(".messages").get_by_text(text, exact=False).first.wait_for()


def change_phase(tab, phase: str, reason: str) -> None:
    form = tab.get_by_role("form", name="Changer de phase")
    form.get_by_label("Nouvelle phase").select_option(label=phase)
    form.get_by_label("Motif").fill(reason)
    form.get_by_role("button", name="Changer de phase").click()


def move(project, phase, user):
    with audit_context(user=user, source="test"):
        gates.transition(project, phase, user, "motif")


def test_an_empty_assessment_is_refused_when_frozen(page, live_server, est_a):  # noqa: F811
    member = make_user("comite", est_a, Role.COMMITTEE, first_name="Anne")
    project = make_project(make_system(est_a, name="Aide au tri"))
    login(page, live_server, "comite")
    page.goto(live_server.url + project.get_absolute_url())
    page.get_by_role("button", name="Nouvelle évaluation").click()
    page.get_by_role("heading", name=re.compile("^Évaluation sur la grille")).wait_for()

    # the first button a new assessor meets saves the scores; freezing comes last
    main = page.locator("main")
    assert main.get_by_role("button").first.inner_text() != "Figer l'évaluation…"
    assert main.get_by_role("button", name=re.compile("Figer")).count() == 0
    buttons = main.locator("button, a.btn").all_inner_texts()
    assert buttons.index("Enregistrer l'évaluation") < buttons.index("Figer l'évaluation…")

    page.get_by_role("link", name="Figer l'évaluation…").click()
    page.get_by_role("heading", name="L'évaluation ne peut pas encore être figée").wait_for()
    missing = page.locator("#freeze-problems li").all_inner_texts()
    assert len(missing) == 2 * 6  # each of the 6 criteria: its score and its stop-if answer
    assert any(m.startswith("Critère non noté — 1. Impact clinique") for m in missing)
    assert any(m.startswith("Condition d'arrêt sans réponse — 1.") for m in missing)
    assert page.get_by_role("button", name=re.compile("Confirmer")).count() == 0
    page.locator("#freeze-problems li").first.get_by_role("link", name="Compléter").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/#crit-clinical_impact$"))
    assessment = Assessment.objects.get(project=project)
    assert not assessment.is_frozen and assessment.assessor == member


def test_a_same_day_poc_cannot_pass_its_gate(page, live_server, est_a):  # noqa: F811
    member = make_user("comite", est_a, Role.COMMITTEE, first_name="Anne")
    project = make_project(make_system(est_a, name="Aide au tri"))
    charter = make_charter(project, min_duration_weeks=4, min_duration_reason="")
    move(project, "poc", member)
    add_value(charter.indicators.get())
    today = timezone.localdate()

    login(page, live_server, "comite")
    page.goto(live_server.url + project.get_absolute_url())
    change_phase(page, "Évaluation", "Fin du PoC")
    refusal = page.locator(".messages li").filter(has_text="Passage refusé")
    refusal.wait_for()
    text = refusal.inner_text()
    assert f"Le PoC a commencé le {today:%d/%m/%Y} et n'a duré que 0 jour(s)" in text
    assert "la charte demande au moins 4 semaine(s)" in text
    assert "réduisez la durée minimale dans la charte en indiquant le motif" in text
    assert page.locator("#project-phase").inner_text() == "Expérimentation / PoC"

    refusal.get_by_role("link", name="Corriger").click()  # to the charter
    page.get_by_label("Durée minimale du PoC (semaines)").fill("0")
    page.get_by_role("button", name="Enregistrer la charte").click()
    # the error is summarised at the top (focused, linking to the field) and shown by the field
    summary = page.locator(".error-summary")
    summary.get_by_text("Une durée minimale de moins de 4 semaines demande un motif").wait_for()
    assert page.evaluate("document.activeElement.closest('.error-summary') !== null")
    page.get_by_role("group", name="Périmètre").get_by_text(
        "Une durée minimale de moins de 4 semaines demande un motif"
    ).wait_for()
    page.get_by_label("Motif d'une durée minimale réduite").fill(
        "Validation rapide décidée par le Copil : mesures déjà faites sur l'historique."
    )
    page.get_by_role("button", name="Enregistrer la charte").click()
    flash(page, "Charte du PoC enregistrée.")
    change_phase(page, "Évaluation", "Fin du PoC")
    flash(page, "Le projet passe en phase « Évaluation ».")
    charter.refresh_from_db()
    assert charter.min_duration_weeks == 0 and "Copil" in charter.min_duration_reason


def test_conditions_become_actions_and_block_routine(page, live_server, est_a):  # noqa: F811
    member = make_user("comite", est_a, Role.COMMITTEE, first_name="Anne")
    project = make_project(make_system(est_a, name="Aide au tri"))
    make_charter(project)
    move(project, "poc", member)
    add_value(project.charter.indicators.get())
    move(project, "evaluation", member)
    frozen_assessment(project, member)
    move(project, "generalisation", member)
    committee = make_committee(est_a, members=5)  # quorum: the majority, 3
    meeting = make_meeting(committee, days=-1)
    decision = record_decision(meeting, project)  # "sous conditions", not signed
    members = list(committee.members.order_by("pk"))

    login(page, live_server, "comite")
    page.goto(live_server.url + decision.get_absolute_url())
    page.get_by_role("link", name="Signer la décision…").click()
    page.get_by_role("heading", name="Présences à la séance").wait_for()
    rows = page.get_by_role("table").locator("tbody tr")
    rows.filter(has_text=members[3].name).get_by_role("radio", name="excusé").check()
    rows.filter(has_text=members[4].name).get_by_role("radio", name="absent").check()
    second = rows.filter(has_text=members[1].name)
    second.get_by_role("checkbox").check()
    second.get_by_role("textbox").fill("Consultant rémunéré par l'éditeur")
    condition = page.get_by_role("group", name="Condition 1")
    assert condition.get_by_label("Condition").input_value() == (
        "Former les équipes de nuit avant le déploiement."
    )
    condition.get_by_label("Porteur (nom)").fill("Cadre de santé des urgences")
    due = timezone.localdate() + dt.timedelta(days=30)
    condition.get_by_label("Échéance").fill(due.isoformat())
    page.get_by_role("button", name="Confirmer : signer la décision").click()
    refused = page.locator("#sign-refused")
    refused.wait_for()
    assert "Quorum non atteint : 2 membre(s) présent(s) sans conflit d'intérêts" in (
        refused.inner_text()
    )
    decision.refresh_from_db()
    assert not decision.is_signed and not Action.objects.filter(decision=decision).exists()
    assert not Attendance.objects.filter(meeting=meeting).exists()  # nothing half-recorded

    rows.filter(has_text=members[4].name).get_by_role("radio", name="présent").check()
    page.get_by_role("button", name="Confirmer : signer la décision").click()
    flash(page, "Décision signée : elle ne peut plus être modifiée.")
    summary = page.locator("#attendance-summary").inner_text()
    assert "4 présent(s), 1 excusé(s), 0 absent(s)" in summary  # one with a conflict
    assert "quorum atteint (3 sur 3 requis)" in summary
    assert "Consultant rémunéré par l'éditeur" in page.locator("main").inner_text()
    actions = page.get_by_role("table", name="Actions").inner_text()
    assert "Former les équipes de nuit avant le déploiement." in actions
    assert "condition de la décision" in actions and "Cadre de santé des urgences" in actions

    page.goto(live_server.url + project.get_absolute_url())
    change_phase(page, "Routine", "Généralisation décidée")
    refusal = page.locator(".messages li").filter(has_text="Passage refusé")
    refusal.wait_for()
    assert "« Former les équipes de nuit avant le déploiement. »" in refusal.inner_text()
    assert f"échéance le {due:%d/%m/%Y}" in refusal.inner_text()
    refusal.get_by_role("link", name="Corriger").click()  # to the action
    page.get_by_label("Statut").select_option(label="réalisée")
    page.get_by_role("button", name="Enregistrer").click()
    page.goto(live_server.url + project.get_absolute_url())
    change_phase(page, "Routine", "Généralisation décidée, condition levée")
    flash(page, "Le projet passe en phase « Routine ».")
    decision = Decision.objects.get(pk=decision.pk)
    assert decision.is_signed and decision.signed_by == member
    assert decision.actions.get().is_condition
