"""The portfolio: every project in scope, by phase, with its time in each phase and what
blocks it at its next gate; filtered by `garant.lifecycle.filtersets.ProjectFilterSet`."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.utils import timezone

from garant.core.referentials import vocabulary
from garant.lifecycle import gates
from garant.lifecycle.models import Project

BOARD_PHASES = (
    "instruction",
    "poc",
    "evaluation",
    "generalisation",
    "routine",
    "suspended",
    "retired",
)


@dataclass
class Card:
    project: Project
    days_in_phase: int
    blocked: str
    days_by_phase: dict[str, int]

    @property
    def days_list(self) -> list:
        """Days per phase, in the board's order ("" for a phase never entered)."""
        return [self.days_by_phase.get(p, "") for p in BOARD_PHASES]


def days_by_phase(project: Project, now: dt.datetime) -> dict[str, int]:
    """Days spent in each phase, from the recorded transitions (prefetched)."""
    steps = sorted(project.transitions.all(), key=lambda t: (t.at, t.pk))
    spent: Counter = Counter()
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        end = following.at if following else now
        spent[step.to_phase] += max((end - step.at).days, 0)
    return dict(spent)


def portfolio_queryset(user):
    """The projects `user` may see, with what judging their gates needs."""
    return (
        Project.objects.for_user(user)
        .select_related("ai_system", "establishment")
        .prefetch_related(*gates.prefetch_names())
    )


def board(projects) -> dict:
    """The board of `projects` (`ProjectFilterSet`'s records)."""
    now = timezone.now()
    columns: dict[str, list[Card]] = {phase: [] for phase in BOARD_PHASES}
    by_establishment: dict[str, Counter] = defaultdict(Counter)
    for project in projects:
        card = Card(
            project=project,
            days_in_phase=max((now - project.phase_entered_at).days, 0),
            blocked=gates.blocked_reason(project),
            days_by_phase=days_by_phase(project, now),
        )
        columns.setdefault(project.phase, []).append(card)
        by_establishment[project.establishment.name][project.phase] += 1
    phases = vocabulary("phase")
    return {
        "columns": [
            {"phase": p, "label": phases.label_of(p), "cards": columns.get(p, [])}
            for p in BOARD_PHASES
        ],
        "blocked_count": sum(1 for cards in columns.values() for c in cards if c.blocked),
        "group": [
            {"name": name, "counts": [counts.get(p, 0) for p in BOARD_PHASES]}
            for name, counts in sorted(by_establishment.items())
        ],
        "phase_labels": [phases.label_of(p) for p in BOARD_PHASES],
    }
