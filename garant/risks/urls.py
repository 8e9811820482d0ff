from django.urls import path

from garant.risks import views

app_name = "risks"

urlpatterns = [
    path("systemes/<int:pk>/", views.system, name="system"),
    path("systemes/<int:pk>/creer/", views.create, name="create"),
    path("systemes/<int:pk>/nouvelle-version/", views.new_version, name="new_version"),
    path("analyses/<int:pk>/", views.analysis, name="analysis"),
    path("analyses/<int:pk>/figer/", views.freeze, name="freeze"),
    path("analyses/<int:pk>/modes/ajouter/", views.mode_add, name="mode_add"),
    path("modes/<int:pk>/modifier/", views.mode_edit, name="mode_edit"),
    path("modes/<int:pk>/retirer/", views.mode_delete, name="mode_delete"),
]
