"""The recommendation logic of an assessment, and freezing (garant/lifecycle/assessments.py)."""

from __future__ import annotations

import pytest

from garant.core.audit import audit_context
from garant.lifecycle import assessments, grids
from garant.lifecycle.assessments import Score, recommend
from garant.lifecycle.models import AssessmentFrozen, CriterionScore
from tests.test_lifecycle_builders import add_value, frozen_assessment, make_charter, make_project

MEDICAL = grids.grid("medical_and_care")
ALL_MANDATORY = {m["code"] for c in MEDICAL.criteria for m in c.mandatory_indicators}


def scores(default=3, **overrides) -> dict[str, Score]:
    result = {c.code: Score(default) for c in MEDICAL.criteria}
    result.update(overrides)
    return result


@pytest.mark.parametrize("criterion", [c.code for c in MEDICAL.criteria])
def test_each_stop_if_forces_stop_and_names_it(criterion):
    result = recommend(MEDICAL, scores(4, **{criterion: Score(4, stop_if_met=True)}), ALL_MANDATORY)
    assert result.recommendation == "stop"
    c = MEDICAL.criterion(criterion)
    assert result.reasons == [
        f"Condition d'arrêt constatée — {c.n}. {c.title} : {c.text('stop_if')}."
    ]


def test_the_seeds_stop_conditions_are_named():
    stop_ifs = {c.text("stop_if") for c in MEDICAL.criteria}
    assert {
        "Non-conformité réglementaire",
        "Incidents critiques ou non contrôlables",
        "Dérive ou instabilité",
        "Surcoût non justifié",
    } <= stop_ifs


def test_stop_if_wins_over_missing_indicators():
    result = recommend(MEDICAL, scores(safety_risk=Score(3, True)), set())
    assert result.recommendation == "stop"


def test_missing_mandatory_indicators_give_not_yet_listing_them():
    measured = ALL_MANDATORY - {"drift", "gdpr_audit"}
    result = recommend(MEDICAL, scores(4), measured)
    assert result.recommendation == "not_yet"
    assert result.reasons == [
        "Indicateur obligatoire sans valeur mesurée — 4. Performance technique et robustesse : "
        "Dérive (drift) des modèles.",
        "Indicateur obligatoire sans valeur mesurée — 5. Conformité réglementaire et éthique : "
        "Audit RGPD conforme / non conforme.",
    ]


def test_an_unscored_criterion_gives_not_yet():
    result = recommend(MEDICAL, scores(4, acceptability=Score(None)), ALL_MANDATORY)
    assert result.recommendation == "not_yet"
    assert result.reasons == [
        "Critère non noté — 3. Acceptabilité et usage par les professionnels."
    ]


@pytest.mark.parametrize(
    "values, expected",
    [
        ({}, "generalise"),  # all 3: mean 3, min 3
        ({"clinical_impact": Score(4), "acceptability": Score(2)}, "generalise_with_conditions"),
        ({"acceptability": Score(1)}, "extend_poc"),  # mean ≥ 2.5 but a score below 2
        ({"clinical_impact": Score(1), "safety_risk": Score(1)}, "extend_poc"),
        ({c.code: Score(1) for c in MEDICAL.criteria}, "stop"),
    ],
)
def test_scores_against_thresholds(values, expected):
    result = recommend(MEDICAL, scores(3, **values), ALL_MANDATORY)
    assert result.recommendation == expected
    assert result.reasons[0].startswith("Moyenne pondérée")
    assert len(result.reasons) == 2


def test_weighted_mean_uses_the_grid_weights():
    # clinical_impact and safety_risk weigh 2, the four others 1: (2*4 + 2*4 + 4*1) / 8 = 2.5
    values = scores(1, clinical_impact=Score(4), safety_risk=Score(4))
    assert assessments.weighted_mean(MEDICAL, values) == 2.5
    result = recommend(MEDICAL, values, ALL_MANDATORY)
    assert result.recommendation == "extend_poc"  # mean 2.5 but lowest 1 < 2
    assert "note la plus basse 1" in result.reasons[0]


def test_missing_indicators_are_read_from_the_project_values(world):
    project = make_project(world["a"]["system"])
    charter = make_charter(project)
    with audit_context(source="test"):
        assessment = assessments.start(project, None)
    assert "Critère de jugement clinique" in " ".join(assessment.reasons)
    add_value(charter.indicators.get())
    assert assessments.measured_indicators(project) == {"clinical_outcome"}
    with audit_context(source="test"):
        assessments.compute(assessment)
    assert "Critère de jugement clinique" not in " ".join(assessment.reasons)


def test_freeze_is_idempotent_and_a_frozen_assessment_refuses_edits(world):
    project = make_project(world["a"]["system"])
    assessment = frozen_assessment(project)
    assert assessment.is_frozen and assessment.frozen_at
    assert assessment.snapshot["grid_version"] == "2026.1"
    assert [c["score"] for c in assessment.snapshot["criteria"]] == [3] * 6
    again = assessments.freeze(assessment, None)
    assert again.frozen_at == assessment.frozen_at
    assessment.summary = "changé"
    with pytest.raises(AssessmentFrozen):
        assessment.save()
    score = CriterionScore.objects.filter(assessment=assessment).first()
    score.score = 0
    with pytest.raises(AssessmentFrozen):
        score.save()
    with pytest.raises(AssessmentFrozen):
        score.delete()
    with pytest.raises(AssessmentFrozen):
        assessments.compute(assessment)
    assert CriterionScore.objects.get(pk=score.pk).score == 3
