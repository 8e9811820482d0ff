"""Habilitation per tool: does a person meet a system's prerequisites, grant / suspend /
withdraw / renew, and the state read from the dates.

A habilitation rests on the training records that met the prerequisites when it was granted
or renewed (`Habilitation.trainings`); its expiry is the earliest expiry of those records.
Its state is computed on read (`state_of`): withdrawn or suspended as recorded, otherwise
expired from the day after that expiry, otherwise granted. No job has to run on the day.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.people.models import Habilitation, Person, Prerequisites, TrainingRecord
from garant.people.referential import codes


def today() -> dt.date:
    return timezone.localdate()


def with_expiry(queryset):
    """Habilitations annotated with `expiry`: the earliest expiry of their trainings."""
    return queryset.annotate(expiry=Min("trainings__expires_on"))


def expiry_of(habilitation: Habilitation) -> dt.date | None:
    if hasattr(habilitation, "expiry"):
        return habilitation.expiry
    return habilitation.trainings.aggregate(e=Min("expires_on"))["e"]


def state_of(habilitation: Habilitation, on: dt.date | None = None) -> str:
    """granted / suspended / withdrawn / expired, on `on` (default today)."""
    if habilitation.status != Habilitation.Status.GRANTED:
        return habilitation.status
    expiry = expiry_of(habilitation)
    if expiry is not None and expiry < (on or today()):
        return Habilitation.EXPIRED
    return Habilitation.Status.GRANTED


def state_label(state: str) -> str:
    if state == Habilitation.EXPIRED:
        return _("expirée")
    return str(Habilitation.Status(state).label)


def prerequisites(system) -> Prerequisites | None:
    return Prerequisites.objects.within(ai_system=system).first()


@dataclass
class Assessment:
    """Whether `person` meets `system`'s prerequisites on a day, the records that do, and
    what is missing (French sentences)."""

    ok: bool
    records: list[TrainingRecord]
    missing: list[str]


def assess(person: Person, system, charter_signed: bool, on: dt.date | None = None) -> Assessment:
    on = on or today()
    rules = prerequisites(system)
    missing, records = [], []
    if person.establishment_id != system.establishment_id:
        return Assessment(
            False, [], [_("La personne et le système relèvent d'établissements différents.")]
        )
    if person.left_on and person.left_on <= on:
        missing.append(_("La personne a quitté l'établissement."))
    if rules is None:
        return Assessment(not missing, [], missing)
    if rules.professions and person.profession not in rules.professions:
        missing.append(_("Profession non autorisée : %(p)s.") % {"p": person.profession_label})
    services = list(rules.services.all())
    if services and person.service_id not in {s.pk for s in services}:
        missing.append(_("Service non autorisé pour ce système."))
    if rules.charter_required and not charter_signed:
        missing.append(_("Charte d'utilisation non signée."))
    for module in rules.modules.all():
        valid = [
            r
            for r in TrainingRecord.objects.within(person=person).filter(module=module)
            if r.expires_on is None or r.expires_on >= on
        ]
        if valid:  # the most recent completion carries the habilitation
            records.append(max(valid, key=lambda r: (r.completed_on, r.pk)))
        else:
            missing.append(_("Formation manquante ou expirée : %(m)s.") % {"m": module.title})
    return Assessment(not missing, records, missing)


class NotMet(Exception):
    def __init__(self, missing: list[str]):
        super().__init__(" ".join(missing))
        self.missing = missing


def grant(person, system, user, charter_signed_on=None, comment: str = "") -> Habilitation:
    """Grant (or renew) `person`'s habilitation for `system`; NotMet if prerequisites fail."""
    found = assess(person, system, charter_signed_on is not None)
    if not found.ok:
        raise NotMet(found.missing)
    with transaction.atomic():
        habilitation = Habilitation.objects.within(person=person, ai_system=system).first()
        if habilitation is None:
            habilitation = Habilitation(person=person, ai_system=system, granted_on=today())
        else:
            habilitation.renewed_on = today()
        habilitation.status = Habilitation.Status.GRANTED
        habilitation.granted_by = user
        habilitation.charter_signed_on = charter_signed_on or habilitation.charter_signed_on
        habilitation.comment = comment
        habilitation.save()
        habilitation.trainings.set(found.records)
    return habilitation


def set_status(habilitation: Habilitation, status: str, comment: str) -> None:
    habilitation.status = status
    habilitation.comment = comment
    habilitation.save()


# --- the check API's answer -----------------------------------------------------------------


def answer(habilitation: Habilitation | None, on: dt.date | None = None) -> dict:
    """{answer: bool, state, reason, expiry} for the check API and the export."""
    if habilitation is None:
        return {
            "habilitated": False,
            "state": "none",
            "reason": _("Aucune habilitation pour ce système."),
            "expires_on": None,
        }
    state = state_of(habilitation, on)
    expiry = expiry_of(habilitation)
    reasons = {
        Habilitation.Status.GRANTED: _("Habilitation en cours de validité."),
        Habilitation.Status.SUSPENDED: _("Habilitation suspendue."),
        Habilitation.Status.WITHDRAWN: _("Habilitation retirée."),
        Habilitation.EXPIRED: _("Habilitation expirée : une formation requise n'est plus valable."),
    }
    return {
        "habilitated": state == Habilitation.Status.GRANTED,
        "state": state,
        "reason": str(reasons[state]),
        "expires_on": expiry,
    }


# --- the list export per system ----------------------------------------------------------

#: the columns of the export (French headers: a file format, whatever the language)
EXPORT_HEADERS = [
    "Nom",
    "Prénom",
    "RPPS/ADELI",
    "Identifiant interne",
    "Profession",
    "Service",
    "État",
    "Valable jusqu'au",
]


def export_rows(system):
    """One row per habilitation of `system` (the list export, web page and API alike)."""
    for h in with_expiry(system.habilitations.select_related("person__service")):
        p = h.person
        yield [
            p.last_name,
            p.first_name,
            p.rpps,
            p.staff_id,
            p.profession_label,
            p.service.name if p.service else "",
            state_of(h),
            h.expiry,
        ]


# --- reminders: home page and e-mails -------------------------------------------------------


def expiring(queryset, on: dt.date | None = None, days: int | None = None):
    """Granted habilitations of `queryset` whose expiry falls within `days` (referential)."""
    on = on or today()
    days = codes().reminder_days if days is None else days
    return (
        with_expiry(queryset.filter(status=Habilitation.Status.GRANTED))
        .filter(expiry__gte=on, expiry__lte=on + dt.timedelta(days=days))
        .select_related("person", "ai_system__establishment")
        .order_by("expiry", "pk")
    )


def home_todo(user) -> dict:
    """Habilitations of the systems the user may grant on that expire within the reminder
    window (referential `reminder_days`)."""
    rows = list(expiring(Habilitation.objects.restrict(user, "manage_people"))[:20])
    return {"habilitations_expiring": rows}


# --- overseers named in oversight plans ----------------------------------------------------


def _name_key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(sorted(text.casefold().replace("-", " ").split()))


def overseer_flags(system, people: list[dict]) -> dict[str, str]:
    """{who: reason} for the overseers of a plan who are in the staff register of the
    system's establishment without a valid habilitation for it. A "who" that names no person
    of the register (a role: "radiologue de garde") is not flagged."""
    if not people:
        return {}
    persons: dict[str, list[Person]] = {}
    for person in Person.objects.within(establishment=system.establishment):
        persons.setdefault(_name_key(f"{person.first_name} {person.last_name}"), []).append(person)
    habilitations = {
        h.person_id: h for h in with_expiry(Habilitation.objects.within(ai_system=system))
    }
    flags = {}
    for entry in people:
        who = entry.get("who", "")
        matches = persons.get(_name_key(who), [])
        if not matches:
            continue
        states = [habilitations.get(p.pk) for p in matches]
        if any(h is not None and state_of(h) == Habilitation.Status.GRANTED for h in states):
            continue
        habilitation = next((h for h in states if h is not None), None)
        if habilitation is None:
            flags[who] = _("non habilité(e) pour ce système")
        else:
            state = state_of(habilitation)
            reason = _("habilitation %(state)s") % {"state": state_label(state)}
            if state == Habilitation.EXPIRED and (e := expiry_of(habilitation)):
                reason += _(" depuis le %(d)s") % {
                    "d": date_format(e + dt.timedelta(days=1), "d/m/Y")
                }
            flags[who] = reason
    return flags
