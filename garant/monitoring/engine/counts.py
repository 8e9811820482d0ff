"""Aggregate first: reduce a prediction table to sufficient statistics with DuckDB.

One pass of DuckDB over the input (no Python loop over rows) produces, per day and per
subgroup:

* score counts: ``(day, groups…, q, label) -> n`` where ``q = round(score / quantum)`` is
  the score quantised to an integer and ``label`` is 0, 1 or null (outcome not yet known);
* feature counts, one table per feature: ``(day, groups…, value) -> n``, ``value`` null
  for a missing value.

Every metric of the engine is derived from these counts, and counts of two windows or two
sites merge by addition (:meth:`Counts.__add__`), so a week, a month or a group of sites is
a sum of days or sites.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_QUANTUM = 1e-4
PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class ColumnSpec:
    """Names of the columns of a prediction table.

    ``label`` holds the observed outcome: 1 (positive), 0 (negative) or null (not yet known:
    excluded from performance metrics, still counted in volume and drift).
    ``timezone`` is used to cut days when the timestamp column carries a time zone; naive
    timestamps are taken as local wall-clock time.
    """

    timestamp: str = "timestamp"
    score: str = "score"
    label: str = "label"
    numeric_features: tuple[str, ...] = ()
    categorical_features: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    timezone: str = "UTC"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_double(column: str) -> str:
    """The column as DOUBLE, NaN turned into null (a missing value)."""
    value = f"CAST({_ident(column)} AS DOUBLE)"
    return f"CASE WHEN isnan({value}) THEN NULL ELSE {value} END"


def _connect(timezone: str = "UTC") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{timezone.replace(chr(39), '')}'")
    return con


def sql(query: str, **tables) -> pa.Table:
    """Run ``query`` in a fresh in-memory DuckDB, with ``tables`` registered by name."""
    con = _connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(query).to_arrow_table()
    finally:
        con.close()


def _check_quantum(quantum: float) -> int:
    """Return ``1 / quantum``, which must be a whole number (1e-4 -> 10000)."""
    inverse = round(1 / quantum)
    if quantum <= 0 or not math.isclose(1 / quantum, inverse, rel_tol=1e-9):
        raise ValueError(f"quantum must be 1/k for a whole k, got {quantum!r}")
    return inverse


def _source(con: duckdb.DuckDBPyConnection, data) -> str:
    """Register ``data`` (Arrow table, dataset, reader, or a Parquet path) as ``src``."""
    if isinstance(data, str | Path):
        path = str(data).replace("'", "''")
        return f"read_parquet('{path}')"
    con.register("src", data)
    return "src"


def _where(spec: ColumnSpec, start: dt.date | None, end: dt.date | None) -> str:
    day = f"CAST({_ident(spec.timestamp)} AS DATE)"
    clauses = ["TRUE"]
    if start is not None:
        clauses.append(f"{day} >= DATE '{start.isoformat()}'")
    if end is not None:
        clauses.append(f"{day} < DATE '{end.isoformat()}'")
    return " AND ".join(clauses)


def aggregate(
    data,
    spec: ColumnSpec,
    quantum: float = DEFAULT_QUANTUM,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Counts:
    """Reduce the predictions of ``data`` with day in ``[start, end)`` to :class:`Counts`."""
    _check_quantum(quantum)
    con = _connect(spec.timezone)
    try:
        src = _source(con, data)
        where = _where(spec, start, end)
        groups = "".join(f", {_ident(g)}" for g in spec.groups)
        scores = con.sql(
            f"""
            SELECT CAST({_ident(spec.timestamp)} AS DATE) AS day{groups},
                   CAST(round({_as_double(spec.score)} / {quantum!r}) AS BIGINT) AS q,
                   CAST({_ident(spec.label)} AS TINYINT) AS label,
                   count(*) AS n
            FROM {src} WHERE {where}
            GROUP BY ALL
            """
        ).to_arrow_table()
        features = {}
        for name in spec.numeric_features + spec.categorical_features:
            numeric = name in spec.numeric_features
            value = _as_double(name) if numeric else f"CAST({_ident(name)} AS VARCHAR)"
            features[name] = con.sql(
                f"""
                SELECT CAST({_ident(spec.timestamp)} AS DATE) AS day{groups},
                       {value} AS value, count(*) AS n
                FROM {src} WHERE {where}
                GROUP BY ALL
                """
            ).to_arrow_table()
    finally:
        con.close()
    _validate(scores, spec, _check_quantum(quantum))
    return Counts(
        quantum=quantum,
        groups=tuple(spec.groups),
        scores=scores,
        features=features,
        categorical=frozenset(spec.categorical_features),
    )


def _validate(scores: pa.Table, spec: ColumnSpec, inverse_quantum: int) -> None:
    """Outcomes must be 0/1/null and scores in [0, 1]: anything else is a data error."""
    labels = set(pc.unique(scores["label"]).to_pylist()) - {None}
    if not labels <= {0, 1}:
        raise ValueError(f"column {spec.label!r} must hold 0, 1 or null, found {sorted(labels)}")
    bounds = pc.min_max(scores["q"]).as_py()
    if bounds["min"] is not None and (bounds["min"] < 0 or bounds["max"] > inverse_quantum):
        raise ValueError(f"column {spec.score!r} must hold scores in [0, 1]")


@dataclass(frozen=True)
class ScoreHistogram:
    """Counts per distinct quantised score ``q`` (sorted): positives, negatives, unknown.

    The score value is ``q * quantum`` (double precision). Rows with no score are counted in
    ``missing_score`` only.
    """

    quantum: float
    q: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray
    unlabeled: np.ndarray
    missing_score: int = 0

    @property
    def values(self) -> np.ndarray:
        return self.q * self.quantum

    @property
    def totals(self) -> np.ndarray:
        return self.positives + self.negatives + self.unlabeled


@dataclass(frozen=True)
class ValueHistogram:
    """Counts per distinct value of one variable (sorted), and the number of missing values."""

    name: str
    values: np.ndarray
    counts: np.ndarray
    missing: int
    categorical: bool = False

    @property
    def n(self) -> int:
        return int(self.counts.sum())


def _empty_histogram(quantum: float) -> ScoreHistogram:
    empty = np.zeros(0, dtype=np.int64)
    return ScoreHistogram(quantum, empty, empty, empty, empty)


def _sum_by(table: pa.Table, keys: Iterable[str]) -> pa.Table:
    keys = list(keys)
    if not keys:
        return sql("SELECT sum(n)::BIGINT AS n FROM t", t=table)
    cols = ", ".join(_ident(k) for k in keys)
    return sql(f"SELECT {cols}, sum(n)::BIGINT AS n FROM t GROUP BY ALL ORDER BY {cols}", t=table)


def _filter(table: pa.Table, mask) -> pa.Table:
    return table.filter(mask) if mask is not None else table


@dataclass(frozen=True)
class Counts:
    """Sufficient statistics of a prediction table, per day and subgroup.

    ``scores`` has columns ``day, <groups…>, q, label, n``; each table of ``features`` has
    ``day, <groups…>, value, n``. Counts merge by addition and filter by window or group.
    """

    quantum: float
    groups: tuple[str, ...]
    scores: pa.Table
    features: Mapping[str, pa.Table] = field(default_factory=dict)
    categorical: frozenset[str] = frozenset()

    def __add__(self, other: Counts) -> Counts:
        """Merge two sets of counts (two windows, two sites): counts of equal keys add up."""
        if other.quantum != self.quantum or other.groups != self.groups:
            raise ValueError("counts with different quantum or subgroup columns cannot merge")
        if set(other.features) != set(self.features):
            raise ValueError("counts with different features cannot merge")
        keys = ["day", *self.groups]

        def merge(a: pa.Table, b: pa.Table, last: list[str]) -> pa.Table:
            both = pa.concat_tables([a, b.cast(a.schema)])
            return _sum_by(both, keys + last)

        return Counts(
            quantum=self.quantum,
            groups=self.groups,
            scores=merge(self.scores, other.scores, ["q", "label"]),
            features={
                name: merge(t, other.features[name], ["value"]) for name, t in self.features.items()
            },
            categorical=self.categorical,
        )

    def _map(self, mask_of) -> Counts:
        return Counts(
            quantum=self.quantum,
            groups=self.groups,
            scores=_filter(self.scores, mask_of(self.scores)),
            features={n: _filter(t, mask_of(t)) for n, t in self.features.items()},
            categorical=self.categorical,
        )

    def window(self, start: dt.date | None = None, end: dt.date | None = None) -> Counts:
        """Keep the days in ``[start, end)`` (either bound may be open)."""

        def mask(table: pa.Table):
            conditions = []
            if start is not None:
                conditions.append(pc.greater_equal(table["day"], pa.scalar(start)))
            if end is not None:
                conditions.append(pc.less(table["day"], pa.scalar(end)))
            if not conditions:
                return None
            return conditions[0] if len(conditions) == 1 else pc.and_(*conditions)

        return self._map(mask)

    def where(self, **values) -> Counts:
        """Keep one subgroup, e.g. ``counts.where(site="A", sex="F")`` (None matches null)."""
        unknown = set(values) - set(self.groups)
        if unknown:
            raise ValueError(f"not subgroup columns: {sorted(unknown)}")

        def mask(table: pa.Table):
            result = None
            for column, value in values.items():
                if value is None:
                    condition = pc.is_null(table[column])
                else:
                    condition = pc.fill_null(pc.equal(table[column], pa.scalar(value)), False)
                result = condition if result is None else pc.and_(result, condition)
            return result

        return self._map(mask)

    def group_keys(self, columns: Iterable[str]) -> list[dict[str, object]]:
        """The distinct values of the subgroup ``columns`` present in the counts."""
        columns = list(columns)
        table = _sum_by(self.scores, columns)
        return [{c: row[c] for c in columns} for row in table.to_pylist()]

    def score_histogram(self) -> ScoreHistogram:
        """Sum the score counts over windows and subgroups into one :class:`ScoreHistogram`."""
        histograms = self.score_histograms_by(())
        return histograms.get((), _empty_histogram(self.quantum))

    def score_histograms_by(self, columns: Iterable[str]) -> dict[tuple, ScoreHistogram]:
        """One :class:`ScoreHistogram` per distinct value of the subgroup ``columns``.

        Keys are tuples of the columns' values (``()`` when ``columns`` is empty), sorted.
        """
        columns = list(columns)
        keys = "".join(f"{_ident(c)}, " for c in columns)
        order = ", ".join(_ident(c) for c in columns) or "1"
        table = sql(
            f"""
            SELECT dense_rank() OVER (ORDER BY {order}) - 1 AS gid, * FROM (
                SELECT {keys} q,
                       coalesce(sum(n) FILTER (WHERE label = 1), 0)::BIGINT AS pos,
                       coalesce(sum(n) FILTER (WHERE label = 0), 0)::BIGINT AS neg,
                       coalesce(sum(n) FILTER (WHERE label IS NULL), 0)::BIGINT AS unl
                FROM t GROUP BY ALL
            ) ORDER BY gid, q NULLS LAST
            """,
            t=self.scores,
        )
        if table.num_rows == 0:
            return {}
        arrays = {
            name: table[name].fill_null(-1).to_numpy().astype(np.int64)
            for name in ("gid", "q", "pos", "neg", "unl")
        }
        is_missing = table["q"].is_null().to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(np.diff(arrays["gid"], prepend=-1))
        bounds = zip(starts, [*starts[1:], table.num_rows], strict=True)
        key_columns = [table[c] for c in columns]
        result = {}
        for start, end in bounds:
            key = tuple(column[int(start)].as_py() for column in key_columns)
            present = slice(start, end)
            keep = ~is_missing[present]
            missing = (arrays["pos"] + arrays["neg"] + arrays["unl"])[present][~keep].sum()
            result[key] = ScoreHistogram(
                quantum=self.quantum,
                q=arrays["q"][present][keep],
                positives=arrays["pos"][present][keep],
                negatives=arrays["neg"][present][keep],
                unlabeled=arrays["unl"][present][keep],
                missing_score=int(missing),
            )
        return result

    def value_histogram(self, name: str) -> ValueHistogram:
        """Sum the counts of one feature over windows and subgroups."""
        if name not in self.features:
            raise KeyError(f"feature not aggregated: {name!r}")
        table = sql(
            "SELECT value, sum(n)::BIGINT AS n FROM t GROUP BY value ORDER BY value NULLS LAST",
            t=self.features[name],
        )
        missing = 0
        if table.num_rows and table["value"].null_count:
            missing = table["n"][table.num_rows - 1].as_py()
            table = table.slice(0, table.num_rows - 1)
        categorical = name in self.categorical
        values = table["value"].to_numpy(zero_copy_only=False)
        if categorical:
            values = values.astype(object)
        return ValueHistogram(
            name=name,
            values=values,
            counts=table["n"].to_numpy().astype(np.int64),
            missing=int(missing),
            categorical=categorical,
        )

    def volume(self, period: str = "day") -> list[tuple[dt.date, int]]:
        """Number of predictions per period start (``day``, ``week`` from Monday, ``month``).

        Periods with no prediction between the first and the last are included with 0.
        """
        if period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}")
        table = sql(
            f"SELECT CAST(date_trunc('{period}', day) AS DATE) AS p, sum(n)::BIGINT AS n "
            "FROM t GROUP BY p ORDER BY p",
            t=self.scores,
        )
        observed = {row["p"]: row["n"] for row in table.to_pylist()}
        if not observed:
            return []
        return [(p, observed.get(p, 0)) for p in _calendar(min(observed), max(observed), period)]


def _calendar(first: dt.date, last: dt.date, period: str) -> list[dt.date]:
    """Every period start from ``first`` to ``last`` (both already period starts)."""
    starts, current = [], first
    while current <= last:
        starts.append(current)
        if period == "day":
            current += dt.timedelta(days=1)
        elif period == "week":
            current += dt.timedelta(weeks=1)
        else:
            year, month = divmod(current.month, 12)
            current = dt.date(current.year + year, month + 1, 1)
    return starts
