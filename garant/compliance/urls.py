from django.urls import path

from garant.compliance import dashboard, exports, views

app_name = "compliance"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("echeances/", dashboard.deadlines, name="deadlines"),
    path("rapport-ecarts.<str:fmt>", exports.gap_report, name="gap_report"),
    path("systemes/<int:pk>/", views.system_compliance, name="system"),
    path("systemes/<int:pk>/qualifier/", views.wizard, name="wizard"),
    path("qualifications/<int:pk>/", views.qualification_detail, name="qualification"),
    path("obligations/<int:pk>/", views.obligation_detail, name="obligation"),
    path("preuves/<int:pk>/fichier/", views.evidence_file, name="evidence_file"),
    path("preuves/<int:pk>/retirer/", views.evidence_delete, name="evidence_delete"),
]
