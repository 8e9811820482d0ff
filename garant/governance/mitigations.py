"""The governance actions that mitigate failure modes of risk analyses, handed to the risks
app (below) per failure-mode lineage: an action decided on one version of an analysis is
shown on the later versions of the same failure mode."""

from __future__ import annotations

from django.utils.translation import gettext as _

from garant.governance.models import Action


def for_failure_modes(rows) -> dict:
    if not rows:
        return {}
    lineages = {row.lineage for row in rows}
    system_ids = {row.analysis.ai_system_id for row in rows}
    actions = (
        Action.objects.unrestricted()  # correlated to failure modes the caller read in scope
        .filter(
            failure_mode__lineage__in=lineages,
            failure_mode__analysis__ai_system_id__in=system_ids,
        )
        .select_related("failure_mode", "meeting")
        .order_by("due_date", "pk")
    )
    found: dict = {}
    for action in actions:
        found.setdefault(action.failure_mode.lineage, []).append(
            {
                "title": action.title,
                "status": action.get_status_display() if not action.is_overdue else _("en retard"),
                "due_date": action.due_date,
                "url": action.meeting.get_absolute_url(),
            }
        )
    return found
