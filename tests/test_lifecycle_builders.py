"""Builders shared by the lifecycle tests (no tests here): a project with a charter, values,
assessments and signed decisions, each built through the product's own rules so that a test
can only start from a state the product can reach."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from garant.core.audit import audit_context
from garant.lifecycle import assessments
from garant.lifecycle.models import Indicator, IndicatorValue, PocCharter
from garant.lifecycle.projects import create_project


def make_project(system, user=None):
    with audit_context(source="test"):
        return create_project(system, user)


def make_charter(project, *, end_date=dt.date(2026, 9, 30), measurable=True, frequency="end", **kw):
    """A charter whose PoC may end the day it starts (minimum duration 0, with its reason:
    tests move a project through its phases at once) and whose indicator needs one value
    (frequency "end"); tests of the duration and frequency rules say otherwise."""
    kw.setdefault("min_duration_weeks", 0)
    kw.setdefault("min_duration_reason", "Tests : toutes les phases le même jour.")
    with audit_context(source="test"):
        charter = PocCharter.objects.create(
            project=project,
            use_case="Détection précoce du sepsis aux urgences adultes",
            operational_objective="Réduire le délai d'antibiothérapie",
            start_date=dt.date(2026, 6, 1),
            end_date=end_date,
            **kw,
        )
        Indicator.objects.create(
            charter=charter,
            name="Délai d'antibiothérapie",
            unit="min",
            baseline=Decimal("95"),
            target=Decimal("60") if measurable else None,
            direction="lower",
            measurement_method="Extraction DPI mensuelle",
            criterion_code="clinical_impact",
            grid_indicator="clinical_outcome",
            frequency=frequency,
        )
    return charter


def add_value(indicator, value="70", on=dt.date(2026, 7, 1)):
    with audit_context(source="test"):
        return IndicatorValue.objects.create(
            indicator=indicator, value=Decimal(value), measured_on=on
        )


def frozen_assessment(project, user=None, scores=None):
    with audit_context(source="test"):
        assessment = assessments.start(project, user)
        for s in assessment.scores.all():
            s.score = (scores or {}).get(s.criterion_code, 3)
            s.stop_if_met = False
            s.save()
        return assessments.freeze(assessment, user)


def make_decision(
    project, assessment, outcome, *, signed=True, next_review_date=None, user=None, held_on=None
):
    """A decision of the establishment's "Copil IA" on `assessment`, recorded as the product
    records one: its chair presides, it passes `Decision.full_clean` (conditions for
    "with conditions", a review date after the meeting for the outcomes that need one:
    in 180 days unless given) and, when `signed`, it is signed through `decisions.sign` by
    `user` (default: the establishment's committee-role user). A review date already past
    needs a meeting held before it: `held_on`."""
    from garant.governance.decisions import sign
    from garant.governance.models import Committee, CommitteeMember, Decision, Meeting
    from garant.governance.rules import NEEDS_REVIEW_DATE

    today = timezone.localdate()
    held_on = held_on or today - dt.timedelta(days=1)
    if next_review_date is None and outcome in NEEDS_REVIEW_DATE:
        next_review_date = today + dt.timedelta(days=180)
    with audit_context(source="test"):
        committee, created = Committee.objects.get_or_create(
            establishment=project.establishment, name="Copil IA"
        )
        if created:
            CommitteeMember.objects.create(
                committee=committee, name="Présidente", role="direction", chair=True
            )
        meeting = Meeting.objects.create(
            committee=committee,
            starts_at=timezone.make_aware(dt.datetime.combine(held_on, dt.time(14))),
            status=Meeting.Status.HELD,
        )
        decision = Decision(
            meeting=meeting,
            project=project,
            assessment=assessment,
            outcome=outcome,
            consensus=True,
            rationale="Résultats du PoC",
            conditions="Former les équipes" if outcome == "generalise_with_conditions" else "",
            next_review_date=next_review_date,
            chair=committee.members.get(chair=True),
        )
        decision.full_clean()
        decision.save()
        if signed:
            signer = user or project.establishment.memberships.get(role="committee").user
            sign(
                decision,
                signer,
                attendance=everyone_present(meeting),
                conditions=conditions_of(decision),
            )
    return decision


def everyone_present(meeting) -> list[dict]:
    """Attendance rows: every member of the meeting's committee present, no conflict."""
    return [{"member": m, "status": "present"} for m in meeting.committee.members.all()]


def conditions_of(decision) -> list[dict]:
    """One action per line of a decision's conditions (owned by "Cadre de santé", due in 30
    days), as signing a decision "sous conditions" asks."""
    due = timezone.localdate() + dt.timedelta(days=30)
    return [
        {"title": line, "owner_name": "Cadre de santé", "due_date": due}
        for line in decision.conditions.splitlines()
        if line.strip()
    ]
