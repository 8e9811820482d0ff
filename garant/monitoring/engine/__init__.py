"""Monitoring engine: pure computation library (no Django import).

Aggregate first, then derive every metric from the counts::

    from garant.monitoring import engine

    spec = engine.ColumnSpec(numeric_features=("age",), groups=("site",))
    counts = engine.aggregate(table, spec)                  # one pass, counts per day
    current = counts.window(dt.date(2024, 3, 1), dt.date(2024, 4, 1))
    reference = counts.window(dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    perf = engine.performance(current.score_histogram(), threshold=0.3)
    drift = engine.drift_report(reference, current)
    groups = engine.subgroup_report(current, ("site",), threshold=0.3)

See docs/monitoring-engine.md for the definitions and the exactness guarantees.
"""

from .counts import (
    DEFAULT_QUANTUM,
    ColumnSpec,
    Counts,
    ScoreHistogram,
    ValueHistogram,
    aggregate,
    empty_counts,
    load,
)
from .drift import categorical_drift, drift_report, mean, numeric_drift
from .fairness import subgroup_report
from .metrics import (
    brier,
    calibration,
    confusion,
    observed_expected,
    performance,
    prevalence,
    roc_auc,
)
from .results import (
    AUC,
    Calibration,
    CalibrationBin,
    Confusion,
    Drift,
    DriftBin,
    Metric,
    Performance,
    SubgroupReport,
    SubgroupRow,
    VolumePoint,
)
from .volume import volume_report

__all__ = [
    "AUC",
    "DEFAULT_QUANTUM",
    "Calibration",
    "CalibrationBin",
    "ColumnSpec",
    "Confusion",
    "Counts",
    "Drift",
    "DriftBin",
    "Metric",
    "Performance",
    "ScoreHistogram",
    "SubgroupReport",
    "SubgroupRow",
    "ValueHistogram",
    "VolumePoint",
    "aggregate",
    "empty_counts",
    "load",
    "brier",
    "calibration",
    "categorical_drift",
    "confusion",
    "drift_report",
    "mean",
    "numeric_drift",
    "observed_expected",
    "performance",
    "prevalence",
    "roc_auc",
    "subgroup_report",
    "volume_report",
]
