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

The pages, the API and the alert rules read the system's tally (`tally.py`: exact counts per
local day, the sorted decision times, the decision pairs) through `summarise_tally`; the
same rates computed by DuckDB over the raw events (`summarise`, `GROUPING SETS`) are the
reference the tests compare it with. No Python loop over events.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from garant.monitoring.engine.counts import local_days
from garant.oversight import referential, storage, tally
from garant.oversight.models import FeedbackBatch

OUTCOMES = tally.OUTCOMES
GROUPS = ("period", "service", "role", "reason")
TRUNC = {"day": "day", "week": "week", "month": "month"}
COLUMNS = tally.COLUMNS


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


EPOCH = dt.date(1970, 1, 1)


def _ordinal(day: dt.date) -> int:
    return (day - EPOCH).days


def _periods(days: np.ndarray, by: str) -> np.ndarray:
    """The first day (days since 1970-01-01) of each day's period (ISO week: Monday)."""
    if by == "day":
        return days
    if by == "week":
        return days - (days + 3) % 7  # 01/01/1970 was a Thursday
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def _medians(group: np.ndarray, ms: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Count and exact median (NumPy's: mean of the two middle values) of the values `ms`
    (sorted) of each group."""
    counts = np.bincount(group, minlength=groups)
    medians = np.full(groups, np.nan)
    if not len(ms):
        return counts, medians
    if groups == 1:
        order = None
    else:  # stable: each group's values stay sorted; radix sort on 16 bits
        kind = np.int16 if groups < 1 << 15 else np.int64
        order = np.argsort(group.astype(kind), kind="stable")
    starts = np.cumsum(counts) - counts
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    if order is not None:
        low, high = order[low], order[high]
    medians[has] = (ms[low].astype(np.float64) + ms[high]) / 2
    return counts, medians


def _rows(keys: dict[str, list], counts: np.ndarray, timed, medians, edit_n, edit_sum, blind):
    """The rows of one grouping set, with `_rates`' values computed on whole columns."""
    events = counts.sum(axis=1)
    shown = events - counts[:, 4]
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = counts / np.maximum(shown, 1)[:, None]
        not_shown = counts[:, 4] / np.maximum(events, 1)
        mean_edit = edit_sum / np.maximum(edit_n, 1)
    seconds = medians / 1000
    accepted = np.where(shown > 0, shares[:, 0], np.nan)
    blinds = (
        (shown >= blind["min_events"])
        & (shown > 0)
        & (accepted >= blind["min_acceptance"])
        & (timed >= blind["min_events"])
        & ~np.isnan(seconds)
        & (seconds <= blind["max_median_seconds"])
    )
    columns = {
        **keys,
        "events": events.tolist(),
        **{o: counts[:, i].tolist() for i, o in enumerate(OUTCOMES)},
        "timed_accepted": timed.tolist(),
        "mean_edit_ratio": [
            m if n else None for m, n in zip(mean_edit.tolist(), edit_n, strict=True)
        ],
        "shown": shown.tolist(),
        **{
            f"{o}_rate": [
                r if s else None for r, s in zip(shares[:, i].tolist(), shown, strict=True)
            ]
            for i, o in enumerate(OUTCOMES[:4])
        },
        "not_shown_rate": [
            r if e else None for r, e in zip(not_shown.tolist(), events, strict=True)
        ],
        "median_decision_seconds": [None if m != m else m for m in seconds.tolist()],
        "blind_acceptance": blinds.tolist(),
    }
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _kappas_tally(state: tally.Tally, lo: int, hi: int) -> dict:
    """`_kappas` from the tally's decision pairs: the same integer counts, the same floats."""
    pairs = state.pairs
    keep = (pairs["day"] >= lo) & (pairs["day"] < hi)
    service, ai, final, n = (pairs[k][keep] for k in ("service", "ai", "final", "n"))
    width = max(len(state.labels["decision"]), 1)

    def kappa(mine: np.ndarray) -> dict:
        count = int(n[mine].sum())
        if not count:
            return {"pairs": 0, "agreement": None, "kappa": None}
        rows = np.bincount(ai[mine], weights=n[mine], minlength=width).astype(np.int64)
        cols = np.bincount(final[mine], weights=n[mine], minlength=width).astype(np.int64)
        observed = int(n[mine & (ai == final)].sum()) / count
        expected = int((rows * cols).sum()) / (count * count)
        value = None if expected == 1 else (observed - expected) / (1 - expected)
        return {"pairs": count, "agreement": observed, "kappa": value}

    labels = state.labels["service"]
    services = sorted((labels[c], c) for c in np.unique(service).tolist())
    return {
        "total": kappa(np.ones(len(n), bool)),
        "by_service": [{"service": label, **kappa(service == c)} for label, c in services],
    }


def summarise_tally(
    state: tally.Tally, start: dt.date, end: dt.date, by: str = "week", blind: dict | None = None
) -> dict:
    """`summarise` of the events of the local days [start, end), from the tally."""
    blind = blind or referential.codes().blind
    lo, hi = _ordinal(start), _ordinal(end)
    first = int(_periods(np.array([lo], np.int64), by)[0])
    sets = {  # name: (cells of, keys)
        "total": ("service", ()),
        "by_period": ("service", ("period",)),
        "by_service": ("service", ("service",)),
        "by_role": ("role", ("role",)),
        "by_reason": ("reason", ("reason",)),
        "by_period_service": ("service", ("period", "service")),
    }
    times = state.times
    in_times = (times["day"] >= lo) & (times["day"] < hi)
    everything = bool(in_times.all())  # no copy of the decision times

    def timed_column(name: str) -> np.ndarray:
        return times[name] if everything else times[name][in_times]

    t_ms = timed_column("ms")
    t_period = _periods(timed_column("day").astype(np.int64), by) - first
    widest = max(len(state.labels[d]) for d in tally.DIMS) or 1
    narrow = np.int32 if (int(t_period.max(initial=0)) + 1) * widest < 1 << 31 else np.int64
    t_period = t_period.astype(narrow)  # 32 bits when it fits: half the memory to scan
    out: dict = {}
    for name, (dim, keys) in sets.items():
        cells = state.cells[dim]
        keep = (cells["day"] >= lo) & (cells["day"] < hi)
        period, code = _periods(cells["day"][keep], by) - first, cells["code"][keep]
        width = len(state.labels[dim]) or 1
        key = np.zeros(len(code), np.int64)
        t_key = np.zeros(len(t_ms), narrow)
        if "period" in keys:
            key, t_key = period * width, t_period * narrow(width)
        if dim in keys:
            key, t_key = key + code, t_key + timed_column(dim)
        present = np.bincount(key, minlength=1) > 0
        unique = np.flatnonzero(present)
        slot = np.zeros(len(present), np.int32)
        slot[unique] = np.arange(len(unique))
        groups = len(unique) if len(key) else 0
        group = slot[key]
        counts = np.zeros((groups, len(OUTCOMES)), np.int64)
        np.add.at(counts, (group, cells["outcome"][keep]), cells["n"][keep])
        edit_n = np.bincount(group, weights=cells["edit_n"][keep], minlength=groups)
        edit_sum = np.bincount(group, weights=cells["edit_sum"][keep], minlength=groups)
        timed, medians = _medians(slot[t_key] if groups else t_key, t_ms, groups)
        labels: dict[str, list] = {}
        if "period" in keys:
            labels["period"] = [
                EPOCH + dt.timedelta(days=first + v) for v in (unique // width).tolist()
            ]
        if dim in keys:
            labels[dim] = [state.labels[dim][v] for v in (unique % width).tolist()]
        rows = _rows(labels, counts, timed[:groups], medians[:groups], edit_n, edit_sum, blind)
        if dim in keys:  # text order, as the database sorts
            rows.sort(key=lambda r: (r.get("period"), r[dim]))
        out[name] = rows
    empty = {"events": 0, **dict.fromkeys(OUTCOMES, 0), "timed_accepted": 0, "median_ms": None}
    empty["mean_edit_ratio"] = None
    out["total"] = out["total"][0] if out["total"] else _rates(empty, blind)
    out["kappa"] = _kappas_tally(state, lo, hi)
    return out


def window_counts(system, start: dt.date, boundary: dt.date, end: dt.date) -> list[dict]:
    """Outputs shown, overridden and accepted of the local days [start, end) per window
    (``w`` 0: from `boundary`, 1: before) and service (None: the whole system; "—": events
    without a service), from the system's tally (the alert rules)."""
    state = tally.counts(system)
    cells = state.cells["service"]
    keep = (cells["day"] >= _ordinal(start)) & (cells["day"] < _ordinal(end))
    window = np.where(cells["day"][keep] >= _ordinal(boundary), 0, 1)
    code, outcome, n = cells["code"][keep], cells["outcome"][keep], cells["n"][keep]
    width = len(state.labels["service"]) or 1
    rows = []
    for by_service in (True, False):
        key = window * width + (code if by_service else 0)
        for value in np.unique(key).tolist():
            mine = key == value
            label = state.labels["service"][value % width] if by_service else None
            rows.append(
                {
                    "service": (label or "—") if by_service else None,
                    "w": value // width,
                    "shown": int(n[mine & (outcome != 4)].sum()),
                    "overridden": int(n[mine & (outcome == 2)].sum()),
                    "accepted": int(n[mine & (outcome == 0)].sum()),
                }
            )
    return rows


def system_summary(system, start: dt.date, end: dt.date, by: str = "week") -> dict:
    """The rates of one system over the local days [start, end), from its tally."""
    data = summarise_tally(tally.counts(system), start, end, by)
    data["period"] = {"start": start, "end": end - dt.timedelta(days=1), "by": by}
    return data
