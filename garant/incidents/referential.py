"""The `incident_reports` referential, validated against its schema at load (core.referentials),
then here: codes unique, recipients known, every condition naming a known fact and values."""

from __future__ import annotations

from functools import cache

from garant.core.referentials import Referential, ReferentialError, load, localized
from garant.incidents.rules import FACT_VALUES, Facts, conditions, reports_due

KIND = "incident_reports"


def _unique(referential: Referential, name: str) -> dict[str, dict]:
    items = referential.data[name]
    codes = [item["code"] for item in items]
    if dupes := sorted({c for c in codes if codes.count(c) > 1}):
        raise ReferentialError(f"{referential.path}: {name}: duplicate codes {dupes}")
    return {item["code"]: item for item in items}


def check(referential: Referential) -> None:
    """Cross-references the schema cannot express; raises ReferentialError naming the path."""
    _unique(referential, "consequences")
    recipients = _unique(referential, "recipients")
    reports = _unique(referential, "reports")
    for code, report in reports.items():
        where = f"{referential.path}: reports/{code}"
        if report["recipient"] not in recipients:
            raise ReferentialError(f"{where}: unknown recipient {report['recipient']!r}")
        parts = [report["when"]] + [c["when"] for c in report["clocks"]]
        parts += [r["when"] for r in report.get("in_force", ())]
        for part in parts:
            for leaf in conditions(part):
                name = leaf["fact"]
                if name not in FACT_VALUES:
                    raise ReferentialError(f"{where}: unknown fact {name!r}")
                allowed = FACT_VALUES[name]
                bad = sorted(set(leaf.get("in", ())) - set(allowed or ()))
                if "in" in leaf and (allowed is None or bad):
                    raise ReferentialError(f"{where}: fact {name!r}: unknown values {bad}")


@cache
def rules(version: str | None = None) -> Referential:
    referential = load(KIND, version)
    check(referential)
    return referential


def due(facts: Facts, version: str | None = None):
    return reports_due(rules(version).data, facts)


def recipient(code: str, version: str | None = None) -> dict:
    return next(r for r in rules(version).data["recipients"] if r["code"] == code)


def report(code: str, version: str | None = None) -> dict:
    return next(r for r in rules(version).data["reports"] if r["code"] == code)


def label(item: dict, key: str = "") -> str:
    return localized(item, key)


def consequence_choices() -> list[tuple[str, str]]:
    return [(c["code"], localized(c)) for c in rules().data["consequences"]]
