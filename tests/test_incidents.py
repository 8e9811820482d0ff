"""Incidents: declaration without patient identity, qualification opening the reports, the
clocks people see, the register, drafts and the audit trail."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from garant.core.audit import audit_context
from garant.incidents import reports
from garant.incidents.identity import identifiers_in
from garant.incidents.models import Consequence, Incident, RegulatoryReport
from garant.incidents.rules import CONSEQUENCES

PARIS = ZoneInfo("Europe/Paris")


def make_incident(world, key="a", **kw):
    fields = dict(
        ai_system=world[key]["system"],
        occurred_at=datetime(2028, 9, 12, 13, tzinfo=PARIS),
        aware_at=datetime(2028, 9, 12, 14, tzinfo=PARIS),
        service=world[key]["service"],
        description="Score de triage sous-estimé, patient réorienté à temps.",
        consequence="serious",
        declared_by=world["users"][key]["contributor"],
    )
    fields.update(kw)
    with audit_context(source="test"):
        return Incident.objects.create(**fields)


def test_model_consequences_are_the_referential_codes():
    assert tuple(Consequence.values) == CONSEQUENCES


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("patient 1 84 12 76 451 089 46 aux urgences", True),  # NIR with a valid key
        ("écrire à jean.dupont@example.org", True),
        ("rappeler au 06 12 34 56 78", True),
        ("FEI-2028-0042, lit 12, score 0,82", False),
        ("n° 184127645108945", False),  # 15 digits with a wrong key: not a NIR
    ],
)
def test_identifiers_in_free_text(text, found):
    assert bool(identifiers_in(text)) is found


def test_sync_opens_updates_and_closes_reports(world):
    incident = make_incident(
        world,
        ai_act_high_risk=True,
        ai_act_serious=True,
        is_device=True,
        mdr_serious=True,
        eigs=True,
    )
    with audit_context(source="test"):
        opened = reports.sync(incident)
    assert sorted(r.code for r in opened) == [
        "ai_provider_notice",
        "eigs_part1",
        "eigs_part2",
        "materiovigilance",
    ]
    mv = incident.reports.get(code="materiovigilance")
    assert timezone.localtime(mv.deadline, PARIS).strftime("%d/%m/%Y %H:%M") == "14/09/2028 14:00"
    assert mv.recipient == "ansm" and mv.status == RegulatoryReport.Status.TO_DO
    # one report sent, then the event is requalified: not an EIGS after all
    mv.status, mv.sent_at = RegulatoryReport.Status.SENT, timezone.now()
    with audit_context(source="test"):
        mv.save()
        incident.eigs = False
        incident.is_device = False
        incident.save()
        assert reports.sync(incident) == [
            incident.reports.get(code="ai_msa_notice")
        ]  # a non-device opens the AI Act channel
    statuses = dict(incident.reports.values_list("code", "status"))
    assert statuses["materiovigilance"] == "sent"  # sent reports are never touched
    assert statuses["eigs_part1"] == statuses["eigs_part2"] == "not_required"
    assert "requalification" in incident.reports.get(code="eigs_part1").not_required_reason
