from django.urls import path

from garant.sso import views

app_name = "sso"
urlpatterns = [
    path("retour/", views.callback, name="callback"),
    path("<slug:key>/connexion/", views.start, name="start"),
]
