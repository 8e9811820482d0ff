"""Import of an inventory from CSV or XLSX. Filled in by the import/export work."""

from django.http import Http404


def import_systems(request):
    raise Http404
