from django.urls import path

from garant.lifecycle import dossier, views

app_name = "lifecycle"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("idees/", views.idea_list, name="idea_list"),
    path("idees/proposer/", views.idea_create, name="idea_create"),
    path("idees/<int:pk>/", views.idea_detail, name="idea_detail"),
    path("idees/<int:pk>/tri/", views.idea_triage, name="idea_triage"),
    path("notifications/lues/", views.notification_read, name="notifications_read"),
    path("notifications/<int:pk>/lue/", views.notification_read, name="notification_read"),
    path("systeme/<int:pk>/", views.system_project, name="system_project"),
    path("<int:pk>/", views.project_detail, name="project_detail"),
    path("<int:pk>/phase/", views.project_transition, name="project_transition"),
    path("<int:pk>/reglages/", views.project_settings, name="project_settings"),
    path("<int:pk>/charte/", views.charter_edit, name="charter_edit"),
    path("<int:pk>/indicateurs/nouveau/", views.indicator_form, name="indicator_create"),
    path("<int:pk>/indicateurs/<int:indicator_pk>/", views.indicator_form, name="indicator_edit"),
    path("indicateurs/<int:pk>/valeurs/", views.indicator_values, name="indicator_values"),
    path("valeurs/<int:pk>/corriger/", views.indicator_value_edit, name="indicator_value_edit"),
    path("<int:pk>/non-applicables/", views.not_applicable, name="not_applicable"),
    path("<int:pk>/evaluations/nouvelle/", views.assessment_create, name="assessment_create"),
    path("evaluations/<int:pk>/", views.assessment_detail, name="assessment_detail"),
    path("evaluations/<int:pk>/figer/", views.assessment_freeze, name="assessment_freeze"),
    path("<int:pk>/dossier/", dossier.dossier_html, name="dossier"),
    path("<int:pk>/dossier.pdf", dossier.dossier_pdf, name="dossier_pdf"),
]
