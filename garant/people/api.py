"""REST API of habilitations and of the staff register.

- `GET /api/habilitations/check?system=…&person=…` and `GET /api/habilitations/export?system=…`
  are for the clinical software or the identity provider of one establishment, so that access
  to a tool follows the habilitation. They authenticate with the establishment's machine token
  (`FeedbackToken`, `garant oversight_token create`; decision 0023): only that establishment's
  systems and people are looked up, and a system or person of another establishment answers
  exactly as an unknown one.
- `GET /api/people` lists the staff register for the roles allowed to see it
  ("view_people"); every read is recorded in the audit trail (personal data).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from garant.core import audit, documents, permissions
from garant.core.api import READ_ERRORS, Pagination, forbidden
from garant.oversight.api import FeedbackTokenAuth
from garant.people import habilitations as habs
from garant.people.models import Habilitation, Person
from garant.registry.models import AISystem

habilitations = Router(tags=["Habilitations"])
people = Router(tags=["Habilitations"])


class CheckQuery(Schema):
    system: int = Field(description="Identifiant du système d'IA dans Garant.")
    person: str = Field(
        min_length=1,
        max_length=50,
        description="N° RPPS/ADELI ou identifiant interne (matricule, annuaire) de la personne.",
    )


class CheckOut(Schema):
    habilitated: bool = Field(description="Vrai si la personne peut utiliser le système ce jour.")
    state: str = Field(
        description="granted, suspended, withdrawn, expired, none (aucune habilitation), "
        "unknown_system, unknown_person."
    )
    reason: str
    expires_on: dt.date | None = Field(description="Fin de validité (formation la plus proche).")


def _system_of(token, system_id: int) -> AISystem | None:
    # system code: the establishment is the token's, never the caller's choice
    return (
        AISystem.objects.unrestricted()
        .filter(pk=system_id, establishment_id=token.establishment_id)
        .first()
    )


@habilitations.get(
    "/check",
    url_name="habilitation_check",
    auth=FeedbackTokenAuth(),
    response={200: CheckOut, **READ_ERRORS},
    summary="Vérifier l'habilitation d'une personne à utiliser un système",
)
def check(request, query: Query[CheckQuery]):
    token = request.auth
    system = _system_of(token, query.system)
    if system is None:
        return {
            "habilitated": False,
            "state": "unknown_system",
            "reason": _("Système inconnu."),
            "expires_on": None,
        }
    wanted = query.person.strip()
    person = (
        Person.objects.within(establishment=system.establishment)
        .filter(Q(rpps=wanted) | Q(staff_id__iexact=wanted))
        .order_by("-rpps")  # a match on the RPPS/ADELI number first
        .first()
    )
    if person is None:
        return {
            "habilitated": False,
            "state": "unknown_person",
            "reason": _("Personne inconnue dans le registre de l'établissement."),
            "expires_on": None,
        }
    habilitation = habs.with_expiry(
        Habilitation.objects.within(person=person, ai_system=system)
    ).first()
    return habs.answer(habilitation)


class ExportQuery(Schema):
    system: int = Field(description="Identifiant du système d'IA dans Garant.")


@habilitations.get(
    "/export",
    auth=FeedbackTokenAuth(),
    response={200: None, **READ_ERRORS},
    summary="Liste des habilitations d'un système (CSV)",
)
def export(request, query: Query[ExportQuery]):
    system = _system_of(request.auth, query.system)
    if system is None:
        raise Http404
    content = documents.csv_bytes(habs.EXPORT_HEADERS, habs.export_rows(system))
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="habilitations-{system.pk}.csv"'
    return response


class PersonOut(Schema):
    id: int
    establishment_id: int
    last_name: str
    first_name: str
    profession: str
    service_id: int | None
    rpps: str
    staff_id: str
    left_on: dt.date | None


@people.get(
    "",
    response={200: list[PersonOut], **READ_ERRORS},
    summary="Lister le registre du personnel (lecture tracée dans le journal d'audit)",
)
@paginate(Pagination)
def list_people(request):
    if not permissions.can(request.user, "view_people"):
        raise forbidden(_("Votre rôle ne permet pas de lire le registre du personnel."))
    rows = Person.objects.restrict(request.user, "view_people").order_by("pk")
    counts = rows.values("establishment_id").annotate(n=Count("pk")).order_by("establishment_id")
    page = request.GET.get("page", "1")
    with audit.audit_context(user=request.user, source="api", request=request):
        for item in counts:
            audit.record_event(
                "people.read",
                _("Lecture du registre du personnel par l'API"),
                {"people": [None, item["n"]], "page": [None, page[:10]]},
                establishment_id=item["establishment_id"],
            )
    return rows
