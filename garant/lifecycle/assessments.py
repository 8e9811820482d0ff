"""Assessments on a decision grid: the recommendation and its reasons, and freezing.

The recommendation, in this order:

1. a stop-if condition found met on any criterion forces "arrêter" (reasons: which ones);
2. a mandatory indicator of the grid without any measured value, or a criterion not scored,
   gives "pas encore" (reasons: which ones);
3. otherwise the weighted mean of the scores and the lowest score are compared with the
   grid's thresholds: généraliser, généraliser sous conditions, prolonger le PoC, else arrêter.

`recommend` is a pure function of the grid and the scores, so every branch is tested without
a database; `compute` reads an assessment's scores and indicators and stores the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from garant.core.referentials import localized
from garant.incidents import loop as incident_loop
from garant.lifecycle import grids
from garant.lifecycle.models import (
    Assessment,
    AssessmentFrozen,
    CriterionScore,
    IndicatorValue,
    NotApplicableIndicator,
    PocCharter,
    Recommendation,
)
from garant.risks import analyses as risk_analyses


@dataclass(frozen=True)
class Score:
    value: int | None
    stop_if_met: bool | None = False  # None: not answered yet


@dataclass
class Result:
    recommendation: str
    reasons: list[str] = field(default_factory=list)
    mean: float | None = None


def _num(value: float) -> str:
    return number_format(round(value, 2), decimal_pos=2)


def weighted_mean(grid: grids.Grid, scores: dict[str, Score]) -> float | None:
    scored = [(c, scores[c.code].value) for c in grid.criteria if scores.get(c.code)]
    scored = [(c, v) for c, v in scored if v is not None]
    if not scored:
        return None
    total = sum(c.weight for c, _v in scored)
    return sum(c.weight * v for c, v in scored) / total


def recommend(grid: grids.Grid, scores: dict[str, Score], measured: set[str]) -> Result:
    """The recommendation for `scores` ({criterion code: Score}) on `grid`, given the codes of
    the grid's mandatory indicators that have at least one measured value."""
    stops = [c for c in grid.criteria if scores.get(c.code) and scores[c.code].stop_if_met]
    if stops:
        return Result(
            Recommendation.STOP,
            [
                _("Condition d'arrêt constatée — %(n)s. %(title)s : %(stop_if)s.")
                % {"n": c.n, "title": c.title, "stop_if": c.text("stop_if")}
                for c in stops
            ],
            weighted_mean(grid, scores),
        )
    reasons = [
        _("Indicateur obligatoire sans valeur mesurée — %(n)s. %(title)s : %(indicator)s.")
        % {"n": c.n, "title": c.title, "indicator": localized(item)}
        for c in grid.criteria
        for item in c.mandatory_indicators
        if item["code"] not in measured
    ]
    reasons += [
        _("Critère non noté — %(n)s. %(title)s.") % {"n": c.n, "title": c.title}
        for c in grid.criteria
        if scores.get(c.code) is None or scores[c.code].value is None
    ]
    if reasons:
        return Result(Recommendation.NOT_YET, reasons, weighted_mean(grid, scores))

    mean = weighted_mean(grid, scores)
    lowest = min(scores[c.code].value for c in grid.criteria)
    weakest = [c for c in grid.criteria if scores[c.code].value == lowest]
    scale_max = max(c.scale.max for c in grid.criteria)
    summary = _("Moyenne pondérée %(mean)s / %(max)s ; note la plus basse %(low)s (%(which)s).") % {
        "mean": _num(mean),
        "max": scale_max,
        "low": lowest,
        "which": ", ".join(f"{c.n}. {c.title}" for c in weakest),
    }
    t = grid.thresholds
    for recommendation in grids.RECOMMENDATION_LEVELS:
        threshold = t[recommendation]
        if mean >= threshold["mean"] and lowest >= threshold.get("min", 0):
            return Result(
                recommendation, [summary, _threshold_reason(recommendation, threshold)], mean
            )
    return Result(
        Recommendation.STOP,
        [
            summary,
            _("Sous le seuil de prolongation du PoC (moyenne %(mean)s) : arrêter.")
            % {"mean": _num(t[Recommendation.EXTEND_POC]["mean"])},
        ],
        mean,
    )


def _threshold_reason(recommendation: str, threshold: dict) -> str:
    label = Recommendation(recommendation).label
    if "min" in threshold:
        return _("Seuil « %(label)s » atteint : moyenne ≥ %(mean)s et aucune note < %(min)s.") % {
            "label": label,
            "mean": _num(threshold["mean"]),
            "min": threshold["min"],
        }
    return _("Seuil « %(label)s » atteint : moyenne ≥ %(mean)s.") % {
        "label": label,
        "mean": _num(threshold["mean"]),
    }


# --- assessments in the database ---------------------------------------------------------------


def grid_of(assessment: Assessment) -> grids.Grid:
    return grids.grid(assessment.grid_code, assessment.grid_version)


def measured_indicators(project) -> set[str]:
    """Codes of the grid's mandatory indicators measured at least once for the project, and
    of those marked not applicable to it (with a reason)."""
    measured = set(
        IndicatorValue.objects.within(indicator__charter__project=project)
        .exclude(indicator__grid_indicator="")
        .values_list("indicator__grid_indicator", flat=True)
        .distinct()
    )
    return measured | not_applicable(project)


def not_applicable(project) -> set[str]:
    """Codes of the grid's mandatory indicators marked not applicable to `project`."""
    return set(
        NotApplicableIndicator.objects.within(project=project).values_list("code", flat=True)
    )


class FreezeRefused(Exception):
    """Freezing refused: `problems` list, in French, what is still to be done."""

    def __init__(self, problems: list[dict]):
        super().__init__(" ".join(p["text"] for p in problems))
        self.problems = problems


def freeze_problems(assessment: Assessment) -> list[dict]:
    """What prevents freezing `assessment`: each criterion not scored, each stop-if condition
    not answered, as {"text", "anchor"} (the anchor of the criterion on the assessment page)."""
    grid = grid_of(assessment)
    scores = scores_of(assessment)
    problems = []
    for c in grid.criteria:
        score = scores.get(c.code)
        if score is None or score.value is None:
            problems.append(
                {
                    "text": _("Critère non noté — %(n)s. %(title)s.")
                    % {"n": c.n, "title": c.title},
                    "anchor": f"crit-{c.code}",
                }
            )
        if score is None or score.stop_if_met is None:
            problems.append(
                {
                    "text": _("Condition d'arrêt sans réponse — %(n)s. %(title)s : %(stop_if)s.")
                    % {"n": c.n, "title": c.title, "stop_if": c.stop_if},
                    "anchor": f"crit-{c.code}",
                }
            )
    return problems


def is_complete(assessment: Assessment) -> bool:
    """A frozen assessment whose snapshot has every criterion scored and every stop-if
    answered: only such an assessment satisfies a gate."""
    criteria = (assessment.snapshot or {}).get("criteria") or []
    return bool(criteria) and all(
        c.get("score") is not None and c.get("stop_if_met") is not None for c in criteria
    )


def scores_of(assessment: Assessment) -> dict[str, Score]:
    return {
        s.criterion_code: Score(s.score, s.stop_if_met)
        for s in CriterionScore.objects.within(assessment=assessment)
    }


def evaluate(assessment: Assessment) -> Result:
    return recommend(
        grid_of(assessment), scores_of(assessment), measured_indicators(assessment.project)
    )


def start(project, user) -> Assessment:
    """A new draft assessment of `project` on its grid in force, one empty score per criterion."""
    grid = grids.grid(project.effective_grid_code)
    with transaction.atomic():
        assessment = Assessment.objects.create(
            project=project, grid_code=grid.code, grid_version=grid.version, assessor=user
        )
        for criterion in grid.criteria:
            CriterionScore.objects.create(assessment=assessment, criterion_code=criterion.code)
        compute(assessment)
    return assessment


def compute(assessment: Assessment) -> Assessment:
    """Store the recommendation of a draft assessment from its current scores."""
    if assessment.is_frozen:
        raise AssessmentFrozen(assessment)
    result = evaluate(assessment)
    assessment.recommendation = result.recommendation
    assessment.reasons = result.reasons
    assessment.save()
    return assessment


def snapshot(assessment: Assessment) -> dict:
    """Everything the decision is taken on, as it was when frozen."""
    grid = grid_of(assessment)
    scores = {
        s.criterion_code: s
        for s in assessment.scores.prefetch_related("indicator_values__indicator")
    }
    criteria = []
    for c in grid.criteria:
        s = scores.get(c.code)
        criteria.append(
            {
                "code": c.code,
                "n": c.n,
                "title": c.title,
                "source": c.source,
                "weight": c.weight,
                "score": s.score if s else None,
                "scale_max": c.scale.max,
                "stop_if_met": s.stop_if_met if s else None,
                "comment": s.comment if s else "",
                "evidence": s.evidence_list if s else [],
                "indicator_values": [
                    {
                        "indicator": str(v.indicator),
                        "value": str(v.value),
                        "measured_on": v.measured_on.isoformat(),
                    }
                    for v in (s.indicator_values.all() if s else [])
                ],
            }
        )
    exempt = NotApplicableIndicator.objects.within(project=assessment.project)
    return {
        "not_applicable": [
            {"code": n.code, "label": grid.mandatory_indicator_label(n.code), "reason": n.reason}
            for n in exempt
        ],
        "grid": grid.code,
        "grid_label": grid.label,
        "grid_version": grid.version,
        "assessor": str(assessment.assessor) if assessment.assessor else "",
        "recommendation": assessment.recommendation,
        "reasons": assessment.reasons,
        "summary": assessment.summary,
        "criteria": criteria,
    }


def freeze(assessment: Assessment, user, at=None) -> Assessment:
    """Freeze `assessment` (idempotent): its recommendation recomputed, a snapshot stored, and
    no edit accepted afterwards (frozen at `at`, default now: only the demo back-dates).
    Returns the frozen assessment. `FreezeRefused` (with the list) while a criterion is not
    scored or a stop-if condition not answered: an empty or partial assessment is never
    frozen."""
    with transaction.atomic():
        current = (
            Assessment.objects.within(project=assessment.project)
            .select_for_update()
            .get(pk=assessment.pk)
        )
        if current.is_frozen:
            return current
        if problems := freeze_problems(current):
            raise FreezeRefused(problems)
        compute(current)
        current.snapshot = snapshot(current)
        current.status = Assessment.Status.FROZEN
        current.frozen_at = at or timezone.now()
        current.save()
    return current


def event_periods(project, today=None) -> list[tuple[str, object, object]]:
    """The periods over which the adverse events are counted: the last twelve months (the
    incident-analysis referential's period) and the PoC's, when its charter dates it."""
    start, end = incident_loop.last_period(today)
    periods = [(_("Événements indésirables (12 derniers mois)"), start, end)]
    charter = PocCharter.objects.within(project=project).first()
    if charter and charter.start_date:
        poc_end = min(charter.end_date or end, end)
        if charter.start_date <= poc_end:
            periods.append(
                (_("Événements indésirables (période du PoC)"), charter.start_date, poc_end)
            )
    return periods


def linked_evidence(project) -> dict[str, list[dict]]:
    """What other capabilities hold for a criterion, by criterion code, shown beside it: the
    highest residual criticality of the system's current risk analysis and the adverse events
    counted per period (declared, serious, near misses), for the criterion the risk
    referential names (`feeds_criterion`)."""
    found = risk_analyses.criterion_evidence(project.ai_system)
    events = incident_loop.criterion_evidence(project.ai_system, event_periods(project))
    for code, items in events.items():
        found.setdefault(code, []).extend(items)
    return found
