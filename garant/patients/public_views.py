"""The public register of AI in use.

Internal page (`register_settings`, "publish_register"): choose the fields to publish one by
one, see the preview of exactly what would be published, publish or withdraw (audited).

Public pages (`public_establishment`, `public_group`, `public_json`): the deliberate exception
to "every page needs a signed-in user" (docs/patients.md). They read a register's published
snapshot and nothing else; an establishment that publishes nothing answers 404, like an
establishment that does not exist, so nothing tells them apart."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from garant.core import permissions
from garant.core.models import Establishment
from garant.patients import public
from garant.patients.info_forms import RegisterForm


@login_required
def register_settings(request, pk):
    establishment = permissions.get_scoped(request.user, Establishment, pk, "publish_register")
    register = public.register_of(establishment)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "withdraw":
            if register.pk and register.is_published:
                public.withdraw(register, request.user)
                messages.success(request, _("Registre public retiré : il n'est plus accessible."))
            return redirect("patients:register_settings", establishment.pk)
        if action == "publish":
            if not register.pk or not register.published_fields:
                messages.error(
                    request,
                    _("Choisissez les champs à publier et vérifiez l'aperçu avant de publier."),
                )
            else:
                public.publish(register, request.user)
                messages.success(request, _("Registre public publié."))
            return redirect("patients:register_settings", establishment.pk)
        form = RegisterForm(request.POST, instance=register)
        if form.is_valid():
            form.save()
            messages.success(
                request, _("Choix enregistrés : vérifiez l'aperçu ci-dessous avant de publier.")
            )
            return redirect("patients:register_settings", establishment.pk)
    else:
        form = RegisterForm(instance=register)
    preview = public.preview(register)
    return render(
        request,
        "patients/register_settings.html",
        {
            "establishment": establishment,
            "register": register,
            "form": form,
            "preview": preview,
            "preview_rows": public.readable(preview),
            "out_of_date": public.out_of_date(register),
        },
    )


def public_establishment(request, pk):
    register = public.published_register(pk)
    if register is None:
        raise Http404
    return render(
        request,
        "patients/public_register.html",
        {
            "snapshot": register.snapshot,
            "rows": public.readable(register.snapshot),
            "register": register,
        },
    )


def public_json(request, pk):
    register = public.published_register(pk)
    if register is None:
        raise Http404
    response = JsonResponse(
        public.dutch_export(register), json_dumps_params={"ensure_ascii": False}
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


def public_group(request, pk):
    registers = public.published_in_group(pk)
    if not registers:
        raise Http404
    return render(
        request,
        "patients/public_group.html",
        {
            "group": registers[0].establishment.group,
            "registers": [
                {"register": r, "snapshot": r.snapshot, "rows": public.readable(r.snapshot)}
                for r in registers
            ],
        },
    )
