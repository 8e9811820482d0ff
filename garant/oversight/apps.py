from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "garant.oversight"
    label = "oversight"
    verbose_name = "Garant — supervision humaine"

    def ready(self):
        from garant.compliance import linked
        from garant.core import home
        from garant.monitoring import alert_panels
        from garant.oversight import evidence, plans, referential, suspension_views
        from garant.registry import banners
        from garant.registry.tabs import register_tab

        referential.codes()  # a broken referential stops start-up with a precise message
        register_tab("oversight", _("Supervision humaine"), "oversight:system", 55)
        register_tab("plan", _("Plan de supervision"), "oversight:plan", 56)
        home.register(
            "oversight_plans", 35, todo=plans.home_todo, todo_template="oversight/_home_todo.html"
        )
        linked.register("oversight_plan", plans.evidence)
        linked.register("oversight_rates", evidence.evidence)
        banners.register(
            "suspension", 10, "oversight/_suspended_banner.html", suspension_views.banner_context
        )
        alert_panels.register(
            "suspension",
            20,
            "oversight/_alert_suspension_panel.html",
            suspension_views.alert_panel_context,
            kinds=(alert_panels.MONITORING, alert_panels.OVERSIGHT),
        )
