"""The feedback events: one Delta Lake table per establishment, partitioned by system.

Layout: ``GARANT_MONITORING_DIR/oversight/<establishment id>/events`` (beside the monitoring
feeds' tables: these events are the monitoring of what people do with the outputs). Columns
are those of `SCHEMA`; ``batch_id`` tags each row with its `FeedbackBatch`. A batch's rows
are appended in one Delta commit, inside the database transaction that creates the batch
record; readers keep only the rows of committed batches (`committed`), so a process killed
between the two commits leaves nothing visible, and the next batch given the same id
deletes those rows first. No identifier statistics are written to the Delta log.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import ColumnProperties, DeltaTable, WriterProperties, write_deltalake
from django.conf import settings

from garant.monitoring.storage import duckdb_connection

UTC = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("system_id", pa.int64()),
        ("event_id", pa.string()),
        ("time", UTC),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("reason_text", pa.string()),
        ("role", pa.string()),
        ("service", pa.string()),
        ("prediction_id", pa.string()),
        ("decision_ms", pa.int64()),
        ("edit_ratio", pa.float64()),
        ("ai_decision", pa.string()),
        ("final_decision", pa.string()),
        ("batch_id", pa.int64()),
    ]
)
EVENT_COLUMNS = [name for name in SCHEMA.names if name != "batch_id"]


def table_path(establishment_id: int) -> Path:
    return Path(settings.GARANT_MONITORING_DIR) / "oversight" / str(establishment_id) / "events"


def _delta(establishment_id: int) -> DeltaTable | None:
    path = str(table_path(establishment_id))
    if not DeltaTable.is_deltatable(path):
        return None
    return DeltaTable(path)


def _writer_properties() -> WriterProperties:
    plain = ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE")
    return WriterProperties(
        compression="SNAPPY",
        default_column_properties=ColumnProperties(statistics_enabled="NONE"),
        column_properties={
            "event_id": plain,
            "prediction_id": plain,
            "time": ColumnProperties(statistics_enabled="CHUNK"),
        },
    )


def append(establishment_id: int, table: pa.Table) -> None:
    """Append normalised events (every column of `SCHEMA`) in one Delta commit."""
    path = table_path(establishment_id)
    path.mkdir(parents=True, exist_ok=True)
    write_deltalake(
        str(path),
        table.select(SCHEMA.names).cast(SCHEMA).to_reader(max_chunksize=1 << 20),
        partition_by=["system_id"],
        mode="append",
        configuration={"delta.dataSkippingStatsColumns": "time"},
        writer_properties=_writer_properties(),
    )


def remove_batch(establishment_id: int, batch_id: int) -> None:
    """Delete the rows of one batch (its record could not be committed, or a leftover)."""
    delta = _delta(establishment_id)
    if delta is not None and delta.to_pyarrow_dataset().count_rows(
        filter=ds.field("batch_id") == int(batch_id)
    ):
        delta.delete(f"batch_id = {int(batch_id)}")


def _canonical(table: pa.Table) -> pa.Table:
    """The canonical types whatever the files hold (delta-rs may write ``string_view``)."""
    target = pa.schema([SCHEMA.field(name) for name in table.column_names])
    return table if table.schema.equals(target) else table.cast(target)


def read(
    establishment_id: int,
    batch_ids: list[int],
    system_ids: list[int] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    columns: list[str] | None = None,
) -> pa.Table:
    """Events of the committed `batch_ids`, of `system_ids` (all when None), time in
    [start, end)."""
    delta = _delta(establishment_id)
    if delta is None or not batch_ids:
        table = SCHEMA.empty_table()
        return table.select(columns) if columns else table
    condition = ds.field("batch_id").isin(pa.array(batch_ids, pa.int64()))
    if system_ids is not None:
        condition &= ds.field("system_id").isin(pa.array(system_ids, pa.int64()))
    if start is not None:
        condition &= ds.field("time") >= pa.scalar(start.astimezone(dt.UTC), UTC)
    if end is not None:
        condition &= ds.field("time") < pa.scalar(end.astimezone(dt.UTC), UTC)
    dataset = delta.to_pyarrow_dataset()
    return _canonical(dataset.to_table(columns=columns, filter=condition))


def known(establishment_id: int, batch_ids: list[int], events: pa.Table) -> pa.ChunkedArray:
    """For each row of `events`, whether its (system_id, event_id) is already stored."""
    systems = pc.unique(events["system_id"]).to_pylist()
    stored = read(establishment_id, batch_ids, systems, columns=["system_id", "event_id"])
    if not stored.num_rows:
        return pa.chunked_array([pa.array([False] * events.num_rows, pa.bool_())])
    con = duckdb_connection()
    try:
        rows = events.select(["system_id", "event_id"])
        con.register(
            "new", rows.append_column("i", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
        )
        con.register("stored", stored)
        mask = con.sql(
            """
            SELECT s.event_id IS NOT NULL AS known
            FROM new n
            LEFT JOIN (SELECT DISTINCT system_id, event_id FROM stored) s
              ON s.system_id = n.system_id AND s.event_id = n.event_id
            ORDER BY n.i
            """
        ).to_arrow_table()["known"]
    finally:
        con.close()
    return mask


def erase_predictions(
    establishment_id: int, system_ids: list[int], prediction_ids: pa.Array
) -> tuple[int | None, int | None, int, int]:
    """Delete the events that name one of `prediction_ids` (of `system_ids`), then vacuum with
    no retention: (version before, version after, events removed, files vacuumed). The
    partitions of those systems are rewritten without them in one Delta commit; the caller
    holds the establishment's ingestion lock."""
    delta = _delta(establishment_id)
    if delta is None:
        return None, None, 0, 0
    before = delta.version()
    removed = 0
    if system_ids and len(prediction_ids):
        systems = pa.array(system_ids, pa.int64())
        scope = ds.field("system_id").isin(systems)
        whole = _canonical(delta.to_pyarrow_dataset().to_table(filter=scope))
        gone = pc.fill_null(pc.is_in(whole["prediction_id"], value_set=prediction_ids), False)
        removed = int(pc.sum(gone).as_py() or 0)
        if removed:
            listed = ", ".join(str(int(pk)) for pk in system_ids)
            write_deltalake(
                str(table_path(establishment_id)),
                whole.filter(pc.invert(gone)).select(SCHEMA.names).cast(SCHEMA).to_reader(),
                partition_by=["system_id"],
                mode="overwrite",
                predicate=f"system_id IN ({listed})",
                configuration={"delta.dataSkippingStatsColumns": "time"},
                writer_properties=_writer_properties(),
            )
    delta = _delta(establishment_id)
    vacuumed = delta.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    return before, delta.version(), removed, len(vacuumed)
