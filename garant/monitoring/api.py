"""REST API of monitoring feeds: define feeds, send prediction and outcome batches as JSON.

Feeds are validated by the web form (`FeedForm`); batches go through the same ingestion as
files (`ingest.py`): 201 when stored, 200 when the same content was already received
(nothing stored), 422 with one {row, column, message} per error when refused (nothing stored).
"""

from datetime import datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status
from ninja.pagination import paginate

from garant.core import permissions
from garant.core.api import READ_ERRORS, WRITE_ERRORS, Id, Pagination, get_scoped, save_form
from garant.monitoring import ingest
from garant.monitoring.forms import FeedForm
from garant.monitoring.models import Feed, IngestBatch
from garant.registry.models import AISystem

feeds = Router(tags=["Suivi : flux de prédictions"])


class FeedIn(Schema):
    ai_system: Id = Field(description="Système d'IA suivi.")
    name: str
    slug: str = Field(description="Identifiant court, unique pour le système.")
    prediction_id_column: str = "prediction_id"
    timestamp_column: str = "timestamp"
    patient_id_column: str = "patient_id"
    score_column: str = "score"
    model_version_column: str = "model_version"
    feature_columns: list[str] = Field([], description="Variables numériques.")
    categorical_columns: list[str] = Field([], description="Variables catégorielles.")
    subgroup_columns: list[str] = Field([], description="Colonnes de sous-groupes.")
    operating_threshold: float = Field(description="Seuil de décision (score ≥ seuil).")
    quantum: float = 1e-4
    outcome_id_column: str = "prediction_id"
    outcome_column: str = "outcome"
    outcome_time_column: str = "outcome_time"
    outcome_window_hours: int = Field(48, ge=1, description="Fenêtre de l'issue, en heures.")


class FeedOut(Schema):
    id: int
    ai_system: int = Field(alias="ai_system_id")
    reference: str = Field(description="`<système>/<slug>`, pour `garant monitor`.")
    name: str
    slug: str
    prediction_id_column: str
    timestamp_column: str
    patient_id_column: str
    score_column: str
    model_version_column: str
    feature_columns: list[str]
    categorical_columns: list[str]
    subgroup_columns: list[str]
    operating_threshold: float
    quantum: float
    outcome_id_column: str
    outcome_column: str
    outcome_time_column: str
    outcome_window_hours: int
    created_at: datetime


class FeedFilters(FilterSchema):
    system: Annotated[Id | None, FilterLookup("ai_system_id")] = None


class RecordsIn(Schema):
    records: list[Any] = Field(description="Une ligne par objet JSON, clés = noms de colonnes.")


class BatchOut(Schema):
    id: int
    kind: str
    rows: int
    sha256: str
    created_at: datetime
    detail: str = ""


class RowErrorOut(Schema):
    row: int | str | None = Field(
        description="Ligne (1 = premier enregistrement), « entry[i] » ou « Bundle » pour un "
        "Bundle FHIR, null : toutes."
    )
    column: str | None
    message: str


class BatchErrors(Schema):
    detail: list[RowErrorOut]
    error_count: int = Field(description="Nombre total d'erreurs (au plus 200 listées).")


def feed_queryset():
    return Feed.objects.select_related("ai_system")


@feeds.get("", response=list[FeedOut], summary="Lister les flux")
@paginate(Pagination)
def list_feeds(request, filters: Query[FeedFilters]):
    return filters.filter(permissions.scope(feed_queryset(), request.user))


@feeds.get("/{feed_id}", response={200: FeedOut, **READ_ERRORS}, summary="Lire un flux")
def get_feed(request, feed_id: Id):
    return get_scoped(request, feed_queryset(), feed_id)


@feeds.post("", response={201: FeedOut, **WRITE_ERRORS}, summary="Créer un flux")
def create_feed(request, payload: FeedIn):
    """Il faut le droit de modifier le système suivi."""
    values = payload.model_dump()
    system = get_scoped(request, AISystem.objects.all(), values.pop("ai_system"), "change")
    feed = save_form(FeedForm(values, ai_system=system))
    return Status(201, get_scoped(request, feed_queryset(), feed.pk))


def _receive(request, feed_id: int, kind: str | None, payload: RecordsIn | None):
    feed = get_scoped(request, feed_queryset(), feed_id, "change")
    try:
        if payload is None:  # a FHIR Bundle: the kind is that of its resources
            kind, table = ingest.read_fhir(feed, request.body)
        else:
            table = ingest.read_records(payload.records)
        batch = ingest.ingest(feed, kind, table, "api", request.user)
    except ingest.BatchRefused as refused:
        detail = [{"row": e.row, "column": e.column, "message": e.reason} for e in refused.errors]
        return Status(422, {"detail": detail, "error_count": refused.total})
    except ingest.AlreadyReceived as duplicate:
        batch = duplicate.batch
        batch.detail = str(duplicate)
        return Status(200, batch)
    batch.detail = _("%(rows)s lignes enregistrées.") % {"rows": batch.rows}
    return Status(201, batch)


BATCH_RESPONSES = {201: BatchOut, 200: BatchOut, **WRITE_ERRORS, 422: BatchErrors}


@feeds.post(
    "/{feed_id}/predictions", response=BATCH_RESPONSES, summary="Envoyer un lot de prédictions"
)
def post_predictions(request, feed_id: Id, payload: RecordsIn):
    """201 : lot enregistré ; 200 : lot déjà reçu (rien n'est enregistré) ; 422 : refusé."""
    return _receive(request, feed_id, IngestBatch.Kind.PREDICTIONS, payload)


@feeds.post("/{feed_id}/outcomes", response=BATCH_RESPONSES, summary="Envoyer un lot d'issues")
def post_outcomes(request, feed_id: Id, payload: RecordsIn):
    """Issues (0/1) observées, rapprochées des prédictions par identifiant dans la fenêtre."""
    return _receive(request, feed_id, IngestBatch.Kind.OUTCOMES, payload)


@feeds.post(
    "/{feed_id}/fhir",
    response=BATCH_RESPONSES,
    summary="Envoyer un Bundle FHIR R4",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        }
    },
)
def post_fhir(request, feed_id: Id):
    """Le corps est un Bundle FHIR R4 : des RiskAssessment (prédictions), ou des Observation
    et Condition (issues), la nature étant lue sur la première entrée. Mêmes réponses que
    les lots JSON ; en 422, `row` vaut « entry[i] » (compté depuis 0) et `column` le chemin
    FHIRPath."""
    return _receive(request, feed_id, None, None)
