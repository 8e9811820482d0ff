"""The two steps of an OpenID Connect sign-in: off to the provider, and back.

Every failure of the way back (a forged or replayed callback, a refused code, a token that
does not verify, a person without a role) ends on a French page with a 4xx status and, except
for callbacks that match no sign-in started here, an audit event. Only an unreachable
provider gives a 502.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import jwt
from django.contrib import auth
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from mozilla_django_oidc.utils import (
    add_state_and_verifier_and_nonce_to_session,
    generate_code_challenge,
)
from mozilla_django_oidc.views import get_next_url

from garant.core.audit import audit_context, record_event
from garant.sso import config
from garant.sso.backends import (
    SSO_BACKEND,
    SsoBackend,
    SsoError,
    SsoRefused,
    SsoUnavailable,
    endpoints,
    redirect_uri,
)

logger = logging.getLogger(__name__)

STATE_MAX_AGE = 15 * 60  # seconds between leaving for the provider and coming back


def error_page(request, message: str, status: int, provider=None):
    return render(
        request,
        "sso/error.html",
        {"message": message, "provider": provider},
        status=status,
    )


def _unavailable(request, provider):
    return error_page(
        request,
        _(
            "Le fournisseur d'identité « %(name)s » ne répond pas. Réessayez dans quelques "
            "minutes ; si cela persiste, prévenez votre service informatique."
        )
        % {"name": provider.name},
        502,
        provider,
    )


@never_cache
@require_GET
def start(request, key: str):
    provider = config.provider(key)
    if provider is None:
        raise Http404(_("Ce fournisseur d'identité n'est pas configuré."))
    try:
        authorization = endpoints(provider)["authorization"]
    except SsoUnavailable:
        return _unavailable(request, provider)
    state = get_random_string(32)
    verifier = get_random_string(64)
    params = {
        "response_type": "code",
        "scope": " ".join(provider.scopes),
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri(request, provider),
        "state": state,
        "nonce": get_random_string(32),
        "code_challenge": generate_code_challenge(verifier, "S256"),
        "code_challenge_method": "S256",
        **provider.auth_params,
    }
    add_state_and_verifier_and_nonce_to_session(request, state, params, verifier)
    entry = request.session["oidc_states"][state]
    entry["provider"] = provider.key
    entry["next"] = get_next_url(request, "next")
    request.session.modified = True
    sep = "&" if "?" in authorization else "?"
    return redirect(f"{authorization}{sep}{urlencode(params)}")


def _pop_state(request) -> dict | None:
    state = request.GET.get("state", "")
    states = request.session.get("oidc_states")
    if not state or not isinstance(states, dict):
        return None
    entry = states.pop(state, None)
    request.session.modified = True
    if not isinstance(entry, dict) or "provider" not in entry:
        return None
    if time.time() - float(entry.get("added_on", 0)) > STATE_MAX_AGE:
        return None
    return entry


def _failed(request, provider, reason: str):
    with audit_context(source="sso", request=request):
        record_event(
            "sso.failed",
            f"connexion unique impossible ({provider.name})",
            {"provider": [None, provider.key], "reason": [None, reason[:500]]},
        )


@never_cache
@require_GET
def callback(request):
    entry = _pop_state(request)
    provider = config.provider(entry["provider"]) if entry else None
    if provider is None:
        return error_page(
            request,
            _(
                "Cette réponse de connexion est inconnue, expirée ou déjà utilisée. "
                "Recommencez la connexion depuis la page de connexion de Garant."
            ),
            400,
        )
    if error := request.GET.get("error"):
        _failed(request, provider, f"provider error: {error[:100]}")
        return error_page(
            request,
            _("Le fournisseur d'identité « %(name)s » n'a pas autorisé la connexion (%(error)s).")
            % {"name": provider.name, "error": error[:100]},
            403 if error == "access_denied" else 400,
            provider,
        )
    if not request.GET.get("code"):
        return error_page(
            request, _("Réponse de connexion incomplète : le code est absent."), 400, provider
        )
    try:
        user = SsoBackend().authenticate(
            request,
            sso_provider=provider,
            nonce=entry.get("nonce"),
            code_verifier=entry.get("code_verifier"),
        )
    except SsoRefused as exc:
        return error_page(request, exc.message, 403, provider)
    except SsoUnavailable:
        return _unavailable(request, provider)
    except IntegrityError:  # the same new account signing in twice at once (two tabs)
        return error_page(
            request,
            _("Une autre connexion de ce compte était en cours : recommencez la connexion."),
            409,
            provider,
        )
    except (SsoError, SuspiciousOperation, jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        logger.warning("SSO %s: sign-in failed: %s", provider.key, exc)
        _failed(request, provider, f"{type(exc).__name__}: {exc}")
        return error_page(
            request,
            _(
                "La réponse du fournisseur d'identité « %(name)s » n'a pas pu être vérifiée : "
                "connexion refusée. Recommencez ; si cela persiste, prévenez votre service "
                "informatique."
            )
            % {"name": provider.name},
            400,
            provider,
        )
    auth.login(request, user, backend=SSO_BACKEND)
    return redirect(entry.get("next") or reverse("home"))
