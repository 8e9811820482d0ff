"""Patients' objections to evaluation use, as the monitoring ingestion sees them.

Monitoring sits below the patients app (which records objections), so it imports nothing of
it: the patients app registers, from its `AppConfig.ready`, the function that says which
rows of a batch belong to patients who objected to evaluation use by the feed's system
(`register`). Without one registered, no row is objected. What the ingestion does with those
rows is the feed's choice (`Feed.objection_policy`): drop them and say how many, or refuse
the whole batch naming the rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

Filter = Callable[[object, pa.ChunkedArray], np.ndarray]

_FILTERS: dict[str, Filter] = {}


def register(key: str, objected: Filter) -> None:
    """`objected(feed, patient_ids)` returns a boolean per row: True when the row's patient
    objected to evaluation use by the feed's system."""
    _FILTERS[key] = objected


def objected_rows(feed, patient_ids: pa.ChunkedArray) -> np.ndarray:
    """True for each row whose patient objected, according to every registered filter."""
    mask = np.zeros(len(patient_ids), dtype=bool)
    for objected in _FILTERS.values():
        mask |= np.asarray(objected(feed, patient_ids), dtype=bool)
    return mask
