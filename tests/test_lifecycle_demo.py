"""The lifecycle part of the demo data: projects at every phase with charters and indicator
histories, a stopped project with its reasons, an overdue re-evaluation."""

from __future__ import annotations

from garant.lifecycle import assessments, gates
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


def test_the_demo_passes_its_own_gates_and_shows_the_substance_checks(demo):
    from garant.governance.models import Action, Attendance
    from garant.lifecycle.models import NotApplicableIndicator

    in_poc = list(Project.objects.filter(phase="poc").prefetch_related(*gates.prefetch_names()))
    assert in_poc
    for project in in_poc:  # a PoC long enough, one monthly value per month, none ahead
        assert gates.blocked_reason(project) == "", project
    in_evaluation = Project.objects.filter(phase="evaluation")
    assert all(a.status == "draft" for p in in_evaluation for a in p.assessments.all())
    for assessment in Assessment.objects.filter(status=Assessment.Status.FROZEN):
        assert assessments.is_complete(assessment)
    marks = NotApplicableIndicator.objects.all()
    assert {m.code for m in marks} == {"discrimination", "drift"}
    assert all("transcription" in m.reason for m in marks)
    assert IndicatorValue.objects.filter(supersedes__isnull=False).exists()
    assert Attendance.objects.filter(conflict_of_interest=True).exists()
    assert Action.objects.filter(is_condition=True).exists()
