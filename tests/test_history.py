"""A record's history reads as sentences: who, when (local time), what, with field labels and
value labels (garant/core/history.py), on the system's history tab, the audit journal and a
user's page."""

from __future__ import annotations

import datetime as dt
import re

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from garant.core.audit import audit_context, record_event
from garant.core.history import describe
from garant.core.models import AuditEvent, Membership, Role
from garant.registry.models import AISystemVersion
from tests.test_raw_data import findings, visible_text

KNOWN = {"versions": frozenset({"1.0", "2.0"})}  # test_raw_data's checks, no vocabulary


def _change_system(system, user):
    with audit_context(user=user, source="ui"):
        system.phase = "poc"
        system.hosting = "on_premises"
        system.go_live = dt.date(2026, 3, 1)
        system.save()
        system.services.clear()
        AISystemVersion.objects.create(ai_system=system, version="2.0")


def test_the_history_tab_reads_as_sentences(world, client_for):
    system, referent = world["a"]["system"], world["users"]["a"]["referent"]
    referent.first_name, referent.last_name = "Thomas", "Girardin"
    referent.save()
    _change_system(system, referent)
    response = client_for(referent).get(reverse("registry:system_history", args=[system.pk]))
    text = re.sub(r"\s+", " ", visible_text(response.content.decode()))
    now = timezone.localtime()
    day = now.strftime("%d/%m/%Y")
    assert re.search(
        rf"Le {day} à \d\d:\d\d, Thomas Girardin a modifié « Triage A » "
        r"\(système d'IA, interface web\) :",
        text,
    ), text
    assert "phase : « Idée » → « Expérimentation / PoC »" in text
    assert "hébergement : (vide) → « Sur site (établissement) »" in text
    assert "date de mise en service : (vide) → « 01/03/2026 »" in text
    assert "services utilisateurs : « Urgences A » → (vide)" in text
    assert "a créé « Triage A 2.0 » (version, interface web) :" in text
    assert not findings(text, "fr", KNOWN)


def test_values_are_labels_names_and_local_dates(world):
    """A foreign key reads as its record's name, a datetime in Paris time, structured data is
    summed up; an address given as nothing is left out."""
    admin = world["users"]["a"]["admin"]
    with audit_context(user=admin, source="ui"):
        membership = Membership.objects.create(
            user=world["users"]["b"]["dpo"], establishment=world["a"]["est"], role=Role.DPO
        )
        record_event(
            "registry.import",
            "Import de « inventaire.csv »",
            {
                "file": [None, "inventaire.csv"],
                "created_at": [None, "2026-01-15T09:30:00+00:00"],
                "result": [None, {"facts": {"ai_system": True}}],
                "ip": [None, None],
            },
        )
    events = AuditEvent.objects.order_by("-id")[:2]
    imported, created = describe(events)
    shown = {c.label: c.after for c in created.readable.changes}
    assert shown["utilisateur"] == f"« {world['users']['b']['dpo']} »"
    assert shown["établissement"] == "« CHU A »"
    assert shown["rôle"] == "« DPO / juridique / qualité »"
    shown = {c.label: c.after for c in imported.readable.changes}
    assert shown == {
        "fichier": "« inventaire.csv »",
        "créé le": "« 15/01/2026 10:30 »",  # Paris, winter time
        "result": "« détail enregistré »",
    }
    assert imported.readable.kind == "import de la cartographie"
    assert created.readable.sentence.endswith(
        f"a créé « {membership} » (rôle dans un établissement, interface web)"
    )


def test_the_audit_journal_names_kinds_and_sources(world, client_for):
    _change_system(world["a"]["system"], world["users"]["a"]["referent"])
    response = client_for(world["users"]["a"]["admin"]).get(reverse("audit_list"))
    text = visible_text(response.content.decode())
    assert "système d'IA" in text and "registry.aisystem" not in text
    assert "interface web" in text
    assert not findings(text, "fr", KNOWN)


@override_settings(LANGUAGE_CODE="en")
def test_the_history_in_english(world, client_for):
    system, referent = world["a"]["system"], world["users"]["a"]["referent"]
    _change_system(system, referent)
    with translation.override("en"):
        events = describe(AuditEvent.objects.filter(subject=f"registry.aisystem:{system.pk}"))
        sentences = [e.readable.sentence for e in events]
    assert any(s.startswith("On ") and " changed “Triage A” " in s for s in sentences), sentences
