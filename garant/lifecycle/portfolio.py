"""The portfolio: every project in scope, by phase, with its time in each phase and what
blocks it at its next gate; filters by domain, type, service and establishment."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.models import Establishment, Service
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


class PortfolioFilters(forms.Form):
    establishment = forms.ModelChoiceField(
        label=_("établissement"), queryset=Establishment.objects.none(), required=False
    )
    domain = forms.ChoiceField(label=_("domaine"), required=False)
    solution_type = forms.ChoiceField(label=_("type de solution"), required=False)
    service = forms.ModelChoiceField(
        label=_("service"), queryset=Service.objects.none(), required=False
    )
    blocked = forms.BooleanField(label=_("bloqués à une étape seulement"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = Establishment.objects.for_user(user)
        self.fields["service"].queryset = Service.objects.for_user(user).select_related(
            "establishment"
        )
        for name in ("domain", "solution_type"):
            self.fields[name].choices = [("", "---------")] + vocabulary(name).choices()


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


def projects(user, filters: PortfolioFilters):
    qs = (
        Project.objects.for_user(user)
        .select_related("ai_system", "establishment")
        .prefetch_related(*gates.prefetch_names())
    )
    if filters.is_valid():
        data = filters.cleaned_data
        if data["establishment"]:
            qs = qs.filter(establishment=data["establishment"])
        if data["domain"]:
            qs = qs.filter(ai_system__domain=data["domain"])
        if data["solution_type"]:
            qs = qs.filter(ai_system__solution_type=data["solution_type"])
        if data["service"]:
            qs = qs.filter(ai_system__services=data["service"])
    return qs.order_by("ai_system__name", "pk")


def board(user, filters: PortfolioFilters) -> dict:
    now = timezone.now()
    only_blocked = filters.is_valid() and filters.cleaned_data["blocked"]
    columns: dict[str, list[Card]] = {phase: [] for phase in BOARD_PHASES}
    by_establishment: dict[str, Counter] = defaultdict(Counter)
    for project in projects(user, filters):
        card = Card(
            project=project,
            days_in_phase=max((now - project.phase_entered_at).days, 0),
            blocked=gates.blocked_reason(project),
            days_by_phase=days_by_phase(project, now),
        )
        if only_blocked and not card.blocked:
            continue
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
