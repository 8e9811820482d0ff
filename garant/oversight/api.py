"""REST API of human oversight: the clinical software sends its feedback events, people read
the rates.

`POST /api/oversight/events` authenticates the clinical software with a bearer token of one
establishment (`FeedbackToken`, `garant oversight_token create`), not a person's token: the
events may name that establishment's systems only. At most `MAX_API_EVENTS` per batch (a
file import takes more). 201: new events stored; 200: every event was already received
(nothing stored); 422: refused whole, one {row, column, message} per error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer

from garant.core.api import READ_ERRORS, WRITE_ERRORS, FormErrors, Id, Text, get_scoped
from garant.core.audit import audit_context
from garant.monitoring.models import Alert
from garant.oversight import ingest, plan_forms, plans, rates, suspension
from garant.oversight.forms import PeriodForm, default_period
from garant.oversight.models import FeedbackToken, OversightAlert, Suspension
from garant.registry.models import AISystem

oversight = Router(tags=["Supervision humaine"])


class FeedbackTokenAuth(HttpBearer):
    """`Authorization: Bearer grf_…`: a clinical software's token of one establishment."""

    def authenticate(self, request, token):
        return FeedbackToken.authenticate(token)


class EventsIn(Schema):
    events: list[Any] = Field(
        description="Un objet par utilisation d'une sortie de l'IA (10 000 au plus) : system, "
        "event_id, time, outcome, et facultativement reason, reason_text, role, service, "
        "prediction_id, decision_ms, edit_ratio, ai_decision, final_decision "
        "(docs/oversight.md)."
    )


class ReceivedOut(Schema):
    batch: int | None = Field(description="Lot créé ; null si rien de nouveau.")
    received: int
    stored: int
    already_received: int = Field(description="Événements déjà reçus (même système, même id).")
    referential_version: str
    detail: str


class RowErrorOut(Schema):
    row: int | str | None = Field(description="Événement (1 = le premier) ; null : tous.")
    column: str | None
    message: str


class BatchErrors(Schema):
    detail: list[RowErrorOut]
    error_count: int = Field(description="Nombre total d'erreurs (au plus 200 listées).")


def _refused(errors: list, total: int):
    detail = [{"row": e.row, "column": e.column, "message": e.reason} for e in errors]
    return Status(422, {"detail": detail, "error_count": total})


@oversight.post(
    "/events",
    auth=FeedbackTokenAuth(),
    response={201: ReceivedOut, 200: ReceivedOut, 422: BatchErrors},
    summary="Envoyer des retours d'utilisation (logiciel clinique)",
)
def post_events(request, payload: EventsIn):
    """Idempotent par identifiant d'événement et système : renvoyer un lot n'enregistre que
    les événements nouveaux. Refus entier (422) si un identifiant direct (patient ou
    professionnel) apparaît, si un système n'est pas de l'établissement du jeton, ou si une
    valeur est invalide."""
    token: FeedbackToken = request.auth
    if len(payload.events) > ingest.MAX_API_EVENTS:
        error = ingest.Errors()
        error.add(
            None,
            None,
            f"lot trop grand : {ingest.MAX_API_EVENTS} événements au plus par envoi (importez "
            "un fichier CSV ou Parquet pour davantage)",
        )
        return _refused(error.listed, error.total)
    with audit_context(source="api", request=request):
        try:
            table = ingest.read_records(payload.events)
            received = ingest.ingest(token.establishment, table, "api", token=token)
        except ingest.BatchRefused as refused:
            return _refused(refused.errors, refused.total)
    body = {
        "batch": received.batch.pk if received.batch else None,
        "received": received.received,
        "stored": received.stored,
        "already_received": received.already,
        "referential_version": received.referential_version,
        "detail": _("%(stored)s événement(s) enregistré(s), %(already)s déjà reçu(s).")
        % {"stored": received.stored, "already": received.already},
    }
    return Status(201 if received.batch else 200, body)


class RatesQuery(Schema):
    start: str | None = Field(None, description="Premier jour, AAAA-MM-JJ ou JJ/MM/AAAA.")
    end: str | None = Field(None, description="Dernier jour inclus.")
    by: str = Field("week", description="Granularité : day, week ou month.")


@oversight.get(
    "/systems/{system_id}/rates",
    response={200: dict, **READ_ERRORS},
    summary="Taux de supervision humaine d'un système",
)
def system_rates(request, system_id: Id, query: Query[RatesQuery]):
    """Taux d'acceptation, de modification, d'écart… au total, par période, service, rôle et
    motif ; indicateur d'acceptation sans examen ; kappa IA / décision finale. Sans `start`
    ni `end` : les 90 derniers jours."""
    system = get_scoped(request, AISystem.objects.select_related("establishment"), system_id)
    given = {"du": query.start, "au": query.end, "par": query.by}
    if query.start is None and query.end is None:
        given.update({k: v for k, v in default_period().items() if k != "par"})
    form = PeriodForm(given)
    if not form.is_valid():
        names = {"du": "start", "au": "end", "par": "by"}
        raise FormErrors({names.get(k, k): v for k, v in form.errors.items()})
    data = form.cleaned_data
    return rates.system_summary(system, data["du"], data["au"] + dt.timedelta(days=1), data["par"])


# --- the oversight plan -------------------------------------------------------------------


class PlanPoint(Schema):
    moment: str = Field(description="before, after ou sampled.")
    rate: float | None = Field(None, description="Part contrôlée en % (sampled seulement).")
    who: Text = None
    checks: Text = None
    action: Text = Field(None, description="Comment ignorer, corriger ou arrêter.")


class PlanPerson(Schema):
    who: Text = Field(None, description="Personne nommée ou rôle.")
    competence: Text = None


class PlanIn(Schema):
    points: list[PlanPoint]
    people: list[PlanPerson]
    override: Text = None
    stop: Text = None
    fallback: Text = None
    review_months: int = Field(description="Revue du plan tous les N mois (1 à 36).")
    comment: Text = Field(None, description="Motif de la modification.")


class PlanOut(Schema):
    system: int
    number: int
    created_at: dt.datetime
    created_by: str | None
    points: list[PlanPoint]
    people: list[PlanPerson]
    override: str
    stop: str
    fallback: str
    review_months: int
    review_due: dt.date
    comment: str


def _plan_out(version) -> dict:
    return {
        "system": version.ai_system_id,
        "number": version.number,
        "created_at": version.created_at,
        "created_by": version.created_by.get_username() if version.created_by else None,
        "points": version.points,
        "people": version.people,
        "override": version.override,
        "stop": version.stop,
        "fallback": version.fallback,
        "review_months": version.review_months,
        "review_due": version.review_due,
        "comment": version.comment,
    }


@oversight.get(
    "/systems/{system_id}/plan",
    response={200: PlanOut, **READ_ERRORS},
    summary="Plan de supervision en vigueur d'un système",
)
def get_plan(request, system_id: Id):
    """La dernière version du plan (404 si le système n'a pas de plan)."""
    system = get_scoped(request, AISystem.objects.select_related("establishment"), system_id)
    version = plans.current(system)
    if version is None:
        return Status(404, {"detail": _("Ce système n'a pas de plan de supervision.")})
    return _plan_out(version)


@oversight.put(
    "/systems/{system_id}/plan",
    response={201: PlanOut, 200: PlanOut, **WRITE_ERRORS},
    summary="Enregistrer une nouvelle version du plan de supervision",
)
def put_plan(request, system_id: Id, payload: PlanIn):
    """Chaque envoi qui change le plan crée une version (201) ; un plan identique à celui en
    vigueur n'en crée pas (200). 422 : une erreur par champ (`points[0].rate`…)."""
    system = get_scoped(
        request, AISystem.objects.select_related("establishment"), system_id, "change"
    )
    forms = plan_forms.build(plan_forms.as_form_data(payload.model_dump()))
    values, errors = plan_forms.validate(*forms)
    if values is None:
        raise FormErrors(errors)
    try:
        version = plans.save_version(system, values, request.user, forms[0].cleaned_data["comment"])
    except plans.NoChange:
        return Status(200, _plan_out(plans.current(system)))
    return Status(201, _plan_out(version))


# --- the status a clinical software polls: is the tool suspended? ----------------------------

#: mounted at /api/systems by garant/api.py, with the clinical software's tokens
#: (`FeedbackToken`) accepted alongside the API tokens and the session
system_status = Router(tags=["Supervision humaine"])


class StatusOut(Schema):
    system: int
    status: str = Field(description="active ou suspended.")
    since: dt.datetime | None = Field(description="Début de la suspension en cours.")
    reason: str | None = Field(description="Motif de la suspension en cours.")
    suspension: int | None = Field(description="Identifiant de la suspension en cours.")


@system_status.get(
    "/{system_id}/status",
    response={200: StatusOut, **READ_ERRORS},
    summary="Statut d'utilisation d'un système (suspendu ou actif)",
)
def get_status(request, system_id: Id):
    """À interroger régulièrement par le logiciel clinique : `suspended` signifie que
    l'utilisation de l'outil doit cesser (motif et date de début fournis). Jeton d'API d'un
    utilisateur, jeton du logiciel clinique (`grf_…`) ou session."""
    if isinstance(request.auth, FeedbackToken):
        # system code: the token names its establishment, which bounds what it may read
        found = AISystem.objects.unrestricted().filter(
            pk=system_id, establishment_id=request.auth.establishment_id
        )
        system = found.first()
        if system is None:
            raise Http404
    else:
        system = get_scoped(request, AISystem.objects.all(), system_id)
    return suspension.status(system)


# --- suspensions: propose, suspend, decline, resume ------------------------------------------
# The rules are those of the pages (garant/oversight/suspension.py); a refused step is a 409
# with the French message, nothing stored. Proposing needs "propose_suspension" on the system,
# the other steps "suspend" (garant/core/roles.py).

#: mounted at /api/systems by garant/api.py (a person's token or session only)
system_suspensions = Router(tags=["Supervision humaine"])
#: mounted at /api/suspensions
suspensions = Router(tags=["Supervision humaine"])


class SuspensionOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url")
    system: int = Field(alias="ai_system_id")
    state: str = Field(description="proposed, declined, suspended ou resumed.")
    state_label: str = Field(alias="get_state_display")
    cause: str
    alert: int | None = Field(alias="alert_id", description="Alerte de suivi à l'origine.")
    oversight_alert: int | None = Field(
        alias="oversight_alert_id", description="Alerte de supervision à l'origine."
    )
    findings: list[int] = Field(description="Constats du collège (cas revus) à l'origine.")
    proposed_by: str | None = Field(None, alias="proposed_by.username")
    proposed_at: dt.datetime
    reason: str
    suspended_by: str | None = Field(None, alias="suspended_by.username")
    suspended_at: dt.datetime | None
    declined_by: str | None = Field(None, alias="declined_by.username")
    declined_at: dt.datetime | None
    decline_note: str
    resumed_by: str | None = Field(None, alias="resumed_by.username")
    resumed_at: dt.datetime | None
    resumption_decision: int | None = Field(
        alias="resumption_decision_id", description="Décision signée qui a levé la suspension."
    )

    @staticmethod
    def resolve_findings(obj):
        return sorted(finding.pk for finding in suspension.findings(obj))


class ProposeIn(Schema):
    cause: Text = Field(None, description="Cause de la proposition (obligatoire).")
    alert: Id | None = Field(None, description="Alerte de suivi du système à l'origine.")
    oversight_alert: Id | None = Field(
        None, description="Alerte de supervision du système à l'origine."
    )
    finding: Id | None = Field(
        None, description="Constat du collège à l'origine : un cas revu d'une campagne."
    )


class ReasonIn(Schema):
    reason: Text = Field(None, description="Motif de la suspension (obligatoire).")


class DeclineIn(Schema):
    note: Text = Field(None, description="Pourquoi la suspension n'est pas retenue (obligatoire).")


class ResumeIn(Schema):
    decision: Id | None = Field(
        None,
        description="Décision signée du comité qui fait référence à la suspension ; vide : la "
        "plus récente de ces décisions.",
    )


def _suspensions():
    return Suspension.objects.select_related(
        "ai_system__establishment", "proposed_by", "suspended_by", "declined_by", "resumed_by"
    )


def _scoped_suspension(request, suspension_id: int, permission: str = "view") -> Suspension:
    return get_scoped(request, _suspensions(), suspension_id, permission)


def _step(request, suspension_id: int, step) -> Suspension:
    """Run a step of the service: its refusal is a 409 with the French message."""
    try:
        step()
    except suspension.Refused as refused:
        raise HttpError(409, str(refused)) from None
    return _scoped_suspension(request, suspension_id)


@system_suspensions.get(
    "/{system_id}/suspensions",
    response={200: list[SuspensionOut], **READ_ERRORS},
    summary="Suspensions d'un système (proposées, en vigueur, levées, refusées)",
)
def list_suspensions(request, system_id: Id):
    """Les plus récentes d'abord."""
    system = get_scoped(request, AISystem.objects.select_related("establishment"), system_id)
    return list(_suspensions().within(ai_system=system))


@system_suspensions.post(
    "/{system_id}/suspensions",
    response={201: SuspensionOut, **WRITE_ERRORS},
    summary="Proposer la suspension d'un système",
)
def propose_suspension(request, system_id: Id, payload: ProposeIn):
    """La cause est une alerte de suivi ou de supervision du système, un constat du collège
    de garantie humaine (cas revu) ou un texte libre. Une personne habilitée la confirme
    ensuite (`POST /api/suspensions/{id}/suspend`)."""
    system = get_scoped(
        request,
        AISystem.objects.select_related("establishment"),
        system_id,
        "propose_suspension",
    )
    errors: dict[str, list[str]] = {}
    alert = oversight_alert = finding = None
    if payload.alert is not None:
        alert = Alert.objects.within(feed__ai_system=system).filter(pk=payload.alert).first()
        if alert is None:
            errors["alert"] = [_("Aucune alerte de suivi de ce système n'a cet identifiant.")]
    if payload.oversight_alert is not None:
        found = OversightAlert.objects.within(ai_system=system)
        oversight_alert = found.filter(pk=payload.oversight_alert).first()
        if oversight_alert is None:
            errors["oversight_alert"] = [
                _("Aucune alerte de supervision de ce système n'a cet identifiant.")
            ]
    if payload.finding is not None:
        finding = suspension.find_finding(system, payload.finding)
        if finding is None:
            errors["finding"] = [_("Aucun constat du collège sur ce système n'a cet identifiant.")]
    if not (payload.cause or "").strip():
        errors["cause"] = [_("Indiquez la cause de la proposition de suspension.")]
    if errors:
        raise FormErrors(errors)
    try:
        proposal = suspension.propose(
            system,
            request.user,
            payload.cause,
            alert=alert,
            oversight_alert=oversight_alert,
            finding=finding,
        )
    except suspension.Refused as refused:
        raise HttpError(409, str(refused)) from None
    return Status(201, _scoped_suspension(request, proposal.pk))


@suspensions.get(
    "/{suspension_id}",
    response={200: SuspensionOut, **READ_ERRORS},
    summary="Lire une suspension",
)
def get_suspension(request, suspension_id: Id):
    return _scoped_suspension(request, suspension_id)


@suspensions.post(
    "/{suspension_id}/suspend",
    response={200: SuspensionOut, **WRITE_ERRORS},
    summary="Suspendre : confirmer une proposition (effet immédiat)",
)
def suspend(request, suspension_id: Id, payload: ReasonIn):
    """La suspension prend effet immédiatement : `GET /api/systems/{id}/status` répond
    `suspended`, les utilisateurs et référents du système sont prévenus. 409 : la proposition
    n'est plus en attente, ou le système est déjà suspendu."""
    proposal = _scoped_suspension(request, suspension_id, "suspend")
    if not (payload.reason or "").strip():
        raise FormErrors({"reason": [_("Indiquez le motif de la suspension.")]})
    return _step(
        request,
        suspension_id,
        lambda: suspension.suspend(proposal, request.user, payload.reason),
    )


@suspensions.post(
    "/{suspension_id}/decline",
    response={200: SuspensionOut, **WRITE_ERRORS},
    summary="Refuser une proposition de suspension",
)
def decline(request, suspension_id: Id, payload: DeclineIn):
    proposal = _scoped_suspension(request, suspension_id, "suspend")
    if not (payload.note or "").strip():
        raise FormErrors({"note": [_("Indiquez pourquoi la suspension n'est pas retenue.")]})
    return _step(
        request, suspension_id, lambda: suspension.decline(proposal, request.user, payload.note)
    )


@suspensions.post(
    "/{suspension_id}/resume",
    response={200: SuspensionOut, **WRITE_ERRORS},
    summary="Demander la reprise d'un système suspendu",
)
def resume(request, suspension_id: Id, payload: ResumeIn):
    """Accordée seulement sur une décision signée du comité qui fait référence à cette
    suspension (et n'arrête pas le projet) ; sinon 409 avec le motif."""
    current = _scoped_suspension(request, suspension_id, "suspend")
    decisions = suspension.resumption_decisions(current)
    if payload.decision is None:
        decision = max(decisions, key=lambda d: d.pk, default=None)
    else:
        decision = next((d for d in decisions if d.pk == payload.decision), None)
    return _step(request, suspension_id, lambda: suspension.resume(current, request.user, decision))
