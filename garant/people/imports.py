"""Bulk import of training records from the hospital's learning-management or HR export.

The register's import machinery is reused as is (`garant.registry.imports`): the file is read
by `read_table` under this module's columns, every row is checked and the preview lists every
error (row, column, value, reason) and stores nothing; a valid file waits as a pending file
until « Confirmer l'import », which checks it again and creates everything in one
transaction, each record audited, with one summary event.

One row is one training completed by one person. The person is found in the establishment's
register by RPPS/ADELI number, else by internal identifier, else by last and first name; a
person not found is created from the row (profession required then).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from garant.core import permissions
from garant.core.models import Establishment, Service
from garant.people.forms import PersonForm
from garant.people.models import Person, TrainingModule, TrainingRecord
from garant.people.referential import codes
from garant.registry import imports as machinery
from garant.registry.columns import CellError, Column, DateColumn, EstablishmentColumn, ImportRow
from garant.registry.imports import RowError

SESSION_KEY = "people_import"
PERSON_FIELDS = ("last_name", "first_name", "profession", "service", "rpps", "staff_id")
PERMISSION = "manage_people"


class ProfessionColumn(Column):
    def parse(self, text, row):
        if not text:
            return ""
        wanted = text.casefold()
        for code, item in codes().professions.items():
            if wanted in (code, item["fr"].casefold(), item["en"].casefold()):
                return code
        raise CellError(
            _("profession inconnue ; valeurs possibles : %(codes)s")
            % {"codes": ", ".join(codes().professions)}
        )


class NamedColumn(Column):
    """A service or a module of the row's establishment, by name or code."""

    def __init__(self, header, field, kind, **kwargs):
        super().__init__(header, field, **kwargs)
        self.kind = kind

    def parse(self, text, row):
        if not text or row.establishment is None:
            return None
        found = row.resolver.find(self.kind, row.establishment, text)
        if found is None:
            raise CellError(
                _("inconnu dans l'établissement « %(est)s »") % {"est": row.establishment.code}
            )
        return found


COLUMNS: list[Column] = [
    EstablishmentColumn(
        "Établissement (code)",
        "establishment",
        help_text=gettext_lazy("code de l'établissement ; vide : l'établissement par défaut"),
    ),
    Column("Nom", "last_name", required=True),
    Column("Prénom", "first_name", required=True),
    ProfessionColumn(
        "Profession",
        "profession",
        help_text=gettext_lazy("code ou libellé ; obligatoire pour une personne nouvelle"),
    ),
    NamedColumn("Service", "service", "service", help_text=gettext_lazy("nom du service")),
    Column("RPPS/ADELI", "rpps", help_text=gettext_lazy("11 chiffres (RPPS) ou ADELI")),
    Column("Identifiant interne", "staff_id", help_text=gettext_lazy("matricule, annuaire")),
    NamedColumn(
        "Module (code)",
        "module",
        "module",
        required=True,
        help_text=gettext_lazy("code du module au catalogue de l'établissement"),
    ),
    DateColumn(
        "Date de réalisation", "completed_on", required=True, help_text=gettext_lazy("jj/mm/aaaa")
    ),
]
BY_FIELD = {c.field: c for c in COLUMNS}
HEADER = {c.field: c.header for c in COLUMNS}
ORDER = {c.header: i for i, c in enumerate(COLUMNS)}  # a row's errors in column order


class Resolver:
    """Establishments where the user keeps the register, their services, modules, people."""

    def __init__(self, user):
        self.user = user
        establishments = list(Establishment.objects.for_user(user, PERMISSION))
        self.establishments = {e.code.casefold(): e for e in establishments}
        self.named = {
            "service": {
                (s.establishment_id, s.name.casefold()): s
                for s in Service.objects.restrict(user, PERMISSION)
            },
            "module": {
                (m.establishment_id, m.code.casefold()): m
                for m in TrainingModule.objects.restrict(user, PERMISSION)
            },
        }
        self.people: dict[tuple, Person] = {}
        for person in Person.objects.restrict(user, PERMISSION):
            for key in _person_keys(person.establishment_id, person.__dict__):
                self.people.setdefault(key, person)

    def establishment(self, code: str):
        return self.establishments.get(code.casefold())

    def find(self, kind: str, establishment, text: str):
        return self.named[kind].get((establishment.pk, text.casefold()))


def _person_keys(establishment_id: int, data: dict) -> list[tuple]:
    keys = []
    if data.get("rpps"):
        keys.append((establishment_id, "rpps", data["rpps"]))
    if data.get("staff_id"):
        keys.append((establishment_id, "staff_id", data["staff_id"].casefold()))
    name = (data.get("last_name", "").casefold(), data.get("first_name", "").casefold())
    keys.append((establishment_id, "name", name))
    return keys


@dataclass
class Planned:
    row: int
    person: Person  # saved already, or to create (no pk)
    record: TrainingRecord


@dataclass
class Preview:
    filename: str
    planned: list[Planned] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def new_people(self) -> list[Person]:
        seen = {id(p.person): p.person for p in self.planned if p.person.pk is None}
        return list(seen.values())

    def per_establishment(self) -> list[tuple[Establishment, int]]:
        counts = Counter(p.person.establishment for p in self.planned)
        return sorted(counts.items(), key=lambda item: item[0].name)

    def sample(self) -> list[Planned]:
        return self.planned[: machinery.PREVIEW_ROWS]


def check(table, user, default_establishment=None) -> Preview:
    resolver = Resolver(user)
    preview = Preview(table.filename)
    new_people: dict[tuple, Person] = {}
    for source in table.rows:
        _check_row(preview, source, resolver, new_people, default_establishment)
    return preview


def _errors_of(errors: dict[str, list[str]], source) -> list[RowError]:
    """Form or model errors {field: [reasons]} of a row, under the columns' headers."""
    found = []
    for name, reasons in errors.items():
        column = BY_FIELD.get(name)
        header = column.header if column else _("(ligne entière)")
        value = source.cells.get(column, "") if column else ""
        found.extend(RowError(source.number, header, value, r) for r in reasons)
    return found


def _check_row(preview, source, resolver, new_people, default_establishment):
    row = ImportRow(resolver=resolver, establishment=default_establishment)
    data, errors = machinery.parse_cells(source, COLUMNS, row)
    if row.establishment is None and not errors:
        errors.append(
            RowError(source.number, HEADER["establishment"], "", _("établissement non précisé"))
        )
    person = None
    if row.establishment is not None:
        keys = _person_keys(row.establishment.pk, data)
        person = next(
            (found for key in keys if (found := resolver.people.get(key) or new_people.get(key))),
            None,
        )
        if person is None and not errors:
            values = {k: data.get(k) or "" for k in PERSON_FIELDS}
            values.update(
                establishment=row.establishment.pk, service=data["service"] and data["service"].pk
            )
            form = PersonForm(data=values, user=resolver.user)
            if form.is_valid():
                person = form.save(commit=False)
                for key in keys:
                    new_people[key] = person
            else:
                errors.extend(_errors_of(form.errors, source))
    if person is not None and not errors:
        record = TrainingRecord(
            person=person, module=data["module"], completed_on=data["completed_on"]
        )
        try:
            record.clean()
        except ValidationError as exc:
            errors.extend(_errors_of(exc.message_dict, source))
        else:
            preview.planned.append(Planned(source.number, person, record))
    preview.errors.extend(sorted(errors, key=lambda e: ORDER.get(e.column, len(COLUMNS))))


def create(preview: Preview) -> tuple[int, int]:
    """Create the new people and the records of a valid preview (call inside atomic() and
    audit_context()); every save is audited by the models' signals."""
    if not preview.ok:
        raise ValueError("only a preview without errors can be imported")
    people = preview.new_people
    for person in people:
        person.save()
    for planned in preview.planned:
        planned.record.person = planned.person
        planned.record.save()
    return len(preview.planned), len(people)


# --- views ----------------------------------------------------------------------------------


def _render(request, form, **context):
    context.update(form=form, columns=COLUMNS, preview_rows=machinery.PREVIEW_ROWS)
    return render(request, "people/import.html", context)


def _create_counts(preview: Preview) -> dict[str, int]:
    n_records, n_people = create(preview)
    return {"records": n_records, "people": n_people}


FLOW = machinery.Flow(
    session_key=SESSION_KEY,
    permission=PERMISSION,
    columns=COLUMNS,
    check=check,
    create=_create_counts,
    event="people.import",
    title=lambda filename: _("Import de formations « %(file)s »") % {"file": filename},
    render=_render,
    retry_url="people:import",
)


def _confirm(request):
    done = machinery.confirm(request, FLOW)
    if not isinstance(done, tuple):
        return done
    filename, counts = done
    messages.success(
        request,
        ngettext(
            "%(n)d formation importée depuis « %(file)s ».",
            "%(n)d formations importées depuis « %(file)s ».",
            counts["records"],
        )
        % {"n": counts["records"], "file": filename},
    )
    return redirect("people:persons")


@login_required
def import_records(request):
    if not permissions.can(request.user, PERMISSION):
        raise PermissionDenied(_("Votre rôle ne permet pas d'importer des formations."))
    if request.method == "POST" and "token" in request.POST:
        return _confirm(request)
    return machinery.upload(request, FLOW)
