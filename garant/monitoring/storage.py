"""Delta Lake tables of the monitoring feeds: one table per feed and kind, on local disk.

Layout: ``GARANT_MONITORING_DIR/<feed id>/predictions`` and ``…/outcomes`` (or the same under
``GARANT_MONITORING_TABLES``, an object-storage URI, see settings.py), partitioned by
``month`` (YYYY-MM, UTC) of the prediction time or of the outcome time. Columns have canonical
names (the feed's own names are mapped at ingestion, see `ingest.py`):

* predictions: ``prediction_id, timestamp (UTC), patient_id, score, model_version``, the
  feed's numeric features (double), categorical features and subgroups (text), ``batch_id``,
  ``month``;
* outcomes: ``prediction_id, outcome (0/1), outcome_time (UTC), patient_id`` (when sent),
  ``batch_id``, ``month``.

Column statistics are kept for the time columns only, so no identifier is copied into the
Delta log; an erasure rewrites the (month, batch) files it touches (the log records which
months and batches, nothing about the patient) and its audit record holds a keyed hash (HMAC) of the identifier only.

Files rewritten by delta-rs itself (a delete) may hold other physical types (``string_view``,
``large_string``): every read casts to the canonical schema, and no scan filters a text
column, so any mix of files written over time reads the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import ColumnProperties, DeltaTable, WriterProperties, write_deltalake
from django.conf import settings

from garant.core.audit import record_event
from garant.core.locks import FileCache, file_lock
from garant.monitoring import engine

KINDS = ("predictions", "outcomes")
UTC = pa.timestamp("us", tz="UTC")
STATS_COLUMNS = {"predictions": "timestamp", "outcomes": "outcome_time"}
TIME_COLUMN = STATS_COLUMNS


def schema(feed, kind: str) -> pa.Schema:
    """The columns of a feed's table of `kind`, in order."""
    if kind == "predictions":
        fields = [
            ("prediction_id", pa.string()),
            ("timestamp", UTC),
            ("patient_id", pa.string()),
            ("score", pa.float64()),
            ("model_version", pa.string()),
            *((name, pa.float64()) for name in feed.feature_columns),
            *((name, pa.string()) for name in feed.categorical_columns),
            *((name, pa.string()) for name in feed.stored_subgroup_columns),
        ]
    elif kind == "outcomes":
        fields = [
            ("prediction_id", pa.string()),
            ("outcome", pa.int8()),
            ("outcome_time", UTC),
            ("patient_id", pa.string()),
        ]
    else:
        raise ValueError(f"kind must be one of {KINDS}")
    return pa.schema([*fields, ("batch_id", pa.int64()), ("month", pa.string())])


def table_path(feed, kind: str) -> Path:
    """The local folder of a feed's table (when no object storage is configured)."""
    return Path(settings.GARANT_MONITORING_DIR) / str(feed.pk) / kind


def table_uri(feed, kind: str) -> str:
    """Where a feed's table is: ``GARANT_MONITORING_TABLES/<feed>/<kind>`` when set (object
    storage), else its local folder."""
    base = settings.GARANT_MONITORING_TABLES
    if not base:
        return str(table_path(feed, kind))
    return f"{base.rstrip('/')}/{feed.pk}/{kind}"


def _options() -> dict | None:
    return dict(settings.GARANT_MONITORING_STORAGE_OPTIONS) or None


def _delta(feed, kind: str) -> DeltaTable | None:
    uri, options = table_uri(feed, kind), _options()
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        return None
    return DeltaTable(uri, storage_options=options)


def with_month(table: pa.Table, kind: str) -> pa.Table:
    """The table with its ``month`` partition column (YYYY-MM of the UTC time)."""
    days = engine.counts.local_days(table[TIME_COLUMN[kind]], "UTC")
    months = engine.counts.to_units(days, "month")
    first = int(months.min()) if len(months) else 0
    names = [
        engine.counts.month_start(m).strftime("%Y-%m")
        for m in range(first, int(months.max()) + 1 if len(months) else 0)
    ]
    month = pa.DictionaryArray.from_arrays(pa.array(months - first), pa.array(names, pa.string()))
    return table.append_column("month", month.cast(pa.string()))


def _writer_properties(kind: str) -> WriterProperties:
    """Statistics on the time column only (the Delta log's data skipping, and no identifier
    copied into it); no dictionary for the identifiers, which are all different."""
    plain = ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE")
    return WriterProperties(
        compression="SNAPPY",
        default_column_properties=ColumnProperties(statistics_enabled="NONE"),
        column_properties={
            "prediction_id": plain,
            "patient_id": plain,
            TIME_COLUMN[kind]: ColumnProperties(statistics_enabled="CHUNK"),
        },
    )


def append(feed, kind: str, table: pa.Table) -> None:
    """Append normalised rows (every column of `schema` but ``month``) in one Delta commit."""
    table = with_month(table, kind).select(schema(feed, kind).names).cast(schema(feed, kind))
    if not settings.GARANT_MONITORING_TABLES:
        table_path(feed, kind).mkdir(parents=True, exist_ok=True)
    with tables_lock(feed):
        write_deltalake(
            table_uri(feed, kind),
            table.to_reader(max_chunksize=1 << 20),  # streamed: faster than one table at 10M
            storage_options=_options(),
            partition_by=["month"],
            mode="append",
            configuration={"delta.dataSkippingStatsColumns": STATS_COLUMNS[kind]},
            writer_properties=_writer_properties(kind),
        )


def remove_batch(feed, kind: str, batch_id: int) -> None:
    """Delete the rows of one batch (its database row could not be committed)."""
    delta = _delta(feed, kind)
    if delta is not None:
        delta.delete(f"batch_id = {int(batch_id)}")


def _committed_rows(feed, kind: str) -> ds.Expression:
    """Rows of committed batches only. A process killed between its Delta commit and its
    database commit leaves rows whose batch has no `IngestBatch`: readers never see them."""
    from garant.monitoring.models import IngestBatch

    ids = IngestBatch.objects.within(feed=feed).filter(kind=kind).values_list("pk", flat=True)
    return ds.field("batch_id").isin(pa.array(list(ids), pa.int64()))


def remove_leftovers(feed, kind: str, batch_id: int) -> None:
    """Delete rows already tagged `batch_id` before a new batch with that id is appended: left
    by a process killed before its database commit (SQLite gives a rolled-back id again)."""
    delta = _delta(feed, kind)
    if delta is not None and delta.to_pyarrow_dataset().count_rows(
        filter=ds.field("batch_id") == int(batch_id)
    ):
        delta.delete(f"batch_id = {int(batch_id)}")


def _month(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m")


def _utc(value: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a time zone")
    return value.astimezone(dt.UTC)


def read(feed, kind: str, start=None, end=None, columns: list[str] | None = None) -> pa.Table:
    """Rows of the feed's `kind` table with time in [start, end) (dates mean 00:00 UTC)."""
    delta = _delta(feed, kind)
    if delta is None:
        table = schema(feed, kind).empty_table()
        return table.select(columns) if columns else table
    time = ds.field(TIME_COLUMN[kind])
    condition = _committed_rows(feed, kind)

    def both(a, b):
        return b if a is None else a & b

    if start is not None:
        start = _utc(start)
        condition = both(condition, ds.field("month") >= _month(start))
        condition = both(condition, time >= pa.scalar(start, UTC))
    if end is not None:
        end = _utc(end)
        condition = both(condition, ds.field("month") <= _month(end))
        condition = both(condition, time < pa.scalar(end, UTC))
    return canonical(
        delta.to_pyarrow_dataset().to_table(columns=columns, filter=condition), feed, kind
    )


def canonical(table: pa.Table, feed, kind: str) -> pa.Table:
    """`table` with the canonical types of its columns, whatever the files held (delta-rs
    rewrites text as ``string_view``)."""
    wanted = schema(feed, kind)
    fields = [
        wanted.field(name) if name in wanted.names else table.schema.field(name)
        for name in table.column_names
    ]
    target = pa.schema(fields)
    return table if table.schema.equals(target) else table.cast(target)


def known_ids(feed, kind: str, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Those of `ids` already stored in the feed's `kind` table."""
    delta = _delta(feed, kind)
    if delta is None:  # a first batch: no copy of its ids into one array (0.3 s at 10M)
        return pa.array([], pa.string())
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    # the text column is compared once read, not in the scan (files of other string types)
    stored = delta.to_pyarrow_dataset().to_table(
        columns=["prediction_id"], filter=_committed_rows(feed, kind)
    )
    stored = canonical(stored, feed, kind)["prediction_id"]
    return stored.filter(pc.is_in(stored, ids)).combine_chunks()


def joined(feed, start=None, end=None, ordered: bool = True) -> pa.Table:
    """Predictions of [start, end) with their outcome as ``label``, in the engine's layout.

    An outcome counts when its time is within [prediction time, prediction time + window];
    if several do, the earliest. Otherwise ``label`` is null: not yet known. Rows are sorted
    by time and id when ``ordered``; otherwise they keep the tables' order (cheaper; logs
    appended in time order stay nearly so, which the engine counts fastest).
    """
    predictions = read(feed, "predictions", start, end)
    outcome_end = None if end is None else _utc(end) + dt.timedelta(hours=feed.outcome_window_hours)
    outcomes = read(
        feed, "outcomes", start, outcome_end, columns=["prediction_id", "outcome", "outcome_time"]
    )
    table = _labelled(feed, predictions.drop_columns(["batch_id", "month"]), outcomes)
    if ordered:
        table = table.sort_by([("timestamp", "ascending"), ("prediction_id", "ascending")])
    return table


def outcomes_outside_window(feed, start=None, end=None) -> dict:
    """Outcomes received for the predictions of [start, end) that fell outside the window
    [prediction time, prediction time + window], hence never counted: before the prediction,
    or after the window. Reads the two id and time columns of the period's predictions and
    of the outcomes."""
    predictions = read(feed, "predictions", start, end, columns=["prediction_id", "timestamp"])
    outcomes = read(feed, "outcomes", columns=["prediction_id", "outcome_time"])
    found = {"hours": feed.outcome_window_hours, "outcomes": 0, "outside": 0}
    found.update(before_prediction=0, after_window=0)
    if not predictions.num_rows or not outcomes.num_rows:
        return found
    con = duckdb_connection()
    try:
        con.register("p", predictions)
        con.register("o", outcomes)
        [(total, before, late)] = con.sql(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE o.outcome_time < p.timestamp),
                   count(*) FILTER (WHERE o.outcome_time >
                       p.timestamp + INTERVAL {int(feed.outcome_window_hours)} HOUR)
            FROM p JOIN o ON o.prediction_id = p.prediction_id
            """
        ).fetchall()
    finally:
        con.close()
    found.update(outcomes=total, outside=before + late, before_prediction=before)
    found.update(after_window=late)
    return found


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection, without the progress bar it prints on long queries."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _labelled(feed, predictions: pa.Table, outcomes: pa.Table) -> pa.Table:
    """``predictions`` (in their order) with the ``label`` of their outcome, null when none."""
    label = pa.nulls(predictions.num_rows, pa.int8())
    if outcomes.num_rows and predictions.num_rows:
        con = duckdb_connection()
        try:
            con.register("p", predictions.select(["prediction_id", "timestamp"]))
            con.register("o", outcomes)
            matched = con.sql(
                f"""
                SELECT p.prediction_id, CAST(arg_min(o.outcome, o.outcome_time) AS TINYINT) AS label
                FROM p JOIN o ON o.prediction_id = p.prediction_id
                 AND o.outcome_time >= p.timestamp
                 AND o.outcome_time <= p.timestamp + INTERVAL {int(feed.outcome_window_hours)} HOUR
                GROUP BY p.prediction_id
                """
            ).to_arrow_table()
        finally:
            con.close()
        where = pc.index_in(predictions["prediction_id"], value_set=matched["prediction_id"])
        label = pc.take(matched["label"], where)
    return predictions.append_column("label", label)


def feed_report(feed, start: dt.date | None = None, end: dt.date | None = None):
    """The engine's performance figures of the feed over the local days [start, end)."""
    window = counts(feed).window(start, end)
    return engine.performance(window.score_histogram(), threshold=feed.operating_threshold)


# --- the monitoring state: counts per local day, kept up to date ------------------------------
#
# The state of a feed is its predictions joined to their outcomes, reduced by the engine to
# counts per local day (Europe/Paris) and slice, saved in ``<feed>/state.npz``. Every page,
# report and alert reads it instead of the Delta tables. It records the ids of the committed
# batches it counts; a batch committed since is counted by re-counting the days it touches
# (`sync_state`), a change of the feed's columns or an erasure rebuilds it. Being derived
# from the Delta tables, it can always be rebuilt (`garant monitor state --rebuild`).

STATE_FILE = "state.npz"
MODEL_VERSION = "model_version"
_cache = FileCache()  # the states last read, while their file is unchanged


def state_path(feed) -> Path:
    return Path(settings.GARANT_MONITORING_DIR) / str(feed.pk) / STATE_FILE


def state_spec(feed) -> engine.ColumnSpec:
    return replace(feed.column_spec(settings.TIME_ZONE), extra_columns=(MODEL_VERSION,))


def _signature(feed) -> str:
    spec = state_spec(feed)
    described = {
        "format": engine.counts.STATE_FORMAT,
        "spec": [spec.numeric_features, spec.categorical_features, spec.groups, spec.timezone],
        "quantum": feed.quantum,
        "outcome_window_hours": feed.outcome_window_hours,
    }
    return hashlib.sha256(json.dumps(described, default=list).encode()).hexdigest()


def _state_lock(feed):
    """One writer of a feed's state at a time, across processes (POSIX advisory lock)."""
    return file_lock(state_path(feed).with_suffix(".lock"))


def _load_state(feed) -> engine.Counts | None:
    """The feed's saved state, or None when missing or unreadable (rebuilt by the caller)."""
    return _cache.get(feed.pk, state_path(feed), engine.load)


def _committed(feed) -> dict[int, tuple]:
    from garant.monitoring.models import IngestBatch

    rows = IngestBatch.objects.within(feed=feed).values_list(
        "pk", "kind", "first_time", "last_time"
    )
    return {pk: (kind, first, last) for pk, kind, first, last in rows}


def _local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _count_days(feed, start: dt.date | None = None, end: dt.date | None = None) -> engine.Counts:
    """Counts of the local days [start, end) read from the Delta tables (all when open)."""
    table = joined(
        feed,
        None if start is None else _local_midnight(start),
        None if end is None else _local_midnight(end),
        ordered=False,
    )
    return engine.aggregate(table, state_spec(feed), quantum=feed.quantum, start=start, end=end)


def _save(feed, state: engine.Counts, batches) -> engine.Counts:
    state = replace(state, info={"signature": _signature(feed), "batches": sorted(batches)})
    state.save(state_path(feed))
    _cache.forget(feed.pk)
    return state


def rebuild_state(feed) -> engine.Counts:
    """Count everything again from the Delta tables."""
    with _state_lock(feed):
        batches = _committed(feed)
        return _save(feed, _count_days(feed), batches)


def _days_touched(feed, batches: list[tuple]) -> tuple[dt.date, dt.date] | None:
    """The local days whose counts the batches may change, as [first, last + 1)."""
    window = dt.timedelta(hours=feed.outcome_window_hours)
    firsts, lasts = [], []
    for kind, first, last in batches:
        if first is None or last is None:
            return None  # period unknown (older batch): count everything
        firsts.append(first - window if kind == "outcomes" else first)
        lasts.append(last)
    return _local_day(min(firsts)), _local_day(max(lasts)) + dt.timedelta(days=1)


@dataclass
class Precount:
    """A predictions batch's rows and the state counts of its days, computed before its
    commit from the outcomes committed then (``outcome_batches``)."""

    rows: pa.Table
    start: dt.date
    end: dt.date
    outcome_batches: frozenset[int]
    counts: Future

    def current(self, feed) -> engine.Counts:
        """The counts, or counted again if outcomes were committed in the meantime."""
        if self.outcome_batches == _outcome_batches(feed):
            return self.counts.result()
        return _count_rows(feed, self.rows, self.start, self.end)


def _outcome_batches(feed) -> frozenset[int]:
    return frozenset(pk for pk, (kind, *_) in _committed(feed).items() if kind == "outcomes")


def precount(feed, predictions: pa.Table, pool) -> Precount:
    """Start counting a predictions batch's days on ``pool`` (database and files read here,
    in the calling thread; the counting itself in the pool)."""
    times = pc.min_max(predictions["timestamp"]).as_py()
    start, end = _local_day(times["min"]), _local_day(times["max"]) + dt.timedelta(days=1)
    seen = _outcome_batches(feed)
    outcomes = _outcomes_for(feed, start, end)
    spec, quantum = state_spec(feed), feed.quantum

    def count() -> engine.Counts:
        table = _labelled(feed, predictions, outcomes)
        return engine.aggregate(table, spec, quantum=quantum, start=start, end=end)

    return Precount(predictions, start, end, seen, pool.submit(count))


def sync_state(feed, batch: tuple[int, Precount] | None = None) -> engine.Counts:
    """The state, first brought up to date with the batches committed since it was saved.

    ``batch`` is ``(id, precount)`` of a predictions batch just committed by this process:
    when it is the only one missing and no other predictions batch has rows on its days,
    those days' counts are taken from it instead of being read back from the Delta table.
    """
    state = _load_state(feed)
    committed = _committed(feed)
    if _fresh(feed, state, committed):
        return state
    with _state_lock(feed):
        state, committed = _load_state(feed), _committed(feed)
        if _fresh(feed, state, committed):
            return state
        if state is None and batch is not None and set(committed) == {batch[0]}:
            empty = engine.empty_counts(state_spec(feed), feed.quantum)  # the feed's first batch
            state = replace(empty, info={"signature": _signature(feed), "batches": []})
        included = set(state.info.get("batches", ())) if state is not None else set()
        if state is None or state.info.get("signature") != _signature(feed):
            return _save(feed, _count_days(feed), committed)
        if included - set(committed):  # a batch counted is gone: count everything again
            return _save(feed, _count_days(feed), committed)
        missing = set(committed) - included
        touched = _days_touched(feed, [committed[pk] for pk in missing])
        if touched is None:
            return _save(feed, _count_days(feed), committed)
        start, end = touched
        if batch is not None and missing == {batch[0]} and _alone(feed, committed, batch[0]):
            fresh = batch[1].current(feed)
        else:
            fresh = _count_days(feed, start, end)
        return _save(feed, state.spliced(start, end, fresh), committed)


def _alone(feed, committed: dict, batch_id: int) -> bool:
    """Whether the predictions batch is the only one with rows on its local days."""
    kind, first, last = committed[batch_id]
    if kind != "predictions" or first is None:
        return False
    low, high = _local_day(first), _local_day(last)
    for pk, (other, a, b) in committed.items():
        overlaps = a is None or (_local_day(a) <= high and _local_day(b) >= low)
        if pk != batch_id and other == "predictions" and overlaps:
            return False
    return True


def _outcomes_for(feed, start: dt.date, end: dt.date) -> pa.Table:
    return read(
        feed,
        "outcomes",
        _local_midnight(start),
        _local_midnight(end) + dt.timedelta(hours=feed.outcome_window_hours),
        columns=["prediction_id", "outcome", "outcome_time"],
    )


def _count_rows(feed, predictions: pa.Table, start: dt.date, end: dt.date) -> engine.Counts:
    """Counts of a batch's predictions (the days [start, end)), labelled by stored outcomes."""
    table = _labelled(feed, predictions, _outcomes_for(feed, start, end))
    return engine.aggregate(table, state_spec(feed), quantum=feed.quantum, start=start, end=end)


def _fresh(feed, state, committed) -> bool:
    return (
        state is not None
        and state.info.get("signature") == _signature(feed)
        and set(state.info.get("batches", ())) == set(committed)
    )


def counts(feed) -> engine.Counts:
    """The feed's monitoring state (counts per local day and slice), up to date."""
    return sync_state(feed)


def keyed_digest(identifier: str) -> str:
    """HMAC-SHA256 of an identifier under a key derived from this installation's secret
    (``SECRET_KEY``): whoever holds the audit trail but not the secret cannot test guesses
    (a plain hash of a pseudonymous id is reversed by hashing every candidate)."""
    key = hmac.new(settings.SECRET_KEY.encode(), b"garant.monitoring.erasure", hashlib.sha256)
    return hmac.new(key.digest(), identifier.encode(), hashlib.sha256).hexdigest()


@dataclass
class TableErasure:
    """What an erasure did to one Delta table."""

    kind: str
    version_before: int | None  # None: no table
    version_after: int | None
    removed: int
    files_vacuumed: int


@dataclass
class Erasure:
    """What an erasure did to one feed: per table, and the ids of the patient's predictions
    (which other stores may reference, such as the oversight events)."""

    tables: list[TableErasure]
    prediction_ids: pa.Array

    @property
    def removed(self) -> int:
        return sum(table.removed for table in self.tables)


def tables_lock(feed):
    """One writer of a feed's Delta tables at a time, across processes: an erasure's vacuum
    (retention 0) must not delete the files of an append not yet committed."""
    return file_lock(Path(settings.GARANT_MONITORING_DIR) / str(feed.pk) / "tables.lock")


def erase_patient(feed, patient_id: str) -> int:
    """Delete one pseudonymous patient's rows from both tables, then vacuum (consent
    withdrawn); the number of rows removed. See `erase`."""
    return erase(feed, patient_id).removed


def erase(feed, patient_id: str, vacuum_always: bool = False) -> Erasure:
    """Delete one pseudonymous patient's rows from both tables, then vacuum.

    Outcomes are removed by patient id when they carry it, and by the ids of the patient's
    predictions. Each table's (month, batch) pairs holding such rows are rewritten without
    them in one Delta commit (an overwrite whose predicate, kept in the log, names months and
    batch numbers, not the patient), then the old files are vacuumed with no retention, so the rows are gone
    from the disk and not only from the table's current version. With `vacuum_always`, a
    table is vacuumed even when nothing of the patient is in its current version (files of
    older versions, left by a batch removed or an erasure interrupted, may still hold it).
    Outcomes go first: if the predictions' rewrite fails, erasing again finds the patient by
    the predictions left and completes. The monitoring state is then counted again for the
    days the removed rows touched only (`_recount_days`). The audit event holds a keyed hash
    of the id (`keyed_digest`), never the id nor a plain hash of it.
    """
    sync_state(feed)  # up to date first: only the erased days are counted again below
    with tables_lock(feed):
        predictions = _delta(feed, "predictions")
        prediction_ids = pa.array([], pa.string())
        rows = None
        if predictions is not None:
            rows = _id_columns(predictions, feed, "predictions")
            mine = pc.fill_null(pc.equal(rows["patient_id"], patient_id), False)
            prediction_ids = rows.filter(mine)["prediction_id"].combine_chunks()
        tables, touched = [], []
        for kind in ("outcomes", "predictions"):
            delta = _delta(feed, kind)
            if delta is None:
                tables.append(TableErasure(kind, None, None, 0, 0))
                continue
            before = delta.version()
            known = rows if kind == "predictions" else None
            removed, times = _rewrite_without(feed, kind, delta, patient_id, prediction_ids, known)
            touched.append((kind, times))
            vacuumed = 0
            if removed or vacuum_always:
                delta = _delta(feed, kind)
                vacuumed = len(
                    delta.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
                )
            tables.append(
                TableErasure(kind, before, _delta(feed, kind).version(), removed, vacuumed)
            )
        result = Erasure(tables, prediction_ids)
        if result.removed:
            _recount_days(feed, touched)  # the state's counts held the patient's rows too
    record_event(
        "monitoring.erasure",
        str(feed),
        {
            "feed": [None, feed.pk],
            "patient_hmac": [None, keyed_digest(patient_id)],
            "rows_removed": [None, result.removed],
        },
        establishment_id=feed.audit_establishment_id(),
    )
    return result


def _recount_days(feed, touched: list[tuple[str, pa.Array]]) -> None:
    """Count again, from the tables, the local days whose counts the removed rows were in:
    a removed prediction's day, and for a removed outcome the days of the predictions it may
    have labelled (its time minus the outcome window, up to its time). Runs of consecutive
    days are read at once; everything is counted again if the state was not up to date."""
    window = dt.timedelta(hours=feed.outcome_window_hours)
    days: set[dt.date] = set()
    for kind, times in touched:
        for moment in pc.unique(pc.floor_temporal(times, unit="hour")).to_pylist():
            if kind == "predictions":
                days.add(_local_day(moment))
                continue
            day, last = _local_day(moment - window), _local_day(moment)
            while day <= last:
                days.add(day)
                day += dt.timedelta(days=1)
    with _state_lock(feed):
        state, committed = _load_state(feed), _committed(feed)
        if not _fresh(feed, state, committed):
            _save(feed, _count_days(feed), committed)
            return
        ordered = sorted(days)
        runs, first = [], None
        for k, day in enumerate(ordered):
            first = day if first is None else first
            if k + 1 == len(ordered) or ordered[k + 1] != day + dt.timedelta(days=1):
                runs.append((first, day + dt.timedelta(days=1)))
                first = None
        for start, end in runs:
            state = state.spliced(start, end, _count_days(feed, start, end))
        _save(feed, state, committed)


def _id_columns(delta, feed, kind: str) -> pa.Table:
    """Every row's ids, month and batch (committed or not: a killed batch's rows are erased
    too)."""
    columns = ["prediction_id", "patient_id", "month", "batch_id"]
    return canonical(delta.to_pyarrow_dataset().to_table(columns=columns), feed, kind)


def _rewrite_without(
    feed, kind: str, delta, patient_id: str, prediction_ids, rows: pa.Table | None = None
) -> tuple[int, pa.Array]:
    """Rewrite the rows of `kind` that share a month and a batch with the patient's rows,
    without them, in one Delta commit: the number of rows removed and their times.

    Batches are appended one commit each, so (month, batch) names the files that may hold
    the patient: only those are read and written again, not whole months. The commit's
    predicate (kept in the Delta log) names months and batch numbers, nothing about the
    patient."""
    linked = prediction_ids if kind == "outcomes" else None
    rows = _id_columns(delta, feed, kind) if rows is None else rows
    gone = _gone(rows, patient_id, linked)
    count = int(pc.sum(gone).as_py() or 0)
    if not count:
        return 0, pa.array([], UTC)
    pairs = rows.filter(gone).group_by(["month", "batch_id"]).aggregate([]).to_pylist()
    scope, terms = None, []
    for pair in sorted(pairs, key=lambda p: (p["month"], p["batch_id"])):
        one = (ds.field("month") == pair["month"]) & (ds.field("batch_id") == pair["batch_id"])
        scope = one if scope is None else scope | one
        # YYYY-MM (written by `with_month`) and an integer: nothing to escape
        terms.append(f"(month = '{pair['month']}' AND batch_id = {int(pair['batch_id'])})")
    whole = canonical(delta.to_pyarrow_dataset().to_table(filter=scope), feed, kind)
    removed = _gone(whole, patient_id, linked)
    times = whole.filter(removed)[TIME_COLUMN[kind]].combine_chunks()
    kept = _without(whole, removed).select(schema(feed, kind).names).cast(schema(feed, kind))
    write_deltalake(
        table_uri(feed, kind),
        kept.to_reader(max_chunksize=1 << 20),
        storage_options=_options(),
        partition_by=["month"],
        mode="overwrite",
        predicate=" OR ".join(terms),
        configuration={"delta.dataSkippingStatsColumns": STATS_COLUMNS[kind]},
        writer_properties=_writer_properties(kind),
    )
    return count, times


def _without(table: pa.Table, mask) -> pa.Table:
    """`table` without the rows where `mask` is true. A patient has few rows among millions:
    the rows kept are zero-copy slices between them (an Arrow filter would copy every
    column, 1 s for 3 million rows); many rows removed: the filter."""
    removed = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
    if len(removed) > 10_000:
        return table.filter(pc.invert(pc.fill_null(mask, False)))
    parts, start = [], 0
    for index in removed:
        if index > start:
            parts.append(table.slice(start, index - start))
        start = index + 1
    if start < table.num_rows:
        parts.append(table.slice(start))
    return pa.concat_tables(parts) if parts else table.slice(0, 0)


def _gone(rows: pa.Table, patient_id: str, prediction_ids) -> pa.ChunkedArray:
    mask = pc.fill_null(pc.equal(rows["patient_id"], patient_id), False)
    if prediction_ids is not None and len(prediction_ids):
        mask = pc.or_(mask, pc.is_in(rows["prediction_id"], prediction_ids))
    return mask
