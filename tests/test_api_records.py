"""`garant.core.api.record_endpoints`: the endpoints of one record, written once for the
resources that share their shape, appear in the OpenAPI document as hand-written ones did."""

from __future__ import annotations

import pytest
from django.test import Client

RESOURCES = {
    # path, module, noun, operations generated
    "/api/systems/{system_id}": ("registry", "system", ("get", "put", "patch", "delete")),
    "/api/versions/{version_id}": ("registry", "version", ("get", "put", "patch", "delete")),
    "/api/vendors/{vendor_id}": ("registry", "vendor", ("get", "put", "patch", "delete")),
    "/api/services/{service_id}": ("core", "service", ("get", "put", "patch", "delete")),
    "/api/establishments/{establishment_id}": (
        "core",
        "establishment",
        ("get", "put", "patch", "delete"),  # delete is hand-written (administrators only)
    ),
}
NAMES = {"get": "get", "put": "replace", "patch": "update", "delete": "delete"}


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/openapi.json").json()


@pytest.mark.parametrize("path", RESOURCES)
def test_each_record_endpoint_is_documented_like_a_hand_written_one(document, path):
    module, noun, methods = RESOURCES[path]
    operations = document["paths"][path]
    assert sorted(operations) == sorted(methods)
    for method in methods:
        operation = operations[method]
        assert operation["operationId"] == f"garant_{module}_api_{NAMES[method]}_{noun}"
        assert [p["name"] for p in operation["parameters"]] == [f"{noun}_id"]
        assert operation["parameters"][0]["in"] == "path"
        assert operation["parameters"][0]["schema"]["minimum"] == 1
        # the errors every operation documents (garant.core.openapi), then its own success
        expected = {"401", "403", "404", "422"} | {"204" if method == "delete" else "200"}
        if method != "get":
            expected |= {"409"} | ({"400"} if method in ("put", "patch") else set())
        assert set(operation["responses"]) == expected
        assert ("requestBody" in operation) == (method in ("put", "patch"))


def test_docstrings_become_descriptions(document):
    put = document["paths"]["/api/systems/{system_id}"]["put"]
    assert put["summary"] == "Remplacer un système d'IA"
    assert put["description"].startswith("Tous les champs sont remplacés")
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/SystemIn")
    patch = document["paths"]["/api/systems/{system_id}"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/SystemInPatch")
    vendor = document["paths"]["/api/vendors/{vendor_id}"]["delete"]
    assert vendor["description"] == "Refusé (409) tant que des systèmes y sont rattachés."
