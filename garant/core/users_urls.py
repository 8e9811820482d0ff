from django.urls import path

from garant.core import users

app_name = "accounts"

urlpatterns = [
    path("", users.user_list, name="user_list"),
]
