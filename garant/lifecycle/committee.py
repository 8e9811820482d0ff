"""What the lifecycle learns of the committee's decisions, without importing governance.

Governance sits above the lifecycle (its decisions rest on the lifecycle's assessments): its
`AppConfig.ready` calls `register` with the name of its decisions' reverse relation on
`Project` and `Assessment`, and what a project's dossier shows of them. Without it, a gate
that needs a signed decision cannot be passed, and pages and dossier show no decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Decisions:
    #: reverse relation of the decisions on `Project` and `Assessment`
    related_name: str
    #: project -> (decisions, actions), the rows of the dossier's section (dicts of values)
    dossier_rows: Callable[[object], tuple[list[dict], list[dict]]]
    #: decision -> its conditions still open, as {"title", "owner", "due_date", "url"}
    open_conditions: Callable[[object], list[dict]] = field(default=lambda decision: [])


_registered: list[Decisions] = []


def register(decisions: Decisions) -> None:
    _registered[:] = [decisions]


def registered() -> Decisions | None:
    return _registered[0] if _registered else None


def decisions_of(obj):
    """The decisions taken on a project or an assessment (a queryset), or [] without
    governance."""
    source = registered()
    return getattr(obj, source.related_name).all() if source else []


def dossier_rows(project) -> tuple[list[dict], list[dict]]:
    source = registered()
    return source.dossier_rows(project) if source else ([], [])


def open_conditions(decision) -> list[dict]:
    """The conditions of a signed decision not yet met (actions still open)."""
    source = registered()
    return source.open_conditions(decision) if source else []
