from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "garant.lifecycle"
    label = "lifecycle"
    verbose_name = "Garant — du pilote à la routine"

    def ready(self):
        from garant.core import home, permissions
        from garant.lifecycle import grids
        from garant.lifecycle.notifications import notify_suspension
        from garant.lifecycle.todo import lifecycle_todo
        from garant.oversight import suspension
        from garant.registry.tabs import register_tab

        # a suspension (oversight, below) is told to the system's users and referents
        suspension.on_change(notify_suspension)
        grids.load_checked()  # a broken decision grid stops the start-up, naming file and item
        register_tab("project", _("Projet"), "lifecycle:system_project", 20)
        home.register(
            "lifecycle", 40, todo=lifecycle_todo, todo_template="lifecycle/_home_todo.html"
        )
        # the idea form, reachable from the home page for everyone who may propose one
        home.register(
            "idea_entry",
            46,
            context=lambda user: {"can_submit_idea": permissions.can(user, "submit_idea")},
            intro_template="lifecycle/_home_idea_entry.html",
        )
