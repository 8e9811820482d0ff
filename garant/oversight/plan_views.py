"""The « Plan de supervision » tab of a system: its current oversight plan, the versions
with what changed from one to the next, and (with the "change" permission) the form that
saves a new version."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from garant.core import permissions
from garant.oversight import plan_forms, plans
from garant.registry.models import AISystem
from garant.registry.views import _system_context


def _system(request, pk, permission: str = "view") -> AISystem:
    queryset = AISystem.objects.select_related("establishment", "vendor")
    return permissions.get_scoped(request.user, queryset, pk, permission)


@login_required
def plan(request, pk):
    system = _system(request, pk)
    context = _system_context(request, system, "plan")
    rows = plans.history(system)
    current = rows[0]["version"] if rows else None
    context.update(
        plan=current,
        review=plans.review_status(current) if current else None,
        points=[{**p, "moment": plans.moment_label(p)} for p in current.points] if current else [],
        history=rows,
        people_flags=plans.people_flags(system, current),
        high_risk=plans.is_high_risk(system),
    )
    return render(request, "oversight/plan.html", context)


@login_required
def plan_edit(request, pk):
    system = _system(request, pk, "change")
    current = plans.current(system)
    status = 200
    if request.method == "POST":
        forms = plan_forms.build(request.POST)
        values, errors = plan_forms.validate(*forms)
        if values is not None:
            try:
                version = plans.save_version(
                    system, values, request.user, forms[0].cleaned_data["comment"]
                )
            except plans.NoChange:
                messages.info(request, _("Aucune modification : le plan reste inchangé."))
                return redirect("oversight:plan", system.pk)
            messages.success(
                request,
                _("Plan de supervision enregistré (version %(n)s).") % {"n": version.number},
            )
            return redirect("oversight:plan", system.pk)
        status = 422
    else:
        forms = plan_forms.build(initial=plans.values_of(current) or {"review_months": 12})
        errors = {}
    form, points, people = forms
    context = _system_context(request, system, "plan")
    context.update(
        plan=current,
        form=form,
        points=points,
        people=people,
        table_errors=[m for k in ("points", "people") for m in errors.get(k, [])],
    )
    return render(request, "oversight/plan_edit.html", context, status=status)
