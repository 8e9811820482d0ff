"""Notifications to one user: an in-app list on the home page, and an e-mail through Django's
configured backend (`EMAIL_BACKEND`) when the user has an address. A mail that cannot be sent
never stops the action that caused it: the in-app notification is the record."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core.models import Membership
from garant.core.roles import Role
from garant.lifecycle.models import Notification, Project


def notify(user, establishment, message: str, url: str = "") -> Notification | None:
    if user is None:
        return None
    notification = Notification.objects.create(
        user=user, establishment=establishment, message=message[:300], url=url
    )
    if user.email:
        base = getattr(settings, "GARANT_BASE_URL", "")
        body = f"{message}\n\n{base}{url}" if url else message
        transaction.on_commit(
            lambda: send_mail(
                _("Garant : %(message)s") % {"message": message[:120]},
                body,
                None,
                [user.email],
                fail_silently=True,
            )
        )
    return notification


def mine(user):
    return Notification.objects.within(user=user)


def unread(user):
    return mine(user).filter(read_at__isnull=True)


def mark_read(user, pk=None) -> int:
    """Mark one notification (or all) of `user` as read; returns how many."""
    count = 0
    pending = unread(user)
    if pk is not None:
        pending = pending.filter(pk=pk)
    for notification in pending:  # saved one by one so the audit trail records each
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        count += 1
    return count


#: roles of the establishment told when one of its systems is suspended or resumed (no list
#: of a system's users exists yet: its referents, those who registered it and proposed the
#: suspension are told too)
SUSPENSION_ROLES = (Role.ADMIN, Role.REFERENT, Role.COMMITTEE)


def suspension_recipients(suspension) -> list:
    system = suspension.ai_system
    memberships = Membership.objects.unrestricted().filter(  # system code: a suspension's
        establishment_id=system.establishment_id,
        role__in=SUSPENSION_ROLES,  # establishment
    )
    users = {m.user for m in memberships.select_related("user") if m.user.is_active}
    project = Project.objects.unrestricted().filter(ai_system_id=system.pk).first()
    for user in (system.created_by, project and project.created_by, suspension.proposed_by):
        if user is not None and user.is_active:
            users.add(user)
    return sorted(users, key=lambda u: u.pk)


def notify_suspension(suspension, event: str) -> int:
    """Tell the system's referents and users that it was suspended ("suspended") or resumed
    ("resumed"), in-app and by e-mail (`garant.oversight.suspension.on_change`)."""
    system = suspension.ai_system
    if event == "suspended":
        message = _("%(system)s est suspendu : %(reason)s") % {
            "system": system.name,
            "reason": suspension.reason,
        }
    else:
        message = _("%(system)s reprend du service (décision : %(decision)s).") % {
            "system": system.name,
            "decision": suspension.resumption_reference,
        }
    recipients = suspension_recipients(suspension)
    for user in recipients:
        notify(user, system.establishment, message, suspension.get_absolute_url())
    return len(recipients)
