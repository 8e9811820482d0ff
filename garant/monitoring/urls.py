from django.urls import path

from garant.monitoring import alert_views, dashboard, views

app_name = "monitoring"

urlpatterns = [
    path("systemes/<int:pk>/", views.system_feeds, name="system_feeds"),
    path("flux/<int:pk>/", views.feed_detail, name="feed_detail"),
    path("flux/<int:pk>/regles/", alert_views.add_rule, name="alert_rule_add"),
    path("alertes/<int:pk>/prise-en-compte/", alert_views.acknowledge, name="alert_acknowledge"),
    path("flux/<int:pk>/tableau/", dashboard.dashboard, name="dashboard"),
]
