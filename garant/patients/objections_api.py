"""``POST /api/objections/check``: may these identifiers be used for this purpose?

Asked by the clinical software or the data pipeline of one establishment, with that
establishment's clinical-software token (`oversight.FeedbackToken`, ``Bearer grf_…``): a
token scoped to one establishment, made for machines, revocable, and already handed to the
software that sends feedback events. A person's token or session is not accepted here: it
would span every establishment of its user, and this question is asked by programs.

The answer is a list of booleans in the order of the identifiers (true: may be used), not
the identifiers again. Each call is recorded in the audit trail with its counts only.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from garant.core.audit import record_event
from garant.monitoring.ingest import MAX_ID_LENGTH
from garant.oversight.api import FeedbackTokenAuth
from garant.oversight.models import FeedbackToken
from garant.patients import objections
from garant.registry.models import AISystem

MAX_IDENTIFIERS = 100_000

router = Router(tags=["Patients : oppositions"])


class CheckIn(Schema):
    purpose: str = Field(
        description="Finalité : care (soins), evaluation (évaluation et suivi), research "
        "(recherche), training (entraînement des modèles)."
    )
    system: int | None = Field(
        None,
        description="Système d'IA de l'établissement du jeton ; absent : une opposition à "
        "n'importe quel système pour cette finalité compte (réponse prudente).",
    )
    identifiers: list[Any] = Field(
        description=f"Identifiants pseudonymes des patients ({MAX_IDENTIFIERS} au plus), "
        "tels que le logiciel les envoie aux flux de suivi."
    )


class CheckOut(Schema):
    purpose: str
    system: int | None
    count: int
    objected: int = Field(description="Identifiants dont le patient s'est opposé.")
    allowed: list[bool] = Field(
        description="Dans l'ordre des identifiants : true si l'usage est permis."
    )


class ProblemOut(Schema):
    field: str | None
    message: str


class ProblemsOut(Schema):
    detail: list[ProblemOut]


def _problems(payload: CheckIn, token: FeedbackToken) -> tuple[list[dict], AISystem | None]:
    problems, system = [], None
    if payload.purpose not in objections.Purpose.values:
        problems.append(
            {
                "field": "purpose",
                "message": _("Finalité inconnue : %(values)s attendu.")
                % {"values": ", ".join(objections.Purpose.values)},
            }
        )
    if payload.system is not None:
        system = (
            AISystem.objects.within(establishment=token.establishment)
            .filter(pk=payload.system)
            .first()
        )
        if system is None:
            problems.append(
                {"field": "system", "message": _("Système inconnu dans l'établissement du jeton.")}
            )
    if len(payload.identifiers) > MAX_IDENTIFIERS:
        problems.append(
            {
                "field": "identifiers",
                "message": _("%(max)s identifiants au plus par appel.") % {"max": MAX_IDENTIFIERS},
            }
        )
    for index, value in enumerate(payload.identifiers):  # named by position, never by value
        if len(problems) >= 100:
            break
        if not isinstance(value, str) or not value.strip():
            message = _("Identifiant attendu : un texte non vide.")
        elif len(value) > MAX_ID_LENGTH:
            message = _("Identifiant trop long (%(max)s caractères au plus).") % {
                "max": MAX_ID_LENGTH
            }
        else:
            continue
        problems.append({"field": f"identifiers.{index}", "message": message})
    return problems, system


@router.post(
    "/check",
    url_name="objection_check",
    auth=FeedbackTokenAuth(),
    response={200: CheckOut, 422: ProblemsOut},
    summary="Vérifier des identifiants (oppositions par système et finalité)",
)
def check(request, payload: CheckIn):
    """Pour chaque identifiant, dans l'ordre : l'usage est-il permis pour cette finalité (et ce
    système) ? Jeton de logiciel clinique de l'établissement (docs/patients.md)."""
    token: FeedbackToken = request.auth
    problems, system = _problems(payload, token)
    if problems:
        return Status(422, {"detail": problems})
    allowed = objections.check(
        token.establishment, payload.purpose, payload.system, payload.identifiers
    )
    objected = int(len(allowed) - allowed.sum())
    record_event(  # the counts only, never an identifier
        "patients.objection_check",
        token.name,
        {
            "token": [None, token.prefix],
            "purpose": [None, payload.purpose],
            "system": [None, system.pk if system else None],
            "count": [None, len(allowed)],
            "objected": [None, objected],
        },
        establishment_id=token.establishment_id,
    )
    return {
        "purpose": payload.purpose,
        "system": payload.system,
        "count": len(allowed),
        "objected": objected,
        "allowed": allowed.tolist(),
    }
