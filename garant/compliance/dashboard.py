"""The establishment's compliance dashboard (/conformite/) and its deadlines (/conformite/echeances/).

Everything is read for the systems the user may view (`permissions.scope`), optionally one
establishment of a group user, in a fixed number of queries whatever the number of systems:
the systems with the id of their current qualification (a subquery), those qualifications,
the obligations counted per system and family in one grouped query, and the open obligations
listed with their system and owner. Titles, articles and dates come from the referential
(cached), so nothing is read per row. The gap report (`exports.py`) reads the same figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, Subquery
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.compliance.models import Obligation, ObligationStatus, Qualification, RiskLevel
from garant.compliance.qualifications import is_stale
from garant.compliance.rules import rulebook
from garant.core import permissions
from garant.core.models import Establishment
from garant.core.referentials import localized
from garant.registry.models import AISystem

DONE = (ObligationStatus.DONE, ObligationStatus.NOT_APPLICABLE)
OPEN = (ObligationStatus.TODO, ObligationStatus.IN_PROGRESS)
WINDOWS = (30, 90)
OVERDUE_SHOWN = 10  # the dashboard lists the first ones; the deadlines page lists them all
NOT_QUALIFIED = "not_qualified"
STALE = "stale"
BASIS_SECTIONS = ("annex_i_routes", "annex_iii_routes")


# --- filters ----------------------------------------------------------------------------------


class DashboardFilters(forms.Form):
    establishment = forms.ModelChoiceField(
        label=gettext_lazy("établissement"),
        queryset=Establishment.objects.none(),
        required=False,
        empty_label=gettext_lazy("tous"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = Establishment.objects.for_user(user).order_by(
            "name", "pk"
        )


class DeadlineFilters(DashboardFilters):
    jours = forms.TypedChoiceField(
        label=gettext_lazy("horizon"),
        choices=[(n, str(n)) for n in WINDOWS],
        coerce=int,
        required=False,
        empty_value=WINDOWS[0],
    )


def chosen_filters(form: forms.Form) -> dict:
    """The valid filters of `form` (an invalid one is shown with its error and not applied)."""
    form.is_valid()
    return getattr(form, "cleaned_data", {})


# --- what is read -----------------------------------------------------------------------------


def visible_systems(user, establishment=None):
    """The systems `user` may view, in one establishment if given."""
    systems = AISystem.objects.for_user(user)
    if establishment is not None:
        systems = systems.filter(establishment=establishment)
    return systems


@dataclass
class SystemState:
    """A system and its current qualification (None if never qualified)."""

    system: AISystem
    qualification: Qualification | None
    stale: bool

    @property
    def level(self) -> str:
        return self.qualification.risk_level if self.qualification else NOT_QUALIFIED


def system_states(systems) -> list[SystemState]:
    """Each system with its current qualification and whether it is stale: two queries."""
    latest = (
        Qualification.objects.filter(ai_system=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    rows = list(
        systems.select_related("establishment")
        .annotate(current_qualification_id=Subquery(latest))
        .order_by("establishment__name", "name", "pk")
    )
    ids = [s.current_qualification_id for s in rows if s.current_qualification_id]
    qualifications = {
        q.pk: q for q in Qualification.objects.within(ai_system__in=systems).filter(pk__in=ids)
    }
    states = []
    for system in rows:
        qualification = qualifications.get(system.current_qualification_id)
        if qualification is not None:
            qualification.ai_system = system  # is_stale reads the system: no query
        states.append(
            SystemState(system, qualification, bool(qualification and is_stale(qualification)))
        )
    return states


def open_obligations(systems):
    """Required obligations not done yet of `systems`, soonest first, with system and owner."""
    return (
        Obligation.objects.within(ai_system__in=systems)
        .filter(required=True, status__in=OPEN)
        .select_related("ai_system__establishment", "owner")
        .order_by("due_date", "ai_system__name", "pk")
    )


def done_without_evidence(systems):
    """Required obligations set to « fait » with no evidence attached: each report shows them
    with their justification, as such."""
    return (
        Obligation.objects.within(ai_system__in=systems)
        .filter(required=True, status=ObligationStatus.DONE)
        .annotate(evidence_count=Count("evidence"))
        .filter(evidence_count=0)
        .select_related("ai_system__establishment", "owner")
        .order_by("ai_system__establishment__name", "ai_system__name", "ai_system_id", "pk")
    )


def obligation_row(obligation: Obligation, today: dt.date) -> dict:
    """An obligation with its description from the referential version it was created with."""
    book = rulebook(obligation.referential_version)
    days = (obligation.due_date - today).days
    return {
        "obligation": obligation,
        "item": book.describe_obligation(obligation.code, obligation.date_key),
        "overdue": obligation.overdue(today),
        "days": days,
        "late_days": -days,
    }


# --- figures ----------------------------------------------------------------------------------


def risk_counts(states: list[SystemState]) -> list[dict]:
    """Systems per risk level of their current qualification, then never qualified and stale."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state.level] = counts.get(state.level, 0) + 1
    rows = [
        {"code": c, "label": str(label), "count": counts.get(c, 0)}
        for c, label in RiskLevel.choices
    ]
    rows.append(
        {"code": NOT_QUALIFIED, "label": _("Non qualifié"), "count": counts.get(NOT_QUALIFIED, 0)}
    )
    rows.append(
        {
            "code": STALE,
            "label": _("Qualification à revoir"),
            "count": sum(1 for s in states if s.stale),
        }
    )
    return _with_width(rows)


def basis_counts(states: list[SystemState]) -> list[dict]:
    """High-risk systems per basis: Annex I (MDR, IVDR) and each Annex III point."""
    book = rulebook()
    counts: dict[str, int] = {}
    for state in states:
        if state.qualification is not None:
            for code in state.qualification.high_risk_bases:
                counts[code] = counts.get(code, 0) + 1
    rows = []
    for section in BASIS_SECTIONS:
        for item in book.data[section]:
            rows.append(
                {
                    "code": item["code"],
                    "label": localized(item["title"]),
                    "ref": item["cite"]["ref"],
                    "count": counts.pop(item["code"], 0),
                }
            )
    rows += [{"code": c, "label": c, "ref": "", "count": n} for c, n in sorted(counts.items())]
    return _with_width(rows)


def _with_width(rows: list[dict]) -> list[dict]:
    top = max((r["count"] for r in rows), default=0) or 1
    for row in rows:
        row["width"] = round(100 * row["count"] / top)
    return rows


@dataclass
class Cell:
    total: int = 0
    done: int = 0
    overdue: int = 0

    @property
    def state(self) -> str:
        if not self.total:
            return "none"
        if self.overdue:
            return "late"
        if self.done == self.total:
            return "done"
        return "partial" if self.done else "todo"


@dataclass
class MatrixRow:
    state: SystemState
    cells: list[Cell] = field(default_factory=list)


def family_cells(systems, today: dt.date) -> dict[tuple[int, str], Cell]:
    """{(system id, family): Cell} of the required obligations: one grouped query."""
    grouped = (
        Obligation.objects.within(ai_system__in=systems)
        .filter(required=True)
        .order_by()
        .values("ai_system_id", "family")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status__in=DONE)),
            overdue=Count("pk", filter=Q(status__in=OPEN, due_date__lt=today)),
        )
    )
    return {
        (g["ai_system_id"], g["family"]): Cell(g["total"], g["done"], g["overdue"]) for g in grouped
    }


def families() -> list[dict]:
    """The obligation families of the referential in force, in its order."""
    return [
        {"code": code, "label": localized(labels)}
        for code, labels in rulebook().data["families"].items()
    ]


def matrix(states: list[SystemState], cells: dict, columns: list[dict]) -> list[MatrixRow]:
    return [
        MatrixRow(state, [cells.get((state.system.pk, c["code"]), Cell()) for c in columns])
        for state in states
    ]


def totals(cells: dict) -> dict:
    """Required obligations done (or not applicable) against those due, and overdue."""
    total = sum(c.total for c in cells.values())
    done = sum(c.done for c in cells.values())
    return {
        "due": total,
        "done": done,
        "remaining": total - done,
        "overdue": sum(c.overdue for c in cells.values()),
        "percent": round(100 * done / total) if total else None,
    }


@dataclass
class Overview:
    """What the dashboard and the gap report's summary show."""

    states: list[SystemState]
    risks: list[dict]
    bases: list[dict]
    families: list[dict]
    rows: list[MatrixRow]
    totals: dict


def overview(systems, today: dt.date) -> Overview:
    states = system_states(systems)
    cells = family_cells(systems, today)
    columns = families()
    return Overview(
        states=states,
        risks=risk_counts(states),
        bases=basis_counts(states),
        families=columns,
        rows=matrix(states, cells, columns),
        totals=totals(cells),
    )


def home_todo(user) -> dict:
    """The home page's section (`garant.core.home`): overdue obligations, systems never
    qualified and qualifications to review, counted per establishment (each line of « À faire »
    names its establishment); nothing when nothing is due."""
    systems = visible_systems(user)
    today = timezone.localdate()
    rows: dict[int, dict] = {}

    def row(establishment) -> dict:
        return rows.setdefault(
            establishment.pk,
            {"establishment": establishment, "overdue": 0, "unqualified": 0, "stale": 0},
        )

    for state in system_states(systems):
        if state.qualification is None:
            row(state.system.establishment)["unqualified"] += 1
        elif state.stale:
            row(state.system.establishment)["stale"] += 1
    overdue = (
        Establishment.objects.for_user(user)
        .filter(
            ai_systems__obligations__required=True,
            ai_systems__obligations__status__in=OPEN,
            ai_systems__obligations__due_date__lt=today,
        )
        .annotate(n=Count("ai_systems__obligations"))
    )
    for establishment in overdue:
        row(establishment)["overdue"] = establishment.n
    shown = sorted(rows.values(), key=lambda r: (r["establishment"].name, r["establishment"].pk))
    return {"compliance": [r for r in shown if r["overdue"] or r["unqualified"] or r["stale"]]}


# --- pages ------------------------------------------------------------------------------------


def several_establishments(user) -> bool:
    ids = permissions.establishment_ids(user, "view")
    return ids is None or len(ids) > 1


def _establishment_flags(user, chosen: dict) -> dict:
    """Offer the establishment filter, and an establishment column when several are shown."""
    several = several_establishments(user)
    return {"several": several, "show_establishment": several and not chosen.get("establishment")}


@login_required
def dashboard(request):
    form = DashboardFilters(request.GET or None, user=request.user)
    chosen = chosen_filters(form)
    systems = visible_systems(request.user, chosen.get("establishment"))
    today = timezone.localdate()
    data = overview(systems, today)
    overdue = [
        obligation_row(o, today)
        for o in open_obligations(systems).filter(due_date__lt=today)[: OVERDUE_SHOWN + 1]
    ]
    return render(
        request,
        "compliance/dashboard.html",
        {
            "form": form,
            "query": request.GET.urlencode(),
            "data": data,
            "system_count": len(data.states),
            "overdue": overdue[:OVERDUE_SHOWN],
            "more_overdue": len(overdue) > OVERDUE_SHOWN,
            "unproven": [obligation_row(o, today) for o in done_without_evidence(systems)],
            **_establishment_flags(request.user, chosen),
            "today": today,
        },
    )


@login_required
def deadlines(request):
    form = DeadlineFilters(request.GET or None, user=request.user)
    chosen = chosen_filters(form)
    days = chosen.get("jours") or WINDOWS[0]
    systems = visible_systems(request.user, chosen.get("establishment"))
    today = timezone.localdate()
    rows = [
        obligation_row(o, today)
        for o in open_obligations(systems).filter(due_date__lte=today + dt.timedelta(days=days))
    ]
    query = request.GET.copy()
    query.pop("jours", None)
    return render(
        request,
        "compliance/deadlines.html",
        {
            "form": form,
            "days": days,
            "windows": WINDOWS,
            "query": query.urlencode(),
            "overdue": [r for r in rows if r["overdue"]],
            "upcoming": [r for r in rows if not r["overdue"]],
            **_establishment_flags(request.user, chosen),
            "today": today,
        },
    )
