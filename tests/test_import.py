"""Import of an inventory from CSV or XLSX: preview with every error, then all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse

from garant.core import audit
from garant.core.models import AuditEvent, Membership, Role, Service
from garant.registry.forms import AISystemForm
from garant.registry.imports import RowForms
from garant.registry.models import AISystem, Vendor
from tests.conftest import make_user

URL = reverse("registry:system_import")
SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "inventaire-exemple.csv"

HEADERS = [
    "Établissement (code)",
    "Nom",
    "Éditeur",
    "Finalité prévue",
    "Services",
    "Type de solution (S1–S6)",
    "Domaine (D1–D3)",
    "Modalité (M1–M2)",
    "Phase",
    "Hébergeur certifié HDS",
    "Catégories de données",
    "Date de mise en service",
    "Nombre d'utilisateurs",
]


def row(**values) -> dict:
    base = {
        "Établissement (code)": "chu-a",
        "Nom": "Aide au tri",
        "Éditeur": "Éditeur A",
        "Finalité prévue": "Priorisation des patients aux urgences",
        "Services": "Urgences A",
        "Type de solution (S1–S6)": "S1",
        "Domaine (D1–D3)": "D1",
        "Modalité (M1–M2)": "M1",
        "Phase": "poc",
        "Hébergeur certifié HDS": "oui",
        "Catégories de données": "health|personal",
        "Date de mise en service": "15/03/2025",
        "Nombre d'utilisateurs": "40",
    }
    base.update(values)
    return base


def write_csv(path: Path, rows: list[dict], headers=HEADERS, encoding="utf-8-sig", delimiter=";"):
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(headers)
        for r in rows:
            writer.writerow([r.get(h, "") for h in headers])
    return path


def upload(client, path: Path, **data):
    with path.open("rb") as f:
        return client.post(URL, {"file": f, **data})


def confirm(client, preview_response):
    return client.post(URL, {"token": preview_response.context["token"]})


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def admin_a(world):
    return world["users"]["a"][Role.ADMIN]


def pending_files(media) -> list[Path]:
    folder = Path(media) / "imports"
    return list(folder.iterdir()) if folder.exists() else []


# --- acceptance -----------------------------------------------------------------------------


def test_csv_with_one_bad_row_stores_nothing_and_reports_row_and_column(
    world, admin_a, client_for, tmp_path, media
):
    path = write_csv(
        tmp_path / "inventaire.csv",
        [row(Nom="Premier"), row(Nom="Deuxième", **{"Type de solution (S1–S6)": "S9"}), row()],
    )
    client = client_for(admin_a)  # logging in is itself an audit event
    systems, events = AISystem.objects.count(), AuditEvent.objects.count()

    response = upload(client, path)

    assert response.status_code == 200
    assert AISystem.objects.count() == systems
    assert AuditEvent.objects.count() == events
    assert pending_files(media) == []
    errors = response.context["preview"].errors
    assert len(errors) == 1
    error = errors[0]
    assert (error.row, error.column, error.value) == (3, "Type de solution (S1–S6)", "S9")
    assert str(error).startswith("Ligne 3, colonne « Type de solution (S1–S6) » : valeur inconnue")
    html = response.content.decode()
    assert "inventaire.csv" in html
    assert "rien n&#x27;a été importé" in html or "rien n'a été importé" in html
    assert "<td>3</td><td>Type de solution (S1–S6)</td><td>S9</td>" in html
    assert "Confirmer l&#x27;import" not in html


def test_a_valid_5000_row_csv_imports(world, admin_a, client_for, tmp_path, media):
    rows = [
        row(
            Nom=f"Système importé {i}",
            # a few new vendors shared by many rows, and the existing one
            Éditeur="Éditeur A" if i % 3 == 0 else f"Nouvel éditeur {i % 7}",
            Services="" if i % 2 else "Urgences A",
            **{"Date de mise en service": f"2025-01-{1 + i % 28:02d}"},
        )
        for i in range(5000)
    ]
    path = write_csv(tmp_path / "grand-inventaire.csv", rows)
    before = set(AISystem.objects.values_list("pk", flat=True))
    client = client_for(admin_a)

    started = time.perf_counter()
    preview = upload(client, path)
    assert preview.context["preview"].ok, preview.context["preview"].errors[:5]
    assert len(pending_files(media)) == 1
    response = confirm(client, preview)
    elapsed = time.perf_counter() - started
    print(f"\n5000-row CSV: preview + confirm in {elapsed:.1f} s")

    assert response.status_code == 302 and response.url == reverse("registry:system_list")
    created = AISystem.objects.exclude(pk__in=before)
    assert created.count() == 5000
    assert Vendor.objects.filter(establishment=world["a"]["est"]).count() == 1 + 7
    assert created.filter(services=world["a"]["service"]).count() == 2500
    assert created.filter(vendor=world["a"]["vendor"]).count() == 1667
    system = created.get(name="Système importé 4")
    assert system.go_live == dt.date(2025, 1, 5)
    assert system.data_categories == ["health", "personal"]
    assert system.hds_certified is True and system.users_count == 40
    assert system.created_by == admin_a

    imported = AuditEvent.objects.filter(source="import", action="create")
    system_events = imported.filter(object_type="registry.aisystem")
    assert set(system_events.values_list("object_id", flat=True)) == {
        str(pk) for pk in created.values_list("pk", flat=True)
    }
    assert system_events.filter(actor_id=admin_a.pk).count() == 5000
    assert imported.filter(object_type="registry.vendor").count() == 7
    event = system_events.get(object_id=str(system.pk))
    assert event.changes["services"] == [None, [world["a"]["service"].pk]]
    assert event.changes["name"] == [None, "Système importé 4"]
    summary = AuditEvent.objects.get(object_type="registry.import")
    assert summary.changes["systems"] == [None, 5000]
    assert summary.changes["file"] == [None, "grand-inventaire.csv"]
    assert audit.verify().ok
    assert pending_files(media) == []


def test_xlsx_import_works_the_same(world, admin_a, client_for, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(
        [
            "chu-a",
            "Lecture de mammographies",
            "Éditeur A",
            "Dépistage du cancer du sein",
            "Urgences A",
            "S1",
            "Domaine médical & soins",  # a label instead of the code
            "M1",
            "Routine",
            True,
            "Sensible / santé",
            dt.datetime(2024, 11, 2),  # a real date cell
            12,
        ]
    )
    sheet.append([None] * len(HEADERS))  # an empty row is skipped
    sheet.append(["chu-a", "Second", "", "Finalité", "", "S2", "D3", "M2", "", "non", "", "", ""])
    path = tmp_path / "inventaire.xlsx"
    workbook.save(path)
    client = client_for(admin_a)

    preview = upload(client, path)
    assert preview.context["preview"].ok, preview.context["preview"].errors
    assert [r["row"] for r in preview.context["preview"].sample()] == [2, 4]
    confirm(client, preview)

    system = AISystem.objects.get(name="Lecture de mammographies")
    assert system.domain == "D1" and system.phase == "routine"
    assert system.go_live == dt.date(2024, 11, 2)
    assert system.hds_certified is True and system.users_count == 12
    assert system.data_categories == ["health"]
    assert list(system.services.all()) == [world["a"]["service"]]
    second = AISystem.objects.get(name="Second")
    assert second.vendor is None and second.phase == "idea" and second.hds_certified is False


def test_xlsx_with_a_bad_row_reports_it(world, admin_a, client_for, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append([row()[h] for h in HEADERS])
    sheet.append([row(**{"Date de mise en service": "31/02/2025"})[h] for h in HEADERS])
    path = tmp_path / "classeur.xlsx"
    workbook.save(path)
    count = AISystem.objects.count()

    response = upload(client_for(admin_a), path)

    [error] = response.context["preview"].errors
    assert (error.row, error.column) == (3, "Date de mise en service")
    assert "date invalide" in error.reason
    assert AISystem.objects.count() == count


# --- rows: every error, named ---------------------------------------------------------------


def test_every_error_is_listed_with_a_french_reason(world, admin_a, client_for, tmp_path):
    rows = [
        row(Nom=""),  # required, from the form
        row(**{"Nombre d'utilisateurs": "beaucoup"}),  # from the form
        row(Services="Urgences A|Cardiologie"),  # unknown service
        row(**{"Hébergeur certifié HDS": "peut-être"}),
        row(**{"Catégories de données": "health|secret"}),
        row(**{"Établissement (code)": "chu-b"}),  # another establishment
        row(**{"Établissement (code)": "inconnu"}),
        row(Nom="x" * 201),
    ]
    path = write_csv(tmp_path / "erreurs.csv", rows)

    response = upload(client_for(admin_a), path)

    found = [(e.row, e.column, e.reason) for e in response.context["preview"].errors]
    assert found == [
        (2, "Nom", "Ce champ est obligatoire."),
        (3, "Nombre d'utilisateurs", "Saisissez un nombre entier."),
        (4, "Services", "service inconnu dans l'établissement « chu-a » : Cardiologie"),
        (5, "Hébergeur certifié HDS", "répondre « oui » ou « non »"),
        (
            6,
            "Catégories de données",
            "valeur inconnue « secret » ; valeurs possibles : public, internal, personal, health",
        ),
        (
            7,
            "Établissement (code)",
            "établissement inconnu, ou vous n'avez pas le droit d'y importer",
        ),
        (
            8,
            "Établissement (code)",
            "établissement inconnu, ou vous n'avez pas le droit d'y importer",
        ),
        (
            9,
            "Nom",
            "Assurez-vous que cette valeur comporte au plus 200 caractères (actuellement 201).",
        ),
    ]
    assert not AISystem.objects.filter(name="Aide au tri").exists()


def test_cross_field_rules_of_the_form_apply(world, admin_a, client_for, tmp_path):
    headers = [*HEADERS, "Repose sur un modèle d'IA à usage général"]
    path = write_csv(
        tmp_path / "gpai.csv",
        [row(**{"Repose sur un modèle d'IA à usage général": "oui"})],
        headers,
    )

    response = upload(client_for(admin_a), path)

    [error] = response.context["preview"].errors
    assert (error.row, error.column) == (2, "Modèle d'IA à usage général")
    assert error.reason == "Précisez le modèle d'IA à usage général utilisé."


def test_a_missing_vendor_is_shown_as_to_be_created_then_created(
    world, admin_a, client_for, tmp_path
):
    path = write_csv(
        tmp_path / "v.csv", [row(Éditeur="Nouvel Éditeur"), row(Éditeur="nouvel éditeur")]
    )
    client = client_for(admin_a)

    preview = upload(client, path)

    assert "sera créé" in preview.content.decode()
    assert preview.context["preview"].vendors_to_create() == [(world["a"]["est"], "Nouvel Éditeur")]
    assert not Vendor.objects.filter(name="Nouvel Éditeur").exists()
    confirm(client, preview)
    vendor = Vendor.objects.get(name="Nouvel Éditeur", establishment=world["a"]["est"])
    assert vendor.ai_systems.count() == 2
    assert AuditEvent.objects.filter(
        object_type="registry.vendor", object_id=str(vendor.pk), source="import"
    ).exists()


def test_default_establishment_for_a_user_of_several(world, client_for, tmp_path):
    user = world["users"]["a"][Role.ADMIN]
    Membership.objects.create(user=user, establishment=world["b"]["est"], role=Role.REFERENT)
    headers = [h for h in HEADERS if h not in ("Établissement (code)", "Services", "Éditeur")]
    path = write_csv(tmp_path / "sans-etablissement.csv", [row(Nom="Pour B")], headers)
    client = client_for(user)

    page = client.get(URL)
    assert "Établissement par défaut" in page.content.decode()
    missing = upload(client, path)
    [error] = missing.context["preview"].errors
    assert (error.column, error.reason) == ("Établissement (code)", "Ce champ est obligatoire.")

    preview = upload(client, path, establishment=world["b"]["est"].pk)
    confirm(client, preview)
    assert AISystem.objects.get(name="Pour B").establishment == world["b"]["est"]


# --- permissions and the pending file -------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.DPO, Role.AUDITOR, Role.COMMITTEE])
def test_import_needs_the_import_permission(world, client_for, role):
    assert client_for(world["users"]["a"][role]).get(URL).status_code == 403


def test_the_confirmation_is_bound_to_the_user_who_previewed(world, admin_a, client_for, tmp_path):
    path = write_csv(tmp_path / "inventaire.csv", [row()])
    preview = upload(client_for(admin_a), path)
    token = preview.context["token"]
    other = client_for(world["users"]["a"][Role.REFERENT])
    count = AISystem.objects.count()

    for bad in (token, "../../settings", "x" * 500):
        response = other.post(URL, {"token": bad})
        assert response.status_code == 302
    assert AISystem.objects.count() == count


def test_confirmation_checks_again(world, admin_a, client_for, tmp_path):
    cardio = Service.objects.create(establishment=world["a"]["est"], name="Cardiologie")
    path = write_csv(tmp_path / "inventaire.csv", [row(Services="Cardiologie")])
    client = client_for(admin_a)
    preview = upload(client, path)
    assert preview.context["preview"].ok
    cardio.delete()
    count = AISystem.objects.count()

    response = confirm(client, preview)

    assert response.status_code == 200
    [error] = response.context["preview"].errors
    assert error.column == "Services"
    assert AISystem.objects.count() == count
    assert confirm(client, preview).status_code == 302  # the token is spent


def test_the_sample_file_is_offered_and_imports(world, admin_a, client_for, tmp_path):
    client = client_for(admin_a)
    page = client.get(URL)
    link = reverse("registry:system_import_template")
    assert link in page.content.decode()
    download = client.get(link)
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert content == SAMPLE.read_bytes() and content.startswith(b"\xef\xbb\xbf")
    path = tmp_path / "modele.csv"
    path.write_bytes(content)

    preview = upload(client, path)
    assert preview.context["preview"].ok, preview.context["preview"].errors
    done = client.post(URL, {"token": preview.context["token"]}, follow=True)
    assert "4 systèmes importés depuis « modele.csv »." in done.content.decode()
    assert AISystem.objects.filter(establishment=world["a"]["est"]).count() == 1 + 4


def test_windows_1252_with_commas(world, admin_a, client_for, tmp_path):
    path = write_csv(
        tmp_path / "excel-ancien.csv",
        [row(Nom="Réanimation prédictive")],
        encoding="cp1252",
        delimiter=",",
    )
    client = client_for(admin_a)
    preview = upload(client, path)
    assert preview.context["preview"].ok, preview.context["preview"].errors
    confirm(client, preview)
    assert AISystem.objects.filter(name="Réanimation prédictive").exists()


def test_headers_are_matched_leniently(world, admin_a, client_for, tmp_path):
    headers = ["nom", "FINALITE PREVUE", "Type de solution", "domaine", "Modalité (M1-M2)"]
    path = tmp_path / "souple.csv"
    path.write_text("\n".join([";".join(headers), "Souple;Finalité;S1;D1;M1"]), encoding="utf-8")
    client = client_for(admin_a)
    preview = upload(client, path)
    assert preview.context["preview"].ok, preview.context["preview"].errors


# --- files that cannot be imported ----------------------------------------------------------


def _csv_text(headers, *lines) -> bytes:
    return "\n".join([";".join(headers), *lines]).encode()


REQUIRED = [
    "Nom",
    "Finalité prévue",
    "Type de solution (S1–S6)",
    "Domaine (D1–D3)",
    "Modalité (M1–M2)",
]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("vide.csv", b"", "Le fichier est vide."),
        ("blancs.csv", b"\n ;; \n", "Le fichier est vide."),
        ("binaire.csv", bytes(range(256)) * 40, "Encodage illisible"),
        ("ancien.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 600, "ancien format Excel"),
        ("faux.xlsx", b"Nom;Finalit\xc3\xa9\n", "pas un classeur XLSX valide"),
        ("zip.xlsx", b"PK\x03\x04" + b"\x00" * 100, "pas un classeur XLSX valide"),
        ("image.png", b"\x89PNG\r\n", "Seuls les fichiers CSV et XLSX"),
        ("entetes.csv", _csv_text(REQUIRED), "aucune ligne de données"),
        (
            "inconnue.csv",
            _csv_text([*REQUIRED, "Couleur"], "a;b;S1;D1;M1;bleu"),
            "Colonne F : en-tête inconnu « Couleur ».",
        ),
        (
            "manquante.csv",
            _csv_text(REQUIRED[:-1], "a;b;S1;D1"),
            "Colonnes obligatoires absentes : « Modalité (M1–M2) ».",
        ),
        (
            "double.csv",
            _csv_text([*REQUIRED, "nom"], "a;b;S1;D1;M1;c"),
            "La colonne « Nom » apparaît deux fois (colonnes A et F).",
        ),
        (
            "guillemets.csv",
            _csv_text(REQUIRED, 'a;"' + "x" * 200_000 + '";S1;D1;M1'),
            "Ligne 2 illisible",
        ),
        (
            "trop-long.csv",
            _csv_text(REQUIRED, *["a;b;S1;D1;M1"] * 20_001),
            "plus de 20\u202f000 lignes",
        ),
    ],
)
def test_files_that_cannot_be_imported_are_named_and_explained(
    world, admin_a, client_for, tmp_path, name, content, expected
):
    path = tmp_path / name
    path.write_bytes(content)
    client = client_for(admin_a)
    count, events = AISystem.objects.count(), AuditEvent.objects.count()

    response = upload(client, path)

    assert response.status_code == 200
    html = response.content.decode()
    assert f"Le fichier « {name} » ne peut pas être importé" in html
    assert expected in " ".join(response.context["problem"].problems)
    assert AISystem.objects.count() == count
    assert AuditEvent.objects.count() == events


def test_garbage_in_cells_never_breaks_the_page(world, admin_a, client_for, tmp_path):
    rows = [
        row(Nom='=HYPERLINK("http://exemple.invalid")'),  # kept as text, neutralised on export
        row(Nom="\x0b\x01 contrôle"),
        row(**{"Finalité prévue": "y" * 20_000}),
        row(**{"Nombre d'utilisateurs": "1e9999"}),
        row(**{"Date de mise en service": "99/99/9999"}),
        row(**{"Nombre d'utilisateurs": str(10**30)}),
    ]
    headers = [*HEADERS, ""]  # an empty header cell
    path = write_csv(tmp_path / "bizarre.csv", rows, headers)
    with path.open("a", encoding="utf-8") as f:
        f.write(";".join(row().values()) + ";valeur sans en-tête;en trop\n")

    response = upload(client_for(admin_a), path)

    assert response.status_code == 200
    found = {(e.row, e.column) for e in response.context["preview"].errors}
    assert (4, "Finalité prévue") in found
    assert (5, "Nombre d'utilisateurs") in found
    assert (6, "Date de mise en service") in found
    assert (7, "Nombre d'utilisateurs") in found
    assert (8, "colonne N (sans en-tête)") in found
    assert (8, "colonne O (sans en-tête)") in found
    assert not any(r in (2, 3) for r, _ in found)


def test_a_user_without_import_rights_elsewhere_keeps_own_rows_only(world, client_for, tmp_path):
    referent = make_user("referent-ab", world["a"]["est"], Role.REFERENT)
    Membership.objects.create(user=referent, establishment=world["b"]["est"], role=Role.AUDITOR)
    path = write_csv(tmp_path / "mixte.csv", [row(), row(**{"Établissement (code)": "chu-b"})])

    response = upload(client_for(referent), path)

    [error] = response.context["preview"].errors
    assert (error.row, error.column) == (3, "Établissement (code)")


def test_row_forms_check_exactly_what_a_fresh_form_checks(world, admin_a):
    a, b = world["a"], world["b"]
    base = {
        "establishment": a["est"].pk,
        "name": "Système",
        "intended_purpose": "Finalité",
        "solution_type": "S1",
        "domain": "D1",
        "modality": "M1",
        "phase": "idea",
        "device_status": "unknown",
    }
    cases = [
        {},
        {"vendor": a["vendor"].pk, "services": [a["service"].pk], "data_categories": ["health"]},
        {"vendor": b["vendor"].pk},  # another establishment's vendor
        {"services": [a["service"].pk, b["service"].pk]},
        {"establishment": b["est"].pk},
        {"establishment": 999_999, "vendor": 999_999, "services": [999_999]},
        {"gpai_based": "true"},
        {"device_status": "not_device", "ce_certificate": "CE-1"},
        {"solution_type": "S9", "data_categories": ["secret"], "go_live": "2025-02-30"},
        {"users_count": "-3", "hds_certified": "peut-être"},
    ]
    forms = RowForms(admin_a)
    for _ in range(2):  # the second pass answers from memory
        for case in cases:
            data = {**base, **case}
            fresh, row_form = AISystemForm(data=data, user=admin_a), forms.bind(data)
            assert row_form.is_valid() == fresh.is_valid(), case
            assert row_form.errors == fresh.errors, case
            if fresh.is_valid():
                for name in ("establishment", "vendor", "name", "data_categories"):
                    assert row_form.cleaned_data[name] == fresh.cleaned_data[name]
                assert list(row_form.cleaned_data["services"]) == list(
                    fresh.cleaned_data["services"]
                )
                assert row_form.instance is not fresh.instance and row_form.instance.pk is None


def test_the_import_page_explains_the_columns(world, admin_a, client_for):
    html = client_for(admin_a).get(URL).content.decode()
    assert "Type de solution (S1–S6)" in html and "S1 (Acquisition" in html
    assert 'type="file"' in html
    assert "Établissement par défaut" not in html  # a single establishment: no choice to make


def test_names_already_in_the_register_or_repeated_are_flagged(
    world, admin_a, client_for, tmp_path
):
    # "Triage A" exists in A's register (fixture); "Doublon" appears twice in the file
    path = write_csv(
        tmp_path / "d.csv",
        [row(Nom="triage a"), row(Nom="Doublon"), row(Nom="Unique"), row(Nom="Doublon")],
    )
    client = client_for(admin_a)
    preview = upload(client, path)
    duplicates = preview.context["preview"].possible_duplicates()
    assert [(d["row"], d["name"], d["first_row"]) for d in duplicates] == [
        (2, "triage a", None),
        (5, "Doublon", 3),
    ]
    body = preview.content.decode()
    assert "déjà dans la cartographie" in body and "déjà à la ligne 3 du fichier" in body
    confirm(client, preview)  # a warning, not an error: the rows are still importable
    assert AISystem.objects.filter(name="Doublon").count() == 2
