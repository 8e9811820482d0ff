"""Fictional adverse events of the demo (CHU de Valmont), qualified through the same code as
the pages (`garant.incidents.reports.sync`): a near miss without external report, closed; a
matériovigilance case on the CE-marked fracture detector with its ANSM report sent on time
with its proof; an EIGS on the in-house sepsis model with part 1 sent and part 2 pending; and
a data breach of the ambient scribe whose CNIL notification is late."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile

from garant.core.documents import PdfDocument
from garant.incidents import reports
from garant.incidents.circuit import NOT_DEVICE
from garant.incidents.models import Incident, RegulatoryReport
from garant.registry.models import AISystem

PARIS = ZoneInfo("Europe/Paris")


def _at(today: dt.date, days_ago: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour), PARIS)


def _proof(title: str) -> ContentFile:
    doc = PdfDocument(title, subtitle="Accusé de réception (démonstration, fictif)")
    doc.paragraph("Document fictif de démonstration : aucune déclaration n'a été transmise.")
    return ContentFile(doc.render())


def _incident(system, service_name, users, code, today, days_ago, **fields) -> Incident:
    service = system.services.filter(name=service_name).first()
    incident = Incident(
        ai_system=system,
        service=service,
        occurred_at=_at(today, days_ago, 8),
        aware_at=_at(today, days_ago, 9),
        declared_by=users.get(f"terrain.{code}"),
        is_device=system.device_status not in NOT_DEVICE,
        **fields,
    )
    incident.declared_at = _at(today, days_ago, 10)
    incident.full_clean()
    incident.save()
    return incident


def _qualify(incident, users, code, today, days_ago) -> None:
    incident.state = Incident.State.QUALIFIED
    incident.qualified_by = users.get(f"dpo.{code}")
    incident.qualified_at = _at(today, days_ago, 14)
    incident.rules_version = reports.referential.rules().version
    incident.save()
    reports.sync(incident)


def _sent(incident, report_code, users, code, when) -> None:
    report = incident.reports.get(code=report_code)
    report.status = RegulatoryReport.Status.SENT
    report.sent_by = users.get(f"dpo.{code}")
    report.sent_at = when
    report.proof.save(f"accuse-{report_code}.pdf", _proof(reports.title(report)), save=False)
    report.save()


def load_demo_incidents(establishments: dict, users: dict, today: dt.date) -> int:
    code = "valmont"
    est = establishments.get(code)
    if est is None:
        return 0
    systems = {s.name: s for s in AISystem.objects.filter(establishment=est)}
    fractures = systems.get("Détection des fractures sur radiographies")
    sepsis = systems.get("Détection précoce du sepsis (modèle interne)")
    beds = systems.get("Prévision de l'occupation des lits")
    scribe = systems.get("Assistant de rédaction ambiant en consultation")
    count = 0
    if beds is not None:
        near_miss = _incident(
            beds, "Cellule de gestion des lits", users, code, today, 40,
            consequence="near_miss",
            description="Prévision de lits libres surestimée après une mise à jour du flux "
            "d'admissions ; repérée par la cellule avant toute orientation de patient.",
            immediate_actions="Contrôle manuel des prévisions pendant 48 h.",
            local_reference="FEI-2026-0311",
            causal_link="established",
        )  # fmt: skip
        _qualify(near_miss, users, code, today, 39)
        near_miss.state = Incident.State.CLOSED
        near_miss.closed_by = users.get(f"dpo.{code}")
        near_miss.closed_at = _at(today, 30, 11)
        near_miss.closing_note = "Cause : champ d'admission renommé sans prévenir l'éditeur. " \
            "Action : contrôle de schéma à l'ingestion."  # fmt: skip
        near_miss.save()
        count += 1
    if fractures is not None:
        mv = _incident(
            fractures, "Urgences adultes", users, code, today, 25,
            consequence="near_miss",
            description="Fracture du scaphoïde non signalée par l'outil ; diagnostic redressé "
            "par le radiologue à la relecture le lendemain.",
            immediate_actions="Rappel de la relecture systématique ; signalement au CLMV.",
            local_reference="FEI-2026-0342",
            causal_link="suspected",
            mdr_serious=True,  # could have caused a serious deterioration (R5212-14)
        )  # fmt: skip
        _qualify(mv, users, code, today, 25)
        _sent(mv, "materiovigilance", users, code, _at(today, 24, 11))
        count += 1
    if sepsis is not None:
        eigs = _incident(
            sepsis, "Réanimation médicale", users, code, today, 20,
            consequence="life_threat",
            description="Score de sepsis resté sous le seuil malgré des constantes dégradées ; "
            "choc septique pris en charge avec retard, transfert en réanimation.",
            immediate_actions="Seuil abaissé à titre conservatoire ; revue des dossiers de la "
            "semaine.",
            local_reference="FEI-2026-0358",
            causal_link="suspected",
            mdr_serious=True,
            eigs=True,
        )  # fmt: skip
        _qualify(eigs, users, code, today, 20)
        _sent(eigs, "eigs_part1", users, code, _at(today, 19, 16))
        _sent(eigs, "materiovigilance", users, code, _at(today, 19, 17))
        count += 1
    if scribe is not None:
        breach = _incident(
            scribe, "Consultations externes", users, code, today, 5,
            consequence="none",
            description="Transcriptions de consultations visibles par un autre service pendant "
            "une journée à la suite d'une erreur de paramétrage des droits.",
            immediate_actions="Droits corrigés ; journal des accès extrait.",
            local_reference="FEI-2026-0377",
            causal_link="established",
            data_breach=True,
            breach_risk="risk",
        )  # fmt: skip
        _qualify(breach, users, code, today, 5)  # the CNIL's 72 h have passed: late
        count += 1
    return count
