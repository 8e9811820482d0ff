from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "garant.monitoring"
    label = "monitoring"
    verbose_name = "Garant — suivi après déploiement"

    def ready(self):
        from garant.core import home
        from garant.monitoring.overview import home_todo
        from garant.registry.tabs import register_tab

        register_tab("monitoring", _("Suivi"), "monitoring:system_feeds", 50)
        home.register("monitoring", 10, todo=home_todo, todo_template="monitoring/_home_todo.html")
