from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "garant.patients"
    label = "patients"
    verbose_name = "Garant — patients : information, registre public, droits"
