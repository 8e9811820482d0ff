"""Closing the loop on adverse events (docs/incidents.md, « Boucler la boucle »).

- the root-cause analysis: contributing factors by ALARM category, from the versioned
  referential garant/referentials/incident_analysis/, plus free text;
- the corrective actions: governance actions (a layer above) pointing at the incident
  (`governance.Action.incident`), read here through a registered provider, as the risks app
  reads the mitigations of its failure modes;
- the AMDEC failure mode an event is an occurrence of (`Incident.failure_mode`): the events
  linked to the same failure mode (its `lineage`, across the analysis's versions) over the
  period suggest an occurrence level, which the quality manager confirms
  (`garant.risks.analyses.reestimate_occurrence`);
- the event counts per period (declared, serious, near misses) that the decision grid's
  safety criterion and the decision dossier show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from garant.core.referentials import Referential, ReferentialError, load, localized
from garant.incidents import referential as report_rules
from garant.incidents.models import CausalLink, Incident
from garant.risks import analyses as risk_analyses
from garant.risks.models import FailureMode
from garant.risks.referential import referential as risk_referential

KIND = "incident_analysis"


# --- the referential --------------------------------------------------------------------------


def check(ref: Referential) -> None:
    """What the schema cannot say; ReferentialError naming the file and the item."""
    data = ref.data
    codes = [f["code"] for f in data["factors"]]
    codes += [i["code"] for f in data["factors"] for i in f["items"]]
    if dupes := sorted({c for c in codes if codes.count(c) > 1}):
        raise ReferentialError(f"{ref.path}: factors: duplicate codes {dupes}")
    known = {c["code"] for c in report_rules.rules().data["consequences"]}
    for name in ("serious_consequences", "near_miss_consequences"):
        if bad := sorted(set(data[name]) - known):
            raise ReferentialError(f"{ref.path}: {name}: unknown consequences {bad}")
    scales = risk_referential().scales
    for code, levels in data["occurrence"].items():
        where = f"{ref.path}: occurrence/{code}"
        if code not in scales:
            raise ReferentialError(f"{where}: not a scale of the risk referential")
        values = [level["value"] for level in levels]
        if values != list(scales[code].values):
            raise ReferentialError(f"{where}: expected the levels {list(scales[code].values)}")
        rates = [level["per_year"] for level in levels]
        if rates != sorted(rates) or len(set(rates)) != len(rates):
            raise ReferentialError(f"{where}: per_year must increase with the level")


@cache
def analysis_referential(version: str | None = None) -> Referential:
    ref = load(KIND, version)
    check(ref)
    return ref


def factor_groups() -> list[dict]:
    """The categories and their factors, labelled for the request's language."""
    return [
        {
            "code": f["code"],
            "label": localized(f),
            "items": [(i["code"], localized(i)) for i in f["items"]],
        }
        for f in analysis_referential().data["factors"]
    ]


def factor_labels(codes: list[str], version: str | None = None) -> list[dict]:
    """The categories with the chosen factors (codes of the version the incident stored)."""
    chosen = set(codes)
    found = []
    for group in analysis_referential(version or None).data["factors"]:
        items = [localized(i) for i in group["items"] if i["code"] in chosen]
        if items:
            found.append({"label": localized(group), "items": items})
    return found


# --- event counts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    start: dt.date
    end: dt.date  # included
    declared: int
    serious: int
    near_misses: int


def counts(incidents, start: dt.date, end: dt.date) -> Counts:
    """Events that occurred from `start` to `end` (included) among `incidents` (a scoped
    queryset): all declared ones, the serious ones (referential), the near misses."""
    data = analysis_referential().data
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    found = list(
        incidents.filter(occurred_at__gte=since, occurred_at__lt=until).values_list(
            "consequence", flat=True
        )
    )
    return Counts(
        start,
        end,
        len(found),
        sum(c in data["serious_consequences"] for c in found),
        sum(c in data["near_miss_consequences"] for c in found),
    )


def last_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    end = today or timezone.localdate()
    return end - dt.timedelta(days=analysis_referential().data["period_days"] - 1), end


def system_counts(system, start: dt.date, end: dt.date) -> Counts:
    return counts(Incident.objects.within(ai_system=system), start, end)


def counts_text(found: Counts) -> str:
    return _(
        "du %(start)s au %(end)s : %(n)s événement(s) déclaré(s), dont %(serious)s grave(s) "
        "et %(near)s presque accident(s)"
    ) % {
        "start": date_format(found.start, "d/m/Y"),
        "end": date_format(found.end, "d/m/Y"),
        "n": found.declared,
        "serious": found.serious,
        "near": found.near_misses,
    }


# --- the failure mode and its occurrence ------------------------------------------------------


def failure_modes_for(system, linked_id: int | None = None):
    """The failure modes an event of `system` may be linked to: the rows of the analysis in
    force (the latest frozen one), else of the draft; and the row already linked, even of an
    older version (`linked_id`)."""
    analysis = risk_analyses.current(system) or risk_analyses.draft(system)
    rows = FailureMode.objects.within(analysis__ai_system=system)
    wanted = Q(analysis=analysis) if analysis else Q(pk__in=[])
    if linked_id:
        wanted |= Q(pk=linked_id)
    return rows.filter(wanted).select_related("analysis").order_by("analysis__number", "position")


def lineage_events(failure_mode: FailureMode, start: dt.date, end: dt.date) -> Counts:
    """Events of the system linked to the same failure mode (any version of the analysis),
    whose causal link with the system is not excluded."""
    incidents = (
        Incident.objects.within(ai_system=failure_mode.analysis.ai_system)
        .filter(failure_mode__lineage=failure_mode.lineage)
        .exclude(causal_link=CausalLink.EXCLUDED)
    )
    return counts(incidents, start, end)


def occurrence_for(scale_code: str, per_year: float) -> int | None:
    levels = analysis_referential().data["occurrence"].get(scale_code)
    if not levels:
        return None
    return max(level["value"] for level in levels if per_year >= level["per_year"])


def suggestion(incident: Incident, today: dt.date | None = None) -> dict | None:
    """The occurrence level the real events suggest for the incident's failure mode, with the
    basis written for the AMDEC; None without a linked failure mode or events."""
    row = incident.failure_mode
    if row is None:
        return None
    start, end = last_period(today)
    found = lineage_events(row, start, end)
    if not found.declared:
        return None
    days = (end - start).days + 1
    per_year = found.declared * 365 / days
    analysis = row.analysis
    level = occurrence_for(analysis.scale, per_year)
    if level is None:
        return None
    scale = risk_analyses.scale_of(analysis)
    current = row.residual_occurrence if row.residual_occurrence is not None else row.occurrence
    basis = _(
        "Événements indésirables liés à ce mode, %(counts)s (référentiel %(version)s) : "
        "fréquence %(level)s « %(label)s »."
    ) % {
        "counts": counts_text(found),
        "version": analysis_referential().version,
        "level": level,
        "label": scale.level_label("occurrence", level),
    }
    return {
        "counts": found,
        "text": counts_text(found),
        "level": level,
        "label": scale.level_label("occurrence", level),
        "current": current,
        "levels": scale.levels("occurrence"),
        "basis": basis,
        "row": row,
    }


def reestimate(incident: Incident, occurrence: int, user, basis: str) -> FailureMode:
    """Confirm an occurrence level for the incident's failure mode (the AMDEC draft row of
    its lineage gets it, `reestimate_occurrence`). ValueError if off the scale."""
    return risk_analyses.reestimate_occurrence(incident.failure_mode, occurrence, user, basis)


# --- corrective actions (governance, above, registers its panel) -----------------------------

_ACTION_PANELS: list[tuple[str, Callable]] = []


def register_actions(template: str, context: Callable) -> None:
    """The corrective actions of an incident are governance actions (`Action.incident`): the
    layer above registers the panel of the incident's page that lists them and opens one.
    `context(request, incident) -> dict | None` (None: nothing to show)."""
    if (template, context) not in _ACTION_PANELS:
        _ACTION_PANELS.append((template, context))


def action_panels(request, incident: Incident) -> list[dict]:
    panels = []
    for template, context in _ACTION_PANELS:
        values = context(request, incident)
        if values is not None:
            panels.append({"template": template, **values})
    return panels


# --- evidence for the decision grid's safety criterion ----------------------------------------


def criterion_evidence(system, periods: list[tuple[str, dt.date, dt.date]]) -> dict:
    """The event counts of each (label, start, end) period, for the criterion the risk
    referential names (`feeds_criterion`), beside the residual criticality."""
    url = reverse("incidents:system", args=[system.pk])
    items = [
        {"title": label, "text": counts_text(system_counts(system, start, end)), "url": url}
        for label, start, end in periods
    ]
    return {risk_referential().feeds_criterion: items}
