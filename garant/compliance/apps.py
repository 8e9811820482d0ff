from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "garant.compliance"
    label = "compliance"
    verbose_name = "Garant — qualification réglementaire et conformité"

    def ready(self):
        from garant.compliance import checklist, rules
        from garant.compliance.dashboard import home_todo
        from garant.core import home
        from garant.registry.tabs import register_tab

        rules.check_all()  # a broken regulatory referential stops start-up, naming file and item
        checklist.check_all()  # owner proposals and due dates name known roles and obligations
        register_tab("compliance", _("Conformité"), "compliance:system", 20)
        home.register("compliance", 30, todo=home_todo, todo_template="compliance/_home_todo.html")
