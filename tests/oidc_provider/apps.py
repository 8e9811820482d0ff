from django.apps import AppConfig


class TestProviderConfig(AppConfig):
    name = "tests.oidc_provider"
    label = "test_op"
    default_auto_field = "django.db.models.BigAutoField"
