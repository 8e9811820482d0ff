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
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

PROXY_ADDR = "GARANT_PROXY_ADDR"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    """"10.0.0.1", "192.168.0.0/16", "::1"… as networks; a wrong entry stops the start."""
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
