from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "garant.lifecycle"
    label = "lifecycle"
    verbose_name = "Garant — du pilote à la routine"
