"""The oversight referential (garant/referentials/oversight/): outcomes, reason codes and
roles a feedback event may carry, and the blind-acceptance thresholds. Validated against its
schema at load (core.referentials), then here: codes unique, and every reason's outcomes
known."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from garant.core.referentials import Referential, ReferentialError, load, localized

KIND = "oversight"


@dataclass(frozen=True)
class Codes:
    version: str
    outcomes: dict[str, dict]
    reasons: dict[str, dict]
    roles: dict[str, dict]
    blind: dict

    def label(self, vocabulary: str, code: str | None) -> str:
        item = getattr(self, vocabulary).get(code or "")
        return localized(item) if item else (code or "")


def _unique(referential: Referential, name: str) -> dict[str, dict]:
    items = referential.data[name]
    codes = [item["code"] for item in items]
    if dupes := sorted({c for c in codes if codes.count(c) > 1}):
        raise ReferentialError(f"{referential.path}: {name}: duplicate codes {dupes}")
    return {item["code"]: item for item in items}


@cache
def codes(version: str | None = None) -> Codes:
    referential = load(KIND, version)
    outcomes = _unique(referential, "outcomes")
    reasons = _unique(referential, "reasons")
    for code, reason in reasons.items():
        unknown = sorted(set(reason["outcomes"]) - set(outcomes))
        if unknown:
            raise ReferentialError(
                f"{referential.path}: reasons/{code}: unknown outcomes {unknown}"
            )
    return Codes(
        version=referential.version,
        outcomes=outcomes,
        reasons=reasons,
        roles=_unique(referential, "roles"),
        blind=referential.data["blind_acceptance"],
    )
