"""Ingestion of feedback events: what a clinician did with each AI output (docs/oversight.md).

A batch (JSON events from the API, or a CSV/Parquet file) goes through, in order:

1. reading into an Arrow table, values as text (monitoring's readers: same French errors);
2. validation of the whole batch before anything is written (`normalise`): the columns
   (required, known), direct identifiers refused with monitoring's one rule
   (`garant.monitoring.identifiers`: names, e-mails, NIR, phones; RPPS and ADELI numbers in
   the columns that describe people or hold free text), systems of the batch's
   establishment only, codes of the oversight referential, times, numbers. Any error
   refuses the batch whole: nothing is stored; errors name the row, the column, the reason;
3. idempotence per event id within a system: events already stored (same system, same
   event id) are skipped, so a batch sent again stores nothing and answers so;
4. storage, atomic, under a lock per establishment: the `FeedbackBatch` record and its audit
   event in one database transaction whose last work is the Delta append (`storage.py`);
5. once committed, the batch's counts (computed from the rows in memory while the Delta
   table is written) are added to the state of each system touched (`tally.py`), and their
   alert rules are evaluated (`alerts.py`).
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction

from garant.core import audit
from garant.core.locks import file_lock
from garant.monitoring import identifiers
from garant.monitoring import ingest as feeds
from garant.monitoring.ingest import BatchRefused, Errors
from garant.oversight import alerts, referential, storage, tally
from garant.oversight.models import FeedbackBatch
from garant.registry.models import AISystem

__all__ = ["BatchRefused", "Errors", "Received", "ingest", "read_file", "read_records"]

MAX_API_EVENTS = 10_000
REQUIRED = ("system", "event_id", "time", "outcome")
OPTIONAL = (
    "reason",
    "reason_text",
    "role",
    "service",
    "prediction_id",
    "decision_ms",
    "edit_ratio",
    "ai_decision",
    "final_decision",
)
NUMERIC = ("decision_ms", "edit_ratio")
TEXT_LIMITS = {
    "event_id": 100,
    "prediction_id": 100,
    "service": 100,
    "reason_text": 500,
    "ai_decision": 100,
    "final_decision": 100,
}
# columns that describe a person or hold free text: searched for RPPS / ADELI numbers too
PROFESSIONAL_COLUMNS = ["reason_text", "role", "service", "ai_decision", "final_decision"]
MAX_DECISION_MS = 24 * 3600 * 1000
SYSTEM_REFERENCE = re.compile(r"^\s*(\d{1,18})(?:/([A-Za-z0-9_-]{1,50}))?\s*$")

logger = logging.getLogger(__name__)
read_records = feeds.read_records
read_file = feeds.read_file


@dataclass
class Received:
    """What a batch gave: `stored` new events (in `batch`, None when nothing was new) and
    `already` events skipped as already stored, out of `received`."""

    batch: FeedbackBatch | None
    received: int
    stored: int
    already: int
    referential_version: str


# --- validation ------------------------------------------------------------------------------


def _blank(text) -> pa.ChunkedArray:
    return pc.or_(pc.equal(pc.binary_length(text), 0), pc.utf8_is_space(text))


def _blank_as_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column as text, blank values (empty or spaces only) as null. A dictionary of
    text (Parquet's dictionary pages) is checked on its dictionary, then decoded."""
    if pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type):
        chunks = []
        for chunk in column.chunks:
            words = chunk.dictionary
            blank = _blank(words)
            if pc.any(blank).as_py():
                words = pc.if_else(blank, pa.scalar(None, pa.string()), words)
            chunks.append(pc.take(words, chunk.indices))
        return pa.chunked_array(chunks, pa.string())
    text = feeds.as_text(column)
    blank = _blank(text)
    if not pc.any(blank).as_py():
        return text
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)


def _systems(column: pa.ChunkedArray, establishment, errors: Errors) -> pa.ChunkedArray | None:
    """The Garant id of each row's system: its id, or a monitoring feed's reference
    ``<system id>/<feed slug>``; a system of another establishment is unknown here."""
    from garant.monitoring.models import Feed

    text = feeds.as_text(column)
    values = [v for v in pc.unique(text).to_pylist() if v is not None]
    resolved: dict[str, int] = {}
    candidates: dict[str, tuple[int, str | None]] = {}
    for value in values:
        match = SYSTEM_REFERENCE.match(value)
        if match:
            candidates[value] = (int(match.group(1)), match.group(2))
    ids = {pk for pk, _slug in candidates.values()}
    # system code: the establishment comes from the token, or from a system in the user's scope
    owned = set(
        AISystem.objects.unrestricted()
        .filter(pk__in=ids, establishment_id=establishment.pk)
        .values_list("pk", flat=True)
    )
    slugs = {(pk, slug) for pk, slug in candidates.values() if slug and pk in owned}
    feeds_known = set()
    if slugs:
        rows = (
            Feed.objects.unrestricted()
            .filter(ai_system_id__in={pk for pk, _ in slugs})
            .values_list("ai_system_id", "slug")
        )
        feeds_known = set(rows)
    for value, (pk, slug) in candidates.items():
        if pk in owned and (slug is None or (pk, slug) in feeds_known):
            resolved[value] = pk
    unknown = pc.invert(pc.is_in(text, pa.array(list(resolved), pa.string())))
    if pc.any(pc.fill_null(unknown, True)).as_py():
        errors.add_rows(
            pc.fill_null(unknown, True),
            "system",
            "système inconnu dans cet établissement : identifiant Garant du système, ou "
            "référence de flux « <système>/<flux> »",
        )
        return None
    keys = pa.array(list(resolved), pa.string())
    values_ = pa.array(list(resolved.values()), pa.int64())
    return pc.take(values_, pc.index_in(text, value_set=keys))


def _dictionaries(column: pa.ChunkedArray) -> list[pa.Array] | None:
    """The dictionaries of a dictionary-encoded text column (None for plain text)."""
    if pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type):
        return [chunk.dictionary for chunk in column.chunks]
    return None


def _check_text(raw: pa.ChunkedArray, values, name: str, errors: Errors) -> None:
    """Monitoring's text check (no NUL byte, length), on the dictionary when the file has
    one and every value of it passes; row by row otherwise (to name the rows)."""
    words = _dictionaries(raw)
    limit = TEXT_LIMITS[name]
    if words is not None and not any(
        pc.any(pc.match_substring(w, "\x00")).as_py()
        or (pc.max(pc.utf8_length(w)).as_py() or 0) > limit
        for w in words
    ):
        return
    feeds.check_text(values, name, limit, errors)


def _coded(column, name: str, allowed: dict, errors: Errors, required: bool = False):
    values = _blank_as_null(column)
    if required:
        feeds.check_missing(values, name, errors)
    words = _dictionaries(column)
    codes = pa.array(list(allowed), pa.string())
    if words is not None and all(
        pc.all(pc.or_(pc.is_in(w, codes), _blank(w))).as_py() is not False for w in words
    ):
        return values  # every value of the dictionary is a code (or blank)
    unknown = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, codes)))
    if pc.any(unknown).as_py():
        listed = ", ".join(allowed)
        shown = listed if len(listed) < 160 else listed[:157] + "…"
        errors.add_rows(unknown, name, f"code inconnu du référentiel (attendu : {shown})")
    return values


def _duplicates(systems: pa.ChunkedArray, ids: pa.ChunkedArray) -> pa.Table:
    """The (system, event id) pairs repeated in the batch."""
    con = storage.duckdb_connection()
    try:
        con.register("rows", pa.table({"s": systems, "e": ids}))
        return con.sql(
            "SELECT s, e FROM rows WHERE e IS NOT NULL GROUP BY s, e HAVING count(*) > 1"
        ).to_arrow_table()
    finally:
        con.close()


def normalise(establishment, raw: pa.Table, codes, default_system=None) -> pa.Table:
    """The batch in the columns and types of `storage.SCHEMA` (no batch id), or
    `BatchRefused` naming every fault."""
    with ThreadPoolExecutor(1) as pool:
        return _normalise(establishment, raw, codes, default_system, pool)


def _normalise(establishment, raw: pa.Table, codes, default_system, pool) -> pa.Table:
    errors = Errors()
    raw = feeds.plain_columns(raw, errors)
    if errors.total:
        raise BatchRefused(errors)
    if default_system is not None and "system" not in raw.column_names:
        raw = raw.append_column("system", pa.repeat(pa.scalar(str(default_system.pk)), len(raw)))
    for name in REQUIRED:
        if name not in raw.column_names:
            errors.add(None, name, "colonne obligatoire absente")
    # direct identifiers: every column by name; the text columns by value (monitoring's rule)
    text_columns = [n for n in raw.column_names if n not in (*NUMERIC, "time")]
    findings = identifiers.find_identifiers(raw, text_columns)
    flagged = {f.column for f in findings}
    findings += identifiers.find_professional_numbers(
        raw, [n for n in PROFESSIONAL_COLUMNS if n not in flagged]
    )
    for finding in findings:
        errors.add(finding.row, finding.column, finding.reason)
    flagged = {f.column for f in findings}
    for name in raw.column_names:
        if name not in REQUIRED and name not in OPTIONAL and name not in flagged:
            errors.add(
                None, name, "colonne inconnue : voir les colonnes admises (docs/oversight.md)"
            )
    if errors.total or raw.num_rows == 0:
        if raw.num_rows == 0 and not errors.total:
            errors.add(None, None, "lot vide")
        raise BatchRefused(errors)

    n = raw.num_rows
    out: dict[str, pa.ChunkedArray | None] = {}
    out["system_id"] = _systems(raw["system"], establishment, errors)
    ids = feeds.as_text(raw["event_id"])
    blank = pc.or_kleene(pc.equal(pc.utf8_length(ids), 0), pc.utf8_is_space(ids))
    errors.add_rows(pc.or_kleene(ids.is_null(), blank), "event_id", "identifiant vide")
    feeds.check_text(ids, "event_id", TEXT_LIMITS["event_id"], errors)
    doubles = None
    if out["system_id"] is not None:  # searched while the other columns are checked
        doubles = pool.submit(_duplicates, out["system_id"], ids)
    out["event_id"] = ids
    out["time"] = feeds.as_utc(raw["time"], "time", errors, settings.TIME_ZONE)
    if out["time"] is not None:
        feeds.check_missing(out["time"], "time", errors)
    out["outcome"] = _coded(raw["outcome"], "outcome", codes.outcomes, errors, required=True)
    optional = {name: raw[name] if name in raw.column_names else None for name in OPTIONAL}
    nulls = pa.nulls(n, pa.string())
    out["reason"] = (
        nulls
        if optional["reason"] is None
        else _coded(optional["reason"], "reason", codes.reasons, errors)
    )
    out["role"] = (
        nulls if optional["role"] is None else _coded(optional["role"], "role", codes.roles, errors)
    )
    for name in ("reason_text", "service", "prediction_id", "ai_decision", "final_decision"):
        if optional[name] is None:
            out[name] = nulls
            continue
        out[name] = _blank_as_null(optional[name])
        _check_text(optional[name], out[name], name, errors)
    out["decision_ms"] = pa.nulls(n, pa.int64())
    if optional["decision_ms"] is not None:
        ms = feeds.as_float(optional["decision_ms"], "decision_ms", errors)
        if ms is not None:
            feeds.check_finite(pc.fill_null(ms, 0.0), "decision_ms", errors)
            wrong = pc.or_(
                pc.or_(pc.less(ms, 0), pc.greater(ms, MAX_DECISION_MS)),
                pc.not_equal(pc.floor(ms), ms),
            )
            errors.add_rows(
                wrong, "decision_ms", "durée en millisecondes attendue : entier de 0 à 86 400 000"
            )
            if not errors.total:
                out["decision_ms"] = ms.cast(pa.int64())
    out["edit_ratio"] = pa.nulls(n, pa.float64())
    if optional["edit_ratio"] is not None:
        ratio = feeds.as_float(optional["edit_ratio"], "edit_ratio", errors)
        if ratio is not None:
            feeds.check_finite(pc.fill_null(ratio, 0.0), "edit_ratio", errors)
            errors.add_rows(
                pc.less(ratio, 0),
                "edit_ratio",
                "mesure d'édition attendue : caractères modifiés / longueur, 0 ou plus",
            )
            out["edit_ratio"] = ratio
    if doubles is not None and doubles.result().num_rows:
        errors.add_rows(
            pc.is_in(ids, doubles.result()["e"]),
            "event_id",
            "identifiant d'événement en double dans le lot",
        )
    if errors.total:
        raise BatchRefused(errors)
    schema = pa.schema([storage.SCHEMA.field(name) for name in storage.EVENT_COLUMNS])
    return pa.table({name: out[name] for name in storage.EVENT_COLUMNS}).cast(schema)


# --- storing ---------------------------------------------------------------------------------


def _establishment_lock(establishment_id: int):
    """One writer per establishment at a time, across processes: the check of the event ids
    already stored and the append must not interleave with another batch's."""
    return file_lock(storage.table_path(establishment_id).parent / "ingest.lock")


def ingest(
    establishment,
    raw: pa.Table,
    source: str,
    *,
    user=None,
    token=None,
    default_system=None,
    evaluate: bool = True,
) -> Received:
    """Validate `raw` entirely, then store its new events atomically (`BatchRefused` when
    nothing is stored). The caller sets the `audit_context`."""
    codes = referential.codes()
    table = normalise(establishment, raw, codes, default_system)
    received = table.num_rows
    with _establishment_lock(establishment.pk):
        known = storage.known(establishment.pk, FeedbackBatch.committed_ids(establishment), table)
        fresh = table.filter(pc.invert(known)) if pc.any(known).as_py() else table
        if not fresh.num_rows:
            return Received(None, received, 0, received, codes.version)
        systems = sorted(pc.unique(fresh["system_id"]).to_pylist())
        with ThreadPoolExecutor(1) as pool:  # counted while the Delta table is written
            counting = pool.submit(_tallies, fresh, systems)
            batch = _store(establishment, fresh, source, user, token, codes.version)
            tallies = counting.result()
    key = tally.batch_key(batch.pk, batch.created_at)
    transaction.on_commit(lambda: _after_commit(establishment, key, tallies, evaluate))
    return Received(batch, received, fresh.num_rows, received - fresh.num_rows, codes.version)


def _store(establishment, table: pa.Table, source, user, token, version) -> FeedbackBatch:
    appended = None
    try:
        with transaction.atomic(), audit.deferred():
            times = pc.min_max(table["time"]).as_py()
            batch = FeedbackBatch.objects.create(
                establishment=establishment,
                source=source,
                token=token,
                created_by=user if getattr(user, "is_authenticated", False) else None,
                received=table.num_rows,
                stored=table.num_rows,
                first_time=times["min"],
                last_time=times["max"],
                referential_version=version,
            )
            batch.systems.set(pc.unique(table["system_id"]).to_pylist())
            storage.remove_batch(establishment.pk, batch.pk)  # leftovers of a killed ingestion
            ids = pa.repeat(pa.scalar(batch.pk, pa.int64()), table.num_rows)
            storage.append(establishment.pk, table.append_column("batch_id", ids))
            appended = batch.pk
    except Exception:
        if appended is not None:  # the audit or the commit failed after the append
            storage.remove_batch(establishment.pk, appended)
        raise
    return batch


def _tallies(table: pa.Table, systems: list[int]) -> dict[int, tally.Tally]:
    """The tally of each system's new events (`tally.py`), from the rows in memory."""
    columns = table.select(tally.COLUMNS)
    if len(systems) == 1:
        return {systems[0]: tally.from_events(columns)}
    return {
        pk: tally.from_events(columns.filter(pc.equal(table["system_id"], pk))) for pk in systems
    }


def _after_commit(establishment, batch_key: str, tallies: dict, evaluate: bool) -> None:
    """Add the batch's counts to the systems' states, then evaluate their alert rules. A
    failure is logged, never raised: the batch is stored, and the next read catches up."""
    systems = AISystem.objects.unrestricted().filter(pk__in=list(tallies))  # system code
    for system in systems:
        try:
            tally.sync(system, (batch_key, tallies[system.pk]))
        except Exception:
            logger.exception("état de supervision du système %s", system.pk)
    if evaluate:
        alerts.evaluate_systems(establishment, sorted(tallies))


def is_tabular(name: str) -> bool:
    return Path(name).suffix.lower() in (".csv", ".txt", ".parquet", ".pq")


def erase_predictions(establishment, systems: list, prediction_ids: pa.Array):
    """Delete the feedback events that name one of a patient's predictions (their
    ``prediction_id``: the clinical software may send it), vacuum, recount the systems'
    tallies; see `storage.erase_predictions`."""
    with _establishment_lock(establishment.pk):
        result = storage.erase_predictions(
            establishment.pk, [system.pk for system in systems], prediction_ids
        )
    if result[2]:
        for system in systems:
            tally.rebuild(system)
    return result
