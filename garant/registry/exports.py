"""Export of the register as the list page shows it: CSV, XLSX or JSON.

The rows are those of `filtered_systems(request)`: the user's scope and the list's filters
and sort. The columns are `columns.COLUMNS`, the import's, so an exported CSV or XLSX file
imports again. CSV is what French Excel opens directly (UTF-8 with BOM, ";", dd/mm/yyyy);
XLSX has real date cells; JSON carries ISO dates and, for taxonomy values, code and label.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.utils import timezone

from garant.core.documents import XLSX_TYPE, csv_bytes, xlsx_workbook
from garant.core.referentials import taxonomy_version
from garant.registry.columns import COLUMNS, HEADERS
from garant.registry.filtersets import filtered_systems

CHUNK_SIZE = 1000


def _systems(queryset):
    return queryset.prefetch_related("services").iterator(chunk_size=CHUNK_SIZE)


def write_csv(queryset) -> bytes:
    rows = ([c.to_text(c.value(system)) for c in COLUMNS] for system in _systems(queryset))
    return csv_bytes(HEADERS, rows)


def write_xlsx(queryset) -> bytes:
    rows = ([c.to_cell(c.value(system)) for c in COLUMNS] for system in _systems(queryset))
    return xlsx_workbook([("Cartographie", HEADERS, rows)])


def write_json(queryset) -> bytes:
    systems = [
        {"id": system.pk, **{c.field: c.to_json(c.value(system)) for c in COLUMNS}}
        for system in _systems(queryset)
    ]
    payload = {
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "taxonomy_version": taxonomy_version(),
        "count": len(systems),
        "systems": systems,
    }
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")


WRITERS = {
    "csv": (write_csv, "text/csv; charset=utf-8"),
    "xlsx": (write_xlsx, XLSX_TYPE),
    "json": (write_json, "application/json; charset=utf-8"),
}


@login_required
def export_systems(request, fmt):
    if fmt not in WRITERS:
        raise Http404
    write, content_type = WRITERS[fmt]
    _filterset, systems = filtered_systems(request)
    response = HttpResponse(write(systems), content_type=content_type)
    filename = f"cartographie-sia-{timezone.localdate():%Y-%m-%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
