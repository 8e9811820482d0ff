from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "garant.compliance"
    label = "compliance"
    verbose_name = "Garant — qualification réglementaire et conformité"
