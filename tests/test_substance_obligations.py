"""An obligation set to « fait » without evidence asks for a justification, shown as such on
every report: the obligation's page, the system's compliance tab, the dashboard, and the gap
report in XLSX and PDF."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse
from pypdf import PdfReader

from garant.compliance.models import Obligation
from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.models import Role
from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE

JUSTIFICATION = "Exception 9.2.h établie en séance par la DPO ; note écrite à venir."


@pytest.fixture
def obligation(world):
    system, user = world["a"]["system"], world["users"]["a"][Role.DPO]
    with audit_context(user=user, source="test"):
        qualify(system, {**BASE, **TRIAGE, **HEALTH_CARE}, user)
    return system.obligations.get(code="aia_26_7")


def post(client, obligation, **fields):
    data = {"action": "update", "status": "done", "justification": "", "due_date": "02/12/2027"}
    return client.post(reverse("compliance:obligation", args=[obligation.pk]), {**data, **fields})


def test_done_without_evidence_asks_for_a_justification(world, client_for, obligation):
    client = client_for(world["users"]["a"][Role.DPO])
    response = post(client, obligation)
    assert response.status_code == 200
    assert "Aucune preuve n&#x27;est jointe" in response.content.decode()
    obligation.refresh_from_db()
    assert obligation.status == "todo"
    assert post(client, obligation, justification=JUSTIFICATION).status_code == 302
    obligation.refresh_from_db()
    assert obligation.status == "done" and obligation.justification == JUSTIFICATION
    page = client.get(obligation.get_absolute_url()).content.decode()
    assert 'id="no-evidence"' in page and "Justification (faite sans preuve) :" in page


def test_done_with_evidence_needs_no_justification(world, client_for, obligation):
    with audit_context(source="test"):
        obligation.evidence.create(description="Note d'information", url="https://intranet/x")
    client = client_for(world["users"]["a"][Role.DPO])
    assert post(client, obligation).status_code == 302
    obligation.refresh_from_db()
    assert obligation.status == "done"
    assert 'id="no-evidence"' not in client.get(obligation.get_absolute_url()).content.decode()


def test_the_api_asks_for_the_justification_too(world, obligation):
    from tests.conftest import token_client

    client = token_client(world["users"]["a"][Role.DPO])
    url = f"/api/compliance/obligations/{obligation.pk}"
    response = client.patch(url, {"status": "done"}, content_type="application/json")
    if response.status_code == 405:  # the API updates with PUT
        response = client.put(url, {"status": "done"}, content_type="application/json")
    assert response.status_code in (400, 422), response.content
    assert "Aucune preuve" in response.content.decode()
    obligation.refresh_from_db()
    assert obligation.status == "todo"


@pytest.fixture
def unproven(world, obligation):
    with audit_context(source="test"):
        Obligation.objects.filter(pk=obligation.pk).update(
            status="done", justification=JUSTIFICATION
        )
    return obligation


def test_the_system_tab_and_the_dashboard_show_it_as_such(world, client_for, unproven):
    client = client_for(world["users"]["a"][Role.AUDITOR])
    page = client.get(reverse("compliance:system", args=[unproven.ai_system_id])).content
    page = page.decode()
    assert "sans preuve" in page and JUSTIFICATION.replace("'", "&#x27;") in page
    page = client.get(reverse("compliance:dashboard")).content.decode()
    section = page[page.index('id="unproven"') :]
    assert "Faites sans preuve" in section and unproven.get_absolute_url() in section
    assert JUSTIFICATION.replace("'", "&#x27;") in section


def test_the_gap_report_shows_it_in_xlsx_and_pdf(world, client_for, unproven):
    client = client_for(world["users"]["a"][Role.AUDITOR])
    xlsx = client.get(reverse("compliance:gap_report", args=["xlsx"]))
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    rows = list(book["Faites sans preuve"].values)
    assert rows[0] == ("Établissement", "Système", "Obligation", "Statut", "Justification")
    [row] = rows[1:]
    assert row[1] == unproven.ai_system.name and row[3] == "Fait sans preuve"
    assert row[4] == JUSTIFICATION
    pdf = client.get(reverse("compliance:gap_report", args=["pdf"]))
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Obligations faites sans preuve" in text
    assert "Fait sans preuve" in text and "Exception 9.2.h" in text
