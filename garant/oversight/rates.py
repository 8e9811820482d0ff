"""What the feedback events show: rates per system, service, role, reason and period, the
blind-acceptance indicator, and the agreement between the AI and the final human decision.

Definitions (docs/oversight.md), over the events of a period (local days, Europe/Paris):

* the outputs *shown* are the events whose outcome is not ``not_shown``;
* acceptance, modification, override and ignored rates: accepted, modified, overridden,
  ignored over the outputs shown; the not-shown rate: not shown over all events;
* per reason: the events that carry the reason code, with the same rates;
* blind acceptance suspected (thresholds of the referential, `blind_acceptance`): at least
  ``min_events`` outputs shown, an acceptance rate of at least ``min_acceptance`` and a
  median decision time of the accepted outputs (when sent, over at least ``min_events``)
  of at most ``max_median_seconds``;
* Cohen's kappa between ``ai_decision`` and ``final_decision`` over the events carrying both:
  κ = (pₒ − pₑ) / (1 − pₑ), pₒ the share of agreement, pₑ the agreement expected by chance
  from the two margins; undefined (None) when pₑ = 1.

Everything is computed by DuckDB in one pass over the Arrow columns (`GROUPING SETS`); no
Python loop over events.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from garant.monitoring.engine.counts import local_days
from garant.oversight import referential, storage
from garant.oversight.models import FeedbackBatch

OUTCOMES = ("accepted", "modified", "overridden", "ignored", "not_shown")
GROUPS = ("period", "service", "role", "reason")
TRUNC = {"day": "day", "week": "week", "month": "month"}
COLUMNS = [
    "time",
    "outcome",
    "reason",
    "role",
    "service",
    "decision_ms",
    "edit_ratio",
    "ai_decision",
    "final_decision",
]


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(settings.TIME_ZONE))


def events(system, start: dt.date | None = None, end: dt.date | None = None) -> pa.Table:
    """The system's committed events of the local days [start, end)."""
    return storage.read(
        system.establishment_id,
        FeedbackBatch.committed_ids(system.establishment),
        [system.pk],
        None if start is None else local_midnight(start),
        None if end is None else local_midnight(end),
        columns=COLUMNS,
    )


def _rates(row: dict, blind: dict) -> dict:
    shown = row["events"] - row["not_shown"]
    row["shown"] = shown
    for outcome in OUTCOMES[:4]:
        row[f"{outcome}_rate"] = row[outcome] / shown if shown else None
    row["not_shown_rate"] = row["not_shown"] / row["events"] if row["events"] else None
    median = row.pop("median_ms")
    row["median_decision_seconds"] = None if median is None else median / 1000
    row["blind_acceptance"] = bool(
        shown >= blind["min_events"]
        and row["accepted_rate"] is not None
        and row["accepted_rate"] >= blind["min_acceptance"]
        and row["timed_accepted"] >= blind["min_events"]
        and row["median_decision_seconds"] is not None
        and row["median_decision_seconds"] <= blind["max_median_seconds"]
    )
    return row


def _encoded(table: pa.Table) -> pa.Table:
    """The events with their local day (NumPy, from the time zone's offsets) and their text
    columns dictionary-encoded: DuckDB groups enums several times faster than text."""
    columns = {}
    for name in table.column_names:
        column = table[name]
        columns[name] = pc.dictionary_encode(column) if pa.types.is_string(column.type) else column
    days = local_days(table["time"], settings.TIME_ZONE).astype("datetime64[D]")
    columns["day"] = pa.array(days, pa.date32())
    return pa.table(columns)


def summarise(table: pa.Table, by: str = "week", blind: dict | None = None) -> dict:
    """Every rate of `table` (events): overall, per period (`by`: day, week or month), per
    service, role and reason, per period and service, and the kappa (overall, per service)."""
    blind = blind or referential.codes().blind
    con = storage.duckdb_connection()
    try:
        con.register("events", _encoded(table))
        counts = ", ".join(f"count(*) FILTER (WHERE outcome = '{o}') AS {o}" for o in OUTCOMES)
        result = con.sql(
            f"""
            WITH e AS (
              SELECT date_trunc('{TRUNC[by]}', day)::DATE AS period,
                     coalesce(service, '') AS service, coalesce(role, '') AS role,
                     coalesce(reason, '') AS reason, outcome, decision_ms, edit_ratio
              FROM events)
            SELECT grouping(period, service, role, reason) AS g,
                   period, service, role, reason, count(*) AS events, {counts},
                   count(decision_ms) FILTER (WHERE outcome = 'accepted') AS timed_accepted,
                   median(decision_ms) FILTER (WHERE outcome = 'accepted') AS median_ms,
                   avg(edit_ratio) FILTER (WHERE outcome = 'modified') AS mean_edit_ratio
            FROM e
            GROUP BY GROUPING SETS ((), (period), (service), (role), (reason), (period, service))
            ORDER BY g, period, service, role, reason
            """
        ).to_arrow_table()
        agreement = con.sql(
            """
            SELECT coalesce(service, '') AS service, ai_decision, final_decision,
                   count(*) AS n
            FROM events WHERE ai_decision IS NOT NULL AND final_decision IS NOT NULL
            GROUP BY ALL
            """
        ).to_arrow_table()
    finally:
        con.close()
    # grouping() sets a bit per column *not* grouped: period = 8, service = 4, role = 2, reason = 1
    sets = {
        15: ("total", ()),
        7: ("by_period", ("period",)),
        11: ("by_service", ("service",)),
        13: ("by_role", ("role",)),
        14: ("by_reason", ("reason",)),
        3: ("by_period_service", ("period", "service")),
    }
    out: dict = {name: [] for name, _keys in sets.values()}
    for row in result.to_pylist():
        name, keys = sets[row.pop("g")]
        kept = {k: v for k, v in row.items() if k not in GROUPS or k in keys}
        out[name].append(_rates(kept, blind))
    empty = {"events": 0, **dict.fromkeys(OUTCOMES, 0), "timed_accepted": 0, "median_ms": None}
    empty["mean_edit_ratio"] = None
    out["total"] = out["total"][0] if out["total"] else _rates(empty, blind)
    out["kappa"] = _kappas(agreement)
    return out


def _kappas(agreement: pa.Table) -> dict:
    rows = agreement.to_pylist()
    overall: dict[tuple[str, str], int] = {}
    services: dict[str, dict[tuple[str, str], int]] = {}
    for row in rows:
        pair = (row["ai_decision"], row["final_decision"])
        overall[pair] = overall.get(pair, 0) + row["n"]
        cell = services.setdefault(row["service"], {})
        cell[pair] = cell.get(pair, 0) + row["n"]
    return {
        "total": cohen_kappa(overall),
        "by_service": [{"service": s, **cohen_kappa(c)} for s, c in sorted(services.items())],
    }


def cohen_kappa(pairs: dict[tuple[str, str], int]) -> dict:
    """Cohen's kappa of a contingency table {(AI decision, human decision): count}."""
    n = sum(pairs.values())
    if not n:
        return {"pairs": 0, "agreement": None, "kappa": None}
    rows: dict[str, int] = {}
    cols: dict[str, int] = {}
    for (a, b), count in pairs.items():
        rows[a] = rows.get(a, 0) + count
        cols[b] = cols.get(b, 0) + count
    observed = sum(count for (a, b), count in pairs.items() if a == b) / n
    expected = sum(rows[k] * cols.get(k, 0) for k in rows) / (n * n)
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return {"pairs": n, "agreement": observed, "kappa": kappa}


def system_summary(system, start: dt.date, end: dt.date, by: str = "week") -> dict:
    """The rates of one system over the local days [start, end)."""
    data = summarise(events(system, start, end), by)
    data["period"] = {"start": start, "end": end - dt.timedelta(days=1), "by": by}
    return data
