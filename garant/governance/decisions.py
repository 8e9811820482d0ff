"""The rules of a decision: what makes it valid, which assessment it rests on, signing.

`decision_errors` is the one place where a decision's content is checked (forms, API and
demo all go through `Decision.full_clean`); `sign` is the one way to sign; once signed,
`Decision` itself refuses every change (see `garant.governance.models`).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core.documents import display
from garant.governance.models import Decision, Outcome

#: outcomes after which the project is re-examined at a given date
NEEDS_REVIEW_DATE = {Outcome.GENERALISE, Outcome.WITH_CONDITIONS, Outcome.EXTEND_POC}
VOTE_FIELDS = ("votes_for", "votes_against", "votes_abstain")


def assessment_for(project):
    """The assessment a decision on `project` rests on: the latest frozen one, else the
    latest draft (frozen when the decision is recorded); None if the project has none."""
    assessments = project.assessments.order_by("-created_at", "-pk")
    return assessments.filter(status="frozen").first() or assessments.first()


def decision_errors(decision: Decision) -> dict[str, list[str]]:
    """{field: [French messages]} of what is wrong with `decision` (empty: valid)."""
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    meeting = decision.meeting if decision.meeting_id else None
    committee = meeting.committee if meeting else None
    project = decision.project if decision.project_id else None
    if committee and project and project.establishment_id != committee.establishment_id:
        add("project", _("Le projet doit appartenir à l'établissement du comité."))
    if project and decision.assessment_id and decision.assessment.project_id != project.pk:
        add("assessment", _("L'évaluation doit porter sur le projet de la décision."))
    if decision.outcome == Outcome.WITH_CONDITIONS and not decision.conditions.strip():
        add("conditions", _("Précisez les conditions de la généralisation."))
    if decision.outcome in NEEDS_REVIEW_DATE and decision.next_review_date is None:
        add("next_review_date", _("Fixez la date de la prochaine réévaluation."))
    review = decision.next_review_date
    if meeting and review and meeting.starts_at and review <= timezone.localdate(meeting.starts_at):
        add("next_review_date", _("La prochaine réévaluation doit suivre la date de la séance."))
    if decision.chair_id and committee and decision.chair.committee_id != committee.pk:
        add("chair", _("Le président de séance doit être membre de ce comité."))
    _check_votes(decision, committee, add)
    return errors


def _check_votes(decision: Decision, committee, add) -> None:
    given = [f for f in VOTE_FIELDS if getattr(decision, f) is not None]
    if decision.consensus:
        for field in given:
            add(field, _("Décision par consensus : ne saisissez pas de décompte des voix."))
        return
    if len(given) < len(VOTE_FIELDS):
        for field in set(VOTE_FIELDS) - set(given):
            add(
                field,
                _("Saisissez les voix pour, contre et les abstentions, ou cochez le consensus."),
            )
        return
    if decision.votes_total == 0:
        add("votes_for", _("Aucune voix exprimée : saisissez le décompte des voix."))
    elif decision.votes_for <= decision.votes_against:
        add(
            "votes_for",
            _("Décision non adoptée : il faut plus de voix pour que de voix contre."),
        )
    if committee is not None:
        seats = committee.members.count()
        if decision.votes_total > seats:
            add(
                "votes_for",
                _("%(votes)s voix décomptées pour %(seats)s membres du comité.")
                % {"votes": decision.votes_total, "seats": seats},
            )


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


def signed_message(decision: Decision, deleting: bool = False) -> str:
    values = {
        "date": display(decision.signed_at),
        "name": str(decision.signed_by) if decision.signed_by_id else _("inconnu"),
    }
    if deleting:
        text = _(
            "Décision signée le %(date)s par %(name)s : elle ne peut pas être supprimée. "
            "Pour la revoir, enregistrez une nouvelle décision lors d'une prochaine séance."
        )
    else:
        text = _(
            "Décision signée le %(date)s par %(name)s : elle ne peut plus être modifiée. "
            "Pour la revoir, enregistrez une nouvelle décision lors d'une prochaine séance."
        )
    return text % values
