"""The register's web pages: list with filters, search, sort and pagination; forms; tenancy."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from garant.registry.models import AISystem, AISystemVersion
from tests.conftest import make_system

LIST = reverse("registry:system_list")

VALID = {
    "name": "Détection de fractures",
    "intended_purpose": "Détecter les fractures sur les radiographies",
    "solution_type": "S1",
    "domain": "D1",
    "modality": "M1",
    "phase": "poc",
    "device_status": "mdr_iia",
    "data_categories": ["health"],
    "data_sources": ["pacs"],
    "hosting": "cloud_fr",
    "hds_certified": "true",
}


def names(response) -> list[str]:
    return [s.name for s in response.context["page"].object_list]


def test_list_shows_only_the_users_establishments(world, client_for):
    response = client_for(world["users"]["a"]["contributor"]).get(LIST)
    assert names(response) == ["Triage A"]


@pytest.mark.parametrize(
    ("param", "value", "field", "matching"),
    [
        ("solution_type", "S4", "solution_type", "S4"),
        ("domain", "D2", "domain", "D2"),
        ("modality", "M2", "modality", "M2"),
        ("phase", "routine", "phase", "routine"),
        ("hosting", "outside_eu", "hosting", "outside_eu"),
        ("device_status", "mdr_iib", "device_status", "mdr_iib"),
        ("data_category", "health", "data_categories", ["health", "internal"]),
        ("data_source", "lab", "data_sources", ["ehr", "lab"]),
        ("hds_certified", "false", "hds_certified", False),
        ("gpai_based", "true", "gpai_based", True),
    ],
)
def test_each_categorical_filter(world, client_for, param, value, field, matching):
    est = world["a"]["est"]
    make_system(est, name="Cible", **{field: matching})
    response = client_for(world["users"]["a"]["auditor"]).get(LIST, {param: value})
    assert names(response) == ["Cible"]


def test_filters_by_service_vendor_and_establishment(world, client_for):
    a = world["a"]
    make_system(a["est"], name="Autre")
    client = client_for(world["users"]["a"]["referent"])
    assert names(client.get(LIST, {"service": a["service"].pk})) == ["Triage A"]
    assert names(client.get(LIST, {"vendor": a["vendor"].pk})) == ["Triage A"]
    assert names(client.get(LIST, {"establishment": a["est"].pk})) == ["Autre", "Triage A"]


def test_filter_on_another_establishment_is_refused_not_leaked(world, client_for):
    response = client_for(world["users"]["a"]["admin"]).get(
        LIST, {"establishment": world["b"]["est"].pk}
    )
    assert response.status_code == 200
    assert names(response) == []
    assert "Filtres invalides" in response.content.decode()


def test_garbage_parameters_never_break_the_page(world, client_for):
    client = client_for(world["users"]["a"]["admin"])
    for params in (
        {"phase": "n'importe quoi"},
        {"sort": "password"},
        {"page": "-3"},
        {"per_page": "x"},
        {"vendor": "abc"},
        {"q": "' OR 1=1 --"},
    ):
        assert client.get(LIST, params).status_code == 200, params
    assert client.get(LIST, {"q": "\x00"}).status_code == 400  # RejectNulMiddleware


def test_full_text_search_and_sort(world, client_for):
    est = world["a"]["est"]
    make_system(est, name="Prévision des lits", intended_purpose="Prévoir l'occupation des lits")
    make_system(est, name="Planning infirmier", gpai_model="occupation")
    client = client_for(world["users"]["a"]["admin"])
    assert names(client.get(LIST, {"q": "occupation"})) == [
        "Planning infirmier",
        "Prévision des lits",
    ]
    assert names(client.get(LIST, {"q": "lits prévoir"})) == ["Prévision des lits"]
    assert names(client.get(LIST, {"sort": "-name"}))[0] == "Triage A"
    assert names(client.get(LIST, {"sort": "name"}))[0] == "Planning infirmier"


def test_pagination(world, client_for):
    for i in range(30):
        make_system(world["a"]["est"], name=f"S{i:02d}")
    client = client_for(world["users"]["a"]["admin"])
    page2 = client.get(LIST, {"per_page": 25, "page": 2, "sort": "name"})
    assert page2.context["page"].paginator.count == 31
    assert names(page2) == ["S25", "S26", "S27", "S28", "S29", "Triage A"]


def test_list_query_count_does_not_grow_with_page_size(world, client_for):
    for i in range(120):
        make_system(world["a"]["est"], name=f"S{i:03d}", vendor=world["a"]["vendor"])
    client = client_for(world["users"]["a"]["admin"])
    counts = []
    for size in (25, 100):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST, {"per_page": size})
        assert len(response.context["page"].object_list) == size
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_create_through_the_form(world, client_for):
    a = world["a"]
    data = {
        **VALID,
        "establishment": a["est"].pk,
        "vendor": a["vendor"].pk,
        "services": [a["service"].pk],
    }
    response = client_for(world["users"]["a"]["contributor"]).post(
        reverse("registry:system_create"), data
    )
    assert response.status_code == 302
    system = AISystem.objects.get(name="Détection de fractures")
    assert system.data_categories == ["health"]
    assert system.hds_certified is True
    assert system.vigilance == 4
    assert list(system.services.all()) == [a["service"]]
    assert system.created_by.username == "contributor-a"
    page = client_for(world["users"]["a"]["contributor"]).get(system.get_absolute_url())
    body = page.content.decode()
    assert "Maximale" in body and "Acquisition d&#x27;une solution IA du marché" in body


def test_form_errors_are_in_french_and_store_nothing(world, client_for):
    a, b = world["a"], world["b"]
    data = {
        **VALID,
        "name": "",
        "establishment": a["est"].pk,
        "vendor": b["vendor"].pk,
        "services": [b["service"].pk],
        "gpai_based": "on",
        "data_sources": ["other"],
    }
    before = AISystem.objects.count()
    response = client_for(world["users"]["a"]["admin"]).post(
        reverse("registry:system_create"), data
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["name"] == ["Ce champ est obligatoire."]
    assert "vendor" in errors and "services" in errors  # B's records are not even choices
    assert errors["gpai_model"] == ["Précisez le modèle d'IA à usage général utilisé."]
    assert errors["data_sources_other"] == ["Précisez l'autre source de données."]
    assert AISystem.objects.count() == before


def test_cannot_create_in_another_establishment(world, client_for):
    data = {**VALID, "establishment": world["b"]["est"].pk}
    response = client_for(world["users"]["a"]["admin"]).post(
        reverse("registry:system_create"), data
    )
    assert response.status_code == 200
    assert "establishment" in response.context["form"].errors


@pytest.mark.parametrize(
    ("role", "view", "expected"),
    [
        ("auditor", "registry:system_edit", 403),
        ("contributor", "registry:system_edit", 403),
        ("committee", "registry:system_delete", 403),
        ("referent", "registry:system_edit", 200),
        ("admin", "registry:system_delete", 200),
    ],
)
def test_role_permissions_on_own_establishment(world, client_for, role, view, expected):
    client = client_for(world["users"]["a"][role])
    assert client.get(reverse(view, args=[world["a"]["system"].pk])).status_code == expected


def test_delete_and_versions(world, client_for):
    client = client_for(world["users"]["a"]["admin"])
    system = world["a"]["system"]
    url = reverse("registry:system_versions", args=[system.pk])
    response = client.post(
        url, {"version": "2.0", "released_on": "2026-10-01", "change_summary": "Seuil"}
    )
    assert response.status_code == 302
    assert list(system.versions.values_list("version", flat=True)) == ["2.0", "1.0"]
    duplicate = client.post(url, {"version": "2.0"})
    assert duplicate.context["form"].errors["version"]
    assert client.post(reverse("registry:system_delete", args=[system.pk])).status_code == 302
    assert not AISystem.objects.filter(pk=system.pk).exists()
    assert not AISystemVersion.objects.filter(ai_system_id=system.pk).exists()


def test_unit_menus_are_complete_when_short_and_narrowed_when_long(world, client_for):
    from garant.core.models import Membership, Service
    from garant.registry import views

    a, b = world["a"], world["b"]
    group_user = world["users"]["a"]["auditor"]
    Membership.objects.create(user=group_user, establishment=b["est"], role="auditor")
    client = client_for(group_user)
    menu = client.get(LIST).context["filterset"].form.fields["service"].widget.choices
    assert [label for _pk, label in menu] == [
        "---------",
        "CHU A — Urgences A",
        "CHU B — Urgences B",
    ]

    Service.objects.bulk_create(
        Service(establishment=a["est"], name=f"S{i:03d}") for i in range(views.MAX_MENU_OPTIONS)
    )
    response = client.get(LIST, {"service": b["service"].pk})
    form = response.context["filterset"].form
    assert [pk for pk, _label in form.fields["service"].widget.choices] == ["", b["service"].pk]
    assert "Choisissez d&#x27;abord un établissement." in response.content.decode()
    assert names(response) == ["Triage B"]  # the filter still works
    narrowed = client.get(LIST, {"establishment": b["est"].pk})
    menu = narrowed.context["filterset"].form.fields["service"].widget.choices
    assert [label for _pk, label in menu] == ["---------", "Urgences B"]
