"""Demo oversight plans: the fracture detection (in routine) has two versions, the second
adding a sampled review after a change of version; the emergency triage (in PoC) has one.
The other high-risk systems in routine have none, so the home page shows that gap."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from garant.oversight import plans
from garant.registry.models import AISystem

FRACTURES = {
    "points": [
        {
            "moment": "before",
            "rate": None,
            "who": "Radiologue ou urgentiste qui interprète le cliché",
            "checks": "chaque zone signalée et le cliché entier (l'IA ne remplace pas la lecture)",
            "action": "écarter la détection ; noter le désaccord dans le compte rendu",
        }
    ],
    "people": [
        {
            "who": "Radiologues du pôle imagerie",
            "competence": "formation à l'outil (1 h) et aux faux positifs connus",
        },
        {
            "who": "Urgentistes séniors",
            "competence": "formation à l'outil (1 h) ; lecture autonome des radiographies",
        },
        {
            # in the staff register (garant/demo/people.py), her tool training has lapsed:
            # the plan tab flags her as not habilitated
            "who": "Claire Vasseur",
            "competence": "radiologue référente de l'outil",
        },
    ],
    "override": "Le médecin ignore ou corrige la détection dans la console de lecture ; son "
    "interprétation seule fait foi dans le compte rendu.",
    "stop": "Le chef du pôle imagerie (ou l'administrateur de garde) désactive l'outil dans "
    "le PACS et prévient le référent IA.",
    "fallback": "Lecture sans aide ; double lecture des radiographies des urgences le "
    "lendemain matin par un radiologue.",
    "review_months": 12,
}

FRACTURES_V2 = {
    **FRACTURES,
    "points": [
        *FRACTURES["points"],
        {
            "moment": "sampled",
            "rate": 5.0,
            "who": "Radiologue référent",
            "checks": "concordance entre la détection et la lecture finale (faux négatifs)",
            "action": "signaler l'écart au référent IA ; suspension si les écarts augmentent",
        },
    ],
    "review_months": 6,
}

TRIAGE = {
    "points": [
        {
            "moment": "before",
            "rate": None,
            "who": "Infirmier d'accueil et d'orientation (IOA)",
            "checks": "niveau de tri proposé, au regard des constantes et du motif",
            "action": "retenir son propre niveau de tri ; l'écart est tracé",
        }
    ],
    "people": [
        {
            "who": "IOA des urgences adultes",
            "competence": "formation IOA (FRENCH) et formation à l'outil",
        }
    ],
    "override": "L'IOA retient son niveau ; l'outil n'attribue jamais seul un niveau de tri.",
    "stop": "Le médecin responsable des urgences suspend l'outil dans le logiciel des urgences.",
    "fallback": "Tri selon la grille FRENCH sans aide.",
    "review_months": 6,
}


def load_demo_plans(establishments, users, today: dt.date) -> int:
    """The demo's oversight plan versions; how many were created."""
    now = timezone.now()
    count = 0
    items = [
        ("Détection des fractures sur radiographies", FRACTURES, 200, ""),
        (
            "Détection des fractures sur radiographies",
            FRACTURES_V2,
            30,
            "Nouvelle version du logiciel : contrôle par échantillonnage ajouté.",
        ),
        ("Aide au tri des patients aux urgences (IOA)", TRIAGE, 20, ""),
    ]
    referent = users.get("referent.valmont")
    for name, values, days_ago, comment in items:
        system = AISystem.objects.filter(establishment=establishments["valmont"], name=name).first()
        if system is None:
            continue
        at = now - dt.timedelta(days=days_ago)
        plans.save_version(system, values, referent, comment, at=at)
        count += 1
    return count
