from django.urls import path

from garant.registry import declaration_views, exports, imports, views

app_name = "registry"

urlpatterns = [
    path("", views.system_list, name="system_list"),
    path("nouveau/", views.system_create, name="system_create"),
    path("export.<str:fmt>", exports.export_systems, name="system_export"),
    path("importer/", imports.import_systems, name="system_import"),
    path("importer/modele.csv", imports.import_template, name="system_import_template"),
    path("<int:pk>/", views.system_detail, name="system_detail"),
    path("<int:pk>/modifier/", views.system_edit, name="system_edit"),
    path("<int:pk>/supprimer/", views.system_delete, name="system_delete"),
    path("<int:pk>/versions/", views.system_versions, name="system_versions"),
    path("<int:pk>/historique/", views.system_history, name="system_history"),
    path("versions/<int:pk>/supprimer/", views.version_delete, name="version_delete"),
    path("declarations/", declaration_views.declaration_list, name="declaration_list"),
    path("declarations/declarer/", declaration_views.declaration_create, name="declaration_create"),
    path("declarations/<int:pk>/", declaration_views.declaration_detail, name="declaration_detail"),
    path(
        "declarations/<int:pk>/corriger/",
        declaration_views.declaration_edit,
        name="declaration_edit",
    ),
    path(
        "declarations/<int:pk>/inscrire/",
        declaration_views.declaration_register,
        name="declaration_register",
    ),
    path(
        "declarations/<int:pk>/examen/",
        declaration_views.declaration_review,
        name="declaration_review",
    ),
    path("editeurs/", views.vendor_list, name="vendor_list"),
    path("editeurs/nouveau/", views.vendor_form, name="vendor_create"),
    path("editeurs/<int:pk>/", views.vendor_detail, name="vendor_detail"),
    path("editeurs/<int:pk>/modifier/", views.vendor_form, name="vendor_edit"),
]
