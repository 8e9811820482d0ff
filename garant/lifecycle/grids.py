"""Decision grids (referential `decision_grid`): the grids, their criteria, which grid applies.

The JSON schema checks the shape of the file; `check` adds what a schema cannot say (unique
criterion codes, a scale whose labels cover it, thresholds within the scale and in order, each
domain judged by one grid). `LifecycleConfig.ready` runs it at start-up, after the core loader,
so a broken grid file stops the server with the file and the item at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from garant.core.referentials import Referential, ReferentialError, load, localized
from garant.lifecycle.outcomes import Recommendation

KIND = "decision_grid"
DEFAULT_GRID = "medical_and_care"
#: the recommendations a grid sets a threshold for, from the highest (below the last: stop)
RECOMMENDATION_LEVELS = (
    Recommendation.GENERALISE,
    Recommendation.WITH_CONDITIONS,
    Recommendation.EXTEND_POC,
)


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    labels: dict[int, dict]

    def label(self, value: int | None) -> str:
        item = self.labels.get(value) if value is not None else None
        return localized(item) if item else ""

    def choices(self) -> list[tuple[int, str]]:
        return [(v, f"{v} — {localized(item)}") for v, item in sorted(self.labels.items())]


@dataclass(frozen=True)
class Criterion:
    code: str
    n: int
    source: str
    weight: float
    scale: Scale
    data: dict

    @property
    def completed_by_garant(self) -> bool:
        return self.source == "completed_by_garant"

    def text(self, key: str) -> str:
        return localized(self.data[key])

    @property
    def title(self) -> str:
        return self.text("title")

    @property
    def evaluates(self) -> str:
        return self.text("evaluates")

    @property
    def deploy_if(self) -> str:
        return self.text("deploy_if")

    @property
    def stop_if(self) -> str:
        return self.text("stop_if")

    @property
    def mandatory_indicators(self) -> list[dict]:
        return self.data["mandatory_indicators"]

    @property
    def example_indicators(self) -> list[dict]:
        return self.data["example_indicators"]

    @property
    def frameworks(self) -> list[str]:
        return self.data["frameworks"]


@dataclass(frozen=True)
class Grid:
    code: str
    version: str
    data: dict
    criteria: tuple[Criterion, ...]

    @property
    def label(self) -> str:
        return localized(self.data)

    @property
    def thresholds(self) -> dict:
        return self.data["thresholds"]

    def criterion(self, code: str) -> Criterion | None:
        return next((c for c in self.criteria if c.code == code), None)

    def mandatory_indicator_label(self, code: str) -> str:
        for criterion in self.criteria:
            for item in criterion.mandatory_indicators:
                if item["code"] == code:
                    return localized(item)
        return code


def check(ref: Referential) -> None:
    """What the schema cannot express; raises ReferentialError naming the file and the item."""
    path, seen_domains = ref.path, {}
    for grid_code, grid in ref.data["grids"].items():
        where = f"{path}: grids/{grid_code}"
        codes = [c["code"] for c in grid["criteria"]]
        if dupes := sorted({c for c in codes if codes.count(c) > 1}):
            raise ReferentialError(f"{where}/criteria: duplicate criterion codes {dupes}")
        numbers = [c["n"] for c in grid["criteria"]]
        if dupes := sorted({n for n in numbers if numbers.count(n) > 1}):
            raise ReferentialError(f"{where}/criteria: duplicate criterion numbers {dupes}")
        for domain in grid["domains"]:
            if domain in seen_domains:
                raise ReferentialError(
                    f"{where}/domains: {domain} is already judged by grid {seen_domains[domain]}"
                )
            seen_domains[domain] = grid_code
        for criterion in grid["criteria"]:
            _check_scale(f"{where}/criteria/{criterion['code']}/scale", criterion["scale"])
            mandatory = [m["code"] for m in criterion["mandatory_indicators"]]
            if dupes := sorted({c for c in mandatory if mandatory.count(c) > 1}):
                raise ReferentialError(
                    f"{where}/criteria/{criterion['code']}/mandatory_indicators: "
                    f"duplicate codes {dupes}"
                )
        _check_thresholds(where, grid)


def _check_scale(where: str, scale: dict) -> None:
    if scale["min"] >= scale["max"]:
        raise ReferentialError(f"{where}: min {scale['min']} must be below max {scale['max']}")
    values = sorted(label["value"] for label in scale["labels"])
    expected = list(range(scale["min"], scale["max"] + 1))
    if values != expected:
        raise ReferentialError(
            f"{where}: labels must cover each value from {scale['min']} to {scale['max']} "
            f"once (found {values})"
        )


def _check_thresholds(where: str, grid: dict) -> None:
    low = min(c["scale"]["min"] for c in grid["criteria"])
    high = max(c["scale"]["max"] for c in grid["criteria"])
    thresholds = grid["thresholds"]
    previous = None
    for level in RECOMMENDATION_LEVELS:
        t = thresholds[level]
        for key in ("mean", "min"):
            if key in t and not low <= t[key] <= high:
                raise ReferentialError(
                    f"{where}/thresholds/{level}/{key}: {t[key]} is outside the scale "
                    f"[{low}, {high}]"
                )
        if previous is not None and t["mean"] > previous:
            raise ReferentialError(
                f"{where}/thresholds/{level}/mean: thresholds must decrease from generalise "
                "to extend_poc"
            )
        previous = t["mean"]


@cache
def load_checked(version: str | None = None) -> Referential:
    ref = load(KIND, version)
    if not version:  # one check per version: the default is the newest version's object
        return load_checked(ref.version)
    check(ref)
    return ref


@cache
def grid(code: str, version: str | None = None) -> Grid:
    """A grid of the version in force (or of `version`); ReferentialError if unknown."""
    ref = load_checked(version)
    if not version:
        return grid(code, ref.version)
    data = ref.data["grids"].get(code)
    if data is None:
        raise ReferentialError(f"{ref.path}: unknown grid {code!r}")
    criteria = tuple(
        Criterion(
            code=c["code"],
            n=c["n"],
            source=c["source"],
            weight=float(c["weight"]),
            scale=Scale(
                c["scale"]["min"],
                c["scale"]["max"],
                {label["value"]: label for label in c["scale"]["labels"]},
            ),
            data=c,
        )
        for c in sorted(data["criteria"], key=lambda c: c["n"])
    )
    return Grid(code=code, version=ref.version, data=data, criteria=criteria)


def grid_codes() -> list[str]:
    return list(load_checked().data["grids"])


def grid_choices() -> list[tuple[str, str]]:
    return [(code, grid(code).label) for code in grid_codes()]


def grid_for_domain(domain: str) -> str:
    """The grid judging a domain (D1/D3 → medical & care, D2 → support functions)."""
    for code, data in load_checked().data["grids"].items():
        if domain in data["domains"]:
            return code
    return DEFAULT_GRID


def version() -> str:
    return load_checked().version
