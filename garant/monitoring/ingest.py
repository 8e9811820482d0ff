"""Ingestion of prediction and outcome batches: read, validate everything, then store.

A batch (a Parquet or CSV file, or a list of JSON records) goes through, in order:

1. reading into an Arrow table (`read_file`, `read_records`), CSV columns read as text;
2. validation of the whole batch before anything is written (`normalise`): required columns,
   direct identifiers refused (`identifiers.py`), types, ranges and time zones, unique ids.
   Errors name the row (1 = first data row), the column and the reason, in French; at most
   `MAX_ERRORS` are listed, with the total count;
3. idempotence: the SHA-256 of the normalised content identifies the batch; the same content
   sent again stores nothing (`AlreadyReceived`);
4. storage (`ingest`), atomic: the `IngestBatch` row is created inside a database
   transaction and the Delta append is the last work of that transaction, so a failed
   append rolls the row back; the batch's audit event is chained after the append, in the
   same transaction (`audit.deferred`: no audit lock is held during the append); if that or
   the commit fails after the append, the appended rows (tagged with the batch id) are
   deleted again. Either the batch, its rows and its audit event all exist, or none. A process
   killed between the two commits leaves rows without a committed batch (nor audit event):
   readers ignore them (`storage.read`) and the next batch given the same id deletes them
   first.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core import audit
from garant.monitoring import alerts, fhir, identifiers, objections, storage
from garant.monitoring.models import Feed, IngestBatch

MAX_ERRORS = 200
READ_BATCH_ROWS = 65_536
CSV_BLOCK_BYTES = 1 << 20
# limits of every text received (issue 19): identifiers, other texts (model version,
# categories, subgroup values), column names
MAX_ID_LENGTH = 100
MAX_TEXT_LENGTH = 200
MAX_NAME_LENGTH = 100
# times: none before 1900, none later than a day after the time of reception (clock skew)
EARLIEST_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(days=1)
BOOLEAN_TEXT = r"(?i)^\s*(true|false|vrai|faux)\s*$"

Progress = Callable[[float], None]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RowError:
    row: int | str | None  # 1-based data row; "entry[i]" in a FHIR Bundle; None: all rows
    column: str | None
    reason: str

    def __str__(self):
        where = []
        if isinstance(self.row, str):
            where.append(self.row)
        elif self.row is not None:
            where.append(f"ligne {self.row}")
        if self.column:
            where.append(f"colonne « {self.column} »")
        return f"{', '.join(where)} : {self.reason}" if where else self.reason


@dataclass
class Errors:
    listed: list[RowError] = field(default_factory=list)
    total: int = 0
    entries: bool = False  # rows of a FHIR Bundle: named "entry[i]", counted from 0

    def _row(self, row):
        return f"entry[{row - 1}]" if self.entries and isinstance(row, int) else row

    def add(self, row, column, reason) -> None:
        self.total += 1
        if len(self.listed) < MAX_ERRORS:
            self.listed.append(RowError(self._row(row), column, reason))

    def add_rows(self, mask, column: str, reason: str) -> None:
        """One error per row where `mask` is true (vectorised; only the listed rows are read)."""
        indices = pc.indices_nonzero(pc.fill_null(mask, False))
        count = len(indices)
        room = max(0, MAX_ERRORS - len(self.listed))
        for index in indices.slice(0, room).to_pylist():
            self.listed.append(RowError(self._row(index + 1), column, reason))
        self.total += count


class BatchRefused(Exception):
    """Nothing of the batch was stored: `errors` (at most MAX_ERRORS) out of `total`."""

    def __init__(self, errors: Errors):
        super().__init__(f"{errors.total} erreur(s)")
        self.errors = errors.listed
        self.total = errors.total


class AlreadyReceived(Exception):
    """The same content was stored before, in `batch`: nothing stored this time."""

    def __init__(self, batch: IngestBatch):
        super().__init__(
            _("Lot déjà reçu le %(date)s : rien n'a été enregistré.")
            % {"date": f"{timezone.localtime(batch.created_at):%d/%m/%Y}"}
        )
        self.batch = batch


# --- reading ---------------------------------------------------------------------------------


def read_file(source, fmt: str | None = None, progress: Progress | None = None) -> pa.Table:
    """A Parquet or CSV file (path or binary file object) as an Arrow table.

    `fmt` ("parquet" or "csv") defaults to the file's extension, then to its magic bytes.
    `progress(fraction)` is called after each batch read.
    """
    fmt = fmt or _guess_format(source)
    if fmt == "parquet":
        return _read_parquet(source, progress)
    if fmt == "csv":
        return _read_csv(source, progress)
    raise BatchRefused(
        _single(None, None, "format de fichier inconnu : Parquet, CSV ou lot FHIR (.json) attendu")
    )


def _single(row, column, reason) -> Errors:
    errors = Errors()
    errors.add(row, column, reason)
    return errors


def _guess_format(source) -> str | None:
    name = str(source if isinstance(source, str | Path) else getattr(source, "name", "") or "")
    suffix = Path(name).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt"):
        return "csv"
    head = _peek(source, 4)
    return "parquet" if head == b"PAR1" else "csv"


def _peek(source, size: int) -> bytes:
    if isinstance(source, str | Path):
        with open(source, "rb") as f:
            return f.read(size)
    position = source.tell()
    data = source.read(size)
    source.seek(position)
    return data


def _read_parquet(source, progress: Progress | None) -> pa.Table:
    try:
        parquet = pq.ParquetFile(source)
        total = parquet.metadata.num_rows
        batches, done = [], 0
        for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS):
            batches.append(batch)
            done += batch.num_rows
            if progress and total:
                progress(done / total)
        return pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        # Arrow's own message is English: the sender gets a French one
        raise BatchRefused(
            _single(
                None,
                None,
                "fichier Parquet illisible : tronqué, corrompu ou d'un type de colonne non pris "
                "en charge ; réexportez-le (Parquet, ou CSV en UTF-8)",
            )
        ) from exc


def _read_csv(source, progress: Progress | None) -> pa.Table:
    """Every column as text (types are checked by `normalise`); `;` or `,` separator.

    A structural fault (a quote opened and never closed, a row with too many or too few
    cells, bytes that are not UTF-8) is refused with the data row where it starts, found by
    `_csv_fault` (read again with Python's strict CSV reader, on refusal only)."""
    head = _peek(source, 64 * 1024).decode("utf-8-sig", errors="replace")
    first_line = head.splitlines()[0] if head else ""
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    names = next(csv.reader([first_line], delimiter=delimiter), [])
    size = Path(source).stat().st_size if isinstance(source, str | Path) else _size(source)
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=True,
                null_values=[""],  # only an empty cell is missing ("NaN", "NA" are values)
            ),
        )
        batches = []
        for batch in reader:
            batches.append(batch)
            if progress and size:
                progress(min(1.0, len(batches) * CSV_BLOCK_BYTES / size))
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except (pa.ArrowException, OSError) as exc:
        raise BatchRefused(
            _csv_fault(source, delimiter)
            or _single(None, None, "fichier CSV illisible : structure non reconnue")
        ) from exc
    # Arrow reads a quote left open in the last column as a value running to the end of
    # the file: the last row then holds a line break (checked there only: a quoted value
    # may hold one legitimately, anywhere)
    last = table.slice(max(table.num_rows - 1, 0))
    for name in last.column_names:
        column = last[name]
        if (
            pa.types.is_string(column.type)
            and pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py()
        ):
            fault = _csv_fault(source, delimiter)
            if fault is not None:
                raise BatchRefused(fault)
            break
    if progress:
        progress(1.0)
    return table


def _csv_fault(source, delimiter: str) -> Errors | None:
    """The first structural fault of a CSV file, in French, with its data row (None when
    Python's strict reader finds none)."""
    if isinstance(source, str | Path):
        data = Path(source).read_bytes()
    else:
        position = source.tell()
        source.seek(0)
        data = source.read()
        source.seek(position)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n")  # 0 = the header
        return _single(
            line or None,
            None,
            "encodage illisible : le fichier doit être en UTF-8 (réenregistrez-le en « CSV "
            "UTF-8 »)",
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header, row, start = None, 0, 1
    try:
        for record in reader:
            if not record:  # an empty line, skipped by the reader
                start = reader.line_num + 1
                continue
            if header is None:
                header = record
            else:
                row += 1
                if len(record) != len(header):
                    return _single(
                        row,
                        None,
                        f"{len(header)} cellules attendues (comme l'en-tête), "
                        f"{len(record)} trouvées (ligne {start} du fichier)",
                    )
            start = reader.line_num + 1
    except csv.Error:
        return _single(
            row + 1 if header is not None else None,
            None,
            f"guillemet ouvert et jamais refermé (ligne {start} du fichier) : fermez-le, ou "
            'doublez un guillemet qui fait partie de la valeur ("")',
        )
    return None


def _size(stream) -> int:
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def read_records(records: list) -> pa.Table:
    """JSON records (objects) as an Arrow table, values as text (types checked later)."""
    errors = Errors()
    columns: dict[str, list] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.add(index + 1, None, "un objet JSON est attendu")
            continue
        for name in record:
            columns.setdefault(name, [None] * index)
        for name, values in columns.items():
            value = record.get(name)
            if isinstance(value, dict | list):
                errors.add(index + 1, name, "valeur simple attendue (texte ou nombre)")
                value = None
            values.append(None if value is None else _text(value))
    if errors.total:
        raise BatchRefused(errors)
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _text(value) -> str:
    """JSON booleans keep their spelling (`true`): a boolean score is refused by `normalise`
    (BOOLEAN_TEXT), a boolean outcome read as 1 or 0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


FHIR_OUTCOME_TYPES = ("Observation", "Condition")


def fhir_kind(data) -> str:
    """The kind of a FHIR Bundle, by its first entry's resource: ``RiskAssessment`` gives
    predictions, ``Observation`` or ``Condition`` outcomes (predictions when unknown: the
    reader then names what is wrong)."""
    bundle = data
    if isinstance(data, bytes | bytearray | str):
        try:
            bundle = json.loads(data.decode("utf-8-sig") if not isinstance(data, str) else data)
        except (ValueError, RecursionError):
            return IngestBatch.Kind.PREDICTIONS
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    first = entries[0] if isinstance(entries, list) and entries else None
    resource = first.get("resource") if isinstance(first, dict) else None
    resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
    if resource_type in FHIR_OUTCOME_TYPES:
        return IngestBatch.Kind.OUTCOMES
    return IngestBatch.Kind.PREDICTIONS


def read_fhir(feed: Feed, data) -> tuple[str, pa.Table]:
    """A FHIR R4 Bundle (bytes, text, dict, or a path or binary file) as ``(kind, table)``,
    its columns renamed to the feed's declared names, so that `normalise` validates it like
    any other batch. A refused bundle raises `BatchRefused`, one error per FHIR problem:
    row = ``"entry[i]"`` (0-based, as in FHIRPath) or ``"Bundle"``, column = FHIRPath."""
    if isinstance(data, str | Path) and not str(data).lstrip().startswith("{"):
        data = Path(data).read_bytes()
    elif hasattr(data, "read"):
        data = data.read()
    kind = fhir_kind(data)
    try:
        if kind == IngestBatch.Kind.OUTCOMES:
            table = fhir.outcomes_from_bundle(data)
        else:
            table = fhir.predictions_from_bundle(data)
    except fhir.FhirBatchError as refused:
        errors = Errors()
        for problem in refused.problems:
            errors.add(problem.entry, problem.path, problem.reason)
        raise BatchRefused(errors) from None
    if kind == IngestBatch.Kind.OUTCOMES:
        names = {
            "prediction_id": feed.outcome_id_column,
            "outcome": feed.outcome_column,
            "outcome_time": feed.outcome_time_column,
        }
    else:
        names = {
            "prediction_id": feed.prediction_id_column,
            "timestamp": feed.timestamp_column,
            "patient_id": feed.patient_id_column,
            "score": feed.score_column,
            "model_version": feed.model_version_column,
        }
    kept = [name for name in table.column_names if names.get(name)]
    table = table.select(kept).rename_columns([names[name] for name in kept])
    return kind, table.replace_schema_metadata(FHIR_ROWS)


def is_fhir(source, fmt: str | None = None) -> bool:
    """A FHIR Bundle is a ``.json`` file (or `fmt` "fhir")."""
    if fmt:
        return fmt == "fhir"
    name = str(source if isinstance(source, str | Path) else getattr(source, "name", "") or "")
    return Path(name).suffix.lower() == ".json"


# --- validation ------------------------------------------------------------------------------


def _required(feed: Feed, kind: str) -> dict[str, str]:
    """{canonical name: the feed's column name} of the columns a batch must carry."""
    if kind == "predictions":
        columns = {
            "prediction_id": feed.prediction_id_column,
            "timestamp": feed.timestamp_column,
            "patient_id": feed.patient_id_column,
            "score": feed.score_column,
        }
        if feed.model_version_column:
            columns["model_version"] = feed.model_version_column
        stored = (*feed.feature_columns, *feed.categorical_columns, *feed.stored_subgroup_columns)
        for name in stored:
            columns[name] = name
        return columns
    return {
        "prediction_id": feed.outcome_id_column,
        "outcome": feed.outcome_column,
        "outcome_time": feed.outcome_time_column,
    }


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


UNSUPPORTED = (
    "type de colonne non pris en charge (liste, structure ou binaire) : texte ou nombre attendu"
)


def _plain(raw: pa.Table, errors: Errors) -> pa.Table:
    """The table with the column types every exporter writes brought to the few read here:
    ``string_view`` and ``large_string`` as text, a dictionary of text (pandas' category,
    Parquet's dictionary pages) kept as a dictionary of text, other dictionaries decoded.
    A column of another type (list, struct, map, binary that is not UTF-8) is refused; so
    are column names repeated, empty, too long or holding a NUL byte."""
    seen = set()
    for name in raw.column_names:
        if not name.strip():
            errors.add(None, None, "nom de colonne vide dans l'en-tête")
        elif "\x00" in name:
            errors.add(
                None, name.replace("\x00", "\\0"), "caractère NUL interdit dans un nom de colonne"
            )
        elif len(name) > MAX_NAME_LENGTH:
            errors.add(
                None,
                name[:40] + "…",
                f"nom de colonne trop long : {MAX_NAME_LENGTH} caractères au plus",
            )
        elif name in seen:
            errors.add(None, name, "colonne en double dans l'en-tête")
        seen.add(name)
    if errors.total:
        return raw
    columns = []
    for name in raw.column_names:
        column = raw[name]
        kind = column.type
        try:
            if pa.types.is_dictionary(kind):
                value = kind.value_type
                if _is_text(value) or pa.types.is_binary(value) or pa.types.is_large_binary(value):
                    column = column.cast(pa.dictionary(kind.index_type, pa.string()))
                else:
                    column = column.cast(value)
                    kind = column.type
            elif _is_text(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
                if not pa.types.is_string(kind):
                    column = column.cast(pa.string())
            elif pa.types.is_null(kind):
                column = column.cast(pa.string())
            elif not (
                pa.types.is_integer(kind)
                or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind)
                or pa.types.is_boolean(kind)
                or pa.types.is_timestamp(kind)
                or pa.types.is_date(kind)
            ):
                errors.add(None, name, UNSUPPORTED)
        except pa.ArrowException:
            errors.add(None, name, "texte illisible : UTF-8 attendu")
        columns.append(column)
    return pa.table(columns, names=raw.column_names)


def _is_text(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(kind))
    )


def _as_float(
    column: pa.ChunkedArray, name: str, errors: Errors, *, score: bool = False
) -> pa.ChunkedArray | None:
    """Numbers as float64; for a score, a boolean (true/false) is refused, not read as 1/0."""
    if pa.types.is_boolean(column.type) or (
        score
        and pa.types.is_string(column.type)
        and pc.any(pc.match_substring_regex(column, BOOLEAN_TEXT)).as_py()
    ):
        if score:
            mask = (
                pc.is_valid(column)
                if pa.types.is_boolean(column.type)
                else pc.match_substring_regex(column, BOOLEAN_TEXT)
            )
            errors.add_rows(mask, name, "booléen refusé : score numérique entre 0 et 1 attendu")
            return None
        return column.cast(pa.float64())
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return column.cast(pa.float64())
    if pa.types.is_decimal(column.type):
        return column.cast(pa.float64(), safe=False)
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        errors.add(None, name, "nombre attendu (la colonne contient des dates)")
        return None
    try:
        return _as_text(column).cast(pa.float64())
    except pa.ArrowInvalid:
        pass
    for index, value in enumerate(_as_text(column).to_pylist()):
        try:
            if value is not None:
                float(value)
        except ValueError:
            errors.add(index + 1, name, "nombre attendu")
    return None


def _as_utc(
    column: pa.ChunkedArray, name: str, errors: Errors, zone: str = "UTC"
) -> pa.ChunkedArray | None:
    """Times converted to UTC, at most the microsecond (nanosecond timestamps, pandas'
    default, are truncated to it). ISO 8601 text or timestamps, with a time zone or without:
    a time without zone is the wall-clock time of `zone` (the feed's); one that does not
    exist there (skipped by the change to summer time) is refused, an ambiguous one (the
    repeated hour in autumn) is the earlier. A time before 1900 or more than
    `FUTURE_TOLERANCE` after now is refused."""
    moments = _parse_times(column, name, errors, zone)
    if moments is None:
        return None
    early = pc.less(moments, pa.scalar(EARLIEST_TIME, storage.UTC))
    errors.add_rows(early, name, "date antérieure à 1900 refusée : vérifiez l'année")
    latest = timezone.now() + FUTURE_TOLERANCE
    late = pc.greater(moments, pa.scalar(latest, storage.UTC))
    errors.add_rows(
        late,
        name,
        f"date dans le futur refusée (après le {timezone.localtime(latest):%d/%m/%Y %H:%M}) : "
        "vérifiez l'année et l'ordre jour/mois",
    )
    return moments


def _parse_times(
    column: pa.ChunkedArray, name: str, errors: Errors, zone: str
) -> pa.ChunkedArray | None:
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            return _assume(column, name, errors, zone)
        return column.cast(pa.timestamp(column.type.unit, tz="UTC")).cast(storage.UTC, safe=False)
    if pa.types.is_date(column.type):
        errors.add(None, name, "date sans heure : date, heure et fuseau horaire attendus")
        return None
    text = _as_text(column)
    for target in (storage.UTC, pa.timestamp("us")):  # every row with a zone, or none
        try:
            parsed = text.cast(target)
        except pa.ArrowInvalid:
            continue
        return parsed if target.tz else _assume(parsed, name, errors, zone)
    parsed, failed = [], False
    local = ZoneInfo(zone)
    for index, value in enumerate(text.to_pylist()):
        if value is None:
            parsed.append(None)
            continue
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            errors.add(index + 1, name, "date et heure ISO 8601 attendues")
            failed = True
            continue
        if moment.tzinfo is None:
            naive, moment = moment, moment.replace(tzinfo=local)
            if moment.astimezone(dt.UTC).astimezone(local).replace(tzinfo=None) != naive:
                errors.add(index + 1, name, _nonexistent(zone))
                failed = True
                continue
        parsed.append(moment.astimezone(dt.UTC))
    return None if failed else pa.chunked_array([pa.array(parsed, storage.UTC)])


def _nonexistent(zone: str) -> str:
    return (
        f"heure inexistante dans le fuseau {zone} (sautée au passage à l'heure d'été) : "
        "indiquez le fuseau (ex. +01:00)"
    )


def _assume(column: pa.ChunkedArray, name: str, errors: Errors, zone: str):
    """Naive wall-clock times of `zone` as UTC (the rows that do not exist there refused)."""
    earliest = pc.assume_timezone(
        column, timezone=zone, ambiguous="earliest", nonexistent="earliest"
    )
    latest = pc.assume_timezone(column, timezone=zone, ambiguous="earliest", nonexistent="latest")
    skipped = pc.not_equal(earliest, latest)
    if pc.any(skipped).as_py():
        errors.add_rows(skipped, name, _nonexistent(zone))
        return None
    return earliest.cast(pa.timestamp(column.type.unit, tz="UTC")).cast(storage.UTC, safe=False)


def _check_missing(column, name: str, errors: Errors) -> None:
    if column.null_count:
        errors.add_rows(column.is_null(), name, "valeur manquante")


def _check_text(column: pa.ChunkedArray, name: str, limit: int, errors: Errors) -> None:
    """No NUL byte, at most `limit` characters."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    errors.add_rows(pc.match_substring(column, "\x00"), name, "caractère NUL interdit")
    longest = pc.max(pc.binary_length(column)).as_py() or 0  # bytes ≥ characters
    if longest > limit:
        errors.add_rows(
            pc.greater(pc.utf8_length(column), limit),
            name,
            f"texte trop long : {limit} caractères au plus",
        )


def _check_finite(column: pa.ChunkedArray, name: str, errors: Errors) -> None:
    errors.add_rows(
        pc.invert(pc.is_finite(column)),
        name,
        "valeur non finie (NaN ou infini) refusée : laissez la cellule vide (ou null) pour "
        "une valeur manquante",
    )


def normalise(feed: Feed, kind: str, raw: pa.Table) -> pa.Table:
    """The batch in canonical columns and types (see `storage.schema`), or `BatchRefused`."""
    errors = Errors(entries=_fhir_rows(raw))
    raw = _plain(raw, errors)
    if errors.total:
        raise BatchRefused(errors)
    required = _required(feed, kind)
    missing = [source for source in required.values() if source not in raw.column_names]
    for source in missing:
        errors.add(None, source, "colonne obligatoire absente")
    # direct identifiers: every column by name, text columns (not numbers or times) by value
    parsed = {feed.score_column, *feed.feature_columns}
    parsed |= {feed.timestamp_column} if kind == "predictions" else set()
    parsed |= {feed.outcome_column, feed.outcome_time_column} if kind == "outcomes" else set()
    text_columns = [name for name in raw.column_names if name not in parsed]
    source = required["prediction_id"]
    # the search for repeated ids runs beside the search for identifiers (both release the GIL)
    pool = ThreadPoolExecutor(max_workers=1)
    repeated = None
    if source in raw.column_names:
        repeated = pool.submit(_has_duplicates, _as_text(raw[source]))
    pool.shutdown(wait=False)
    for finding in identifiers.find_identifiers(raw, text_columns):
        errors.add(finding.row, finding.column, finding.reason)
    if errors.total or raw.num_rows == 0:
        if raw.num_rows == 0 and not errors.total:
            errors.add(None, None, "lot vide")
        raise BatchRefused(errors)

    out: dict[str, pa.ChunkedArray | None] = {}
    ids = _as_text(raw[source])
    blank = pc.or_kleene(pc.equal(pc.utf8_length(ids), 0), pc.utf8_is_space(ids))
    errors.add_rows(pc.or_kleene(ids.is_null(), blank), source, "identifiant vide")
    _check_text(ids, source, MAX_ID_LENGTH, errors)
    if repeated.result():  # only then look for which
        counts = pc.value_counts(ids.combine_chunks())
        doubles = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
        errors.add_rows(pc.is_in(ids, doubles), source, "identifiant en double dans le lot")
    out["prediction_id"] = ids

    if kind == "predictions":
        out["timestamp"] = _as_utc(
            raw[feed.timestamp_column], feed.timestamp_column, errors, feed.timezone
        )
        out["patient_id"] = _as_text(raw[feed.patient_id_column])
        _check_missing(out["patient_id"], feed.patient_id_column, errors)
        _check_text(out["patient_id"], feed.patient_id_column, MAX_ID_LENGTH, errors)
        score = _as_float(raw[feed.score_column], feed.score_column, errors, score=True)
        if score is not None:
            out_of_range = pc.or_(pc.or_(pc.less(score, 0), pc.greater(score, 1)), pc.is_nan(score))
            errors.add_rows(out_of_range, feed.score_column, "score attendu entre 0 et 1")
            _check_missing(score, feed.score_column, errors)
        out["score"] = score
        version = feed.model_version_column
        out["model_version"] = (
            _as_text(raw[version]) if version else pa.nulls(raw.num_rows, pa.string())
        )
        if version:
            _check_text(out["model_version"], version, MAX_TEXT_LENGTH, errors)
        for name in feed.feature_columns:
            out[name] = _as_float(raw[name], name, errors)
            if out[name] is not None:
                _check_finite(out[name], name, errors)
        for name in (*feed.categorical_columns, *feed.stored_subgroup_columns):
            out[name] = _as_text(raw[name])
            _check_text(out[name], name, MAX_TEXT_LENGTH, errors)
        time_column, source_time = "timestamp", feed.timestamp_column
    else:
        column = raw[feed.outcome_column]
        outcome = _boolean_outcome(column) if pa.types.is_string(column.type) else None
        if outcome is None:
            outcome = _as_float(column, feed.outcome_column, errors)
        if outcome is not None:
            errors.add_rows(
                pc.invert(pc.is_in(outcome, pa.array([0.0, 1.0]))),
                feed.outcome_column,
                "issue attendue : 0 ou 1",
            )
            outcome = outcome.cast(pa.int8(), safe=False)
        out["outcome"] = outcome
        out["outcome_time"] = _as_utc(
            raw[feed.outcome_time_column], feed.outcome_time_column, errors, feed.timezone
        )
        patient = feed.patient_id_column
        out["patient_id"] = (
            _as_text(raw[patient])
            if patient in raw.column_names
            else pa.nulls(raw.num_rows, pa.string())
        )
        _check_text(out["patient_id"], patient, MAX_ID_LENGTH, errors)
        time_column, source_time = "outcome_time", feed.outcome_time_column
    if out[time_column] is not None:
        _check_missing(out[time_column], source_time, errors)
    if errors.total:
        raise BatchRefused(errors)
    names = [n for n in storage.schema(feed, kind).names if n not in ("batch_id", "month")]
    return pa.table({name: out[name] for name in names}).cast(
        pa.schema([storage.schema(feed, kind).field(n) for n in names])
    )


FHIR_ROWS = {b"garant.rows": b"fhir-entries"}


def _fhir_rows(table: pa.Table) -> bool:
    """Whether the table was read from a FHIR Bundle (its rows are then named entry[i])."""
    return (table.schema.metadata or {}).get(b"garant.rows") == FHIR_ROWS[b"garant.rows"]


def _boolean_outcome(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """An outcome column of true/false (JSON booleans, pandas' True/False) as 1.0/0.0, when
    every value is one of those or a number; None otherwise."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    mapped = pc.if_else(
        pc.equal(lowered, "true"), "1", pc.if_else(pc.equal(lowered, "false"), "0", lowered)
    )
    try:
        return mapped.cast(pa.float64())
    except pa.ArrowInvalid:
        return None


def check_predictions_known(feed: Feed, table: pa.Table, entries: bool = False) -> None:
    """An outcomes batch may only name predictions already stored (committed) for the feed:
    an outcome for an unknown prediction (a typo, another feed, or sent before its
    prediction) would never be counted."""
    ids = table["prediction_id"]
    known = storage.known_ids(feed, "predictions", ids)
    unknown = pc.invert(pc.is_in(ids, known)) if len(known) else pc.is_valid(ids)
    if pc.any(unknown).as_py():
        errors = Errors(entries=entries)
        errors.add_rows(
            unknown,
            feed.outcome_id_column,
            "prédiction inconnue : envoyez d'abord le lot de prédictions qui la contient",
        )
        raise BatchRefused(errors)


def _has_duplicates(ids: pa.ChunkedArray) -> bool:
    """Whether a value occurs twice (DuckDB's parallel hash count; nulls count as a value)."""
    con = storage.duckdb_connection()
    try:
        con.register("ids", pa.table({"id": ids}))
        [(distinct, nulls)] = con.sql(
            "SELECT count(DISTINCT id), count(*) - count(id) FROM ids"
        ).fetchall()
    finally:
        con.close()
    return distinct + min(nulls, 1) < len(ids)


def content_hash(table: pa.Table) -> str:
    """SHA-256 fingerprint of the normalised batch, whatever the order of its rows.

    DuckDB hashes each row (a 64-bit hash of all its values, in parallel) and sums, as exact
    integers, the row hashes and the product of each hash's two 32-bit halves; those two sums
    and the row count, after the columns' names and types, are hashed with SHA-256. The same
    rows in another order give the same fingerprint; a changed value gives another, but for
    a chance of the order of 2⁻⁶⁴. Summing instead of sorting the 10M hashes of a large batch
    saves half a second (benchmarks/monitoring.py). A batch received before this version of
    the fingerprint and sent again is still refused, by its prediction ids already received.
    """
    columns = ", ".join('"' + name.replace('"', '""') + '"' for name in table.column_names)
    con = storage.duckdb_connection()
    try:
        con.register("batch", table)
        [sums] = con.sql(
            f"SELECT count(*), sum(h), sum((h >> 32) * (h & 4294967295)) "
            f"FROM (SELECT hash({columns}) AS h FROM batch)"
        ).fetchall()
    finally:
        con.close()
    digest = hashlib.sha256(str(table.schema).encode())
    digest.update(" ".join(str(value or 0) for value in sums).encode())
    return digest.hexdigest()


# --- storing ---------------------------------------------------------------------------------


def ingest(feed: Feed, kind: str, raw: pa.Table, source: str, user=None) -> IngestBatch:
    """Validate `raw` entirely, then store it atomically; `BatchRefused` or `AlreadyReceived`
    when nothing is stored. The caller sets the `audit_context`."""
    table = normalise(feed, kind, raw)
    table, dropped = without_objections(feed, table, _fhir_rows(raw))
    if kind == "outcomes":
        check_predictions_known(feed, table, _fhir_rows(raw))
    # a predictions batch's state counts are computed while its rows are fingerprinted and
    # written (NumPy, DuckDB and delta-rs release the GIL); they serve once it is committed
    with ThreadPoolExecutor(max_workers=1) as pool:
        counting = storage.precount(feed, table, pool) if kind == "predictions" else None
        digest = content_hash(table)  # counting meanwhile
        batch = _store(feed, kind, table, digest, source, user, dropped)  # and meanwhile
        # once committed: its days counted in the state, then the alerts evaluated (neither
        # failing the ingestion; a state not updated here is updated at its next read)
        rows = (batch.pk, counting) if counting is not None else None
        transaction.on_commit(lambda: after_commit(feed, rows))
    return batch


def without_objections(feed: Feed, table: pa.Table, entries: bool = False) -> tuple[pa.Table, int]:
    """The batch without the rows of patients who objected to evaluation use by the feed's
    system, and how many were dropped; or `BatchRefused` naming those rows when the feed
    refuses such batches (`Feed.objection_policy`). Outcomes are matched by their patient
    identifier when the feed sends it. Error messages never repeat the identifier."""
    objected = objections.objected_rows(feed, table["patient_id"])
    count = int(objected.sum())
    if not count:
        return table, 0
    if feed.objection_policy == Feed.ObjectionPolicy.REFUSE:
        errors = Errors(entries=entries)
        errors.add_rows(
            pa.array(objected),
            feed.patient_id_column,
            "patient opposé à l'utilisation de ses données pour l'évaluation de ce système",
        )
        raise BatchRefused(errors)
    kept = table.filter(pa.array(~objected))
    if not kept.num_rows:
        errors = Errors(entries=entries)
        errors.add(
            None,
            feed.patient_id_column,
            f"lot vide une fois écartées les {count} lignes de patients opposés à l'évaluation",
        )
        raise BatchRefused(errors)
    return kept, count


def _store(
    feed: Feed, kind: str, table: pa.Table, digest: str, source: str, user, dropped: int = 0
) -> IngestBatch:
    previous = IngestBatch.objects.within(feed=feed).filter(kind=kind, sha256=digest).first()
    if previous is not None:
        raise AlreadyReceived(previous)
    if kind == "predictions":
        known = storage.known_ids(feed, kind, table["prediction_id"])
        if len(known):
            errors = Errors()
            errors.add_rows(
                pc.is_in(table["prediction_id"], known),
                feed.prediction_id_column,
                "identifiant déjà reçu dans un lot précédent",
            )
            raise BatchRefused(errors)
    appended = None
    try:
        # the batch's audit event is chained when this transaction's block ends, after the
        # Delta append: its establishment's chain is locked for the commit only
        with audit.deferred():
            times = pc.min_max(table[storage.TIME_COLUMN[kind]]).as_py()
            batch = IngestBatch.objects.create(
                feed=feed,
                kind=kind,
                sha256=digest,
                rows=table.num_rows,
                dropped_rows=dropped,
                source=source,
                created_by=user if getattr(user, "is_authenticated", False) else None,
                first_time=times["min"],
                last_time=times["max"],
            )
            batch_ids = pa.repeat(pa.scalar(batch.pk, pa.int64()), table.num_rows)
            storage.remove_leftovers(feed, kind, batch.pk)  # of a killed ingestion
            storage.append(feed, kind, table.append_column("batch_id", batch_ids))
            appended = batch.pk  # an exception above, or in the audit, rolls the row back
    except Exception as exc:
        if appended is not None:  # audit or commit failed after the append: take the rows back
            storage.remove_batch(feed, kind, appended)
        if isinstance(exc, IntegrityError):  # the same batch, stored meanwhile by another
            raise AlreadyReceived(
                IngestBatch.objects.within(feed=feed).get(kind=kind, sha256=digest)
            ) from None
        raise
    return batch


def after_commit(feed: Feed, rows: tuple[int, storage.Precount] | None = None) -> None:
    try:
        storage.sync_state(feed, rows)
    except Exception:
        logger.exception("mise à jour de l'état de suivi du flux %s", feed.pk)
    alerts.evaluate_after_ingest(feed)


# --- the checks other ingestion paths reuse (garant.oversight: feedback events) -------------

plain_columns = _plain
as_text = _as_text
as_float = _as_float
as_utc = _as_utc
check_text = _check_text
check_missing = _check_missing
check_finite = _check_finite
