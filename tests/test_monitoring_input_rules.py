"""Issue 19, item 7 (monitoring): the rules every ingested batch obeys, checked through each
way in — web upload of a Parquet or CSV file, the command line, REST JSON and FHIR R4.

Each rule is sent through every path that can carry the faulty value; each refusal must be
a 4xx (or a `CommandError`), in French, naming the row and the column (the file too, on the
web page), and store nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from garant.core.models import Role
from garant.monitoring import storage
from garant.monitoring.ingest import MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_TEXT_LENGTH
from garant.monitoring.models import IngestBatch
from tests.conftest import make_feed, token_client

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
JSON = "application/json"
FHIR_JSON = "application/fhir+json"
FILE_PATHS = ("web-parquet", "web-csv", "cli-parquet", "cli-csv")
ALL_PATHS = (*FILE_PATHS, "json", "fhir")
ENGLISH = re.compile(
    r"\b(the|expected|error|invalid|failed|could not|cannot|column|value|line|should|input|valid|must)\b",
    re.I,
)


@pytest.fixture
def feed(world):
    return make_feed(
        world["a"]["system"],
        feature_columns=["lactate"],
        subgroup_columns=["site"],
        operating_threshold=0.5,
    )


@pytest.fixture
def fhir_feed(world):
    """A feed without features or subgroups: a FHIR Bundle cannot carry them."""
    return make_feed(world["a"]["system"], slug="fhir", operating_threshold=0.5)


def rows(n=3, start=0, **changes):
    """`n` valid prediction records; `changes` = {column: {row index: value}}."""
    records = [
        {
            "prediction_id": f"id{i}",
            "timestamp": (T0 + dt.timedelta(hours=i)).isoformat(),
            "patient_id": f"SEJ{i:04d}",
            "score": round(0.1 + 0.3 * (i % 3), 4),
            "model_version": "1.0",
            "lactate": 1.5 + i,
            "site": "Nord" if i % 2 else "Sud",
        }
        for i in range(start, start + n)
    ]
    for column, values in changes.items():
        for index, value in values.items():
            records[index][column] = value
    return records


def table_of(records) -> pa.Table:
    columns = {name: [r.get(name) for r in records] for name in records[0]}
    return pa.table(columns)


def csv_bytes(records) -> bytes:
    names = list(records[0])
    out = io.StringIO()
    out.write(",".join(names) + "\n")
    for record in records:
        cells = []
        for name in names:
            value = record.get(name)
            text = "" if value is None else str(value)
            if any(c in text for c in ',"\n'):
                text = '"' + text.replace('"', '""') + '"'
            cells.append(text)
        out.write(",".join(cells) + "\n")
    return out.getvalue().encode()


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def bundle_of(records) -> dict:
    """A FHIR Bundle of RiskAssessment (predictions) or Observation (outcomes)."""
    entries = []
    for r in records:
        if "outcome" in r:
            resource = {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "Sepsis"},
                "focus": [{"reference": f"RiskAssessment/{r['prediction_id']}"}],
                "effectiveDateTime": r["outcome_time"],
                "valueBoolean": bool(r["outcome"]),
            }
        else:
            resource = {
                "resourceType": "RiskAssessment",
                "id": r["prediction_id"],
                "status": "final",
                "subject": {"reference": f"Encounter/{r['patient_id']}"},
                "occurrenceDateTime": r["timestamp"],
                "method": {"coding": [{"code": r["model_version"]}]},
                "prediction": [{"probabilityDecimal": r["score"]}],
            }
        entries.append({"resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


ERROR_ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>")


def send(path, world, client_for, feed, kind, records=None, *, table=None, data=None, tmp_path):
    """Send one batch through `path`; returns (refused?, [(row, column, message)], text
    shown). `table` (Arrow, for Parquet) or `data` (raw bytes of the file) override
    `records`."""
    referent = world["users"]["a"][Role.REFERENT]
    if path in ("json", "fhir"):
        client = token_client(referent)
        if path == "json":
            body = json.dumps({"records": records}, allow_nan=True)
            response = client.post(f"/api/feeds/{feed.pk}/{kind}", body, content_type=JSON)
        else:
            body = data if data is not None else json.dumps(bundle_of(records))
            response = client.post(f"/api/feeds/{feed.pk}/fhir", body, content_type=FHIR_JSON)
        assert response.status_code in (200, 201, 422), response.content
        if response.status_code != 422:
            return False, [], ""
        detail = response.json()["detail"]
        errors = [(e["row"], e["column"], e["message"]) for e in detail]
        return True, errors, json.dumps(detail, ensure_ascii=False)
    fmt = path.split("-")[1]
    if data is None:
        if fmt == "parquet":
            data = parquet_bytes(table if table is not None else table_of(records))
        else:
            data = csv_bytes(records)
    name = f"{kind}.{fmt}"
    if path.startswith("web"):
        upload = io.BytesIO(data)
        upload.name = name
        response = client_for(referent).post(
            feed.get_absolute_url(), {"kind": kind, "file": upload}
        )
        if response.status_code == 302:
            return False, [], ""
        assert response.status_code == 422, response.status_code
        page = response.content.decode()
        assert "Lot refusé" in page and f"Fichier « {name} »" in html.unescape(page)
        card = page[page.index('class="card error"') : page.index("</table>")]
        errors = [tuple(html.unescape(cell) for cell in match) for match in ERROR_ROW.findall(card)]
        errors = [
            (int(r) if r.isdigit() else (None if r == "—" else r), c, m) for r, c, m in errors
        ]
        errors = [(r, None if c == "—" else c, m) for r, c, m in errors]
        return True, errors, html.unescape(card)
    file = tmp_path / name
    file.write_bytes(data)
    err = io.StringIO()
    try:
        call_command(
            "monitor", "ingest", "--feed", feed.reference, "--kind", kind, str(file),
            stdout=io.StringIO(), stderr=err,
        )  # fmt: skip
    except CommandError as refused:
        assert "rien n'a été enregistré" in str(refused)
        assert f"Fichier « {file} » refusé :" in err.getvalue()
        errors = []
        for line in err.getvalue().replace("\r", "\n").splitlines():
            if not line or line.startswith(("lecture :", "Fichier «")):
                continue
            match = re.fullmatch(r"(?:ligne (\d+))?(?:, )?(?:colonne « (.*?) »)? : (.*)", line)
            if match:
                row, column, message = match.groups()
                errors.append((int(row) if row else None, column, message))
            else:
                errors.append((None, None, line))
        return True, errors, err.getvalue()
    return False, [], ""


def refused(path, world, client_for, feed, kind, records=None, **kwargs):
    """Send, and check the batch was refused, in French, with nothing stored."""
    before = IngestBatch.objects.count()
    done, errors, text = send(path, world, client_for, feed, kind, records, **kwargs)
    assert done, f"{path}: batch accepted"
    assert errors, text
    for _, _, message in errors:
        assert not ENGLISH.search(message), message
    assert "Traceback" not in text
    assert IngestBatch.objects.count() == before
    return errors


@pytest.fixture
def to(world, client_for, tmp_path):
    def _send(path, feed, kind, records=None, **kwargs):
        return refused(path, world, client_for, feed, kind, records, tmp_path=tmp_path, **kwargs)

    return _send


@pytest.fixture
def accepted(world, client_for, tmp_path):
    def _send(path, feed, kind, records=None, **kwargs):
        done, errors, text = send(
            path, world, client_for, feed, kind, records, tmp_path=tmp_path, **kwargs
        )
        assert not done, text
        return IngestBatch.objects.order_by("pk").last()

    return _send


def entry_or_row(path, index):
    """How the error names the 0-based record `index` on `path`."""
    return f"entry[{index}]" if path == "fhir" else index + 1


# --- lengths and NUL bytes -------------------------------------------------------------------


@pytest.mark.parametrize("path", (*FILE_PATHS, "json"))
def test_a_subgroup_value_too_long_is_refused(path, feed, to):
    errors = to(path, feed, "predictions", rows(site={1: "x" * (MAX_TEXT_LENGTH + 1)}))
    assert errors == [(2, "site", f"texte trop long : {MAX_TEXT_LENGTH} caractères au plus")]


@pytest.mark.parametrize("path", ALL_PATHS)
def test_a_model_version_too_long_is_refused(path, fhir_feed, feed, to):
    target = fhir_feed if path == "fhir" else feed
    errors = to(path, target, "predictions", rows(model_version={2: "v" * (MAX_TEXT_LENGTH + 1)}))
    assert errors == [
        (entry_or_row(path, 2), "model_version", "texte trop long : 200 caractères au plus")
    ]


@pytest.mark.parametrize("path", (*FILE_PATHS, "json"))
def test_identifiers_too_long_are_refused(path, feed, to):
    long = "P" * (MAX_ID_LENGTH + 1)
    errors = to(path, feed, "predictions", rows(prediction_id={0: long}, patient_id={1: long}))
    assert sorted(errors, key=str) == [
        (1, "prediction_id", "texte trop long : 100 caractères au plus"),
        (2, "patient_id", "texte trop long : 100 caractères au plus"),
    ]


@pytest.mark.parametrize("path", ALL_PATHS)
def test_a_nul_byte_is_refused(path, feed, fhir_feed, to):
    target = fhir_feed if path == "fhir" else feed
    column = "model_version" if path == "fhir" else "site"
    errors = to(path, target, "predictions", rows(**{column: {1: "No\x00rd"}}))
    assert (entry_or_row(path, 1), column, "caractère NUL interdit") in errors


@pytest.mark.parametrize("path", ("web-csv", "cli-parquet", "json"))
def test_column_names_too_long_or_with_a_nul_byte_are_refused(path, feed, to):
    long = "c" * (MAX_NAME_LENGTH + 1)
    records = [{**r, long: 1} for r in rows()]
    [error] = to(path, feed, "predictions", records)
    assert error[0] is None and error[2] == "nom de colonne trop long : 100 caractères au plus"
    if path != "web-csv":  # a CSV header with a NUL byte is the same rule
        records = [{**r, "extra\x00": 1} for r in rows()]
        [error] = to(path, feed, "predictions", records)
        assert error[2] == "caractère NUL interdit dans un nom de colonne"


# --- scores, times, features -----------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_PATHS)
def test_a_boolean_score_is_refused(path, feed, fhir_feed, to):
    target = fhir_feed if path == "fhir" else feed
    records = rows(score={0: True, 1: False, 2: True})
    table = None
    if path.endswith("parquet"):
        table = table_of(records)  # a column of booleans
        assert table.schema.field("score").type == pa.bool_()
    errors = to(path, target, "predictions", records, table=table)
    if path == "fhir":
        assert [e[0] for e in errors] == ["entry[0]", "entry[1]", "entry[2]"]
        assert all("probabilityDecimal" in e[1] for e in errors)
    else:
        assert errors == [
            (i, "score", "booléen refusé : score numérique entre 0 et 1 attendu") for i in (1, 2, 3)
        ]


def test_a_boolean_outcome_is_still_read_as_1_or_0(feed, to, accepted):
    accepted("json", feed, "predictions", rows())
    outcomes = [
        {"prediction_id": "id0", "outcome": True, "outcome_time": "2024-03-01T10:00:00Z"},
        {"prediction_id": "id1", "outcome": False, "outcome_time": "2024-03-01T11:00:00Z"},
    ]
    accepted("json", feed, "outcomes", outcomes)
    labels = dict(
        zip(
            *storage.joined(feed).select(["prediction_id", "label"]).to_pydict().values(),
            strict=True,
        )
    )
    assert labels == {"id0": 1, "id1": 0, "id2": None}


@pytest.mark.parametrize("path", ALL_PATHS)
def test_times_before_1900_are_refused(path, feed, fhir_feed, to):
    target = fhir_feed if path == "fhir" else feed
    errors = to(path, target, "predictions", rows(timestamp={1: "1899-12-31T23:00:00+00:00"}))
    assert errors == [
        (entry_or_row(path, 1), "timestamp", "date antérieure à 1900 refusée : vérifiez l'année")
    ]


@pytest.mark.parametrize("path", ALL_PATHS)
def test_times_far_in_the_future_are_refused(path, feed, fhir_feed, to):
    target = fhir_feed if path == "fhir" else feed
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    errors = to(path, target, "predictions", rows(timestamp={0: future.isoformat()}))
    [(row, column, message)] = errors
    assert (row, column) == (entry_or_row(path, 0), "timestamp")
    assert message.startswith("date dans le futur refusée")


def test_an_outcome_time_in_the_future_is_refused_too(feed, to, accepted):
    accepted("json", feed, "predictions", rows())
    outcome = {"prediction_id": "id0", "outcome": 1, "outcome_time": "2226-03-01T10:00:00Z"}
    [error] = to("json", feed, "outcomes", [outcome])
    assert error[:2] == (1, "outcome_time") and "futur" in error[2]


@pytest.mark.parametrize("path", (*FILE_PATHS, "json"))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_feature_values_are_refused(path, value, feed, to):
    errors = to(path, feed, "predictions", rows(lactate={2: value}))
    [(row, column, message)] = errors
    assert (row, column) == (3, "lactate") and message.startswith("valeur non finie")


def test_a_missing_feature_value_is_still_accepted(feed, accepted):
    accepted("web-csv", feed, "predictions", rows(lactate={1: None}))
    accepted("json", feed, "predictions", rows(start=5, lactate={1: None}))
    assert storage.read(feed, "predictions")["lactate"].null_count == 2


@pytest.mark.parametrize("path", ALL_PATHS)
def test_outcomes_of_unknown_predictions_are_refused(path, feed, fhir_feed, to, accepted):
    target = fhir_feed if path == "fhir" else feed
    accepted("fhir" if path == "fhir" else "json", target, "predictions", rows(2))
    outcomes = [
        {"prediction_id": pid, "outcome": 1, "outcome_time": "2024-03-01T12:00:00+00:00"}
        for pid in ("id0", "id7", "id1", "inconnu")
    ]
    errors = to(path, target, "outcomes", outcomes)
    reason = "prédiction inconnue : envoyez d'abord le lot de prédictions qui la contient"
    assert errors == [(entry_or_row(path, 1), "prediction_id", reason)] + [
        (entry_or_row(path, 3), "prediction_id", reason)
    ]
    assert storage.read(target, "outcomes").num_rows == 0
    accepted(path, target, "outcomes", [outcomes[0], outcomes[2]])  # the known ones


# --- CSV structure, unreadable files, French only ----------------------------------------------


@pytest.mark.parametrize("path", ("web-csv", "cli-csv"))
@pytest.mark.parametrize(
    ("text", "row", "line"),
    [
        # in the last column: Arrow reads it to the end of the file, silently
        ('prediction_id,score,site\nid0,0.1,Nord\nid1,0.2,"Sud\nid2,0.3,Nord\n', 2, 3),
        # elsewhere: the row seems to have too few cells
        ('prediction_id,score,site\nid0,0.1,Nord\nid1,"0.2,Sud\nid2,0.3,Nord\n', 2, 3),
    ],
)
def test_an_unclosed_csv_quote_is_refused(path, text, row, line, feed, to):
    errors = to(path, feed, "predictions", data=text.encode())
    assert errors == [
        (
            row,
            None,
            f"guillemet ouvert et jamais refermé (ligne {line} du fichier) : fermez-le, ou "
            'doublez un guillemet qui fait partie de la valeur ("")',
        )
    ]


def test_a_csv_row_with_too_many_cells_names_its_row(feed, to):
    text = b"prediction_id,score\nid0,0.1\nid1,0.2,x\n"
    assert to("cli-csv", feed, "predictions", data=text) == [
        (2, None, "2 cellules attendues (comme l'en-tête), 3 trouvées (ligne 3 du fichier)")
    ]


def test_a_csv_file_not_in_utf8_is_refused_in_french(feed, to):
    text = "prediction_id,site\nid0,Hôpital\n".encode("latin-1")
    [error] = to("web-csv", feed, "predictions", data=text)
    assert error[2].startswith("encodage illisible : le fichier doit être en UTF-8")


@pytest.mark.parametrize("path", ("web-parquet", "cli-parquet"))
def test_an_unreadable_parquet_file_is_refused_in_french(path, feed, to):
    truncated = parquet_bytes(table_of(rows()))[:-40]
    [error] = to(path, feed, "predictions", data=truncated)
    assert error[2].startswith("fichier Parquet illisible")
    [error] = to(path, feed, "predictions", data=b"PAR1 not parquet at all")
    assert error[2].startswith("fichier Parquet illisible")


@pytest.mark.parametrize("path", ("web-parquet", "cli-parquet"))
def test_columns_of_lists_or_structures_are_refused_not_a_server_error(path, feed, to):
    table = table_of(rows()).append_column("details", pa.array([[1], [2, 3], []]))
    table = table.set_column(3, "score", pa.array([{"p": 0.1}, {"p": 0.2}, {"p": 0.3}]))
    errors = to(path, feed, "predictions", table=table)
    assert {(e[1], e[2]) for e in errors} == {
        (name, "type de colonne non pris en charge (liste, structure ou binaire) : texte ou "
         "nombre attendu")
        for name in ("score", "details")
    }  # fmt: skip


def test_json_records_must_be_flat(feed, to):
    records = rows(site={1: {"nom": "Nord"}})
    assert to("json", feed, "predictions", records) == [
        (2, "site", "valeur simple attendue (texte ou nombre)")
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"resourceType": "Bundle", "entry": [}', "valeur attendue"),
        (b'{"resourceType": "Bundle" "entry": []}', "virgule attendue"),
    ],
)
def test_malformed_fhir_json_is_explained_in_french(body, reason, fhir_feed, to):
    [error] = to("fhir", fhir_feed, "predictions", data=body)
    assert error[0] == "Bundle" and error[2].endswith(reason)


def test_fhir_type_errors_are_explained_in_french(fhir_feed, to):
    bundle = bundle_of(rows())
    bundle["entry"][0]["resource"]["code"] = 5  # elements Garant does not read: only
    bundle["entry"][1]["resource"]["basis"] = "x"  # fhir.resources (pydantic) reports them
    bundle["entry"][2]["resource"]["mitigation"] = {"text": 1}  # a string expected
    errors = to("fhir", fhir_feed, "predictions", data=json.dumps(bundle))
    assert [(e[0], e[1].split(".")[1]) for e in errors] == [
        ("entry[0]", "code"),
        ("entry[1]", "basis"),
        ("entry[2]", "mitigation"),
    ]
    assert [e[2] for e in errors] == [
        "valeur non conforme au type FHIR R4 (objet attendu)",
        "valeur non conforme au type FHIR R4 (liste attendue)",
        "valeur non conforme au type FHIR R4 (texte attendu)",
    ]


# --- one rule for patient identifiers (issue 11, item 3) ----------------------------------------


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize(
    "nir",
    [
        "384127645108943",  # sex digit 3 (a temporary number): FHIR refused it, files did not
        "2-84-12-76-451-089-93",  # dashes between the parts: the same
        "184122A45108933",  # Corsica
    ],
)
def test_the_same_nir_shaped_value_is_refused_by_every_path(path, nir, feed, fhir_feed, to):
    target = fhir_feed if path == "fhir" else feed
    errors = to(path, target, "predictions", rows(patient_id={1: nir}))
    [(row, column, message)] = errors
    assert row == entry_or_row(path, 1)
    assert column == ("RiskAssessment.subject.reference" if path == "fhir" else "patient_id")
    assert "NIR" in message and nir not in message


def test_a_nir_with_a_wrong_key_is_not_an_identifier(feed, accepted):
    accepted("json", feed, "predictions", rows(patient_id={1: "384127645108944"}))


# --- input as hospitals export it (issue 11, item 3) ---------------------------------------------


def pandas_like(records, zone=None) -> pa.Table:
    """The table pandas' `to_parquet` writes for these records: timestamp[ns] (naive, or in
    `zone`), text as large_string (pandas 3's string dtype), the site as a category
    (a dictionary), and pandas' schema metadata."""
    local = dt.datetime.fromisoformat
    times = [local(r["timestamp"]) for r in records]
    if zone is None:
        stamps = pa.array([t.replace(tzinfo=None) for t in times], pa.timestamp("ns"))
    else:
        stamps = pa.array(times, pa.timestamp("ns", tz="UTC")).cast(pa.timestamp("ns", tz=zone))
    table = pa.table(
        {
            "prediction_id": pa.array([r["prediction_id"] for r in records], pa.large_string()),
            "timestamp": stamps,
            "patient_id": pa.array([r["patient_id"] for r in records], pa.string_view()),
            "score": pa.array([r["score"] for r in records], pa.float64()),
            "model_version": pa.array([r["model_version"] for r in records], pa.large_string()),
            "lactate": pa.array([r["lactate"] for r in records], pa.float64()),
            "site": pa.array([r["site"] for r in records]).dictionary_encode(),
        }
    )
    pandas = {"index_columns": [{"kind": "range", "start": 0, "stop": len(records), "step": 1}]}
    return table.replace_schema_metadata({b"pandas": json.dumps(pandas).encode()})


@pytest.mark.parametrize("path", ("web-parquet", "cli-parquet"))
def test_pandas_default_parquet_is_accepted(path, feed, accepted):
    """Nanosecond timestamps without zone (the feed's, Europe/Paris), large_string,
    string_view and dictionary columns: stored in the canonical types."""
    records = rows(3, timestamp={0: "2024-03-01T09:00:00.123456789"[:26]})
    table = pandas_like(records)
    assert table.schema.field("timestamp").type == pa.timestamp("ns")
    accepted(path, feed, "predictions", table=table)
    stored = storage.read(feed, "predictions")
    assert stored.schema.field("timestamp").type == storage.UTC
    got = dict(
        zip(*stored.select(["prediction_id", "timestamp"]).to_pydict().values(), strict=True)
    )
    # wall-clock times of Paris (UTC+1 in March): 09:00:00.123456 and 10:00 (written from
    # "10:00+00:00" with its zone dropped, as a naive pandas column holds it)
    assert got["id0"] == dt.datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
    assert got["id2"] == dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC)
    assert sorted(stored["site"].to_pylist()) == ["Nord", "Sud", "Sud"]


def test_time_zoned_nanosecond_timestamps_are_accepted(feed, accepted):
    records = rows(2)
    accepted("web-parquet", feed, "predictions", table=pandas_like(records, "Europe/Paris"))
    times = sorted(storage.read(feed, "predictions")["timestamp"].to_pylist())
    assert times == [T0, T0 + dt.timedelta(hours=1)]


def test_naive_times_are_read_in_the_feeds_declared_zone(world, to, accepted):
    feed = make_feed(
        world["a"]["system"],
        slug="cayenne",
        timezone="America/Cayenne",  # UTC-3
        feature_columns=["lactate"],
        subgroup_columns=["site"],
        operating_threshold=0.5,
    )
    naive = {0: "2024-03-01T09:00:00", 1: "2024-03-01 10:30:00"}
    for path, start in (("web-csv", 0), ("json", 5)):
        accepted(path, feed, "predictions", rows(2, start=start, timestamp=naive))
    times = sorted(storage.read(feed, "predictions")["timestamp"].to_pylist())
    noon = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    assert times == [noon, noon, noon + dt.timedelta(minutes=90), noon + dt.timedelta(minutes=90)]


@pytest.mark.parametrize("path", ("web-csv", "json", "web-parquet"))
def test_a_naive_time_that_does_not_exist_in_the_zone_is_refused(path, feed, to):
    """02:30 on 31 March 2024 was skipped in Paris (summer time)."""
    records = rows(2, timestamp={1: "2024-03-31T02:30:00"})
    table = pandas_like(records) if path == "web-parquet" else None
    [error] = to(path, feed, "predictions", records, table=table)
    assert error[:2] == (2, "timestamp")
    assert error[2].startswith("heure inexistante dans le fuseau Europe/Paris")


def test_an_ambiguous_naive_time_is_the_earlier(feed, accepted):
    """02:30 on 27 October 2024 happened twice in Paris: the first (summer time, UTC+2)."""
    accepted("json", feed, "predictions", rows(1, timestamp={0: "2024-10-27T02:30:00"}))
    [time] = storage.read(feed, "predictions")["timestamp"].to_pylist()
    assert time == dt.datetime(2024, 10, 27, 0, 30, tzinfo=dt.UTC)


def test_a_feed_declares_a_known_zone(world):
    from garant.monitoring.forms import FeedForm
    from garant.monitoring.models import Feed

    values = {
        f.name: f.default for f in Feed._meta.fields if f.name.endswith("_column")
    }  # the default column names
    values.update({"name": "F", "slug": "f", "operating_threshold": 0.5, "quantum": 1e-4})
    values.update({"outcome_window_hours": 48, "timezone": "Europe/Pariss"})
    form = FeedForm(values, ai_system=world["a"]["system"])
    assert not form.is_valid()
    assert form.errors["timezone"] == [
        "Fuseau horaire inconnu : nom IANA attendu (ex. Europe/Paris)."
    ]
    values["timezone"] = ""
    form = FeedForm(values, ai_system=world["a"]["system"])
    assert form.is_valid(), form.errors
    assert form.cleaned_data["timezone"] == "Europe/Paris"


def test_the_length_limit_counts_characters_not_bytes(feed, accepted):
    """200 accented characters are 400 bytes of UTF-8: within the limit."""
    accepted("json", feed, "predictions", rows(site={0: "é" * MAX_TEXT_LENGTH}))
    assert "é" * MAX_TEXT_LENGTH in storage.read(feed, "predictions")["site"].to_pylist()


@pytest.mark.parametrize("row", [0, 2])
def test_a_quoted_value_over_two_lines_is_not_an_unclosed_quote(row, feed, accepted):
    """A closed quote may hold a line break, in any row, the last one included."""
    accepted("web-csv", feed, "predictions", rows(site={row: "Hôpital\nNord"}))
    assert "Hôpital\nNord" in storage.read(feed, "predictions")["site"].to_pylist()
