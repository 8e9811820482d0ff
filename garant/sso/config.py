"""The single sign-on configuration: OpenID Connect providers and their claim mapping.

SSO is off unless `GARANT_SSO_CONFIG` names a YAML file (see docs/accounts.md). The file lists
one or more providers — one for the whole group, or one per establishment — and, for each,
which values of a claim (`groups` by default: Keycloak group paths, Entra ID group object ids,
ADFS group names...) give which role in which establishment. It is checked against
`schema.json` and a few rules the schema cannot say (known roles, establishments within the
provider's scope, unique keys) when first loaded; the app loads it at start-up, so a broken
file stops the server with the file and the path of the error, like the referentials.
Client secrets are never in the file: each provider names the environment variable that holds
its secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema
import yaml
from django.conf import settings

from garant.core.models import Role

SCHEMA = Path(__file__).resolve().parent / "schema.json"
DEFAULT_SCOPES = ("openid", "profile", "email")


class SsoConfigError(Exception):
    pass


@dataclass(frozen=True)
class Grant:
    """A role in an establishment (by its code)."""

    establishment: str
    role: str


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    client_id: str
    client_secret_env: str
    issuer: str = ""
    endpoints: dict = field(default_factory=dict)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    token_auth: str = "client_secret_post"  # how the client authenticates at the token endpoint
    sign_algo: str = "RS256"
    verify_tls: bool = True
    timeout_seconds: float = 10
    redirect_uri: str = ""
    auth_params: dict = field(default_factory=dict)
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    # establishment codes where this provider decides roles; None: every establishment
    establishments: frozenset[str] | None = None
    roles_from: str = "claims"  # "claims": mapped from the claim; "garant": set by admins
    default_roles: tuple[Grant, ...] = ()
    mappings: dict[str, tuple[Grant, ...]] = field(default_factory=dict)

    @property
    def client_secret(self) -> str:
        return os.environ.get(self.client_secret_env, "")

    @property
    def manages_roles(self) -> bool:
        return self.roles_from == "claims"

    def groups(self, claims: dict) -> list[str]:
        """The values of the groups claim: a list of strings, or one string (ADFS sends a
        single group that way). A dotted name reads a nested claim (`realm_access.roles`)."""
        value = claims
        for part in self.groups_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str) and v]

    def groups_overflow(self, claims: dict) -> bool:
        """Entra ID leaves the groups claim out when a user is in too many groups (more than
        200 in a token) and points to Microsoft Graph instead (`_claim_names`): the groups
        are unknown, which is not the same as "no groups"."""
        names = claims.get("_claim_names")
        return isinstance(names, dict) and self.groups_claim in names

    def grants(self, claims: dict) -> set[Grant]:
        """The roles these claims give: the mapped groups' and the provider's default ones."""
        found = set(self.default_roles)
        for group in self.groups(claims):
            found.update(self.mappings.get(group, ()))
        return found


@dataclass(frozen=True)
class SsoConfig:
    path: Path
    providers: dict[str, Provider]


def _grant(item: dict, where: str, provider: dict) -> Grant:
    if item["role"] not in Role.values:
        raise SsoConfigError(
            f"{where}: unknown role {item['role']!r} (known: {', '.join(Role.values)})"
        )
    allowed = provider.get("establishments")
    if allowed is not None and item["establishment"] not in allowed:
        raise SsoConfigError(
            f"{where}: establishment {item['establishment']!r} is outside this provider's "
            f"establishments {allowed}"
        )
    return Grant(item["establishment"], item["role"])


def parse(data: object, path: Path) -> SsoConfig:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise SsoConfigError(f"{path}: {where}: {exc.message}") from exc
    providers: dict[str, Provider] = {}
    for i, raw in enumerate(data["providers"]):
        where = f"{path}: providers/{i}"
        if raw["key"] in providers:
            raise SsoConfigError(f"{where}/key: duplicate provider key {raw['key']!r}")
        mappings: dict[str, list[Grant]] = {}
        for j, item in enumerate(raw.get("mappings", [])):
            grant = _grant(item, f"{where}/mappings/{j}", raw)
            mappings.setdefault(item["group"], []).append(grant)
        defaults = tuple(
            _grant(item, f"{where}/default_roles/{j}", raw)
            for j, item in enumerate(raw.get("default_roles", []))
        )
        if raw.get("roles_from") == "garant" and (mappings or defaults):
            raise SsoConfigError(
                f"{where}: roles_from 'garant' leaves roles to Garant's administrators: "
                "remove mappings and default_roles"
            )
        options = {
            k: v
            for k, v in raw.items()
            if k not in {"mappings", "default_roles", "establishments", "scopes"}
        }
        providers[raw["key"]] = Provider(
            **options,
            scopes=tuple(raw.get("scopes", DEFAULT_SCOPES)),
            establishments=frozenset(raw["establishments"]) if "establishments" in raw else None,
            default_roles=defaults,
            mappings={g: tuple(grants) for g, grants in mappings.items()},
        )
    return SsoConfig(path=path, providers=providers)


@cache
def _load(path: str, mtime: float) -> SsoConfig:
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SsoConfigError(f"{file}: {exc}") from exc
    return parse(data, file)


def load(path: str | Path) -> SsoConfig:
    file = Path(path)
    try:
        mtime = file.stat().st_mtime
    except OSError as exc:
        raise SsoConfigError(f"GARANT_SSO_CONFIG: {file}: {exc.strerror}") from exc
    return _load(str(file), mtime)


def current() -> SsoConfig | None:
    """The configuration in force, or None when single sign-on is off."""
    path = getattr(settings, "GARANT_SSO_CONFIG", "")
    return load(path) if path else None


def providers() -> list[Provider]:
    config = current()
    return list(config.providers.values()) if config else []


def provider(key: str) -> Provider | None:
    config = current()
    return config.providers.get(key) if config else None


LOCAL_LOGIN_MODES = ("all", "breakglass")


def local_login_mode() -> str:
    """ "all": every account may sign in with a password; "breakglass": only superusers and
    the accounts listed in GARANT_BREAKGLASS_USERS. Default: breakglass when SSO is on."""
    mode = getattr(settings, "GARANT_LOCAL_LOGIN", "") or ("breakglass" if current() else "all")
    if mode not in LOCAL_LOGIN_MODES:
        raise SsoConfigError(
            f"GARANT_LOCAL_LOGIN: {mode!r} is not one of {', '.join(LOCAL_LOGIN_MODES)}"
        )
    return mode
