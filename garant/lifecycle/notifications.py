"""Notifications to one user: an in-app list on the home page, and an e-mail through Django's
configured backend (`EMAIL_BACKEND`) when the user has an address. A mail that cannot be sent
never stops the action that caused it: the in-app notification is the record."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.lifecycle.models import Notification


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
