"""REST API of the lifecycle: ideas, projects and their transitions, the charter with its
indicators and values, assessments. Input goes through the web forms, records through
`garant.core.permissions` (see `garant.core.api`), gates through `gates.transition`."""

from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from garant.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    FormErrors,
    Id,
    Pagination,
    Text,
    get_scoped,
    require_permission,
    save_form,
    without_empty,
)
from garant.core.filtersets import filtered
from garant.lifecycle import assessments, gates
from garant.lifecycle.filtersets import ProjectFilterSet
from garant.lifecycle.forms import CharterForm, IdeaForm, IndicatorForm, IndicatorValueForm
from garant.lifecycle.models import Assessment, Idea, Indicator, PocCharter, Project

# --- ideas -----------------------------------------------------------------------------------

ideas = Router(tags=["Idées"])


class IdeaIn(Schema):
    establishment: Id | None = None
    title: Text = ""
    need: Text = ""
    service: Id | None = None
    expected_benefit: Text = Field("", description="patients, staff ou both.")
    benefit_details: Text = ""
    data_available: Text = ""
    solution_known: bool = False
    solution_name: Text = ""


class IdeaOut(Schema):
    id: int
    establishment: int = Field(alias="establishment_id")
    author: int | None = Field(alias="author_id")
    title: str
    need: str
    service: int | None = Field(alias="service_id")
    expected_benefit: str
    status: str
    status_label: str = Field(alias="get_status_display")
    triage_reason: str
    merged_into: int | None = Field(alias="merged_into_id")
    project: int | None = Field(alias="project_id")
    created_at: datetime


@ideas.get("", response=list[IdeaOut], summary="Idées visibles (les siennes et celles à trier)")
@paginate(Pagination)
def list_ideas(request):
    return Idea.objects.for_user(request.user).order_by("-created_at", "-pk")


@ideas.post("", response={201: IdeaOut, **WRITE_ERRORS}, summary="Proposer une idée")
def create_idea(request, payload: IdeaIn):
    require_permission(
        request, "submit_idea", payload.establishment, _("Aucun rôle dans cet établissement.")
    )
    form = IdeaForm(payload.dict(), user=request.user)
    form.instance.author = request.user
    return Status(201, save_form(form))


# --- projects and transitions ------------------------------------------------------------------

projects = Router(tags=["Projets"])


class ProjectOut(Schema):
    id: int
    establishment: int = Field(alias="establishment_id")
    ai_system: int = Field(alias="ai_system_id")
    name: str = Field(alias="ai_system.name")
    phase: str
    phase_label: str = Field(alias="get_phase_display")
    phase_entered_at: datetime
    modality: str
    grid: str = Field(alias="effective_grid_code")
    next_review_date: date | None
    review_overdue: bool
    allowed_phases: list[str]
    blocked: str

    @staticmethod
    def resolve_allowed_phases(obj):
        return gates.allowed_targets(obj)

    @staticmethod
    def resolve_blocked(obj):
        return gates.blocked_reason(obj)


class TransitionIn(Schema):
    to_phase: str = Field(description="Code de la phase visée (vocabulaire « phase »).")
    reason: Text = ""


class TransitionOut(Schema):
    id: int
    from_phase: str
    to_phase: str
    by: int | None = Field(alias="by_id")
    at: datetime
    reason: str


class Refusal(Schema):
    detail: list[str] = Field(description="Ce qui manque pour franchir l'étape, en français.")


def project_queryset():
    return Project.objects.select_related("ai_system").prefetch_related(*gates.prefetch_names())


class ProjectFilters(Schema):
    """The filters of the portfolio's page (`ProjectFilterSet`), as query parameters."""

    establishment: Id | None = None
    domain: str | None = Field(None, description="Code du vocabulaire « domain ».")
    solution_type: str | None = Field(None, description="Code du vocabulaire « solution_type ».")
    service: Id | None = None
    phase: str | None = Field(None, description="Code du vocabulaire « phase ».")
    blocked: bool | None = Field(None, description="true : bloqués à une étape seulement.")


@projects.get("", response=list[ProjectOut], summary="Portefeuille des projets")
@paginate(Pagination)
def list_projects(request, filters: Query[ProjectFilters]):
    """Avec les filtres du portefeuille."""
    base = project_queryset().for_user(request.user)
    filterset, queryset = filtered(ProjectFilterSet, request, base, without_empty(filters))
    if not filterset.is_valid():
        raise FormErrors(filterset.errors)
    return queryset


@projects.get("/{project_id}", response={200: ProjectOut, **READ_ERRORS})
def get_project(request, project_id: Id):
    return get_scoped(request, project_queryset(), project_id)


@projects.get("/{project_id}/transitions", response={200: list[TransitionOut], **READ_ERRORS})
def list_transitions(request, project_id: Id):
    return get_scoped(request, Project.objects.all(), project_id).transitions.all()


@projects.post(
    "/{project_id}/transitions",
    response={201: TransitionOut, **WRITE_ERRORS, 409: Refusal},
    summary="Changer de phase (refusé 409 avec ce qui manque)",
)
def create_transition(request, project_id: Id, payload: TransitionIn):
    project = get_scoped(request, Project.objects.all(), project_id, "assess")
    try:
        step = gates.transition(project, payload.to_phase or "", request.user, payload.reason or "")
    except gates.GateRefused as exc:
        return Status(409, {"detail": exc.messages})
    return Status(201, step)


# --- charter, indicators, values ---------------------------------------------------------------


class CharterIn(Schema):
    use_case: Text = ""
    operational_objective: Text = ""
    services: list[Id] = []
    users_count: int | None = None
    patient_population: Text = ""
    duration_weeks: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    users_involved: Text = ""
    data_quality_check: Text = ""
    scalability: Text = ""
    integration: Text = ""
    regulatory_status: Text = ""
    budget: Decimal | None = None
    budget_notes: Text = ""


class CharterOut(CharterIn):
    id: int
    project: int = Field(alias="project_id")
    warnings: list[str]

    @staticmethod
    def resolve_services(obj):
        return [s.pk for s in obj.services.all()]

    @staticmethod
    def resolve_warnings(obj):
        from garant.lifecycle.charter import warnings

        return warnings(obj)


@projects.get("/{project_id}/charter", response={200: CharterOut, **READ_ERRORS})
def get_charter(request, project_id: Id):
    project = get_scoped(request, Project.objects.all(), project_id)
    charter = PocCharter.objects.within(project=project).first()
    if charter is None:
        raise HttpError(404, _("Ce projet n'a pas encore de charte."))
    return charter


@projects.put("/{project_id}/charter", response={200: CharterOut, **WRITE_ERRORS})
def put_charter(request, project_id: Id, payload: CharterIn):
    project = get_scoped(request, Project.objects.all(), project_id, "assess")
    charter = PocCharter.objects.within(project=project).first()
    return save_form(CharterForm(payload.dict(), instance=charter, project=project))


class IndicatorIn(Schema):
    name: Text = ""
    unit: Text = ""
    baseline: Decimal | None = None
    target: Decimal | None = None
    direction: Text = "higher"
    measurement_method: Text = ""
    frequency: Text = "monthly"
    source: Text = "manual"
    feed: Id | None = None
    metric: Text = ""
    criterion_code: Text = ""
    grid_indicator: Text = ""


class IndicatorOut(IndicatorIn):
    id: int
    feed: int | None = Field(alias="feed_id")
    is_measurable: bool


class ValueIn(Schema):
    value: Decimal
    measured_on: date
    comment: Text = ""


class ValueOut(ValueIn):
    id: int
    source: str
    recorded_by: int | None = Field(alias="recorded_by_id")


@projects.get("/{project_id}/indicators", response={200: list[IndicatorOut], **READ_ERRORS})
def list_indicators(request, project_id: Id):
    project = get_scoped(request, Project.objects.all(), project_id)
    return Indicator.objects.within(charter__project=project)


@projects.post("/{project_id}/indicators", response={201: IndicatorOut, **WRITE_ERRORS})
def create_indicator(request, project_id: Id, payload: IndicatorIn):
    project = get_scoped(request, Project.objects.all(), project_id, "assess")
    charter = PocCharter.objects.within(project=project).first()
    if charter is None:
        raise HttpError(409, _("Rédigez d'abord la charte du PoC."))
    return Status(201, save_form(IndicatorForm(payload.dict(), charter=charter)))


indicators = Router(tags=["Projets"])


@indicators.get("/{indicator_id}/values", response={200: list[ValueOut], **READ_ERRORS})
def list_values(request, indicator_id: Id):
    return get_scoped(request, Indicator.objects.all(), indicator_id).values.all()


@indicators.post("/{indicator_id}/values", response={201: ValueOut, **WRITE_ERRORS})
def create_value(request, indicator_id: Id, payload: ValueIn):
    indicator = get_scoped(
        request, Indicator.objects.select_related("charter__project"), indicator_id, "assess"
    )
    form = IndicatorValueForm(payload.dict(), indicator=indicator)
    form.instance.recorded_by = request.user
    return Status(201, save_form(form))


# --- assessments -------------------------------------------------------------------------------

assessments_router = Router(tags=["Évaluations"])


class ScoreOut(Schema):
    criterion_code: str
    score: int | None
    stop_if_met: bool | None
    comment: str


class AssessmentOut(Schema):
    id: int
    project: int = Field(alias="project_id")
    grid_code: str
    grid_version: str
    assessor: int | None = Field(alias="assessor_id")
    status: str
    recommendation: str
    reasons: list[str]
    frozen_at: datetime | None
    scores: list[ScoreOut]

    @staticmethod
    def resolve_scores(obj):
        return list(obj.scores.all())


class ScoreIn(Schema):
    criterion_code: str
    score: int | None = Field(None, ge=0, le=10)
    stop_if_met: bool | None = None
    comment: Text = ""


class ScoresIn(Schema):
    scores: list[ScoreIn]


@projects.post("/{project_id}/assessments", response={201: AssessmentOut, **WRITE_ERRORS})
def create_assessment(request, project_id: Id):
    project = get_scoped(request, Project.objects.all(), project_id, "assess")
    return Status(201, assessments.start(project, request.user))


@assessments_router.get("/{assessment_id}", response={200: AssessmentOut, **READ_ERRORS})
def get_assessment(request, assessment_id: Id):
    return get_scoped(request, Assessment.objects.all(), assessment_id)


@assessments_router.put("/{assessment_id}/scores", response={200: AssessmentOut, **WRITE_ERRORS})
def put_scores(request, assessment_id: Id, payload: ScoresIn):
    assessment = get_scoped(request, Assessment.objects.all(), assessment_id, "assess")
    if assessment.is_frozen:
        raise HttpError(409, _("Cette évaluation est figée : elle ne peut plus être modifiée."))
    grid = assessments.grid_of(assessment)
    scores = {s.criterion_code: s for s in assessment.scores.all()}
    for item in payload.scores:
        criterion = grid.criterion(item.criterion_code)
        if criterion is None or item.criterion_code not in scores:
            raise HttpError(422, _("Critère inconnu : %(c)s") % {"c": item.criterion_code})
        if item.score is not None and not criterion.scale.min <= item.score <= criterion.scale.max:
            raise HttpError(
                422,
                _("Note hors de l'échelle %(min)s–%(max)s pour %(c)s")
                % {"min": criterion.scale.min, "max": criterion.scale.max, "c": criterion.code},
            )
        score = scores[item.criterion_code]
        score.score, score.stop_if_met, score.comment = (
            item.score,
            item.stop_if_met,
            item.comment or "",
        )
        score.save()
    return assessments.compute(assessment)


@assessments_router.post("/{assessment_id}/freeze", response={200: AssessmentOut, **WRITE_ERRORS})
def freeze_assessment(request, assessment_id: Id):
    assessment = get_scoped(request, Assessment.objects.all(), assessment_id, "assess")
    try:
        return assessments.freeze(assessment, request.user)
    except assessments.FreezeRefused as refused:
        raise HttpError(409, str(refused)) from None
