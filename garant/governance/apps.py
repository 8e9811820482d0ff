from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "garant.governance"
    label = "governance"
    verbose_name = "Garant — comités et décisions"

    def ready(self):
        from garant.governance.decisions import dossier_rows
        from garant.lifecycle import committee

        # the lifecycle (below) learns of decisions here: its gates, pages and dossier
        committee.register(committee.Decisions("decisions", dossier_rows))
