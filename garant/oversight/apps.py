from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "garant.oversight"
    label = "oversight"
    verbose_name = "Garant — supervision humaine"

    def ready(self):
        from garant.oversight import referential
        from garant.registry.tabs import register_tab

        referential.codes()  # a broken referential stops start-up with a precise message
        register_tab("oversight", _("Supervision humaine"), "oversight:system", 55)
