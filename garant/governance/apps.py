from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "garant.governance"
    label = "governance"
    verbose_name = "Garant — comités et décisions"

    def ready(self):
        from garant.core import home
        from garant.governance import board, college, decisions, queues
        from garant.governance.alert_views import panel_context
        from garant.governance.decisions import dossier_rows, open_conditions
        from garant.governance.todo import governance_todo
        from garant.lifecycle import committee
        from garant.monitoring import alert_panels
        from garant.oversight import suspension

        # the lifecycle (below) learns of decisions here: its gates, pages and dossier
        committee.register(committee.Decisions("decisions", dossier_rows, open_conditions))
        # an alert's page (monitoring, below) offers an action and the committee's agenda
        alert_panels.register("governance", 10, "governance/_alert_panel.html", panel_context)
        # a suspension (oversight, below) is lifted on a signed decision that references it
        suspension.decision_finder(decisions.resumption_decisions)
        # ... and may be proposed on a collège finding
        suspension.finding_source(college.finding_of, college.findings_of)
        home.register(
            "governance", 20, todo=governance_todo, todo_template="governance/_home_todo.html"
        )
        # a collège member's cases left to review
        home.register(
            "college", 21, todo=college.home_todo, todo_template="governance/_home_college.html"
        )
        # the status of each establishment side by side, after the register's buttons
        home.register(
            "board", 60, context=board.home_context, intro_template="governance/_home_board.html"
        )
        # a referent's work queue, a field professional's ideas and declarations
        home.register(
            "queues", 61, context=queues.home_context, intro_template="governance/_home_queues.html"
        )
