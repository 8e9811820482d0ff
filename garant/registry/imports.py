"""Import of an existing inventory from CSV or XLSX: every row checked, then all or nothing.

1. The user drops a file. It is read under the headers of `columns.COLUMNS`, and every row
   goes through `AISystemForm`, exactly as if it had been typed in the web form.
2. The preview lists every error (row as numbered in a spreadsheet, column header, value,
   reason) and stores nothing; or it sums up what will be created, vendors included.
3. The valid file waits under MEDIA_ROOT/imports/<token>, the token in the user's session.
   "Confirmer l'import" reads and checks the file again, then creates the vendors, the
   systems, their services and their audit events in one transaction.
"""

from __future__ import annotations

import copy
import csv
import io
import logging
import re
import secrets
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from openpyxl.utils import get_column_letter

from garant.core import audit, permissions
from garant.core.models import Establishment, Service
from garant.registry.columns import (
    BY_FIELD,
    BY_KEY,
    COLUMNS,
    CellError,
    Column,
    ImportRow,
    cell_text,
    header_key,
)
from garant.registry.forms import AISystemForm, VendorForm
from garant.registry.models import AISystem, Vendor

logger = logging.getLogger(__name__)

MAX_ROWS = 20_000
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 250 * 1024 * 1024  # a zip bomb is refused before openpyxl opens it
SESSION_KEY = "registry_import"
PREVIEW_ROWS = 100
STALE_SECONDS = 24 * 3600
BATCH_SIZE = 500
# The errors of a row are listed in the order of the columns.
COLUMN_ORDER = {c.header: i for i, c in enumerate(COLUMNS, start=1)}
SAMPLE_FILE = Path(settings.PACKAGE_DIR).parent / "docs" / "examples" / "inventaire-exemple.csv"


class FileProblem(Exception):
    """The file as a whole cannot be imported; the messages say why, in French."""

    def __init__(self, *problems: str):
        super().__init__(" ".join(problems))
        self.problems = list(problems)


# --- reading the file -----------------------------------------------------------------------


@dataclass
class SourceRow:
    """One non-empty row: its number as a spreadsheet shows it, its cells under known headers,
    and any value found under a column without header (letter, value)."""

    number: int
    cells: dict[Column, str]
    stray: list[tuple[str, str]]


@dataclass
class Table:
    filename: str
    rows: list[SourceRow]


def read_table(filename: str, content: bytes, columns: list[Column] | None = None) -> Table:
    """The rows of a CSV or XLSX file under the headers of `columns` (default: the
    register's), or `FileProblem`. Other imports (the people app's training records) pass
    their own columns and reuse the reading, the checks of the file and the pending file."""
    if not content.strip():
        raise FileProblem(_("Le fichier est vide."))
    records = _records(filename, content)
    header = next(((n, values) for n, values in records if any(map(cell_text, values))), None)
    if header is None:
        raise FileProblem(_("Le fichier est vide."))
    positions = _match_headers(header[1], columns or COLUMNS)
    rows = []
    for number, values in records:
        texts = [cell_text(v) for v in values]
        if not any(texts):
            continue
        if len(rows) == MAX_ROWS:
            raise FileProblem(
                _("Le fichier compte plus de %(max)s lignes : découpez-le en plusieurs fichiers.")
                % {"max": f"{MAX_ROWS:,}".replace(",", "\u202f")}
            )
        cells = {col: texts[i] if i < len(texts) else "" for i, col in positions.items()}
        stray = [
            (get_column_letter(i + 1), t) for i, t in enumerate(texts) if t and i not in positions
        ]
        rows.append(SourceRow(number, cells, stray))
    if not rows:
        raise FileProblem(
            _("Le fichier ne contient que la ligne d'en-têtes, aucune ligne de données.")
        )
    return Table(filename, rows)


def _match_headers(values, columns: list[Column]) -> dict[int, Column]:
    """{position: column} for the header row; unknown, repeated or missing headers refused."""
    by_key = BY_KEY if columns is COLUMNS else {key: c for c in columns for key in c.keys}
    positions: dict[int, Column] = {}
    letters: dict[Column, str] = {}
    problems = []
    for index, value in enumerate(values):
        text = cell_text(value)
        if not text:
            continue
        letter = get_column_letter(index + 1)
        column = by_key.get(header_key(text))
        if column is None:
            problems.append(
                _("Colonne %(letter)s : en-tête inconnu « %(header)s ».")
                % {"letter": letter, "header": text[:80]}
            )
        elif column in letters:
            problems.append(
                _("La colonne « %(header)s » apparaît deux fois (colonnes %(a)s et %(b)s).")
                % {"header": column.header, "a": letters[column], "b": letter}
            )
        else:
            positions[index] = column
            letters[column] = letter
    missing = [c.header for c in columns if c.required and c not in letters]
    if missing:
        problems.append(
            _("Colonnes obligatoires absentes : %(headers)s.")
            % {"headers": ", ".join(_quoted(h) for h in missing)}
        )
    if problems:
        problems = problems[:20]
        problems.append(
            _("En-têtes attendus (ligne 1) : %(headers)s.")
            % {"headers": ", ".join(_quoted(c.header) for c in columns)}
        )
        raise FileProblem(*problems)
    return positions


def _quoted(header: str) -> str:
    # Translators: a column header quoted in a list of headers
    return _("« %(header)s »") % {"header": header}


def _records(filename: str, content: bytes):
    """An iterator of (row number, cell values) for the file, by its content and extension."""
    extension = Path(filename).suffix.lower()
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_records(content)
    if content.startswith(b"\xd0\xcf\x11\xe0") or extension == ".xls":
        raise FileProblem(
            _(
                "L'ancien format Excel (.xls) n'est pas lu : enregistrez le fichier en .xlsx ou .csv."
            )
        )
    if extension == ".xlsx":
        raise FileProblem(_("Ce n'est pas un classeur XLSX valide."))
    if extension not in ("", ".csv", ".txt"):
        raise FileProblem(_("Seuls les fichiers CSV et XLSX sont acceptés."))
    return _csv_records(content)


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise FileProblem(
        _("Encodage illisible : ce n'est pas un fichier texte CSV en UTF-8 ou Windows-1252.")
    )


def _csv_records(content: bytes):
    text = _decode(content)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # French Excel writes ";", others ","; the header line tells which one the file uses.
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, record in enumerate(reader, start=1):  # noqa: B007 (used after the loop)
            yield number, record
    except csv.Error as exc:
        raise FileProblem(
            _("Ligne %(row)d illisible (guillemet non fermé ou cellule trop longue) : %(error)s")
            % {"row": number + 1, "error": exc}
        ) from exc


def _xlsx_records(content: bytes):
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_XLSX_UNPACKED_BYTES:
            raise FileProblem(_("Le classeur décompressé est trop volumineux."))
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except FileProblem:
        raise
    except Exception as exc:  # openpyxl fails in many ways on a damaged or foreign file
        logger.info("unreadable XLSX: %r", exc)
        raise FileProblem(_("Ce n'est pas un classeur XLSX valide.")) from exc
    try:
        if not workbook.worksheets:
            raise FileProblem(_("Le classeur ne contient aucune feuille."))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some tools write a wrong size: read every cell there is
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    except FileProblem:
        raise
    except Exception as exc:
        logger.info("unreadable XLSX sheet: %r", exc)
        raise FileProblem(_("La première feuille du classeur est illisible.")) from exc
    finally:
        workbook.close()


# --- checking every row ---------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str
    value: str
    reason: str

    def __str__(self):
        return _("Ligne %(row)d, colonne « %(col)s » : %(reason)s") % {
            "row": self.row,
            "col": self.column,
            "reason": self.reason,
        }


class Resolver:
    """Establishments where the user may import, with their vendors and services, by name."""

    def __init__(self, user):
        establishments = Establishment.objects.for_user(user, "import")
        self.establishments = {e.code.casefold(): e for e in establishments}
        self.vendors = {
            (v.establishment_id, v.name.casefold()): v
            for v in Vendor.objects.for_user(user, "import")
        }
        self.services = {
            (s.establishment_id, s.name.casefold()): s
            for s in Service.objects.for_user(user, "import")
        }

    def establishment(self, code: str):
        return self.establishments.get(code.casefold())

    def vendor(self, establishment, name: str):
        return self.vendors.get((establishment.pk, name.casefold()))

    def service(self, establishment, name: str):
        return self.services.get((establishment.pk, name.casefold()))


class ImportRowForm(AISystemForm):
    """`AISystemForm` for one row of a file, as `RowForms` prepares it."""

    def _get_validation_exclusions(self):
        # The form's choice fields have already fetched the establishment and the vendor from
        # the user's scoped querysets; the model's second existence query for each is skipped.
        return super()._get_validation_exclusions() | {"establishment", "vendor"}


def _remember(form_field) -> None:
    """Make a model choice field clean each distinct value once, then answer from memory."""
    known = {}
    clean = form_field.clean

    def remembered(value):
        key = tuple(value) if isinstance(value, list | tuple) else value
        if key not in known:
            known[key] = clean(value)
        return known[key]

    form_field.clean = remembered


class RowForms:
    """The forms of the rows of one file: each row validated by its own `AISystemForm`.

    Setting up an AISystemForm (copying its fields, querying the user's establishments) and
    looking up the same establishment, vendor and services again for every row cost far more
    than the rest of the import on a file of thousands of rows. So one form is set up, each row
    gets a shallow copy of it with its own data and its own new instance; the related objects
    are fetched once per distinct value and the taxonomy choices listed once, for the duration
    of the import. What is checked does not change: same fields, same querysets, same
    `clean()`, same model checks.
    """

    def __init__(self, user):
        self.prototype = ImportRowForm(user=user)
        for form_field in self.prototype.fields.values():
            if isinstance(form_field, forms.ModelChoiceField):
                _remember(form_field)
            elif isinstance(form_field, forms.ChoiceField):
                form_field.choices = list(form_field.choices)  # read from the referential once

    def bind(self, data: dict) -> ImportRowForm:
        form = copy.copy(self.prototype)
        form.data, form.files, form.is_bound = data, MultiValueDict(), True
        form._errors, form._bound_fields_cache = None, {}
        form.initial = dict(self.prototype.initial)
        form.instance = AISystem()
        return form


@dataclass
class PlannedSystem:
    row: int
    form: ImportRowForm
    new_vendor: tuple[int, str] | None  # key of `Preview.new_vendors`


@dataclass
class Preview:
    filename: str
    systems: list[PlannedSystem] = field(default_factory=list)
    new_vendors: dict[tuple[int, str], VendorForm] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    def per_establishment(self) -> list[tuple[Establishment, int]]:
        counts = Counter(p.form.cleaned_data["establishment"] for p in self.systems)
        return sorted(counts.items(), key=lambda item: item[0].name)

    def vendors_to_create(self) -> list[tuple[Establishment, str]]:
        return sorted(
            (
                (f.cleaned_data["establishment"], f.cleaned_data["name"])
                for f in self.new_vendors.values()
            ),
            key=lambda item: (item[0].name, item[1].casefold()),
        )

    def possible_duplicates(self) -> list[dict]:
        """Rows whose name is already in the establishment's register or earlier in the file.

        A warning, not an error: two systems may share a name, but an inventory imported
        twice (or an export imported back) is the usual cause, and the import only creates.
        """
        planned = [(p.row, p.form.cleaned_data) for p in self.systems]
        establishments = {data["establishment"] for _row, data in planned}
        existing = {
            (est_id, name.casefold())
            for est_id, name in AISystem.objects.within(
                establishment__in=list(establishments)
            ).values_list("establishment_id", "name")
        }
        seen: dict[tuple[int, str], int] = {}
        duplicates = []
        for row, data in planned:
            key = (data["establishment"].pk, data["name"].casefold())
            if key in existing or key in seen:
                duplicates.append(
                    {
                        "row": row,
                        "name": data["name"],
                        "establishment": data["establishment"],
                        "first_row": seen.get(key),
                    }
                )
            seen.setdefault(key, row)
        return duplicates

    def sample(self) -> list[dict]:
        """The first systems as the preview table shows them."""
        rows = []
        for planned in self.systems[:PREVIEW_ROWS]:
            data = planned.form.cleaned_data
            new_vendor = planned.new_vendor and self.new_vendors[planned.new_vendor]
            rows.append(
                {
                    "row": planned.row,
                    "name": data["name"],
                    "establishment": data["establishment"],
                    "vendor": new_vendor.cleaned_data["name"] if new_vendor else data["vendor"],
                    "new_vendor": bool(new_vendor),
                    "solution_type": data["solution_type"],
                    "domain": data["domain"],
                    "phase": data["phase"],
                    "services": ", ".join(s.name for s in data["services"]),
                }
            )
        return rows


def check(table: Table, user, default_establishment=None) -> Preview:
    """Validate every row of `table` through `AISystemForm`; nothing is written."""
    resolver, row_forms = Resolver(user), RowForms(user)
    preview = Preview(table.filename)
    for source in table.rows:
        _check_row(preview, source, resolver, row_forms, user, default_establishment)
    return preview


def parse_cells(source: SourceRow, columns: list[Column], row) -> tuple[dict, list[RowError]]:
    """The form data of one row ({field: value}) and the errors of its cells, in column
    order, values found under columns without header included."""
    data, errors = {}, []
    for column in columns:
        text = source.cells.get(column, "")
        try:
            data[column.field] = column.parse(text, row)
        except CellError as exc:
            errors.append(RowError(source.number, column.header, text, str(exc)))
    for letter, text in source.stray:
        errors.append(
            RowError(
                source.number,
                _("colonne %(letter)s (sans en-tête)") % {"letter": letter},
                text,
                _("valeur sous une colonne sans en-tête"),
            )
        )
    return data, errors


def _check_row(preview, source: SourceRow, resolver, row_forms, user, default_establishment):
    row = ImportRow(resolver=resolver, establishment=default_establishment)
    data, errors = parse_cells(source, COLUMNS, row)

    form = row_forms.bind(data)
    if not form.is_valid():
        already = {e.column for e in errors}  # a cell that could not be read is reported once
        for name, reasons in form.errors.items():
            column = BY_FIELD.get(name)
            header = column.header if column else _("(ligne entière)")
            if header not in already:
                text = source.cells.get(column, "") if column else ""
                errors.extend(RowError(source.number, header, text, r) for r in reasons)

    vendor_key = None
    if row.new_vendor and row.establishment is not None:
        vendor_key = (row.establishment.pk, row.new_vendor.casefold())
        vendor_form = preview.new_vendors.get(vendor_key)
        if vendor_form is None:
            vendor_form = VendorForm(
                data={"establishment": row.establishment.pk, "name": row.new_vendor}, user=user
            )
            vendor_form.is_valid()
            preview.new_vendors[vendor_key] = vendor_form
        header = BY_FIELD["vendor"].header
        for reasons in vendor_form.errors.values():
            errors.extend(RowError(source.number, header, row.new_vendor, r) for r in reasons)

    if errors:
        preview.errors.extend(
            sorted(errors, key=lambda e: COLUMN_ORDER.get(e.column, len(COLUMNS) + 1))
        )
    else:
        preview.systems.append(PlannedSystem(source.number, form, vendor_key))


# --- creating everything --------------------------------------------------------------------


def _creation_changes(obj) -> dict:
    return {k: [None, v] for k, v in obj.audit_snapshot().items() if v not in (None, "", [])}


def create(preview: Preview) -> tuple[int, int]:
    """Create the vendors and systems of a valid preview with their audit events.

    Bulk inserts bypass the model signals, so the audit events are appended here, one per
    object, as the signals would have (services included in the system's creation event).
    Call inside `transaction.atomic()` and `audit_context(...)`. Returns (systems, vendors).
    """
    if not preview.ok:
        raise ValueError("only a preview without errors can be imported")
    vendors = {key: form.save(commit=False) for key, form in preview.new_vendors.items()}
    Vendor.objects.bulk_create(vendors.values(), batch_size=BATCH_SIZE)

    systems = []
    for planned in preview.systems:
        system = planned.form.save(commit=False)
        if planned.new_vendor:
            system.vendor = vendors[planned.new_vendor]
        systems.append(system)
    AISystem.objects.bulk_create(systems, batch_size=BATCH_SIZE)

    link = AISystem.services.through
    links = []
    events = [audit.pending_for(v, "create", _creation_changes(v)) for v in vendors.values()]
    for system, planned in zip(systems, preview.systems, strict=True):
        service_ids = sorted(s.pk for s in planned.form.cleaned_data["services"])
        links.extend(link(aisystem_id=system.pk, service_id=pk) for pk in service_ids)
        changes = _creation_changes(system)
        if service_ids:
            changes["services"] = [None, service_ids]
        events.append(audit.pending_for(system, "create", changes))
    link.objects.bulk_create(links, batch_size=BATCH_SIZE)
    audit.append(events)
    return len(systems), len(vendors)


# --- the pending file -----------------------------------------------------------------------


def _imports_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pending_path(token: str) -> Path | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token or ""):
        return None
    return _imports_dir() / token


def _keep(
    request, content: bytes, filename: str, default_establishment, session_key=SESSION_KEY
) -> str:
    """Store the checked file until confirmation; returns its token (kept in the session)."""
    _discard(request, session_key)
    folder = _imports_dir()
    now = time.time()
    for old in folder.iterdir():  # previews abandoned for a day
        if old.is_file() and now - old.stat().st_mtime > STALE_SECONDS:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / token).write_bytes(content)
    request.session[session_key] = {
        "token": token,
        "user": request.user.pk,
        "filename": filename,
        "establishment": default_establishment.pk if default_establishment else None,
    }
    return token


def _discard(request, session_key=SESSION_KEY) -> None:
    pending = request.session.pop(session_key, None)
    if pending and (path := _pending_path(pending.get("token", ""))):
        path.unlink(missing_ok=True)


# --- views ----------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Fichier CSV ou XLSX"),
        allow_empty_file=True,  # an empty file gets the import's own message, naming it
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )
    establishment = forms.ModelChoiceField(
        queryset=Establishment.objects.none(),
        required=False,
        label=gettext_lazy("Établissement par défaut"),
        empty_label=gettext_lazy("aucun : la colonne « Établissement (code) » est remplie"),
        help_text=gettext_lazy(
            "Pour les lignes dont la colonne « Établissement (code) » est vide."
        ),
    )

    def __init__(self, *args, user, permission: str = "import", **kwargs):
        super().__init__(*args, **kwargs)
        establishments = list(Establishment.objects.for_user(user, permission))
        self.only_establishment = establishments[0] if len(establishments) == 1 else None
        if self.only_establishment:
            del self.fields["establishment"]
        else:
            self.fields["establishment"].queryset = Establishment.objects.for_user(
                user, permission
            ).filter(pk__in=[e.pk for e in establishments])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("Le fichier « %(file)s » dépasse %(max)d Mo.")
                % {"file": upload.name, "max": MAX_FILE_BYTES // (1024 * 1024)}
            )
        return upload

    @property
    def default_establishment(self):
        return self.only_establishment or self.cleaned_data.get("establishment")


def _render(request, form, **context):
    context.update(form=form, columns=COLUMNS, preview_rows=PREVIEW_ROWS)
    return render(request, "registry/import.html", context)


def pending_file(request, session_key=SESSION_KEY) -> tuple[dict, Path] | None:
    """The file checked by this user's preview whose token the confirmation sends, if any."""
    pending = request.session.get(session_key) or {}
    token = request.POST.get("token", "")
    path = _pending_path(token)
    if (
        pending.get("token") != token
        or pending.get("user") != request.user.pk
        or not (path and path.exists())
    ):
        return None
    return pending, path


@dataclass(frozen=True)
class Flow:
    """What differs between two imports that share this machinery: the register's systems
    here, the people app's training records (`garant.people.imports`)."""

    session_key: str
    permission: str
    columns: list[Column]
    check: Callable  # (table, user, default establishment) -> preview
    create: Callable  # (valid preview) -> {what: count}, inside the transaction
    event: str  # the summary audit event's object type
    title: Callable[[str], str]  # file name -> the summary event's French title
    render: Callable  # (request, form, **context) -> the import page
    retry_url: str  # where an expired preview or a concurrent change sends the user


def confirm(request, flow: Flow):
    """Check the pending file again and, if still valid, create everything in one
    transaction with a summary audit event. Returns (file name, counts) once done, or the
    response to give instead (the preview expired, became invalid, or the data changed)."""
    found = pending_file(request, flow.session_key)
    if found is None:
        messages.error(request, _("Cet aperçu n'est plus valable : déposez à nouveau le fichier."))
        return redirect(flow.retry_url)
    pending, path = found
    filename = pending["filename"]
    default = None
    if pending["establishment"]:
        allowed = Establishment.objects.for_user(request.user, flow.permission)
        default = allowed.filter(pk=pending["establishment"]).first()
    form = UploadForm(user=request.user, permission=flow.permission)
    try:
        # Checked again: the records or the user's roles may have changed since the preview.
        table = read_table(filename, path.read_bytes(), flow.columns)
        preview = flow.check(table, request.user, default)
        if not preview.ok:
            return flow.render(request, form, filename=filename, preview=preview, changed=True)
        establishments = [est for est, _count in preview.per_establishment()]
        with audit.audit_context(user=request.user, source="import"), transaction.atomic():
            counts = flow.create(preview)
            audit.record_event(
                flow.event,
                flow.title(filename),
                {
                    "file": [None, filename],
                    **{key: [None, n] for key, n in counts.items()},
                    "establishments": [None, [est.code for est in establishments]],
                },
                establishment_id=establishments[0].pk if len(establishments) == 1 else None,
            )
    except FileProblem as problem:
        return flow.render(request, form, filename=filename, problem=problem)
    except IntegrityError:
        logger.warning("import of %s failed on a concurrent change", filename, exc_info=True)
        messages.error(
            request,
            _("Le registre a changé pendant l'import ; rien n'a été importé. Réessayez."),
        )
        return redirect(flow.retry_url)
    finally:
        _discard(request, flow.session_key)
    return filename, counts


def _create_counts(preview: Preview) -> dict[str, int]:
    n_systems, n_vendors = create(preview)
    return {"systems": n_systems, "vendors": n_vendors}


FLOW = Flow(
    session_key=SESSION_KEY,
    permission="import",
    columns=COLUMNS,
    check=check,
    create=_create_counts,
    event="registry.import",
    title=lambda filename: _("Import de « %(file)s »") % {"file": filename},
    render=_render,
    retry_url="registry:system_import",
)


def _confirm(request):
    done = confirm(request, FLOW)
    if not isinstance(done, tuple):
        return done
    filename, counts = done
    messages.success(
        request,
        ngettext(
            "%(n)d système importé depuis « %(file)s ».",
            "%(n)d systèmes importés depuis « %(file)s ».",
            counts["systems"],
        )
        % {"n": counts["systems"], "file": filename},
    )
    return redirect("registry:system_list")


def upload(request, flow: Flow):
    """The import page: the upload form, or the preview of the file sent (every error, or
    what will be created and the token that confirms it)."""
    form = UploadForm(
        request.POST or None, request.FILES or None, user=request.user, permission=flow.permission
    )
    if request.method != "POST" or not form.is_valid():
        return flow.render(request, form)
    upload = form.cleaned_data["file"]
    filename = Path(upload.name).name[:150]
    content = upload.read()
    try:
        table = read_table(filename, content, flow.columns)
        preview = flow.check(table, request.user, form.default_establishment)
    except FileProblem as problem:
        return flow.render(request, form, filename=filename, problem=problem)
    token = None
    if preview.ok:
        token = _keep(request, content, filename, form.default_establishment, flow.session_key)
    return flow.render(request, form, filename=filename, preview=preview, token=token)


@login_required
def import_systems(request):
    if not permissions.can(request.user, "import"):
        raise PermissionDenied(_("Votre rôle ne permet pas d'importer dans la cartographie."))
    if request.method == "POST" and "token" in request.POST:
        return _confirm(request)
    return upload(request, FLOW)


@login_required
def import_template(request):
    """The sample file, to start an inventory from."""
    if not SAMPLE_FILE.exists():
        raise Http404
    return FileResponse(
        SAMPLE_FILE.open("rb"),
        as_attachment=True,
        filename=SAMPLE_FILE.name,
        content_type="text/csv; charset=utf-8",
    )
