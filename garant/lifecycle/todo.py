"""What the home page's "À faire" panel shows of the lifecycle: the user's unread
notifications, ideas awaiting triage, projects blocked at a gate, overdue re-evaluations; each
naming its establishment. A project in routine past its re-evaluation date is listed once,
under the overdue re-evaluations (the "blocked" list only holds projects before routine)."""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from garant.core import permissions
from garant.lifecycle import gates
from garant.lifecycle.models import Idea, Notification, Project

LISTED = 8


def lifecycle_todo(user) -> dict:
    today = timezone.localdate()
    projects = Project.objects.for_user(user).select_related("ai_system", "establishment")
    overdue = list(
        projects.filter(phase="routine", next_review_date__lt=today).order_by("next_review_date")[
            :LISTED
        ]
    )
    live = projects.exclude(phase__in=("routine", "suspended", "retired")).prefetch_related(
        *gates.prefetch_names()
    )
    blocked = [(p, reason) for p in live if (reason := gates.blocked_reason(p))][:LISTED]
    ideas = []  # {establishment, n}: each line of « À faire » names its establishment
    if permissions.can(user, "triage"):
        ideas = [
            {"establishment": row["establishment__name"], "n": row["n"]}
            for row in Idea.objects.for_user(user, "triage")
            .filter(status=Idea.Status.SUBMITTED)
            .order_by("establishment__name")
            .values("establishment__name")
            .annotate(n=Count("pk"))
        ]
    return {
        "notifications": list(
            Notification.objects.within(user=user)
            .filter(read_at__isnull=True)
            .select_related("establishment")[:LISTED]
        ),
        "ideas_to_triage": ideas,
        "blocked_projects": blocked,
        "overdue_reviews": overdue,
    }
