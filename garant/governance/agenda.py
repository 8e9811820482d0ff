"""The agenda a meeting is proposed: what the lifecycle says awaits the committee.

- projects awaiting a decision: in phase "evaluation" or "generalisation", whose latest
  frozen assessment has no signed decision yet;
- overdue re-evaluations: projects whose next review date has passed.

Projects already on the agenda of a planned meeting of the committee (or of the meeting
being completed) are left out.
The proposal is then an ordinary agenda, edited like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core.documents import display
from garant.governance.models import AgendaItem, Committee, Decision, Meeting
from garant.monitoring import alert_panels

AWAITING_PHASES = ("evaluation", "generalisation")
CLOSED_PHASES = ("suspended", "retired")


@dataclass(frozen=True)
class Proposal:
    kind: str
    project: object
    title: str
    notes: str


def proposals(committee: Committee, meeting: Meeting | None = None) -> list[Proposal]:
    """What the lifecycle puts on the committee's agenda and is not there yet (three queries):
    decisions awaited, overdue re-evaluations, resumptions of suspended systems."""
    from garant.lifecycle.models import Assessment, Project

    projects = Project.objects.within(establishment=committee.establishment)
    on_agenda = Q(meeting__status=Meeting.Status.PLANNED)
    if meeting is not None:
        on_agenda |= Q(meeting=meeting)
    pending = AgendaItem.objects.within(meeting__committee=committee).filter(
        on_agenda, project__isnull=False
    )
    projects = projects.exclude(pk__in=pending.values("project_id"))
    latest_frozen = Assessment.objects.filter(project=OuterRef("pk"), status="frozen").order_by(
        "-frozen_at", "-pk"
    )
    decided = Decision.objects.signed().values("assessment_id")
    today = timezone.localdate()
    awaiting = (
        projects.filter(phase__in=AWAITING_PHASES)
        .annotate(
            frozen_id=Subquery(latest_frozen.values("pk")[:1]),
            frozen_at=Subquery(latest_frozen.values("frozen_at")[:1]),
        )
        .filter(frozen_id__isnull=False)
        .exclude(frozen_id__in=decided)
        .select_related("ai_system")
    )
    result = [
        Proposal(
            AgendaItem.Kind.DECISION,
            project,
            _("Décision sur « %(project)s »") % {"project": project},
            _("Évaluation figée le %(date)s.") % {"date": display(project.frozen_at)},
        )
        for project in awaiting
    ]
    awaiting_ids = {p.project.pk for p in result}
    overdue = (
        projects.filter(next_review_date__lt=today)
        .exclude(phase__in=CLOSED_PHASES)
        .exclude(pk__in=awaiting_ids)
        .select_related("ai_system")
        .order_by("next_review_date", "pk")
    )
    result += [
        Proposal(
            AgendaItem.Kind.REVIEW,
            project,
            _("Réévaluation de « %(project)s »") % {"project": project},
            _("Réévaluation prévue le %(date)s, en retard de %(days)s jours.")
            % {
                "date": display(project.next_review_date),
                "days": (today - project.next_review_date).days,
            },
        )
        for project in overdue
    ]
    # a system suspended (garant.oversight.suspension) waits for a resumption decision
    listed = {p.project.pk for p in result}
    suspended = (
        projects.filter(ai_system__suspensions__state="suspended")
        .exclude(pk__in=listed)
        .annotate(suspended_at=Max("ai_system__suspensions__suspended_at"))
        .select_related("ai_system")
        .order_by("suspended_at", "pk")
    )
    result += [
        Proposal(
            AgendaItem.Kind.DECISION,
            project,
            _("Reprise de « %(project)s » après suspension") % {"project": project},
            _("Suspendu depuis le %(date)s : la reprise exige une décision signée du comité.")
            % {"date": display(project.suspended_at)},
        )
        for project in suspended
    ]
    return result


def add_to_agenda(meeting: Meeting, chosen: list[Proposal]) -> int:
    """Append the chosen proposals not yet on the meeting's agenda; returns how many."""
    present = set(meeting.agenda.exclude(project=None).values_list("project_id", flat=True))
    position = meeting.agenda.count()
    added = 0
    with transaction.atomic():
        for proposal in chosen:
            if proposal.project.pk in present:
                continue
            position += 1
            AgendaItem.objects.create(
                meeting=meeting,
                position=position,
                kind=proposal.kind,
                project=proposal.project,
                title=proposal.title[:300],
                notes=proposal.notes,
            )
            added += 1
    return added


class AlreadyOnAgenda(Exception):
    """The alert is already on that meeting's agenda."""


def alert_field(alert) -> str:
    """The field of an agenda item or an action that points at `alert`: a monitoring alert
    (`alert`) or an alert on the oversight rates (`oversight_alert`)."""
    return alert_panels.link_field(alert)


def alert_title(alert) -> str:
    if alert_field(alert) == "oversight_alert":
        return _("Alerte de supervision humaine : %(kind)s — %(system)s") % {
            "kind": alert.rule.get_kind_display(),
            "system": f"{alert.ai_system}" + (f" ({alert.service})" if alert.service else ""),
        }
    return _("Alerte de suivi : %(kind)s — %(feed)s") % {
        "kind": alert.rule.get_kind_display(),
        "feed": alert.feed,
    }


def add_alert(meeting: Meeting, alert, notes: str) -> AgendaItem:
    """Append an alert (of monitoring or of the oversight rates) to the meeting's agenda, once
    per meeting."""
    field = alert_field(alert)
    with transaction.atomic():
        if meeting.agenda.filter(**{field: alert}).exists():
            raise AlreadyOnAgenda
        return AgendaItem.objects.create(
            meeting=meeting,
            position=meeting.agenda.count() + 1,
            kind=AgendaItem.Kind.ALERT,
            title=alert_title(alert)[:300],
            notes=notes,
            **{field: alert},
        )


def upcoming_meetings(establishment):
    """The planned meetings of the establishment's committees still to come, soonest first."""
    return (
        Meeting.objects.within(committee__establishment=establishment)
        .filter(status=Meeting.Status.PLANNED, starts_at__gte=timezone.now())
        .select_related("committee")
        .order_by("starts_at", "pk")
    )
