"""The people referential (garant/referentials/people/): kinds of training module, levels,
providers, professions, coverage windows. Validated against its schema at load
(core.referentials), then here: codes unique in each list, windows in increasing order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from garant.core.referentials import Referential, ReferentialError, load, localized

KIND = "people"
VOCABULARIES = ("module_kinds", "levels", "providers", "professions")


@dataclass(frozen=True)
class Codes:
    version: str
    module_kinds: dict[str, dict]
    levels: dict[str, dict]
    providers: dict[str, dict]
    professions: dict[str, dict]
    coverage_windows: tuple[int, ...]
    reminder_days: int
    retention_years: int

    def label(self, vocabulary: str, code: str | None) -> str:
        item = getattr(self, vocabulary).get(code or "")
        return localized(item) if item else (code or "")

    def choices(self, vocabulary: str) -> list[tuple[str, str]]:
        return [(code, localized(item)) for code, item in getattr(self, vocabulary).items()]


def _unique(referential: Referential, name: str) -> dict[str, dict]:
    items = referential.data[name]
    found = [item["code"] for item in items]
    if dupes := sorted({c for c in found if found.count(c) > 1}):
        raise ReferentialError(f"{referential.path}: {name}: duplicate codes {dupes}")
    return {item["code"]: item for item in items}


@cache
def codes(version: str | None = None) -> Codes:
    referential = load(KIND, version)
    windows = tuple(referential.data["coverage_windows"])
    if list(windows) != sorted(set(windows)):
        raise ReferentialError(f"{referential.path}: coverage_windows: not increasing")
    return Codes(
        referential.version,
        *(_unique(referential, name) for name in VOCABULARIES),
        coverage_windows=windows,
        reminder_days=referential.data["reminder_days"],
        retention_years=referential.data["retention_years"],
    )
