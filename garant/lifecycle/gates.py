"""The gates between lifecycle phases: which transitions exist and what each one needs.

    idea → instruction → poc → evaluation → generalisation → routine
                  └── (M2: no PoC) ──┘        (decision)      │ (periodic re-evaluation)
                                                              └→ evaluation
    any phase → suspended (with a reason); suspended → the phase it left; any → retired

- instruction → poc (M1 only): a charter with an end date and at least one measurable
  indicator (a target and a way to measure it);
- instruction → evaluation: M2 only (M1 goes through a PoC);
- poc → evaluation: the PoC lasted at least the charter's minimum duration (4 weeks unless the
  charter lowers it with a reason), and each measurable indicator has, within the PoC period,
  at least the number of values its frequency implies (or a recorded reason);
- evaluation → generalisation (the decision phase): a complete frozen assessment on the grid
  (every criterion scored, every stop-if answered: an empty or partial one never counts);
- generalisation → routine: a signed decision "généraliser" or "généraliser sous conditions"
  taken on the latest frozen assessment, whose re-evaluation date is not already past, and
  none of whose conditions (actions with an owner and a due date) is still open;
  and, for a high-risk system (its latest qualification), a current oversight plan
  (`garant.oversight.plans`);
- generalisation → poc: a signed decision "prolonger le PoC" (M1);
- generalisation → retired: a signed decision "arrêter" (any phase may also be retired with
  a reason, e.g. a project abandoned during instruction);
- routine → evaluation: the periodic re-evaluation (always allowed; required once
  `next_review_date` has passed, and a project overdue cannot re-enter routine on its old
  decision: it is reported as blocked on the portfolio and the home page);
- suspended → the phase it left; back to routine needs the same decision as above.

While a suspension is in effect on the system (`garant.oversight.suspension`, the operational
stop that the clinical software reads), the project cannot change phase, except to retire.

Each refusal is a `Problem`: a French message that also carries the page that fixes it.

Every transition records who, when and why (`PhaseTransition`) and mirrors the phase on the
register entry (`ai_system.phase`), which the register form no longer offers for edit.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.core.documents import display
from garant.core.referentials import vocabulary
from garant.lifecycle import committee
from garant.lifecycle.assessments import is_complete
from garant.lifecycle.models import Assessment, Indicator, PhaseTransition, Project
from garant.lifecycle.outcomes import Outcome
from garant.oversight import plans, suspension

# phase -> phases reachable from it (before the gate conditions are checked)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "idea": ("instruction",),
    "instruction": ("poc", "evaluation"),
    "poc": ("evaluation",),
    "evaluation": ("generalisation",),
    "generalisation": ("routine", "poc"),
    "routine": ("evaluation",),
    "suspended": (),  # back to the phase it left: see `allowed_targets`
    "retired": (),
}
ALWAYS = ("suspended", "retired")  # from any live phase, with a reason
GO_OUTCOMES = (Outcome.GENERALISE, Outcome.WITH_CONDITIONS)


#: days between two values of an indicator, by frequency ("end": one value at the end)
FREQUENCY_DAYS = {
    Indicator.Frequency.WEEKLY: 7,
    Indicator.Frequency.MONTHLY: 30,
    Indicator.Frequency.QUARTERLY: 91,
}


class Problem(str):
    """A gate's refusal message (a str) with the page that fixes it (`url`, "" if none)."""

    url: str

    def __new__(cls, text: str, url: str = ""):
        problem = super().__new__(cls, text)
        problem.url = url
        return problem


class GateRefused(Exception):
    """A transition refused; `messages` say in French what is missing."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


def phase_label(code: str) -> str:
    return vocabulary("phase").label_of(code)


def _date(value: dt.date) -> str:
    return date_format(value, "d/m/Y")


def suspended_from(project: Project) -> str | None:
    """The phase a suspended project left."""
    into = [t for t in project.transitions.all() if t.to_phase == "suspended"]
    last = max(into, key=lambda t: (t.at, t.pk), default=None)
    return last.from_phase if last else None


def allowed_targets(project: Project) -> list[str]:
    """The phases offered from the current one (each still subject to its gate)."""
    if project.phase == "retired":
        return []
    targets = list(TRANSITIONS.get(project.phase, ()))
    if project.phase == "suspended":
        back = suspended_from(project)
        targets = [back] if back else []
    return targets + [p for p in ALWAYS if p != project.phase]


# The helpers below read related rows with .all(), so that the portfolio can prefetch them
# (`PREFETCH`) and judge every project's gate without one query per project.
PREFETCH = (
    "transitions",
    "charter__indicators__values",
    "assessments",
    "ai_system__suspensions",
)


def suspension_in_effect(project: Project):
    """The suspension in effect on the project's system (`garant.oversight.suspension`)."""
    states = suspension.State
    return next(
        (s for s in project.ai_system.suspensions.all() if s.state == states.SUSPENDED), None
    )


def latest_frozen_assessment(project: Project) -> Assessment | None:
    """The latest complete frozen assessment (an empty or partial one never counts)."""
    frozen = [
        a
        for a in project.assessments.all()
        if a.status == Assessment.Status.FROZEN and is_complete(a)
    ]
    return max(frozen, key=lambda a: (a.frozen_at, a.pk), default=None)


def _incomplete_frozen(project: Project) -> bool:
    return any(
        a.status == Assessment.Status.FROZEN and not is_complete(a)
        for a in project.assessments.all()
    )


def governance_available() -> bool:
    """Whether the committee's decisions are known (governance registers them)."""
    return committee.registered() is not None


def prefetch_names() -> tuple[str, ...]:
    """What to prefetch to judge many projects' gates in a constant number of queries."""
    source = committee.registered()
    if source is None:
        return PREFETCH
    return (*PREFETCH, source.related_name, f"{source.related_name}__actions__owner")


def signed_decision(project: Project):
    """The latest signed decision taken on the project's latest frozen assessment, or None."""
    if not governance_available():
        return None
    assessment = latest_frozen_assessment(project)
    if assessment is None:
        return None
    signed = [
        d
        for d in committee.decisions_of(project)
        if d.signed_at is not None and d.assessment_id == assessment.pk
    ]
    return max(signed, key=lambda d: (d.signed_at, d.pk), default=None)


def _needs_decision(project: Project, outcomes: tuple[str, ...], today: dt.date) -> list[str]:
    """A signed decision with one of `outcomes` on the latest frozen assessment; to go (back)
    to routine, its re-evaluation date must not have passed."""
    decision = signed_decision(project)
    project_url = project.get_absolute_url()
    if decision is None:
        if latest_frozen_assessment(project) is None:
            return [
                Problem(
                    _("Aucune évaluation figée : évaluez le projet sur la grille de décision."),
                    project_url,
                )
            ]
        return [
            Problem(
                _(
                    "Aucune décision signée du comité sur la dernière évaluation figée : "
                    "inscrivez le projet à l'ordre du jour d'une séance."
                ),
                _committee_url(),
            )
        ]
    if decision.outcome not in outcomes:
        return [
            _("La décision signée du %(date)s est « %(outcome)s » : elle ne permet pas ce passage.")
            % {
                "date": _date(timezone.localdate(decision.signed_at)),
                "outcome": decision.get_outcome_display(),
            }
        ]
    review = getattr(decision, "next_review_date", None)
    if outcomes == GO_OUTCOMES and review and review < today:
        return [
            _(
                "Réévaluation en retard : la décision du %(date)s prévoyait une réévaluation "
                "le %(review)s. Réévaluez le projet (phase Évaluation) avant la routine."
            )
            % {"date": _date(timezone.localdate(decision.signed_at)), "review": _date(review)}
        ]
    if outcomes == GO_OUTCOMES:
        return [
            Problem(
                _(
                    "Condition de la décision du %(date)s non levée : « %(title)s » (porteur : "
                    "%(owner)s, échéance le %(due)s). Réalisez-la et marquez l'action réalisée."
                )
                % {
                    "date": _date(timezone.localdate(decision.signed_at)),
                    "title": c["title"],
                    "owner": c["owner"] or "—",
                    "due": _date(c["due_date"]),
                },
                c["url"],
            )
            for c in committee.open_conditions(decision)
        ]
    return []


def _committee_url() -> str:
    try:
        return reverse("governance:committee_list")
    except Exception:  # noqa: BLE001 (governance not installed: no page to point to)
        return ""


def _charter_url(project: Project) -> str:
    return reverse("lifecycle:charter_edit", args=[project.pk])


def _charter_problems(project: Project) -> list[str]:
    charter = getattr(project, "charter", None)
    url = _charter_url(project)
    if charter is None:
        return [Problem(_("Pas de charte de PoC : rédigez la charte avant de lancer le PoC."), url)]
    problems = []
    if not any(i.is_measurable for i in charter.indicators.all()):
        problems.append(
            Problem(
                _(
                    "La charte n'a aucun indicateur de succès mesurable (une cible et une "
                    "méthode de mesure ou une métrique du suivi)."
                ),
                url,
            )
        )
    if charter.end_date is None:
        problems.append(Problem(_("La charte n'a pas de date de fin."), url))
    return problems


def poc_started_on(project: Project) -> dt.date | None:
    """The day the project last entered the PoC phase."""
    into = [t for t in project.transitions.all() if t.to_phase == "poc"]
    last = max(into, key=lambda t: (t.at, t.pk), default=None)
    return timezone.localdate(last.at) if last else None


def poc_period(project: Project, today: dt.date) -> tuple[dt.date, dt.date]:
    """The PoC period the values are counted in: the charter's start (else the day the project
    entered the PoC) to its end date, and never past today."""
    charter = project.charter
    start = charter.start_date or poc_started_on(project) or today
    end = min(charter.end_date or today, today)
    return start, max(start, end)


def current_values(indicator: Indicator) -> list:
    """The values of an indicator that no correction supersedes."""
    values = list(indicator.values.all())
    superseded = {v.supersedes_id for v in values if v.supersedes_id}
    return [v for v in values if v.pk not in superseded]


def expected_values(indicator: Indicator, start: dt.date, end: dt.date) -> int:
    """How many values the indicator's frequency implies over [start, end] (at least one)."""
    days = FREQUENCY_DAYS.get(indicator.frequency)
    return max(1, (end - start).days // days) if days else 1


def _poc_problems(project: Project, today: dt.date) -> list[str]:
    """What the PoC lacks to be assessed: values, duration, values per frequency."""
    charter = getattr(project, "charter", None)
    indicators = list(charter.indicators.all()) if charter else []
    if not any(current_values(i) for i in indicators):
        return [
            Problem(
                _(
                    "Aucune valeur d'indicateur n'a été enregistrée pendant le PoC : "
                    "mesurez les indicateurs de la charte avant l'évaluation."
                ),
                project.get_absolute_url(),
            )
        ]
    problems = []
    started = poc_started_on(project) or charter.start_date
    weeks = charter.min_duration_weeks
    if started and (today - started).days < weeks * 7:
        problems.append(
            Problem(
                _(
                    "Le PoC a commencé le %(start)s et n'a duré que %(days)s jour(s) : la charte "
                    "demande au moins %(weeks)s semaine(s). Poursuivez le PoC jusqu'au "
                    "%(until)s, ou réduisez la durée minimale dans la charte en indiquant le "
                    "motif."
                )
                % {
                    "start": _date(started),
                    "days": (today - started).days,
                    "weeks": weeks,
                    "until": _date(started + dt.timedelta(weeks=weeks)),
                },
                _charter_url(project),
            )
        )
    start, end = poc_period(project, today)
    for indicator in indicators:
        if not indicator.is_measurable or indicator.shortfall_reason.strip():
            continue
        found = sum(start <= v.measured_on <= end for v in current_values(indicator))
        needed = expected_values(indicator, start, end)
        if found < needed:
            problems.append(
                Problem(
                    _(
                        "« %(name)s » : %(found)s valeur(s) du %(start)s au %(end)s, sa fréquence "
                        "(%(frequency)s) en demande %(needed)s. Saisissez les valeurs manquantes "
                        "ou indiquez dans l'indicateur le motif des valeurs manquantes."
                    )
                    % {
                        "name": indicator.name,
                        "found": found,
                        "start": _date(start),
                        "end": _date(end),
                        "frequency": indicator.get_frequency_display().lower(),
                        "needed": needed,
                    },
                    reverse("lifecycle:indicator_values", args=[indicator.pk]),
                )
            )
    return problems


def check(project: Project, to_phase: str, reason: str = "", today=None) -> list[str]:
    """What is missing for `project` to enter `to_phase`; an empty list means allowed."""
    today = today or timezone.localdate()
    here = project.phase
    if to_phase not in vocabulary("phase"):
        return [_("Phase inconnue : %(phase)s.") % {"phase": to_phase}]
    if to_phase == here:
        return [_("Le projet est déjà en phase « %(phase)s ».") % {"phase": phase_label(here)}]
    held = suspension_in_effect(project)
    if held is not None and to_phase != "retired":
        return [
            Problem(
                _(
                    "Système suspendu depuis le %(date)s (%(reason)s) : aucun changement de "
                    "phase avant la reprise, qui exige une décision signée du comité."
                )
                % {"date": display(held.suspended_at), "reason": held.reason},
                held.get_absolute_url(),
            )
        ]
    if to_phase not in allowed_targets(project):
        if here == "instruction" and to_phase == "evaluation":
            pass  # explained below with the modality
        else:
            return [
                _("Passage impossible de « %(from)s » à « %(to)s ».")
                % {"from": phase_label(here), "to": phase_label(to_phase)}
            ]
    if to_phase in ALWAYS:
        if not reason.strip():
            return [_("Indiquez le motif de ce changement de phase.")]
        if to_phase == "retired" and here == "generalisation":
            return _needs_decision(project, (Outcome.STOP,), today)
        return []
    if to_phase == "poc":
        if project.modality == "M2":
            return [
                _(
                    "Modalité M2 (généralisation directe) : pas de PoC. Changez la modalité du "
                    "système si un PoC est prévu."
                )
            ]
        if here == "generalisation":
            return _needs_decision(project, (Outcome.EXTEND_POC,), today)
        return _charter_problems(project)
    if to_phase == "evaluation":
        if here == "instruction" and project.modality != "M2":
            return [_("Modalité M1 : le projet doit passer par un PoC avant l'évaluation.")]
        if here == "poc":
            return _poc_problems(project, today)
        return []
    if to_phase == "generalisation":
        if latest_frozen_assessment(project) is None:
            if _incomplete_frozen(project):
                return [
                    Problem(
                        _(
                            "La dernière évaluation figée est incomplète (critère non noté ou "
                            "condition d'arrêt sans réponse) : elle ne fonde aucune décision. "
                            "Ouvrez une nouvelle évaluation et notez chaque critère."
                        ),
                        project.get_absolute_url(),
                    )
                ]
            return [
                Problem(
                    _(
                        "Aucune évaluation figée : évaluez le projet sur la grille de décision "
                        "puis figez l'évaluation pour la soumettre au comité."
                    ),
                    project.get_absolute_url(),
                )
            ]
        return []
    if to_phase == "routine":
        return _needs_decision(project, GO_OUTCOMES, today) + _plan_problems(project)
    return []


def _plan_problems(project: Project) -> list[str]:
    """A high-risk system enters routine only with a current oversight plan."""
    system = project.ai_system
    if not plans.missing_plan(system):
        return []
    return [
        Problem(
            _(
                "Système à haut risque sans plan de supervision humaine : rédigez le plan "
                "(points de contrôle, personnes compétentes, arrêt et procédure dégradée) "
                "avant la routine."
            ),
            plans.edit_url(system),
        )
    ]


def transition(project: Project, to_phase: str, user, reason: str = "") -> PhaseTransition:
    """Move `project` to `to_phase` if its gate allows it (GateRefused otherwise); the
    instance passed is refreshed."""
    with transaction.atomic():
        locked = (
            Project.objects.within(ai_system=project.ai_system)
            .select_for_update()
            .select_related("ai_system")
            .get(pk=project.pk)
        )
        problems = check(locked, to_phase, reason)
        if problems:
            raise GateRefused(problems)
        now = timezone.now()
        step = PhaseTransition.objects.create(
            project=locked,
            from_phase=locked.phase,
            to_phase=to_phase,
            by=user,
            at=now,
            reason=reason.strip(),
        )
        locked.phase = to_phase
        locked.phase_entered_at = now
        if to_phase == "routine":
            locked.next_review_date = _next_review(locked, timezone.localdate(now))
        locked.save()
        system = locked.ai_system
        system.phase = to_phase
        system.save(update_fields=["phase", "updated_at"])
    project.refresh_from_db()
    return step


def _next_review(project: Project, today: dt.date) -> dt.date:
    """The decision's re-evaluation date, or today + the project's review period."""
    decision = signed_decision(project)
    review = getattr(decision, "next_review_date", None)
    if review:
        return review
    month = today.month - 1 + project.review_period_months
    year, month = today.year + month // 12, month % 12 + 1
    day = min(today.day, 28)
    return dt.date(year, month, day)


def next_phase(project: Project) -> str | None:
    """The phase a project normally moves on to (None in routine, suspended or retired)."""
    if project.phase == "instruction":
        return "evaluation" if project.modality == "M2" else "poc"
    return {"idea": "instruction", "poc": "evaluation", "evaluation": "generalisation"}.get(
        project.phase, "routine" if project.phase == "generalisation" else None
    )


def blocked_reason(project: Project) -> str:
    """What stops the project at its next gate (the portfolio's "bloqué"), or ""."""
    if project.review_overdue:
        return _("Réévaluation en retard (prévue le %(date)s)") % {
            "date": _date(project.next_review_date)
        }
    target = next_phase(project)
    problems = check(project, target, reason="-") if target else []
    return problems[0] if problems else ""
