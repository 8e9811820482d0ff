"""Demo training and habilitations at the CHU de Valmont (issue 14): a catalogue of seven
modules, 61 staff members of the emergency, imaging and DIM services, their trainings over
the last three years, and habilitations for two routine systems (the fracture detection and
the PMSI coding aid). Some trainings have lapsed (their habilitations are expired), some
expire within 30 or 90 days (the referent's home page lists them). Claire Vasseur,
named in the fracture detection's oversight plan, has lapsed: the plan tab flags her."""

from __future__ import annotations

import datetime as dt

from garant.core.models import Service
from garant.people.models import (
    Habilitation,
    Person,
    Prerequisites,
    TrainingModule,
    TrainingRecord,
)
from garant.registry.models import AISystem

FRACTURES = "Détection des fractures sur radiographies"
PMSI = "Aide au codage PMSI"

#: code, title, kind, level, hours, provider, validity (months), systems, professions
MODULES = [
    (
        "ia-acculturation",
        "L'IA à l'hôpital : premiers repères",
        "acculturation",
        "awareness",
        1,
        "elearning",
        None,
        [],
        [],
    ),
    (
        "ia-maitrise",
        "Maîtrise de l'IA (AI Act, art. 4)",
        "literacy",
        "basic",
        3.5,
        "internal",
        36,
        [],
        [],
    ),
    (
        "ia-fractures",
        "Utiliser la détection des fractures",
        "tool_use",
        "basic",
        1,
        "internal",
        24,
        [FRACTURES],
        ["physician", "resident", "radiographer"],
    ),
    (
        "ia-fractures-supervision",
        "Superviser la détection des fractures",
        "tool_oversight",
        "advanced",
        3,
        "internal",
        12,
        [FRACTURES],
        ["physician"],
    ),
    (
        "ia-codage",
        "Utiliser l'aide au codage PMSI",
        "tool_use",
        "basic",
        2,
        "external",
        24,
        [PMSI],
        ["medical_secretary", "administrative", "physician"],
    ),
    (
        "ia-generative",
        "IA générative : bonnes pratiques",
        "genai",
        "basic",
        2,
        "elearning",
        12,
        [],
        [],
    ),
    (
        "rgpd-sante",
        "Protection des données de santé",
        "data_protection",
        "basic",
        2,
        "elearning",
        24,
        [],
        [],
    ),
]

LAST_NAMES = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefevre",
    "Faure",
    "Andre",
    "Mercier",
    "Blanc",
    "Guerin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "Francois",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clement",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Marie",
    "Lemaire",
    "Noel",
    "Meyer",
    "Dufour",
    "Meunier",
]
FIRST_NAMES = [
    "Camille",
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Manon",
    "Louis",
    "Emma",
    "Jules",
    "Inès",
    "Nathan",
    "Sarah",
    "Paul",
    "Clara",
    "Arthur",
    "Jeanne",
    "Théo",
    "Alice",
    "Victor",
    "Zoé",
]

#: service, profession, how many
STAFF = [
    ("Urgences adultes", "physician", 8),
    ("Urgences adultes", "resident", 6),
    ("Urgences adultes", "nurse", 6),
    ("Urgences pédiatriques", "physician", 5),
    ("Urgences pédiatriques", "resident", 3),
    ("Radiologie", "physician", 8),
    ("Radiologie", "radiographer", 10),
    ("Département d'information médicale (DIM)", "medical_secretary", 8),
    ("Département d'information médicale (DIM)", "physician", 2),
    ("Département d'information médicale (DIM)", "administrative", 4),
]

#: days before today when person i completed the tool training: a cycle that leaves some
#: habilitations valid, some expiring within 30 or 90 days and some lapsed (24 months)
TOOL_AGES = [60, 200, 400, 710, 680, 800, 120, 30, 300, 500]


def _module(valmont, systems, row) -> TrainingModule:
    code, title, kind, level, hours, provider, months, names, professions = row
    module = TrainingModule.objects.create(
        establishment=valmont,
        code=code,
        title=title,
        kind=kind,
        level=level,
        duration_hours=hours,
        provider=provider,
        provider_name="Codexia Santé" if provider == "external" else "",
        validity_months=months,
        audience_professions=professions,
    )
    module.systems.set([systems[n] for n in names if n in systems])
    return module


def load_demo_people(establishments, users, today: dt.date) -> int:
    """The demo's staff register at Valmont; how many people were created."""
    valmont = establishments.get("valmont")
    if valmont is None:
        return 0
    systems = {
        s.name: s
        for s in AISystem.objects.unrestricted().filter(
            establishment=valmont, name__in=[FRACTURES, PMSI]
        )
    }
    services = {s.name: s for s in Service.objects.unrestricted().filter(establishment=valmont)}
    modules = {row[0]: _module(valmont, systems, row) for row in MODULES}
    rules = {}
    for name, tool, professions, service_names in (
        (
            FRACTURES,
            "ia-fractures",
            ["physician", "resident", "radiographer"],
            ["Urgences adultes", "Urgences pédiatriques", "Radiologie"],
        ),
        (
            PMSI,
            "ia-codage",
            ["medical_secretary", "administrative", "physician"],
            ["Département d'information médicale (DIM)"],
        ),
    ):
        if name not in systems:
            continue
        prerequisites = Prerequisites.objects.create(
            ai_system=systems[name], professions=professions, charter_required=(name == PMSI)
        )
        prerequisites.modules.set([modules["ia-maitrise"], modules[tool]])
        prerequisites.services.set([services[s] for s in service_names if s in services])
        rules[name] = (tool, professions, service_names)
    referent = users.get("referent.valmont")
    count = 0
    for service_name, profession, how_many in STAFF:
        for _ in range(how_many):
            i = count
            count += 1
            person = Person.objects.create(
                establishment=valmont,
                last_name=LAST_NAMES[i % len(LAST_NAMES)],
                first_name=FIRST_NAMES[(i * 7) % len(FIRST_NAMES)],
                profession=profession,
                service=services.get(service_name),
                rpps=f"10{100000000 + i:09d}" if profession in ("physician", "resident") else "",
                staff_id=f"VAL{4000 + i}",
            )
            TrainingRecord.objects.create(
                person=person,
                module=modules["ia-acculturation"],
                completed_on=today - dt.timedelta(days=900 - i),
            )
            if i % 6 == 5:  # not trained yet: counted as a user without habilitation
                continue
            literacy = TrainingRecord.objects.create(
                person=person,
                module=modules["ia-maitrise"],
                completed_on=today - dt.timedelta(days=150 + 7 * i),
            )
            for name, (tool, professions, service_names) in rules.items():
                if profession not in professions or service_name not in service_names:
                    continue
                tool_record = TrainingRecord.objects.create(
                    person=person,
                    module=modules[tool],
                    completed_on=today - dt.timedelta(days=TOOL_AGES[i % len(TOOL_AGES)]),
                )
                habilitation = Habilitation.objects.create(
                    person=person,
                    ai_system=systems[name],
                    granted_on=tool_record.completed_on + dt.timedelta(days=3),
                    granted_by=referent,
                    charter_signed_on=tool_record.completed_on if name == PMSI else None,
                )
                habilitation.trainings.set([literacy, tool_record])
    if FRACTURES in systems:
        _lapsed_overseer(valmont, services, modules, systems[FRACTURES], referent, today)
        count += 1
    return count


def _lapsed_overseer(valmont, services, modules, system, referent, today) -> None:
    """The radiologist named in the fracture detection's oversight plan: her tool training
    lapsed 70 days ago, so her habilitation has expired and the plan tab flags her."""
    person = Person.objects.create(
        establishment=valmont,
        last_name="Vasseur",
        first_name="Claire",
        profession="physician",
        service=services.get("Radiologie"),
        rpps="10100000999",
        staff_id="VAL3999",
    )
    records = [
        TrainingRecord.objects.create(
            person=person, module=modules[code], completed_on=today - dt.timedelta(days=days)
        )
        for code, days in (("ia-maitrise", 400), ("ia-fractures", 800))
    ]
    habilitation = Habilitation.objects.create(
        person=person,
        ai_system=system,
        granted_on=today - dt.timedelta(days=795),
        granted_by=referent,
    )
    habilitation.trainings.set(records)
