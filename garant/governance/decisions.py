"""The rules of a decision: what makes it valid, which assessment it rests on, signing.

A decision's content is checked in one place, `garant.governance.rules.decision_errors` (forms,
API and demo all go through `Decision.full_clean`); `sign` is the one way to sign; once signed,
`Decision` itself refuses every change (see `garant.governance.models`).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.governance.models import Action, Decision
from garant.governance.rules import decision_errors


def assessment_for(project):
    """The assessment a decision on `project` rests on: the latest frozen one, else the
    latest draft (frozen when the decision is recorded); None if the project has none."""
    assessments = project.assessments.order_by("-created_at", "-pk")
    return assessments.filter(status="frozen").first() or assessments.first()


def sign_errors(decision: Decision) -> list[str]:
    """What prevents signing `decision` (empty: it may be signed)."""
    problems = []
    if decision.is_signed:
        problems.append(_("Cette décision est déjà signée."))
    if decision.chair_id is None:
        problems.append(_("Indiquez le président de séance avant de signer."))
    if not decision.assessment.is_frozen:
        problems.append(_("L'évaluation sur laquelle repose la décision doit être figée."))
    problems.extend(str(m) for messages in decision_errors(decision).values() for m in messages)
    return problems


def record(form, user) -> Decision:
    """Save a decision's form, freezing the assessment it rests on first."""
    from garant.lifecycle.assessments import freeze

    with transaction.atomic():
        decision = form.save(commit=False)
        if not decision.assessment.is_frozen:
            decision.assessment = freeze(decision.assessment, user)
        decision.save()
    return decision


class SignRefused(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def sign(decision: Decision, user, at=None) -> Decision:
    """Sign `decision` as `user` (at `at`, default now: only the demo back-dates): from now on
    it is immutable. Tells the author of the project's idea, if any, what was decided."""
    if problems := sign_errors(decision):
        raise SignRefused(problems)
    with transaction.atomic():
        decision.signed_at = at or timezone.now()
        decision.signed_by = user
        decision.save(update_fields=["signed_at", "signed_by"])
    _notify_author(decision)
    return decision


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
