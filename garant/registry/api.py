"""REST API of the register: AI systems, their versions, vendors, declarations from the field.

Input is validated by the forms of the web UI (`AISystemForm`, `VersionForm`, `VendorForm`),
the list of systems is filtered by the filter set of the list page (`AISystemFilterSet`), and
records are read and written through `garant.core.permissions` (see `garant.core.api`).
"""

from datetime import date, datetime
from typing import Annotated

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from garant.core import permissions
from garant.core.api import (
    WRITE_ERRORS,
    FormErrors,
    Id,
    Pagination,
    SearchText,
    Text,
    forbidden,
    get_scoped,
    keep_parent,
    record_endpoints,
    require_permission,
    save_form,
    without_empty,
)
from garant.core.referentials import vocabulary
from garant.registry import declarations as declaration_rules
from garant.registry.filtersets import filtered_systems
from garant.registry.forms import AISystemForm, DeclarationForm, VendorForm, VersionForm
from garant.registry.models import AISystem, AISystemVersion, Declaration, Vendor


def codes(vocab: str, what: str = "Code") -> str:
    """Documentation of a field holding codes of a taxonomy vocabulary."""
    return f"{what} du vocabulaire « {vocab} » : {', '.join(vocabulary(vocab).items)}."


# --- AI systems -----------------------------------------------------------------------------

systems = Router(tags=["Systèmes d'IA"])


class SystemIn(Schema):
    """A system as written: the fields of the web form, relations given by their ids."""

    establishment: Id | None = Field(
        None, description="Établissement (obligatoire ; figé ensuite)."
    )
    name: Text = Field("", description="Nom (obligatoire).")
    vendor: Id | None = Field(None, description="Éditeur ; vide pour un développement interne.")
    product: Text = ""
    intended_purpose: Text = Field("", description="Finalité prévue (obligatoire).")
    use_case: Text = ""
    services: list[Id] = Field([], description="Services utilisateurs (du même établissement).")
    medical_referent: Text = ""
    technical_referent: Text = ""
    solution_type: Text = Field("", description=codes("solution_type") + " Obligatoire.")
    domain: Text = Field("", description=codes("domain") + " Obligatoire.")
    modality: Text = Field("", description=codes("modality") + " Obligatoire.")
    phase: Text = Field("idea", description=codes("phase"))
    hosting: Text = Field("", description=codes("hosting"))
    hds_certified: bool | None = Field(None, description="Hébergeur HDS ; null : ne sait pas.")
    data_categories: list[str] = Field([], description=codes("data_category", "Codes"))
    data_sources: list[str] = Field([], description=codes("data_source", "Codes"))
    data_sources_other: Text = Field("", description="Obligatoire si data_sources contient other.")
    workflow_integration: Text = ""
    device_status: Text = Field("unknown", description=codes("device_status"))
    ce_certificate: Text = ""
    notified_body: Text = ""
    ce_expiry: date | None = None
    gpai_based: bool = False
    gpai_model: Text = Field("", description="Obligatoire si gpai_based est vrai.")
    users_count: int | None = None
    patients_per_year: int | None = None
    go_live: date | None = None


class SystemOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url", description="Fiche du système dans l'interface.")
    establishment: int = Field(alias="establishment_id")
    establishment_code: str = Field(alias="establishment.code")
    name: str
    vendor: int | None = Field(alias="vendor_id")
    vendor_name: str | None
    product: str
    intended_purpose: str
    use_case: str
    services: list[int]
    medical_referent: str
    technical_referent: str
    solution_type: str
    solution_type_label: str = Field(alias="get_solution_type_display")
    domain: str
    domain_label: str = Field(alias="get_domain_display")
    modality: str
    modality_label: str = Field(alias="get_modality_display")
    phase: str
    phase_label: str = Field(alias="get_phase_display")
    hosting: str
    hosting_label: str = Field(alias="get_hosting_display")
    hds_certified: bool | None
    data_categories: list[str]
    data_categories_label: str = Field(alias="get_data_categories_display")
    data_sources: list[str]
    data_sources_label: str = Field(alias="get_data_sources_display")
    data_sources_other: str
    workflow_integration: str
    device_status: str
    device_status_label: str = Field(alias="get_device_status_display")
    ce_certificate: str
    notified_body: str
    ce_expiry: date | None
    gpai_based: bool
    gpai_model: str
    users_count: int | None
    patients_per_year: int | None
    go_live: date | None
    vigilance: int = Field(description="Vigilance la plus haute des catégories de données (0-4).")
    vigilance_label: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_vendor_name(obj):
        return obj.vendor.name if obj.vendor else None

    @staticmethod
    def resolve_services(obj):
        return [service.pk for service in obj.services.all()]


class SystemFilters(Schema):
    """The filters of the register's list page (`AISystemFilterSet`), as query parameters."""

    q: SearchText | None = Field(None, description="Mots cherchés (nom, produit, éditeur…).")
    establishment: Id | None = None
    service: Id | None = None
    vendor: Id | None = None
    solution_type: str | None = Field(None, description=codes("solution_type"))
    domain: str | None = Field(None, description=codes("domain"))
    modality: str | None = Field(None, description=codes("modality"))
    phase: str | None = Field(None, description=codes("phase"))
    hosting: str | None = Field(None, description=codes("hosting"))
    hds_certified: str | None = Field(None, description="true ou false.")
    data_category: str | None = Field(None, description=codes("data_category"))
    data_source: str | None = Field(None, description=codes("data_source"))
    device_status: str | None = Field(None, description=codes("device_status"))
    gpai_based: str | None = Field(None, description="true ou false.")
    sort: str | None = Field(
        None, description="Tri : name, establishment, vendor, phase, go_live, updated_at… (-name)."
    )


def system_queryset():
    return AISystem.objects.select_related("establishment", "vendor").prefetch_related("services")


def save_system(request, system: AISystem | None, values: dict):
    if system is not None:
        keep_parent(system, "establishment", values.get("establishment"))
    # the form's yes / no / don't know choice for the HDS certification is a string
    hds = {True: "true", False: "false"}.get(values.get("hds_certified"), "")
    form = AISystemForm({**values, "hds_certified": hds}, instance=system, user=request.user)
    return get_scoped(request, system_queryset(), save_form(form).pk)


@systems.get("", response=list[SystemOut], summary="Lister les systèmes d'IA")
@paginate(Pagination)
def list_systems(request, filters: Query[SystemFilters]):
    """Les systèmes que l'utilisateur peut lire, avec les filtres de la cartographie."""
    filterset, queryset = filtered_systems(request, without_empty(filters))
    if not filterset.is_valid():
        raise FormErrors(filterset.errors)
    return queryset.prefetch_related("services")


record_endpoints(
    systems,
    "system",
    out=SystemOut,
    queryset=system_queryset,
    summaries={
        "get": "Lire un système d'IA",
        "replace": "Remplacer un système d'IA",
        "update": "Modifier un système d'IA",
        "delete": "Supprimer un système d'IA",
    },
    schema_in=SystemIn,
    save=save_system,
    delete_permission="delete",
    docs={
        "replace": "Tous les champs sont remplacés : ceux qui manquent reprennent leur valeur par défaut.",
        "update": "Seuls les champs envoyés changent ; le résultat est validé dans son ensemble.",
    },
)


@systems.post("", response={201: SystemOut, **WRITE_ERRORS}, summary="Déclarer un système d'IA")
def create_system(request, payload: SystemIn):
    require_permission(
        request,
        "add",
        payload.establishment,
        _("Votre rôle ne permet pas de déclarer un système dans cet établissement."),
    )
    return Status(201, save_system(request, None, payload.model_dump()))


# --- versions -------------------------------------------------------------------------------

versions = Router(tags=["Versions"])


class VersionIn(Schema):
    ai_system: Id | None = Field(None, description="Système d'IA (obligatoire ; figé ensuite).")
    version: Text = Field("", description="Numéro ou nom de version (unique pour le système).")
    released_on: date | None = None
    change_summary: Text = ""


class VersionOut(Schema):
    id: int
    ai_system: int = Field(alias="ai_system_id")
    ai_system_name: str = Field(alias="ai_system.name")
    establishment: int = Field(alias="ai_system.establishment_id")
    version: str
    released_on: date | None
    change_summary: str
    created_at: datetime


class VersionFilters(FilterSchema):
    ai_system: Annotated[Id | None, FilterLookup("ai_system_id")] = None
    establishment: Annotated[Id | None, FilterLookup("ai_system__establishment_id")] = None


def version_queryset():
    return AISystemVersion.objects.select_related("ai_system")


def save_version(request, version: AISystemVersion, values: dict):
    keep_parent(version, "ai_system", values.get("ai_system"))
    form = VersionForm(values, instance=version, ai_system=version.ai_system)
    return get_scoped(request, version_queryset(), save_form(form).pk)


@versions.get("", response=list[VersionOut], summary="Lister les versions")
@paginate(Pagination)
def list_versions(request, filters: Query[VersionFilters]):
    return filters.filter(permissions.scope(version_queryset(), request.user))


record_endpoints(
    versions,
    "version",
    out=VersionOut,
    queryset=version_queryset,
    summaries={
        "get": "Lire une version",
        "replace": "Remplacer une version",
        "update": "Modifier une version",
        "delete": "Supprimer une version",
    },
    schema_in=VersionIn,
    save=save_version,
    delete_permission="change",
)


@versions.post("", response={201: VersionOut, **WRITE_ERRORS}, summary="Ajouter une version")
def create_version(request, payload: VersionIn):
    """Réservé à qui peut modifier le système."""
    if payload.ai_system is None:
        raise FormErrors({"ai_system": [_("Ce champ est obligatoire.")]})
    system = get_scoped(request, AISystem.objects.all(), payload.ai_system, "change")
    version = AISystemVersion(ai_system=system)
    return Status(201, save_version(request, version, payload.model_dump()))


# --- vendors --------------------------------------------------------------------------------

vendors = Router(tags=["Éditeurs"])


class VendorIn(Schema):
    establishment: Id | None = Field(
        None, description="Établissement (obligatoire ; figé ensuite)."
    )
    name: Text = Field("", description="Nom (obligatoire, unique dans l'établissement).")
    contact_name: Text = ""
    contact_email: Text = ""
    contact_phone: Text = ""
    contract_reference: Text = ""
    contract_end: date | None = None
    notes: Text = ""


class VendorOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url", description="Fiche de l'éditeur dans l'interface.")
    establishment: int = Field(alias="establishment_id")
    establishment_code: str = Field(alias="establishment.code")
    name: str
    contact_name: str
    contact_email: str
    contact_phone: str
    contract_reference: str
    contract_end: date | None
    notes: str
    systems_count: int = Field(description="Nombre de systèmes d'IA de cet éditeur.")


class VendorFilters(FilterSchema):
    establishment: Annotated[Id | None, FilterLookup("establishment_id")] = None
    q: Annotated[SearchText | None, FilterLookup("name__icontains")] = Field(
        None, description="Recherche dans le nom."
    )


def vendor_queryset():
    return Vendor.objects.select_related("establishment").annotate(
        systems_count=Count("ai_systems")
    )


def save_vendor(request, vendor: Vendor | None, values: dict):
    if vendor is not None:
        keep_parent(vendor, "establishment", values.get("establishment"))
    form = VendorForm(values, instance=vendor, user=request.user)
    return get_scoped(request, vendor_queryset(), save_form(form).pk)


@vendors.get("", response=list[VendorOut], summary="Lister les éditeurs")
@paginate(Pagination)
def list_vendors(request, filters: Query[VendorFilters]):
    return filters.filter(permissions.scope(vendor_queryset(), request.user))


record_endpoints(
    vendors,
    "vendor",
    out=VendorOut,
    queryset=vendor_queryset,
    summaries={
        "get": "Lire un éditeur",
        "replace": "Remplacer un éditeur",
        "update": "Modifier un éditeur",
        "delete": "Supprimer un éditeur",
    },
    schema_in=VendorIn,
    save=save_vendor,
    delete_permission="delete",
    docs={"delete": "Refusé (409) tant que des systèmes y sont rattachés."},
)


@vendors.post("", response={201: VendorOut, **WRITE_ERRORS}, summary="Ajouter un éditeur")
def create_vendor(request, payload: VendorIn):
    require_permission(
        request,
        "add",
        payload.establishment,
        _("Votre rôle ne permet pas d'ajouter un éditeur dans cet établissement."),
    )
    return Status(201, save_vendor(request, None, payload.model_dump()))


# --- declarations from the field -------------------------------------------------------------

declarations = Router(tags=["Déclarations d'outils"])


class DeclarationIn(Schema):
    """The short declaration; each question may be answered « je ne sais pas » (`*_unknown`),
    which is stored apart from an empty answer."""

    establishment: Id | None = Field(
        None, description="Établissement (obligatoire ; figé ensuite)."
    )
    name: Text = Field("", description="Nom de l'outil.")
    name_unknown: bool = Field(False, description="Nom : je ne sais pas.")
    purpose: Text = Field("", description="Ce qu'il fait.")
    purpose_unknown: bool = False
    service: Id | None = Field(None, description="Service où il est utilisé ou envisagé.")
    service_unknown: bool = False
    context: Text = Field("", description="Où on en a entendu parler ou où on l'a utilisé.")
    context_unknown: bool = False


class Missing(Schema):
    field: str
    label: str
    unknown: bool = Field(description="Vrai : le déclarant a répondu « je ne sais pas ».")


class DeclarationOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url", description="La déclaration dans l'interface.")
    establishment: int = Field(alias="establishment_id")
    establishment_code: str = Field(alias="establishment.code")
    declared_by: int | None = Field(alias="declared_by_id")
    name: str
    name_unknown: bool
    purpose: str
    purpose_unknown: bool
    service: int | None = Field(alias="service_id")
    service_unknown: bool
    context: str
    context_unknown: bool
    missing: list[Missing] = Field(description="Les questions restées sans réponse.")
    status: str = Field(description="pending, registered, merged ou rejected.")
    status_label: str = Field(alias="get_status_display")
    next_step: str = Field(description="Ce qui se passe ensuite, pour le déclarant.")
    ai_system: int | None = Field(alias="ai_system_id")
    review_note: str
    reviewed_by: int | None = Field(alias="reviewed_by_id")
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeclarationFilters(FilterSchema):
    establishment: Annotated[Id | None, FilterLookup("establishment_id")] = None
    status: Annotated[str | None, FilterLookup("status")] = Field(
        None, description="pending, registered, merged ou rejected."
    )


class ReviewIn(Schema):
    outcome: str = Field(
        description="registered (inscrite : la fiche `ai_system` a été créée d'après elle), "
        "merged (rattachée au système `ai_system` déjà inscrit) ou rejected (motif `note`)."
    )
    ai_system: Id | None = Field(
        None, description="Système de la cartographie (même établissement)."
    )
    note: Text = Field(
        "", description="Message ou motif, lu par le déclarant (obligatoire si rejected)."
    )


def declaration_queryset():
    return Declaration.objects.select_related("establishment")


def save_declaration(request, declaration: Declaration | None, values: dict):
    if declaration is not None:
        keep_parent(declaration, "establishment", values.get("establishment"))
        if declaration.declared_by_id != request.user.pk:
            raise forbidden(_("Seul son déclarant corrige une déclaration."))
        if not declaration.is_pending:
            raise HttpError(
                409, _("Cette déclaration a déjà été examinée : elle ne peut plus être corrigée.")
            )
    form = DeclarationForm(values, instance=declaration, user=request.user)
    if declaration is None:
        form.instance.declared_by = request.user
    if not form.is_valid():
        raise FormErrors(form.errors)
    try:
        with transaction.atomic():
            if declaration is not None:
                declaration_rules.locked(declaration)
            saved = form.save()
    except declaration_rules.ReviewRefused as exc:
        raise HttpError(409, str(exc)) from exc
    return get_scoped(request, declaration_queryset(), saved.pk)


@declarations.get(
    "", response=list[DeclarationOut], summary="Lister les déclarations (les siennes, à examiner)"
)
@paginate(Pagination)
def list_declarations(request, filters: Query[DeclarationFilters]):
    """Ses propres déclarations, et celles des établissements où l'on est référent IA ou
    administrateur (la file d'examen : `status=pending`)."""
    mine = declaration_queryset().within(declared_by=request.user)
    reviewable = declaration_queryset().restrict(request.user, "review_declaration")
    queryset = (mine | reviewable).distinct().order_by("-created_at", "-pk")
    return filters.filter(queryset)


record_endpoints(
    declarations,
    "declaration",
    out=DeclarationOut,
    queryset=declaration_queryset,
    summaries={
        "get": "Lire une déclaration",
        "replace": "Corriger une déclaration",
        "update": "Corriger une partie d'une déclaration",
    },
    schema_in=DeclarationIn,
    save=save_declaration,
    permission="declare",
    docs={
        "replace": "Par son déclarant seulement, tant qu'elle n'est pas examinée (409 ensuite).",
        "update": "Par son déclarant seulement, tant qu'elle n'est pas examinée (409 ensuite).",
    },
)


@declarations.post("", response={201: DeclarationOut, **WRITE_ERRORS}, summary="Déclarer un outil")
def create_declaration(request, payload: DeclarationIn):
    require_permission(
        request,
        "declare",
        payload.establishment,
        _("Votre rôle ne permet pas de déclarer un outil dans cet établissement."),
    )
    return Status(201, save_declaration(request, None, payload.model_dump()))


@declarations.post(
    "/{declaration_id}/review",
    response={200: DeclarationOut, **WRITE_ERRORS},
    summary="Examiner une déclaration (inscrire, rattacher, ne pas retenir)",
)
def review_declaration(request, declaration_id: Id, payload: ReviewIn):
    """Réservé aux référents IA et administrateurs de l'établissement ; une déclaration
    examinée ne change plus (409)."""
    declaration = get_scoped(request, declaration_queryset(), declaration_id, "review_declaration")
    system = None
    if payload.ai_system is not None:
        system = get_scoped(request, AISystem.objects.all(), payload.ai_system)
    try:
        declaration_rules.review(
            declaration, request.user, payload.outcome, ai_system=system, note=payload.note or ""
        )
    except declaration_rules.AlreadyReviewed as exc:
        raise HttpError(409, str(exc)) from exc
    except declaration_rules.ReviewRefused as exc:
        raise FormErrors({exc.field or "__all__": [str(exc)]}) from exc
    return get_scoped(request, declaration_queryset(), declaration_id)
