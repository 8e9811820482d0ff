"""Direct identifiers that a prediction feed must never carry (GUIDE §5).

A batch is refused when a column *name* says it holds a direct identifier (nom, e-mail, NIR,
téléphone…) or when a *value* of a text column looks like an e-mail address, a French social
security number (NIR, with its key checked) or a French phone number. The error names the
column and the first row, never the value itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

# tokens of a column name (accents removed, split on anything not a letter or a digit)
IDENTIFYING_NAMES = frozenset(
    {
        "nom",
        "prenom",
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "email",
        "mail",
        "courriel",
        "nir",
        "nss",
        "insee",
        "ins",
        "secu",
        "telephone",
        "tel",
        "phone",
        "adresse",
        "address",
    }
)
# names that are identifying only as a whole ("first_name" → tokens first + name)
IDENTIFYING_COMPOUNDS = ("first_name", "last_name", "nom_naissance", "date_naissance")

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# sex (1, 2, 7, 8), year, month (01-12, or 20-99 when unknown), department (2A/2B for
# Corsica), commune, order, key; spaces allowed between the parts
NIR = (
    r"(^|[^0-9A-Za-z])([1278]) ?([0-9]{2}) ?(0[1-9]|1[0-2]|[2-9][0-9]) ?([0-9]{2}|2[ABab]) ?"
    r"([0-9]{3}) ?([0-9]{3}) ?([0-9]{2})($|[^0-9])"
)
PHONE = r"(^|[^0-9])(\+33 ?|0033 ?|0)[1-9]([ .-]?[0-9]{2}){4}($|[^0-9])"


@dataclass(frozen=True)
class Finding:
    column: str
    row: int | None  # 1-based data row, None when the column's name is the reason
    reason: str


def _tokens(name: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return [t for t in re.split(r"[^a-z0-9]+", plain) if t]


def identifying_name(name: str) -> bool:
    tokens = _tokens(name)
    joined = "_".join(tokens)
    return any(t in IDENTIFYING_NAMES for t in tokens) or any(
        c in joined for c in IDENTIFYING_COMPOUNDS
    )


def nir_key_valid(text: str) -> bool:
    """The last two digits are 97 − (the first 13 mod 97); 2A/2B count as 19/18."""
    match = re.search(NIR, text)
    if match is None:
        return False
    sex, year, month, dept, commune, order, key = match.groups()[1:8]
    dept = dept.upper().replace("2A", "19").replace("2B", "18")
    number = int(sex + year + month + dept + commune + order)
    return 97 - number % 97 == int(key)


def _first_row(mask: pa.ChunkedArray) -> int | None:
    indices = pc.indices_nonzero(pc.fill_null(mask, False))
    return int(indices[0].as_py()) + 1 if len(indices) else None


def find_identifiers(table: pa.Table, text_columns: list[str] | None = None) -> list[Finding]:
    """Direct identifiers in `table`: by column name, then by the values of text columns.

    Every column is checked by name; values are checked in `text_columns` (default: every
    string column). Vectorised with Arrow's RE2; only candidate NIRs are checked in Python.
    """
    findings = []
    for name in table.column_names:
        if identifying_name(name):
            findings.append(
                Finding(name, None, "nom de colonne désignant un identifiant direct (refusé)")
            )
    if text_columns is None:
        text_columns = [
            f.name
            for f in table.schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
    flagged = {f.column for f in findings}
    for name in text_columns:
        if name in flagged:
            continue
        column = table[name].cast(pa.string())
        row = _first_row(pc.match_substring_regex(column, EMAIL))
        if row is not None:
            findings.append(Finding(name, row, "adresse e-mail (identifiant direct refusé)"))
            continue
        row = _nir_row(column)
        if row is not None:
            findings.append(
                Finding(name, row, "numéro de sécurité sociale (NIR) (identifiant direct refusé)")
            )
            continue
        row = _first_row(pc.match_substring_regex(column, PHONE))
        if row is not None:
            findings.append(Finding(name, row, "numéro de téléphone (identifiant direct refusé)"))
    return findings


def _nir_row(column: pa.ChunkedArray) -> int | None:
    candidates = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(column, NIR), False))
    for index in candidates.to_pylist():
        if nir_key_valid(column[index].as_py()):
            return index + 1
    return None
