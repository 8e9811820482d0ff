"""How the obligations of a qualification start in an establishment's checklist: when each is
due and who is proposed to own it, read from the `checklist` referential
(garant/referentials/checklist/<version>.yaml), which is policy data, not code.

- Due date: an obligation whose application date is still ahead is due on that date; one
  already in force when the system is qualified is due `grace_days` after the qualification
  (per obligation if the referential says so; 0 means immediately).
- Owner proposal: the first role of the obligation's list (by obligation, else by family) that
  someone holds in the establishment; among its holders, the author of the register entry first,
  then by name. The proposal is stored apart from the owner: a person accepts or changes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from garant.core import referentials
from garant.core.models import Membership, User
from garant.core.referentials import ReferentialError
from garant.core.roles import ALL_ROLES

KIND = "checklist"


@dataclass(frozen=True)
class Policy:
    version: str
    path: str
    data: dict

    def grace_days(self, code: str) -> int:
        due = self.data["due_dates"]
        return due.get("grace_days_by_obligation", {}).get(code, due["grace_days"])

    def due_date(self, code: str, applies_from: dt.date, qualified_on: dt.date) -> dt.date:
        """The application date if it is still ahead, else the qualification day plus the
        obligation's grace (the same day when the grace is 0: due immediately)."""
        if applies_from > qualified_on:
            return applies_from
        return qualified_on + dt.timedelta(days=self.grace_days(code))

    def owner_roles(self, code: str, family: str) -> list[str]:
        owners = self.data["owners"]
        return list(
            owners.get("by_obligation", {}).get(code) or owners["by_family"].get(family, [])
        )


@cache
def policy(version: str | None = None) -> Policy:
    """The checklist policy of `version` (default: the newest), checked against the regulatory
    referentials and the roles of Garant once per version."""
    ref = referentials.load(KIND, version)
    if not version:
        return policy(ref.version)
    result = Policy(version=ref.version, path=str(ref.path), data=ref.data)
    _check(result)
    return result


def _check(checked: Policy) -> None:
    from garant.compliance.rules import rulebook

    books = [rulebook(v) for v in referentials.versions("regulatory")]
    families = {f for book in books for f in book.data["families"]}
    codes = {c for book in books for c in book.obligations}

    def fail(where: str, message: str):
        raise ReferentialError(f"{checked.path}: {where}: {message}")

    owners = checked.data["owners"]
    for section, known in (("by_family", families), ("by_obligation", codes)):
        for key, roles in owners.get(section, {}).items():
            if key not in known:
                what = "family" if section == "by_family" else "obligation"
                fail(
                    f"owners/{section}/{key}",
                    f"unknown {what} {key!r} of the regulatory referential",
                )
            if unknown := [r for r in roles if r not in ALL_ROLES]:
                fail(
                    f"owners/{section}/{key}",
                    f"unknown roles {unknown} (roles: {sorted(ALL_ROLES)})",
                )
    for key in checked.data["due_dates"].get("grace_days_by_obligation", {}):
        if key not in codes:
            fail(f"due_dates/grace_days_by_obligation/{key}", f"unknown obligation {key!r}")


def check_all() -> None:
    for version in referentials.versions(KIND):
        policy(version)


def clear_cache() -> None:
    policy.cache_clear()


def propose_owners(system, obligations: dict[str, str], checked: Policy | None = None) -> dict:
    """{obligation code: proposed user or None} for `obligations` ({code: family}) of `system`:
    one query for the establishment's active members, whatever the number of obligations."""
    checked = checked or policy()
    holders: dict[str, list[User]] = {}
    memberships = (
        Membership.objects.within(establishment=system.establishment)
        .filter(user__is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )
    author = system.created_by_id
    for membership in memberships:
        holders.setdefault(membership.role, []).append(membership.user)
    for users in holders.values():
        users.sort(key=lambda u: u.pk != author)  # stable: the author first, then by name
    proposals = {}
    for code, family in obligations.items():
        proposals[code] = next(
            (holders[role][0] for role in checked.owner_roles(code, family) if holders.get(role)),
            None,
        )
    return proposals
