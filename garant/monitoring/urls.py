from django.urls import path

from garant.monitoring import alert_views, dashboard, overview, views

app_name = "monitoring"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("systemes/<int:pk>/", views.system_feeds, name="system_feeds"),
    path("flux/<int:pk>/", views.feed_detail, name="feed_detail"),
    path("flux/<int:pk>/regles/", alert_views.add_rule, name="alert_rule_add"),
    path("regles/<int:pk>/modifier/", alert_views.edit_rule, name="alert_rule_edit"),
    path(
        "regles/<int:pk>/activer/",
        alert_views.set_rule_active,
        {"active": True},
        name="alert_rule_activate",
    ),
    path(
        "regles/<int:pk>/desactiver/",
        alert_views.set_rule_active,
        {"active": False},
        name="alert_rule_deactivate",
    ),
    path("regles/<int:pk>/supprimer/", alert_views.delete_rule, name="alert_rule_delete"),
    path("alertes/<int:pk>/", alert_views.alert_detail, name="alert_detail"),
    path("alertes/<int:pk>/prise-en-compte/", alert_views.acknowledge, name="alert_acknowledge"),
    path("alertes/<int:pk>/resolution/", alert_views.resolve, name="alert_resolve"),
    path("flux/<int:pk>/reference/", alert_views.drift_reference, name="drift_reference"),
    path("flux/<int:pk>/tableau/", dashboard.dashboard, name="dashboard"),
]
