"""Establishments of the group and their services (pôles / services)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.forms import ServiceForm
from garant.core.models import Establishment, Service


@login_required
def establishment_list(request):
    establishments = (
        Establishment.objects.for_user(request.user)
        .select_related("group")
        .annotate(
            n_systems=Count("ai_systems", distinct=True),
            n_services=Count("services", distinct=True),
        )
    )
    return render(request, "core/establishment_list.html", {"establishments": establishments})


@login_required
def establishment_detail(request, pk):
    establishment = permissions.get_scoped(
        request.user, Establishment.objects.select_related("group"), pk
    )
    can_manage = permissions.can(request.user, "manage", establishment.pk)
    form = None
    if can_manage:
        data = {**request.POST.dict(), "establishment": establishment.pk} if request.POST else None
        form = ServiceForm(data, user=request.user, initial={"establishment": establishment.pk})
        form.fields["establishment"].widget = forms.HiddenInput()
        if request.method == "POST" and form.is_valid():
            service = form.save()
            messages.success(request, _("Service « %(name)s » ajouté.") % {"name": service.name})
            return redirect("establishment_detail", pk=establishment.pk)
    elif request.method == "POST":
        raise PermissionDenied(_("Seul un administrateur de l'établissement gère ses services."))
    services = establishment.services.annotate(n_systems=Count("ai_systems"))
    return render(
        request,
        "core/establishment_detail.html",
        {
            "establishment": establishment,
            "services": services,
            "form": form,
            "can_manage": can_manage,
        },
    )


@login_required
@require_POST
def service_delete(request, pk):
    service = permissions.get_scoped(request.user, Service, pk, "manage")
    if service.ai_systems.exists():
        messages.error(request, _("Ce service est encore rattaché à des systèmes d'IA."))
    else:
        service.delete()
        messages.success(request, _("Service supprimé."))
    return redirect("establishment_detail", pk=service.establishment_id)
