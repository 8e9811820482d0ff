"""Decisions rest on substance, on the lifecycle's side: freezing refuses an incomplete
assessment, gates check content (PoC duration, dating of values, values per frequency, a
complete frozen assessment), corrections supersede values used by a frozen assessment, grid
indicators may be marked not applicable with a reason, and every warning links to its fix."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.lifecycle import assessments, gates
from garant.lifecycle.assessments import FreezeRefused
from garant.lifecycle.gates import GateRefused
from garant.lifecycle.models import (
    Assessment,
    CriterionScore,
    IndicatorValue,
    NotApplicableIndicator,
    PhaseTransition,
)
from tests.conftest import token_client
from tests.test_lifecycle_builders import add_value, frozen_assessment, make_charter, make_project


@pytest.fixture
def user(world):
    return world["users"]["a"]["committee"]


@pytest.fixture
def project(world):
    return make_project(world["a"]["system"])


def move(project, phase, user, reason="motif"):
    with audit_context(user=user, source="test"):
        return gates.transition(project, phase, user, reason)


def refused(project, phase, user) -> list[str]:
    with pytest.raises(GateRefused) as exc:
        move(project, phase, user)
    return exc.value.messages


def started(project, days_ago: int) -> None:
    """The project entered the PoC `days_ago` days ago."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    PhaseTransition.objects.filter(project=project, to_phase="poc").update(at=at)


# --- freezing -----------------------------------------------------------------------------------


def test_an_empty_assessment_is_never_frozen_and_the_list_says_why(project, user):
    with audit_context(source="test"):
        assessment = assessments.start(project, user)
        with pytest.raises(FreezeRefused) as exc:
            assessments.freeze(assessment, user)
    grid = assessments.grid_of(assessment)
    texts = [p["text"] for p in exc.value.problems]
    assert len(texts) == 2 * len(grid.criteria)
    assert texts[0].startswith("Critère non noté — 1.")
    assert texts[1].startswith("Condition d'arrêt sans réponse — 1.")
    assessment.refresh_from_db()
    assert not assessment.is_frozen and assessment.snapshot == {}


def test_a_partial_assessment_is_refused_until_every_stop_if_is_answered(project, user):
    with audit_context(source="test"):
        assessment = assessments.start(project, user)
        CriterionScore.objects.filter(assessment=assessment).update(score=3)
        with pytest.raises(FreezeRefused, match="Condition d'arrêt sans réponse"):
            assessments.freeze(assessment, user)
        CriterionScore.objects.filter(assessment=assessment).update(stop_if_met=False)
        frozen = assessments.freeze(assessment, user)
    assert frozen.is_frozen and assessments.is_complete(frozen)
    assert all(c["stop_if_met"] is False for c in frozen.snapshot["criteria"])


def test_freezing_asks_for_confirmation_and_refuses_with_the_list(world, client_for, project):
    client = client_for(world["users"]["a"]["committee"])
    client.post(f"/projets/{project.pk}/evaluations/nouvelle/")
    assessment = Assessment.objects.get(project=project)
    url = reverse("lifecycle:assessment_freeze", args=[assessment.pk])
    page = client.get(assessment.get_absolute_url()).content.decode()
    assert page.index("Enregistrer l'évaluation") < page.index("Figer l'évaluation…")
    assert f'action="{url}"' not in page  # a link to a confirmation step, not a button
    page = client.get(url).content.decode()
    assert "ne peut pas encore être figée" in page and "Confirmer" not in page
    assert "#crit-clinical_impact" in page
    response = client.post(url, {"confirm": "yes"})
    assert response.status_code == 400 and "Critère non noté" in response.content.decode()
    assessment.refresh_from_db()
    assert not assessment.is_frozen

    CriterionScore.objects.filter(assessment=assessment).update(score=3, stop_if_met=False)
    page = client.get(url).content.decode()
    assert "Confirmer : figer l'évaluation" in page and "6 / 6" in page
    assert client.post(url).status_code == 400  # no confirmation: nothing happens
    assessment.refresh_from_db()
    assert not assessment.is_frozen
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assessment.refresh_from_db()
    assert assessment.is_frozen


def test_the_api_refuses_to_freeze_an_incomplete_assessment(world, project):
    client = token_client(world["users"]["a"]["committee"])
    with audit_context(source="test"):
        assessment = assessments.start(project, world["users"]["a"]["committee"])
    response = client.post(f"/api/assessments/{assessment.pk}/freeze")
    assert response.status_code == 409
    assert "Critère non noté" in response.json()["detail"]
    assessment.refresh_from_db()
    assert not assessment.is_frozen


def test_an_empty_or_partial_frozen_assessment_never_satisfies_a_gate(project, user):
    charter = make_charter(project)
    move(project, "poc", user)
    add_value(charter.indicators.get())
    move(project, "evaluation", user)
    with audit_context(source="test"):  # frozen by hand, as an older version could have
        assessment = assessments.start(project, user)
        Assessment.objects.filter(pk=assessment.pk).update(
            status="frozen", frozen_at=timezone.now(), snapshot={}
        )
    [message] = refused(project, "generalisation", user)
    assert "La dernière évaluation figée est incomplète" in message
    assert message.url == project.get_absolute_url()
    frozen_assessment(project, user)
    move(project, "generalisation", user)


# --- the PoC gate: duration, dating of values, values per frequency ----------------------------


def test_a_poc_started_and_ended_the_same_day_is_refused_with_the_way_out(project, user):
    charter = make_charter(project, min_duration_weeks=4, min_duration_reason="")
    move(project, "poc", user)
    add_value(charter.indicators.get())
    [message] = refused(project, "evaluation", user)
    today = timezone.localdate()
    assert f"Le PoC a commencé le {today:%d/%m/%Y} et n'a duré que 0 jour(s)" in message
    assert "au moins 4 semaine(s)" in message
    assert f"jusqu'au {today + dt.timedelta(weeks=4):%d/%m/%Y}" in message
    assert "réduisez la durée minimale dans la charte en indiquant le motif" in message
    assert message.url == reverse("lifecycle:charter_edit", args=[project.pk])
    started(project, 28)
    move(project, "evaluation", user)


def test_the_charter_lowers_the_minimum_duration_only_with_a_reason(world, client_for, project):
    client = client_for(world["users"]["a"]["committee"])
    data = {"use_case": "Sepsis", "operational_objective": "Délai", "min_duration_weeks": "1"}
    response = client.post(f"/projets/{project.pk}/charte/", data)
    assert response.status_code == 200
    assert "demande un motif" in response.content.decode()
    data["min_duration_reason"] = "Validation rapide décidée par le Copil"
    assert client.post(f"/projets/{project.pk}/charte/", data).status_code == 302
    project.charter.refresh_from_db()
    assert project.charter.min_duration_weeks == 1
    del data["min_duration_weeks"]  # empty: the default, and no reason kept
    assert client.post(f"/projets/{project.pk}/charte/", data).status_code == 302
    project.charter.refresh_from_db()
    assert (project.charter.min_duration_weeks, project.charter.min_duration_reason) == (4, "")


def test_values_are_dated_inside_the_poc_and_never_in_the_future(world, client_for, project):
    charter = make_charter(project)  # 01/06/2026 → 30/09/2026
    indicator = charter.indicators.get()
    move(project, "poc", world["users"]["a"]["committee"])
    client = client_for(world["users"]["a"]["committee"])
    url = reverse("lifecycle:indicator_values", args=[indicator.pk])
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    for day, error in (
        (tomorrow, "est dans le futur"),
        (dt.date(2026, 5, 31), "précède le début du PoC (01/06/2026)"),
        (dt.date(2026, 10, 1), "suit la fin du PoC (30/09/2026)"),
    ):
        response = client.post(url, {"value": "70", "measured_on": day.isoformat()})
        assert error in response.content.decode(), day
    assert not IndicatorValue.objects.filter(indicator=indicator).exists()
    client.post(url, {"value": "70", "measured_on": "2026-09-30"})
    assert IndicatorValue.objects.filter(indicator=indicator).count() == 1


def test_after_the_poc_follow_up_values_may_follow_its_end(world, client_for, project):
    charter = make_charter(project, end_date=dt.date(2026, 7, 31))
    indicator = charter.indicators.get()
    user = world["users"]["a"]["committee"]
    move(project, "poc", user)
    add_value(indicator)
    move(project, "evaluation", user)
    url = reverse("lifecycle:indicator_values", args=[indicator.pk])
    client_for(user).post(url, {"value": "65", "measured_on": "2026-11-02"})
    assert indicator.values.filter(measured_on=dt.date(2026, 11, 2)).exists()


@pytest.mark.parametrize(
    ("frequency", "needed"), [("weekly", 17), ("monthly", 4), ("quarterly", 1), ("end", 1)]
)
def test_each_measurable_indicator_has_the_values_its_frequency_implies(
    project, user, frequency, needed
):
    charter = make_charter(project, frequency=frequency)  # 01/06 → 30/09/2026: 121 days
    indicator = charter.indicators.get()
    move(project, "poc", user)
    add_value(indicator, on=dt.date(2026, 6, 15))
    add_value(indicator, on=dt.date(2026, 10, 15))  # after the PoC's end: not counted
    start, end = gates.poc_period(project, timezone.localdate())
    assert (start, end) == (dt.date(2026, 6, 1), dt.date(2026, 9, 30))
    assert gates.expected_values(indicator, start, end) == needed
    if needed == 1:
        move(project, "evaluation", user)
        return
    [message] = refused(project, "evaluation", user)
    assert (
        f"1 valeur(s) du 01/06/2026 au 30/09/2026, sa fréquence ({indicator.get_frequency_display().lower()}) en demande {needed}"
        in message
    )  # noqa: E501
    assert message.url == reverse("lifecycle:indicator_values", args=[indicator.pk])
    with audit_context(source="test"):
        indicator.shortfall_reason = "Extraction DPI indisponible en juillet et août."
        indicator.save()
    move(project, "evaluation", user)


def test_enough_values_pass_the_frequency_check(project, user):
    charter = make_charter(project, frequency="monthly")
    indicator = charter.indicators.get()
    move(project, "poc", user)
    for month in (6, 7, 8, 9):
        add_value(indicator, on=dt.date(2026, month, 28))
    move(project, "evaluation", user)


def test_a_non_measurable_indicator_is_not_counted(project, user):
    charter = make_charter(project, frequency="weekly")
    move(project, "poc", user)
    add_value(charter.indicators.get())
    with audit_context(source="test"):
        charter.indicators.update(target=None)
    move(project, "evaluation", user)


# --- corrections -------------------------------------------------------------------------------


def test_a_value_not_yet_used_is_corrected_in_place(world, client_for, project):
    charter = make_charter(project)
    value = add_value(charter.indicators.get())
    client = client_for(world["users"]["a"]["committee"])
    url = reverse("lifecycle:indicator_value_edit", args=[value.pk])
    assert "Enregistrer la correction" not in client.get(url).content.decode()
    response = client.post(url, {"value": "72", "measured_on": "2026-07-02"})
    assert response.status_code == 302
    value.refresh_from_db()
    assert (value.value, value.measured_on) == (Decimal("72"), dt.date(2026, 7, 2))
    assert IndicatorValue.objects.count() == 1


def test_a_value_used_by_a_frozen_assessment_is_superseded_not_changed(world, client_for, project):
    user = world["users"]["a"]["committee"]
    charter = make_charter(project)
    value = add_value(charter.indicators.get())
    assessment = frozen_assessment(project, user)
    Assessment.objects.filter(pk=assessment.pk).update(status="draft")  # retain the value...
    with audit_context(source="test"):
        assessment.scores.first().indicator_values.add(value)
    Assessment.objects.filter(pk=assessment.pk).update(status="frozen")  # ...then frozen
    assert value.used_in_frozen_assessment

    client = client_for(user)
    url = reverse("lifecycle:indicator_value_edit", args=[value.pk])
    page = client.get(url).content.decode()
    assert "retenue par une évaluation figée" in page
    response = client.post(url, {"value": "75", "measured_on": "2026-07-01"})
    assert response.status_code == 400  # the reason of the correction is required
    response = client.post(
        url, {"value": "75", "measured_on": "2026-07-01", "comment": "Erreur d'extraction"}
    )
    assert response.status_code == 302
    value.refresh_from_db()
    assert value.value == Decimal("70")  # unchanged
    correction = value.superseded_by
    assert (correction.value, correction.comment) == (Decimal("75"), "Erreur d'extraction")
    assert correction.recorded_by == user
    assert gates.current_values(charter.indicators.get()) == [correction]
    page = client.get(reverse("lifecycle:indicator_values", args=[value.indicator_id])).content
    assert "corrigée" in page.decode() and "Corrige 70 du 01/07/2026" in page.decode()
    response = client.post(url, {"value": "76", "measured_on": "2026-07-01", "comment": "x"})
    assert response.status_code == 302 and IndicatorValue.objects.count() == 2  # refused


# --- grid indicators that do not apply ---------------------------------------------------------


def test_a_grid_indicator_marked_not_applicable_with_a_reason_unblocks_the_recommendation(
    world, client_for, project
):
    user = world["users"]["a"]["committee"]
    with audit_context(source="test"):
        assessment = assessments.start(project, user)
        CriterionScore.objects.filter(assessment=assessment).update(score=4, stop_if_met=False)
        assessments.compute(assessment)
    assert assessment.recommendation == "not_yet"
    grid = assessments.grid_of(assessment)
    codes = [m["code"] for c in grid.criteria for m in c.mandatory_indicators]

    client = client_for(user)
    url = reverse("lifecycle:not_applicable", args=[project.pk])
    response = client.post(url, {"code": "drift", "reason": "  "})
    assert response.status_code == 400 and not NotApplicableIndicator.objects.exists()
    for code in codes:
        response = client.post(url, {"code": code, "reason": "Outil de dictée : sans objet"})
        assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.recommendation == "generalise"  # recomputed, reachable
    frozen = assessments.freeze(assessment, user)
    assert {n["code"] for n in frozen.snapshot["not_applicable"]} == set(codes)
    assert "Outil de dictée" in frozen.snapshot["not_applicable"][0]["reason"]
    mark = NotApplicableIndicator.objects.get(project=project, code="drift")
    assert mark.by == user
    client.post(url, {"remove": str(mark.pk)})
    assert not NotApplicableIndicator.objects.filter(pk=mark.pk).exists()


def test_not_applicable_needs_the_assess_permission(world, client_for, project):
    url = reverse("lifecycle:not_applicable", args=[project.pk])
    response = client_for(world["users"]["a"]["auditor"]).post(url, {"code": "drift"})
    assert response.status_code in (403, 404)
    assert not NotApplicableIndicator.objects.exists()


# --- every warning links to the page that fixes it ---------------------------------------------


def test_assessment_warnings_link_to_their_fix(world, client_for, project):
    make_charter(project)
    client = client_for(world["users"]["a"]["committee"])
    client.post(f"/projets/{project.pk}/evaluations/nouvelle/")
    assessment = Assessment.objects.get(project=project)
    page = client.get(assessment.get_absolute_url()).content.decode()
    create = reverse("lifecycle:indicator_create", args=[project.pk])
    na = reverse("lifecycle:not_applicable", args=[project.pk])
    assert f'href="{create}?grid_indicator=drift&amp;criterion_code=technical_performance"' in page
    assert f'href="{na}?code=drift"' in page
    assert 'href="#crit-clinical_impact"' in page
    form = client.get(f"{create}?grid_indicator=drift&criterion_code=technical_performance")
    assert '<option value="drift" selected>' in form.content.decode()
    form = client.get(f"{na}?code=drift").content.decode()
    assert '<option value="drift" selected>' in form


def test_gate_refusals_and_the_blocked_step_link_to_their_fix(world, client_for, project):
    client = client_for(world["users"]["a"]["committee"])
    response = client.post(
        f"/projets/{project.pk}/phase/", {"to_phase": "poc", "reason": "x"}, follow=True
    )
    charter_url = reverse("lifecycle:charter_edit", args=[project.pk])
    page = response.content.decode()
    assert "Passage refusé : Pas de charte de PoC" in page
    assert f'<a href="{charter_url}">Corriger</a>' in page
    blocked = page[page.index('id="project-blocked"') :]
    assert f'href="{charter_url}"' in blocked[: blocked.index("</p>")]
    portfolio = client.get(reverse("lifecycle:portfolio")).content.decode()
    assert f'<a href="{charter_url}">Corriger</a>' in portfolio
    make_charter(project, users_involved="")
    page = client.get(project.get_absolute_url()).content.decode()
    assert "Aucun utilisateur impliqué" in page and "Compléter la charte" in page
