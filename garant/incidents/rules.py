"""Which regulatory reports a qualified adverse event requires, and when each is due.

Pure Python (no Django: an import-linter contract checks it): `reports_due(rules, facts)` reads
the data of the `incident_reports` referential (garant/referentials/incident_reports/) and the
facts of one qualified incident, and returns one `Due` per report whose trigger holds, with its
recipient, clock start (the awareness date as entered, Europe/Paris) and deadline to the hour.
Every period lives in the referential: changing a clock there changes the deadline.

Clock arithmetic: `days` and `months` are calendar periods on the Paris wall clock (awareness
at 14:00 → 14:00, 15 days later, whatever the change of time in between); `hours` are elapsed
hours (72 h across the change to summer time end at 15:00 on the wall clock, not 14:00). « Sans
délai » has no legal period: the deadline shown is the establishment's operational target
(`target_hours`, elapsed), flagged `without_delay`. When several clocks of a report hold, the
earliest deadline wins.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CONSEQUENCES = (
    "none",
    "near_miss",
    "minor",
    "serious",
    "permanent_deficit",
    "life_threat",
    "death",
)
CAUSAL_LINKS = ("established", "suspected", "excluded")
BREACH_RISKS = ("none", "risk", "high")


@dataclass(frozen=True)
class Facts:
    """What the qualification established about one incident (see the referential's header)."""

    awareness: datetime  # when the establishment became aware; naive = Paris wall clock
    consequence: str = "none"
    causal_link: str = "suspected"
    is_device: bool = False
    ai_act_high_risk: bool = False
    ai_act_serious: bool = False
    critical_infrastructure: bool = False
    fundamental_rights: bool = False
    widespread_infringement: bool = False
    mdr_serious: bool = False
    public_health_threat: bool = False
    eigs: bool = False
    data_breach: bool = False
    breach_risk: str = "none"
    security_incident: bool = False
    essential_operator: bool = False
    provider_unreachable: bool = False


#: the facts a condition may name, with the values an `in` list may hold (None: a boolean)
FACT_VALUES: dict[str, tuple[str, ...] | None] = {
    f.name: None for f in fields(Facts) if f.name != "awareness"
} | {"consequence": CONSEQUENCES, "causal_link": CAUSAL_LINKS, "breach_risk": BREACH_RISKS}


@dataclass(frozen=True)
class Due:
    code: str  # the report's code in the referential
    regime: str  # ai_act | mdr | eigs | gdpr | security
    recipient: str  # the recipient's code
    clock_start: datetime  # aware, Europe/Paris
    deadline: datetime  # aware, Europe/Paris
    without_delay: bool  # « sans délai »: `deadline` is the operational target
    ref: str  # article of the clock that won
    status: str  # confirmed | secondary | unconfirmed (of the clock, the recipient, in force)
    required: bool  # False before the obligation applies (`reason` says why)
    reason: str = ""


class ConditionError(ValueError):
    pass


def holds(condition: dict, facts: Facts) -> bool:
    """Whether `condition` (the small language of the referential's `when`) holds for `facts`."""
    if "all" in condition:
        return all(holds(c, facts) for c in condition["all"])
    if "any" in condition:
        return any(holds(c, facts) for c in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], facts)
    name = condition["fact"]
    if name not in FACT_VALUES:
        raise ConditionError(f"unknown fact {name!r}")
    value = getattr(facts, name)
    if "in" in condition:
        return value in condition["in"]
    return bool(value)


def conditions(condition: dict):
    """Every leaf condition ({fact: …}) of `condition`, to check a referential."""
    if "fact" in condition:
        yield condition
    for key in ("all", "any"):
        for child in condition.get(key, ()):
            yield from conditions(child)
    if "not" in condition:
        yield from conditions(condition["not"])


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus calendar months, the day clamped to the month's length (31/01 + 1 → 28/02)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _deadline(start: datetime, clock: dict, zone: ZoneInfo) -> datetime:
    if "days" in clock:  # calendar days on the wall clock
        wall = start.replace(tzinfo=None) + timedelta(days=clock["days"])
        return wall.replace(tzinfo=zone)
    if "months" in clock:
        return add_months(start.replace(tzinfo=None), clock["months"]).replace(tzinfo=zone)
    hours = clock.get("hours") or clock["target_hours"]  # elapsed hours
    return (start.astimezone(ZoneInfo("UTC")) + timedelta(hours=hours)).astimezone(zone)


_RANK = {"confirmed": 0, "secondary": 1, "unconfirmed": 2}


def weakest(*statuses: str) -> str:
    return max(statuses, key=_RANK.__getitem__)


def reports_due(rules: dict, facts: Facts) -> list[Due]:
    """The reports the referential data `rules` requires for `facts`, in the referential's order."""
    zone = ZoneInfo(rules["timezone"])
    start = facts.awareness
    start = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    recipients = {r["code"]: r for r in rules["recipients"]}
    result = []
    for report in rules["reports"]:
        if not holds(report["when"], facts):
            continue
        candidates = [
            (_deadline(start, clock, zone), clock)
            for clock in report["clocks"]
            if holds(clock["when"], facts)
        ]
        if not candidates:
            continue
        deadline, clock = min(candidates, key=lambda c: c[0])
        status = weakest(clock["status"], recipients[report["recipient"]]["status"])
        required, reason = True, ""
        for rule in report.get("in_force", ()):
            if holds(rule["when"], facts):
                status = weakest(status, rule["status"])
                applies = date.fromisoformat(rule["from"])
                if start.date() < applies:
                    required = False
                    reason = f"{rule['ref']} : applicable à partir du {applies:%d/%m/%Y}"
        result.append(
            Due(
                code=report["code"],
                regime=report["regime"],
                recipient=report["recipient"],
                clock_start=start,
                deadline=deadline,
                without_delay=bool(clock.get("without_delay")),
                ref=clock["ref"],
                status=status,
                required=required,
                reason=reason,
            )
        )
    return result
