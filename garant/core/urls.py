from django.contrib.auth import views as auth_views
from django.urls import path

from garant.core import accounts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("connexion/", accounts.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("audit/", views.audit_list, name="audit_list"),
]
