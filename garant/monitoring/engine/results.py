"""Plain result objects returned by the monitoring engine.

Every number that can be undefined (one class only, empty window, zero denominator) is a
:class:`Metric` whose ``value`` is ``None`` and whose ``reason`` says why, in French, the
language of the product's users. No NaN or infinity ever leaves the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Reasons for an undefined value (shown to users as they are).
EMPTY_WINDOW = "fenêtre vide"
NO_OUTCOME = "aucune issue connue dans la fenêtre"
ONE_CLASS = "une seule classe dans la fenêtre"
TOO_FEW_PER_CLASS = "moins de deux cas dans l'une des classes"
NO_POSITIVE = "aucun cas positif"
NO_NEGATIVE = "aucun cas négatif"
NO_FLAG = "aucune prédiction signalée"
NO_NOT_FLAGGED = "aucune prédiction non signalée"
EMPTY_REFERENCE = "fenêtre de référence vide"
ONE_CATEGORY = "une seule catégorie observée"
NO_PREVIOUS_PERIOD = "aucune période antérieure"
REFERENCE_UNDEFINED = "valeur du groupe de référence indéfinie ou nulle"
GROUP_UNDEFINED = "valeur du groupe indéfinie"
NO_EXPECTED_EVENT = "aucun événement attendu (tous les scores sont nuls)"


@dataclass(frozen=True)
class Metric:
    """A number, or ``None`` with the reason it is undefined.

    For proportions, ``numerator`` and ``denominator`` are the integer counts the value was
    computed from, so an auditor can recompute it by hand.
    """

    value: float | None
    reason: str | None = None
    numerator: int | None = None
    denominator: int | None = None

    @property
    def defined(self) -> bool:
        return self.value is not None

    @classmethod
    def undefined(cls, reason: str, numerator=None, denominator=None) -> Metric:
        return cls(None, reason, numerator, denominator)

    @classmethod
    def ratio(cls, numerator: int, denominator: int, reason_if_zero: str) -> Metric:
        """``numerator / denominator`` (correctly rounded division of two integers)."""
        numerator, denominator = int(numerator), int(denominator)
        if denominator == 0:
            return cls.undefined(reason_if_zero, numerator, denominator)
        return cls(numerator / denominator, None, numerator, denominator)


@dataclass(frozen=True)
class AUC:
    """Area under the ROC curve with its confidence interval."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    method: str
    reason: str | None = None
    ci_reason: str | None = None
    variance: float | None = None


@dataclass(frozen=True)
class Confusion:
    """Confusion counts and rates at one threshold (flagged iff score >= threshold)."""

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    flagged: int
    n_predictions: int
    sensitivity: Metric
    specificity: Metric
    ppv: Metric
    npv: Metric
    fpr: Metric
    fnr: Metric
    f1: Metric
    flag_rate: Metric


@dataclass(frozen=True)
class CalibrationBin:
    """One reliability bin: scores in ``[lower, upper)`` (the last bin includes 1)."""

    lower: float
    upper: float
    count: int
    positives: int
    mean_score: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class Calibration:
    bins: list[CalibrationBin]
    ece: Metric


@dataclass(frozen=True)
class Performance:
    """Everything derived from the (quantised score, outcome) counts of one window."""

    quantum: float
    n_predictions: int
    n_missing_score: int
    n_labeled: int
    n_positive: int
    n_negative: int
    n_unlabeled: int
    prevalence: Metric
    auc: AUC
    brier: Metric
    calibration: Calibration
    operating: Confusion
    thresholds: list[Confusion] = field(default_factory=list)


@dataclass(frozen=True)
class DriftBin:
    """A bin used by PSI and Jensen–Shannon: values in ``(lower, upper]`` or one category."""

    label: str
    reference: int
    current: int


@dataclass(frozen=True)
class Drift:
    """Drift of one distribution (score or feature) from a reference window to the current."""

    name: str
    kind: str  # "numeric" or "categorical"
    n_reference: int
    n_current: int
    missing_reference: Metric
    missing_current: Metric
    psi: Metric
    js_distance: Metric
    ks: Metric | None = None  # numeric only
    wasserstein: Metric | None = None  # numeric only
    chi2: Metric | None = None  # categorical only
    chi2_dof: int | None = None
    chi2_pvalue: Metric | None = None
    bins: list[DriftBin] = field(default_factory=list)
    psi_epsilon: float = 0.0


@dataclass(frozen=True)
class VolumePoint:
    """Number of predictions in one period and whether it is an anomaly."""

    period_start: dt.date
    count: int
    baseline_median: float | None
    anomaly: bool | None
    reason: str | None = None


@dataclass(frozen=True)
class SubgroupRow:
    """Metrics of one subgroup, their gap and ratio to the reference (largest) group."""

    key: dict[str, object]
    n_predictions: int
    censored: bool
    metrics: dict[str, Metric] = field(default_factory=dict)
    gaps: dict[str, Metric] = field(default_factory=dict)
    ratios: dict[str, Metric] = field(default_factory=dict)
    flags: dict[str, bool | None] = field(default_factory=dict)
    auc: AUC | None = None  # with its DeLong interval (None when censored)


@dataclass(frozen=True)
class SubgroupReport:
    columns: tuple[str, ...]
    reference_key: dict[str, object] | None
    threshold: float
    tolerance: tuple[float, float]
    min_count: int
    rows: list[SubgroupRow]
