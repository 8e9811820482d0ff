"""Fictional ethics committee of the demo's first establishment (CHU de Valmont) and one
referral on its first system (fracture detection, a high-risk medical device, the one the
collège reviewed): the question a night-shift nurse asked, the committee's opinion
(« favorable avec réserves ») and two recommendations, the first followed up by an action at
the copil's next meeting.

Runs after the governance and collège demos (the action is followed at the copil's upcoming
meeting)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from garant.demo.college import _save
from garant.governance import agenda, ethics
from garant.governance.models import Action, Committee, CommitteeMember, EthicsReferral
from garant.registry.models import AISystem

CODE = "valmont"
MANDATE = (
    "Éclairer les professionnels et la direction sur les questions éthiques des soins et des "
    "outils numériques, dont l'intelligence artificielle ; rendre des avis motivés."
)
SEATS = [
    ("Pr Élisabeth Morel, médecin, présidente", CommitteeMember.Role.PHYSICIAN, True),
    ("Marc Delorme, cadre de santé", CommitteeMember.Role.NURSE, False),
    ("Jean-Pierre Roux, représentant des usagers", CommitteeMember.Role.USERS, False),
    ("Sarah Haddad, juriste", CommitteeMember.Role.LEGAL, False),
]
QUESTION = (
    "La nuit, l'interne de garde valide parfois la détection de l'outil sans relire le "
    "cliché : le patient sort sans avis du radiologue avant le lendemain. Est-ce acceptable, "
    "et le patient doit-il savoir qu'un logiciel a participé à la lecture ?"
)
OPINION = (
    "L'usage de l'outil en double lecture est éthiquement acceptable à la condition que la "
    "décision reste celle du médecin, qui relit le cliché, et que le patient soit informé "
    "qu'une IA a contribué à la lecture (CSP L4001-3)."
)
RECOMMENDATIONS = [
    "Rappeler par écrit aux internes de garde que la détection ne dispense pas de relire le "
    "cliché.",
    "Compléter la notice d'information remise aux patients des urgences.",
]


def load_demo_ethics(establishments: dict, users: dict, today: dt.date | None = None):
    today = today or timezone.localdate()
    est = establishments.get(CODE)
    system = AISystem.objects.unrestricted().filter(establishment=est).order_by("pk").first()
    nurse, chair = users.get(f"terrain.{CODE}"), users.get(f"comite.{CODE}")
    if est is None or system is None or nurse is None:
        return None
    committee = _save(
        Committee(
            establishment=est,
            name="Comité d'éthique",
            kind=Committee.Kind.ETHICS_COMMITTEE,
            mandate=MANDATE,
        )
    )
    for name, role, is_chair in SEATS:
        _save(CommitteeMember(committee=committee, name=name, role=role, chair=is_chair))
    referral = _save(
        EthicsReferral(
            committee=committee,
            ai_system=system,
            question=QUESTION,
            context="Constat du collège de garantie humaine lors de sa revue du trimestre.",
            asked_by=nurse,
            asked_by_name="Infirmier des urgences adultes",
            referred_on=today - dt.timedelta(days=40),
        )
    )
    referral = ethics.record_opinion(
        referral,
        opinion=EthicsReferral.Opinion.RESERVED,
        text=OPINION,
        date=today - dt.timedelta(days=12),
        recommendations=RECOMMENDATIONS,
        user=chair,
    )
    meeting = agenda.upcoming_meetings(est).filter(committee__name="Copil IA").first()
    if meeting is not None:
        first = referral.recommendations.order_by("position").first()
        first.action = _save(
            Action(
                meeting=meeting,
                title="Note de service aux internes : relire le cliché avant de valider",
                owner=chair,
                due_date=today + dt.timedelta(days=45),
                notes="Recommandation du comité d'éthique.",
            )
        )
        first.save(update_fields=["action"])
    return referral
