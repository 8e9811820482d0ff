"""Administration of users and their roles by an establishment's administrators."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from garant.core import permissions
from garant.core.models import User


@login_required
def user_list(request):
    if not permissions.can(request.user, "manage"):
        raise PermissionDenied(_("Réservé aux administrateurs d'établissement."))
    users = permissions.scope(User.objects.all(), request.user, "manage").order_by("username")
    return render(request, "core/user_list.html", {"users": users})
