"""Risk analyses of a system: versions, freezing, comparison, the criticality matrix, gaps.

A system has numbered versions of its analysis; at most one is a draft. `create` starts the
first version from failure modes picked in the referential; `new_version` copies the latest
frozen one into a new draft (rows keep their `lineage`); `freeze` validates a draft (every row
scored) and makes it immutable. The current analysis is the latest frozen one: its highest
residual criticality is the figure the decision grid shows (`criterion_evidence`).

Mitigations are governance actions, a layer above: governance registers a provider
(`register_mitigations`) that lists them per failure-mode lineage, so this module reads them
without importing governance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.core import versions as versioning
from garant.registry.models import AISystem
from garant.risks.models import AnalysisFrozen, FailureMode, RiskAnalysis
from garant.risks.referential import DIMENSIONS, referential

__all__ = ["AnalysisFrozen"]

#: the fields of a row a user edits (and a new version copies)
ROW_FIELDS = (
    "position",
    "code",
    "title",
    "cause",
    "effect_patient",
    "effect_organisation",
    "severity",
    "occurrence",
    "detectability",
    "existing_controls",
    "residual_severity",
    "residual_occurrence",
    "residual_detectability",
    "occurrence_basis",
    "owner_id",
    "owner_name",
    "review_date",
)


class DraftExists(Exception):
    """The system already has a draft analysis: work on it rather than start another."""


class FreezeRefused(Exception):
    """The draft cannot be frozen; `problems` says why, row by row."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# --- reading ----------------------------------------------------------------------------------


def versions(system) -> list[RiskAnalysis]:
    return list(
        RiskAnalysis.objects.within(ai_system=system)
        .select_related("created_by", "frozen_by")
        .order_by("-number")
    )


def latest(system) -> RiskAnalysis | None:
    return RiskAnalysis.objects.within(ai_system=system).order_by("-number").first()


def current(system) -> RiskAnalysis | None:
    """The analysis in force: the latest frozen version, or None."""
    return (
        RiskAnalysis.objects.within(ai_system=system)
        .filter(status=RiskAnalysis.Status.FROZEN)
        .order_by("-number")
        .first()
    )


def draft(system) -> RiskAnalysis | None:
    return (
        RiskAnalysis.objects.within(ai_system=system)
        .filter(status=RiskAnalysis.Status.DRAFT)
        .first()
    )


def rows(analysis: RiskAnalysis) -> list[FailureMode]:
    return list(FailureMode.objects.within(analysis=analysis).select_related("owner"))


def scale_of(analysis: RiskAnalysis):
    return referential().scale(analysis.scale)


# --- writing ----------------------------------------------------------------------------------


def _lock(system) -> None:
    # one writer at a time per system: version numbers follow each other
    # (the system was reached through the caller's scope)
    AISystem.objects.unrestricted().select_for_update().get(pk=system.pk)


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def from_referential(code: str, position: int) -> dict:
    """A row's values from a failure mode of the referential (scores left to the group)."""
    from garant.core.referentials import localized

    item = referential().mode(code)
    if item is None:
        raise KeyError(code)
    return {
        "position": position,
        "code": code,
        "title": localized(item),
        "cause": localized(item, "cause"),
        "effect_patient": localized(item, "effect"),
        "existing_controls": localized(item, "controls"),
    }


def create(
    system, user, scale: str, codes: list[str], comment: str = "", at: dt.datetime | None = None
) -> RiskAnalysis:
    """The first version (a draft) of `system`'s analysis, with one row per referential code.
    DraftExists if the system already has an analysis (then: `new_version`)."""
    ref = referential()
    with transaction.atomic():
        _lock(system)
        if latest(system) is not None:
            raise DraftExists
        analysis = RiskAnalysis.objects.create(
            ai_system=system,
            number=1,
            scale=scale if scale in ref.scales else ref.default_scale,
            referential_version=ref.version,
            comment=comment.strip(),
            created_by=_user(user),
            created_at=at or timezone.now(),
        )
        for position, code in enumerate(codes, start=1):
            FailureMode.objects.create(analysis=analysis, **from_referential(code, position))
    return analysis


def new_version(system, user, comment: str = "", at: dt.datetime | None = None) -> RiskAnalysis:
    """A new draft copying the latest version (its rows keep their lineage); DraftExists if
    a draft is already open."""
    with transaction.atomic():
        _lock(system)
        previous = latest(system)
        if previous is None or not previous.is_frozen:
            raise DraftExists
        analysis = RiskAnalysis.objects.create(
            ai_system=system,
            number=previous.number + 1,
            scale=previous.scale,
            referential_version=referential().version,
            comment=comment.strip(),
            created_by=_user(user),
            created_at=at or timezone.now(),
        )
        for row in rows(previous):
            FailureMode.objects.create(
                analysis=analysis,
                lineage=row.lineage,
                **{name: getattr(row, name) for name in ROW_FIELDS},
            )
    return analysis


def problems(analysis: RiskAnalysis) -> list[str]:
    """Why `analysis` cannot be frozen yet (empty: it can)."""
    found = []
    items = rows(analysis)
    if not items:
        found.append(_("L'analyse ne compte aucun mode de défaillance."))
    for row in items:
        if row.criticality is None:
            found.append(
                _("Mode %(n)s « %(title)s » : gravité, fréquence et détectabilité à coter.")
                % {"n": row.position, "title": row.title}
            )
    return found


def freeze(analysis: RiskAnalysis, user, at: dt.datetime | None = None) -> RiskAnalysis:
    """Freeze a draft (every row scored); it is never changed afterwards."""
    with transaction.atomic():
        _lock(analysis.ai_system)
        analysis = RiskAnalysis.objects.within(ai_system=analysis.ai_system).get(pk=analysis.pk)
        if analysis.is_frozen:
            raise AnalysisFrozen(analysis)
        if found := problems(analysis):
            raise FreezeRefused(found)
        analysis.status = RiskAnalysis.Status.FROZEN
        analysis.frozen_at = at or timezone.now()
        analysis.frozen_by = _user(user)
        analysis.save()
    return analysis


def next_position(analysis: RiskAnalysis) -> int:
    last = FailureMode.objects.within(analysis=analysis).order_by("-position").first()
    return (last.position + 1) if last else 1


def reestimate_occurrence(
    failure_mode: FailureMode, occurrence: int, user, basis: str
) -> FailureMode:
    """The hook for adverse events: set the residual occurrence of `failure_mode` (what real
    events show, with the controls in place) and say why. A frozen version is never changed:
    the value goes to the system's draft (opened by copying the latest version if needed), on
    the row of the same lineage. Returns that draft row. ValueError if `occurrence` is off
    the analysis's scale or the failure mode was removed from the draft."""
    system = failure_mode.analysis.ai_system
    scale = scale_of(failure_mode.analysis)
    if occurrence not in scale.values:
        raise ValueError(
            _("Fréquence %(v)s hors de l'échelle %(scale)s.")
            % {"v": occurrence, "scale": scale.label}
        )
    with transaction.atomic():
        target = draft(system) or new_version(
            system, user, _("Réestimation de la fréquence après événement")
        )
        row = FailureMode.objects.within(analysis=target).filter(lineage=failure_mode.lineage)
        row = row.first()
        if row is None:
            raise ValueError(_("Ce mode de défaillance a été retiré de la version en brouillon."))
        row.residual_occurrence = occurrence
        row.occurrence_basis = basis.strip()
        for name in ("residual_severity", "residual_detectability"):
            if getattr(row, name) is None:  # scored as before the controls until re-scored
                setattr(row, name, getattr(row, name.replace("residual_", "")))
        row.save()
    return row


# --- mitigations (governance actions, registered from above) ---------------------------------

_MITIGATIONS: list[Callable[[list[FailureMode]], dict]] = []


def register_mitigations(provider: Callable[[list[FailureMode]], dict]) -> None:
    """`provider(rows) -> {lineage: [{"title", "status", "due_date", "url"}]}`."""
    if provider not in _MITIGATIONS:
        _MITIGATIONS.append(provider)


def mitigations(items: list[FailureMode]) -> dict:
    found: dict = {}
    for provider in _MITIGATIONS:
        for lineage, actions in provider(items).items():
            found.setdefault(lineage, []).extend(actions)
    return found


# --- display ----------------------------------------------------------------------------------


def zone_of(analysis: RiskAnalysis, value: int | None) -> dict:
    zone = scale_of(analysis).zone(value)
    return {"code": zone or "none", "label": referential().zone_label(zone) or _("non cotée")}


def table(analysis: RiskAnalysis) -> list[dict]:
    """The rows as the page shows them: scores, criticalities with their zone, mitigations."""
    items = rows(analysis)
    actions = mitigations(items)
    ref = referential()
    return [
        {
            "row": row,
            "source": (ref.mode(row.code) or {}).get("source", ""),
            "zone": zone_of(analysis, row.criticality),
            "residual_zone": zone_of(analysis, row.residual_criticality),
            "actions": actions.get(row.lineage, []),
            "review_overdue": bool(row.review_date and row.review_date < timezone.localdate()),
        }
        for row in items
    ]


def matrix(analysis: RiskAnalysis, residual: bool = True) -> dict:
    """The severity × occurrence heat map: severity from high to low in rows, occurrence in
    columns, each cell listing its failure modes (number, criticality with D, zone label) and
    taking the worst zone of them; empty cells have no zone. Text, not colour alone."""
    scale = scale_of(analysis)
    cells: dict[tuple[int, int], list[dict]] = {}
    for row in rows(analysis):
        s, o, d, c = (
            (
                row.residual_severity,
                row.residual_occurrence,
                row.residual_detectability,
                row.residual_criticality,
            )
            if residual and row.residual_criticality is not None
            else (row.severity, row.occurrence, row.detectability, row.criticality)
        )
        if c is None:
            continue
        cells.setdefault((s, o), []).append(
            {"n": row.position, "title": row.title, "d": d, "c": c, "zone": zone_of(analysis, c)}
        )
    order = {"acceptable": 0, "alarp": 1, "unacceptable": 2}
    grid = []
    for s in reversed(scale.values):
        line = []
        for o in scale.values:
            items = cells.get((s, o), [])
            worst = max((i["zone"] for i in items), key=lambda z: order[z["code"]], default=None)
            line.append({"s": s, "o": o, "items": items, "zone": worst})
        grid.append({"s": s, "label": scale.level_label("severity", s), "cells": line})
    return {
        "residual": residual,
        "rows": grid,
        "columns": [{"o": o, "label": label} for o, label in scale.levels("occurrence")],
    }


def highest_residual(analysis: RiskAnalysis | None) -> dict | None:
    """The failure mode with the highest residual criticality (the initial one where no
    residual is scored), with its zone; None without a scored row."""
    if analysis is None:
        return None
    scored = [r for r in rows(analysis) if r.effective_residual is not None]
    if not scored:
        return None
    top = max(scored, key=lambda r: (r.effective_residual, -r.position))
    scale = scale_of(analysis)
    return {
        "row": top,
        "value": top.effective_residual,
        "max": scale.max**3,
        "zone": zone_of(analysis, top.effective_residual),
        "analysis": analysis,
    }


def criterion_evidence(system) -> dict[str, list[dict]]:
    """Evidence for the decision grid, by criterion code (the criterion is named by the
    referential, `feeds_criterion`): the highest residual criticality of the current frozen
    analysis, or the absence of one."""
    ref = referential()
    analysis = current(system)
    top = highest_residual(analysis)
    url = reverse("risks:system", args=[system.pk])
    if top is None:
        text = _("Aucune analyse de risques (AMDEC) figée pour ce système.")
        return {ref.feeds_criterion: [{"title": _("Analyse de risques"), "text": text, "url": url}]}
    text = _(
        "Criticité résiduelle la plus élevée : %(value)s / %(max)s (%(zone)s) — mode "
        "%(n)s « %(title)s » ; AMDEC version %(version)s figée le %(date)s."
    ) % {
        "value": top["value"],
        "max": top["max"],
        "zone": top["zone"]["label"],
        "n": top["row"].position,
        "title": top["row"].title,
        "version": analysis.number,
        "date": date_format(timezone.localdate(analysis.frozen_at), "d/m/Y"),
    }
    return {
        ref.feeds_criterion: [
            {"title": _("Analyse de risques"), "text": text, "url": url, "zone": top["zone"]}
        ]
    }


# --- versions compared ------------------------------------------------------------------------


def row_line(values: dict) -> str:
    def scores(prefix: str) -> str:
        found = [values.get(prefix + name) for name in DIMENSIONS]
        if None in found:
            return "—"
        s, o, d = found
        return f"G {s} × F {o} × D {d} = {s * o * d}"

    return _(
        "%(n)s. %(title)s — cause : %(cause)s ; initiale %(initial)s ; résiduelle "
        "%(residual)s ; maîtrise : %(controls)s ; responsable : %(owner)s ; revue : %(review)s"
    ) % {
        "n": values["position"],
        "title": values["title"],
        "cause": values["cause"],
        "initial": scores(""),
        "residual": scores("residual_"),
        "controls": values["existing_controls"] or "—",
        "owner": values["owner"] or "—",
        "review": date_format(values["review_date"], "d/m/Y") if values["review_date"] else "—",
    }


def values_of(analysis: RiskAnalysis | None) -> dict:
    if analysis is None:
        return {}
    items = []
    for row in rows(analysis):
        values = {name: getattr(row, name) for name in ROW_FIELDS}
        values["owner"] = row.owner_label
        items.append(values)
    return {"scale": scale_of(analysis).label, "failure_modes": items}


def diff(old: RiskAnalysis | None, new: RiskAnalysis) -> list[dict]:
    labels = {
        "scale": str(RiskAnalysis._meta.get_field("scale").verbose_name),
        "failure_modes": str(FailureMode._meta.verbose_name_plural),
    }
    return versioning.diff(
        values_of(old),
        values_of(new),
        labels,
        tables={"failure_modes": row_line},
        fields=("scale",),
    )


def history(system) -> list[dict]:
    return versioning.history(versions(system), diff)


# --- gaps on the home page -------------------------------------------------------------------


def home_todo(user) -> dict:
    """Failure modes whose review date has passed, in the latest version of each system the
    user may change (the referents, quality managers, committee), per establishment."""
    today = timezone.localdate()
    latest_ids: dict[int, int] = {}
    for pk, system_id in (
        RiskAnalysis.objects.restrict(user, "change")
        .order_by("ai_system_id", "number")
        .values_list("pk", "ai_system_id")
    ):
        latest_ids[system_id] = pk
    overdue = (
        FailureMode.objects.restrict(user, "change")
        .filter(analysis_id__in=list(latest_ids.values()), review_date__lt=today)
        .select_related("analysis__ai_system__establishment")
        .order_by("review_date", "pk")
    )
    return {"risk_reviews_overdue": list(overdue)}
