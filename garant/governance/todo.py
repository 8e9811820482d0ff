"""What the home page's "À faire" panel shows of governance: overdue actions and the
meetings of the next 30 days, within the user's scope."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from garant.governance.models import Action, Meeting

UPCOMING = dt.timedelta(days=30)
SHOWN = 8


def governance_todo(user) -> dict:
    now = timezone.now()
    overdue = (
        Action.objects.for_user(user)
        .filter(status=Action.Status.OPEN, due_date__lt=timezone.localdate())
        .select_related("owner", "meeting__committee__establishment")
        .order_by("due_date", "pk")
    )
    upcoming = (
        Meeting.objects.for_user(user)
        .filter(status=Meeting.Status.PLANNED, starts_at__gte=now, starts_at__lte=now + UPCOMING)
        .select_related("committee__establishment")
        .order_by("starts_at", "pk")
    )
    return {"overdue_actions": overdue[:SHOWN], "upcoming_meetings": upcoming[:SHOWN]}
