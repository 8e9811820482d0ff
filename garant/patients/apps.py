from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "garant.patients"
    label = "patients"
    verbose_name = "Garant — patients : information, registre public, droits"

    def ready(self):
        from garant.compliance import linked
        from garant.core import home
        from garant.monitoring import objections as monitoring_objections
        from garant.patients import notices, referential, rights
        from garant.patients.objections import ingestion_filter
        from garant.registry.tabs import register_tab

        referential.rules()  # a broken referential stops start-up with a precise message
        register_tab("patients", _("Information des patients"), "patients:system", 57)
        linked.register("patient_information", notices.linked_evidence)
        home.register(
            "patient_rights",
            22,
            todo=rights.home_todo,
            todo_template="patients/_home_todo.html",
            context=rights.home_context,
            card_template="patients/_home_card.html",
        )
        # the monitoring ingestion drops or refuses the rows of patients who objected
        monitoring_objections.register("patients", ingestion_filter)
