# ruff: noqa: F811 (the shared fixtures are imported by name)
"""The decision register exported to XLSX (read back with openpyxl) and PDF (read back with
pypdf): the user's decisions only, with the filters of the page."""

import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from garant.governance.models import Outcome
from tests.test_governance_fixtures import (  # noqa: F401 (gov: a fixture)
    gov,
    make_committee,
    make_decision,
    make_meeting,
    make_project,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def decisions(gov):
    member = gov["users"]["a"]["committee"]
    stop = make_project(gov["a"]["est"], system={"name": "Triage IA des urgences"})
    make_decision(gov["meeting"], gov["project"], sign_by=member)
    make_decision(
        gov["meeting"],
        stop,
        outcome=Outcome.STOP,
        conditions="",
        next_review_date=None,
        rationale="Dérive du modèle non maîtrisée.",
        consensus=False,
        votes_for=4,
        votes_against=1,
        votes_abstain=0,
    )
    other = make_meeting(make_committee(gov["b"]["est"], name="Copil B"))
    make_decision(other, make_project(gov["b"]["est"], system={"name": "Secret B"}))
    return gov


def test_xlsx_export(decisions, client_for):
    c = client_for(decisions["users"]["a"]["contributor"])
    response = c.get(reverse("governance:decision_export", args=["xlsx"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="releve-decisions-')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("Date de la séance", "Établissement", "Comité", "Projet", "Décision")
    by_outcome = {row[4]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_outcome) == {"généraliser sous conditions", "arrêter"}  # not B's
    signed = by_outcome["généraliser sous conditions"]
    assert signed["Conditions"] == "Former les équipes de nuit avant le déploiement."
    assert signed["Vote"] == "consensus"
    assert signed["Signature"].startswith(f"signée le {timezone.localdate():%d/%m/%Y}")
    assert signed["Recommandation de l'évaluation"] == "généraliser sous conditions"
    stopped = by_outcome["arrêter"]
    assert stopped["Projet"] == "Triage IA des urgences"
    assert stopped["Vote"] == "4 pour, 1 contre, 0 abstention(s)"
    assert stopped["Signature"] == "à signer"
    assert sheet.cell(row=2, column=1).number_format == "DD/MM/YYYY HH:MM"

    filtered = c.get(reverse("governance:decision_export", args=["xlsx"]), {"outcome": "stop"})
    rows = list(openpyxl.load_workbook(io.BytesIO(filtered.content)).active.values)
    assert [r[4] for r in rows[1:]] == ["arrêter"]


def test_pdf_export(decisions, client_for):
    c = client_for(decisions["users"]["a"]["auditor"])
    response = c.get(reverse("governance:decision_export", args=["pdf"]), {"state": "signed"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Relevé de décisions" in text
    assert "généraliser sous conditions" in text
    assert "Former les équipes de nuit" in text
    assert "Triage IA des urgences" not in text  # unsigned: filtered out
    assert "Secret B" not in text
