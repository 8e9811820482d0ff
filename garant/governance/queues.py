"""What the home page shows each person of their own work, registered with `garant.core.home`
by `GovernanceConfig.ready` (governance is the layer that sees every app):

- a referent's (or DPO's) work queue: the obligations and follow-up actions assigned to them,
  the systems of their establishments never qualified, the declarations from the field to
  review, the prediction feeds with an open alert; soonest due first, each naming its establishment;
- a field professional's ideas, their short declarations and the systems they registered, each with its status and what
  happens next.

The « À faire » card keeps its counts per establishment; the queue lists the records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from garant.compliance.dashboard import OPEN
from garant.compliance.models import Obligation, Qualification
from garant.compliance.rules import rulebook
from garant.core.referentials import vocabulary
from garant.core.roles import Role
from garant.core.tenancy import roles_by_establishment
from garant.governance.models import Action
from garant.lifecycle.models import Idea
from garant.monitoring.models import Alert, Feed
from garant.registry import declarations
from garant.registry.models import AISystem, Declaration

QUEUE_ROLES = frozenset({Role.REFERENT, Role.DPO})
SHOWN = 15


@dataclass
class Task:
    """One line of the work queue."""

    kind: str  # what to do, as a person reads it
    title: str
    url: str
    establishment: str
    due: dt.date | None = None
    overdue: bool = False


def _queue_establishments(user) -> set[int]:
    return {e for e, roles in roles_by_establishment(user).items() if roles & QUEUE_ROLES}


def work_queue(user, today: dt.date) -> list[Task]:
    """The records waiting for `user` where they are referent or DPO, soonest due first."""
    ids = _queue_establishments(user)
    if not ids:
        return []
    tasks: list[Task] = []
    obligations = (
        Obligation.objects.restrict(user, "change")
        .filter(owner=user, required=True, status__in=OPEN)
        .select_related("ai_system__establishment")
        .order_by("due_date", "pk")[:SHOWN]
    )
    for o in obligations:
        item = rulebook(o.referential_version).describe_obligation(o.code, o.date_key)
        tasks.append(
            Task(
                _("Obligation"),
                f"{o.ai_system.name} — {item['title']}",
                o.get_absolute_url(),
                o.ai_system.establishment.name,
                o.due_date,
                o.due_date < today,
            )
        )
    actions = (
        Action.objects.restrict(user)
        .filter(owner=user, status=Action.Status.OPEN)
        .select_related("meeting__committee__establishment")
        .order_by("due_date", "pk")[:SHOWN]
    )
    for a in actions:
        tasks.append(
            Task(
                _("Action du comité"),
                a.title,
                reverse("governance:action_edit", args=[a.pk]),
                a.meeting.committee.establishment.name,
                a.due_date,
                a.due_date < today,
            )
        )
    never_qualified = (
        AISystem.objects.restrict(user, "change")
        .filter(establishment_id__in=ids)
        .exclude(Exists(Qualification.objects.filter(ai_system=OuterRef("pk"))))
        .select_related("establishment")
        .order_by("name", "pk")[:SHOWN]
    )
    for s in never_qualified:
        tasks.append(
            Task(
                _("Qualification à faire"),
                s.name,
                reverse("compliance:wizard", args=[s.pk]),
                s.establishment.name,
            )
        )
    for d in declarations.queue(user)[:SHOWN]:
        missing = len(d.missing())
        tasks.append(
            Task(
                _("Déclaration à examiner"),
                str(d)
                + (
                    " — "
                    + ngettext("%(n)s réponse à compléter", "%(n)s réponses à compléter", missing)
                    % {"n": missing}
                    if missing
                    else ""
                ),
                d.get_absolute_url(),
                d.establishment.name,
            )
        )
    alerting = (
        Feed.objects.restrict(user)
        .filter(ai_system__establishment_id__in=ids)
        .annotate(n=Count("alerts", filter=Q(alerts__state=Alert.State.OPEN)))
        .filter(n__gt=0)
        .select_related("ai_system__establishment")
        .order_by("ai_system__name", "name", "pk")[:SHOWN]
    )
    for f in alerting:
        tasks.append(
            Task(
                _("Alerte de suivi"),
                f"{f.ai_system.name} — {f.name} ({f.n})",
                reverse("monitoring:dashboard", args=[f.pk]),
                f.ai_system.establishment.name,
            )
        )
    tasks.sort(key=lambda t: (t.due is None, t.due or today, t.establishment, t.title))
    return tasks[:SHOWN]


# --- a field professional's ideas and declarations ----------------------------------------


@dataclass
class Contribution:
    kind: str
    title: str
    url: str
    establishment: str
    date: dt.date
    status: str
    next_step: str


def _idea_line(idea: Idea, phases) -> Contribution:
    status = idea.get_status_display()
    if idea.status == Idea.Status.SUBMITTED:
        step = _("Le comité va examiner votre idée et vous tiendra informé.")
    elif idea.status == Idea.Status.ACCEPTED and idea.project is not None:
        step = _("Le projet est en phase « %(phase)s ».") % {
            "phase": phases.label_of(idea.project.phase)
        }
    elif idea.status == Idea.Status.MERGED and idea.merged_into is not None:
        step = _("Suivie avec l'idée « %(title)s ».") % {"title": idea.merged_into.title}
    elif idea.status == Idea.Status.DECLINED:
        step = idea.triage_reason or _("Aucune suite prévue.")
    else:
        step = _("Instruction en cours.")
    return Contribution(
        _("Idée"),
        idea.title,
        idea.get_absolute_url(),
        idea.establishment.name,
        timezone.localdate(idea.created_at),
        status,
        step,
    )


def _system_line(system: AISystem, phases) -> Contribution:
    incomplete = not (
        system.medical_referent and system.data_categories and system.hosting and system.use_case
    )
    if incomplete:
        step = _("Le référent IA complète la fiche (référent médical, données, hébergement).")
    elif not system.qualified:
        step = _("Le référent IA qualifie le système au regard de la réglementation.")
    elif system.phase in ("", "idea"):
        step = _("Le comité décide de l'instruction du projet.")
    else:
        step = _("Suivi par le comité dans sa phase actuelle.")
    return Contribution(
        _("Système déclaré"),
        system.name,
        system.get_absolute_url(),
        system.establishment.name,
        timezone.localdate(system.created_at),
        phases.label_of(system.phase),
        step,
    )


def _declaration_line(declaration: Declaration) -> Contribution:
    return Contribution(
        _("Outil déclaré"),
        str(declaration),
        declaration.get_absolute_url(),
        declaration.establishment.name,
        timezone.localdate(declaration.created_at),
        declaration.get_status_display(),
        declaration.next_step(),
    )


def contributions(user) -> list[Contribution]:
    """The ideas `user` submitted and the systems they declared, newest first."""
    phases = vocabulary("phase")
    ideas = (
        Idea.objects.for_user(user)
        .filter(author=user)
        .select_related("establishment", "project", "merged_into")
        .order_by("-created_at", "-pk")[:SHOWN]
    )
    systems = (
        AISystem.objects.for_user(user)
        .filter(created_by=user)
        .annotate(qualified=Exists(Qualification.objects.filter(ai_system=OuterRef("pk"))))
        .select_related("establishment")
        .order_by("-created_at", "-pk")[:SHOWN]
    )
    lines = (
        [_idea_line(i, phases) for i in ideas]
        + [_system_line(s, phases) for s in systems]
        + [_declaration_line(d) for d in declarations.mine(user)[:SHOWN]]
    )
    lines.sort(key=lambda c: c.date, reverse=True)
    return lines[:SHOWN]


def home_context(user) -> dict:
    """The home page's sections (`garant.core.home`): shown to the roles they serve."""
    roles = set().union(*roles_by_establishment(user).values()) if user.is_authenticated else set()
    mine = contributions(user)
    return {
        "work_queue": work_queue(user, timezone.localdate()),
        "show_queue": bool(roles & QUEUE_ROLES),
        "contributions": mine,
        "show_contributions": bool(mine) or Role.CONTRIBUTOR in roles,
    }
