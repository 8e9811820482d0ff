"""No input a client can send produces a server error: every page, every role, bad input."""

import pytest
from django.test import Client
from django.urls import reverse

from garant.core.models import Role
from garant.monitoring.models import AlertRule, Feed

GARBAGE_QUERY = {
    "q": "' OR 1=1 --" + "x" * 5000,
    "page": "-1",
    "per_page": "1e9",
    "sort": "__class__",
    "establishment": "99999999999999999999",
    "service": "abc",
    "vendor": "[]",
    "phase": "<script>",
    "data_category": "%",
    "date_from": "32/13/2026",
    "object_type": "x" * 300,
}

GARBAGE_POST = {
    "name": "x" * 10_000,
    "establishment": "-1",
    "vendor": "not-a-number",
    "services": ["1", "x", "99999999999999999999"],
    "solution_type": "S9",
    "data_categories": ["health", "\u200b"],
    "users_count": "-5",
    "patients_per_year": "9" * 40,
    "go_live": "2026-02-30",
    "ce_expiry": "demain",
    "hds_certified": "peut-être",
    "version": "",
    "released_on": "00/00/0000",
    "username": "\ufeff",
    "email": "pas-un-email",
    "role": "superadmin",
    "pole": "p" * 1000,
    "file": "pas un fichier",
    "token": "../../etc/passwd",
}


def pages(world) -> list[str]:
    a, b = world["a"], world["b"]
    user_b = world["users"]["b"]["referent"]
    names = [
        ("home", []),
        ("audit_list", []),
        ("establishment_list", []),
        ("establishment_detail", [a["est"].pk]),
        ("establishment_detail", [b["est"].pk]),
        ("password_change", []),
        ("registry:system_list", []),
        ("registry:system_create", []),
        ("registry:system_import", []),
        ("registry:vendor_list", []),
        ("registry:vendor_create", []),
        ("accounts:user_list", []),
        ("accounts:user_create", []),
        ("accounts:user_detail", [user_b.pk]),
        ("accounts:user_edit", [user_b.pk]),
        ("accounts:user_password_reset", [user_b.pk]),
    ]
    for system in (a["system"], b["system"]):
        for view in ("detail", "edit", "delete", "versions", "history"):
            names.append((f"registry:system_{view}", [system.pk]))
    for vendor in (a["vendor"], b["vendor"]):
        names += [("registry:vendor_detail", [vendor.pk]), ("registry:vendor_edit", [vendor.pk])]
    urls = [reverse(name, args=args) for name, args in names]
    urls += [
        reverse("registry:system_export", args=[fmt]) for fmt in ("csv", "xlsx", "json", "exe")
    ]
    urls.append(reverse("monitoring:overview"))
    feed = Feed.objects.create(
        ai_system=a["system"], name="Flux", slug="flux", operating_threshold=0.5
    )
    rule = AlertRule.objects.create(feed=feed, kind="auc_below", threshold=0.7)
    for view in ("edit", "activate", "deactivate", "delete"):  # delete last: it may succeed
        urls.append(reverse(f"monitoring:alert_rule_{view}", args=[rule.pk]))
    urls += ["/api/openapi.json", "/api/docs", "/n-existe-pas/", "/systemes/999999999/"]
    urls += ["/systemes/99999999999999999999/", "/api/systems/99999999999999999999"]
    # the public register (no sign-in) and the DPO's requests, with ids no database holds
    huge = "99999999999999999999"
    urls += [f"/registre-ia/etablissements/{huge}/", f"/registre-ia/groupements/{huge}/"]
    urls += [f"/registre-ia/etablissements/{huge}/registre.json", f"/patients/demandes/{huge}/"]
    return urls


@pytest.mark.parametrize("role", [*Role.values, "anonymous"])
def test_every_page_survives_garbage(world, role):
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world["users"]["a"][role])
    for url in pages(world):
        response = client.get(url, GARBAGE_QUERY)
        assert response.status_code < 500, ("GET", url, response.status_code)
        response = client.post(url, GARBAGE_POST)
        assert response.status_code < 500, ("POST", url, response.status_code)


def test_nul_characters_are_refused_with_a_clear_message(world, client_for):
    client = client_for(world["users"]["a"]["admin"])
    for url in (
        reverse("audit_list"),
        reverse("registry:system_list"),
        reverse("accounts:user_list"),
    ):
        response = client.get(url, {"q": "a\x00b"})
        assert response.status_code == 400
        assert "caractère nul" in response.content.decode()
    response = client.post(reverse("registry:system_create"), {"name": "\x00"})
    assert response.status_code == 400
    api = client.get("/api/systems", {"q": "a\x00b"})  # the API answers in JSON itself
    assert api.status_code == 422 and api.json()["detail"]
