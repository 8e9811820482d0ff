"""REST API of the core (establishments, services) and what every router of the API shares.

The shared part keeps each endpoint short and every resource alike:

- `get_scoped` reads a record within the user's scope (404 outside it) and checks the role
  needed for the action (403);
- `save_form` validates input through a Django form, the same one the web UI uses, and
  raises `FormErrors` (answered 422 with one {field, message} per error);
- `merged` turns a PATCH into a full input (current values overlaid with the sent ones), so
  partial updates are validated exactly like full ones;
- `delete` answers 409 when other records still depend on the one to delete.
"""

import inspect
from collections.abc import Callable
from typing import Annotated

from django import forms
from django.core.validators import RegexValidator
from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, FilterLookup, FilterSchema, PatchDict, Query, Router, Schema, Status
from ninja.conf import settings as ninja_settings
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate
from pydantic import AfterValidator, StringConstraints

from garant.core import permissions
from garant.core.forms import ServiceForm
from garant.core.models import Establishment, EstablishmentGroup, Service
from garant.core.security import MAX_TEXT_LENGTH

# --- shared types and helpers --------------------------------------------------------------

MAX_ID = 2**63 - 1  # the largest primary key a database holds: larger ids are refused, not 500
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _no_null_character(value: str) -> str:
    if "\x00" in value:
        raise ValueError(_("Les caractères nuls ne sont pas autorisés."))
    return value


SearchText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_null_character)]
# null is accepted for "empty" and normalised by the form (which has the field's own limit)
Text = (
    Annotated[
        str, StringConstraints(max_length=MAX_TEXT_LENGTH), AfterValidator(_no_null_character)
    ]
    | None
)


class Message(Schema):
    detail: str


class FieldError(Schema):
    field: str | None = Field(description="Champ ou paramètre en cause (null : tout l'objet).")
    message: str


class FieldErrors(Schema):
    detail: list[FieldError]


READ_ERRORS = {401: Message, 404: Message, 422: FieldErrors}
WRITE_ERRORS = {**READ_ERRORS, 403: Message, 409: Message}


class FormErrors(Exception):
    """Input refused by a form or a filter set: {field name: [messages]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class Pagination(PageNumberPagination):
    """`page` and `page_size` (settings NINJA_PAGINATION_PER_PAGE and _MAX_PER_PAGE_SIZE).

    Out-of-range values are refused (422) rather than silently clamped.
    """

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000, description="Numéro de page, à partir de 1.")
        page_size: int = Field(
            ninja_settings.PAGINATION_PER_PAGE,
            ge=1,
            le=ninja_settings.PAGINATION_MAX_PER_PAGE_SIZE,
            description="Éléments par page.",
        )


def forbidden(message: str | None = None) -> HttpError:
    return HttpError(
        403, message or _("Votre rôle ne permet pas cette action dans cet établissement.")
    )


def get_scoped(request, queryset: QuerySet, pk: int, permission: str = "view"):
    """`permissions.get_scoped` for the request's user: 404, then 403 (JSON via garant.api)."""
    return permissions.get_scoped(request.user, queryset, pk, permission)


def require_permission(request, permission: str, establishment_id: int | None, message: str):
    """Creating: the user needs `permission` in the establishment the record goes to."""
    if not permissions.can(request.user, permission, establishment_id):
        raise forbidden(message)


def current_values(instance: Model, names) -> dict:
    """The instance's values for the input fields `names`, relations given by their ids."""
    values = {}
    for name in names:
        field = instance._meta.get_field(name)
        if field.many_to_many:
            values[name] = [obj.pk for obj in getattr(instance, name).all()]
        elif field.is_relation:
            values[name] = getattr(instance, field.attname)
        else:
            values[name] = field.value_from_object(instance)
    return values


def merged(instance: Model, schema: type[Schema], patch: dict) -> dict:
    """A PATCH made whole: the record's current values overlaid with the fields sent."""
    return {**current_values(instance, schema.model_fields), **patch}


def keep_parent(instance: Model, field: str, value: int | None) -> None:
    """A record stays in its establishment (a version with its system): refuse a move."""
    if value is not None and value != getattr(instance, f"{field}_id"):
        raise FormErrors({field: [_("Ce champ ne peut pas être modifié après la création.")]})


def save_form(form: forms.ModelForm) -> Model:
    """Validate through the form (422 on errors), then save: signals write the audit trail."""
    if not form.is_valid():
        raise FormErrors(form.errors)
    with transaction.atomic():
        return form.save()


def delete(obj: Model) -> Status:
    """Delete through the model (audited); 409 if other records still depend on it."""
    try:
        with transaction.atomic():
            obj.delete()
    except (ProtectedError, RestrictedError) as exc:
        dependents = getattr(exc, "protected_objects", None) or exc.restricted_objects
        counts: dict[str, int] = {}
        for dependent in dependents:
            label = str(dependent._meta.verbose_name_plural)
            counts[label] = counts.get(label, 0) + 1
        raise HttpError(
            409,
            _("Suppression impossible : « %(name)s » est encore utilisé par %(uses)s.")
            % {"name": obj, "uses": ", ".join(f"{label} ({n})" for label, n in counts.items())},
        ) from exc
    return Status(204, None)


def without_empty(filters: Schema) -> dict:
    """The query parameters actually given."""
    return {k: v for k, v in filters.model_dump().items() if v not in (None, "")}


def record_endpoints(
    router: Router,
    noun: str,
    *,
    out: type[Schema],
    queryset: Callable[[], QuerySet],
    summaries: dict[str, str],
    schema_in: type[Schema] | None = None,
    save: Callable | None = None,
    permission: str = "change",
    delete_permission: str | None = None,
    docs: dict[str, str] | None = None,
) -> None:
    """The endpoints of one record at `/{<noun>_id}` that every resource writes alike, one per
    key of `summaries`: "get" (read, 404 outside the user's scope), "replace" (PUT: every field,
    through `save(request, record, values)`), "update" (PATCH: the fields sent, `merged`),
    "delete" (with `delete_permission`; 409 while others depend on it). Writing needs
    `permission`. The functions are named as hand-written ones would be (`get_<noun>`…) in
    the module of `queryset`, with `docs` as their docstrings, so the OpenAPI document is the
    same as with hand-written endpoints.
    """
    param = f"{noun}_id"
    path = "/{" + param + "}"
    record = inspect.Parameter(param, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Id)

    def get(request, **kw):
        return get_scoped(request, queryset(), kw[param])

    def replace(request, payload, **kw):
        obj = get_scoped(request, queryset(), kw[param], permission)
        return save(request, obj, payload.model_dump())

    def update(request, payload, **kw):
        obj = get_scoped(request, queryset(), kw[param], permission)
        return save(request, obj, merged(obj, schema_in, payload))

    def remove(request, **kw):
        return delete(get_scoped(request, queryset(), kw[param], delete_permission))

    kinds = {
        "get": (router.get, get, None, {200: out, **READ_ERRORS}),
        "replace": (router.put, replace, schema_in, {200: out, **WRITE_ERRORS}),
        "update": (router.patch, update, PatchDict[schema_in], {200: out, **WRITE_ERRORS}),
        "delete": (router.delete, remove, None, {204: None, **WRITE_ERRORS}),
    }
    for kind, summary in summaries.items():
        route, body, payload, response = kinds[kind]
        parameters = [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            record,
        ]
        if payload is not None:
            parameters.append(
                inspect.Parameter(
                    "payload", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=payload
                )
            )

        def view(request, _body=body, **kw):
            return _body(request, **kw)

        view.__name__ = view.__qualname__ = f"{kind}_{noun}"
        view.__module__ = queryset.__module__
        view.__doc__ = (docs or {}).get(kind)
        view.__signature__ = inspect.Signature(parameters)
        route(path, response=response, summary=summary)(view)


# --- establishments -------------------------------------------------------------------------

FINESS = RegexValidator(
    r"^\d[\dAB]\d{7}$",
    gettext_lazy("Le n° FINESS compte 9 caractères : des chiffres (2A ou 2B pour la Corse)."),
)

establishments = Router(tags=["Établissements"])


class EstablishmentForm(forms.ModelForm):
    class Meta:
        model = Establishment
        fields = ["group", "code", "name", "finess", "city", "legal_status"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = EstablishmentGroup.objects.for_user(user)
        self.fields["finess"].validators.append(FINESS)


class EstablishmentIn(Schema):
    group: Id | None = Field(None, description="Groupement (GCS / GHT).")
    code: Text = Field("", description="Code court unique (lettres, chiffres, tirets).")
    name: Text = Field("", description="Nom (obligatoire).")
    finess: Text = Field("", description="N° FINESS (9 caractères).")
    city: Text = ""
    legal_status: Text = Field(
        "", description="Statut juridique : public, private_public_service, private (ou vide)."
    )


class EstablishmentOut(Schema):
    id: int
    code: str
    name: str
    finess: str
    city: str
    legal_status: str
    group: int | None = Field(alias="group_id")
    group_name: str | None

    @staticmethod
    def resolve_group_name(obj):
        return obj.group.name if obj.group else None


class EstablishmentFilters(FilterSchema):
    q: Annotated[
        SearchText | None, FilterLookup(["name__icontains", "code__icontains", "city__icontains"])
    ] = Field(None, description="Recherche dans le nom, le code et la ville.")


def establishment_queryset():
    return Establishment.objects.select_related("group")


def save_establishment(request, establishment: Establishment | None, values: dict):
    form = EstablishmentForm(values, instance=establishment, user=request.user)
    return get_scoped(request, establishment_queryset(), save_form(form).pk)


@establishments.get("", response=list[EstablishmentOut], summary="Lister ses établissements")
@paginate(Pagination)
def list_establishments(request, filters: Query[EstablishmentFilters]):
    """Les établissements où l'utilisateur a un rôle."""
    return filters.filter(permissions.scope(establishment_queryset(), request.user))


record_endpoints(
    establishments,
    "establishment",
    out=EstablishmentOut,
    queryset=establishment_queryset,
    summaries={
        "get": "Lire un établissement",
        "replace": "Remplacer un établissement",
        "update": "Modifier un établissement",
    },
    schema_in=EstablishmentIn,
    save=save_establishment,
    permission="manage",
)


@establishments.post(
    "", response={201: EstablishmentOut, **WRITE_ERRORS}, summary="Créer un établissement"
)
def create_establishment(request, payload: EstablishmentIn):
    """Réservé aux administrateurs de la plateforme."""
    if not request.user.is_superuser:
        raise forbidden(_("Seul un administrateur de la plateforme crée un établissement."))
    return Status(201, save_establishment(request, None, payload.model_dump()))


@establishments.delete(
    "/{establishment_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Supprimer un établissement",
)
def delete_establishment(request, establishment_id: Id):
    """Réservé aux administrateurs de la plateforme ; refusé (409) tant que des enregistrements y sont rattachés."""
    establishment = get_scoped(request, Establishment.objects.all(), establishment_id)
    if not request.user.is_superuser:
        raise forbidden(_("Seul un administrateur de la plateforme supprime un établissement."))
    return delete(establishment)


# --- services -------------------------------------------------------------------------------

services = Router(tags=["Services"])


class ServiceIn(Schema):
    establishment: Id | None = Field(None, description="Établissement (obligatoire).")
    name: Text = Field("", description="Nom du service (obligatoire, unique dans l'établissement).")
    pole: Text = Field("", description="Pôle.")


class ServiceOut(Schema):
    id: int
    establishment: int = Field(alias="establishment_id")
    establishment_code: str = Field(alias="establishment.code")
    name: str
    pole: str


class ServiceFilters(FilterSchema):
    establishment: Annotated[Id | None, FilterLookup("establishment_id")] = None
    q: Annotated[SearchText | None, FilterLookup(["name__icontains", "pole__icontains"])] = Field(
        None, description="Recherche dans le nom et le pôle."
    )


def service_queryset():
    return Service.objects.select_related("establishment")


def save_service(request, service: Service | None, values: dict):
    if service is not None:
        keep_parent(service, "establishment", values.get("establishment"))
    form = ServiceForm(values, instance=service, user=request.user)
    return get_scoped(request, service_queryset(), save_form(form).pk)


@services.get("", response=list[ServiceOut], summary="Lister les services")
@paginate(Pagination)
def list_services(request, filters: Query[ServiceFilters]):
    return filters.filter(permissions.scope(service_queryset(), request.user))


record_endpoints(
    services,
    "service",
    out=ServiceOut,
    queryset=service_queryset,
    summaries={
        "get": "Lire un service",
        "replace": "Remplacer un service",
        "update": "Modifier un service",
        "delete": "Supprimer un service",
    },
    schema_in=ServiceIn,
    save=save_service,
    permission="manage",
    delete_permission="manage",
)


@services.post("", response={201: ServiceOut, **WRITE_ERRORS}, summary="Créer un service")
def create_service(request, payload: ServiceIn):
    require_permission(
        request,
        "manage",
        payload.establishment,
        _("Seul un administrateur de l'établissement gère ses services."),
    )
    return Status(201, save_service(request, None, payload.model_dump()))
