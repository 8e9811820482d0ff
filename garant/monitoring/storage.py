"""Delta Lake tables of the monitoring feeds: one table per feed and kind, on local disk.

Layout: ``GARANT_MONITORING_DIR/<feed id>/predictions`` and ``…/outcomes``, partitioned by
``month`` (YYYY-MM, UTC) of the prediction time or of the outcome time. Columns have canonical
names (the feed's own names are mapped at ingestion, see `ingest.py`):

* predictions: ``prediction_id, timestamp (UTC), patient_id, score, model_version``, the
  feed's numeric features (double), categorical features and subgroups (text), ``batch_id``,
  ``month``;
* outcomes: ``prediction_id, outcome (0/1), outcome_time (UTC), patient_id`` (when sent),
  ``batch_id``, ``month``.

Column statistics are kept for the time columns only, so no identifier is copied into the
Delta log; an erasure deletes by the SHA-256 of the identifiers, so the log's record of the
deletion does not hold them either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from django.conf import settings

from garant.core.audit import record_event
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
            *((name, pa.string()) for name in feed.subgroup_columns),
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
    return Path(settings.GARANT_MONITORING_DIR) / str(feed.pk) / kind


def _delta(feed, kind: str) -> DeltaTable | None:
    path = table_path(feed, kind)
    return DeltaTable(str(path)) if DeltaTable.is_deltatable(str(path)) else None


def with_month(table: pa.Table, kind: str) -> pa.Table:
    month = pc.strftime(table[TIME_COLUMN[kind]], format="%Y-%m")
    return table.append_column("month", month)


def append(feed, kind: str, table: pa.Table) -> None:
    """Append normalised rows (every column of `schema` but ``month``) in one Delta commit."""
    table = with_month(table, kind).select(schema(feed, kind).names).cast(schema(feed, kind))
    path = table_path(feed, kind)
    path.mkdir(parents=True, exist_ok=True)
    write_deltalake(
        str(path),
        table,
        partition_by=["month"],
        mode="append",
        configuration={"delta.dataSkippingStatsColumns": STATS_COLUMNS[kind]},
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

    ids = IngestBatch.objects.filter(feed=feed, kind=kind).values_list("pk", flat=True)
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
    return delta.to_pyarrow_dataset().to_table(columns=columns, filter=condition)


def known_ids(feed, kind: str, ids: pa.Array) -> pa.Array:
    """Those of `ids` already stored in the feed's `kind` table."""
    delta = _delta(feed, kind)
    if delta is None:
        return pa.array([], pa.string())
    stored = delta.to_pyarrow_dataset().to_table(
        columns=["prediction_id"],
        filter=ds.field("prediction_id").isin(ids) & _committed_rows(feed, kind),
    )
    return stored["prediction_id"].combine_chunks()


def joined(feed, start=None, end=None) -> pa.Table:
    """Predictions of [start, end) with their outcome as ``label``, in the engine's layout.

    An outcome counts when its time is within [prediction time, prediction time + window];
    if several do, the earliest. Otherwise ``label`` is null: not yet known.
    """
    predictions = read(feed, "predictions", start, end)
    outcome_end = None if end is None else _utc(end) + dt.timedelta(hours=feed.outcome_window_hours)
    outcomes = read(
        feed, "outcomes", start, outcome_end, columns=["prediction_id", "outcome", "outcome_time"]
    )
    con = duckdb.connect()
    try:
        con.register("p", predictions)
        con.register("o", outcomes)
        return con.sql(
            f"""
            WITH matched AS (
                SELECT p.prediction_id, arg_min(o.outcome, o.outcome_time) AS label
                FROM p JOIN o ON o.prediction_id = p.prediction_id
                 AND o.outcome_time >= p.timestamp
                 AND o.outcome_time <= p.timestamp + INTERVAL {int(feed.outcome_window_hours)} HOUR
                GROUP BY p.prediction_id
            )
            SELECT p.* EXCLUDE (batch_id, month), CAST(m.label AS TINYINT) AS label
            FROM p LEFT JOIN matched m USING (prediction_id)
            ORDER BY p.timestamp, p.prediction_id
            """
        ).to_arrow_table()
    finally:
        con.close()


def feed_report(feed, start=None, end=None) -> engine.Performance:
    """The engine's performance figures of the feed over [start, end), at its threshold."""
    counts = engine.aggregate(
        joined(feed, start, end), feed.column_spec(settings.TIME_ZONE), quantum=feed.quantum
    )
    return engine.performance(counts.score_histogram(), threshold=feed.operating_threshold)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _hashed(column: str) -> str:
    return f"encode(sha256({column}), 'hex')"


def erase_patient(feed, patient_id: str) -> int:
    """Delete one pseudonymous patient's rows from both tables, then vacuum (consent withdrawn).

    Outcomes are removed by patient id when they carry it, and by the ids of the patient's
    predictions. Deletion predicates use SHA-256 digests so the Delta log never holds the id.
    Returns the number of rows removed; the audit event holds the digest, not the id.
    """
    digest = _sha256(patient_id)
    predictions = _delta(feed, "predictions")
    prediction_ids: list[str] = []
    if predictions is not None:
        mine = predictions.to_pyarrow_dataset().to_table(
            columns=["prediction_id"], filter=ds.field("patient_id") == patient_id
        )
        prediction_ids = mine["prediction_id"].to_pylist()
    removed = 0
    for kind in KINDS:
        delta = _delta(feed, kind)
        if delta is None:
            continue
        predicate = f"{_hashed('patient_id')} = '{digest}'"
        if kind == "outcomes" and prediction_ids:
            listed = ", ".join(f"'{_sha256(i)}'" for i in prediction_ids)
            predicate = f"({predicate}) OR {_hashed('prediction_id')} IN ({listed})"
        removed += delta.delete(predicate).get("num_deleted_rows", 0)
        delta.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    record_event(
        "monitoring.erasure",
        str(feed),
        {
            "feed": [None, feed.pk],
            "patient_sha256": [None, digest],
            "rows_removed": [None, removed],
        },
        establishment_id=feed.audit_establishment_id(),
    )
    return removed
