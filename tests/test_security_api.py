# ruff: noqa: F811 (the shared fixtures are imported by name)
"""API answers that schemathesis found or that need records it cannot guess: a decision on a
project of another establishment than the meeting's, and the error answers that the OpenAPI
document declares on every operation."""

import json

import pytest

from garant.api import api
from garant.core.audit import audit_context
from garant.core.models import Membership, Role
from garant.governance.models import Decision
from tests.conftest import make_user, token_client
from tests.test_governance_fixtures import gov, make_project  # noqa: F401

pytestmark = pytest.mark.django_db


def test_decision_on_a_project_of_another_establishment_is_a_json_422(gov):
    user = make_user("deux-etablissements")
    with audit_context(source="test"):
        for est in (gov["a"]["est"], gov["b"]["est"]):
            for role in Role.values:
                Membership.objects.create(user=user, establishment=est, role=role)
    other = make_project(gov["b"]["est"])
    client = token_client(user)
    client.raise_request_exception = False
    response = client.post(
        "/api/decisions",
        json.dumps(
            {
                "meeting": gov["meeting"].pk,
                "project": other.pk,
                "outcome": "stop",
                "consensus": True,
                "rationale": "Hors périmètre du comité.",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    assert {"field": None, "message": "Le projet doit appartenir à l'établissement du comité."} in (
        response.json()["detail"]
    )
    assert not Decision.objects.exists()


def test_every_operation_documents_its_error_answers():
    document = api.get_openapi_schema()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "422"} <= codes, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert "409" in codes, (method, path)
    feeds = document["paths"]["/api/feeds/{feed_id}/predictions"]["post"]["responses"]
    shapes = feeds["422"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/FieldErrors"} in shapes  # ninja's own checks too
    assert {"$ref": "#/components/schemas/BatchErrors"} in shapes
    assert document["components"]["schemas"]["Message"]["required"] == ["detail"]
