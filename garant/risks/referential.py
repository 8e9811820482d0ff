"""The risk-analysis referential (garant/referentials/risk_failure_modes/): the scales of
severity, occurrence and detectability with their level descriptions, the acceptability
thresholds of each scale, and the AI-specific failure modes an analysis starts from.

Validated against its schema at load (core.referentials), then here: codes unique, each
dimension's levels cover the scale once, thresholds in order and within the scale's range,
the default scale known, and the decision-grid criterion it feeds known to the decision-grid
referential (read through core's loader: this app sits below lifecycle)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from garant.core.referentials import Referential, ReferentialError, load, localized

KIND = "risk_failure_modes"
DIMENSIONS = ("severity", "occurrence", "detectability")
ZONES = ("acceptable", "alarp", "unacceptable")


@dataclass(frozen=True)
class Scale:
    code: str
    data: dict

    @property
    def label(self) -> str:
        return localized(self.data)

    @property
    def min(self) -> int:
        return self.data["min"]

    @property
    def max(self) -> int:
        return self.data["max"]

    @property
    def values(self) -> list[int]:
        return list(range(self.min, self.max + 1))

    def levels(self, dimension: str) -> list[tuple[int, str]]:
        return [(item["value"], localized(item)) for item in self.data[dimension]]

    def level_label(self, dimension: str, value: int | None) -> str:
        return dict(self.levels(dimension)).get(value, "") if value is not None else ""

    def zone(self, criticality: int | None) -> str | None:
        """'acceptable', 'alarp' or 'unacceptable' for a criticality (None if not scored)."""
        if criticality is None:
            return None
        limits = self.data["thresholds"]
        if criticality <= limits["acceptable"]:
            return "acceptable"
        if criticality <= limits["alarp"]:
            return "alarp"
        return "unacceptable"


@dataclass(frozen=True)
class RiskReferential:
    version: str
    feeds_criterion: str
    default_scale: str
    scales: dict[str, Scale]
    zones: dict[str, dict]
    failure_modes: dict[str, dict]

    def scale(self, code: str) -> Scale:
        return self.scales.get(code) or self.scales[self.default_scale]

    def zone_label(self, zone: str | None) -> str:
        return localized(self.zones[zone]) if zone in self.zones else ""

    def mode(self, code: str) -> dict | None:
        return self.failure_modes.get(code or "")


def _unique(ref: Referential, where: str, items: list[dict], key: str = "code") -> dict:
    codes = [item[key] for item in items]
    if dupes := sorted({c for c in codes if codes.count(c) > 1}):
        raise ReferentialError(f"{ref.path}: {where}: duplicate codes {dupes}")
    return {item[key]: item for item in items}


def check(ref: Referential) -> None:
    """What the schema cannot say; ReferentialError naming the file and the item."""
    data = ref.data
    scales = _unique(ref, "scales", data["scales"])
    _unique(ref, "failure_modes", data["failure_modes"])
    zones = _unique(ref, "zones", data["zones"])
    if sorted(zones) != sorted(ZONES):
        raise ReferentialError(f"{ref.path}: zones: expected {list(ZONES)}")
    if data["default_scale"] not in scales:
        raise ReferentialError(
            f"{ref.path}: default_scale: {data['default_scale']!r} is not a scale "
            f"(known: {sorted(scales)})"
        )
    for code, scale in scales.items():
        where = f"{ref.path}: scales/{code}"
        if scale["min"] >= scale["max"]:
            raise ReferentialError(f"{where}: min {scale['min']} must be below max {scale['max']}")
        expected = list(range(scale["min"], scale["max"] + 1))
        for dimension in DIMENSIONS:
            found = sorted(item["value"] for item in scale[dimension])
            if found != expected:
                raise ReferentialError(
                    f"{where}/{dimension}: levels must cover each value from {scale['min']} "
                    f"to {scale['max']} once (found {found})"
                )
        limits, top = scale["thresholds"], scale["max"] ** 3
        if not limits["acceptable"] < limits["alarp"] < top:
            raise ReferentialError(
                f"{where}/thresholds: expected acceptable < alarp < {top} "
                f"(found {limits['acceptable']}, {limits['alarp']})"
            )
    criteria = {
        criterion["code"]
        for grid in load("decision_grid").data["grids"].values()
        for criterion in grid["criteria"]
    }
    if data["feeds_criterion"] not in criteria:
        raise ReferentialError(
            f"{ref.path}: feeds_criterion: {data['feeds_criterion']!r} is not a criterion "
            "of the decision grid"
        )


@cache
def referential(version: str | None = None) -> RiskReferential:
    ref = load(KIND, version)
    check(ref)
    data = ref.data
    return RiskReferential(
        version=ref.version,
        feeds_criterion=data["feeds_criterion"],
        default_scale=data["default_scale"],
        scales={s["code"]: Scale(s["code"], s) for s in data["scales"]},
        zones={z["code"]: z for z in data["zones"]},
        failure_modes={m["code"]: m for m in data["failure_modes"]},
    )
