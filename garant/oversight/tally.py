"""The oversight state of a system: its feedback events reduced to exact counts.

Every rate of the « Supervision humaine » tab, of the API and of the alert rules derives
from these tables (`rates.summarise_tally`), never from the million raw events:

* ``cells[dim]`` for ``dim`` in service, role, reason: events per (local day, value,
  outcome), with the number and the sum of the edit measures of the modified outputs;
* ``times``: the decision time (integer milliseconds) of every accepted output that sent
  one, with its day, service, role and reason, sorted by time: the median of any group is
  read at its middle rank(s), exactly what ``numpy.median`` gives on the raw values;
* ``pairs``: (day, service, AI decision, final decision) -> events, for Cohen's kappa.

Values are codes into ``labels`` ("" = not sent). Two tallies merge by addition
(`merge`); a batch's tally is computed from its rows in memory before its commit, and added
to the state once committed (`sync`). The state of a system is saved in
``GARANT_MONITORING_DIR/oversight/<establishment>/state/<system>.npz`` with the ids of the
batches it counts, and cached in memory; a committed batch it does not count is read back
from the Delta table and added; a batch it counts that is no longer committed makes it
count everything again. Like monitoring's state, it can always be rebuilt
(`rebuild`): the Delta table stays the record.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from garant.core.locks import FileCache, file_lock
from garant.monitoring.engine.counts import local_days
from garant.oversight import storage

STATE_FORMAT = "garant.oversight.tally/1"
OUTCOMES = ("accepted", "modified", "overridden", "ignored", "not_shown")
DIMS = ("service", "role", "reason")
LABELS = (*DIMS, "decision")
DENSE_LIMIT = 1 << 22
COLUMNS = [
    "time",
    "outcome",
    "reason",
    "role",
    "service",
    "decision_ms",
    "edit_ratio",
    "ai_decision",
    "final_decision",
]


def _empty(*names: str, kind=np.int64) -> dict[str, np.ndarray]:
    return {name: np.zeros(0, np.float64 if name == "edit_sum" else kind) for name in names}


CELL_COLUMNS = ("day", "code", "outcome", "n", "edit_n", "edit_sum")
TIME_COLUMNS = ("ms", "day", "service", "role", "reason")
PAIR_COLUMNS = ("day", "service", "ai", "final", "n")


@dataclass
class Tally:
    labels: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in LABELS})
    cells: dict[str, dict[str, np.ndarray]] = field(
        default_factory=lambda: {d: _empty(*CELL_COLUMNS) for d in DIMS}
    )
    times: dict[str, np.ndarray] = field(
        default_factory=lambda: _empty(*TIME_COLUMNS, kind=np.int32)
    )
    pairs: dict[str, np.ndarray] = field(default_factory=lambda: _empty(*PAIR_COLUMNS))
    batches: list[str] = field(default_factory=list)
    """Keys of the batches counted (`batch_key`)."""

    @property
    def events(self) -> int:
        return int(self.cells["service"]["n"].sum())


def _reduce(keys: dict[str, np.ndarray], sums: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows with equal `keys` merged into one, their `sums` added (exact for integers)."""
    names = list(keys)
    n = len(next(iter(keys.values())))
    if n == 0:
        return {**{k: v.astype(np.int64) for k, v in keys.items()}, **sums}
    lows = [int(keys[k].min()) for k in names]
    sizes = [int(keys[k].max()) - low + 1 for k, low in zip(names, lows, strict=True)]
    total = math.prod(sizes)
    if total >= 1 << 62:  # never in practice: distinct rows by sorting
        stacked = np.stack([keys[k] for k in names], axis=1)
        unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
        out = {k: unique[:, i].astype(np.int64) for i, k in enumerate(names)}
        groups = len(unique)
    else:
        key = np.zeros(n, np.int64)
        for k, low, size in zip(names, lows, sizes, strict=True):
            key = key * size + (keys[k].astype(np.int64) - low)
        if total <= DENSE_LIMIT:
            present = np.flatnonzero(np.bincount(key, minlength=total))
            slot = np.zeros(total, np.int64)
            slot[present] = np.arange(len(present))
            inverse, unique = slot[key], present
        else:
            unique, inverse = np.unique(key, return_inverse=True)
        groups = len(unique)
        out = {}
        rest = unique
        for k, low, size in reversed(list(zip(names, lows, sizes, strict=True))):
            out[k] = rest % size + low
            rest = rest // size
        out = {k: out[k] for k in names}
    for name, values in sums.items():
        added = np.bincount(inverse, weights=values, minlength=groups)
        out[name] = added if values.dtype.kind == "f" else np.rint(added).astype(np.int64)
    return out


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Codes of a text column (null -> ""), and the text of each code."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(column, ""))
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), [
        str(v) for v in encoded.dictionary.to_pylist()
    ]


def from_events(table: pa.Table) -> Tally:
    """The tally of a table of events (columns of `COLUMNS`), one pass, no Python loop."""
    tally = Tally()
    if not table.num_rows:
        return tally
    day = local_days(table["time"], settings.TIME_ZONE).astype(np.int64)
    outcome = pc.index_in(table["outcome"], value_set=pa.array(OUTCOMES, pa.string()))
    outcome = outcome.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = {}
    for dim in DIMS:
        codes[dim], tally.labels[dim] = _encode(table[dim])
    ones = np.ones(table.num_rows, np.int64)
    edit = pc.fill_null(table["edit_ratio"], np.nan).to_numpy().astype(np.float64)
    edited = (outcome == 1) & ~np.isnan(edit)
    edit_sum = np.where(edited, edit, 0.0)
    for dim in DIMS:
        keys = {"day": day, "code": codes[dim], "outcome": outcome}
        tally.cells[dim] = _reduce(
            keys, {"n": ones, "edit_n": edited.astype(np.int64), "edit_sum": edit_sum}
        )
    ms = table["decision_ms"]
    timed = (outcome == 0) & pc.is_valid(ms).to_numpy(zero_copy_only=False)
    values = pc.fill_null(ms, 0).to_numpy().astype(np.int64)[timed]
    order = np.argsort(values, kind="stable")
    # 32 bits: at most 86 400 000 ms, days and codes far below 2³¹ (half the memory to scan)
    tally.times = {"ms": values[order].astype(np.int32), "day": day[timed][order].astype(np.int32)}
    for dim in DIMS:
        tally.times[dim] = codes[dim][timed][order].astype(np.int32)
    ai, final = table["ai_decision"], table["final_decision"]
    both = (pc.is_valid(ai).to_numpy(zero_copy_only=False)) & (
        pc.is_valid(final).to_numpy(zero_copy_only=False)
    )
    if both.any():
        decisions = pa.chunked_array(
            [*ai.cast(pa.string()).chunks, *final.cast(pa.string()).chunks]
        )
        coded, tally.labels["decision"] = _encode(decisions)
        n = table.num_rows
        keys = {
            "day": day[both],
            "service": codes["service"][both],
            "ai": coded[:n][both],
            "final": coded[n:][both],
        }
        tally.pairs = _reduce(keys, {"n": ones[both]})
    return tally


def _remap(mine: list[str], theirs: list[str]) -> tuple[list[str], np.ndarray]:
    """The union of two label lists (mine first) and where each of theirs goes in it."""
    union = list(mine)
    index = {label: i for i, label in enumerate(union)}
    where = []
    for label in theirs:
        if label not in index:
            index[label] = len(union)
            union.append(label)
        where.append(index[label])
    return union, np.asarray(where, np.int64)


def merge(a: Tally, b: Tally) -> Tally:
    """The tally of the events of both."""
    out = Tally(batches=sorted({*a.batches, *b.batches}))
    where = {}
    for name in LABELS:
        out.labels[name], where[name] = _remap(a.labels[name], b.labels[name])

    def moved(codes: np.ndarray, name: str) -> np.ndarray:
        return where[name][codes] if len(codes) else codes

    for dim in DIMS:
        x, y = a.cells[dim], b.cells[dim]
        both = {k: np.concatenate([x[k], moved(y[k], dim) if k == "code" else y[k]]) for k in x}
        out.cells[dim] = _reduce(
            {k: both[k] for k in ("day", "code", "outcome")},
            {k: both[k] for k in ("n", "edit_n", "edit_sum")},
        )
    times = {
        k: np.concatenate([a.times[k], moved(b.times[k], k) if k in DIMS else b.times[k]]).astype(
            np.int32
        )
        for k in TIME_COLUMNS
    }
    order = np.argsort(times["ms"], kind="stable")  # two sorted runs: merged in linear time
    out.times = {k: v[order] for k, v in times.items()}
    y = dict(b.pairs)
    y["service"] = moved(y["service"], "service")
    y["ai"], y["final"] = moved(y["ai"], "decision"), moved(y["final"], "decision")
    both = {k: np.concatenate([a.pairs[k], y[k]]) for k in PAIR_COLUMNS}
    out.pairs = _reduce({k: both[k] for k in PAIR_COLUMNS[:4]}, {"n": both["n"]})
    return out


# --- the saved state --------------------------------------------------------------------------

_cache = FileCache()  # the tallies last read, while their file is unchanged


def state_path(system) -> Path:
    return storage.table_path(system.establishment_id).parent / "state" / f"{system.pk}.npz"


def _signature() -> str:
    return f"{STATE_FORMAT} {settings.TIME_ZONE}"


def save(tally: Tally, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "info": np.array(
            json.dumps(
                {"signature": _signature(), "labels": tally.labels, "batches": tally.batches}
            )
        )
    }
    for dim in DIMS:
        arrays.update({f"cells.{dim}.{k}": v for k, v in tally.cells[dim].items()})
    arrays.update({f"times.{k}": v for k, v in tally.times.items()})
    arrays.update({f"pairs.{k}": v for k, v in tally.pairs.items()})
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load(path: Path) -> Tally | None:
    with np.load(path, allow_pickle=False) as data:
        info = json.loads(str(data["info"]))
        if info.get("signature") != _signature():
            return None
        tally = Tally(labels=info["labels"], batches=info["batches"])
        for dim in DIMS:
            tally.cells[dim] = {k: data[f"cells.{dim}.{k}"] for k in CELL_COLUMNS}
        tally.times = {k: data[f"times.{k}"] for k in TIME_COLUMNS}
        tally.pairs = {k: data[f"pairs.{k}"] for k in PAIR_COLUMNS}
    return tally


def _load_state(system) -> Tally | None:
    """The system's saved tally, or None when missing or unreadable (counted again by the
    caller)."""
    return _cache.get(system.pk, state_path(system), load)


def _state_lock(system):
    """One writer of a system's state at a time, across processes (POSIX advisory lock)."""
    return file_lock(state_path(system).with_suffix(".lock"))


def batch_key(pk: int, created_at) -> str:
    """A batch as the state names it: its id and its time of creation (an id given again
    after a rolled-back transaction is another batch)."""
    return f"{pk}@{created_at.isoformat()}"


def _committed(system) -> set[str]:
    from garant.oversight.models import FeedbackBatch

    # system code: the system was reached through a scoped record or a token
    rows = FeedbackBatch.objects.unrestricted().filter(
        establishment_id=system.establishment_id, systems=system.pk
    )
    return {batch_key(pk, at) for pk, at in rows.values_list("pk", "created_at")}


def _count(system, keys) -> Tally:
    """The tally of the system's rows of the batches `keys`, read from the Delta table."""
    ids = sorted(int(key.split("@")[0]) for key in keys)
    table = storage.read(system.establishment_id, ids, [system.pk], columns=COLUMNS)
    tally = from_events(table)
    tally.batches = sorted(keys)
    return tally


def _save(system, tally: Tally) -> Tally:
    save(tally, state_path(system))
    _cache.forget(system.pk)
    return tally


def rebuild(system) -> Tally:
    """Count every committed event of the system again from the Delta table."""
    with _state_lock(system):
        return _save(system, _count(system, _committed(system)))


def sync(system, fresh: tuple[str, Tally] | None = None) -> Tally:
    """The system's state, first brought up to date with the batches committed since.

    ``fresh`` is ``(batch key, tally of the system's rows of it)`` of a batch this process
    just committed: when it is missing from the state, its tally is added as it is instead
    of being read back from the Delta table."""
    committed = _committed(system)
    if not committed:
        return Tally()  # no event yet: nothing to save
    state = _load_state(system)
    if state is not None and set(state.batches) == committed:
        return state
    with _state_lock(system):
        state, committed = _load_state(system), _committed(system)
        if state is not None and set(state.batches) == committed:
            return state
        if state is None or set(state.batches) - committed:  # a batch counted is gone
            state = Tally()
            if fresh is None or fresh[0] not in committed:
                return _save(system, _count(system, committed))
        missing = committed - set(state.batches)
        if fresh is not None and fresh[0] in missing:
            added = Tally(**{**fresh[1].__dict__, "batches": [fresh[0]]})
            state = merge(state, added) if state.batches else added
            missing.discard(fresh[0])
        if missing:
            state = merge(state, _count(system, missing))
        return _save(system, state)


def counts(system) -> Tally:
    """The system's oversight state, up to date."""
    return sync(system)
