from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "garant.incidents"
    label = "incidents"
    verbose_name = "Garant — événements indésirables"

    def ready(self):
        from garant.core import home
        from garant.incidents import loop, referential, reports, views
        from garant.monitoring import alert_panels
        from garant.registry import banners
        from garant.registry.tabs import register_tab

        referential.rules()  # a broken referential stops start-up with a precise message
        loop.analysis_referential()
        register_tab("incidents", _("Événements indésirables"), "incidents:system", 58)
        banners.register(
            "incident_declare", 30, "incidents/_declare_banner.html", views.banner_context
        )
        alert_panels.register(
            "incident",
            15,
            "incidents/_alert_panel.html",
            views.alert_panel_context,
            kinds=(alert_panels.MONITORING, alert_panels.OVERSIGHT),
        )
        home.register(
            "incident_reports",
            20,
            todo=reports.home_todo,
            todo_template="incidents/_home_todo.html",
        )
