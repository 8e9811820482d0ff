"""The kinds of alert rules as data: `garant/referentials/alert_rules/<version>.yaml`.

For each kind (`AlertRule.Kind`): the threshold and window proposed when a rule is added, the
check of its threshold (``bounds``: ``open_unit`` = in ]0 ; 1[, ``positive`` = above 0,
``ratio`` = in ]0 ; 1[ read as the tolerance [r ; 1/r]), what it needs (a declared feature,
a numeric one, a subgroup column), whether it compares with the feed's drift reference,
and the plain-language texts of its alerts (what changed, what it may mean for patients,
what to do). The file is validated by its schema when loaded; `kinds()` also checks that it
describes every kind of the model and no other.
"""

from __future__ import annotations

from functools import cache

from garant.core.referentials import ReferentialError, load, localized
from garant.monitoring.models import AlertRule


@cache
def kinds() -> dict[str, dict]:
    referential = load("alert_rules")
    rules = referential.data["rules"]
    if set(rules) != set(AlertRule.Kind.values):
        missing = sorted(set(AlertRule.Kind.values) - set(rules))
        unknown = sorted(set(rules) - set(AlertRule.Kind.values))
        raise ReferentialError(
            f"{referential.path}: rules: kinds missing {missing}, unknown {unknown}"
        )
    return rules


def spec(kind: str) -> dict:
    return kinds()[kind]


def text(kind: str, part: str) -> str:
    """`change`, `meaning` or `todo` of `kind`, in the language of the request."""
    return localized(spec(kind)[part])


def version() -> str:
    return load("alert_rules").version
