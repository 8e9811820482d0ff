from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demonstration data and its `garant demo` command: on top of every app (it writes
    through all of their models), so that none of them imports it."""

    name = "garant.demo"
    label = "demo"
    verbose_name = "Garant — démonstration"
