"""Authentication backends: OpenID Connect sign-in (with just-in-time accounts and roles from
the provider's claims) and the local password sign-in, restricted when SSO is on.

mozilla-django-oidc does the protocol: the token request, the ID token's signature checked
against the provider's JWKS (RS256 by default), the nonce, the userinfo request. Garant adds
what a hospital group needs: several providers (one per establishment or one for the group),
the ID token's issuer and audience checked, accounts keyed by (provider, sub), and roles set
at each sign-in from the mapped claim values.
"""

from __future__ import annotations

import logging
import re
import time

import requests
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from garant.core.audit import audit_context, record_event
from garant.core.models import Establishment, Membership, User
from garant.sso import config
from garant.sso.config import Grant, Provider
from garant.sso.models import Identity

logger = logging.getLogger(__name__)

SSO_BACKEND = "garant.sso.backends.SsoBackend"
DISCOVERY_TTL = 3600
UNREACHABLE = (requests.ConnectionError, requests.Timeout)


class SsoError(Exception):
    """The provider's answer could not be used (bad token, bad response): a 400."""


class SsoUnavailable(Exception):
    """The provider could not be reached: a 502."""


class SsoRefused(Exception):
    """The provider authenticated the person, but Garant refuses the sign-in: a 403."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


# --- discovery -------------------------------------------------------------------------------

_discovered: dict[tuple[str, str], tuple[float, dict]] = {}


def endpoints(provider: Provider) -> dict:
    """The provider's endpoints: given in the file, or read from its discovery document (kept
    for an hour). The document must name the configured issuer."""
    if provider.endpoints:
        return provider.endpoints
    cache_key = (provider.key, provider.issuer)
    hit = _discovered.get(cache_key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=provider.timeout_seconds, verify=provider.verify_tls)
        response.raise_for_status()
        doc = response.json()
        found = {
            "issuer": doc["issuer"],
            "authorization": doc["authorization_endpoint"],
            "token": doc["token_endpoint"],
            "userinfo": doc["userinfo_endpoint"],
            "jwks": doc["jwks_uri"],
        }
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        logger.warning("SSO %s: discovery at %s failed: %s", provider.key, url, exc)
        raise SsoUnavailable(url) from exc
    if found["issuer"].rstrip("/") != provider.issuer.rstrip("/"):
        logger.warning(
            "SSO %s: discovery names issuer %r, configured %r",
            provider.key,
            found["issuer"],
            provider.issuer,
        )
        raise SsoUnavailable(url)
    _discovered[cache_key] = (time.monotonic() + DISCOVERY_TTL, found)
    return found


def redirect_uri(request, provider: Provider) -> str:
    """Where the provider sends the browser back: the same for every provider."""
    return provider.redirect_uri or request.build_absolute_uri(reverse("sso:callback"))


# --- local passwords -------------------------------------------------------------------------


def local_password_allowed(user) -> bool:
    """SSO-managed accounts never sign in with a password; with GARANT_LOCAL_LOGIN=breakglass
    only superusers and the accounts named in GARANT_BREAKGLASS_USERS do."""
    if Identity.objects.filter(user=user).exists():
        return False
    if config.local_login_mode() == "all":
        return True
    return user.is_superuser or user.get_username() in getattr(
        settings, "GARANT_BREAKGLASS_USERS", ()
    )


class LocalBackend(ModelBackend):
    """Django's password backend, refusing the accounts that must not use a password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not local_password_allowed(user):
            return None
        return user


# --- OpenID Connect --------------------------------------------------------------------------


def _clean_username(raw: str) -> str:
    return re.sub(r"[^\w.@+-]", "_", raw)[:150] or "sso"


class SsoBackend(OIDCAuthenticationBackend):
    """One sign-in through one provider; `authenticate` is only called by the callback view."""

    def __init__(self, *args, **kwargs):
        # the parent reads a single provider from Django settings; ours come from the file
        self.UserModel = User
        self.provider: Provider | None = None

    def get_settings(self, attr, *args):
        p = self.provider
        if p is not None:
            per_provider = {
                "OIDC_VERIFY_SSL": p.verify_tls,
                "OIDC_TIMEOUT": p.timeout_seconds,
                "OIDC_PROXY": None,
                "OIDC_RP_SCOPES": " ".join(p.scopes),
                "OIDC_USE_NONCE": True,
                "OIDC_ALLOW_UNSECURED_JWT": False,
                "OIDC_TOKEN_USE_BASIC_AUTH": p.token_auth == "client_secret_basic",
                "OIDC_STORE_ACCESS_TOKEN": False,
                "OIDC_STORE_ID_TOKEN": False,
                "OIDC_CREATE_USER": True,
            }
            if attr in per_provider:
                return per_provider[attr]
        return import_from_settings(attr, *args)

    def bind(self, provider: Provider) -> None:
        ep = endpoints(provider)
        self.provider = provider
        self.issuer = ep.get("issuer", provider.issuer)
        self.OIDC_OP_TOKEN_ENDPOINT = ep["token"]
        self.OIDC_OP_USER_ENDPOINT = ep["userinfo"]
        self.OIDC_OP_JWKS_ENDPOINT = ep["jwks"]
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = provider.client_secret
        self.OIDC_RP_SIGN_ALGO = provider.sign_algo
        self.OIDC_RP_IDP_SIGN_KEY = None

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def authenticate(
        self, request, sso_provider: Provider | None = None, nonce=None, code_verifier=None, **kw
    ):
        if sso_provider is None or request is None:
            return None  # a password sign-in: not ours
        self.request = request
        self.bind(sso_provider)
        token_request = {
            "client_id": self.OIDC_RP_CLIENT_ID,
            "client_secret": self.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": request.GET.get("code", ""),
            "redirect_uri": redirect_uri(request, sso_provider),
        }
        if code_verifier:
            token_request["code_verifier"] = code_verifier
        try:
            token = self.get_token(token_request)
        except UNREACHABLE as exc:
            raise SsoUnavailable(self.OIDC_OP_TOKEN_ENDPOINT) from exc
        except requests.RequestException as exc:  # refused code (forged, replayed), bad answer
            raise SsoError(f"token endpoint: {exc}") from exc
        if not isinstance(token, dict):
            raise SsoError("token response is not a JSON object")
        id_token, access_token = token.get("id_token"), token.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise SsoError("token response without id_token or access_token")
        try:
            payload = self.verify_token(id_token, nonce=nonce)
        except UNREACHABLE as exc:
            raise SsoUnavailable(self.OIDC_OP_JWKS_ENDPOINT) from exc
        except requests.RequestException as exc:
            raise SsoError(f"jwks endpoint: {exc}") from exc
        self.check_issuer_and_audience(payload)
        return self.get_or_create_user(access_token, id_token, payload)

    def check_issuer_and_audience(self, payload: dict) -> None:
        """mozilla-django-oidc checks the signature, expiry and nonce; the token must also
        come from this provider and be meant for this client."""
        if self.issuer and str(payload.get("iss", "")).rstrip("/") != self.issuer.rstrip("/"):
            raise SsoError(f"ID token issuer {payload.get('iss')!r} is not {self.issuer!r}")
        aud = payload.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SsoError(f"ID token audience {aud!r} does not include this client")
        if not isinstance(payload.get("sub"), str) or not payload["sub"]:
            raise SsoError("ID token without sub")

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims completed by the userinfo endpoint's (Entra ID and ADFS put
        groups in the ID token only). Userinfo must be about the same subject."""
        try:
            info = super().get_userinfo(access_token, id_token, payload)
        except UNREACHABLE as exc:
            raise SsoUnavailable(self.OIDC_OP_USER_ENDPOINT) from exc
        except requests.RequestException as exc:
            raise SsoError(f"userinfo endpoint: {exc}") from exc
        if not isinstance(info, dict) or info.get("sub") != payload["sub"]:
            raise SsoError("userinfo is not about the ID token's subject")
        return {**payload, **info}

    def verify_claims(self, claims):
        return True  # the subject is checked with the ID token; roles in update/create

    def filter_users_by_claims(self, claims):
        return User.objects.filter(
            sso_identities__provider=self.provider.key, sso_identities__subject=claims["sub"]
        )

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        users = list(self.filter_users_by_claims(claims))
        if users:
            return self.update_user(users[0], claims)
        return self.create_user(claims)

    # --- accounts and roles -----------------------------------------------------------------

    def _refuse(self, claims: dict, reason: str, message: str, user=None):
        with audit_context(user=user, source="sso"):
            record_event(
                "sso.refused",
                f"connexion unique refusée ({self.provider.name}) : "
                f"{claims.get(self.provider.username_claim) or claims['sub']}",
                {
                    "provider": [None, self.provider.key],
                    "subject": [None, claims["sub"]],
                    "reason": [None, reason],
                    "groups": [None, self.provider.groups(claims)[:200]],
                },
            )
        raise SsoRefused(message, reason)

    def _resolve(self, claims: dict) -> tuple[set[tuple[int, str]], list[str]]:
        """{(establishment id, role)} that the claims give, and the unknown codes mapped."""
        if self.provider.groups_overflow(claims):
            self._refuse(
                claims,
                "groups_overflow",
                _(
                    "Le fournisseur d'identité n'a pas transmis vos groupes (vous êtes membre de "
                    "trop de groupes). Votre administrateur doit limiter les groupes envoyés à "
                    "Garant à ceux de l'application."
                ),
            )
        grants: set[Grant] = self.provider.grants(claims)
        # signing in is system code: the person has no scope until their roles are set
        codes = {g.establishment for g in grants}
        by_code = dict(
            Establishment.objects.unrestricted().filter(code__in=codes).values_list("code", "pk")
        )
        unknown = sorted({g.establishment for g in grants} - by_code.keys())
        if unknown:
            logger.warning("SSO %s: unknown establishment codes %s", self.provider.key, unknown)
        wanted = {(by_code[g.establishment], g.role) for g in grants if g.establishment in by_code}
        return wanted, unknown

    def _no_role_message(self) -> str:
        if self.provider.manages_roles:
            return _(
                "Connexion refusée : votre compte chez « %(provider)s » ne vous donne aucun rôle "
                "dans Garant (aucun de vos groupes n'y est associé). Demandez à votre "
                "administrateur de vous ajouter au groupe qui correspond à votre rôle."
            ) % {"provider": self.provider.name}
        return _(
            "Connexion refusée : votre compte Garant n'a encore aucun rôle. Demandez à "
            "l'administrateur de votre établissement de vous en attribuer un."
        )

    def create_user(self, claims):
        """Just-in-time account: created at its first sign-in, with its mapped roles."""
        wanted, unknown = self._resolve(claims) if self.provider.manages_roles else (set(), [])
        if self.provider.manages_roles and not wanted:
            self._refuse(claims, "no_role", self._no_role_message())
        with transaction.atomic():
            user = User(username=self._new_username(claims))
            self._copy_names(user, claims)
            user.set_unusable_password()
            with audit_context(user=user, source="sso"):  # the account creates itself
                user.save()
                identity = Identity.objects.create(
                    user=user,
                    provider=self.provider.key,
                    subject=claims["sub"],
                    last_sign_in=timezone.now(),
                )
                changes = self._set_roles(user, wanted)
        return self._finish(user, identity, claims, changes, unknown, created=True)

    def update_user(self, user, claims):
        """A known account: names, e-mail and roles follow the provider at each sign-in."""
        identity = Identity.objects.get(
            user=user, provider=self.provider.key, subject=claims["sub"]
        )
        wanted, unknown = self._resolve(claims) if self.provider.manages_roles else (set(), [])
        with transaction.atomic(), audit_context(user=user, source="sso"):
            self._copy_names(user, claims)
            user.save()
            changes = self._set_roles(user, wanted) if self.provider.manages_roles else {}
            identity.last_sign_in = timezone.now()
            identity.save(update_fields=["last_sign_in"])
        return self._finish(user, identity, claims, changes, unknown, created=False)

    def _finish(self, user, identity, claims, changes, unknown, created):
        has_role = Membership.objects.filter(user=user).exists()
        if self.provider.manages_roles:
            mapped = Membership.objects.filter(user=user, **self._managed_filter()).exists()
        else:
            mapped = has_role
        if not mapped:
            if self.provider.manages_roles and not has_role and user.is_active:
                # the provider says so: no access left anywhere
                with transaction.atomic(), audit_context(user=user, source="sso"):
                    user.is_active = False
                    user.save()
                    identity.deactivated_by_sso = True
                    identity.save()
            self._refuse(claims, "no_role", self._no_role_message(), user=user)
        if not user.is_active:
            if not identity.deactivated_by_sso:
                self._refuse(
                    claims,
                    "inactive",
                    _(
                        "Connexion refusée : votre compte Garant a été désactivé par un administrateur."
                    ),
                    user=user,
                )
            with transaction.atomic(), audit_context(user=user, source="sso"):
                user.is_active = True
                user.save()
                identity.deactivated_by_sso = False
                identity.save()
        elif identity.deactivated_by_sso:  # an administrator reactivated it meanwhile
            with audit_context(user=user, source="sso"):
                identity.deactivated_by_sso = False
                identity.save()
        with audit_context(user=user, source="sso"):
            record_event(
                "sso.login",
                f"connexion unique de {user.get_username()} via {self.provider.name}",
                {
                    "provider": [None, self.provider.key],
                    "subject": [None, claims["sub"]],
                    "account": [None, "created" if created else "existing"],
                    "groups": [None, self.provider.groups(claims)[:200]],
                    **changes,
                    **({"unknown_establishments": [None, unknown]} if unknown else {}),
                },
            )
        return user

    def _managed_filter(self) -> dict:
        if self.provider.establishments is None:
            return {}
        return {"establishment__code__in": self.provider.establishments}

    def _set_roles(self, user, wanted: set[tuple[int, str]]) -> dict:
        """Make the user's roles in this provider's establishments exactly `wanted`; roles in
        other establishments (another provider's, or given in Garant) are left alone. Each
        membership added or removed is an audited create/delete."""
        current = {
            (m.establishment_id, m.role): m
            for m in Membership.objects.unrestricted().filter(user=user, **self._managed_filter())
        }
        removed = sorted(k for k in current if k not in wanted)
        added = sorted(wanted - current.keys())
        for key in removed:
            current[key].delete()
        for est_id, role in added:
            Membership.objects.create(user=user, establishment_id=est_id, role=role)
        changes = {}
        if added:
            changes["roles_added"] = [None, [f"{role}@{est}" for est, role in added]]
        if removed:
            changes["roles_removed"] = [[f"{role}@{est}" for est, role in removed], None]
        return changes

    def _copy_names(self, user, claims: dict) -> None:
        for attr, claim, size in (
            ("first_name", "given_name", 150),
            ("last_name", "family_name", 150),
            ("email", "email", 254),
        ):
            value = claims.get(claim)
            if isinstance(value, str):
                setattr(user, attr, value.strip()[:size])

    def _new_username(self, claims: dict) -> str:
        """The provider's user name if free; an account already holding it (a local one, or
        another provider's) is never taken over: the new one gets a suffix."""
        raw = claims.get(self.provider.username_claim)
        base = _clean_username(raw if isinstance(raw, str) and raw else claims["sub"])
        suffix = f".{self.provider.key}"
        candidates = [base, base[: 150 - len(suffix)] + suffix]
        candidates += [f"{base[: 140 - len(suffix)]}{suffix}.{n}" for n in range(2, 100)]
        for name in candidates:
            if not User.objects.filter(username__iexact=name).exists():
                return name
        raise SuspiciousOperation("no free user name")
