from django.urls import path

from garant.core import users

app_name = "accounts"

urlpatterns = [
    path("", users.user_list, name="user_list"),
    path("nouveau/", users.user_create, name="user_create"),
    path("<int:pk>/", users.user_detail, name="user_detail"),
    path("<int:pk>/modifier/", users.user_edit, name="user_edit"),
    path("<int:pk>/mot-de-passe/", users.user_password_reset, name="user_password_reset"),
    path("<int:pk>/debloquer/", users.user_unlock, name="user_unlock"),
    path(
        "<int:pk>/roles/<int:membership_pk>/retirer/",
        users.membership_remove,
        name="membership_remove",
    ),
]
