"""No input a client can send produces a server error on the pages of compliance, lifecycle
and governance: every URL of the three apps, every role, a garbage query and a garbage form.

URLs are built from the apps' own URL patterns, with their parameters filled from real
records (a qualification and its checklist, a project with charter, indicator, values,
assessment, an idea, a committee with a meeting, an agenda item, a decision and an action),
so a page added later is covered without editing this list.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from garant.compliance.models import Evidence
from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.models import Role
from garant.governance.models import Action, AgendaItem
from garant.lifecycle.models import Idea, Notification
from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE
from tests.test_governance_fixtures import make_committee, make_decision, make_meeting
from tests.test_lifecycle_builders import add_value, frozen_assessment, make_charter, make_project
from tests.test_no_server_error import GARBAGE_POST, GARBAGE_QUERY

APPS = ("compliance", "lifecycle", "governance")
FORMATS = ("xlsx", "pdf", "csv", "exe")


def records(world) -> dict:
    a = world["a"]
    referent = world["users"]["a"][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        qualification = qualify(a["system"], {**BASE, **TRIAGE, **HEALTH_CARE}, referent)
        obligation = a["system"].obligations.first()
        evidence = Evidence.objects.create(
            obligation=obligation, url="https://intranet.example.org/aipd", description="AIPD"
        )
        project = make_project(a["system"], referent)
        charter = make_charter(project)
        indicator = charter.indicators.first()
        add_value(indicator)
        assessment = frozen_assessment(project, referent)
        idea = Idea.objects.create(
            establishment=a["est"],
            author=world["users"]["a"][Role.CONTRIBUTOR],
            title="Tri des appels",
            need="Trop d'appels non régulés la nuit",
        )
        notification = Notification.objects.filter(user=referent).first()
        committee = make_committee(a["est"])
        meeting = make_meeting(committee)
        decision = make_decision(meeting, project)
        item = AgendaItem.objects.filter(meeting=meeting).first() or AgendaItem.objects.create(
            meeting=meeting, project=project, title="Décision"
        )
        action = Action.objects.create(
            meeting=meeting,
            title="Former l'équipe",
            owner_name="IDE",
            due_date=dt.date(2027, 1, 15),
        )
    return {
        "system": a["system"],
        "wizard": a["system"],
        "qualification": qualification,
        "obligation": obligation,
        "evidence": evidence,
        "idea": idea,
        "notification": notification,
        "indicator": indicator,
        "assessment": assessment,
        "project": project,
        "charter": project,
        "dossier": project,
        "member": committee.members.first(),
        "agenda": item,
        "meeting": meeting,
        "committee": committee,
        "decision": decision,
        "action": action,
    }


def _record_for(name: str, objects: dict):
    """The record a URL name's first parameter points at: the longest keyword it contains."""
    keyword = max((k for k in objects if k in name), key=len, default=None)
    if name.endswith(("_create", "_add")) and keyword in ("indicator", "assessment", "meeting"):
        keyword = "project" if keyword != "meeting" else "committee"
    if name in ("agenda_add", "action_add"):
        keyword = "meeting"
    record = objects.get(keyword) if keyword else None
    return record.pk if record is not None else 1


def urls(world) -> list[str]:
    objects = records(world)
    found, last = [], []
    for app in APPS:
        resolver = get_resolver().namespace_dict[app][1]
        for name, entries in resolver.reverse_dict.items():
            if not isinstance(name, str):
                continue
            params = entries[0][0][1]
            if not params:
                args = [[]]
            elif params == ["fmt"]:
                args = [[fmt] for fmt in FORMATS]
            elif params == ["pk", "indicator_pk"]:
                args = [[objects["project"].pk, objects["indicator"].pk]]
            else:
                args = [[_record_for(name, objects)] + [1] * (len(params) - 1)]
            for arg in args:
                url = reverse(f"{app}:{name}", args=arg)
                # deletions last: they may succeed and remove what other pages need
                (last if any(w in name for w in ("delete", "retirer")) else found).append(url)
    return (
        sorted(set(found)) + sorted(set(last)) + ["/conformite/obligations/99999999999999999999/"]
    )


@pytest.mark.parametrize("role", [*Role.values, "anonymous"])
def test_every_page_of_the_new_apps_survives_garbage(world, role):
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world["users"]["a"][role])
    pages = urls(world)
    assert len(pages) > 50  # the three apps' pages are all there
    for url in pages:
        response = client.get(url, GARBAGE_QUERY)
        assert response.status_code < 500, ("GET", url, response.status_code)
        response = client.post(url, GARBAGE_POST)
        assert response.status_code < 500, ("POST", url, response.status_code)
