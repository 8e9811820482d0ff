"""Ingestion of monitoring feeds into Delta tables: validation, identifiers, idempotence,
late outcomes, erasure, the end-to-end report and the command line."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from sklearn.metrics import roc_auc_score

from garant.core.audit import audit_context
from garant.core.models import AuditEvent
from garant.monitoring import engine, storage
from garant.monitoring.identifiers import nir_key_valid
from garant.monitoring.ingest import (
    AlreadyReceived,
    BatchRefused,
    content_hash,
    ingest,
    read_file,
    read_records,
)
from garant.monitoring.models import IngestBatch
from tests.conftest import make_feed

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def feed(world):
    return make_feed(
        world["a"]["system"],
        feature_columns=["age"],
        subgroup_columns=["site"],
        operating_threshold=0.5,
        outcome_window_hours=48,
    )


def predictions(n=6, start=0, patient=lambda i: f"P{i % 3}"):
    return pa.table(
        {
            "prediction_id": [f"id{i}" for i in range(start, start + n)],
            "timestamp": [(T0 + dt.timedelta(hours=i)).isoformat() for i in range(n)],
            "patient_id": [patient(i) for i in range(n)],
            "score": [round(0.1 + 0.8 * i / max(n - 1, 1), 4) for i in range(n)],
            "model_version": ["1.0"] * n,
            "age": [float(40 + i) for i in range(n)],
            "site": ["A" if i % 2 else "B" for i in range(n)],
        }
    )


def outcomes(ids, hours_after, values):
    return pa.table(
        {
            "prediction_id": ids,
            "outcome": values,
            "outcome_time": [
                (T0 + dt.timedelta(hours=int(i[2:]) + h)).isoformat()
                for i, h in zip(ids, hours_after, strict=True)
            ],
        }
    )


def write_parquet(table, path):
    pq.write_table(table, path)
    return path


def write_csv(table, path):
    pacsv.write_csv(table, path)
    return path


def stored(feed, kind="predictions"):
    return storage.read(feed, kind)


def test_parquet_and_csv_batches_are_stored_and_read_back(feed, tmp_path):
    batch = ingest(
        feed, "predictions", read_file(write_parquet(predictions(), tmp_path / "p.parquet")), "cli"
    )
    assert batch.rows == 6 and batch.source == "cli"
    ingest(
        feed,
        "predictions",
        read_file(write_csv(predictions(4, start=10), tmp_path / "p.csv")),
        "ui",
    )
    table = stored(feed)
    assert table.num_rows == 10
    assert sorted(table["prediction_id"].to_pylist())[:2] == ["id0", "id1"]
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert set(table["month"].to_pylist()) == {"2024-03"}
    assert (storage.table_path(feed, "predictions") / "month=2024-03").is_dir()
    # read back by time range
    assert storage.read(feed, "predictions", T0, T0 + dt.timedelta(hours=2)).num_rows == 4


def test_time_zones_are_converted_to_utc_and_naive_times_are_the_feeds_zone(feed, tmp_path):
    table = predictions(2).set_column(
        1, "timestamp", pa.array(["2024-03-01T09:00:00+01:00", "2024-03-01T09:00:00Z"])
    )
    ingest(feed, "predictions", table, "api")
    times = sorted(stored(feed)["timestamp"].to_pylist())
    assert times[0] == T0 and times[1] == T0 + dt.timedelta(hours=1)
    # without a zone: Europe/Paris, the feed's (09:00 in March = 08:00 UTC); with and
    # without a zone in one column; a wrong time still refused with its row
    naive = predictions(3, start=5).set_column(
        1, "timestamp", pa.array(["2024-03-01T10:00:00", "2024-07-01 10:00:00+00:00", "x"])
    )
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", naive, "api")
    assert [(e.row, e.column) for e in refused.value.errors] == [(3, "timestamp")]
    assert refused.value.errors[0].reason == "date et heure ISO 8601 attendues"
    ingest(feed, "predictions", naive.slice(0, 2), "api")
    rows = stored(feed).select(["prediction_id", "timestamp"]).to_pydict()
    times = dict(zip(*rows.values(), strict=True))
    assert times["id5"] == T0 + dt.timedelta(hours=1)
    assert times["id6"] == dt.datetime(2024, 7, 1, 10, tzinfo=dt.UTC)


def test_one_bad_row_stores_nothing_and_names_row_and_column(feed, tmp_path):
    table = predictions().to_pydict()
    table["score"][3] = 1.7
    path = write_csv(pa.table(table), tmp_path / "bad.csv")
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", read_file(path), "cli")
    [error] = refused.value.errors
    assert (error.row, error.column) == (4, "score")
    assert "entre 0 et 1" in error.reason
    assert stored(feed).num_rows == 0 and not IngestBatch.objects.exists()
    assert not storage.table_path(feed, "predictions").exists()


def test_missing_column_duplicate_ids_and_bad_types_are_all_reported(feed):
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", predictions().drop(["age"]), "api")
    assert [(e.row, e.column, e.reason) for e in refused.value.errors] == [
        (None, "age", "colonne obligatoire absente")
    ]
    records = predictions(3).to_pylist()
    records[1]["prediction_id"] = "id0"
    records[2]["age"] = "quarante"
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", read_records(records), "api")
    found = {(e.row, e.column, e.reason) for e in refused.value.errors}
    assert (1, "prediction_id", "identifiant en double dans le lot") in found
    assert (2, "prediction_id", "identifiant en double dans le lot") in found
    assert (3, "age", "nombre attendu") in found


def test_errors_are_capped(feed):
    table = predictions(300).set_column(3, "score", pa.array([2.0] * 300))
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", table, "api")
    assert len(refused.value.errors) == 200 and refused.value.total == 300


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("contact", ["jean.dupont@example.fr"], "e-mail"),
        ("ref", ["1 84 12 75 123 456 40"], "NIR"),  # valid key: 97 - n mod 97
        ("ref", ["06 12 34 56 78"], "téléphone"),
        ("ref", ["+33612345678"], "téléphone"),
        ("nom", ["Dupont"], "nom de colonne"),
        ("Prénom", ["Jean"], "nom de colonne"),
    ],
)
def test_direct_identifiers_are_refused_naming_the_column(feed, tmp_path, column, values, reason):
    table = predictions(3)
    table = table.append_column(column, pa.array(["x1", "x2", *values]))
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", read_file(write_parquet(table, tmp_path / "id.parquet")), "cli")
    [error] = refused.value.errors
    assert error.column == column and reason in error.reason
    assert values[0] not in str(error)  # the identifier itself is never echoed
    assert stored(feed).num_rows == 0 and not IngestBatch.objects.exists()


@pytest.mark.parametrize("dictionary", [False, True])
def test_identifiers_in_a_column_of_repeated_values_name_their_first_row(feed, dictionary):
    """Columns that repeat their values (sites, services) are scanned on their distinct values;
    the error still names the first row holding an identifier."""
    from garant.monitoring.identifiers import find_identifiers

    values = ["Nord", "Sud"] * 6000
    values[9001] = "06 12 34 56 78"  # a phone number, beyond the first 10,000 rows: row 9002
    values[11000] = "jean.dupont@example.fr"  # an e-mail comes first among the checks
    values[11500] = "06 12 34 56 78"
    column = pa.array(values)
    table = pa.table({"site": column.dictionary_encode() if dictionary else column})
    [finding] = find_identifiers(table)
    assert (finding.column, finding.row) == ("site", 11001) and "e-mail" in finding.reason
    values[11000] = "Nord"
    column = pa.array(values)
    table = pa.table({"site": column.dictionary_encode() if dictionary else column})
    [finding] = find_identifiers(table)
    assert (finding.row, "téléphone" in finding.reason) == (9002, True)
    assert find_identifiers(pa.table({"site": ["Nord", "Sud"] * 6000})) == []


def test_a_column_of_nirs_is_refused_as_patient_id(feed):
    nir = "184127512345640"
    assert nir_key_valid(nir) and not nir_key_valid("184127512345641")
    table = predictions(3, patient=lambda i: nir)
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", table, "api")
    assert [(e.row, e.column) for e in refused.value.errors] == [(1, "patient_id")]
    # a 15-digit pseudonym whose key does not check out is accepted
    ingest(feed, "predictions", predictions(3, patient=lambda i: "184127512345641"), "api")


def test_sending_the_same_batch_twice_stores_it_once(feed, tmp_path):
    path = write_parquet(predictions(), tmp_path / "p.parquet")
    first = ingest(feed, "predictions", read_file(path), "cli")
    with pytest.raises(AlreadyReceived) as again:
        ingest(feed, "predictions", read_file(path), "cli")
    assert again.value.batch == first
    assert "déjà reçu le" in str(again.value)
    # the same rows as CSV, in another order: same content
    shuffled = predictions().take([5, 2, 0, 1, 3, 4])
    with pytest.raises(AlreadyReceived):
        ingest(feed, "predictions", read_file(write_csv(shuffled, tmp_path / "p.csv")), "ui")
    assert stored(feed).num_rows == 6 and IngestBatch.objects.count() == 1
    # a different batch reusing stored prediction ids is refused
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", predictions(2, start=5), "api")
    assert refused.value.errors[0].row == 1 and "déjà reçu" in refused.value.errors[0].reason


def test_the_fingerprint_depends_on_the_rows_not_on_their_order():
    table = pa.table({"id": ["a", "b", "c", "d"], "score": [0.1, 0.2, 0.3, 0.4]})
    same = content_hash(table)
    assert content_hash(table.take([3, 1, 0, 2])) == same
    assert content_hash(table.take([0, 1, 2, 3])) == same
    changed = pa.table({"id": ["a", "b", "c", "d"], "score": [0.1, 0.2, 0.3, 0.5]})
    # the same values per column, paired differently between rows
    paired = pa.table({"id": ["a", "b", "c", "d"], "score": [0.2, 0.1, 0.3, 0.4]})
    others = {
        content_hash(changed),
        content_hash(paired),
        content_hash(table.take([0, 0, 1, 2, 3])),  # one row twice
        content_hash(table.slice(0, 3)),
        content_hash(table.rename_columns(["id", "risk"])),
        content_hash(table.cast(pa.schema([("id", pa.string()), ("score", pa.float32())]))),
    }
    assert same not in others and len(others) == 6


def test_late_outcomes_join_within_the_window_only(feed):
    ingest(feed, "predictions", predictions(), "api")
    # id0: 1 after 47 h (inside), id1: 1 after 49 h (beyond: unknown), id2: 0 at 10 h,
    # id3: outcome before the prediction (not counted), id4 and id5: nothing yet
    ingest(
        feed,
        "outcomes",
        outcomes(["id0", "id1", "id2", "id3"], [47, 49, 10, -1], [1, 1, 0, 1]),
        "api",
    )
    labels = dict(
        zip(
            *storage.joined(feed).select(["prediction_id", "label"]).to_pydict().values(),
            strict=True,
        )
    )
    assert labels == {"id0": 1, "id1": None, "id2": 0, "id3": None, "id4": None, "id5": None}
    # weeks later, the missing outcome arrives
    ingest(feed, "outcomes", outcomes(["id4"], [24], [0]), "api")
    assert storage.joined(feed).to_pydict()["label"][4] == 0
    # the joined table is in the engine's layout
    assert {"timestamp", "score", "label", "age", "site"} <= set(storage.joined(feed).column_names)


def test_outcome_values_must_be_0_or_1(feed):
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "outcomes", outcomes(["id0", "id1"], [1, 2], [1, 2]), "api")
    assert [(e.row, e.column) for e in refused.value.errors] == [(2, "outcome")]


def test_feed_report_matches_the_engine_on_the_joined_data(feed):
    n = 40
    ingest(feed, "predictions", predictions(n, patient=lambda i: f"P{i}"), "api")
    ids = [f"id{i}" for i in range(n)]
    ingest(
        feed,
        "outcomes",
        outcomes(ids, [5] * n, [int(i % 3 == 0 or i > 30) for i in range(n)]),
        "api",
    )
    report = storage.feed_report(feed)
    spec = engine.ColumnSpec(numeric_features=("age",), groups=("site",), timezone="Europe/Paris")
    direct = engine.performance(engine.aggregate(storage.joined(feed), spec).score_histogram(), 0.5)
    assert report.n_labeled == n and report.quantum == feed.quantum
    assert report.auc.value == direct.auc.value is not None
    joined = storage.joined(feed)
    assert report.auc.value == pytest.approx(
        roc_auc_score(joined["label"].to_pylist(), joined["score"].to_pylist()), rel=1e-12
    )
    assert report == direct


def test_erasure_removes_the_patient_everywhere_and_is_audited(feed, tmp_path):
    ingest(feed, "predictions", predictions(6), "api")  # P0: id0, id3
    ingest(feed, "outcomes", outcomes(["id0", "id1", "id3"], [1, 1, 1], [1, 0, 0]), "api")
    with audit_context(source="test"):
        removed = storage.erase_patient(feed, "P0")
    assert removed == 4  # two predictions, two outcomes
    assert "P0" not in stored(feed)["patient_id"].to_pylist()
    assert stored(feed, "outcomes")["prediction_id"].to_pylist() == ["id1"]
    # vacuumed: no file of either table (data or log) still holds the id
    for path in storage.table_path(feed, "predictions").parent.rglob("*"):
        if path.is_file():
            assert b"P0" not in path.read_bytes(), path
    event = AuditEvent.objects.filter(object_type="monitoring.erasure").get()
    assert event.changes["rows_removed"] == [None, 4]
    assert event.changes["patient_hmac"] == [None, storage.keyed_digest("P0")]
    assert "P0" not in str(event.changes) + event.object_repr
    assert event.establishment_id == feed.ai_system.establishment_id


def test_a_failed_append_leaves_no_batch(feed, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "write_deltalake", broken)
    with pytest.raises(OSError):
        ingest(feed, "predictions", predictions(), "api")
    assert not IngestBatch.objects.exists()


def test_command_line_ingest_and_erase(feed, world, tmp_path):
    path = write_parquet(predictions(), tmp_path / "p.parquet")
    out, err = io.StringIO(), io.StringIO()
    user = world["users"]["a"]["referent"]
    call_command(
        "monitor",
        "ingest",
        "--feed",
        feed.reference,
        "--kind",
        "predictions",
        str(path),
        "--user",
        user.username,
        stdout=out,
        stderr=err,
    )
    assert "6 lignes enregistrées" in out.getvalue()
    assert "100 %" in err.getvalue()
    batch = IngestBatch.objects.get()
    assert batch.source == "cli" and batch.created_by == user
    event = AuditEvent.objects.filter(object_type="monitoring.ingestbatch").get()
    assert event.source == "command" and event.actor_name == user.username
    call_command(
        "monitor",
        "ingest",
        "--feed",
        feed.reference,
        "--kind",
        "predictions",
        str(path),
        stdout=out,
        stderr=err,
    )
    assert "déjà reçu" in out.getvalue()
    call_command("monitor", "erase", "--feed", feed.reference, "--patient", "P1", stdout=out)
    assert "2 ligne(s) effacée(s)" in out.getvalue()


def test_command_line_refuses_a_bad_file(feed, tmp_path):
    from django.core.management import CommandError

    table = predictions().append_column("email", pa.array(["a@b.fr"] * 6))
    path = write_csv(table, tmp_path / "p.csv")
    err = io.StringIO()
    with pytest.raises(CommandError, match="rien n'a été enregistré"):
        call_command(
            "monitor",
            "ingest",
            "--feed",
            feed.reference,
            "--kind",
            "predictions",
            str(path),
            stderr=err,
        )
    assert "colonne « email »" in err.getvalue()
