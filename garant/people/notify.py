"""E-mail reminders of habilitations about to expire (`garant habilitation_reminders`, run
daily by the scheduler): one digest per establishment to the users who grant habilitations
there (permission "manage_people"), each habilitation reminded once per expiry date."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.core.models import Membership
from garant.core.roles import PERMISSIONS
from garant.people import habilitations as habs
from garant.people.models import Habilitation


def recipients(establishment_id: int) -> list[str]:
    memberships = Membership.objects.unrestricted().filter(  # system code: one establishment
        establishment_id=establishment_id, role__in=PERMISSIONS["manage_people"]
    )
    return sorted(
        {
            m.user.email
            for m in memberships.select_related("user")
            if m.user.is_active and m.user.email
        }
    )


def remind(on=None) -> int:
    """Send the digests; returns the number of habilitations reminded."""
    due = [
        h
        for h in habs.expiring(Habilitation.objects.unrestricted(), on)  # system code: a job
        if h.reminded_for != h.expiry
    ]
    by_establishment = defaultdict(list)
    for h in due:
        by_establishment[h.ai_system.establishment_id].append(h)
    base = getattr(settings, "GARANT_BASE_URL", "")
    for establishment_id, rows in by_establishment.items():
        lines = [
            _("- %(person)s : %(system)s, valable jusqu'au %(date)s — %(url)s")
            % {
                "person": h.person,
                "system": h.ai_system.name,
                "date": date_format(h.expiry, "d/m/Y"),
                "url": base + reverse("people:system", args=[h.ai_system_id]),
            }
            for h in rows
        ]
        to = recipients(establishment_id)
        if to:
            body = _("Habilitations à renouveler (formation à refaire avant l'échéance) :")
            text = "\n".join([body, "", *lines])
            transaction.on_commit(
                lambda to=to, text=text: send_mail(
                    _("Garant : habilitations à renouveler"), text, None, to, fail_silently=True
                )
            )
        for h in rows:
            Habilitation.objects.unrestricted().filter(pk=h.pk).update(reminded_for=h.expiry)
    return len(due)
