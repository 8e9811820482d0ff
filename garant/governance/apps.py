from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    name = "garant.governance"
    label = "governance"
    verbose_name = "Garant — comités et décisions"

    def ready(self):
        from garant.compliance import linked
        from garant.core import home
        from garant.governance import (
            board,
            college,
            decisions,
            ethics,
            incident_actions,
            mitigations,
            queues,
        )
        from garant.governance.alert_views import panel_context
        from garant.governance.decisions import dossier_rows, open_conditions
        from garant.governance.todo import governance_todo
        from garant.incidents import loop
        from garant.lifecycle import committee, dossier
        from garant.monitoring import alert_panels
        from garant.oversight import suspension
        from garant.registry.tabs import register_tab
        from garant.risks import analyses as risk_analyses

        # the lifecycle (below) learns of decisions here: its gates, pages and dossier
        committee.register(committee.Decisions("decisions", dossier_rows, open_conditions))
        # an alert's page (monitoring, below) offers an action and the committee's agenda
        alert_panels.register(
            "governance",
            10,
            "governance/_alert_panel.html",
            panel_context,
            kinds=(alert_panels.MONITORING, alert_panels.OVERSIGHT),
        )
        # a suspension (oversight, below) is lifted on a signed decision that references it
        suspension.decision_finder(decisions.resumption_decisions)
        # ... and may be proposed on a collège finding
        suspension.finding_source(college.finding_of, college.findings_of)
        # ethics referrals: a tab on the system, two sections of the dossier, linked evidence
        register_tab("ethics", _("Éthique"), "governance:system_ethics", 57)
        dossier.register(
            dossier.Section(
                "college",
                10,
                ethics.dossier_college,
                "governance/_dossier_college.html",
                ethics.pdf_college,
            )
        )
        dossier.register(
            dossier.Section(
                "ethics",
                20,
                ethics.dossier_referrals,
                "governance/_dossier_ethics.html",
                ethics.pdf_referrals,
            )
        )
        linked.register("ethics_referrals", ethics.ethics_evidence)
        linked.register("college_reviews", ethics.college_evidence)
        # a failure mode of a risk analysis (risks, below) shows the actions that mitigate it
        risk_analyses.register_mitigations(mitigations.for_failure_modes)
        # an adverse event (incidents, below) shows its corrective actions and opens one
        loop.register_actions("governance/_incident_actions.html", incident_actions.panel_context)
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
