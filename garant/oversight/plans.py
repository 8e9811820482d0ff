"""The oversight plan of a system: where in the workflow a person checks its outputs, who
(named people or roles, with their competence), how they may disregard, override or stop it,
the fallback procedure when it is stopped, and how often the plan is reviewed.

A plan is versioned: each save creates a new immutable `OversightPlanVersion` (audited on
creation), the latest one being the current plan; `diff` compares two consecutive versions
field by field, with the labels the users read. A high-risk system (its latest qualification
says so) in routine without a current plan is a gap: on the home page (`home_todo`), and at
the gate into routine (`garant.lifecycle.gates` asks `missing_plan`). A plan whose review date
has passed is shown on the home page too.

The plan is evidence of the deployer's AI Act duties it documents (Art. 26(2): oversight by
competent people; Art. 26(5): monitor and suspend; Art. 14 for a system built in-house): it
is registered with compliance as a linked evidence provider (`evidence`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.compliance.models import Qualification, RiskLevel
from garant.core import versions as versioning
from garant.oversight.models import OversightPlanVersion
from garant.registry.models import AISystem

#: where in the workflow a person checks the output
MOMENTS = {
    "before": gettext_lazy("avant utilisation de la sortie"),
    "after": gettext_lazy("après utilisation (contrôle a posteriori)"),
    "sampled": gettext_lazy("par échantillonnage"),
}

#: the plan's fields compared by `diff`, in the order shown
TEXT_FIELDS = ("override", "stop", "fallback", "review_months")
POINT_KEYS = ("moment", "rate", "who", "checks", "action")
PERSON_KEYS = ("who", "competence")


class NoChange(Exception):
    """The values sent are those of the current plan: no new version."""


def current(system) -> OversightPlanVersion | None:
    """The current plan of `system` (its latest version), or None."""
    return OversightPlanVersion.objects.within(ai_system=system).order_by("-number").first()


def versions(system) -> list[OversightPlanVersion]:
    return list(
        OversightPlanVersion.objects.within(ai_system=system)
        .select_related("created_by")
        .order_by("-number")
    )


def values_of(version: OversightPlanVersion | None) -> dict:
    """A version's content, as `save_version` takes it."""
    if version is None:
        return {}
    return {
        "points": version.points,
        "people": version.people,
        "override": version.override,
        "stop": version.stop,
        "fallback": version.fallback,
        "review_months": version.review_months,
    }


def save_version(
    system, values: dict, user, comment: str = "", at: dt.datetime | None = None
) -> OversightPlanVersion:
    """A new version of `system`'s plan with `values` (already validated); NoChange if they
    are the current plan's. `at` (the demo's history) defaults to now."""
    with transaction.atomic():
        # one writer at a time per system: version numbers follow each other
        # (the system was reached through the caller's scope)
        AISystem.objects.unrestricted().select_for_update().get(pk=system.pk)
        latest = current(system)
        content = {key: values[key] for key in ("points", "people", *TEXT_FIELDS[:-1])}
        content["review_months"] = int(values["review_months"])
        if latest is not None and values_of(latest) == content:
            raise NoChange
        return OversightPlanVersion.objects.create(
            ai_system=system,
            number=(latest.number + 1) if latest else 1,
            comment=comment.strip(),
            created_by=user if getattr(user, "is_authenticated", False) else None,
            created_at=at or timezone.now(),
            **content,
        )


# --- display ----------------------------------------------------------------------------------


def moment_label(point: dict) -> str:
    label = str(MOMENTS.get(point.get("moment"), point.get("moment", "")))
    if point.get("moment") == "sampled" and point.get("rate") is not None:
        rate = f"{point['rate']:g}".replace(".", ",")
        label = _("%(moment)s (%(rate)s %%)") % {"moment": label, "rate": rate}
    return label


def point_line(point: dict) -> str:
    return _("%(moment)s — %(who)s vérifie : %(checks)s ; en cas de désaccord : %(action)s") % {
        "moment": moment_label(point),
        "who": point.get("who", ""),
        "checks": point.get("checks", ""),
        "action": point.get("action") or "—",
    }


def person_line(person: dict) -> str:
    return _("%(who)s — compétence : %(competence)s") % person


def field_labels() -> dict[str, str]:
    meta = OversightPlanVersion._meta
    return {
        name: str(meta.get_field(name).verbose_name) for name in ("points", "people", *TEXT_FIELDS)
    }


def diff(old: OversightPlanVersion | None, new: OversightPlanVersion) -> list[dict]:
    """What changed from `old` to `new`, one entry per changed field: its French label, and
    either `before`/`after` (a text field) or `removed`/`added` lines (the rows of a table)."""
    return versioning.diff(
        values_of(old),
        values_of(new),
        field_labels(),
        tables={"points": point_line, "people": person_line},
        fields=TEXT_FIELDS,
    )


def history(system) -> list[dict]:
    """Every version, latest first, each with its diff from the one before."""
    return versioning.history(versions(system), diff)


# --- checks of the people named, by apps above oversight ------------------------------------

#: key -> check(system, people rows) -> {who: reason}; the people app flags the overseers
#: who are not habilitated for the system (oversight imports nothing of it)
_PEOPLE_CHECKS: dict[str, Callable[[object, list[dict]], dict[str, str]]] = {}


def register_people_check(key: str, check: Callable[[object, list[dict]], dict[str, str]]) -> None:
    _PEOPLE_CHECKS[key] = check


def people_flags(system, version: OversightPlanVersion | None) -> dict[str, list[str]]:
    """{who: [reasons]} for the people named in `version`, from every registered check."""
    flags: dict[str, list[str]] = {}
    if version is None:
        return flags
    for key in sorted(_PEOPLE_CHECKS):
        for who, reason in _PEOPLE_CHECKS[key](system, list(version.people)).items():
            flags.setdefault(who, []).append(reason)
    return flags


# --- gaps -------------------------------------------------------------------------------------


def _latest_level():
    return (
        Qualification.objects.unrestricted()  # correlated to systems already scoped
        .filter(ai_system=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("risk_level")[:1]
    )


def is_high_risk(system) -> bool:
    latest = (
        Qualification.objects.within(ai_system=system)
        .order_by("-created_at", "-pk")
        .values_list("risk_level", flat=True)
        .first()
    )
    return latest == RiskLevel.HIGH


def missing_plan(system) -> bool:
    """A high-risk system without an oversight plan (refused in routine)."""
    return is_high_risk(system) and current(system) is None


def plan_url(system) -> str:
    return reverse("oversight:plan", args=[system.pk])


def edit_url(system) -> str:
    return reverse("oversight:plan_edit", args=[system.pk])


def home_todo(user) -> dict:
    """The home page's section: per establishment, the high-risk systems in routine without
    an oversight plan, and the plans whose review date has passed."""
    today = timezone.localdate()
    systems = AISystem.objects.restrict(user, "view").select_related("establishment")
    without = (
        systems.filter(phase="routine")
        .annotate(
            level=Subquery(_latest_level()),
            planned=Exists(
                OversightPlanVersion.objects.unrestricted().filter(ai_system=OuterRef("pk"))
            ),
        )
        .filter(level=RiskLevel.HIGH, planned=False)
        .order_by("establishment__name", "name")
    )
    rows: dict[int, dict] = {}

    def row(establishment) -> dict:
        return rows.setdefault(
            establishment.pk, {"establishment": establishment, "missing": [], "overdue": []}
        )

    for system in without:
        row(system.establishment)["missing"].append(system)
    latest: dict[int, OversightPlanVersion] = {}
    plans = (
        OversightPlanVersion.objects.restrict(user, "view")
        .select_related("ai_system__establishment")
        .order_by("ai_system_id", "number")
    )
    for version in plans:
        latest[version.ai_system_id] = version
    for version in latest.values():
        if version.review_due < today:
            row(version.ai_system.establishment)["overdue"].append(version)
    shown = sorted(rows.values(), key=lambda r: (r["establishment"].name, r["establishment"].pk))
    return {"oversight_plans": shown}


def review_status(version: OversightPlanVersion, today: dt.date | None = None) -> dict:
    due = version.review_due
    return {
        "due": due,
        "overdue": due < (today or timezone.localdate()),
        "due_text": date_format(due, "d/m/Y"),
    }


# --- evidence for compliance ------------------------------------------------------------------

#: obligation code → what of the plan proves it
EVIDENCE = {
    "aia_26_2": gettext_lazy("personnes chargées du contrôle et leur compétence"),
    "aia_26_5": gettext_lazy("procédure d'arrêt et procédure dégradée"),
    "aia_14_oversight": gettext_lazy("modalités pour ignorer, corriger ou arrêter le système"),
}


def evidence(system) -> dict[str, list[dict]]:
    """The current plan as linked evidence of the obligations in `EVIDENCE`."""
    plan = current(system)
    if plan is None:
        return {}
    title = _("Plan de supervision humaine, version %(n)s du %(date)s") % {
        "n": plan.number,
        "date": date_format(timezone.localdate(plan.created_at), "d/m/Y"),
    }
    return {
        code: [{"title": title, "detail": str(detail), "url": plan_url(system)}]
        for code, detail in EVIDENCE.items()
    }
