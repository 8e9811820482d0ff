from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "garant.people"
    label = "people"
    verbose_name = "Garant — formation et habilitation par outil"

    def ready(self):
        from garant.compliance import linked
        from garant.core import home
        from garant.oversight import plans
        from garant.people import coverage, habilitations, referential
        from garant.registry.tabs import register_tab

        referential.codes()  # a broken referential stops start-up with a precise message
        register_tab("habilitations", _("Habilitations"), "people:system", 58)
        home.register(
            "habilitations",
            37,
            todo=habilitations.home_todo,
            todo_template="people/_home_todo.html",
        )
        # no room left in the one-line main menu: the way in is a link under the greeting
        home.register("training", 38, intro_template="people/_home_intro.html")
        linked.register("people_coverage", coverage.evidence)
        plans.register_people_check("habilitations", habilitations.overseer_flags)
