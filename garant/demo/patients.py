"""Demo of the patients' information (docs/patients.md), at the CHU de Valmont: a notice for
each system in use whose qualification calls for one (generated, approved by the DPO office,
published, with how it is given), the CHU's public register of AI, published, and two rights
requests — an explanation request (AI Act Art 86) in progress and an access request past its
deadline, which the DPO's home page lists."""

from __future__ import annotations

import datetime as dt

from garant.core.audit import audit_context
from garant.patients import notices, public, referential, rights
from garant.patients.models import InformationChannel, PublicRegister, RightsRequest
from garant.registry.models import AISystem

CODE = "valmont"
CHANNELS = (
    ("poster", "Affiche en salle d'attente du service"),
    ("booklet", "Paragraphe du livret d'accueil (édition 2026)"),
    ("portal", "Page « Intelligence artificielle » du site de l'établissement"),
)
PUBLISHED_FIELDS = [
    "name",
    "purpose",
    "care_step",
    "services",
    "vendor",
    "status",
    "go_live",
    "human_guarantee",
    "data_used",
    "legal_basis",
    "notice",
    "contact",
]


def load_demo_patients(establishments: dict, users: dict, today: dt.date) -> int:
    """Notices published at Valmont (their number)."""
    est = establishments.get(CODE)
    referent, dpo = users.get(f"referent.{CODE}"), users.get(f"dpo.{CODE}")
    if est is None or referent is None or dpo is None:
        return 0
    systems = (
        AISystem.objects.unrestricted()
        .filter(establishment=est, phase__in=referential.in_use_phases())
        .select_related("establishment", "vendor")
        .order_by("name")
    )
    published = []
    for system in systems:
        if not notices.required_obligations(system):
            continue
        with audit_context(user=referent, source="demo"):
            notices.save_version(
                system,
                notices.generate(system),
                referent,
                generated=True,
                note="Texte généré depuis le registre et la qualification",
            )
            notice = notices.notice_of(system)
            notices.submit(notice)
            kind, where = CHANNELS[len(published) % len(CHANNELS)]
            InformationChannel.objects.create(
                ai_system=system,
                kind=kind,
                description=where,
                since=today - dt.timedelta(days=60),
                created_by=referent,
            )
        with audit_context(user=dpo, source="demo"):
            notices.approve(notice, dpo, "Relu : langage clair, droits complets.")
            notices.set_published(notice, True)
        published.append(system)
    with audit_context(user=dpo, source="demo"):
        register = PublicRegister.objects.create(
            establishment=est,
            published_fields=PUBLISHED_FIELDS,
            introduction=(
                "Le CHU de Valmont publie la liste des outils d'intelligence artificielle "
                "utilisés dans la prise en charge de ses patients, avec l'information qui leur "
                "est donnée. Aucun de ces outils ne décide à la place d'un professionnel."
            ),
            contact="Délégué à la protection des données du CHU de Valmont (bureau du DPO)",
        )
        public.publish(register, dpo)
        explained = published[0] if published else None
        rights.receive(
            RightsRequest(
                establishment=est,
                kind="explanation",
                local_reference="DPO-2026-041",
                received_on=today - dt.timedelta(days=12),
                ai_system=explained,
                summary=(
                    "La personne demande quel rôle l'outil a joué dans l'orientation décidée "
                    "lors de son passage."
                ),
                identity_checked_by="Secrétariat du bureau du DPO",
                identity_check_method="Pièce d'identité présentée au guichet, non conservée",
                identity_checked_on=today - dt.timedelta(days=12),
            ),
            dpo,
        )
        late = rights.receive(
            RightsRequest(
                establishment=est,
                kind="access",
                local_reference="DPO-2026-033",
                received_on=today - dt.timedelta(days=36),
                summary="Copie des données utilisées par les outils d'IA lors du séjour.",
                identity_checked_by="Secrétariat du bureau du DPO",
                identity_check_method="Copie de pièce d'identité reçue par courrier, détruite",
                identity_checked_on=today - dt.timedelta(days=35),
            ),
            dpo,
        )
        rights.add_step(
            late,
            today - dt.timedelta(days=30),
            "Extraction demandée au DIM et à l'éditeur.",
            dpo,
        )
    return len(published)
