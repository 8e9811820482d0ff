"""The lifecycle part of the demo data: projects at every phase with charters and indicator
histories, a stopped project with its reasons, an overdue re-evaluation."""

from __future__ import annotations

from garant.lifecycle import gates
from garant.lifecycle.models import Assessment, Idea, IndicatorValue, Project


def test_projects_at_every_phase_with_charters_and_histories(demo):
    phases = set(Project.objects.values_list("phase", flat=True))
    assert phases == {
        "instruction",
        "poc",
        "evaluation",
        "generalisation",
        "routine",
        "suspended",
        "retired",
    }
    for project in Project.objects.select_related("ai_system"):
        assert project.ai_system.phase == project.phase
        assert project.transitions.exists()
    assert IndicatorValue.objects.filter(indicator__charter__project__phase="routine").count() > 20
    assert Idea.objects.filter(status="submitted").exists()


def test_a_stopped_project_with_its_reasons(demo):
    retired = Project.objects.filter(phase="retired").first()
    assessment = retired.assessments.get(status=Assessment.Status.FROZEN)
    assert assessment.recommendation == "stop"
    assert assessment.reasons[0].startswith("Condition d'arrêt constatée")


def test_an_overdue_reevaluation(demo):
    overdue = [p for p in Project.objects.filter(phase="routine") if p.review_overdue]
    assert len(overdue) == 1
    assert "Réévaluation en retard" in gates.blocked_reason(overdue[0])
