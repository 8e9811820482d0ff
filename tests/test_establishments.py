"""Establishment pages and the management of their services."""

from django.urls import reverse

from garant.core.models import AuditEvent, Service


def test_list_shows_only_own_establishments(world, client_for):
    response = client_for(world["users"]["a"]["auditor"]).get(reverse("establishment_list"))
    body = response.content.decode()
    assert "CHU A" in body and "CHU B" not in body


def test_admin_adds_a_service_and_it_is_audited(world, client_for):
    est = world["a"]["est"]
    url = reverse("establishment_detail", args=[est.pk])
    response = client_for(world["users"]["a"]["admin"]).post(
        url, {"pole": "Pôle femme-enfant", "name": "Maternité"}
    )
    assert response.status_code == 302
    service = Service.objects.get(establishment=est, name="Maternité")
    event = AuditEvent.objects.get(object_type="core.service", object_id=str(service.pk))
    assert event.actor_name == "admin-a" and event.establishment_id == est.pk
    duplicate = client_for(world["users"]["a"]["admin"]).post(url, {"name": "maternité"})
    assert duplicate.context["form"].errors["name"] == [
        "Un service de ce nom existe déjà dans cet établissement."
    ]


def test_non_admins_cannot_add_a_service(world, client_for):
    url = reverse("establishment_detail", args=[world["a"]["est"].pk])
    assert client_for(world["users"]["a"]["referent"]).post(url, {"name": "X"}).status_code == 403


def test_service_in_use_is_not_deleted(world, client_for):
    service = world["a"]["service"]
    client = client_for(world["users"]["a"]["admin"])
    client.post(reverse("service_delete", args=[service.pk]))
    assert Service.objects.filter(pk=service.pk).exists()
    world["a"]["system"].services.clear()
    client.post(reverse("service_delete", args=[service.pk]))
    assert not Service.objects.filter(pk=service.pk).exists()
    foreign = world["b"]["service"]
    assert client.post(reverse("service_delete", args=[foreign.pk])).status_code == 404
