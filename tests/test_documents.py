"""PDF and XLSX documents written by garant/core/documents.py, read back as files."""

import datetime as dt
import io

import openpyxl
import pypdf
from django.utils import translation

from garant.core.documents import PdfDocument, xlsx_workbook


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_pdf_keeps_french_and_prints_arrows_and_typographic_spaces_readably():
    with translation.override("fr"):  # "Oui"/"Non" and the footer follow the active language
        doc = PdfDocument("Rapport d'écarts", subtitle="CHU de Valmont")
        doc.heading("Obligations en retard")
        doc.fields([("Échéance", dt.date(2027, 12, 2)), ("Réalisée", False)])
        doc.table(
            ["Système", "Évolution"], [["Tri des urgences", "PSI\u202f: 0,12 → 0,38 ≥ seuil"]]
        )
        text = pdf_text(doc.render())
    assert "Rapport d'écarts" in text and "CHU de Valmont" in text
    assert "02/12/2027" in text and "Non" in text
    assert "PSI : 0,12 -> 0,38 >= seuil" in text
    assert "Généré par Garant le" in text and "Page 1" in text


def test_pdf_table_without_rows_says_so():
    doc = PdfDocument("Vide")
    doc.table(["A"], [], empty="Aucune obligation en retard.")
    assert "Aucune obligation en retard." in pdf_text(doc.render())


def test_xlsx_has_real_date_cells_shown_dd_mm_yyyy_and_no_control_characters():
    content = xlsx_workbook(
        [("Écarts", ["Système", "Échéance"], [["Tri\x07 des urgences", dt.date(2027, 12, 2)]])]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(content))["Écarts"]
    assert [c.value for c in sheet[1]] == ["Système", "Échéance"]
    assert sheet["A2"].value == "Tri des urgences"
    assert sheet["B2"].value == dt.datetime(2027, 12, 2)
    assert sheet["B2"].number_format == "DD/MM/YYYY"
    assert sheet.freeze_panes == "A2"
