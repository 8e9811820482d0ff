from django.urls import path

from garant.oversight import plan_views, suspension_views, views

app_name = "oversight"

urlpatterns = [
    path("systemes/<int:pk>/", views.system, name="system"),
    path("systemes/<int:pk>/plan/", plan_views.plan, name="plan"),
    path("systemes/<int:pk>/plan/modifier/", plan_views.plan_edit, name="plan_edit"),
    path("systemes/<int:pk>/import/", views.upload, name="upload"),
    path("systemes/<int:pk>/regles/", views.add_rule, name="rule_add"),
    path("regles/<int:pk>/desactiver/", views.deactivate_rule, name="rule_deactivate"),
    path("alertes/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("alertes/<int:pk>/prise-en-compte/", views.acknowledge, name="alert_acknowledge"),
    path(
        "systemes/<int:pk>/suspension/proposer/",
        suspension_views.propose,
        name="suspension_propose",
    ),
    path("suspensions/<int:pk>/", suspension_views.detail, name="suspension_detail"),
    path("suspensions/<int:pk>/suspendre/", suspension_views.confirm, name="suspension_confirm"),
    path("suspensions/<int:pk>/refuser/", suspension_views.decline, name="suspension_decline"),
    path("suspensions/<int:pk>/reprendre/", suspension_views.resume, name="suspension_resume"),
]
