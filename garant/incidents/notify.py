"""E-mails of the incident circuit, through Django's configured backend (`EMAIL_BACKEND`): to
the people who qualify incidents in the establishment (permission "qualify_incident") when an
event is declared and when reports open, and a day before each deadline
(`garant incident_reminders`, run by the scheduler). A mail that cannot be sent never stops
the action that caused it; the report's page is the record."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.core.models import Membership
from garant.core.roles import PERMISSIONS
from garant.incidents import reports
from garant.incidents.models import RegulatoryReport

#: a reminder goes out once a report to do is due within this many hours
REMIND_HOURS = 24


def responsible(establishment_id: int) -> list[str]:
    """E-mail addresses of the active users who qualify incidents in that establishment."""
    memberships = Membership.objects.unrestricted().filter(  # system code: one establishment's
        establishment_id=establishment_id,  # people, reached from a scoped incident
        role__in=PERMISSIONS["qualify_incident"],
    )
    return sorted(
        {
            m.user.email
            for m in memberships.select_related("user")
            if m.user.is_active and m.user.email
        }
    )


def _send(establishment_id: int, subject: str, body: str, url: str) -> int:
    recipients = responsible(establishment_id)
    if recipients:
        base = getattr(settings, "GARANT_BASE_URL", "")
        text = f"{body}\n\n{base}{url}"
        transaction.on_commit(
            lambda: send_mail(
                _("Garant : %(subject)s") % {"subject": subject[:120]},
                text,
                None,
                recipients,
                fail_silently=True,
            )
        )
    return len(recipients)


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y H:i")


def declared(incident) -> int:
    return _send(
        incident.ai_system.establishment_id,
        _("événement indésirable à qualifier (%(system)s)") % {"system": incident.ai_system.name},
        _(
            "Un événement indésirable impliquant %(system)s a été déclaré : qualifiez-le pour "
            "ouvrir les déclarations réglementaires et leurs délais."
        )
        % {"system": incident.ai_system.name},
        incident.get_absolute_url(),
    )


def opened(incident, new_reports: list[RegulatoryReport]) -> int:
    todo = [r for r in new_reports if r.status == RegulatoryReport.Status.TO_DO]
    if not todo:
        return 0
    lines = [
        _("- %(title)s → %(recipient)s : échéance %(deadline)s%(target)s")
        % {
            "title": reports.title(r),
            "recipient": reports.recipient_label(r),
            "deadline": _when(r.deadline),
            "target": _(" (« sans délai » : cible interne)") if r.without_delay else "",
        }
        for r in todo
    ]
    return _send(
        incident.ai_system.establishment_id,
        _("%(n)s déclaration(s) réglementaire(s) ouverte(s)") % {"n": len(todo)},
        _("Garant prépare ces déclarations ; il ne les transmet pas.") + "\n" + "\n".join(lines),
        incident.get_absolute_url(),
    )


def remind(now=None) -> int:
    """E-mail once about each report to do whose deadline is within a day; returns how many."""
    now = now or timezone.now()
    due = (
        RegulatoryReport.objects.unrestricted()  # system code: the scheduler's job, every
        .filter(  # establishment
            status=RegulatoryReport.Status.TO_DO,
            reminded_at__isnull=True,
            deadline__lte=now + timedelta(hours=REMIND_HOURS),
        )
        .select_related("incident__ai_system")
    )
    count = 0
    for report in due:
        _send(
            report.incident.ai_system.establishment_id,
            _("échéance le %(deadline)s : %(title)s")
            % {
                "deadline": _when(report.deadline),
                "title": reports.title(report),
            },
            _(
                "%(title)s → %(recipient)s, pour l'événement n° %(pk)s (%(system)s). "
                "Une fois envoyée, marquez-la envoyée avec sa preuve."
            )
            % {
                "title": reports.title(report),
                "recipient": reports.recipient_label(report),
                "pk": report.incident_id,
                "system": report.incident.ai_system.name,
            },
            report.get_absolute_url(),
        )
        report.reminded_at = now
        report.save(update_fields=["reminded_at"])
        count += 1
    return count
