"""Coverage: of the people who use a system, how many are habilitated, how many
habilitations expire within the referential's windows (30 and 90 days) and how many have
lapsed; per system, per service and per establishment. Also the linked evidence of the AI
Act Art. 4 and Art. 26(2) obligations (registered with compliance.linked).

The users of a system are the persons of its establishment still in post, in the services
its prerequisites allow (else the system's services, else every service), of the professions
they allow (else any), and anyone who holds a habilitation for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.numbers import percent
from garant.people import habilitations as habs
from garant.people.models import Habilitation, Person, Prerequisites
from garant.people.referential import codes
from garant.registry.models import AISystem


@dataclass
class Figures:
    users: int = 0
    habilitated: int = 0
    lapsed: int = 0
    expiring: dict[int, int] = field(default_factory=dict)  # window (days) -> count

    def add(self, state: str, expiry: dt.date | None, on: dt.date) -> None:
        self.users += 1
        if state == Habilitation.EXPIRED:
            self.lapsed += 1
        elif state == Habilitation.Status.GRANTED:
            self.habilitated += 1
            for days in codes().coverage_windows:
                if expiry is not None and expiry <= on + dt.timedelta(days=days):
                    self.expiring[days] = self.expiring.get(days, 0) + 1

    def merge(self, other: Figures) -> None:
        self.users += other.users
        self.habilitated += other.habilitated
        self.lapsed += other.lapsed
        for days, n in other.expiring.items():
            self.expiring[days] = self.expiring.get(days, 0) + n

    @property
    def share(self) -> float | None:
        return self.habilitated / self.users if self.users else None

    @property
    def windows(self) -> list[tuple[int, int]]:
        return [(d, self.expiring.get(d, 0)) for d in codes().coverage_windows]


def users_of(system, rules: Prerequisites | None, on: dt.date) -> list[Person]:
    people = Person.objects.within(establishment=system.establishment).filter(
        Q(left_on__isnull=True) | Q(left_on__gt=on)
    )
    services = list(rules.services.all()) if rules else []
    services = services or list(system.services.all())
    target = people
    if services:
        target = target.filter(service__in=[s.pk for s in services])
    if rules and rules.professions:
        target = target.filter(profession__in=rules.professions)
    holders = people.filter(habilitations__ai_system=system)
    return list((target | holders).distinct().select_related("service"))


@dataclass
class SystemCoverage:
    system: AISystem
    total: Figures
    services: list[tuple[str, Figures]]


def system_coverage(system, on: dt.date | None = None) -> SystemCoverage:
    on = on or habs.today()
    rules = habs.prerequisites(system)
    held = {h.person_id: h for h in habs.with_expiry(Habilitation.objects.within(ai_system=system))}
    total, by_service = Figures(), {}
    for person in users_of(system, rules, on):
        habilitation = held.get(person.pk)
        state = habs.state_of(habilitation, on) if habilitation else "none"
        expiry = habilitation.expiry if habilitation else None
        total.add(state, expiry, on)
        name = person.service.name if person.service else _("(sans service)")
        by_service.setdefault(name, Figures()).add(state, expiry, on)
    return SystemCoverage(system, total, sorted(by_service.items()))


def managed_systems(systems):
    """The systems of `systems` that declare prerequisites or have habilitations."""
    return systems.filter(
        Q(habilitation_prerequisites__isnull=False) | Q(habilitations__isnull=False)
    ).distinct()


def establishment_coverage(
    systems, on: dt.date | None = None
) -> tuple[list[SystemCoverage], Figures]:
    """Coverage of each managed system of `systems` (a scoped queryset) and their sum
    (a person counts once per system they use)."""
    rows = [
        system_coverage(s, on)
        for s in managed_systems(systems).select_related("establishment").order_by("name")
    ]
    total = Figures()
    for row in rows:
        total.merge(row.total)
    return rows, total


# --- evidence for compliance ------------------------------------------------------------------

EVIDENCE = {
    "aia_4_literacy": gettext_lazy("formation des utilisateurs de l'outil (maîtrise de l'IA)"),
    "aia_26_2": gettext_lazy("utilisateurs et superviseurs formés et habilités"),
}


def evidence(system) -> dict[str, list[dict]]:
    if not Prerequisites.objects.within(ai_system=system).exists() and not (
        Habilitation.objects.within(ai_system=system).exists()
    ):
        return {}
    figures = system_coverage(system).total
    title = _(
        "Habilitations : %(h)s utilisateur(s) habilité(s) sur %(n)s (%(share)s), "
        "%(lapsed)s expirée(s), %(soon)s à renouveler sous %(days)s jours"
    ) % {
        "h": figures.habilitated,
        "n": figures.users,
        "share": percent(figures.share),
        "lapsed": figures.lapsed,
        "soon": figures.windows[0][1],
        "days": figures.windows[0][0],
    }
    url = reverse("people:system", args=[system.pk])
    return {code: [{"title": title, "detail": str(d), "url": url}] for code, d in EVIDENCE.items()}
