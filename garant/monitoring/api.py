"""REST API of monitoring feeds: define feeds, send prediction and outcome batches as JSON,
read the report of a period, their alert rules and alerts.

Feeds are validated by the web form (`FeedForm`); batches go through the same ingestion as
files (`ingest.py`): 201 when stored, 200 when the same content was already received
(nothing stored), 422 with one {row, column, message} per error when refused (nothing stored).
Alert rules are validated by `AlertRuleForm`, the form of the feed's page, when added
(`POST /feeds/{id}/rules`) and when edited (`PATCH /rules/{id}`); every write needs the
"change" permission on the feed's system.
"""

from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, PatchDict, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from garant.core import permissions
from garant.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    FormErrors,
    Id,
    Pagination,
    get_scoped,
    merged,
    save_form,
    without_empty,
)
from garant.core.filtersets import filtered
from garant.monitoring import alerts, dashboard, ingest, report
from garant.monitoring.alert_forms import (
    AcknowledgeForm,
    AlertRuleForm,
    DriftReferenceForm,
    ResolveForm,
)
from garant.monitoring.filtersets import FeedFilterSet
from garant.monitoring.forms import FeedForm
from garant.monitoring.models import Alert, AlertRule, Feed, IngestBatch
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
    timezone: str = Field(
        "Europe/Paris", description="Fuseau des heures reçues sans fuseau (nom IANA)."
    )
    outcome_id_column: str = "prediction_id"
    outcome_column: str = "outcome"
    outcome_time_column: str = "outcome_time"
    outcome_window_hours: int = Field(
        description="Fenêtre de l'issue, en heures (obligatoire : une issue compte si elle "
        "survient dans ce délai après la prédiction ; 1 à 8760)."
    )
    objection_policy: str = Field(
        "drop",
        description="Lignes des patients opposés à l'évaluation : « drop » (écartées et "
        "comptées) ou « refuse » (lot refusé).",
    )


class FeedOut(Schema):
    objection_policy: str
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
    timezone: str
    outcome_id_column: str
    outcome_column: str
    outcome_time_column: str
    outcome_window_hours: int
    drift_reference: str = Field(
        description="Référence de la dérive : rolling (glissante) ou fixed (période fixe)."
    )
    reference_start: date | None
    reference_end: date | None
    created_at: datetime


class DriftReferenceIn(Schema):
    drift_reference: str = Field(
        description="rolling : les jours qui précèdent la fenêtre de chaque règle ; fixed : "
        "la période reference_start – reference_end (incluses), ex. la période de validation."
    )
    reference_start: str | None = Field(None, description="AAAA-MM-JJ ou JJ/MM/AAAA (fixed).")
    reference_end: str | None = Field(None, description="AAAA-MM-JJ ou JJ/MM/AAAA (fixed).")


class FeedFilters(Schema):
    """The filters of the monitoring overview (`FeedFilterSet`), as query parameters."""

    establishment: Id | None = None
    ouvertes: bool | None = Field(None, description="true : flux ayant une alerte ouverte.")
    system: Id | None = None


class RecordsIn(Schema):
    records: list[Any] = Field(description="Une ligne par objet JSON, clés = noms de colonnes.")


class BatchOut(Schema):
    id: int
    kind: str
    rows: int
    dropped_rows: int = Field(
        0, description="Lignes écartées : patients opposés à l'évaluation (docs/patients.md)."
    )
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
    """Avec les filtres de la vue d'ensemble du suivi."""
    base = permissions.scope(feed_queryset(), request.user)
    filterset, queryset = filtered(FeedFilterSet, request, base, without_empty(filters))
    if not filterset.is_valid():
        raise FormErrors(filterset.errors)
    return queryset


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


@feeds.put(
    "/{feed_id}/drift-reference",
    response={200: FeedOut, **WRITE_ERRORS},
    summary="Choisir la référence de la dérive",
)
def set_drift_reference(request, feed_id: Id, payload: DriftReferenceIn):
    """La référence des règles de dérive (score et variables) et du tableau de bord : glissante
    ou période fixe. Mêmes contrôles que la page du flux ; il faut le droit de modifier le
    système. Les règles sont réévaluées aussitôt."""
    feed = get_scoped(request, feed_queryset(), feed_id, "change")
    feed = save_form(DriftReferenceForm(payload.model_dump(), instance=feed))
    alerts.evaluate_after_ingest(feed)
    return get_scoped(request, feed_queryset(), feed.pk)


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
    if batch.dropped_rows:
        batch.detail += " " + _(
            "%(dropped)s lignes écartées : patients opposés à l'évaluation."
        ) % {"dropped": batch.dropped_rows}
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


# --- report ----------------------------------------------------------------------------------


class ReportQuery(Schema):
    start: str | None = Field(None, description="Premier jour, AAAA-MM-JJ ou JJ/MM/AAAA.")
    end: str | None = Field(None, description="Dernier jour inclus, AAAA-MM-JJ ou JJ/MM/AAAA.")
    by: str = Field("week", description="Granularité des séries : day, week ou month.")
    threshold: str | None = Field(
        None, description="Seuil de décision entre 0 et 1 pour ce rapport (défaut : celui du flux)."
    )


REPORT_PARAMETERS = {"du": "start", "au": "end", "par": "by", "seuil": "threshold"}


@feeds.get("/{feed_id}/report", response={200: dict, **READ_ERRORS}, summary="Rapport de suivi")
def feed_report(request, feed_id: Id, query: Query[ReportQuery]):
    """Le rapport d'une période, celui du tableau de bord et de `garant monitor report` (clés
    décrites dans docs/monitoring.md), calculé depuis l'état de suivi : rien n'est relu ni
    enregistré. Sans `start` ni `end` : les 90 derniers jours ; l'un sans l'autre : 422. Mêmes
    contrôles que le formulaire du tableau de bord."""
    feed = get_scoped(request, feed_queryset().select_related("ai_system__establishment"), feed_id)
    given = {form: getattr(query, name) for form, name in REPORT_PARAMETERS.items()}
    if given["du"] is None and given["au"] is None:
        given.update({k: v for k, v in dashboard.default_period().items() if k != "par"})
    form = dashboard.PeriodForm(given)
    if not form.is_valid():
        raise FormErrors({REPORT_PARAMETERS.get(k, k): v for k, v in form.errors.items()})
    data = form.cleaned_data
    return report.build_report(
        feed,
        data["du"],
        data["au"],
        by=data["par"],
        threshold=data["seuil"],
        reference=feed.fixed_reference,
    )


# --- alerts ----------------------------------------------------------------------------------

alerts_router = Router(tags=["Suivi : alertes"])
rules_router = Router(tags=["Suivi : alertes"])


class AlertRuleIn(Schema):
    kind: str = Field(
        description="auc_below, psi_above, feature_psi_above, feature_ks_above, ece_above, "
        "oe_ratio_outside, subgroup_ratio_outside, volume_drop, outcomes_late."
    )
    threshold: float | None = Field(
        None,
        description="AUC : plancher ; PSI, KS, ECE : maximum ; sous-groupes et observé / "
        "attendu : rapport minimal r (tolérance [r ; 1/r]) ; volume : baisse maximale "
        "(0.5 = 50 %) ; issues : part maximale de prédictions échues sans issue. Absent à la "
        "création : la valeur proposée pour le type (garant/referentials/alert_rules).",
    )
    window_days: int | None = Field(
        None, description="Fenêtre en jours (volume : 7 j contre 28 j) ; absent : proposée."
    )
    feature: str = Field("", description="Pour feature_psi_above et feature_ks_above.")
    subgroup_column: str = Field("", description="Pour subgroup_ratio_outside.")
    active: bool = True


class AlertRuleOut(Schema):
    id: int
    feed: int = Field(alias="feed_id")
    kind: str
    threshold: float
    window_days: int
    feature: str
    subgroup_column: str
    active: bool
    created_at: datetime
    last_evaluated_at: datetime | None
    last_value: float | None = Field(description="Dernière valeur ; null : indéfinie.")
    last_status: str = Field(description="Dernier état, en français (raison si indéfinie).")


class AlertOut(Schema):
    id: int
    feed: int
    rule: int
    kind: str
    state: str = Field(description="open, acknowledged ou resolved.")
    opened_at: datetime
    value: float | None
    message: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    comment: str
    resolved_at: datetime | None
    resolution: str = Field(
        description="Motif de la clôture : back_to_normal (close automatiquement, retour à la "
        "normale), rule_deactivated (règle désactivée), manual (résolue avec une note) ; vide "
        "tant que l'alerte est en cours (ouverte ou prise en compte)."
    )
    resolved_by: str | None
    resolution_note: str
    window_start: date | None = Field(description="Premier jour de la fenêtre comparée.")
    window_end: date | None
    reference_start: date | None = Field(description="Référence comparée (dérive, AUC).")
    reference_end: date | None
    text: dict[str, str] = Field(
        description="En clair : change (ce qui a changé), since (depuis quand), how_much (de "
        "combien), meaning (pour les patients), todo (que faire)."
    )


class AlertFilters(Schema):
    state: str | None = Field(None, description="open, acknowledged ou resolved.")


class AcknowledgeIn(Schema):
    comment: str = Field(description="Obligatoire : ce qui a été vu ou décidé.")


class ResolveIn(Schema):
    note: str = Field(description="Obligatoire : ce qui a été fait ou constaté.")


@feeds.get("/{feed_id}/rules", response={200: list[AlertRuleOut], **READ_ERRORS}, summary="Règles")
def list_rules(request, feed_id: Id):
    feed = get_scoped(request, feed_queryset(), feed_id)
    return list(feed.alert_rules.all())


@feeds.post(
    "/{feed_id}/rules",
    response={201: AlertRuleOut, **WRITE_ERRORS},
    summary="Créer une règle d'alerte",
)
def create_rule(request, feed_id: Id, payload: AlertRuleIn):
    """Il faut le droit de modifier le système suivi."""
    feed = get_scoped(request, feed_queryset(), feed_id, "change")
    return Status(201, save_form(AlertRuleForm(payload.model_dump(), feed=feed)))


@feeds.get("/{feed_id}/alerts", response={200: list[AlertOut], **READ_ERRORS}, summary="Alertes")
def list_alerts(request, feed_id: Id, filters: Query[AlertFilters]):
    """Les alertes du flux, les plus récentes d'abord (filtre `state` facultatif)."""
    feed = get_scoped(request, feed_queryset(), feed_id)
    queryset = feed.alerts.select_related("rule", "acknowledged_by")
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    return [alerts.as_dict(alert) for alert in queryset]


@alerts_router.post(
    "/{alert_id}/acknowledge",
    response={200: AlertOut, **WRITE_ERRORS},
    summary="Prendre en compte une alerte",
)
def acknowledge_alert(request, alert_id: Id, payload: AcknowledgeIn):
    """Avec un commentaire (obligatoire) ; il faut le droit de modifier le système. 409 si
    l'alerte n'est pas ouverte."""
    queryset = Alert.objects.select_related("rule", "feed__ai_system")
    alert = get_scoped(request, queryset, alert_id, "change")
    form = AcknowledgeForm(payload.model_dump())
    if not form.is_valid():
        raise FormErrors(form.errors)
    if alert.state != Alert.State.OPEN:
        raise HttpError(409, _("Seule une alerte ouverte peut être prise en compte."))
    alerts.acknowledge(alert, request.user, form.cleaned_data["comment"])
    return alerts.as_dict(alert)


@alerts_router.get(
    "/{alert_id}", response={200: AlertOut, **READ_ERRORS}, summary="Lire une alerte"
)
def get_alert(request, alert_id: Id):
    queryset = Alert.objects.select_related("rule", "acknowledged_by", "resolved_by")
    return alerts.as_dict(get_scoped(request, queryset, alert_id))


@alerts_router.post(
    "/{alert_id}/resolve",
    response={200: AlertOut, **WRITE_ERRORS},
    summary="Résoudre une alerte",
)
def resolve_alert(request, alert_id: Id, payload: ResolveIn):
    """Clôt une alerte en cours (ouverte ou prise en compte) avec une note (obligatoire) ;
    il faut le droit de modifier le système. 409 si l'alerte est déjà close."""
    queryset = Alert.objects.select_related("rule", "feed__ai_system", "acknowledged_by")
    alert = get_scoped(request, queryset, alert_id, "change")
    form = ResolveForm(payload.model_dump())
    if not form.is_valid():
        raise FormErrors(form.errors)
    if not alert.ongoing:
        raise HttpError(409, _("Cette alerte est déjà close."))
    alerts.resolve(alert, request.user, form.cleaned_data["note"])
    return alerts.as_dict(alert)


def rule_queryset():
    return AlertRule.objects.select_related("feed__ai_system")


@rules_router.get(
    "/{rule_id}", response={200: AlertRuleOut, **READ_ERRORS}, summary="Lire une règle d'alerte"
)
def get_rule(request, rule_id: Id):
    return get_scoped(request, rule_queryset(), rule_id)


@rules_router.patch(
    "/{rule_id}",
    response={200: AlertRuleOut, **WRITE_ERRORS},
    summary="Modifier une règle d'alerte",
)
def update_rule(request, rule_id: Id, payload: PatchDict[AlertRuleIn]):
    """Seuil, fenêtre, colonne de sous-groupe, `active` ; le type (`kind`) ne change pas
    (422). Mêmes contrôles qu'à l'ajout ; il faut le droit de modifier le système. Une règle
    désactivée (`"active": false`) n'est plus évaluée et ses alertes en cours sont closes
    (`resolution` rule_deactivated)."""
    rule = get_scoped(request, rule_queryset(), rule_id, "change")
    if "active" in payload and payload["active"] is None:
        raise FormErrors({"active": [_("Saisissez true ou false.")]})
    form = AlertRuleForm(merged(rule, AlertRuleIn, payload), instance=rule, feed=rule.feed)
    if not form.is_valid():
        raise FormErrors(form.errors)
    rule, _closed = alerts.save_rule(form)
    return rule


@rules_router.delete(
    "/{rule_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Supprimer une règle d'alerte",
)
def delete_rule(request, rule_id: Id):
    """Seulement une règle qui n'a jamais déclenché d'alerte (409 sinon : ses alertes font
    preuve ; désactivez-la plutôt avec `PATCH {"active": false}`)."""
    rule = get_scoped(request, rule_queryset(), rule_id, "change")
    try:
        alerts.delete_rule(rule)
    except alerts.RuleHasAlerts as refused:
        raise HttpError(409, str(refused)) from refused
    return Status(204, None)
