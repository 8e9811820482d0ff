"""What the home page's "À faire" panel shows of the lifecycle: the user's unread
notifications, ideas awaiting triage, projects blocked at a gate, overdue re-evaluations."""

from __future__ import annotations

from django.utils import timezone

from garant.core import permissions
from garant.lifecycle import gates
from garant.lifecycle.models import Idea, Notification, Project

LISTED = 8


def lifecycle_todo(user) -> dict:
    today = timezone.localdate()
    projects = Project.objects.for_user(user).select_related("ai_system")
    overdue = list(
        projects.filter(phase="routine", next_review_date__lt=today).order_by("next_review_date")[
            :LISTED
        ]
    )
    live = projects.exclude(phase__in=("routine", "suspended", "retired")).prefetch_related(
        *gates.prefetch_names()
    )
    blocked = [(p, reason) for p in live if (reason := gates.blocked_reason(p))][:LISTED]
    ideas = 0
    if permissions.can(user, "triage"):
        ideas = Idea.objects.for_user(user, "triage").filter(status=Idea.Status.SUBMITTED).count()
    return {
        "notifications": list(
            Notification.objects.within(user=user).filter(read_at__isnull=True)[:LISTED]
        ),
        "ideas_to_triage": ideas,
        "blocked_projects": blocked,
        "overdue_reviews": overdue,
    }
