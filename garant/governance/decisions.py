"""The rules of a decision: what makes it valid, which assessment it rests on, signing.

A decision's content is checked in one place, `garant.governance.rules.decision_errors` (forms,
API and demo all go through `Decision.full_clean`); `sign` is the one way to sign; once signed,
`Decision` itself refuses every change (see `garant.governance.models`).
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core.documents import display
from garant.governance.models import Action, Attendance, Decision
from garant.governance.rules import decision_errors
from garant.lifecycle.outcomes import Outcome


def assessment_for(project):
    """The assessment a decision on `project` rests on: the latest frozen one, else the
    latest draft (frozen when the decision is recorded); None if the project has none."""
    assessments = project.assessments.order_by("-created_at", "-pk")
    return assessments.filter(status="frozen").first() or assessments.first()


def blocking_errors(decision: Decision, user=None, at=None) -> list[str]:
    """What prevents signing `decision` that the signing page cannot fix (the decision
    itself, its meeting, who signs)."""
    problems = []
    if decision.is_signed:
        problems.append(_("Cette décision est déjà signée."))
    if decision.chair_id is None:
        problems.append(_("Indiquez le président de séance avant de signer."))
    if not decision.assessment.is_frozen:
        problems.append(_("L'évaluation sur laquelle repose la décision doit être figée."))
    problems.extend(str(m) for messages in decision_errors(decision).values() for m in messages)
    meeting = decision.meeting
    if meeting.starts_at > (at or timezone.now()):
        problems.append(
            _(
                "La séance du %(date)s n'a pas encore eu lieu : une décision se signe après la "
                "séance qui l'a prise. Revenez la signer après la séance, une fois les "
                "présences relevées."
            )
            % {"date": display(meeting.starts_at)}
        )
    if user is not None and decision.first_signed_by_id == user.pk:
        problems.append(
            _(
                "Vous avez déjà signé cette décision : le comité demande une seconde signature, "
                "par un autre membre."
            )
        )
    return problems


def quorum(meeting) -> dict:
    """The attendance of `meeting` against its committee's quorum: {"recorded", "present",
    "excused", "absent", "conflicts" (attendance rows), "counted", "needed", "reached"}."""
    rows = list(meeting.attendance.select_related("member__user"))
    seats = meeting.committee.members.count()
    counted = sum(a.counts_for_quorum for a in rows)
    needed = meeting.committee.quorum_needed(seats)
    by = Attendance.Status
    return {
        "recorded": bool(rows),
        "present": [a for a in rows if a.status == by.PRESENT],
        "excused": [a for a in rows if a.status == by.EXCUSED],
        "absent": [a for a in rows if a.status == by.ABSENT],
        "conflicts": [a for a in rows if a.conflict_of_interest],
        "counted": counted,
        "needed": needed,
        "reached": bool(rows) and counted >= needed,
    }


def sign_errors(decision: Decision, user=None, at=None) -> list[str]:
    """What prevents signing `decision` (empty: it may be signed)."""
    problems = blocking_errors(decision, user, at)
    if decision.first_signed_by_id:  # the first signature checked attendance and conditions
        return problems
    state = quorum(decision.meeting)
    if not state["recorded"]:
        problems.append(
            _(
                "Relevez les présences de la séance (membres présents, excusés, conflits "
                "d'intérêts déclarés) avant de signer."
            )
        )
    elif not state["reached"]:
        problems.append(
            _(
                "Quorum non atteint : %(counted)s membre(s) présent(s) sans conflit d'intérêts, "
                "il en faut %(needed)s. La décision ne peut pas être signée ; inscrivez le "
                "projet à une prochaine séance."
            )
            % {"counted": state["counted"], "needed": state["needed"]}
        )
    if (
        decision.outcome == Outcome.WITH_CONDITIONS
        and not decision.actions.filter(is_condition=True).exists()
    ):
        problems.append(
            _(
                "Transformez chaque condition en action, avec son porteur et son échéance, "
                "avant de signer."
            )
        )
    return problems


def record(form, user) -> Decision:
    """Save a decision's form, freezing the assessment it rests on first (`FreezeRefused`
    while that assessment is incomplete). A change withdraws a first signature."""
    from garant.lifecycle.assessments import freeze

    with transaction.atomic():
        decision = form.save(commit=False)
        if not decision.assessment.is_frozen:
            decision.assessment = freeze(decision.assessment, user)
        if decision.first_signed_by_id and form.has_changed():
            decision.first_signed_by, decision.first_signed_at = None, None
        decision.save()
    return decision


class SignRefused(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def record_attendance(meeting, rows: list[dict]) -> None:
    """Record who attended `meeting`: rows of {"member", "status", "conflict_of_interest",
    "conflict_note"}, one per member (an existing row is updated)."""
    for row in rows:
        attendance = Attendance.objects.within(meeting=meeting, member=row["member"]).first()
        attendance = attendance or Attendance(meeting=meeting, member=row["member"])
        attendance.status = row["status"]
        attendance.conflict_of_interest = bool(row.get("conflict_of_interest"))
        attendance.conflict_note = (
            row.get("conflict_note", "") if attendance.conflict_of_interest else ""
        )
        attendance.full_clean()
        attendance.save()


def add_conditions(decision: Decision, conditions: list[dict]) -> list[Action]:
    """The conditions of a decision as actions: {"title", "owner" or "owner_name",
    "due_date"} each, checked like any action."""
    created = []
    for condition in conditions:
        action = Action(
            meeting=decision.meeting,
            decision=decision,
            is_condition=True,
            title=condition["title"],
            owner=condition.get("owner"),
            owner_name=condition.get("owner_name", ""),
            due_date=condition["due_date"],
        )
        action.full_clean()
        action.save()
        created.append(action)
    return created


def sign(decision: Decision, user, at=None, *, attendance=None, conditions=None) -> Decision:
    """Sign `decision` as `user` (at `at`, default now: only the demo back-dates): from now on
    it is immutable. The meeting must have taken place, its attendance reach the committee's
    quorum (`attendance` rows are recorded first, see `record_attendance`) and a decision
    "sous conditions" have its conditions as actions (`conditions`, see `add_conditions`).
    When the committee asks for a second signature, the first one is recorded and the
    decision is signed by a second, different member. Tells the author of the project's idea,
    if any, what was decided. `SignRefused` (and nothing recorded) otherwise."""
    with transaction.atomic():
        if problems := blocking_errors(decision, user, at):
            raise SignRefused(problems)
        if attendance:
            record_attendance(decision.meeting, attendance)
        if conditions:
            add_conditions(decision, conditions)
        if problems := sign_errors(decision, user, at):
            raise SignRefused(problems)
        now = at or timezone.now()
        if decision.meeting.committee.second_signature and not decision.first_signed_by_id:
            decision.first_signed_at, decision.first_signed_by = now, user
            decision.save(update_fields=["first_signed_at", "first_signed_by"])
            return decision
        decision.signed_at = now
        decision.signed_by = user
        decision.save(update_fields=["signed_at", "signed_by"])
    _notify_author(decision)
    return decision


def open_conditions(decision: Decision) -> list[dict]:
    """The conditions of `decision` not yet done (a cancelled one still holds: a new decision
    lifts a condition), for the lifecycle's gate to routine."""
    actions = decision.actions.all()  # prefetched by the portfolio (gates.prefetch_names)
    return [
        {
            "title": a.title,
            "owner": a.owner_display,
            "due_date": a.due_date,
            "url": reverse("governance:action_edit", args=[a.pk]),
        }
        for a in sorted(actions, key=lambda a: (a.due_date, a.pk))
        if a.is_condition and a.status != Action.Status.DONE
    ]


def _notify_author(decision: Decision) -> None:
    from garant.lifecycle.models import Idea

    idea = Idea.objects.within(project=decision.project).select_related("author").first()
    if idea is None or idea.author_id is None:
        return
    from garant.lifecycle.notifications import notify

    notify(
        idea.author,
        decision.project.establishment,
        _("Décision du comité sur « %(project)s » : %(outcome)s.")
        % {"project": decision.project, "outcome": decision.get_outcome_display()},
        decision.get_absolute_url(),
    )


def dossier_rows(project) -> tuple[list[dict], list[dict]]:
    """The decisions taken on `project` and their actions, as its dossier shows them
    (registered with `garant.lifecycle.committee` by `GovernanceConfig.ready`)."""
    decisions = [
        {
            "date": d.signed_at,
            "outcome": d.get_outcome_display(),
            "signed": d.signed_at is not None,
            "rationale": d.rationale,
            "conditions": d.conditions,
            "next_review_date": d.next_review_date,
            "meeting": d.meeting,
        }
        for d in Decision.objects.within(project=project)
        .select_related("meeting__committee")
        .order_by("-created_at")
    ]
    actions = [
        {
            "title": a.title,
            "owner": a.owner_display,
            "due_date": a.due_date,
            "status": a.get_status_display(),
        }
        for a in Action.objects.within(decision__project=project)
        .select_related("owner")
        .order_by("due_date", "pk")
    ]
    return decisions, actions


def resumption_decisions(suspension) -> list[Decision]:
    """The signed decisions that reference `suspension` (its resumption may rest on them)."""
    found = Decision.objects.within(suspension=suspension).select_related("project__ai_system")
    return list(found.filter(signed_at__isnull=False).order_by("-signed_at", "-pk"))
