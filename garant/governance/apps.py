from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "garant.governance"
    label = "governance"
    verbose_name = "Garant — comités et décisions"
