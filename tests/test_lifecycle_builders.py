"""Builders shared by the lifecycle tests (no tests here): a project with a charter, values,
assessments and (when the governance app is present) signed decisions."""

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


def make_charter(project, *, end_date=dt.date(2026, 9, 30), measurable=True, **kw):
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
            s.save()
        return assessments.freeze(assessment, user)


def make_decision(project, assessment, outcome, *, signed=True, next_review_date=None, user=None):
    from garant.governance.models import Committee, Decision, Meeting

    with audit_context(source="test"):
        committee, _ = Committee.objects.get_or_create(
            establishment=project.establishment, name="Copil IA"
        )
        meeting = Meeting.objects.create(committee=committee, starts_at=timezone.now())
        return Decision.objects.create(
            meeting=meeting,
            project=project,
            assessment=assessment,
            outcome=outcome,
            consensus=True,
            rationale="Résultats du PoC",
            next_review_date=next_review_date,
            signed_at=timezone.now() if signed else None,
            signed_by=user if signed else None,
        )
