from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "garant.registry"
    label = "registry"
    verbose_name = "Garant — cartographie des SIA"
