"""Volume of predictions per period and a simple anomaly flag."""

from __future__ import annotations

import statistics

from . import results as r
from .counts import Counts

DEFAULT_DROP = 0.5
DEFAULT_RISE = 1.0


def volume_report(
    counts: Counts,
    period: str = "day",
    drop: float = DEFAULT_DROP,
    rise: float = DEFAULT_RISE,
    lookback: int | None = None,
) -> list[r.VolumePoint]:
    """Predictions per period, flagged when far from the median of the previous periods.

    A period is an anomaly when its count is below ``(1 − drop) ×`` the median of the
    previous periods (default: a fall of more than 50 %) or above ``(1 + rise) ×`` that
    median (default: more than doubled). ``lookback`` limits the previous periods considered
    (all by default). Periods without any prediction count as 0. The first period has no
    baseline: its anomaly flag is undefined (None).
    """
    series = counts.volume(period)
    points = []
    for i, (start, count) in enumerate(series):
        previous = [c for _, c in series[max(0, i - lookback) if lookback else 0 : i]]
        if not previous:
            points.append(r.VolumePoint(start, count, None, None, r.NO_PREVIOUS_PERIOD))
            continue
        baseline = float(statistics.median(previous))
        anomaly = count < (1 - drop) * baseline or count > (1 + rise) * baseline
        points.append(r.VolumePoint(start, count, baseline, anomaly))
    return points
