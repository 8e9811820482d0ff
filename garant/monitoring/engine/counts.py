"""Aggregate first: reduce a prediction table to sufficient statistics (counts).

One vectorised pass over the input (NumPy and Arrow; no Python loop over rows) produces,
per time unit (a local calendar **day**, or a **month**) and per *slice* (the whole
population, each value of each subgroup column, each value of each declared crossing of
subgroup columns):

* score counts: ``(unit, q, label) -> n`` where ``q = round(score / quantum)`` is the score
  quantised to an integer (half away from zero) and ``label`` is 0, 1 or unknown (outcome
  not yet known); a missing score has its own code;
* value counts, one table per feature (and per extra counted column such as the model
  version), for the whole population: ``(unit, value) -> n``, with its own code for a
  missing value.

Every metric of the engine is derived from these counts. Counts of two windows or two sites
merge by addition (:meth:`Counts.__add__`), a window is a range of units
(:meth:`Counts.window`) and a subgroup a slice (:meth:`Counts.where`), so a week, a month or
a group of sites is a sum. Counts are saved to and loaded from one ``.npz`` file
(:meth:`Counts.save`, :func:`load`): that is the monitoring *state* kept per feed.

Storage: each slice is a :class:`Block` of three parallel arrays sorted by (unit, code), so
that a window is a contiguous range found by binary search, and a histogram is one
``bincount`` over that range.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
import zoneinfo
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

DEFAULT_QUANTUM = 1e-4
PERIODS = ("day", "week", "month")
UNITS = ("day", "month")
EPOCH = dt.date(1970, 1, 1)
DAY_US = 86_400_000_000
LABEL_CODES = 3  # 0 negative, 1 positive, 2 unknown
UNKNOWN = 2
ALL: tuple = ()
"""Key of the whole-population slice."""
DENSE_LIMIT = 1 << 24
"""Largest dense count array (cells) built at once; beyond it the units are cut in chunks."""
STATE_FORMAT = "garant.monitoring.counts/1"
MONTHLY_FROM = 50_000
"""Blocks of at least this many entries keep running monthly totals for their histograms."""
WORKERS = min(4, os.cpu_count() or 1)
CHUNK = 1 << 16
"""Rows per step of the per-row arithmetic: the temporaries stay in the processor's cache."""


def _chunks(n: int):
    for start in range(0, n, CHUNK):
        yield slice(start, min(start + CHUNK, n))


@dataclass(frozen=True)
class ColumnSpec:
    """Names of the columns of a prediction table.

    ``label`` holds the observed outcome: 1 (positive), 0 (negative) or null (not yet known:
    excluded from performance metrics, still counted in volume and drift).
    ``groups`` are the subgroup columns (each one a set of slices); ``crossings`` are tuples
    of subgroup columns analysed together (e.g. ``(("site", "sex"),)``).
    ``extra_columns`` are counted per value (e.g. the model version) but not drifted.
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
    crossings: tuple[tuple[str, ...], ...] = ()
    extra_columns: tuple[str, ...] = ()


def check_quantum(quantum: float) -> int:
    """Return ``1 / quantum``, which must be a whole number (1e-4 -> 10000)."""
    if not isinstance(quantum, int | float) or not quantum > 0:
        raise ValueError(f"quantum must be 1/k for a whole k, got {quantum!r}")
    inverse = round(1 / quantum)
    if not math.isclose(1 / quantum, inverse, rel_tol=1e-9):
        raise ValueError(f"quantum must be 1/k for a whole k, got {quantum!r}")
    return inverse


# --- time units ----------------------------------------------------------------------------


def month_number(day: dt.date) -> int:
    return (day.year - 1970) * 12 + day.month - 1


def month_start(number: int) -> dt.date:
    year, month = divmod(int(number), 12)
    return dt.date(1970 + year, month + 1, 1)


def unit_number(day: dt.date, unit: str) -> int:
    """The unit holding ``day``: days since 1970-01-01, or months since January 1970."""
    return (day - EPOCH).days if unit == "day" else month_number(day)


def unit_start(number: int, unit: str) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number)) if unit == "day" else month_start(number)


def _offset_seconds(zone: zoneinfo.ZoneInfo, second: int) -> int:
    instant = dt.datetime.fromtimestamp(second, tz=dt.UTC)
    return int(zone.utcoffset(instant).total_seconds())


def _transitions(zone: zoneinfo.ZoneInfo, first: int, last: int):
    """UTC offsets in force from ``first`` to ``last`` (seconds since the epoch).

    Returns ``(instants, offsets)``: ``offsets[i]`` applies from ``instants[i - 1]`` (included)
    to ``instants[i]``; the offset is sampled daily and each change located to the second.
    """
    step = 86_400
    samples = list(range(first - step, last + 2 * step, step))
    offsets = [_offset_seconds(zone, s) for s in samples]
    instants, values = [], [offsets[0]]
    for i in range(len(samples) - 1):
        if offsets[i] == offsets[i + 1]:
            continue
        low, high = samples[i], samples[i + 1]  # offset changes in (low, high]
        while high - low > 1:
            middle = (low + high) // 2
            if _offset_seconds(zone, middle) == offsets[i]:
                low = middle
            else:
                high = middle
        instants.append(high)
        values.append(offsets[i + 1])
    return np.array(instants, dtype=np.int64) * 1_000_000, np.array(values, dtype=np.int64)


def local_days(column, timezone: str = "UTC") -> np.ndarray:
    """Local calendar day (days since 1970-01-01, int32) of each value of a time column.

    Time-zone-aware timestamps are converted to ``timezone``; naive timestamps are taken as
    local wall-clock time; dates are taken as they are. Nulls are refused.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not len(column):
        return np.zeros(0, dtype=np.int32)
    if column.null_count:
        raise ValueError("timestamps must not be null")
    kind = column.type
    if pa.types.is_date(kind):
        return column.cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.int32)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = pc.strptime(column, format="%Y-%m-%dT%H:%M:%S", unit="us", error_is_null=False)
        kind = column.type
    if not pa.types.is_timestamp(kind):
        raise ValueError(f"timestamps must be dates or times, got {kind}")
    micros = column.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64()).to_numpy()
    days = np.empty(len(micros), dtype=np.int32)
    instants = offsets = None
    if kind.tz is not None and len(micros):
        zone = zoneinfo.ZoneInfo(timezone)
        first, last = int(micros.min()) // 1_000_000, int(micros.max()) // 1_000_000
        instants, offsets = _transitions(zone, first, last)
        offsets = offsets * 1_000_000
    for part in _chunks(len(micros)):
        local = micros[part]
        if instants is not None:
            local = local + offsets[np.searchsorted(instants, local, side="right")]
        days[part] = local // DAY_US
    return days


def to_units(days: np.ndarray, unit: str) -> np.ndarray:
    """Day numbers as units: the same for ``day``, months since January 1970 for ``month``."""
    if unit == "day" or not len(days):
        return days
    first, last = int(days.min()), int(days.max())
    table = np.array(
        [month_number(EPOCH + dt.timedelta(days=d)) for d in range(first, last + 1)], np.int32
    )
    return table[days - first]


# --- encoding of columns -------------------------------------------------------------------


def _sort_key(value):
    return (value is None, value)


def _single(column) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        if pa.types.is_dictionary(column.type) and column.num_chunks > 1:
            column = column.unify_dictionaries()
            indices = pa.chunked_array([c.indices for c in column.chunks]).combine_chunks()
            return pa.DictionaryArray.from_arrays(indices, column.chunk(0).dictionary)
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def encode(column) -> tuple[list, np.ndarray]:
    """Distinct values of a column (sorted, null last) and each row's index among them."""
    column = _single(column)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    values = column.dictionary.to_pylist()
    indices = column.indices.fill_null(len(values)).to_numpy().astype(np.int64)
    values.append(None)
    order = sorted(range(len(values)), key=lambda i: _sort_key(values[i]))
    if order == list(range(len(values))):  # already in order (null last): codes as they are
        return values, indices
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values), dtype=np.int64)
    return [values[i] for i in order], rank[indices]


def _as_double(column) -> np.ndarray:
    """The column as float64, null and NaN both NaN."""
    column = _single(column)
    if column.type != pa.float64():
        column = pc.cast(column, pa.float64())
    return column.to_numpy(zero_copy_only=False)


def _score_codes(score, label, quantum: float, spec: ColumnSpec) -> np.ndarray:
    """``(q + 1) × 3 + label code`` per row: q = -1 for a missing score, label 2 = unknown.

    ``q = floor(score / quantum + 0.5)``: scores are in [0, 1], so this is rounding half away
    from zero.
    """
    inverse = check_quantum(quantum)
    values = _as_double(score)
    codes = np.empty(len(values), dtype=np.int64)  # bincount's own type: no copy there
    low, high = np.inf, -np.inf
    for part in _chunks(len(values)):
        v = values[part]
        q = v / quantum
        q += 0.5
        np.floor(q, out=q)
        missing = np.isnan(q)
        if not missing.all():
            low, high = min(low, np.nanmin(v)), max(high, np.nanmax(q))
        q[missing] = -1
        q += 1
        q *= LABEL_CODES
        codes[part] = q
    if low < 0 or high > inverse:
        raise ValueError(f"column {spec.score!r} must hold scores in [0, 1]")
    label = _single(label)
    if pa.types.is_integer(label.type) or pa.types.is_boolean(label.type):
        label = label.cast(pa.int64())
        bounds = pc.min_max(label).as_py()
        if bounds["min"] is not None and (bounds["min"] < 0 or bounds["max"] > 1):
            found = sorted(set(pc.unique(label).to_pylist()) - {0, 1, None})
            raise ValueError(f"column {spec.label!r} must hold 0, 1 or null, found {found}")
        codes += label.fill_null(UNKNOWN).cast(pa.int8()).to_numpy()
        return codes
    outcomes = _as_double(label)
    unknown = np.isnan(outcomes)
    if not np.isin(outcomes[~unknown], (0.0, 1.0)).all():
        found = sorted(set(np.unique(outcomes[~unknown]).tolist()) - {0.0, 1.0})
        raise ValueError(f"column {spec.label!r} must hold 0, 1 or null, found {found}")
    codes += np.where(unknown, UNKNOWN, np.nan_to_num(outcomes)).astype(np.int64)
    return codes


DECIMAL_SCALES = (1, 10, 100, 1000)
MAX_DECIMAL_WIDTH = 1 << 20


def _decimal_codes(values: np.ndarray):
    """Fast path for numeric values recorded with a fixed number of decimals (0 to 3).

    When every value ``v`` equals ``round(v × k) / k`` for one of ``k`` = 1, 10, 100, 1000 and
    the range is moderate, the code of ``v`` is ``round(v × k) − min``: no hashing. Returns
    ``(candidate values, codes)`` (``-1`` for missing) or None when the values do not fit.
    """
    sample = values[:4096]
    sample = sample[~np.isnan(sample)]
    scale = next(
        (k for k in DECIMAL_SCALES if np.array_equal(np.rint(sample * k) / k, sample)), None
    )
    if scale is None:
        return None
    low, high = np.nanmin(values, initial=np.inf), np.nanmax(values, initial=-np.inf)
    if low == np.inf:
        return np.zeros(0), np.full(len(values), -1, dtype=np.int64)
    low, high = np.rint(low * scale), np.rint(high * scale)
    if high - low >= MAX_DECIMAL_WIDTH:
        return None
    codes = np.empty(len(values), dtype=np.int64)
    exact = np.empty(min(CHUNK, len(values)), dtype=bool)
    for part in _chunks(len(values)):
        v = values[part]
        scaled = np.rint(v) if scale == 1 else np.rint(v * scale)
        back = scaled if scale == 1 else scaled / scale
        missing = np.isnan(v)
        ok = exact[: len(v)]
        np.equal(back, v, out=ok)
        has_missing = bool(missing.any())
        if has_missing:
            ok |= missing
        if not ok.all():
            return None
        scaled -= low
        if has_missing:
            np.copyto(scaled, -1.0, where=missing)
        codes[part] = scaled
    return (low + np.arange(int(high - low) + 1)) / scale, codes


def _feature_codes(column, numeric: bool) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, code per row) of a feature; code -1 for a missing value.

    The values may include some that no row holds (they count 0).
    """
    if numeric:
        values = _as_double(column)
        fast = _decimal_codes(values)
        if fast is not None:
            return fast
        array = pa.array(values, from_pandas=True)  # NaN -> null
    else:
        array = _single(column)
        if not pa.types.is_dictionary(array.type):
            array = pc.dictionary_encode(pc.cast(array, pa.string()))
        elif not pa.types.is_string(array.type.value_type):
            array = pc.dictionary_encode(pc.cast(array.dictionary_decode(), pa.string()))
    encoded = array if pa.types.is_dictionary(array.type) else pc.dictionary_encode(array)
    dictionary = encoded.dictionary.to_numpy(zero_copy_only=False)
    order = np.argsort(dictionary, kind="stable")
    rank = np.full(len(dictionary) + 1, -1, dtype=np.int64)  # the last: missing
    rank[order] = np.arange(len(dictionary), dtype=np.int64)
    codes = rank[encoded.indices.fill_null(len(dictionary)).to_numpy()]
    sorted_values = dictionary[order]
    return (sorted_values if numeric else sorted_values.astype(object)), codes


# --- blocks of counts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """Counts of one slice: ``n[i]`` rows in unit ``unit[i]`` with code ``code[i]``.

    Sorted by (unit, code), one entry per distinct pair.
    """

    unit: np.ndarray
    code: np.ndarray
    n: np.ndarray

    @staticmethod
    def empty() -> Block:
        return Block(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.n)

    def bounds(self, start: int | None, end: int | None) -> tuple[int, int]:
        kind = self.unit.dtype.type  # a scalar of another type would copy the whole array
        low = 0 if start is None else int(np.searchsorted(self.unit, kind(start), "left"))
        high = len(self.n) if end is None else int(np.searchsorted(self.unit, kind(end), "left"))
        return low, max(low, high)

    def slice(self, start: int | None, end: int | None) -> Block:
        low, high = self.bounds(start, end)
        return Block(self.unit[low:high], self.code[low:high], self.n[low:high])

    def _direct(self, start, end, size: int, offset: int) -> np.ndarray:
        low, high = self.bounds(start, end)
        codes = self.code[low:high] + offset if offset else self.code[low:high]
        return np.bincount(codes, weights=self.n[low:high], minlength=size).astype(np.int64)

    def _months(self, unit: str, size: int, offset: int):
        """Unit where each month starts and the running totals per code, month by month.

        Computed once per block, code space and unit (blocks are immutable), so that the
        whole months of a window are one subtraction of two rows.
        """
        cache = self.__dict__.setdefault("_by_month", {})
        key = (unit, size, offset)
        if key not in cache:
            first = unit_start(int(self.unit[0]), unit)
            last = unit_start(int(self.unit[-1]), unit)
            numbers = range(month_number(first), month_number(last) + 2)
            starts = np.array([unit_number(month_start(m), unit) for m in numbers], np.int64)
            bounds = np.searchsorted(self.unit, starts.astype(self.unit.dtype))
            month = np.repeat(np.arange(len(starts) - 1), np.diff(bounds))
            cells = np.bincount(
                month * size + self.code + offset,
                weights=self.n,
                minlength=(len(starts) - 1) * size,
            ).astype(np.int64)
            running = np.zeros((len(starts), size), dtype=np.int64)
            np.cumsum(cells.reshape(-1, size), axis=0, out=running[1:])
            cache[key] = (starts, running)
        return cache[key]

    def histogram(
        self, start: int | None, end: int | None, size: int, offset: int = 0, unit: str = "day"
    ) -> np.ndarray:
        """Counts per code over the units in ``[start, end)``: an int64 array of ``size``.

        Large blocks add the whole months of the window from running monthly totals and
        count only the days of the partial months at its edges.
        """
        if len(self.n) < MONTHLY_FROM:
            return self._direct(start, end, size, offset)
        starts, running = self._months(unit, size, offset)
        low = 0 if start is None else int(np.searchsorted(starts, start, "left"))
        high = len(starts) - 1 if end is None else int(np.searchsorted(starts, end, "right")) - 1
        if low >= high:
            return self._direct(start, end, size, offset)
        total = running[high] - running[low]
        if start is not None and start < starts[low]:
            total += self._direct(start, int(starts[low]), size, offset)
        if end is not None and end > starts[high]:
            total += self._direct(int(starts[high]), end, size, offset)
        return total

    def per_unit(self, start: int | None, end: int | None) -> tuple[np.ndarray, np.ndarray]:
        """(units, total count) over ``[start, end)``, units with a count only."""
        cache = self.__dict__.setdefault("_by_unit", [])
        if not cache:
            first = np.flatnonzero(np.diff(self.unit, prepend=self.unit[:1] - 1))
            totals = np.add.reduceat(self.n, first) if len(first) else self.n[:0]
            cache.extend((self.unit[first], totals))
        units, totals = cache
        kind = units.dtype.type
        low = 0 if start is None else int(np.searchsorted(units, kind(start), "left"))
        high = len(units) if end is None else int(np.searchsorted(units, kind(end), "left"))
        return units[low:high], totals[low:high]


def _count(units: np.ndarray, codes: np.ndarray, size: int, weights=None) -> Block:
    """Reduce parallel (unit, code[, weight]) arrays to a sorted :class:`Block`."""
    return _count_by(units, codes, size, weights)[0]


def _count_by(
    units: np.ndarray, codes: np.ndarray, size: int, weights=None, outer=None, n_outer: int = 1
) -> list[Block]:
    """One sorted :class:`Block` per value of ``outer`` (0 to ``n_outer`` - 1).

    Dense ``bincount`` over (outer, unit - first unit, code), cut in unit ranges when the
    dense array would exceed :data:`DENSE_LIMIT` cells. The cells come out ordered by
    (outer, unit, code), so each outer value's block is contiguous and sorted.
    """
    if not len(units):
        return [Block.empty() for _ in range(n_outer)]
    first, last = int(units.min()), int(units.max())
    per_chunk = max(1, DENSE_LIMIT // (size * n_outer))
    ordered = len(units) < 2 or bool(np.all(units[1:] >= units[:-1]))
    pieces: list[list[Block]] = [[] for _ in range(n_outer)]
    for low in range(first, last + 1, per_chunk):
        high = min(low + per_chunk, last + 1)
        select = None
        if not (low == first and high == last + 1):
            if ordered:
                select = slice(*np.searchsorted(units, [low, high]))
            else:
                select = (units >= low) & (units < high)
        u, c = (units, codes) if select is None else (units[select], codes[select])
        if not len(u):
            continue
        w = weights if weights is None or select is None else weights[select]
        span = high - low
        o = None if outer is None else (outer if select is None else outer[select])
        key = np.empty(len(u), dtype=np.int64)
        for part in _chunks(len(u)):
            k = key[part]
            np.subtract(u[part], low, out=k)
            k *= size
            k += c[part]
            if o is not None:
                k += o[part] * (span * size)
        dense = np.bincount(key, weights=w, minlength=n_outer * span * size)
        cells = np.flatnonzero(dense)
        counts = dense[cells].astype(np.int64)
        group, cell = np.divmod(cells, span * size)
        bounds = np.searchsorted(group, np.arange(n_outer + 1))
        for g in range(n_outer):
            part = slice(bounds[g], bounds[g + 1])
            if bounds[g + 1] > bounds[g]:
                unit, code = np.divmod(cell[part], size)
                pieces[g].append(
                    Block((unit + low).astype(np.int32), code.astype(np.int32), counts[part])
                )
    return [_concatenate(p) for p in pieces]


def _concatenate(pieces: list[Block]) -> Block:
    if not pieces:
        return Block.empty()
    if len(pieces) == 1:
        return pieces[0]
    return Block(*(np.concatenate([getattr(p, a) for p in pieces]) for a in ("unit", "code", "n")))


def _segments(units: np.ndarray) -> list[tuple[int, list[tuple[int, int]]]] | None:
    """``(unit, [(first row, end row), …])`` per unit, in unit order, when the rows come in
    runs of one unit (a log appended in time order, or its monthly files read in any order);
    None when they are too scattered for that to pay."""
    if not len(units):
        return []
    edges = np.flatnonzero(np.diff(units)) + 1
    if len(edges) > 4096:
        return None
    starts = [0, *edges.tolist()]
    ends = [*edges.tolist(), len(units)]
    runs: dict[int, list[tuple[int, int]]] = {}
    for a, b in zip(starts, ends, strict=True):
        runs.setdefault(int(units[a]), []).append((a, b))
    if len(starts) > 2 * len(runs) + 8:
        return None
    return sorted(runs.items())


def _count_segments(
    segments, codes: np.ndarray, size: int, outer=None, n_outer: int = 1
) -> list[Block]:
    """:func:`_count_by` for rows in runs of one unit: one ``bincount`` per unit, no keys."""
    pieces: list[list[Block]] = [[] for _ in range(n_outer)]
    for unit, runs in segments:
        if len(runs) == 1:
            ((a, b),) = runs
            c = codes[a:b] if outer is None else outer[a:b] * size + codes[a:b]
        else:
            c = np.concatenate(
                [codes[a:b] if outer is None else outer[a:b] * size + codes[a:b] for a, b in runs]
            )
        dense = np.bincount(c, minlength=n_outer * size)
        cells = np.flatnonzero(dense)
        counts = dense[cells].astype(np.int64)
        group, code = np.divmod(cells, size)
        bounds = np.searchsorted(group, np.arange(n_outer + 1))
        for g in range(n_outer):
            if bounds[g + 1] > bounds[g]:
                part = slice(bounds[g], bounds[g + 1])
                pieces[g].append(
                    Block(
                        np.full(bounds[g + 1] - bounds[g], unit, dtype=np.int32),
                        code[part].astype(np.int32),
                        counts[part],
                    )
                )
    return [_concatenate(p) for p in pieces]


def _merge_blocks(blocks: list[Block], size: int, offset: int = 0) -> Block:
    """Sum blocks of the same code space (codes shifted by ``offset`` while counting).

    Blocks of successive periods (pieces of a log in time order) are put end to end and only
    the units they share are re-counted; overlapping blocks are counted again entirely.
    """
    blocks = sorted((b for b in blocks if len(b)), key=lambda b: (int(b.unit[0]), int(b.unit[-1])))
    if not blocks:
        return Block.empty()
    if len(blocks) == 1:
        return blocks[0]
    shared, reach = [], int(blocks[0].unit[-1])  # unit ranges held by several blocks
    for block in blocks[1:]:
        first, last = int(block.unit[0]), int(block.unit[-1])
        if first <= reach:
            shared.append((first, min(reach, last)))
        reach = max(reach, last)
    units = np.concatenate([b.unit for b in blocks])
    codes = np.concatenate([b.code for b in blocks]) + offset
    counts = np.concatenate([b.n for b in blocks])
    if not shared:  # successive periods: already in order
        return Block(units, codes - offset if offset else codes, counts)
    span = reach - int(blocks[0].unit[0]) + 1
    if sum(high - low + 1 for low, high in shared) * 8 > span:  # mostly overlapping
        merged = _count(units, codes, size, counts.astype(np.float64))
        return Block(merged.unit, merged.code - offset, merged.n) if offset else merged
    again = np.zeros(len(units), dtype=bool)
    for low, high in shared:
        again |= (units >= low) & (units <= high)
    merged = _count(units[again], codes[again], size, counts[again].astype(np.float64))
    kept = ~again
    units, codes, counts = units[kept], codes[kept], counts[kept]
    where = np.searchsorted(units, merged.unit)  # the shared units are gone from the rest
    units, codes = np.insert(units, where, merged.unit), np.insert(codes, where, merged.code)
    counts = np.insert(counts, where, merged.n)
    return Block(units, codes - offset if offset else codes, counts)


def _sum(parts: list[Counts]) -> Counts:
    """Merge many counts at once (pieces of one table): one pass per slice."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    size = first.score_size
    keys = sorted({k for p in parts for k in p.scores}, key=_slice_order)
    scores = {k: _merge_blocks([p.scores[k] for p in parts if k in p.scores], size) for k in keys}
    features = {}
    for name in first.features:
        values = first.features[name].values
        for p in parts[1:]:
            values = _union(values, p.features[name].values)
        blocks = [p.features[name].recoded(values) for p in parts]
        features[name] = FeatureCounts(values, _merge_blocks(blocks, len(values) + 1, offset=1))
    return replace(first, scores=scores, features=features)


@dataclass(frozen=True)
class FeatureCounts:
    """Counts of one feature: ``values`` sorted, block codes index them (-1: missing)."""

    values: np.ndarray
    block: Block

    def recoded(self, values: np.ndarray) -> Block:
        """The block with codes re-expressed against ``values`` (a superset, sorted)."""
        if len(self.values) == len(values) and np.array_equal(self.values, values):
            return self.block
        mapping = np.append(np.searchsorted(values, self.values).astype(np.int32), -1)
        return Block(self.block.unit, mapping[self.block.code], self.block.n)  # -1 stays -1


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype == object or b.dtype == object:
        return np.array(sorted(set(a.tolist()) | set(b.tolist())), dtype=object)
    return np.union1d(a, b)


# --- histograms ------------------------------------------------------------------------------


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


def _score_histogram(cells: np.ndarray, quantum: float) -> ScoreHistogram:
    """A :class:`ScoreHistogram` from dense counts per score code."""
    grid = cells.reshape(-1, LABEL_CODES)
    present = np.flatnonzero(grid[1:].sum(axis=1)) + 1
    return ScoreHistogram(
        quantum=quantum,
        q=(present - 1).astype(np.int64),
        positives=grid[present, 1],
        negatives=grid[present, 0],
        unlabeled=grid[present, UNKNOWN],
        missing_score=int(grid[0].sum()),
    )


# --- the counts ------------------------------------------------------------------------------


def _slice_columns(spec: ColumnSpec) -> list[tuple[str, ...]]:
    columns = [(g,) for g in spec.groups] + [tuple(c) for c in spec.crossings]
    seen = set()
    for c in columns:
        if len(set(c)) != len(c) or not c:
            raise ValueError(f"invalid subgroup crossing: {c!r}")
        if c in seen:
            raise ValueError(f"subgroup columns declared twice: {c!r}")
        seen.add(c)
    return columns


@dataclass(frozen=True)
class Counts:
    """Sufficient statistics of a prediction table, per time unit and slice.

    ``scores`` maps a slice key to its :class:`Block` of score codes: ``()`` for the whole
    population, ``(columns, values)`` for a subgroup (e.g. ``(("site",), ("A",))``).
    ``features`` maps each counted column to its :class:`FeatureCounts` (whole population).
    ``start``/``end`` (unit numbers, end excluded) and ``selected`` (a slice key) are the
    window and subgroup this object is narrowed to; narrowing copies nothing.
    """

    quantum: float
    groups: tuple[str, ...]
    unit: str = "day"
    scores: Mapping[tuple, Block] = field(default_factory=dict)
    features: Mapping[str, FeatureCounts] = field(default_factory=dict)
    categorical: frozenset[str] = frozenset()
    extra: frozenset[str] = frozenset()
    crossings: tuple[tuple[str, ...], ...] = ()
    start: int | None = None
    end: int | None = None
    selected: tuple = ALL
    info: Mapping[str, object] = field(default_factory=dict, compare=False)
    """Free JSON-serialisable notes saved with the counts (e.g. what they were built from)."""

    # -- shape --------------------------------------------------------------------------

    @property
    def score_size(self) -> int:
        return (check_quantum(self.quantum) + 2) * LABEL_CODES

    @property
    def slice_columns(self) -> list[tuple[str, ...]]:
        return [(g,) for g in self.groups] + list(self.crossings)

    @property
    def feature_names(self) -> list[str]:
        """The drifted features (extra counted columns left out)."""
        return [name for name in self.features if name not in self.extra]

    def _compatible(self, other: Counts) -> None:
        if (other.quantum, other.groups, other.unit, other.crossings) != (
            self.quantum,
            self.groups,
            self.unit,
            self.crossings,
        ):
            raise ValueError("counts with different quantum, unit or subgroup columns cannot merge")
        if set(other.features) != set(self.features):
            raise ValueError("counts with different features cannot merge")
        if self.selected != other.selected:
            raise ValueError("counts of different subgroups cannot merge")

    def materialised(self) -> Counts:
        """The same counts with the window applied to the data itself."""
        if self.start is None and self.end is None:
            return self
        return replace(
            self,
            scores={k: b.slice(self.start, self.end) for k, b in self.scores.items()},
            features={
                n: FeatureCounts(f.values, f.block.slice(self.start, self.end))
                for n, f in self.features.items()
            },
            start=None,
            end=None,
        )

    def __add__(self, other: Counts) -> Counts:
        """Merge two sets of counts (two windows, two sites): counts of equal keys add up."""
        self._compatible(other)
        a, b = self.materialised(), other.materialised()
        size = self.score_size
        scores = {
            key: _merge_blocks(
                [a.scores.get(key, Block.empty()), b.scores.get(key, Block.empty())], size
            )
            for key in sorted(set(a.scores) | set(b.scores), key=_slice_order)
        }
        features = {}
        for name, mine in a.features.items():
            theirs = b.features[name]
            values = _union(mine.values, theirs.values)
            block = _merge_blocks(
                [mine.recoded(values), theirs.recoded(values)], len(values) + 1, offset=1
            )
            features[name] = FeatureCounts(values, block)
        return replace(a, scores=scores, features=features)

    def spliced(self, start: dt.date, end: dt.date, new: Counts) -> Counts:
        """These counts with the days ``[start, end)`` replaced by ``new``'s.

        Blocks are sorted by unit, so each one is (before, new, after) put end to end: no
        re-counting of the days kept.
        """
        self._compatible(new)
        low, high = self._unit_bound(start), self._unit_bound(end)
        whole, fresh = self.materialised(), new.window(start, end).materialised()

        def join(block: Block, inserted: Block) -> Block:
            a, b = block.bounds(low, high)
            if a == 0 and b == len(block):  # nothing kept (a feed's first batch): no copy
                return inserted
            return Block(
                *(
                    np.concatenate([x[:a], y, x[b:]])
                    for x, y in zip(
                        (block.unit, block.code, block.n),
                        (inserted.unit, inserted.code, inserted.n),
                        strict=True,
                    )
                )
            )

        keys = sorted(set(whole.scores) | set(fresh.scores), key=_slice_order)
        empty = Block.empty()
        scores = {k: join(whole.scores.get(k, empty), fresh.scores.get(k, empty)) for k in keys}
        features = {}
        for name, mine in whole.features.items():
            theirs = fresh.features[name]
            values = _union(mine.values, theirs.values)
            mine = FeatureCounts(values, mine.recoded(values))
            features[name] = FeatureCounts(values, join(mine.block, theirs.recoded(values)))
        return replace(whole, scores=scores, features=features)

    # -- narrowing ----------------------------------------------------------------------

    def _unit_bound(self, day: dt.date | None) -> int | None:
        if day is None:
            return None
        if self.unit == "month" and day.day != 1:
            raise ValueError("counts by month: window bounds must be first days of months")
        return unit_number(day, self.unit)

    def window(self, start: dt.date | None = None, end: dt.date | None = None) -> Counts:
        """Keep the days in ``[start, end)`` (either bound may be open)."""
        low, high = self._unit_bound(start), self._unit_bound(end)
        if self.start is not None:
            low = self.start if low is None else max(low, self.start)
        if self.end is not None:
            high = self.end if high is None else min(high, self.end)
        return replace(self, start=low, end=high)

    def where(self, **values) -> Counts:
        """Keep one subgroup, e.g. ``counts.where(site="A")`` (None matches null).

        Only declared subgroup columns or crossings can be selected; feature counts are
        kept for the whole population only, so the result has no features.
        """
        unknown = set(values) - set(self.groups)
        if unknown:
            raise ValueError(f"not subgroup columns: {sorted(unknown)}")
        if self.selected != ALL:
            raise ValueError("counts are already narrowed to a subgroup")
        columns = next(
            (c for c in self.slice_columns if set(c) == set(values) and len(c) == len(values)),
            None,
        )
        if columns is None:
            raise ValueError(f"subgroup crossing not counted: {sorted(values)}")
        key = (columns, tuple(values[c] for c in columns))
        return replace(self, selected=key, features={})

    # -- reading ------------------------------------------------------------------------

    def _score_block(self, key: tuple | None = None) -> Block:
        return self.scores.get(self.selected if key is None else key, Block.empty())

    def score_histogram(self) -> ScoreHistogram:
        """Sum the score counts of the window (and subgroup) into one histogram."""
        cells = self._score_block().histogram(self.start, self.end, self.score_size, 0, self.unit)
        return _score_histogram(cells, self.quantum)

    def _slices_of(self, columns: tuple[str, ...]) -> list[tuple]:
        return sorted((k for k in self.scores if k and k[0] == columns), key=_slice_order)

    def score_histograms_by(self, columns: Iterable[str]) -> dict[tuple, ScoreHistogram]:
        """One :class:`ScoreHistogram` per value of the subgroup ``columns`` in the window.

        Keys are tuples of the columns' values (``()`` when ``columns`` is empty), sorted
        (null last); subgroups with no prediction in the window are left out.
        """
        columns = tuple(columns)
        if not columns:
            h = self.score_histogram()
            return {(): h} if h.totals.sum() + h.missing_score else {}
        if self.selected != ALL:
            raise ValueError("counts are already narrowed to a subgroup")
        declared = next((c for c in self.slice_columns if c == columns), None)
        if declared is None:
            raise ValueError(f"subgroup columns not counted: {list(columns)}")
        result = {}
        for key in self._slices_of(columns):
            cells = self.scores[key].histogram(self.start, self.end, self.score_size, 0, self.unit)
            if cells.sum():
                result[key[1]] = _score_histogram(cells, self.quantum)
        return result

    def group_keys(self, columns: Iterable[str]) -> list[dict[str, object]]:
        """The values of the subgroup ``columns`` present in the window."""
        columns = tuple(columns)
        return [dict(zip(columns, k, strict=True)) for k in self.score_histograms_by(columns)]

    def value_histogram(self, name: str) -> ValueHistogram:
        """Sum the counts of one feature over the window."""
        if name not in self.features:
            raise KeyError(f"feature not aggregated: {name!r}")
        feature = self.features[name]
        cells = feature.block.histogram(self.start, self.end, len(feature.values) + 1, 1, self.unit)
        present = np.flatnonzero(cells[1:])
        return ValueHistogram(
            name=name,
            values=feature.values[present],
            counts=cells[1:][present],
            missing=int(cells[0]),
            categorical=name in self.categorical,
        )

    def volume(self, period: str = "day") -> list[tuple[dt.date, int]]:
        """Number of predictions per period start (``day``, ``week`` from Monday, ``month``).

        Periods with no prediction between the first and the last are included with 0.
        """
        if period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}")
        if self.unit == "month" and period != "month":
            raise ValueError("counts by month give monthly volumes only")
        units, totals = self._score_block().per_unit(self.start, self.end)
        observed: dict[dt.date, int] = {}
        for number, total in zip(units.tolist(), totals.tolist(), strict=True):
            start = period_start(unit_start(number, self.unit), period)
            observed[start] = observed.get(start, 0) + int(total)
        if not observed:
            return []
        return [(p, observed.get(p, 0)) for p in _calendar(min(observed), max(observed), period)]

    # -- persistence --------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the counts (whole, not the window) to one ``.npz`` file, atomically."""
        whole = self.materialised()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        slices = []
        for i, (key, block) in enumerate(whole.scores.items()):
            slices.append([list(key[0]), list(key[1])] if key else None)
            arrays.update({f"s{i}_unit": block.unit, f"s{i}_code": block.code, f"s{i}_n": block.n})
        features = []
        for i, (name, feature) in enumerate(whole.features.items()):
            categorical = feature.values.dtype == object
            features.append(
                {"name": name, "values": feature.values.tolist() if categorical else None}
            )
            if not categorical:
                arrays[f"f{i}_values"] = feature.values.astype(np.float64)
            block = feature.block
            arrays.update({f"f{i}_unit": block.unit, f"f{i}_code": block.code, f"f{i}_n": block.n})
        meta = {
            "format": STATE_FORMAT,
            "quantum": self.quantum,
            "groups": list(self.groups),
            "crossings": [list(c) for c in self.crossings],
            "unit": self.unit,
            "categorical": sorted(self.categorical),
            "extra": sorted(self.extra),
            "slices": slices,
            "features": features,
            "info": dict(self.info),
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".counts-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _slice_order(key: tuple):
    if not key:
        return ((), ())
    return (key[0], tuple(_sort_key(v) for v in key[1]))


def load(path: str | Path) -> Counts:
    """Read counts written by :meth:`Counts.save`."""
    with np.load(Path(path)) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        if meta.get("format") != STATE_FORMAT:
            raise ValueError(f"{path}: not a Garant counts file")
        scores = {}
        for i, key in enumerate(meta["slices"]):
            block = Block(data[f"s{i}_unit"], data[f"s{i}_code"], data[f"s{i}_n"])
            scores[(tuple(key[0]), tuple(key[1])) if key else ALL] = block
        features = {}
        for i, feature in enumerate(meta["features"]):
            if feature["values"] is None:
                values = data[f"f{i}_values"]
            else:
                values = np.array(feature["values"], dtype=object)
            block = Block(data[f"f{i}_unit"], data[f"f{i}_code"], data[f"f{i}_n"])
            features[feature["name"]] = FeatureCounts(values, block)
    return Counts(
        quantum=meta["quantum"],
        groups=tuple(meta["groups"]),
        unit=meta["unit"],
        scores=scores,
        features=features,
        categorical=frozenset(meta["categorical"]),
        extra=frozenset(meta["extra"]),
        crossings=tuple(tuple(c) for c in meta["crossings"]),
        info=meta.get("info", {}),
    )


# --- aggregation -----------------------------------------------------------------------------


def empty_counts(spec: ColumnSpec, quantum: float = DEFAULT_QUANTUM, unit: str = "day") -> Counts:
    """Counts of no prediction, with the shape of ``spec``."""
    check_quantum(quantum)
    features = {
        name: FeatureCounts(
            np.zeros(0, dtype=np.float64 if name in spec.numeric_features else object),
            Block.empty(),
        )
        for name in (*spec.numeric_features, *spec.categorical_features, *spec.extra_columns)
    }
    _slice_columns(spec)
    return Counts(
        quantum=quantum,
        groups=tuple(spec.groups),
        unit=unit,
        scores={ALL: Block.empty()},
        features=features,
        categorical=frozenset(spec.categorical_features) | frozenset(spec.extra_columns),
        extra=frozenset(spec.extra_columns),
        crossings=tuple(tuple(c) for c in spec.crossings),
    )


PIECE_ROWS = 1 << 20
"""Rows read and counted at a time (per thread): memory stays bounded whatever the input."""


def _pieces(data, columns: list[str]) -> list:
    """The needed columns of ``data`` (Arrow table, dataset, reader, Parquet path), as a list
    of functions each returning one piece, read when called so that only the pieces being
    counted are in memory: a Parquet file's row groups, a dataset's fragments, slices of
    :data:`PIECE_ROWS` rows of a table."""
    if isinstance(data, str | Path):
        source = pq.ParquetFile(data)
        missing = [c for c in columns if c not in source.schema_arrow.names]
        if missing:
            raise ValueError(f"columns not found: {missing}")
        groups = [source.metadata.row_group(i).num_rows for i in range(source.num_row_groups)]
        if groups and max(groups) <= 4 * PIECE_ROWS:

            def group(i: int):
                return lambda: pq.ParquetFile(data, memory_map=True).read_row_group(
                    i, columns=columns, use_threads=False
                )

            return [group(i) for i in range(len(groups))]
        data = ds.dataset(data, format="parquet")
    if isinstance(data, ds.Dataset):
        fragments = list(data.get_fragments())
        return [lambda f=f: f.to_table(columns=columns) for f in fragments] or [
            lambda: data.to_table(columns=columns)
        ]
    if isinstance(data, pa.RecordBatchReader):
        data = data.read_all()
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    missing = [c for c in columns if c not in data.column_names]
    if missing:
        raise ValueError(f"columns not found: {missing}")
    data = data.select(columns)
    return [
        lambda offset=offset: data.slice(offset, PIECE_ROWS)
        for offset in range(0, max(data.num_rows, 1), PIECE_ROWS)
    ]


def aggregate(
    data,
    spec: ColumnSpec,
    quantum: float = DEFAULT_QUANTUM,
    start: dt.date | None = None,
    end: dt.date | None = None,
    unit: str = "day",
) -> Counts:
    """Reduce the predictions of ``data`` with day in ``[start, end)`` to :class:`Counts`.

    ``unit`` is the time resolution kept: ``day`` (any window of days) or ``month`` (windows
    of whole months only, smaller and faster to build). The input is read and counted in
    pieces of about :data:`PIECE_ROWS` rows, several at a time (NumPy and Arrow release the
    GIL), then the pieces' counts are added up.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    counts = empty_counts(spec, quantum, unit)
    features = (*spec.numeric_features, *spec.categorical_features, *spec.extra_columns)
    wanted = list(dict.fromkeys([spec.timestamp, spec.score, spec.label, *spec.groups, *features]))
    pieces = _pieces(data, wanted)
    if len(pieces) == 1:
        return _aggregate_piece(pieces[0](), spec, counts, start, end, WORKERS)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        parts = list(
            pool.map(lambda read: _aggregate_piece(read(), spec, counts, start, end, 1), pieces)
        )
    return _sum(parts)


def _aggregate_piece(
    table: pa.Table, spec: ColumnSpec, counts: Counts, start, end, workers: int
) -> Counts:
    quantum, unit = counts.quantum, counts.unit
    slice_columns = _slice_columns(spec)
    features = (*spec.numeric_features, *spec.categorical_features, *spec.extra_columns)
    days = local_days(table[spec.timestamp], spec.timezone)
    keep = None
    if start is not None or end is not None:
        low = -(2**31) if start is None else (start - EPOCH).days
        high = 2**31 - 1 if end is None else (end - EPOCH).days
        keep = (days >= low) & (days < high)
        if keep.all():
            keep = None
        else:
            table, days = table.filter(pa.array(keep)), days[keep]
    units = to_units(days, unit)
    segments = _segments(units)

    def count(codes, size, outer=None, n_outer=1) -> list[Block]:
        if segments is not None:
            return _count_segments(segments, codes, size, outer, n_outer)
        return _count_by(units, codes, size, outer=outer, n_outer=n_outer)

    def count_feature(name: str) -> FeatureCounts:
        values, feature_codes = _feature_codes(table[name], name in spec.numeric_features)
        feature_codes += 1  # 0: missing
        [block] = count(feature_codes, len(values) + 1)
        present = np.unique(block.code)
        present = present[present > 0]
        remap = np.full(len(values) + 1, -1, dtype=np.int32)
        remap[present] = np.arange(len(present), dtype=np.int32)
        return FeatureCounts(values[present - 1], Block(block.unit, remap[block.code], block.n))

    # features are counted in threads (NumPy and Arrow release the GIL), scores meanwhile here
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {name: pool.submit(count_feature, name) for name in features}
        codes = _score_codes(table[spec.score], table[spec.label], quantum, spec)
        size = counts.score_size
        scores = {ALL: count(codes, size)[0]}
        encoded = {g: encode(table[g]) for g in spec.groups}
        for columns in slice_columns:
            combined = encoded[columns[0]][1]
            for c in columns[1:]:
                combined = combined * len(encoded[c][0]) + encoded[c][1]
            width = math.prod(len(encoded[c][0]) for c in columns)
            present = np.flatnonzero(np.bincount(combined, minlength=width))
            lookup = np.zeros(width, dtype=np.int64)
            lookup[present] = np.arange(len(present))
            blocks = count(codes, size, lookup[combined], len(present))
            for combination, block in zip(present.tolist(), blocks, strict=True):
                values = []
                for c in reversed(columns):
                    combination, index = divmod(combination, len(encoded[c][0]))
                    values.append(encoded[c][0][index])
                scores[(columns, tuple(reversed(values)))] = block
        counted = {name: future.result() for name, future in pending.items()}
    return replace(
        counts,
        scores=dict(sorted(scores.items(), key=lambda kv: _slice_order(kv[0]))),
        features=counted,
    )


def period_start(day: dt.date, period: str) -> dt.date:
    """The start of the calendar period holding ``day`` (weeks start on Monday)."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_period(start: dt.date, period: str) -> dt.date:
    """The start of the period after the one starting on ``start``."""
    if period == "day":
        return start + dt.timedelta(days=1)
    if period == "week":
        return start + dt.timedelta(weeks=1)
    return month_start(month_number(start) + 1)


def _calendar(first: dt.date, last: dt.date, period: str) -> list[dt.date]:
    """Every period start from ``first`` to ``last`` (both already period starts)."""
    starts, current = [], first
    while current <= last:
        starts.append(current)
        current = next_period(current, period)
    return starts
