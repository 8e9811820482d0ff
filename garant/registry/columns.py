"""The columns of the register's spreadsheet files: one definition shared by import and export.

Each `Column` names one field of `AISystemForm` and knows its French header, how a cell is
read into form data (import, `parse`) and how a system's value is written (export: `to_text`
for CSV, `to_cell` for XLSX, `to_json` for JSON). `COLUMNS` lists them in file order.

The headers are part of the file format: they stay French whatever the interface language, so
a file exported by one user imports for any other. On import they are matched leniently
(case, accents, spacing, and the part in brackets may differ: "type de solution" is accepted
for "Type de solution (S1–S6)").

Conventions of the files: several values in one cell are separated by "|"; booleans are
oui/non; dates are dd/mm/yyyy (ISO yyyy-mm-dd accepted); taxonomy values are written as codes
(S1, health…) and read as codes or labels (French or English, in any case). Cells that a
spreadsheet would run as a formula are written with a leading single quote by the shared
writers of `garant.core.documents`; the import removes it again.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.documents import FORMULA_STARTS
from garant.core.referentials import localized, vocabulary
from garant.formats import DATE_INPUT_FORMATS
from garant.registry.models import AISystem

LIST_SEPARATOR = "|"
TRUE_WORDS = frozenset({"oui", "o", "vrai", "true", "yes", "y", "1", "x"})
FALSE_WORDS = frozenset({"non", "n", "faux", "false", "no", "0"})
MAX_TEXT_LENGTH = 10_000
# the forms' formats, and the date-times a spreadsheet may hold in a date column
DATE_FORMATS = (*DATE_INPUT_FORMATS, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


class CellError(ValueError):
    """A cell that cannot be read; its message is the French reason shown to the user."""


def cell_text(value) -> str:
    """Any cell (CSV text or typed XLSX value) as stripped text, the export's quote removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        text = text[1:]
    return text


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


def header_key(header: str) -> str:
    """A header reduced to what matters: no accents, case, extra spaces or dash variants."""
    text = unicodedata.normalize("NFKD", header)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("–", "-").replace("—", "-").replace("’", "'")
    return " ".join(text.casefold().split())


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class ImportRow:
    """What a row has resolved so far, for the columns that depend on other columns.

    `resolver` finds establishments, vendors and services by name (see `imports.Resolver`).
    """

    resolver: object
    establishment: object | None
    new_vendor: str | None = None


class Column:
    """A text column; the subclasses below change how values are read and written."""

    def __init__(self, header: str, field: str, *, required: bool = False, help_text=""):
        self.header = header
        self.field = field
        self.required = required
        self.help_text = help_text

    def __repr__(self):
        return f"<{type(self).__name__} {self.header!r}>"

    @property
    def keys(self) -> set[str]:
        """Header spellings accepted on import: the full header and the one without brackets."""
        return {header_key(self.header), header_key(re.sub(r"\s*\(.*\)\s*$", "", self.header))}

    @property
    def model_field(self):
        return AISystem._meta.get_field(self.field)

    # import: cell text -> value of the form data
    def parse(self, text: str, row: ImportRow):
        if len(text) > MAX_TEXT_LENGTH:
            raise CellError(
                _("texte trop long (%(n)d caractères, au plus %(max)d)")
                % {"n": len(text), "max": MAX_TEXT_LENGTH}
            )
        return text

    # export: system -> value, then value -> CSV text, XLSX cell, JSON
    def value(self, system):
        return getattr(system, self.field)

    def to_text(self, value) -> str:
        return value or ""

    def to_cell(self, value):
        return self.to_text(value)

    def to_json(self, value):
        return value


class IntegerColumn(Column):
    def parse(self, text, row):
        # "1 200" as typed in French; the form says whether what is left is a whole number.
        return re.sub(r"[\s\u00a0\u202f]", "", text)

    def to_text(self, value):
        return "" if value is None else str(value)

    def to_cell(self, value):
        return value


class BooleanColumn(Column):
    def parse(self, text, row):
        word = text.casefold()
        if not word:
            return ""
        if word in TRUE_WORDS:
            return "true"
        if word in FALSE_WORDS:
            return "false"
        raise CellError(_("répondre « oui » ou « non »"))

    def to_text(self, value):
        return "" if value is None else ("oui" if value else "non")


class DateColumn(Column):
    def parse(self, text, row):
        if not text:
            return None
        for fmt in DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise CellError(_("date invalide : attendu jj/mm/aaaa (ou aaaa-mm-jj)"))

    def to_text(self, value):
        return value.strftime("%d/%m/%Y") if value else ""

    def to_cell(self, value):
        return value

    def to_json(self, value):
        return value.isoformat() if value else None


def _codes_help(name: str) -> str:
    vocab = vocabulary(name)
    return ", ".join(f"{code} ({localized(item)})" for code, item in vocab.items.items())


class CodeColumn(Column):
    """One code of a taxonomy vocabulary; empty means the model's default, if it has one."""

    def __init__(self, header, field, vocabulary_name, **kwargs):
        kwargs.setdefault("help_text", lazy(_codes_help, str)(vocabulary_name))
        super().__init__(header, field, **kwargs)
        self.vocabulary = vocabulary_name

    def code_of(self, text: str) -> str | None:
        """The code for a code or a French or English label, whatever the case."""
        items = vocabulary(self.vocabulary).items
        if text in items:
            return text
        wanted = text.casefold()
        for code, item in items.items():
            if wanted in (code.casefold(), item["fr"].casefold(), item.get("en", "").casefold()):
                return code
        return None

    def unknown(self, values: list[str]) -> CellError:
        return CellError(
            _("valeur inconnue « %(values)s » ; valeurs possibles : %(codes)s")
            % {
                "values": _shorten(", ".join(values)),
                "codes": ", ".join(vocabulary(self.vocabulary).items),
            }
        )

    def parse(self, text, row):
        if not text:
            default = self.model_field.default
            return default if isinstance(default, str) else ""
        code = self.code_of(text)
        if code is None:
            raise self.unknown([text])
        return code

    def label(self, code: str) -> str:
        item = vocabulary(self.vocabulary).items.get(code)
        return item["fr"] if item else code

    def to_json(self, value):
        return {"code": value, "label": self.label(value)} if value else None


class CodeSetColumn(CodeColumn):
    """Several codes of a vocabulary separated by "|"."""

    def parse(self, text, row):
        values = split_list(text)
        codes = [self.code_of(v) for v in values]
        if unknown := [v for v, code in zip(values, codes, strict=True) if code is None]:
            raise self.unknown(unknown)
        return codes

    def to_text(self, value):
        return LIST_SEPARATOR.join(value)

    def to_json(self, value):
        return [{"code": code, "label": self.label(code)} for code in value]


class EstablishmentColumn(Column):
    """The establishment's code; empty means the establishment chosen as default."""

    def parse(self, text, row):
        if text:
            row.establishment = row.resolver.establishment(text)
            if row.establishment is None:
                raise CellError(
                    _("établissement inconnu, ou vous n'avez pas le droit d'y importer")
                )
        return row.establishment.pk if row.establishment else ""

    def to_text(self, value):
        return value.code

    def to_json(self, value):
        return {"code": value.code, "name": value.name}


class VendorColumn(Column):
    """The vendor's name in the row's establishment; an unknown one is created on import."""

    def parse(self, text, row):
        text = super().parse(text, row)
        if not text or row.establishment is None:
            return ""
        vendor = row.resolver.vendor(row.establishment, text)
        if vendor is None:
            row.new_vendor = text
            return ""
        return vendor.pk

    def to_text(self, value):
        return value.name if value else ""

    def to_json(self, value):
        return value.name if value else None


class ServicesColumn(Column):
    """Names of existing services of the row's establishment, separated by "|"."""

    def parse(self, text, row):
        names = split_list(text)
        if not names or row.establishment is None:
            return []
        services = [row.resolver.service(row.establishment, name) for name in names]
        if unknown := [n for n, s in zip(names, services, strict=True) if s is None]:
            raise CellError(
                _("service inconnu dans l'établissement « %(est)s » : %(names)s")
                % {"est": row.establishment.code, "names": _shorten(", ".join(unknown))}
            )
        return [s.pk for s in services]

    def value(self, system):
        return [s.name for s in system.services.all()]

    def to_text(self, value):
        return LIST_SEPARATOR.join(value)


# In file order. The establishment comes first: the vendor and services are looked up in it.
COLUMNS: list[Column] = [
    EstablishmentColumn(
        "Établissement (code)",
        "establishment",
        help_text=gettext_lazy(
            "code de l'établissement ; vide : l'établissement choisi par défaut"
        ),
    ),
    Column("Nom", "name", required=True),
    VendorColumn(
        "Éditeur",
        "vendor",
        help_text=gettext_lazy(
            "nom de l'éditeur ; créé s'il n'existe pas ; vide : développement interne"
        ),
    ),
    Column("Produit", "product"),
    Column("Finalité prévue", "intended_purpose", required=True),
    Column("Cas d'usage", "use_case"),
    ServicesColumn(
        "Services",
        "services",
        help_text=gettext_lazy("noms de services existants de l'établissement, séparés par |"),
    ),
    Column("Référent médical", "medical_referent"),
    Column("Référent technique", "technical_referent"),
    CodeColumn("Type de solution (S1–S6)", "solution_type", "solution_type", required=True),
    CodeColumn("Domaine (D1–D3)", "domain", "domain", required=True),
    CodeColumn("Modalité (M1–M2)", "modality", "modality", required=True),
    CodeColumn("Phase", "phase", "phase"),
    CodeColumn("Hébergement", "hosting", "hosting"),
    BooleanColumn(
        "Hébergeur certifié HDS", "hds_certified", help_text=gettext_lazy("oui, non ou vide")
    ),
    CodeSetColumn("Catégories de données", "data_categories", "data_category"),
    CodeSetColumn("Sources de données", "data_sources", "data_source"),
    Column("Autre source (préciser)", "data_sources_other"),
    Column("Point d'intégration dans le parcours", "workflow_integration"),
    CodeColumn("Statut dispositif médical", "device_status", "device_status"),
    Column("N° de certificat CE", "ce_certificate"),
    Column("Organisme notifié", "notified_body"),
    DateColumn("Expiration du certificat CE", "ce_expiry", help_text=gettext_lazy("jj/mm/aaaa")),
    BooleanColumn(
        "Repose sur un modèle d'IA à usage général",
        "gpai_based",
        help_text=gettext_lazy("oui ou non"),
    ),
    Column("Modèle d'IA à usage général", "gpai_model"),
    IntegerColumn("Nombre d'utilisateurs", "users_count"),
    IntegerColumn("Patients concernés par an", "patients_per_year"),
    DateColumn("Date de mise en service", "go_live", help_text=gettext_lazy("jj/mm/aaaa")),
]

BY_FIELD: dict[str, Column] = {c.field: c for c in COLUMNS}
BY_KEY: dict[str, Column] = {key: c for c in COLUMNS for key in c.keys}
HEADERS: list[str] = [c.header for c in COLUMNS]
