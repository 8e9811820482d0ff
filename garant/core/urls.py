from django.contrib.auth import views as auth_views
from django.urls import path

from garant.core import accounts, establishments, views

urlpatterns = [
    path("", views.home, name="home"),
    path("connexion/", accounts.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("audit/", views.audit_list, name="audit_list"),
    path("etablissements/", establishments.establishment_list, name="establishment_list"),
    path(
        "etablissements/<int:pk>/",
        establishments.establishment_detail,
        name="establishment_detail",
    ),
    path("services/<int:pk>/supprimer/", establishments.service_delete, name="service_delete"),
]
