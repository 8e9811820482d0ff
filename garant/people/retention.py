"""Retention of the staff register (decision 0023): a person who left the establishment is
erased `retention_years` (referential) after their departure date, with their training
records, attestation files and habilitations. Every deletion is audited; one summary event
per establishment says how many were erased."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core import audit
from garant.people.models import Person, TrainingRecord, add_months
from garant.people.referential import codes


def expired_people(on: dt.date | None = None):
    """People whose retention period after departure has ended on `on` (default today)."""
    on = on or timezone.localdate()
    limit = add_months(on, -12 * codes().retention_years)
    return Person.objects.unrestricted().filter(left_on__lt=limit)  # system code: a job


def erase(on: dt.date | None = None) -> int:
    """Erase the people past retention; returns how many."""
    people = list(expired_people(on))
    if not people:
        return 0
    files = [
        r.evidence
        for r in TrainingRecord.objects.unrestricted().filter(person__in=people)
        if r.evidence
    ]
    with transaction.atomic():
        per_establishment: dict[int, int] = {}
        for person in people:
            per_establishment[person.establishment_id] = (
                per_establishment.get(person.establishment_id, 0) + 1
            )
            person.delete()
        for establishment_id, n in per_establishment.items():
            audit.record_event(
                "people.retention",
                _("Effacement des personnes parties depuis plus que le délai de conservation"),
                {"people": [None, n], "retention_years": [None, codes().retention_years]},
                establishment_id=establishment_id,
            )
        transaction.on_commit(lambda: [f.delete(save=False) for f in files])
    return len(people)
