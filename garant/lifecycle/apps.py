from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "garant.lifecycle"
    label = "lifecycle"
    verbose_name = "Garant — du pilote à la routine"

    def ready(self):
        from garant.lifecycle import grids

        grids.load_checked()  # a broken decision grid stops the start-up, naming file and item
