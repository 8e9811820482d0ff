"""The governance status of each establishment, side by side: the home page's table for a
director or a committee member, and its export for the board (PDF, XLSX).

Only the establishments where the user holds a role that may oversee them (`oversee`:
administrator, committee, DPO, auditor) are shown, each with figures computed from the data:

- systems in the register, those whose current qualification is high-risk, the share of
  systems qualified at least once;
- required obligations done (or not applicable) against those due, and those overdue;
- open monitoring alerts; systems in routine use without any prediction feed;
- projects blocked at their next gate (`garant.lifecycle.gates.blocked_reason`);
- the next planned meeting of one of its committees.

Governance is the top layer that sees the register, compliance, monitoring and the lifecycle,
so the table lives here and is registered with `garant.core.home` by `GovernanceConfig.ready`.
Every figure is one grouped query over all the establishments (no query per establishment);
the blocked projects are judged with the portfolio's prefetches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from garant.compliance.models import Obligation, ObligationStatus, Qualification, RiskLevel
from garant.core import permissions
from garant.core.documents import (
    PdfDocument,
    display,
    pdf_response,
    xlsx_response,
    xlsx_workbook,
)
from garant.core.models import Establishment
from garant.governance.models import Meeting
from garant.lifecycle import gates
from garant.lifecycle.models import Project
from garant.monitoring.models import Alert, Feed
from garant.registry.models import AISystem

PERMISSION = "oversee"
DONE = (ObligationStatus.DONE, ObligationStatus.NOT_APPLICABLE)
OPEN = (ObligationStatus.TODO, ObligationStatus.IN_PROGRESS)
NOT_JUDGED = ("suspended", "retired")  # no gate ahead, no review due


def fr_number(value: int | float) -> str:
    """A number as French readers write it: 1 234 ; 4,5."""
    return number_format(value, force_grouping=True)


def fr_percent(value: int | None) -> str:
    return "—" if value is None else f"{fr_number(value)}\u00a0%"


@dataclass
class Status:
    """One establishment's governance figures."""

    establishment: Establishment
    systems: int = 0
    high_risk: int = 0
    qualified: int = 0
    obligations_due: int = 0
    obligations_done: int = 0
    obligations_overdue: int = 0
    open_alerts: int = 0
    routine_without_feed: int = 0
    blocked_projects: int = 0
    next_meeting: Meeting | None = None

    @property
    def qualified_percent(self) -> int | None:
        return round(100 * self.qualified / self.systems) if self.systems else None

    @property
    def needs_attention(self) -> bool:
        return bool(
            self.obligations_overdue
            or self.open_alerts
            or self.routine_without_feed
            or self.blocked_projects
        )


def overseen(user):
    """The establishments whose governance status `user` may see, by name."""
    return Establishment.objects.restrict(user, PERMISSION).order_by("name", "pk")


def statuses(user, today: dt.date | None = None) -> list[Status]:
    """The governance status of each establishment `user` oversees, in a fixed number of
    queries whatever the number of establishments, systems or projects."""
    today = today or timezone.localdate()
    now = timezone.now()
    next_meeting = (
        Meeting.objects.filter(
            committee__establishment=OuterRef("pk"),
            status=Meeting.Status.PLANNED,
            starts_at__gte=now,
        )
        .order_by("starts_at", "pk")
        .values("pk")[:1]
    )
    rows = {
        e.pk: Status(e) for e in overseen(user).annotate(next_meeting_id=Subquery(next_meeting))
    }
    if not rows:
        return []

    latest_level = (
        Qualification.objects.filter(ai_system=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("risk_level")[:1]
    )
    systems = (
        AISystem.objects.restrict(user, PERMISSION)
        .annotate(
            level=Subquery(latest_level),
            fed=Exists(Feed.objects.filter(ai_system=OuterRef("pk"))),
        )
        .order_by()
        .values("establishment_id")
        .annotate(
            n=Count("pk"),
            high=Count("pk", filter=Q(level=RiskLevel.HIGH)),
            qualified=Count("pk", filter=Q(level__isnull=False)),
            unfed=Count("pk", filter=Q(phase="routine", fed=False)),
        )
    )
    for g in systems:
        row = rows[g["establishment_id"]]
        row.systems, row.high_risk = g["n"], g["high"]
        row.qualified, row.routine_without_feed = g["qualified"], g["unfed"]

    obligations = (
        Obligation.objects.restrict(user, PERMISSION)
        .filter(required=True)
        .order_by()
        .values("ai_system__establishment_id")
        .annotate(
            due=Count("pk"),
            done=Count("pk", filter=Q(status__in=DONE)),
            overdue=Count("pk", filter=Q(status__in=OPEN, due_date__lt=today)),
        )
    )
    for g in obligations:
        row = rows[g["ai_system__establishment_id"]]
        row.obligations_due, row.obligations_done = g["due"], g["done"]
        row.obligations_overdue = g["overdue"]

    alerts = (
        Alert.objects.restrict(user, PERMISSION)
        .filter(state__in=(Alert.State.OPEN, Alert.State.ACKNOWLEDGED))
        .order_by()
        .values("feed__ai_system__establishment_id")
        .annotate(n=Count("pk"))
    )
    for g in alerts:
        rows[g["feed__ai_system__establishment_id"]].open_alerts = g["n"]

    # blocked as on the portfolio: at the next gate, or in routine past the re-evaluation date
    judged = (
        Project.objects.restrict(user, PERMISSION)
        .exclude(phase__in=NOT_JUDGED)
        .select_related("ai_system")
        .prefetch_related(*gates.prefetch_names())
    )
    for project in judged:
        if gates.blocked_reason(project):
            rows[project.establishment_id].blocked_projects += 1

    meeting_ids = [e.next_meeting_id for e in (r.establishment for r in rows.values())]
    meetings = Meeting.objects.restrict(user, PERMISSION).filter(
        pk__in=[pk for pk in meeting_ids if pk]
    )
    by_pk = {m.pk: m for m in meetings.select_related("committee")} if any(meeting_ids) else {}
    for row in rows.values():
        row.next_meeting = by_pk.get(row.establishment.next_meeting_id)
    return list(rows.values())


# --- the home page ------------------------------------------------------------------------


def home_context(user) -> dict:
    """The home page's table (`garant.core.home`): nothing for a user who oversees nothing."""
    if not permissions.can(user, PERMISSION):
        return {"board": [], "board_cells": []}
    rows = statuses(user)
    return {"board": rows, "board_cells": [shown(r) for r in rows]}


def shown(row: Status) -> dict:
    """The figures of one line, formatted for the page (French numbers)."""
    return {
        "status": row,
        "systems": fr_number(row.systems),
        "high_risk": fr_number(row.high_risk),
        "qualified": fr_percent(row.qualified_percent),
        "obligations": f"{fr_number(row.obligations_done)} / {fr_number(row.obligations_due)}",
        "overdue": fr_number(row.obligations_overdue),
        "alerts": fr_number(row.open_alerts),
        "unfed": fr_number(row.routine_without_feed),
        "blocked": fr_number(row.blocked_projects),
    }


# --- the board's export -------------------------------------------------------------------


def headers() -> list[str]:
    return [
        _("Établissement"),
        _("Systèmes"),
        _("Haut risque"),
        _("Qualifiés"),
        _("Obligations faites / dues"),
        _("Obligations en retard"),
        _("Alertes en cours"),
        _("En routine sans suivi"),
        _("Projets bloqués"),
        _("Prochain comité"),
    ]


def meeting_text(meeting: Meeting | None) -> str:
    if meeting is None:
        return _("Aucune séance prévue")
    return f"{display(meeting.starts_at)} — {meeting.committee.name}"


def cells(row: Status) -> list[str]:
    """One establishment's line as a person reads it (French numbers, dd/mm/yyyy)."""
    return [
        row.establishment.name,
        fr_number(row.systems),
        fr_number(row.high_risk),
        fr_percent(row.qualified_percent),
        f"{fr_number(row.obligations_done)} / {fr_number(row.obligations_due)}",
        fr_number(row.obligations_overdue),
        fr_number(row.open_alerts),
        fr_number(row.routine_without_feed),
        fr_number(row.blocked_projects),
        meeting_text(row.next_meeting),
    ]


def board_pdf(rows: list[Status]) -> bytes:
    doc = PdfDocument(
        _("État de la gouvernance de l'IA par établissement"),
        subtitle=_("Au %(date)s") % {"date": display(timezone.localdate())},
        wide=True,
    )
    doc.table(
        headers(),
        [cells(r) for r in rows],
        widths=[0.17, 0.07, 0.07, 0.07, 0.1, 0.08, 0.08, 0.08, 0.08, 0.2],
        empty=_("Aucun établissement dans votre périmètre."),
    )
    doc.paragraph(
        _(
            "Qualifiés : part des systèmes ayant au moins une qualification réglementaire. "
            "Haut risque : selon la dernière qualification. Obligations : obligations "
            "requises faites ou sans objet, sur celles dues. En routine sans suivi : "
            "systèmes en phase routine sans flux de prédictions."
        ),
        note=True,
    )
    return doc.render()


def board_rows(rows: list[Status]) -> list[list]:
    """The same figures as numbers and dates, for a spreadsheet."""
    return [
        [
            r.establishment.name,
            r.systems,
            r.high_risk,
            r.qualified_percent,
            r.obligations_done,
            r.obligations_due,
            r.obligations_overdue,
            r.open_alerts,
            r.routine_without_feed,
            r.blocked_projects,
            timezone.localtime(r.next_meeting.starts_at) if r.next_meeting else None,
            r.next_meeting.committee.name if r.next_meeting else "",
        ]
        for r in rows
    ]


def xlsx_headers() -> list[str]:
    return [
        _("Établissement"),
        _("Systèmes"),
        _("Haut risque"),
        _("Qualifiés (%)"),
        _("Obligations faites"),
        _("Obligations dues"),
        _("Obligations en retard"),
        _("Alertes en cours"),
        _("En routine sans suivi"),
        _("Projets bloqués"),
        _("Prochaine séance"),
        _("Comité"),
    ]


@login_required
def board_export(request, fmt):
    if fmt not in ("pdf", "xlsx"):
        raise Http404
    if not permissions.can(request.user, PERMISSION):
        raise PermissionDenied(_("Votre rôle ne donne pas accès à l'état de la gouvernance."))
    rows = statuses(request.user)
    name = f"gouvernance-ia-{timezone.localdate():%Y-%m-%d}"
    if fmt == "pdf":
        return pdf_response(board_pdf(rows), f"{name}.pdf")
    sheets = [(_("Gouvernance"), xlsx_headers(), board_rows(rows))]
    return xlsx_response(xlsx_workbook(sheets), f"{name}.xlsx")
