"""People (issue 14): the training-records import (all or nothing, every bad row listed),
expiry from training to habilitation on the right day, the habilitation check API scoped to
the token's establishment, coverage against a hand count, overseers flagged on the oversight
plan, and the audited person list."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.audit_models import AuditEvent
from garant.core.models import Role, Service
from garant.oversight.models import FeedbackToken, OversightPlanVersion
from garant.people import coverage, retention
from garant.people import habilitations as habs
from garant.people.models import Habilitation, Person, Prerequisites, TrainingModule, TrainingRecord

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


def setup_people(world, key="a"):
    """A module of 12 months required by system `key`, and three people of its service."""
    side = world[key]
    referent = world["users"][key][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        module = TrainingModule.objects.create(
            establishment=side["est"],
            code="triage-use",
            title="Utiliser le triage",
            kind="tool_use",
            level="basic",
            duration_hours=2,
            provider="internal",
            validity_months=12,
        )
        rules = Prerequisites.objects.create(ai_system=side["system"], professions=["nurse"])
        rules.modules.set([module])
        people = {
            name: Person.objects.create(
                establishment=side["est"],
                last_name=name,
                first_name="Alex",
                profession="nurse",
                service=side["service"],
                rpps=rpps,
            )
            for name, rpps in (
                ("Martin", "10000000001"),
                ("Durand", "10000000002"),
                ("Petit", "10000000003"),
            )
        }
    return module, people, referent


def train(person, module, day, user):
    with audit_context(user=user, source="test"):
        return TrainingRecord.objects.create(person=person, module=module, completed_on=day)


def grant(person, system, user, on):
    with audit_context(user=user, source="test"):
        found = habs.assess(person, system, False, on)
        assert found.ok, found.missing
        h = Habilitation.objects.create(person=person, ai_system=system, granted_on=on)
        h.trainings.set(found.records)
    return h


# --- import ---------------------------------------------------------------------------------

HEADER = "Établissement (code);Nom;Prénom;Profession;Service;RPPS/ADELI;Module (code);Date de réalisation\n"


def test_import_with_errors_stores_nothing_and_lists_every_bad_row(world, client):
    module, people, referent = setup_people(world)
    client.force_login(referent)
    rows = (
        "chu-a;Nouveau;Sam;infirmier;Urgences A;;triage-use;01/02/2026\n"  # fine
        "chu-a;Autre;Lou;astronaute;Urgences A;;triage-use;01/02/2026\n"  # 3: profession
        "chu-a;Martin;Alex;;;10000000001;inconnu;01/02/2026\n"  # 4: module
        "chu-b;Zed;Kim;nurse;;;triage-use;01/02/2026\n"  # 5: establishment not allowed
        "chu-a;Martin;Alex;;;10000000001;triage-use;31/02/2026\n"  # 6: date
    )
    upload = SimpleUploadedFile("lms.csv", (HEADER + rows).encode())
    response = client.post(reverse("people:import"), {"file": upload})
    errors = response.context["preview"].errors
    assert [(e.row, e.column) for e in errors] == [
        (3, "Profession"),
        (4, "Module (code)"),
        (5, "Établissement (code)"),
        (6, "Date de réalisation"),
    ]
    assert "lms.csv" in response.content.decode()
    assert not Person.objects.unrestricted().filter(last_name="Nouveau").exists()
    assert not TrainingRecord.objects.unrestricted().exists()


def test_a_valid_import_creates_people_and_records_after_confirmation(world, client):
    module, people, referent = setup_people(world)
    client.force_login(referent)
    rows = (
        "chu-a;Nouveau;Sam;infirmier;Urgences A;;triage-use;01/02/2026\n"
        "chu-a;Nouveau;Sam;;;;triage-use;01/03/2026\n"  # same new person, a second record
        "chu-a;Martin;Alex;;;10000000001;triage-use;2026-02-01\n"  # existing, by RPPS
    )
    upload = SimpleUploadedFile("lms.csv", (HEADER + rows).encode())
    preview = client.post(reverse("people:import"), {"file": upload}).context["preview"]
    assert preview.ok and len(preview.new_people) == 1
    assert not TrainingRecord.objects.unrestricted().exists()  # nothing before confirming
    client.post(reverse("people:import"), {"token": client.session["people_import"]["token"]})
    sam = Person.objects.unrestricted().get(last_name="Nouveau")
    assert sam.trainings.count() == 2
    assert people["Martin"].trainings.get().expires_on == dt.date(2027, 1, 31)
    assert AuditEvent.objects.filter(object_type="people.import").exists()


# --- expiry ---------------------------------------------------------------------------------


def test_expiry_propagates_from_training_to_habilitation_on_the_right_day(world):
    module, people, referent = setup_people(world)
    system = world["a"]["system"]
    record = train(people["Martin"], module, dt.date(2025, 3, 15), referent)
    assert record.expires_on == dt.date(2026, 3, 14)  # 12 months, the last valid day
    h = grant(people["Martin"], system, referent, dt.date(2025, 4, 1))
    assert habs.state_of(h, dt.date(2026, 3, 14)) == Habilitation.Status.GRANTED
    assert habs.state_of(h, dt.date(2026, 3, 15)) == Habilitation.EXPIRED
    # a lapsed training cannot carry a renewal; a new one does, and moves the expiry
    assert not habs.assess(people["Martin"], system, False, dt.date(2026, 3, 15)).ok
    train(people["Martin"], module, dt.date(2026, 3, 20), referent)
    with audit_context(user=referent, source="test"):
        renewed = habs.grant(people["Martin"], system, referent)
    assert renewed.pk == h.pk and renewed.renewed_on is not None
    assert habs.expiry_of(renewed) == dt.date(2027, 3, 19)


# --- the check API ----------------------------------------------------------------------------


def test_check_api_answers_for_habilitated_lapsed_and_unknown_within_the_token_scope(world, client):
    module, people, referent = setup_people(world)
    system = world["a"]["system"]
    today = timezone.localdate()
    train(people["Martin"], module, today - dt.timedelta(days=10), referent)
    grant(people["Martin"], system, referent, today)
    train(people["Durand"], module, today - dt.timedelta(days=400), referent)
    old = Habilitation.objects.create(person=people["Durand"], ai_system=system, granted_on=today)
    old.trainings.set(people["Durand"].trainings.all())
    with audit_context(source="test"):
        _, raw_a = FeedbackToken.issue(world["a"]["est"], "DPI A")
        _, raw_b = FeedbackToken.issue(world["b"]["est"], "DPI B")

    def ask(raw, system_id, person):
        url = reverse("api:habilitation_check") + f"?system={system_id}&person={person}"
        return client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")

    yes = ask(raw_a, system.pk, "10000000001").json()
    assert yes["habilitated"] and yes["state"] == "granted" and yes["expires_on"]
    lapsed = ask(raw_a, system.pk, "10000000002").json()
    assert not lapsed["habilitated"] and lapsed["state"] == "expired"
    assert ask(raw_a, system.pk, "99999999999").json()["state"] == "unknown_person"
    # establishment B's token: A's system is unknown, exactly like a missing one
    other = ask(raw_b, system.pk, "10000000001").json()
    missing = ask(raw_b, 987654321, "10000000001").json()
    assert other == missing and other["state"] == "unknown_system"
    # B's system, A's person: unknown person
    assert ask(raw_b, world["b"]["system"].pk, "10000000001").json()["state"] == "unknown_person"
    assert client.get(reverse("api:habilitation_check") + "?system=1&person=x").status_code == 401


# --- coverage ---------------------------------------------------------------------------------


def test_coverage_equals_a_hand_count(world):
    module, people, referent = setup_people(world)
    system, est = world["a"]["system"], world["a"]["est"]
    with audit_context(user=referent, source="test"):
        other_service = Service.objects.create(establishment=est, name="Réanimation")
        system.services.add(other_service)
        Person.objects.create(  # a physician: not a user (professions: nurse)
            establishment=est,
            last_name="Leroy",
            first_name="Max",
            profession="physician",
            service=world["a"]["service"],
        )
        rea = Person.objects.create(
            establishment=est,
            last_name="Roux",
            first_name="Eva",
            profession="nurse",
            service=other_service,
        )
    train(people["Martin"], module, TODAY - dt.timedelta(days=30), referent)  # valid 11 months
    grant(people["Martin"], system, referent, TODAY)
    train(people["Durand"], module, TODAY - dt.timedelta(days=340), referent)  # 25 days left
    grant(people["Durand"], system, referent, TODAY)
    train(rea, module, TODAY - dt.timedelta(days=300), referent)  # about 65 days left
    grant(rea, system, referent, TODAY)
    train(people["Petit"], module, TODAY - dt.timedelta(days=500), referent)
    with audit_context(user=referent, source="test"):
        lapsed = Habilitation.objects.create(
            person=people["Petit"], ai_system=system, granted_on=TODAY - dt.timedelta(days=400)
        )
        lapsed.trainings.set(people["Petit"].trainings.all())
    result = coverage.system_coverage(system, TODAY)
    # users: 4 nurses (Martin, Durand, Petit, Roux); habilitated 3; lapsed 1 (Petit);
    # expiring within 30 days: Durand; within 90: Durand and Roux
    assert (result.total.users, result.total.habilitated, result.total.lapsed) == (4, 3, 1)
    assert result.total.windows == [(30, 1), (90, 2)]
    services = dict(result.services)
    assert (services["Urgences A"].users, services["Urgences A"].habilitated) == (3, 2)
    assert (services["Réanimation"].users, services["Réanimation"].habilitated) == (1, 1)
    evidence = coverage.evidence(system)
    assert set(evidence) == {"aia_4_literacy", "aia_26_2"}


# --- oversight plan, pages, audited list ------------------------------------------------------


def test_an_overseer_without_habilitation_is_flagged_on_the_oversight_plan(world, client):
    module, people, referent = setup_people(world)
    system = world["a"]["system"]
    train(people["Martin"], module, timezone.localdate(), referent)
    grant(people["Martin"], system, referent, timezone.localdate())
    with audit_context(user=referent, source="test"):
        OversightPlanVersion.objects.create(
            ai_system=system,
            number=1,
            points=[],
            override="x",
            stop="y",
            fallback="z",
            review_months=12,
            people=[
                {"who": "Alex Martin", "competence": "IDE"},
                {"who": "Durand Alex", "competence": "IDE"},
                {"who": "Médecin de garde", "competence": "urgentiste"},
            ],
        )
    client.force_login(world["users"]["a"][Role.COMMITTEE])
    page = client.get(reverse("oversight:plan", args=[system.pk])).content.decode()
    assert page.count("overseer-flag") == 1
    assert "non habilité(e) pour ce système" in page


def test_person_list_is_limited_to_its_roles_and_every_api_read_is_audited(world, client):
    setup_people(world)
    client.force_login(world["users"]["a"][Role.CONTRIBUTOR])
    assert client.get(reverse("people:persons")).status_code == 403
    assert client.get("/api/people").status_code == 403
    client.force_login(world["users"]["a"][Role.DPO])
    assert "Martin" in client.get(reverse("people:persons")).content.decode()
    before = AuditEvent.objects.filter(object_type="people.read").count()
    rows = client.get("/api/people").json()["items"]
    assert {r["last_name"] for r in rows} == {"Martin", "Durand", "Petit"}
    assert AuditEvent.objects.filter(object_type="people.read").count() == before + 1


def test_export_and_reminders_follow_the_habilitations(
    world, client, mailoutbox, django_capture_on_commit_callbacks
):
    module, people, referent = setup_people(world)
    system = world["a"]["system"]
    today = timezone.localdate()
    train(people["Martin"], module, today - dt.timedelta(days=350), referent)  # ends in ~15 d
    grant(people["Martin"], system, referent, today)
    referent.email = "referent@example.org"
    referent.save()
    with audit_context(source="test"):
        _, raw_a = FeedbackToken.issue(world["a"]["est"], "Annuaire A")
        _, raw_b = FeedbackToken.issue(world["b"]["est"], "Annuaire B")
    url = reverse("api:export") + f"?system={system.pk}"
    csv = client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw_a}").content.decode("utf-8-sig")
    assert "Martin;Alex;10000000001" in csv and "granted" in csv
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw_b}").status_code == 404
    client.force_login(referent)
    assert "Martin" in client.get(reverse("home")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("habilitation_reminders", stdout=io.StringIO())
        call_command("habilitation_reminders", stdout=io.StringIO())  # once per expiry
    assert len(mailoutbox) == 1 and "Martin" in mailoutbox[0].body


def test_the_demo_flags_its_lapsed_overseer_and_has_lapsed_users(demo, client_for):
    from garant.core.models import User
    from garant.registry.models import AISystem

    fractures = AISystem.objects.unrestricted().get(
        name="Détection des fractures sur radiographies", establishment__code="valmont"
    )
    figures = coverage.system_coverage(fractures).total
    assert figures.users > 30 and figures.lapsed >= 1 and figures.windows[0][1] >= 1
    client = client_for(User.objects.get(username="comite.valmont"))
    page = client.get(reverse("oversight:plan", args=[fractures.pk])).content.decode()
    assert page.count("overseer-flag") == 1 and "habilitation expirée depuis le" in page


def test_a_referent_grants_only_when_prerequisites_are_met_then_suspends(world, client):
    module, people, referent = setup_people(world)
    system = world["a"]["system"]
    client.force_login(referent)
    url = reverse("people:grant", args=[system.pk])
    refused = client.post(url, {"person": people["Petit"].pk})
    assert refused.status_code == 422
    assert "Formation manquante ou expirée : Utiliser le triage." in refused.content.decode()
    train(people["Petit"], module, timezone.localdate(), referent)
    assert client.post(url, {"person": people["Petit"].pk}).status_code == 302
    h = Habilitation.objects.unrestricted().get(person=people["Petit"], ai_system=system)
    change = reverse("people:change", args=[h.pk])
    client.post(change, {"action": "suspend"})  # a reason is required
    h.refresh_from_db()
    assert h.status == Habilitation.Status.GRANTED
    client.post(change, {"action": "suspend", "comment": "Écart répété au protocole"})
    h.refresh_from_db()
    assert h.status == Habilitation.Status.SUSPENDED
    nurse = world["users"]["a"][Role.CONTRIBUTOR]
    client.force_login(nurse)
    assert client.post(url, {"person": people["Martin"].pk}).status_code == 403


def test_people_are_erased_after_the_retention_period(world):
    module, people, referent = setup_people(world)
    train(people["Martin"], module, dt.date(2019, 1, 10), referent)
    with audit_context(user=referent, source="test"):
        for name, left in (("Martin", dt.date(2020, 5, 31)), ("Durand", dt.date(2021, 6, 2))):
            people[name].left_on = left
            people[name].save()
    with audit_context(source="test"):  # 5 years (referential) after 31/05/2020, not 02/06/2021
        assert retention.erase(on=dt.date(2026, 6, 1)) == 1
    left = set(Person.objects.unrestricted().values_list("last_name", flat=True))
    assert left == {"Durand", "Petit"}
    assert not TrainingRecord.objects.unrestricted().exists()
    assert AuditEvent.objects.filter(object_type="people.retention").exists()
