from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "garant.incidents"
    label = "incidents"
    verbose_name = "Garant — événements indésirables"

    def ready(self):
        from garant.incidents import referential

        referential.rules()  # a broken referential stops start-up with a precise message
