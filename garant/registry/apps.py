from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "garant.registry"
    label = "registry"
    verbose_name = "Garant — cartographie des SIA"

    def ready(self):
        from garant.core import home
        from garant.registry import declarations
        from garant.registry import home as registry_home

        home.register(
            "declarations",
            45,
            todo=declarations.todo,
            todo_template="registry/_home_declarations_todo.html",
            context=declarations.entry_points,
            intro_template="registry/_home_declare.html",
        )

        home.register(
            "registry",
            50,
            todo=registry_home.todo,
            todo_template="registry/_home_todo.html",
            context=registry_home.summary,
            intro_template="registry/_home_intro.html",
            card_template="registry/_home_card.html",
            panel_template="registry/_home_panels.html",
        )
