from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "garant.patients"
    label = "patients"
    verbose_name = "Garant — patients : information, registre public, droits"

    def ready(self):
        from garant.monitoring import objections as monitoring_objections
        from garant.patients.objections import ingestion_filter

        # the monitoring ingestion drops or refuses the rows of patients who objected
        monitoring_objections.register("patients", ingestion_filter)
