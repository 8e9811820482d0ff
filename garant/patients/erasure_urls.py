from django.urls import path

from garant.patients import erasure_views as views

app_name = "patients_erasure"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/oppositions/nouvelle/", views.objection_add, name="objection_add"),
    path("oppositions/<int:pk>/lever/", views.objection_lift, name="objection_lift"),
    path("<int:pk>/effacements/nouveau/", views.erasure_add, name="erasure_add"),
    path("effacements/<int:pk>/", views.run_detail, name="run"),
    path("effacements/<int:pk>/certificat.pdf", views.certificate_pdf, name="certificate_pdf"),
    path("effacements/<int:pk>/certificat.json", views.certificate_json, name="certificate_json"),
]
