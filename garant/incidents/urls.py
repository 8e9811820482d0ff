from django.urls import path

from garant.incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.register, name="register"),
    path("declarations/", views.report_list, name="reports"),
    path("systemes/<int:pk>/", views.system_incidents, name="system"),
    path("systemes/<int:pk>/declarer/", views.declare, name="declare"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/qualifier/", views.qualify, name="qualify"),
    path("<int:pk>/clore/", views.close, name="close"),
    path("<int:pk>/analyse/", views.analyse, name="analyse"),
    path("<int:pk>/frequence/", views.occurrence, name="occurrence"),
    path("declarations/<int:pk>/", views.report, name="report"),
    path("declarations/<int:pk>/preuve/", views.proof, name="proof"),
    path("declarations/<int:pk>/brouillon.json", views.draft_json, name="draft_json"),
    path("declarations/<int:pk>/brouillon.pdf", views.draft_pdf, name="draft_pdf"),
    path("politique/<int:pk>/", views.policy, name="policy"),
]
