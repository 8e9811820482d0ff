"""The REST API (django-ninja), mounted at /api/: OpenAPI document at /api/openapi.json,
interactive documentation at /api/docs.

Scripts authenticate with `Authorization: Bearer <token>` (tokens are issued by
`garant token` and stored hashed); a browser reuses its session, and then unsafe methods need
the CSRF token (`X-CSRFToken` header), as in the web UI. Whoever authenticates becomes
`request.user`, so the audit trail attributes the request's writes to them (source "api").

Every error is JSON: {"detail": "message"}, or for refused input (422)
{"detail": [{"field": "name", "message": "Ce champ est obligatoire."}, ...]}.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth
from ninja.utils import check_csrf

from garant.compliance.api import compliance
from garant.core.api import FormErrors, establishments, services
from garant.core.models import ApiToken
from garant.core.openapi import document_errors
from garant.governance import api as governance_api
from garant.governance import ethics_api
from garant.incidents import api as incidents_api
from garant.lifecycle import api as lifecycle_api
from garant.monitoring.api import alerts_router, feeds, rules_router
from garant.oversight.api import (
    FeedbackTokenAuth,
    oversight,
    suspensions,
    system_status,
    system_suspensions,
)
from garant.patients import api as patients_api
from garant.patients.objections_api import router as objections_router
from garant.people import api as people_api
from garant.registry.api import declarations, systems, vendors, versions
from garant.risks.api import risks


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`: a token that is known, not revoked and not expired."""

    def authenticate(self, request, token):
        user = ApiToken.authenticate(token)
        if user is not None:
            request.user = user  # permissions and the audit trail read request.user
        return user


class SessionAuth(NinjaSessionAuth):
    """The browser's session; unsafe methods must carry the CSRF token.

    Unlike ninja's `django_auth`, a request without a session is not checked for CSRF: it is
    simply not authenticated here, so a script with a bad token gets 401, not a CSRF 403.
    """

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def _get_key(self, request):
        if check_csrf(request) is not None:
            raise HttpError(
                403, _("Jeton CSRF absent ou invalide : envoyez l'en-tête X-CSRFToken.")
            )
        return request.COOKIES.get(self.param_name)


class JsonObjectParser(Parser):
    """Request bodies are JSON objects: anything else is refused (400), not read as {}."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("a JSON object is expected")
        return data


class GarantAPI(NinjaAPI):
    """The API whose OpenAPI document declares every operation's error answers."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema)


api = GarantAPI(
    title="Garant API",
    version="1.0",
    description=(
        "Registre des systèmes d'IA de l'établissement : systèmes, versions, éditeurs, "
        "établissements et services. Authentification par jeton (`Authorization: Bearer …`, "
        "jeton créé par `garant token`) ou par la session du navigateur."
    ),
    auth=[ApiTokenAuth(), SessionAuth()],
    parser=JsonObjectParser(),
    urls_namespace="api",
)
api.add_router("/systems", systems)
api.add_router("/versions", versions)
api.add_router("/vendors", vendors)
api.add_router("/declarations", declarations)
api.add_router("/establishments", establishments)
api.add_router("/services", services)
api.add_router("/feeds", feeds)
api.add_router("/alerts", alerts_router)
api.add_router("/rules", rules_router)
api.add_router("/compliance", compliance)
api.add_router("/oversight", oversight)
api.add_router("/risks", risks)
# the status a clinical software polls (suspension), with its own token or a person's
api.add_router("/systems", system_status, auth=[FeedbackTokenAuth(), ApiTokenAuth(), SessionAuth()])
# proposing, confirming and lifting a suspension: a person's token or session only
api.add_router("/systems", system_suspensions)
api.add_router("/suspensions", suspensions)
api.add_router("/ideas", lifecycle_api.ideas)
api.add_router("/projects", lifecycle_api.projects)
api.add_router("/indicators", lifecycle_api.indicators)
api.add_router("/assessments", lifecycle_api.assessments_router)
api.add_router("/committees", governance_api.committees)
api.add_router("/meetings", governance_api.meetings)
api.add_router("/decisions", governance_api.decisions)
api.add_router("/ethics-referrals", ethics_api.referrals)
api.add_router("/actions", governance_api.actions)
api.add_router("/incidents", incidents_api.incidents)
api.add_router("/incident-reports", incidents_api.reports_router)
api.add_router("/habilitations", people_api.habilitations)
api.add_router("/people", people_api.people)
api.add_router("/patient-notices", patients_api.patient_notices)
api.add_router("/rights-requests", patients_api.rights_requests)
# a clinical software's token of one establishment only (docs/patients.md)
api.add_router("/objections", objections_router)


# --- errors: JSON, in French, never a 5xx for what a client sent -----------------------------

# pydantic error types -> French messages (placeholders filled from the error's context)
INPUT_MESSAGES = {
    "missing": gettext_lazy("Ce champ est obligatoire."),
    "int_parsing": gettext_lazy("Saisissez un nombre entier."),
    "int_type": gettext_lazy("Saisissez un nombre entier."),
    "int_from_float": gettext_lazy("Saisissez un nombre entier."),
    "int_parsing_size": gettext_lazy("Saisissez un nombre entier."),
    "bool_parsing": gettext_lazy("Saisissez true ou false."),
    "bool_type": gettext_lazy("Saisissez true ou false."),
    "date_parsing": gettext_lazy("Saisissez une date au format AAAA-MM-JJ."),
    "date_type": gettext_lazy("Saisissez une date au format AAAA-MM-JJ."),
    "date_from_datetime_parsing": gettext_lazy("Saisissez une date au format AAAA-MM-JJ."),
    "date_from_datetime_inexact": gettext_lazy("Saisissez une date au format AAAA-MM-JJ."),
    "string_type": gettext_lazy("Saisissez un texte."),
    "string_too_long": gettext_lazy("Texte trop long ({max_length} caractères au plus)."),
    "list_type": gettext_lazy("Saisissez une liste."),
    "dict_type": gettext_lazy("Saisissez un objet JSON."),
    "model_type": gettext_lazy("Saisissez un objet JSON."),
    "model_attributes_type": gettext_lazy("Saisissez un objet JSON."),
    "greater_than_equal": gettext_lazy("Saisissez une valeur supérieure ou égale à {ge}."),
    "less_than_equal": gettext_lazy("Saisissez une valeur inférieure ou égale à {le}."),
    "value_error": "{error}",
}

# messages that ninja raises itself
NINJA_MESSAGES = {
    "Cannot parse request body": gettext_lazy(
        "Corps de la requête illisible : un objet JSON est attendu."
    ),
}


def _input_error(error: dict) -> dict:
    """One pydantic error as {field, message}: `loc` is (source, [body parameter,] field...)."""
    source, *path = error["loc"]
    if source == "body":
        path = path[1:]  # the name of the view's body parameter means nothing to the client
    template = INPUT_MESSAGES.get(error["type"])
    try:
        message = str(template).format(**error.get("ctx", {})) if template else error["msg"]
    except (KeyError, IndexError):
        message = error["msg"]
    return {"field": ".".join(str(p) for p in path) or None, "message": message}


@api.exception_handler(ValidationError)
def invalid_input(request, exc: ValidationError):
    return api.create_response(
        request, {"detail": [_input_error(e) for e in exc.errors]}, status=422
    )


@api.exception_handler(FormErrors)
def refused_by_form(request, exc: FormErrors):
    detail = [
        {"field": None if field == NON_FIELD_ERRORS else field, "message": str(message)}
        for field, messages in exc.errors.items()
        for message in messages
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(AuthenticationError)
def not_authenticated(request, exc):
    response = api.create_response(
        request,
        {
            "detail": _(
                "Authentification requise : jeton d'API valide (en-tête Authorization: Bearer …) "
                "ou session ouverte."
            )
        },
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    message = NINJA_MESSAGES.get(exc.message, exc.message)
    return api.create_response(request, {"detail": str(message)}, status=exc.status_code)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc: PermissionDenied):
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": _("Enregistrement introuvable.")}, status=404)


@api.exception_handler(IntegrityError)
def conflict(request, exc):
    """A uniqueness race lost to another request: the forms catch the ordinary cases."""
    return api.create_response(
        request,
        {"detail": _("Conflit avec un enregistrement existant : réessayez.")},
        status=409,
    )
