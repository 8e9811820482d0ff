"""Direct identifiers that a prediction feed must never carry (GUIDE §5).

A batch is refused when a column *name* says it holds a direct identifier (nom, e-mail, NIR,
téléphone, RPPS, ADELI…) or when a *value* of a text column looks like an e-mail address, a
French social security number (NIR, with its key checked) or a French phone number. The
error names the column and the first row, never the value itself.

Columns that describe a professional or hold free text (feedback events of the clinical
software, `garant.oversight`) are also searched for a health professional's number
(`find_professional_numbers`): RPPS (11 digits) or ADELI (9 digits), as a whole word.
Identifier columns (prediction, event ids) are not: an 11-digit id is common.
"""

from __future__ import annotations

import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

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
        # health professionals' national numbers
        "rpps",
        "adeli",
    }
)
# names that are identifying only as a whole ("first_name" → tokens first + name)
IDENTIFYING_COMPOUNDS = ("first_name", "last_name", "nom_naissance", "date_naissance")

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# The one NIR rule of every ingestion path (files, JSON records, FHIR references and
# identifiers): sex (1, 2; 3, 4 temporary; 7, 8 foreigners), year, month (01-12, or 20-99
# when unknown), department (2A/2B for Corsica), commune, order, key; one space, dot or
# dash allowed between the parts. `nir_key_valid` then checks the key.
NIR = (
    r"(^|[^0-9A-Za-z])([1-478])[ .-]?([0-9]{2})[ .-]?(0[1-9]|1[0-2]|[2-9][0-9])[ .-]?"
    r"([0-9]{2}|2[ABab])[ .-]?([0-9]{3})[ .-]?([0-9]{3})[ .-]?([0-9]{2})($|[^0-9])"
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


def _textual(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


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
        text_columns = [f.name for f in table.schema if _textual(f.type)]
    flagged = {f.column for f in findings}
    names = [name for name in text_columns if name not in flagged]
    with ThreadPoolExecutor(max_workers=2) as pool:  # Arrow's kernels release the GIL
        found = pool.map(lambda name: _value_finding(name, table[name]), names)
        findings.extend(f for f in found if f is not None)
    return findings


ANY = f"({EMAIL})|({NIR})|({PHONE})"
"""One pass finds rows that may hold any of the three; the rare columns it flags are then
searched pattern by pattern."""
DISTINCT_SAMPLE = 10_000


def _distinct_values(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array] | None:
    """(distinct values, row codes) when the column repeats its values (sites, services,
    patients): the patterns then run on the distinct values only."""
    if pa.types.is_dictionary(column.type):
        column = column.unify_dictionaries()
        dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
        codes = pa.chunked_array([c.indices for c in column.chunks], column.type.index_type)
        return dictionary.cast(pa.string()), codes
    sample = column.slice(0, DISTINCT_SAMPLE)
    if len(sample) < DISTINCT_SAMPLE or pc.count_distinct(sample).as_py() * 2 > len(sample):
        return None
    encoded = pc.dictionary_encode(column.cast(pa.string())).unify_dictionaries()
    dictionary = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], pa.string())
    return dictionary, pa.chunked_array([c.indices for c in encoded.chunks], pa.int32())


def _value_finding(name: str, column: pa.ChunkedArray) -> Finding | None:
    distinct = _distinct_values(column)
    values = column.cast(pa.string()) if distinct is None else pa.chunked_array([distinct[0]])
    if not pc.any(pc.match_substring_regex(values, ANY)).as_py():
        return None

    def first_row(mask) -> int | None:
        """1-based first data row whose value is flagged by ``mask`` (over ``values``)."""
        if distinct is None:
            return _first_row(mask)
        flagged = pc.indices_nonzero(pc.fill_null(mask, False))
        return (
            _first_row(pc.is_in(distinct[1], flagged.cast(distinct[1].type)))
            if len(flagged)
            else None
        )

    checks = (
        (pc.match_substring_regex(values, EMAIL), "adresse e-mail (identifiant direct refusé)"),
        (_nir_mask(values), "numéro de sécurité sociale (NIR) (identifiant direct refusé)"),
        (
            pc.match_substring_regex(values, PHONE),
            "numéro de téléphone (identifiant direct refusé)",
        ),
    )
    for mask, reason in checks:
        row = first_row(mask)
        if row is not None:
            return Finding(name, row, reason)
    return None


def _nir_mask(values: pa.ChunkedArray) -> pa.Array:
    """Values holding a NIR whose key is right (the key is checked in Python, candidates only)."""
    candidates = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(values, NIR), False))
    mask = np.zeros(len(values), dtype=bool)
    for index in candidates.to_pylist():
        mask[index] = nir_key_valid(values[index].as_py())
    return pa.array(mask)


# a health professional's number written as a word: RPPS (11 digits) or ADELI (9 digits)
PROFESSIONAL = r"(^|[^0-9])([0-9]{11}|[0-9]{9})($|[^0-9])"


def find_professional_numbers(table: pa.Table, columns: list[str]) -> list[Finding]:
    """An RPPS or ADELI number in one of `columns` (text): the column and its first row."""
    findings = []
    for name in columns:
        if name not in table.column_names or not _textual(table[name].type):
            continue
        column = table[name]
        if pa.types.is_dictionary(column.type):  # each value of the dictionary once
            found = pa.chunked_array(
                [
                    pc.take(
                        pc.match_substring_regex(c.dictionary.cast(pa.string()), PROFESSIONAL),
                        c.indices,
                    )
                    for c in column.chunks
                ],
                pa.bool_(),
            )
        else:
            found = pc.match_substring_regex(column, PROFESSIONAL)
        row = _first_row(found)
        if row is not None:
            findings.append(
                Finding(
                    name,
                    row,
                    "numéro RPPS ou ADELI d'un professionnel (identifiant direct refusé)",
                )
            )
    return findings


# --- free text (adverse events, rights requests): the same rule, with the field's label -----


def identifiers_in(text: str) -> list[str]:
    """What kinds of direct identifier `text` holds (translated labels, in a fixed order)."""
    found = []
    if any(nir_key_valid(m.group(0)) for m in re.finditer(NIR, text or "")):
        found.append(_("un numéro NIR / INS"))
    if re.search(EMAIL, text or ""):
        found.append(_("une adresse e-mail"))
    if re.search(PHONE, text or ""):
        found.append(_("un numéro de téléphone"))
    return found


def refuse_identifiers(cleaned: dict, labels: dict[str, str]) -> dict[str, str]:
    """{field: message} for each field of `cleaned` (among `labels`) holding an identifier."""
    errors = {}
    for name, label in labels.items():
        if kinds := identifiers_in(str(cleaned.get(name) or "")):
            errors[name] = _(
                "« %(field)s » semble contenir %(kinds)s : aucune donnée identifiant le patient "
                "(référence locale seulement)."
            ) % {"field": label, "kinds": ", ".join(kinds)}
    return errors
