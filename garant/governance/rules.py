"""The rules of a decision's content and the message refusing a change to a signed one.

They read a decision's fields and related rows and import no model, so that
`garant.governance.models` (`Decision.clean`, `Decision.refuse_change`) and
`garant.governance.decisions` both use them without an import cycle.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core.documents import display
from garant.lifecycle.outcomes import Outcome

#: outcomes after which the project is re-examined at a given date
NEEDS_REVIEW_DATE = {Outcome.GENERALISE, Outcome.WITH_CONDITIONS, Outcome.EXTEND_POC}
VOTE_FIELDS = ("votes_for", "votes_against", "votes_abstain")


def decision_errors(decision) -> dict[str, list[str]]:
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
    if decision.suspension_id and project:
        suspension = decision.suspension
        if suspension.ai_system_id != project.ai_system_id:
            add("suspension", _("La suspension doit porter sur le système du projet."))
        elif decision.pk is None and suspension.state != "suspended":
            add("suspension", _("Ce système n'est plus suspendu."))
    _check_votes(decision, committee, add)
    return errors


def _check_votes(decision, committee, add) -> None:
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


def signed_message(decision, deleting: bool = False) -> str:
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
