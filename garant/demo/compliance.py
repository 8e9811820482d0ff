"""Demo qualifications: a few systems of each establishment answered through the real
questionnaire (`qualifications.qualify`), then their checklists brought to a realistic state:
some obligations done with evidence, some in progress with an owner, some overdue, one system
whose register entry changed since it was qualified (stale)."""

from __future__ import annotations

import datetime as dt

from garant.compliance.models import Evidence, Obligation, ObligationComment
from garant.compliance.qualifications import qualify
from garant.registry.models import AISystem

BOUGHT = {
    "technique": "learned",
    "research_only": False,
    "practices": ["none"],
    "uses": ["none"],
    "exposure": ["none"],
    "origin": "vendor",
    "own_name": False,
    "purpose_change": False,
    "legal_status": "public",
}
PATIENT_CARE = {
    "personal_data": "health",
    "subjects": ["patients"],
    "data_use": ["care"],
    "dpia_criteria": ["sensitive", "vulnerable", "innovative"],
    "solely_automated": "no",
    "hosting": "on_premises",
}

# (establishment code, system name) → answers
QUALIFIED = {
    ("valmont", "Aide au tri des patients aux urgences (IOA)"): {
        **BOUGHT,
        **PATIENT_CARE,
        "medical_purpose": "no",
        "uses": ["emergency_triage"],
        "derogation": "none",
    },
    ("valmont", "Détection précoce du sepsis (modèle interne)"): {
        **BOUGHT,
        **PATIENT_CARE,
        "origin": "in_house",
        "medical_purpose": "yes",
        "regime": "in_house",
        "software_function": "diagnosis_therapy",
        "severity": "death_irreversible",
        "shared_entities": False,
    },
    ("valmont", "Détection des fractures sur radiographies"): {
        **BOUGHT,
        **PATIENT_CARE,
        "medical_purpose": "yes",
        "regime": "ce_mdr",
        "mdr_class": "IIa",
    },
    ("valmont", "Prévision de l'occupation des lits"): {
        **BOUGHT,
        **PATIENT_CARE,
        "medical_purpose": "no",
        "data_use": ["management"],
        "dpia_criteria": ["sensitive", "large_scale"],
    },
    ("valmont", "Agent conversationnel d'information des patients"): {
        **BOUGHT,
        "technique": "llm",
        "medical_purpose": "no",
        "exposure": ["interacts"],
        "personal_data": "personal",
        "subjects": ["patients", "public"],
        "data_use": ["management"],
        "dpia_criteria": ["innovative"],
        "solely_automated": "no",
        "hosting": "cloud_eu",
    },
    ("valmont", "Entrepôt de données de santé (EDS)"): {
        **BOUGHT,
        "technique": "rules_only",
        "medical_purpose": "no",
        **PATIENT_CARE,
        "data_use": ["warehouse", "research_reuse"],
        "hosting": "cloud_fr",
        "hds_certified": True,
    },
    ("rochebrune", "Planification des équipes soignantes"): {
        **BOUGHT,
        "medical_purpose": "no",
        "uses": ["worker_management"],
        "worker_traits": "no",
        "derogation": "none",
        "personal_data": "personal",
        "subjects": ["staff"],
        "data_use": ["management"],
        "dpia_criteria": ["vulnerable", "innovative"],
        "solely_automated": "no",
        "hosting": "cloud_fr",
    },
    ("montclair", "Aide à la priorisation des appels du SAMU"): {
        **BOUGHT,
        **PATIENT_CARE,
        "medical_purpose": "no",
        "uses": ["emergency_triage"],
        "derogation": "none",
        "subjects": ["patients", "public"],
    },
}

# obligations brought forward: code → (status, evidence description or None)
PROGRESS = {
    "gdpr_30_record": ("done", "Fiche du registre des traitements (DPO)"),
    "gdpr_legal_basis": ("done", "Note de la DPO sur la base légale"),
    "gdpr_9_exception": ("done", None),
    "aia_4_literacy": ("in_progress", None),
    "gdpr_35_dpia": ("in_progress", None),
    "mdr_certificate": ("done", "Certificat CE et déclaration de conformité du fabricant"),
}


def load_demo_compliance(establishments, users, today: dt.date) -> int:
    """Qualify the demo systems; the number of qualifications created."""
    count = 0
    for (code, name), answers in QUALIFIED.items():
        system = AISystem.objects.filter(establishment=establishments[code], name=name).first()
        if system is None:
            continue
        referent, dpo = users.get(f"referent.{code}"), users.get(f"dpo.{code}")
        qualify(system, answers, referent)
        count += 1
        for obligation in system.obligations.all():
            _bring_forward(obligation, dpo or referent, today)
    _make_stale(establishments["valmont"])
    return count


def _bring_forward(obligation: Obligation, owner, today: dt.date) -> None:
    status, proof = PROGRESS.get(obligation.code, (None, None))
    if obligation.code == "aia_26_2":  # human oversight: assigned, and already late
        obligation.owner = owner
        obligation.due_date, obligation.due_date_manual = today - dt.timedelta(days=12), True
        obligation.save()
        ObligationComment.objects.create(
            obligation=obligation,
            author=owner,
            text="Liste des infirmiers d'accueil habilités en attente de la direction des soins.",
        )
        return
    if status is None:
        return
    obligation.status, obligation.owner = status, owner
    if status == "done" and not proof:  # done without evidence: justified, shown as such
        obligation.justification = (
            "Exception de l'article 9.2.h (soins) établie par la DPO en séance ; note écrite "
            "à verser au dossier."
        )
    if status == "done":
        obligation.completed_at = dt.datetime.combine(
            today - dt.timedelta(days=20), dt.time(10), tzinfo=dt.UTC
        )
    obligation.save()
    if proof:
        Evidence.objects.create(
            obligation=obligation,
            url="https://intranet.example.org/conformite/" + obligation.code,
            description=proof,
            added_by=owner,
        )


def _make_stale(establishment) -> None:
    """The bed-occupancy forecast moved to a cloud host after its qualification."""
    system = AISystem.objects.filter(
        establishment=establishment, name="Prévision de l'occupation des lits"
    ).first()
    if system is not None:
        system.hosting = "cloud_eu"
        system.save()
