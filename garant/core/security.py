"""Web security middleware: the client's real address behind a reverse proxy, and the
security headers of every answer.

TrustedProxyMiddleware (first in MIDDLEWARE). Behind a reverse proxy every request comes from
the proxy's address. When, and only when, REMOTE_ADDR is one of GARANT_TRUSTED_PROXIES
(addresses or networks), the client's address is read from X-Forwarded-For: its right-most
entry that is not itself a trusted proxy (entries further left were written by the client and
prove nothing). REMOTE_ADDR is then replaced by it, so Django, login throttling (django-axes,
AXES_CLIENT_IP_CALLABLE = `client_ip`) and the audit trail all see the same client address; the
proxy's address stays in META["GARANT_PROXY_ADDR"]. From any other address, X-Forwarded-For
and X-Forwarded-Proto are ignored (the latter is removed, so that SECURE_PROXY_SSL_HEADER
cannot be spoofed by a client reaching the server directly).

SecurityHeadersMiddleware adds to every answer that Django builds (static files are served
before it by WhiteNoise):
- Content-Security-Policy: settings.GARANT_CSP, no inline script anywhere (Garant's pages
  have no script at all; /api/docs loads Swagger UI's files from /static/);
- Permissions-Policy: no camera, microphone, geolocation, payment… for any page;
- Cache-Control: no-store, so that neither the browser nor a proxy keeps a copy of a signed-in
  page, an export or an API answer (patient-related data on shared workstations).
HSTS comes from Django's SecurityMiddleware (SECURE_HSTS_SECONDS, set with secure cookies).

Input limits. No text that Garant stores may exceed MAX_TEXT_LENGTH characters or hold a NUL
character (PostgreSQL cannot store or even compare one):
- forms: a model's CharField has its own max_length; every TextField's form field gets
  MAX_TEXT_LENGTH (`bound_text_form_fields`, at start-up), so a longer text is a form error
  and the textarea has a maxlength; RejectNulMiddleware refuses (400) a request with a NUL or
  a field longer than MAX_FIELD_LENGTH, whatever form it is meant for;
- API: the `Text` fields of the schemas declare maxLength and refuse NUL (422), and
  ApiInputMiddleware refuses (422, {field, message}) any string of a JSON body or a query
  parameter that is longer or holds a NUL, wherever it is (lists, objects of answers…). The
  monitoring batches are checked by their own validation (garant.monitoring.ingest).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

PROXY_ADDR = "GARANT_PROXY_ADDR"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    """ "10.0.0.1", "192.168.0.0/16", "::1"… as networks; a wrong entry stops the start."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"GARANT_TRUSTED_PROXIES: {value!r} is not an IP address or network"
            ) from exc
    return networks


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An entry of X-Forwarded-For as an address: "1.2.3.4", "1.2.3.4:port", "[::1]:port"."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address, networks: list[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def forwarded_client(remote_addr: str, forwarded_for: str, networks: list[Network]) -> str:
    """The client's address of a request that `remote_addr` passed on (see module doc)."""
    hop = _address(remote_addr)
    if not _trusted(hop, networks):
        return remote_addr
    client = str(hop)
    for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
        address = _address(entry)
        if address is None:  # garbage: the hops further left cannot be told apart
            break
        client = str(address)
        if not _trusted(address, networks):
            break
    return client


class TrustedProxyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.networks = parse_networks(getattr(settings, "GARANT_TRUSTED_PROXIES", []))

    def __call__(self, request):
        meta = request.META
        remote = meta.get("REMOTE_ADDR") or ""
        if self.networks and _trusted(_address(remote), self.networks):
            meta[PROXY_ADDR] = remote
            meta["REMOTE_ADDR"] = forwarded_client(
                remote, meta.get("HTTP_X_FORWARDED_FOR", ""), self.networks
            )
        else:
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)


def client_ip(request) -> str:
    """The client's address, as throttling and the audit trail record it."""
    if request is None:
        return ""
    return request.META.get("REMOTE_ADDR") or ""


def content_security_policy() -> str:
    return "; ".join(
        f"{directive} {' '.join(sources)}".strip()
        for directive, sources in settings.GARANT_CSP.items()
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = content_security_policy()
        self.permissions = settings.GARANT_PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", self.permissions)
        if "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = "no-store"
        return response


# --- input limits -------------------------------------------------------------------------

MAX_TEXT_LENGTH = 50_000  # characters: some 25 pages, far above any minutes or comment
MAX_FIELD_LENGTH = 2 * MAX_TEXT_LENGTH  # a web request's field: above it, no form reads it
# monitoring batches: their rows are checked by garant.monitoring.ingest, with row numbers
UNCHECKED_API_PATHS = re.compile(r"^/api/feeds/\d+/(predictions|outcomes|fhir)$")


def too_long_message() -> str:
    return _("Texte trop long ({max_length} caractères au plus).").format(
        max_length=MAX_TEXT_LENGTH
    )


def nul_message() -> str:
    return _("Les caractères nuls ne sont pas autorisés.")


def text_problem(value: str) -> str | None:
    """The French reason why `value` cannot be stored, or None."""
    if "\x00" in value:
        return nul_message()
    if len(value) > MAX_TEXT_LENGTH:
        return too_long_message()
    return None


def bound_text_form_fields() -> None:
    """Every form field of a model TextField gets max_length=MAX_TEXT_LENGTH (unless the
    field has its own): a longer text is a form error, not stored. Called once at start-up,
    before any form class is built."""
    if getattr(models.TextField.formfield, "garant_bounded", False):
        return
    formfield = models.TextField.formfield

    def bounded_formfield(self, **kwargs):
        if self.max_length is None and not self.choices:
            kwargs.setdefault("max_length", MAX_TEXT_LENGTH)
        return formfield(self, **kwargs)

    bounded_formfield.garant_bounded = True
    models.TextField.formfield = bounded_formfield


def _json_problems(value, path: tuple = ()) -> Iterator[tuple[str | None, str]]:
    if isinstance(value, str):
        if problem := text_problem(value):
            yield ".".join(map(str, path)) or None, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := text_problem(key):
                yield ".".join(map(str, path)) or None, problem
            else:
                yield from _json_problems(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_problems(item, (*path, index))


def api_input_problems(request) -> list[dict]:
    """[{field, message}] for the query parameters and JSON body strings that cannot be
    stored (too long, NUL)."""
    problems = [
        {"field": name if "\x00" not in name else None, "message": problem}
        for name, values in request.GET.lists()
        for value in (name, *values)
        if (problem := text_problem(value))
    ]
    if request.method in ("POST", "PUT", "PATCH") and request.content_type == "application/json":
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None  # the API answers 400 itself
        problems += [{"field": f, "message": m} for f, m in _json_problems(body)]
    return problems


class ApiInputMiddleware:
    """Refuse (422) API input with a text too long or a NUL, before any view reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        checked = request.path.startswith("/api/") and not UNCHECKED_API_PATHS.match(request.path)
        if checked and (problems := api_input_problems(request)):
            return JsonResponse({"detail": problems[:100]}, status=422)
        return self.get_response(request)
