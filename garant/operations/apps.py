from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running an installation: `garant backup` and `garant restore`. On top of the apps,
    since a backup reads what each of them stores (the database, uploaded files, the
    monitoring tables), so that none of them imports it."""

    name = "garant.operations"
    label = "operations"
    verbose_name = "Garant — exploitation"
