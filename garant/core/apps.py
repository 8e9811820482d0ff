from django.apps import AppConfig
from django.db.models import signals


class CoreConfig(AppConfig):
    name = "garant.core"
    label = "core"
    verbose_name = "Garant — socle"

    def ready(self):
        from garant.core import audit, referentials, security

        security.bound_text_form_fields()  # before any form class is built

        referentials.load_all()  # a broken referential stops start-up with a precise message
        signals.post_save.connect(audit.on_post_save, dispatch_uid="garant-audit-save")
        signals.post_delete.connect(audit.on_post_delete, dispatch_uid="garant-audit-delete")
        signals.m2m_changed.connect(audit.on_m2m_changed, dispatch_uid="garant-audit-m2m")
        from garant.core import signals as core_signals  # noqa: F401  (login events)
