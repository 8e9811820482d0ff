"""REST API: documentation, authentication, CRUD of each resource, validation through the
forms, filters and pagination, constant query counts, audit trail, and no 5xx on bad input."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from garant.api import api as ninja_api
from garant.core.models import ApiToken, AuditEvent, Establishment, Role, Service
from garant.registry.api import SystemFilters, SystemIn
from garant.registry.filtersets import AISystemFilterSet
from garant.registry.forms import SYSTEM_FIELDS
from garant.registry.models import AISystem, AISystemVersion, Vendor
from tests.conftest import make_system, make_user

JSON = "application/json"


class TokenClient(Client):
    """A test client that authenticates every request with an API token."""

    def __init__(self, raw_token: str):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {raw_token}")


@pytest.fixture
def admin_a(world):
    return world["users"]["a"][Role.ADMIN]


@pytest.fixture
def api(admin_a):
    """A token client for the administrator of establishment A."""
    _, raw = ApiToken.issue(admin_a, name="script")
    return TokenClient(raw)


def system_payload(world, **overrides):
    a = world["a"]
    payload = {
        "establishment": a["est"].pk,
        "name": "Détection de fractures",
        "vendor": a["vendor"].pk,
        "product": "BoneView",
        "intended_purpose": "Détecter les fractures sur les radiographies",
        "services": [a["service"].pk],
        "solution_type": "S1",
        "domain": "D1",
        "modality": "M1",
        "phase": "poc",
        "hosting": "cloud_fr",
        "hds_certified": True,
        "data_categories": ["health", "personal"],
        "data_sources": ["pacs"],
        "device_status": "mdr_iia",
        "ce_expiry": "2027-06-30",
        "users_count": 40,
        "go_live": "2025-01-15",
    }
    payload.update(overrides)
    return payload


def errors(response) -> dict[str, str]:
    """{field: message} of a 422 answer."""
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["detail"]}


# --- documentation ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_document_and_interactive_docs_are_served():
    schema = Client().get("/api/openapi.json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["info"]["title"] == "Garant API"
    for resource in ["systems", "versions", "vendors", "establishments", "services"]:
        assert set(document["paths"][f"/api/{resource}"]) == {"get", "post"}
        item = next(p for p in document["paths"] if p.startswith(f"/api/{resource}/"))
        assert set(document["paths"][item]) == {"get", "put", "patch", "delete"}
    assert {"ApiTokenAuth", "SessionAuth"} <= set(document["components"]["securitySchemes"])
    docs = Client().get("/api/docs")
    assert docs.status_code == 200
    assert b"/api/openapi.json" in docs.content
    # the Swagger UI comes from the server itself (hospital networks often block CDNs)
    assert b'src="/static/ninja/swagger-ui-bundle.js"' in docs.content
    assert b"cdn" not in docs.content.lower()
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_api_input_and_filters_match_the_form_and_the_filter_set():
    """The API documents exactly what the shared form and filter set accept."""
    assert set(SystemIn.model_fields) == set(SYSTEM_FIELDS)
    assert set(SystemFilters.model_fields) == set(AISystemFilterSet.base_filters)


# --- authentication --------------------------------------------------------------------------


def test_bearer_token_authenticates(world, admin_a):
    token, raw = ApiToken.issue(admin_a)
    response = TokenClient(raw).get("/api/systems")
    assert response.status_code == 200
    assert [s["name"] for s in response.json()["items"]] == ["Triage A"]
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("problem", ["revoked", "expired", "unknown", "inactive user", "none"])
def test_bad_or_missing_token_is_401(world, admin_a, problem):
    token, raw = ApiToken.issue(admin_a)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if problem == "revoked":
        ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    elif problem == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    elif problem == "unknown":
        headers = {"HTTP_AUTHORIZATION": "Bearer grt_inconnu"}
    elif problem == "inactive user":
        type(admin_a).objects.filter(pk=admin_a.pk).update(is_active=False)
    else:
        headers = {}
    client = Client(**headers)
    for response in (
        client.get("/api/systems"),
        client.post("/api/systems", system_payload(world), content_type=JSON),
    ):
        assert response.status_code == 401
        assert "Authentification requise" in response.json()["detail"]
        assert response["WWW-Authenticate"] == "Bearer"
    assert AISystem.objects.count() == 2


def test_session_auth_requires_csrf_token_for_writes(world, admin_a):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_a)
    assert browser.get("/api/systems").status_code == 200
    refused = browser.post("/api/systems", system_payload(world), content_type=JSON)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not AISystem.objects.filter(name="Détection de fractures").exists()

    browser.get("/")  # any page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    accepted = browser.post(
        "/api/systems", system_payload(world), content_type=JSON, HTTP_X_CSRFTOKEN=csrf
    )
    assert accepted.status_code == 201, accepted.content


def test_token_requests_need_no_csrf_token(world, admin_a):
    _, raw = ApiToken.issue(admin_a)
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.post("/api/systems", system_payload(world), content_type=JSON).status_code == 201


def test_api_write_is_audited_with_the_token_user_and_source_api(world, admin_a, api):
    response = api.post("/api/systems", system_payload(world), content_type=JSON)
    assert response.status_code == 201
    system_id = str(response.json()["id"])
    event = AuditEvent.objects.get(
        object_type="registry.aisystem", object_id=system_id, action="create"
    )
    assert event.actor_name == admin_a.username
    assert event.actor_id == admin_a.pk
    assert event.source == "api"
    assert event.establishment_id == world["a"]["est"].pk
    services_event = AuditEvent.objects.get(
        object_type="registry.aisystem", object_id=system_id, action="update"
    )
    assert services_event.changes == {"services": [[], [world["a"]["service"].pk]]}
    assert services_event.actor_name == admin_a.username


# --- AI systems ------------------------------------------------------------------------------


def test_system_crud(world, api):
    created = api.post("/api/systems", system_payload(world), content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    a = world["a"]
    assert body["establishment"] == a["est"].pk
    assert body["establishment_code"] == "chu-a"
    assert (body["vendor"], body["vendor_name"]) == (a["vendor"].pk, "Éditeur A")
    assert body["services"] == [a["service"].pk]
    assert body["data_categories"] == ["health", "personal"]
    assert body["phase_label"] == "Expérimentation / PoC"
    assert body["hosting_label"] == "Cloud en France"
    assert body["device_status_label"] == "DM classe IIa"
    assert (body["vigilance"], body["vigilance_label"]) == (4, "Maximale")
    assert body["hds_certified"] is True
    assert (body["ce_expiry"], body["go_live"]) == ("2027-06-30", "2025-01-15")
    assert body["created_at"].startswith(str(timezone.now().year))
    url = f"/api/systems/{body['id']}"
    assert body["url"] == f"/systemes/{body['id']}/"
    assert api.get(url).json() == body

    # PUT replaces everything: fields left out go back to their defaults
    replaced = api.put(
        url,
        {
            "establishment": a["est"].pk,
            "name": "Fractures v2",
            "intended_purpose": "Idem",
            "solution_type": "S2",
            "domain": "D1",
            "modality": "M2",
        },
        content_type=JSON,
    ).json()
    assert (replaced["name"], replaced["vendor"], replaced["services"]) == (
        "Fractures v2",
        None,
        [],
    )
    assert (replaced["phase"], replaced["hds_certified"], replaced["data_categories"]) == (
        "idea",
        None,
        [],
    )

    # PATCH changes only what is sent
    api.put(url, system_payload(world), content_type=JSON)
    patched = api.patch(url, {"phase": "routine", "hds_certified": False}, content_type=JSON)
    assert patched.status_code == 200
    after = patched.json()
    assert (after["phase"], after["hds_certified"]) == ("routine", False)
    assert after["services"] == [a["service"].pk]
    assert after["data_categories"] == ["health", "personal"]
    assert after["name"] == "Détection de fractures"

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert not AISystem.objects.filter(pk=body["id"]).exists()


def test_system_validation_goes_through_the_form(world, api):
    a, b = world["a"], world["b"]
    missing = errors(api.post("/api/systems", {"establishment": a["est"].pk}, content_type=JSON))
    assert missing["name"] == "Ce champ est obligatoire."
    assert {"intended_purpose", "solution_type", "domain", "modality"} <= set(missing)

    cases = [
        ({"vendor": b["vendor"].pk}, "vendor"),
        ({"services": [b["service"].pk]}, "services"),
        ({"gpai_based": True}, "gpai_model"),
        ({"data_sources": ["other"]}, "data_sources_other"),
        ({"data_categories": ["secret"]}, "data_categories"),
        ({"phase": "inconnue"}, "phase"),
        ({"device_status": "not_device", "ce_certificate": "CE 123"}, "ce_certificate"),
        ({"name": "x" * 201}, "name"),
        ({"users_count": 10**30}, "users_count"),
        ({"name": "nul\x00"}, "name"),
    ]
    for override, field in cases:
        response = api.post("/api/systems", system_payload(world, **override), content_type=JSON)
        assert field in errors(response), override
    assert AISystem.objects.count() == 2


def test_patch_is_validated_as_a_whole(world, api):
    url = f"/api/systems/{world['a']['system'].pk}"
    assert "gpai_model" in errors(api.patch(url, {"gpai_based": True}, content_type=JSON))
    ok = api.patch(url, {"gpai_based": True, "gpai_model": "GPT-4o"}, content_type=JSON)
    assert ok.status_code == 200
    assert ok.json()["gpai_model"] == "GPT-4o"


def test_a_record_cannot_move_to_another_establishment(world, client_for):
    """Even for someone who may write in both establishments."""
    user = world["users"]["a"][Role.ADMIN]
    user.memberships.create(establishment=world["b"]["est"], role=Role.ADMIN)
    client = client_for(user)
    system = world["a"]["system"]
    response = client.patch(
        f"/api/systems/{system.pk}", {"establishment": world["b"]["est"].pk}, content_type=JSON
    )
    assert "establishment" in errors(response)
    vendor = world["a"]["vendor"]
    response = client.put(
        f"/api/vendors/{vendor.pk}",
        {"establishment": world["b"]["est"].pk, "name": vendor.name},
        content_type=JSON,
    )
    assert "establishment" in errors(response)
    version = world["a"]["version"]
    response = client.patch(
        f"/api/versions/{version.pk}", {"ai_system": world["b"]["system"].pk}, content_type=JSON
    )
    assert "ai_system" in errors(response)
    assert AISystem.objects.get(pk=system.pk).establishment_id == world["a"]["est"].pk


# --- lists: filters, pagination, query counts ------------------------------------------------


def test_system_list_filters_reuse_the_filter_set(world, api):
    a = world["a"]
    make_system(a["est"], name="Chatbot RH", domain="D2", gpai_based=True, gpai_model="Mistral")
    make_system(a["est"], name="Prédiction de sepsis", phase="poc", data_categories=["health"])

    def names(**params):
        response = api.get("/api/systems", params)
        assert response.status_code == 200, response.content
        return [s["name"] for s in response.json()["items"]]

    assert names() == ["Chatbot RH", "Prédiction de sepsis", "Triage A"]
    assert names(domain="D2") == ["Chatbot RH"]
    assert names(gpai_based="true") == ["Chatbot RH"]
    assert names(phase="poc", data_category="health") == ["Prédiction de sepsis"]
    assert names(q="sepsis") == ["Prédiction de sepsis"]
    assert names(vendor=a["vendor"].pk) == ["Triage A"]
    assert names(service=a["service"].pk) == ["Triage A"]
    assert names(sort="-name") == ["Triage A", "Prédiction de sepsis", "Chatbot RH"]
    assert names(q="", phase="") == names()  # empty parameters are ignored


@pytest.mark.parametrize(
    "params, field",
    [
        ({"phase": "inconnue"}, "phase"),
        ({"sort": "password"}, "sort"),
        ({"hds_certified": "peut-être"}, "hds_certified"),
        ({"establishment": "abc"}, "establishment"),
        ({"vendor": 10**30}, "vendor"),
        ({"page_size": 501}, "page_size"),
        ({"page": 0}, "page"),
        ({"q": "a\x00b"}, "q"),
    ],
)
def test_invalid_list_parameters_are_422_naming_the_parameter(world, api, params, field):
    assert field in errors(api.get("/api/systems", params))


def test_pagination(world, api):
    for i in range(12):
        make_system(world["a"]["est"], name=f"Système {i:02d}")
    first = api.get("/api/systems", {"page_size": 5}).json()
    assert first["count"] == 13
    assert len(first["items"]) == 5
    third = api.get("/api/systems", {"page_size": 5, "page": 3}).json()
    assert [s["name"] for s in third["items"]] == ["Système 10", "Système 11", "Triage A"]
    assert api.get("/api/systems", {"page": 99}).json()["items"] == []


@pytest.mark.parametrize("resource", ["systems", "versions", "vendors", "services"])
def test_list_query_count_does_not_grow_with_page_size(world, admin_a, resource):
    est = world["a"]["est"]
    services = [Service.objects.create(establishment=est, name=f"Service {i}") for i in range(3)]
    for i in range(60):
        vendor = Vendor.objects.create(establishment=est, name=f"Éditeur {i}")
        system = make_system(est, name=f"Système {i}", vendor=vendor, services=services)
        AISystemVersion.objects.create(ai_system=system, version="1.0")
        Service.objects.create(establishment=est, name=f"Unité {i}")
    _, raw = ApiToken.issue(admin_a)
    client = TokenClient(raw)

    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/{resource}", {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["items"]) == size
        counts[size] = len(queries)
    assert counts[5] == counts[50], counts


def test_system_list_query_count(world, api, django_assert_num_queries):
    for i in range(60):
        make_system(world["a"]["est"], name=f"Système {i}", services=[world["a"]["service"]])
    # token look-up and last use, roles, count, page, services of the page
    with django_assert_num_queries(6):
        assert len(api.get("/api/systems", {"page_size": 50}).json()["items"]) == 50


# --- versions, vendors, services, establishments --------------------------------------------


def test_version_crud(world, api):
    system = world["a"]["system"]
    payload = {"ai_system": system.pk, "version": " 2.0 ", "released_on": "2025-03-01"}
    created = api.post("/api/versions", payload, content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["version"], body["ai_system_name"], body["establishment"]) == (
        "2.0",
        "Triage A",
        world["a"]["est"].pk,
    )
    duplicate = api.post("/api/versions", payload, content_type=JSON)
    assert errors(duplicate)["version"] == "Cette version existe déjà pour ce système."
    assert "ai_system" in errors(api.post("/api/versions", {"version": "3"}, content_type=JSON))

    url = f"/api/versions/{body['id']}"
    patched = api.patch(url, {"change_summary": "Nouveau seuil"}, content_type=JSON).json()
    assert (patched["version"], patched["change_summary"]) == ("2.0", "Nouveau seuil")
    other = make_system(world["a"]["est"], name="Autre")
    AISystemVersion.objects.create(ai_system=other, version="7.0")
    listed = api.get("/api/versions", {"ai_system": system.pk}).json()["items"]
    assert sorted(v["version"] for v in listed) == ["1.0", "2.0"]
    assert api.delete(url).status_code == 204
    assert not AISystemVersion.objects.filter(pk=body["id"]).exists()


def test_vendor_crud_and_protected_delete(world, api):
    a = world["a"]
    payload = {"establishment": a["est"].pk, "name": "Gleamer", "contact_email": "x@gleamer.ai"}
    created = api.post("/api/vendors", payload, content_type=JSON)
    assert created.status_code == 201, created.content
    assert created.json()["systems_count"] == 0
    clash = api.post("/api/vendors", {**payload, "name": "gleamer"}, content_type=JSON)
    assert "name" in errors(clash)
    bad_email = api.post(
        "/api/vendors", {**payload, "contact_email": "pas-un-mail"}, content_type=JSON
    )
    assert "contact_email" in errors(bad_email)

    used = api.get(f"/api/vendors/{a['vendor'].pk}").json()
    assert used["systems_count"] == 1
    refused = api.delete(f"/api/vendors/{a['vendor'].pk}")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "Suppression impossible : « Éditeur A » est encore utilisé par systèmes d'IA (1)."
    )
    assert Vendor.objects.filter(pk=a["vendor"].pk).exists()
    assert api.delete(f"/api/vendors/{created.json()['id']}").status_code == 204


def test_service_crud(world, api):
    a = world["a"]
    payload = {"establishment": a["est"].pk, "name": "Radiologie", "pole": "Imagerie"}
    created = api.post("/api/services", payload, content_type=JSON)
    assert created.status_code == 201, created.content
    assert created.json()["establishment_code"] == "chu-a"
    clash = api.post("/api/services", {**payload, "name": "radiologie"}, content_type=JSON)
    assert errors(clash)["name"] == "Un service de ce nom existe déjà dans cet établissement."
    url = f"/api/services/{created.json()['id']}"
    assert api.patch(url, {"pole": "Pôle imagerie"}, content_type=JSON).json()["pole"] == (
        "Pôle imagerie"
    )
    assert api.get("/api/services", {"q": "imagerie"}).json()["count"] == 1
    assert api.delete(url).status_code == 204


def test_establishment_update_validates_input(world, api):
    url = f"/api/establishments/{world['a']['est'].pk}"
    assert "finess" in errors(api.patch(url, {"finess": "12345"}, content_type=JSON))
    assert "code" in errors(api.patch(url, {"code": "chu-b"}, content_type=JSON))
    assert "code" in errors(api.patch(url, {"code": "pas un code"}, content_type=JSON))
    ok = api.patch(url, {"finess": "2A0000012", "name": "CHU A (site nord)"}, content_type=JSON)
    assert ok.status_code == 200
    assert (ok.json()["finess"], ok.json()["group_name"]) == ("2A0000012", "GCS de test")
    assert Establishment.objects.get(pk=world["a"]["est"].pk).name == "CHU A (site nord)"


# --- never a 5xx for what a client sends -----------------------------------------------------


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("post", "/api/systems", "{pas du json", 400),
        ("post", "/api/systems", "[1, 2]", 400),
        ("post", "/api/systems", '{"name": 12, "services": "1"}', 422),
        ("post", "/api/systems", '{"establishment": 99999999999999999999999}', 422),
        ("post", "/api/systems", '{"services": [9223372036854775807]}', 422),
        ("post", "/api/systems", '{"go_live": "31/12/2025"}', 422),
        ("post", "/api/versions", '{"ai_system": 424242, "version": "1"}', 404),
        ("post", "/api/services", '{"establishment": 424242, "name": "X"}', 403),
        ("patch", "/api/systems/{system}", '{"vendor": 424242}', 422),
        ("patch", "/api/systems/{system}", '{"data_categories": "health"}', 422),
        ("patch", "/api/systems/{system}", '"texte"', 400),
        ("patch", "/api/systems/{system}", "null", 400),
        ("put", "/api/vendors/{vendor}", '{"name": null}', 422),
        ("get", "/api/systems/424242", "", 404),
        ("get", "/api/systems/abc", "", 422),
        ("get", "/api/systems/99999999999999999999999", "", 422),
        ("delete", "/api/vendors/0", "", 422),
    ],
)
def test_bad_input_is_a_client_error(world, api, method, path, body, status):
    path = path.format(system=world["a"]["system"].pk, vendor=world["a"]["vendor"].pk)
    response = getattr(api, method)(path, body, content_type=JSON)
    assert response.status_code == status, response.content
    assert response.json()["detail"]


def test_non_json_content_type_is_a_client_error(world, api):
    response = api.post("/api/systems", {"name": "X"})  # multipart form, not JSON
    assert 400 <= response.status_code < 500


def test_user_without_role_cannot_create(world):
    _, raw = ApiToken.issue(make_user("sans-role"))
    response = TokenClient(raw).post("/api/systems", system_payload(world), content_type=JSON)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Votre rôle ne permet pas de déclarer un système dans cet établissement."
    )


def test_every_api_operation_has_its_own_url_name():
    """`reverse("api:<name>")` must name one operation: two routers each with a `check`
    view once made the habilitation check reverse to the objection check's URL."""
    names = [p.name for p in ninja_api.urls[0] if getattr(p, "name", None)]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
