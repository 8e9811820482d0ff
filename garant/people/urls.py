from django.urls import path

from garant.people import imports, views

app_name = "people"

urlpatterns = [
    path("", views.index, name="index"),
    path("modules/ajouter/", views.module_add, name="module_add"),
    path("modules/<int:pk>/modifier/", views.module_edit, name="module_edit"),
    path("personnes/", views.persons, name="persons"),
    path("personnes/ajouter/", views.person_add, name="person_add"),
    path("personnes/importer/", imports.import_records, name="import"),
    path("personnes/<int:pk>/", views.person, name="person"),
    path("personnes/<int:pk>/modifier/", views.person_edit, name="person_edit"),
    path("personnes/<int:pk>/formations/ajouter/", views.record_add, name="record_add"),
    path("systemes/<int:pk>/", views.system, name="system"),
    path("systemes/<int:pk>/prerequis/", views.prerequisites, name="prerequisites"),
    path("systemes/<int:pk>/habiliter/", views.grant, name="grant"),
    path("systemes/<int:pk>/export.csv", views.system_export, name="system_export"),
    path("habilitations/<int:pk>/", views.change, name="change"),
]
