"""REST API of the risk analysis (AMDEC): read the analyses of a system and their failure
modes, add a failure mode to a draft. Versions are opened and frozen in the interface."""

from __future__ import annotations

from datetime import date, datetime

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from garant.core.api import READ_ERRORS, WRITE_ERRORS, FormErrors, Id, Text, get_scoped
from garant.registry.models import AISystem
from garant.risks import analyses
from garant.risks.forms import FailureModeForm
from garant.risks.models import AnalysisFrozen, FailureMode, RiskAnalysis

risks = Router(tags=["Analyse de risques (AMDEC)"])


class FailureModeOut(Schema):
    id: int
    analysis: int = Field(alias="analysis_id")
    lineage: str = Field(description="Identifiant stable du mode d'une version à l'autre.")
    position: int
    code: str = Field(description="Code du référentiel ; vide pour un mode libre.")
    title: str
    cause: str
    effect_patient: str
    effect_organisation: str
    severity: int | None
    occurrence: int | None
    detectability: int | None
    criticality: int | None = Field(description="G × F × D.")
    existing_controls: str
    residual_severity: int | None
    residual_occurrence: int | None
    residual_detectability: int | None
    residual_criticality: int | None
    occurrence_basis: str
    owner: int | None = Field(alias="owner_id")
    owner_name: str
    review_date: date | None

    @staticmethod
    def resolve_lineage(obj) -> str:
        return str(obj.lineage)


class AnalysisOut(Schema):
    id: int
    system: int = Field(alias="ai_system_id")
    number: int
    status: str = Field(description="draft ou frozen.")
    scale: str
    referential_version: str
    comment: str
    created_at: datetime
    frozen_at: datetime | None
    highest_residual_criticality: int | None = Field(
        None, description="Criticité résiduelle la plus élevée (l'initiale à défaut)."
    )

    @staticmethod
    def resolve_highest_residual_criticality(obj) -> int | None:
        top = analyses.highest_residual(obj)
        return top["value"] if top else None


class AnalysisDetailOut(AnalysisOut):
    failure_modes: list[FailureModeOut]

    @staticmethod
    def resolve_failure_modes(obj) -> list:
        return analyses.rows(obj)


class FailureModeIn(Schema):
    position: int | None = Field(None, ge=1, le=10_000, description="Par défaut : à la fin.")
    title: Text = ""
    cause: Text = ""
    effect_patient: Text = ""
    effect_organisation: Text = ""
    severity: int | None = None
    occurrence: int | None = None
    detectability: int | None = None
    existing_controls: Text = ""
    residual_severity: int | None = None
    residual_occurrence: int | None = None
    residual_detectability: int | None = None
    occurrence_basis: Text = ""
    owner: Id | None = None
    owner_name: Text = ""
    review_date: date | None = None


def _analysis_queryset():
    return RiskAnalysis.objects.select_related("ai_system__establishment")


@risks.get(
    "/systems/{system_id}/analyses",
    response={200: list[AnalysisOut], **READ_ERRORS},
    summary="Lister les versions de l'analyse de risques d'un système",
)
def list_analyses(request, system_id: Id):
    system = get_scoped(request, AISystem.objects.all(), system_id)
    return analyses.versions(system)


@risks.get(
    "/analyses/{analysis_id}",
    response={200: AnalysisDetailOut, **READ_ERRORS},
    summary="Lire une version de l'analyse de risques, avec ses modes de défaillance",
)
def get_analysis(request, analysis_id: Id):
    return get_scoped(request, _analysis_queryset(), analysis_id)


@risks.get(
    "/analyses/{analysis_id}/failure-modes",
    response={200: list[FailureModeOut], **READ_ERRORS},
    summary="Lister les modes de défaillance d'une version",
)
def list_failure_modes(request, analysis_id: Id):
    return analyses.rows(get_scoped(request, _analysis_queryset(), analysis_id))


@risks.get(
    "/failure-modes/{failure_mode_id}",
    response={200: FailureModeOut, **READ_ERRORS},
    summary="Lire un mode de défaillance",
)
def get_failure_mode(request, failure_mode_id: Id):
    return get_scoped(request, FailureMode.objects.all(), failure_mode_id)


@risks.post(
    "/analyses/{analysis_id}/failure-modes",
    response={201: FailureModeOut, **WRITE_ERRORS},
    summary="Ajouter un mode de défaillance à une version en brouillon",
)
def create_failure_mode(request, analysis_id: Id, payload: FailureModeIn):
    """Les cotations suivent les échelles de l'analyse ; la criticité est calculée. 409 si la
    version est figée (ouvrez une nouvelle version dans l'interface)."""
    analysis = get_scoped(request, _analysis_queryset(), analysis_id, "change")
    if analysis.is_frozen:
        raise HttpError(409, _("Cette version est figée : ouvrez une nouvelle version."))
    values = payload.model_dump()
    if values["position"] is None:
        values["position"] = analyses.next_position(analysis)
    form = FailureModeForm(
        {k: ("" if v is None else v) for k, v in values.items()}, analysis=analysis
    )
    if not form.is_valid():
        raise FormErrors(form.errors)
    try:
        mode = form.save()
    except AnalysisFrozen as exc:
        raise HttpError(409, _("Cette version est figée : ouvrez une nouvelle version.")) from exc
    return Status(201, mode)
