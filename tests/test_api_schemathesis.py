"""Property-based test of the whole API: schemathesis against the OpenAPI document.

One test per operation of /api/openapi.json, run in-process through Django's WSGI application
(no server), authenticated by the bearer token of a user holding every role in establishment
A of the shared `world`. Schemathesis generates valid and invalid parameters and bodies and
fails on any 5xx (not_a_server_error), any status code the document does not declare
(status_code_conformance) and any answer that does not match its declared schema
(response_schema_conformance) — including the 400/401/403/404/409/422 error shapes that
garant.core.openapi declares on every operation.

Budget: 15 examples per operation, derandomized (the same examples on every run), no deadline:
about a minute of CPU for the ~90 operations.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks

from garant.core.audit import audit_context
from garant.core.models import ApiToken, Membership, Role
from garant.wsgi import application
from tests.conftest import make_user

MAX_EXAMPLES = 15

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture(autouse=True)
def connection_kept_between_requests():
    """As Django's test client does: the WSGI handler would close the database connection
    after each request, and with it the test's transaction (PostgreSQL)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(world):
    user = make_user("toutes-fonctions-a")
    with audit_context(source="test"):
        for role in Role.values:
            Membership.objects.create(user=user, establishment=world["a"]["est"], role=role)
    _, raw = ApiToken.issue(user, name="schemathesis")
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case, bearer):
    case.call_and_validate(
        headers=bearer,
        checks=[
            st_checks.not_a_server_error,
            st_checks.status_code_conformance,
            st_checks.response_schema_conformance,
        ],
    )
