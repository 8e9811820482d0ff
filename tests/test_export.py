"""Export of the filtered register to CSV, XLSX and JSON, and the round trip to the import."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.registry.models import AISystem
from tests.conftest import make_system


def export_url(fmt: str) -> str:
    return reverse("registry:system_export", args=[fmt])


def read_csv(response) -> list[list[str]]:
    content = response.content
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def read_xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(response.content)).active


@pytest.fixture
def register(world):
    """Establishment A holds "Triage A" (from `world`) and a detailed system; B its own."""
    with audit_context(source="test"):
        detailed = make_system(
            world["a"]["est"],
            name="Lecture de radiographies",
            vendor=world["a"]["vendor"],
            services=[world["a"]["service"]],
            solution_type="S2",
            domain="D1",
            modality="M2",
            phase="routine",
            hosting="cloud_fr",
            hds_certified=True,
            data_categories=["health", "personal"],
            data_sources=["pacs"],
            device_status="mdr_iia",
            ce_expiry=dt.date(2027, 12, 31),
            gpai_based=False,
            users_count=40,
            go_live=dt.date(2025, 3, 15),
            use_case="=1+1 n'est pas une formule",
        )
        make_system(world["b"]["est"], name="Secret de B")
    return detailed


@pytest.fixture
def user_a(world):
    return world["users"]["a"][Role.CONTRIBUTOR]


def test_csv_is_what_french_excel_expects(register, user_a, client_for):
    response = client_for(user_a).get(export_url("csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="cartographie-sia-')
    header, *rows = read_csv(response)
    assert header[:3] == ["Établissement (code)", "Nom", "Éditeur"]
    assert "Type de solution (S1–S6)" in header and "Catégories de données" in header
    record = dict(
        zip(header, next(r for r in rows if r[1] == "Lecture de radiographies"), strict=True)
    )
    assert record["Établissement (code)"] == "chu-a"
    assert record["Éditeur"] == "Éditeur A"
    assert record["Services"] == "Urgences A"
    assert record["Type de solution (S1–S6)"] == "S2"
    assert record["Catégories de données"] == "health|personal"
    assert record["Hébergeur certifié HDS"] == "oui"
    assert record["Repose sur un modèle d'IA à usage général"] == "non"
    assert record["Date de mise en service"] == "15/03/2025"
    assert record["Expiration du certificat CE"] == "31/12/2027"
    assert record["Nombre d'utilisateurs"] == "40"
    assert record["Patients concernés par an"] == ""
    assert record["Cas d'usage"] == "'=1+1 n'est pas une formule"


def test_xlsx_has_date_cells_and_a_bold_frozen_header(register, user_a, client_for):
    response = client_for(user_a).get(export_url("xlsx"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = read_xlsx(response)
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert all(c.font.b for c in sheet[1])
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "Lecture de radiographies")
    cells = dict(zip(header, row, strict=True))
    go_live = cells["Date de mise en service"]
    assert go_live.is_date and go_live.value.date() == dt.date(2025, 3, 15)
    assert go_live.number_format == "DD/MM/YYYY"
    assert cells["Nombre d'utilisateurs"].value == 40
    assert cells["Hébergeur certifié HDS"].value == "oui"
    assert cells["Cas d'usage"].value == "'=1+1 n'est pas une formule"
    assert cells["Cas d'usage"].data_type == "s"  # text, never a formula


def test_json_has_iso_dates_codes_and_french_labels(register, user_a, client_for):
    response = client_for(user_a).get(export_url("json"))

    assert response.status_code == 200
    payload = json.loads(response.content)
    assert payload["count"] == 2 and payload["taxonomy_version"] == "2026.1"
    system = next(s for s in payload["systems"] if s["name"] == "Lecture de radiographies")
    assert system["id"] == register.pk
    assert system["go_live"] == "2025-03-15"
    assert system["solution_type"] == {
        "code": "S2",
        "label": "Construction d'un algorithme IA sur mesure",
    }
    assert system["data_categories"] == [
        {"code": "health", "label": "Sensible / santé"},
        {"code": "personal", "label": "Personnelle"},
    ]
    assert system["establishment"] == {"code": "chu-a", "name": "CHU A"}
    assert system["vendor"] == "Éditeur A" and system["services"] == ["Urgences A"]
    assert system["hds_certified"] is True and system["users_count"] == 40
    assert system["hosting"] == {"code": "cloud_fr", "label": "Cloud en France"}
    assert system["use_case"] == "=1+1 n'est pas une formule"  # data, not a spreadsheet cell


def test_english_interface_exports_the_same_french_file(register, user_a, client_for):
    client = client_for(user_a)
    client.post(reverse("set_language"), {"language": "en"})
    system = next(
        s
        for s in json.loads(client.get(export_url("json")).content)["systems"]
        if s["id"] == register.pk
    )
    assert system["phase"] == {"code": "routine", "label": "Routine"}
    assert read_csv(client.get(export_url("csv")))[0][1] == "Nom"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_follows_the_list_filters(register, user_a, client_for, fmt):
    client = client_for(user_a)
    response = client.get(export_url(fmt), {"solution_type": "S2", "sort": "-name"})
    assert names(fmt, response) == ["Lecture de radiographies"]
    response = client.get(export_url(fmt), {"q": "triage"})
    assert names(fmt, response) == ["Triage A"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_a_user_of_a_never_gets_rows_of_b(register, world, user_a, client_for, fmt):
    client = client_for(user_a)
    assert sorted(names(fmt, client.get(export_url(fmt)))) == [
        "Lecture de radiographies",
        "Triage A",
    ]
    forced = client.get(export_url(fmt), {"establishment": world["b"]["est"].pk})
    assert names(fmt, forced) == []
    other = client_for(world["users"]["b"][Role.AUDITOR])
    assert sorted(names(fmt, other.get(export_url(fmt)))) == ["Secret de B", "Triage B"]


def names(fmt: str, response) -> list[str]:
    assert response.status_code == 200
    if fmt == "csv":
        return [r[1] for r in read_csv(response)[1:]]
    if fmt == "xlsx":
        return [r[1] for r in read_xlsx(response).iter_rows(min_row=2, values_only=True)]
    return [s["name"] for s in json.loads(response.content)["systems"]]


def test_unknown_format_is_404_and_login_is_required(register, user_a, client_for):
    assert client_for(user_a).get(export_url("pdf")).status_code == 404
    response = Client().get(export_url("csv"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_formula_like_text_is_neutralised(world, user_a, client_for):
    with audit_context(source="test"):
        for name in ("=cmd|' /C calc'!A0", "+33 1 23", "-2", "@SUM(A1)"):
            make_system(world["a"]["est"], name=name, product="\tonglet")
    client = client_for(user_a)
    csv_rows = read_csv(client.get(export_url("csv")))[1:]
    sheet = read_xlsx(client.get(export_url("xlsx")))
    for exported in (csv_rows, list(sheet.iter_rows(min_row=2, values_only=True))):
        exported_names = sorted(r[1] for r in exported if r[1] != "Triage A")
        assert exported_names == ["'+33 1 23", "'-2", "'=cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert all(c.data_type == "s" for c in sheet["B"])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_file_imports_again(register, world, client_for, tmp_path, settings, fmt):
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = world["users"]["a"][Role.ADMIN]
    client = client_for(admin)
    exported = client.get(export_url(fmt))
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(exported.content)
    originals = list(AISystem.objects.filter(establishment=world["a"]["est"]))

    with path.open("rb") as f:
        preview = client.post(reverse("registry:system_import"), {"file": f})
    assert preview.context["preview"].ok, preview.context["preview"].errors
    assert preview.context["preview"].vendors_to_create() == []
    client.post(reverse("registry:system_import"), {"token": preview.context["token"]})

    for original in originals:
        copy = AISystem.objects.exclude(pk=original.pk).get(name=original.name)
        for field in (
            "vendor_id",
            "solution_type",
            "domain",
            "modality",
            "phase",
            "hosting",
            "hds_certified",
            "data_categories",
            "data_sources",
            "device_status",
            "ce_expiry",
            "gpai_based",
            "users_count",
            "go_live",
            "use_case",
            "intended_purpose",
            "establishment_id",
        ):
            assert getattr(copy, field) == getattr(original, field), field
        assert list(copy.services.all()) == list(original.services.all())
