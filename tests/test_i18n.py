"""The English translation: chosen with the language switch only, complete and compiled.

French is the source language (docs/decisions/0001-french-source-strings.md). English is
shown only after the user picks it in the header; a browser asking for English does not get
it. The catalogue garant/locale/en/LC_MESSAGES/django.po must translate every string, and the
committed django.mo must match it (a fresh machine has no gettext tools to compile it).
"""

from __future__ import annotations

import ast
import datetime as dt
import gettext
import html
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import formats, translation

import garant
from garant.registry.models import AISystem

LOCALE = Path(garant.__file__).resolve().parent / "locale"
PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


# --- a small .po reader (no dependency) -----------------------------------------------------


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr {index: text}, flags, obsolete."""
    entries: list[dict] = []
    entry: dict | None = None
    target: tuple | None = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry is not None and (entry["msgid"] or entry["msgstr"]):
                entries.append(entry)
            entry, target = None, None
            continue
        if entry is None:
            entry = {"msgid": "", "msgid_plural": None, "msgstr": {}, "flags": set()}
            entry["obsolete"] = False
        if line.startswith("#~"):
            entry["obsolete"] = True
            line = line[2:].strip()
        if line.startswith("#,"):
            entry["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "msgid":
            target = ("msgid",)
            entry["msgid"] = ast.literal_eval(rest)
        elif keyword == "msgid_plural":
            target = ("msgid_plural",)
            entry["msgid_plural"] = ast.literal_eval(rest)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            target = ("msgstr", index)
            entry["msgstr"][index] = ast.literal_eval(rest)
        elif line.startswith('"') and target is not None:
            text = ast.literal_eval(line)
            if target[0] == "msgstr":
                entry["msgstr"][target[1]] += text
            else:
                entry[target[0]] += text
        else:
            raise AssertionError(f"{path}: unexpected line {raw!r}")
    return entries


def messages(path: Path) -> list[dict]:
    """The translatable entries (not the header, not obsolete ones)."""
    return [e for e in read_po(path) if e["msgid"] and not e["obsolete"]]


# --- helpers --------------------------------------------------------------------------------


def in_english(client: Client) -> Client:
    response = client.post(reverse("set_language"), {"language": "en"})
    assert response.status_code == 302
    return client


def text_of(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def assert_english(body: str, english: list[str], french: list[str]) -> None:
    missing = [s for s in english if s not in body]
    left = [s for s in french if s in body]
    assert not missing, f"English strings missing: {missing}"
    assert not left, f"French strings left: {left}"


@pytest.fixture
def admin_a(world):
    return world["users"]["a"]["admin"]


@pytest.fixture
def english_admin(admin_a, client_for):
    return in_english(client_for(admin_a))


# --- pages in English -----------------------------------------------------------------------


def test_home_page_in_english(english_admin):
    body = text_of(english_admin.get(reverse("home")))
    assert 'lang="en"' in body
    assert_english(
        body,
        [
            "Hello",
            "Declare an AI system",
            "View the register",
            "Import an inventory",
            "Register",
            "Vendors",
            "Audit trail",
            "Sign out",
            "By solution type",
            "Administrator",  # role label
            "Acquisition of a market AI solution",  # taxonomy label
            "Français",  # the switch back
        ],
        [
            "Bonjour",
            "Déclarer un système d'IA",
            "Voir la cartographie",
            "Cartographie",
            "Journal d'audit",
            "Se déconnecter",
            "Par type de solution",
            "Administrateur",
            "Acquisition d'une solution IA du marché",
        ],
    )


def test_register_list_in_english_with_dates_dd_mm_yyyy(world, english_admin):
    AISystem.objects.filter(pk=world["a"]["system"].pk).update(go_live=dt.date(2026, 3, 14))
    body = text_of(english_admin.get(reverse("registry:system_list")))
    assert_english(
        body,
        [
            "Register of AI systems",
            "Declare a system",
            "Filter the register",
            "Device status",
            "Go-live",
            "system(s)",
            "Idea",  # phase label of the taxonomy
            "14/03/2026",
        ],
        [
            "Cartographie des systèmes d'IA",
            "Déclarer un système",
            "Filtrer la cartographie",
            "Mise en service",
            "système(s)",
            "Idée",
            "03/14/2026",
            "March 14",
        ],
    )


def test_system_page_in_english(world, english_admin):
    system = world["a"]["system"]
    AISystem.objects.filter(pk=system.pk).update(ce_expiry=dt.date(2027, 1, 31))
    body = text_of(english_admin.get(system.get_absolute_url()))
    assert_english(
        body,
        ["Identification and use", "Intended purpose", "Overview", "History", "31/01/2027"],
        ["Identification et usage", "Finalité prévue", "Historique", "Fiche"],
    )


def test_system_form_in_english(english_admin):
    body = text_of(english_admin.get(reverse("registry:system_create")))
    assert_english(
        body,
        [
            "Declare an AI system",
            "Fields marked * are required",
            "Intended purpose",
            "Solution type",
            "Data and hosting",
            "General-purpose AI model",
            "Don't know",
            "Save",
            "Cancel",
            "Acquisition of a market AI solution",
        ],
        [
            "Déclarer un système d'IA",
            "Les champs marqués",
            "Finalité prévue",
            "Données et hébergement",
            "Ne sait pas",
            "Enregistrer",
            "Annuler",
            "Acquisition d'une solution IA du marché",
        ],
    )


def test_our_own_validation_messages_in_english(world, english_admin):
    a = world["a"]
    data = {
        "establishment": a["est"].pk,
        "name": "",
        "intended_purpose": "Detect fractures",
        "solution_type": "S1",
        "domain": "D1",
        "modality": "M1",
        "phase": "idea",
        "device_status": "unknown",
        "gpai_based": "on",
    }
    before = AISystem.objects.count()
    response = english_admin.post(reverse("registry:system_create"), data)
    errors = response.context["form"].errors
    assert errors["gpai_model"] == ["Specify the general-purpose AI model used."]
    assert errors["name"] == ["This field is required."]
    assert_english(
        text_of(response),
        ["The record was not saved:", "Specify the general-purpose AI model used."],
        ["La fiche n'a pas été enregistrée", "Précisez le modèle d'IA à usage général"],
    )
    assert AISystem.objects.count() == before


def test_audit_page_in_english(english_admin):
    body = text_of(english_admin.get(reverse("audit_list")))
    assert_english(
        body,
        ["Audit trail", "Record type", "From (dd/mm/yyyy)", "Changes", "creation"],
        ["Journal d'audit", "Type d'objet", "Du (jj/mm/aaaa)", "Changements", "création"],
    )


def test_login_page_in_english(db):
    client = in_english(Client())
    body = text_of(client.get(reverse("login")))
    assert_english(
        body,
        ["Sign in to Garant", "Sign in", "Forgotten your password?", "Username", "Password"],
        [
            "Connexion à Garant",
            "Se connecter",
            "Mot de passe oublié",
            "Nom d'utilisateur",
            "Mot de passe",
        ],
    )


def test_dates_stay_dd_mm_yyyy_in_english():
    day = dt.date(2026, 3, 14)
    with translation.override("en"):
        assert formats.date_format(day) == "14/03/2026"
        assert formats.date_format(day, "SHORT_DATE_FORMAT") == "14/03/2026"


# --- French unless English is chosen --------------------------------------------------------


def test_a_browser_asking_for_english_still_gets_french(world, admin_a, client_for):
    client = client_for(admin_a)
    body = text_of(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert 'lang="fr"' in body
    assert "Déclarer un système d'IA" in body and "Declare an AI system" not in body
    login = text_of(Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US"))
    assert "Connexion à Garant" in login and "Sign in to Garant" not in login


def test_switching_back_to_french(english_admin):
    english_admin.post(reverse("set_language"), {"language": "fr"})
    body = text_of(english_admin.get(reverse("home")))
    assert "Déclarer un système d'IA" in body and "Declare an AI system" not in body


# --- the catalogue --------------------------------------------------------------------------


def test_po_header():
    header = next(e for e in read_po(PO) if not e["msgid"])
    text = header["msgstr"][0]
    assert "Language: en\n" in text
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in text
    assert "charset=UTF-8" in text
    assert "fuzzy" not in header["flags"]


def test_po_is_complete():
    entries = messages(PO)
    assert len(entries) > 400
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    empty = [e["msgid"] for e in entries if not all(e["msgstr"].values()) or not e["msgstr"]]
    plural = [e["msgid"] for e in entries if e["msgid_plural"] and sorted(e["msgstr"]) != [0, 1]]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"
    assert not plural, f"plural entries without two forms: {plural}"


def test_mo_is_compiled_from_the_po():
    with MO.open("rb") as f:
        catalogue = gettext.GNUTranslations(f)
    stale = []
    for e in messages(PO):
        if e["msgid_plural"]:
            got = [catalogue.ngettext(e["msgid"], e["msgid_plural"], n) for n in (1, 2)]
            expected = [e["msgstr"][0], e["msgstr"][1]]
        else:
            got, expected = catalogue.gettext(e["msgid"]), e["msgstr"][0]
        if got != expected:
            stale.append(e["msgid"])
    assert not stale, f"django.mo is not up to date (run compilemessages): {stale[:10]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools not installed")
def test_every_marked_string_is_in_the_catalogue(tmp_path, monkeypatch):
    """makemessages on a copy of the package finds no string missing from the committed .po."""
    package = Path(garant.__file__).resolve().parent
    copy = tmp_path / "garant"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["en"], no_location=True, verbosity=0)
    committed = {e["msgid"] for e in messages(PO)}
    found = {e["msgid"] for e in messages(copy / "locale" / "en" / "LC_MESSAGES" / "django.po")}
    new = sorted(found - committed)
    assert not new, f"strings missing from django.po (run makemessages, then translate): {new}"
