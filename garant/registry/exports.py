"""Export of the filtered register (CSV, XLSX, JSON). Filled in by the import/export work."""

from django.http import Http404


def export_systems(request, fmt):
    raise Http404
