# ruff: noqa: F811 (the browser fixtures are imported by name)
"""Security headers: a Content-Security-Policy without inline script on every page, a
Permissions-Policy, Cache-Control: no-store on signed-in pages, exports and API answers, HSTS
with secure cookies; and no template carries an inline script or event handler that the
policy would block."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from garant.core.models import Role
from tests.conftest import token_client
from tests.test_browser import chromium, login, page  # noqa: F401

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


def assert_secure_headers(response):
    assert response["Content-Security-Policy"] == CSP
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_login_page(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_secure_headers(response)


@pytest.mark.django_db
def test_signed_in_page(world, client_for):
    response = client_for(world["users"]["a"][Role.REFERENT]).get(reverse("home"))
    assert response.status_code == 200
    assert_secure_headers(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("registry:system_export", "csv"),
        ("governance:decision_export", "xlsx"),
        ("compliance:gap_report", "pdf"),
    ],
)
def test_exports(world, client_for, name, fmt):
    response = client_for(world["users"]["a"][Role.AUDITOR]).get(reverse(name, args=[fmt]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert_secure_headers(response)


@pytest.mark.django_db
def test_api_answers(world):
    client = token_client(world["users"]["a"][Role.AUDITOR])
    assert_secure_headers(client.get("/api/systems"))
    assert_secure_headers(client.get("/api/systems/999999"))  # errors too
    assert_secure_headers(Client().get("/api/systems"))  # 401


@pytest.mark.parametrize(
    ("environment", "hsts", "proxy_ssl_header"),
    [
        ({}, 0, None),
        ({"GARANT_SECURE_COOKIES": "1"}, 31536000, None),
        (
            {"GARANT_SECURE_COOKIES": "1", "GARANT_TRUSTED_PROXIES": "10.0.0.1"},
            31536000,
            ["HTTP_X_FORWARDED_PROTO", "https"],
        ),
    ],
)
def test_hsts_with_secure_cookies_and_proxy_ssl_header_with_trusted_proxies(
    environment, hsts, proxy_ssl_header, tmp_path
):
    """The settings as a fresh process reads them from its environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GARANT_SECURE_COOKIES", "GARANT_TRUSTED_PROXIES")
    }
    env.update(environment, GARANT_DATA_DIR=str(tmp_path))
    code = (
        "import json; from garant import settings as s; "
        "print(json.dumps([s.SECURE_HSTS_SECONDS, getattr(s, 'SECURE_PROXY_SSL_HEADER', None)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [hsts, proxy_ssl_header]


@pytest.mark.django_db
def test_hsts_over_https_when_on(client, settings):
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get(reverse("login"))  # plain HTTP


def test_no_template_has_inline_script_or_event_handler():
    roots = [settings.PACKAGE_DIR / "templates", *Path(settings.PACKAGE_DIR).glob("*/templates")]
    templates = [path for root in roots for path in Path(root).rglob("*.html")]
    assert templates
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    for path in templates:
        text = path.read_text()
        assert not inline_script.search(text), path
        assert not handler.search(text), path
        assert "javascript:" not in text.lower(), path


# --- in Chromium: the policy blocks nothing that the pages need ---------------------------


def _violations(page):
    found = []
    page.on(
        "console",
        lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return found


@pytest.mark.browser
def test_pages_and_api_docs_load_under_the_policy(page, live_server, world):
    violations = _violations(page)
    login(page, live_server, "auditor-a")
    for path in ("/", "/systemes/", "/suivi/", "/conformite/", "/projets/", "/comites/decisions/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert response.headers["content-security-policy"] == CSP
    page.goto(f"{live_server.url}/api/docs")
    page.get_by_text("Garant API").first.wait_for()
    page.locator(".opblock").first.wait_for()  # Swagger UI built the operations list
    assert violations == []
