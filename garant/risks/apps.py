from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RisksConfig(AppConfig):
    name = "garant.risks"
    label = "risks"
    verbose_name = "Garant — analyse de risques (AMDEC)"

    def ready(self):
        from garant.core import home
        from garant.registry.tabs import register_tab
        from garant.risks import analyses, referential

        referential.referential()  # a broken referential stops start-up with a precise message
        register_tab("risks", _("Analyse de risques"), "risks:system", 57)
        home.register(
            "risk_reviews", 36, todo=analyses.home_todo, todo_template="risks/_home_todo.html"
        )
