"""A process ingesting a large batch is killed (SIGKILL) mid-batch: the feed's Delta table stays
readable and holds the whole batch or none of it, and the database agrees with what readers
see: no committed `IngestBatch` without its rows, no rows visible for a batch that was never
committed. Sending the same file again afterwards stores it exactly once.

The child is `garant monitor ingest` (the real command line) run in a subprocess on the test's
own database: the data it needs is committed (`transaction=True`). PostgreSQL: the child
connects to the test database. SQLite: the test database lives in memory, so it is copied to
a file for the child and copied back once the child is dead (SQLite's backup API).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from django.db import connection

from garant.core.audit import audit_context
from garant.monitoring import ingest, storage
from garant.monitoring.models import IngestBatch
from tests.conftest import make_feed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
]

ROOT = Path(__file__).resolve().parent.parent
ROWS = 200_000
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PAUSE_AFTER_DELTA_COMMIT = """
import os, pathlib, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "garant.settings")
django.setup()
from garant.monitoring import storage
append = storage.append
def append_then_hang(*args, **kwargs):
    append(*args, **kwargs)  # the Delta commit is done ...
    pathlib.Path(sys.argv[1]).write_text("delta committed")
    time.sleep(600)  # ... the database commit never comes: killed here
storage.append = append_then_hang
from garant.cli import main
main(sys.argv[2:])
"""


@pytest.fixture
def feed(world):
    return make_feed(
        world["a"]["system"],
        feature_columns=["age"],
        subgroup_columns=["site"],
        operating_threshold=0.5,
    )


@pytest.fixture
def big_file(tmp_path) -> Path:
    """ROWS predictions over three months (three Delta partitions)."""
    path = tmp_path / "lot.parquet"
    step = dt.timedelta(days=90) / ROWS
    pq.write_table(
        pa.table(
            {
                "prediction_id": [f"crash-{i}" for i in range(ROWS)],
                "timestamp": pa.array([T0 + i * step for i in range(ROWS)], storage.UTC),
                "patient_id": [f"P{i % 5000}" for i in range(ROWS)],
                "score": [(i * 7919 % 10_000) / 10_000 for i in range(ROWS)],
                "model_version": ["2.1"] * ROWS,
                "age": [float(18 + i % 80) for i in range(ROWS)],
                "site": [("nord", "sud", "est")[i % 3] for i in range(ROWS)],
            }
        ),
        path,
    )
    return path


def child_environment(tmp_path: Path, settings) -> dict[str, str]:
    """The child sees the test's database and the test's monitoring folder."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "garant.settings"
    env["GARANT_DATA_DIR"] = str(tmp_path / "data")
    env["GARANT_MONITORING_DIR"] = str(settings.GARANT_MONITORING_DIR)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{user}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        assert connection.vendor == "sqlite"
        (tmp_path / "data").mkdir(exist_ok=True)
        connection.ensure_connection()
        with sqlite3.connect(tmp_path / "data" / "garant.sqlite3") as copy:
            connection.connection.backup(copy)
        copy.close()
    return env


def take_back_the_database(tmp_path: Path) -> None:
    """SQLite: what the child committed (WAL included) becomes the test's database again."""
    if connection.vendor == "sqlite":
        source = sqlite3.connect(tmp_path / "data" / "garant.sqlite3")
        try:
            source.backup(connection.connection)
        finally:
            source.close()


def wait_for(condition, process, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the ingestion ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.005)


def data_files(feed) -> list[Path]:
    return list(storage.table_path(feed, "predictions").glob("month=*/*.parquet"))


def delta_commits(feed) -> list[Path]:
    return list((storage.table_path(feed, "predictions") / "_delta_log").glob("*.json"))


def assert_all_or_nothing(feed) -> None:
    """The table is readable; it and the database agree; readers see all of the batch or none."""
    path = storage.table_path(feed, "predictions")
    raw = (
        DeltaTable(str(path)).to_pyarrow_table(columns=["prediction_id", "batch_id"])
        if DeltaTable.is_deltatable(str(path))
        else pa.table({"prediction_id": pa.array([], pa.string())})
    )
    assert raw.num_rows in (0, ROWS)  # the Delta commit is atomic: every row or none
    batches = list(IngestBatch.objects.filter(feed=feed))
    visible = storage.read(feed, "predictions", columns=["prediction_id", "batch_id"])
    if batches:
        [batch] = batches
        assert batch.rows == ROWS and visible.num_rows == ROWS
        assert set(visible["batch_id"].to_pylist()) == {batch.pk}
    else:  # no committed batch: whatever reached the table is not visible
        assert visible.num_rows == 0
    assert storage.joined(feed).num_rows == visible.num_rows


def assert_sending_again_stores_it_once(feed, big_file) -> None:
    with audit_context(source="test"), contextlib.suppress(ingest.AlreadyReceived):
        ingest.ingest(feed, "predictions", ingest.read_file(big_file), "cli")
    [batch] = IngestBatch.objects.filter(feed=feed)
    visible = storage.read(feed, "predictions", columns=["prediction_id", "batch_id"])
    assert visible.num_rows == ROWS == batch.rows
    assert len(set(visible["prediction_id"].to_pylist())) == ROWS
    assert set(visible["batch_id"].to_pylist()) == {batch.pk}


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL  # killed, not finished


@pytest.mark.parametrize("moment", ["validating", "writing"])
def test_command_line_killed_mid_batch(feed, big_file, tmp_path, settings, moment):
    env = child_environment(tmp_path, settings)
    log = tmp_path / "child.log"
    command = [sys.executable, "-m", "garant", "monitor", "ingest", "--feed", feed.reference]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*command, "--kind", "predictions", str(big_file)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        if moment == "validating":  # the whole file read: now validating and hashing it
            wait_for(lambda: b"100 %" in log.read_bytes(), process, "file read")
        else:  # Delta data files being written, not yet committed
            wait_for(lambda: data_files(feed), process, "Delta write")
        kill(process)
    finally:
        if process.poll() is None:
            process.kill()
    take_back_the_database(tmp_path)
    assert_all_or_nothing(feed)
    assert_sending_again_stores_it_once(feed, big_file)


def test_killed_between_the_delta_commit_and_the_database_commit(
    feed, big_file, tmp_path, settings
):
    """The worst moment: the rows are in the Delta table, their batch is not in the database."""
    env = child_environment(tmp_path, settings)
    marker = tmp_path / "delta-committed"
    arguments = ["monitor", "ingest", "--feed", feed.reference, "--kind", "predictions"]
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSE_AFTER_DELTA_COMMIT, str(marker), *arguments, str(big_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(marker.exists, process, "Delta commit")
        assert delta_commits(feed)  # the rows are committed to the Delta table
        kill(process)
    finally:
        if process.poll() is None:
            process.kill()
    take_back_the_database(tmp_path)
    assert not IngestBatch.objects.filter(feed=feed).exists()
    assert_all_or_nothing(feed)
    assert_sending_again_stores_it_once(feed, big_file)
