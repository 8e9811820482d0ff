"""Documents that leave Garant: PDF reports, XLSX workbooks and CSV files, one way to write each.

Every capability that exports (gap report, decision register, decision dossier…) builds its
content as plain Python values and hands it here, so page layout, the footer that dates the
document, and the cleaning of text that a file format refuses live in one place.

Spreadsheets (XLSX and CSV) never carry a formula that Garant did not write: a text cell that
a spreadsheet would run (it starts with = + - @, a tab or a carriage return: OWASP "CSV
injection") is written as text with a leading single quote, which the register's import
removes again (`neutralize_formula`).

PDF is written with ReportLab's platypus (pure Python wheel: a fresh machine needs nothing
else). Text uses the standard Helvetica fonts, which cover French (WinAnsi); a character
outside that set is replaced by "?" rather than silently dropped.

    doc = PdfDocument(_("Rapport d'écarts"), subtitle=establishment.name)
    doc.heading(_("Obligations en retard"))
    doc.table([_("Système"), _("Échéance")], rows)
    response = pdf_response(doc.render(), "rapport-ecarts.pdf")
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

import openpyxl
from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from garant.core.numbers import number

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def display(value) -> str:
    """A value as a person reads it in a French document: dd/mm/yyyy, "Oui"/"Non", "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, int | float | Decimal):  # 4,5 and 18 000, in French
        return number(value)
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "d/m/Y H:i")
    if isinstance(value, dt.date):
        return date_format(value, "d/m/Y")
    return str(value)


# Characters French text and numbers commonly carry that Helvetica (WinAnsi) cannot draw,
# with what is printed instead: typographic spaces, arrows, comparison signs.
_PDF_SUBSTITUTES = str.maketrans(
    {
        "\u202f": " ",  # narrow no-break space (before « : », in 1 234)
        "\u2009": " ",
        "\u2007": " ",
        "→": "->",
        "←": "<-",
        "⇒": "=>",
        "≥": ">=",
        "≤": "<=",
        "≠": "!=",
        "≈": "~",
        "✓": "v",
        "✔": "v",
        "✗": "x",
        "−": "-",
    }
)


def _pdf_plain(text: str) -> str:
    text = text.translate(_PDF_SUBSTITUTES)
    return "".join(ch if _encodable(ch) else "?" for ch in text)


def _pdf_text(value) -> str:
    """Escaped for ReportLab's mini-markup, limited to what Helvetica can draw."""
    return escape(_pdf_plain(display(value))).replace("\n", "<br/>")


def _encodable(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return ch >= " " or ch == "\n"


class PdfDocument:
    """A titled PDF built from headings, paragraphs, label/value fields and tables."""

    def __init__(self, title: str, subtitle: str = "", *, wide: bool = False):
        self.title = str(title)
        self.subtitle = str(subtitle)
        self.pagesize = landscape(A4) if wide else A4
        self.generated_at = timezone.localtime()
        base = getSampleStyleSheet()
        self.styles = {
            "title": ParagraphStyle("g-title", parent=base["Title"], fontSize=18, spaceAfter=4),
            "subtitle": ParagraphStyle("g-sub", parent=base["Normal"], textColor=colors.grey),
            "h1": ParagraphStyle("g-h1", parent=base["Heading2"], spaceBefore=10),
            "h2": ParagraphStyle("g-h2", parent=base["Heading3"], spaceBefore=6),
            "body": ParagraphStyle("g-body", parent=base["Normal"], fontSize=9.5, leading=12),
            "cell": ParagraphStyle("g-cell", parent=base["Normal"], fontSize=8, leading=10),
            "head": ParagraphStyle(
                "g-head", parent=base["Normal"], fontSize=8, leading=10, fontName="Helvetica-Bold"
            ),
            "note": ParagraphStyle(
                "g-note", parent=base["Normal"], fontSize=8, textColor=colors.grey
            ),
        }
        self.story: list = [Paragraph(_pdf_text(self.title), self.styles["title"])]
        if self.subtitle:
            self.story.append(Paragraph(_pdf_text(self.subtitle), self.styles["subtitle"]))
        self.story.append(Spacer(1, 4 * mm))

    def heading(self, text, level: int = 1) -> None:
        self.story.append(Paragraph(_pdf_text(text), self.styles["h1" if level == 1 else "h2"]))

    def paragraph(self, text, *, note: bool = False) -> None:
        self.story.append(Paragraph(_pdf_text(text), self.styles["note" if note else "body"]))

    def fields(self, pairs: Iterable[tuple[str, object]]) -> None:
        """Label / value lines, as on a record's page."""
        rows = [
            [
                Paragraph(_pdf_text(k), self.styles["head"]),
                Paragraph(_pdf_text(v), self.styles["cell"]),
            ]
            for k, v in pairs
        ]
        if rows:
            width = self.pagesize[0] - 40 * mm
            table = Table(rows, colWidths=[0.3 * width, 0.7 * width], hAlign="LEFT")
            table.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                    ]
                )
            )
            self.story.append(table)

    def table(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[object]],
        widths: Sequence[float] | None = None,
        empty: str | None = None,
    ) -> None:
        """A table with a repeated header row; `widths` are fractions of the text width."""
        body = [[Paragraph(_pdf_text(c), self.styles["cell"]) for c in row] for row in rows]
        if not body:
            self.paragraph(empty or _("Aucun élément."), note=True)
            return
        head = [Paragraph(_pdf_text(h), self.styles["head"]) for h in headers]
        width = self.pagesize[0] - 40 * mm
        col_widths = [f * width for f in widths] if widths else None
        table = Table([head, *body], colWidths=col_widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        self.story.append(table)

    def render(self) -> bytes:
        buffer = io.BytesIO()
        generated = _("Généré par Garant le %(date)s (heure de Paris)") % {
            "date": display(self.generated_at)
        }

        def footer(canvas, doc):
            canvas.saveState()
            canvas.setFont("Helvetica", 7.5)
            canvas.setFillColor(colors.grey)
            canvas.drawString(20 * mm, 10 * mm, _pdf_plain(f"{self.title} — {generated}"))
            canvas.drawRightString(
                self.pagesize[0] - 20 * mm, 10 * mm, _("Page %(n)s") % {"n": doc.page}
            )
            canvas.restoreState()

        doc = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=18 * mm,
            bottomMargin=18 * mm,
            title=self.title,
            author="Garant",
            subject=self.subtitle,
        )
        doc.build(list(self.story), onFirstPage=footer, onLaterPages=footer)
        return buffer.getvalue()


# Characters that make a spreadsheet read a cell as a formula (CSV/XLSX injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(text: str) -> str:
    """`text` as a spreadsheet shows it without ever running it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _xlsx_value(sheet, value):
    if isinstance(value, str):
        # control characters make a broken file; what is left never starts a formula
        cell = WriteOnlyCell(sheet, value=neutralize_formula(ILLEGAL_CHARACTERS_RE.sub("", value)))
        cell.data_type = "s"
        return cell
    if isinstance(value, dt.datetime):
        value = (
            timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
        )
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD/MM/YYYY HH:MM"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "DD/MM/YYYY"
        return cell
    return value


def xlsx_workbook(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]]) -> bytes:
    """An XLSX file with one sheet per (title, headers, rows): bold frozen header, filters,
    real date cells shown dd/mm/yyyy."""
    workbook = openpyxl.Workbook(write_only=True)
    bold = Font(bold=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title=ILLEGAL_CHARACTERS_RE.sub("", str(title))[:31])
        sheet.freeze_panes = "A2"
        for index, header in enumerate(headers, start=1):
            width = min(max(len(str(header)), 12), 40)
            sheet.column_dimensions[get_column_letter(index)].width = width
        head = []
        for header in headers:
            cell = _xlsx_value(sheet, str(header))
            cell.font = bold
            head.append(cell)
        sheet.append(head)
        count = 0
        for row in rows:
            sheet.append([_xlsx_value(sheet, v) for v in row])
            count += 1
        sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(headers), 1))}{count + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | dt.date):
        value = display(value)
    return neutralize_formula(str(value))


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file as French Excel opens it directly: UTF-8 with BOM, ";" between cells, CRLF;
    dates dd/mm/yyyy, and no cell that a spreadsheet would run as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_csv_text(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    return download(content, filename, "application/pdf")


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    return download(content, filename, XLSX_TYPE)
