"""Pages of the people app: the training catalogue and coverage (everyone), the staff
register and training records (roles with "view_people"; written with "manage_people"),
and the « Habilitations » tab of a system (prerequisites, coverage, habilitations)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import documents, permissions
from garant.people import coverage
from garant.people import habilitations as habs
from garant.people.forms import (
    ChangeForm,
    GrantForm,
    ModuleForm,
    PersonForm,
    PrerequisitesForm,
    RecordForm,
)
from garant.people.models import Habilitation, Person, TrainingModule
from garant.people.referential import codes
from garant.registry.models import AISystem
from garant.registry.views import _system_context

MANAGE, VIEW = "manage_people", "view_people"


def _require(request, permission: str) -> None:
    if not permissions.can(request.user, permission):
        raise PermissionDenied(_("Votre rôle ne permet pas d'accéder au registre du personnel."))


def _module_rows(modules):
    ref = codes()
    return [
        {
            "module": m,
            "kind": ref.label("module_kinds", m.kind),
            "level": ref.label("levels", m.level),
            "provider": ref.label("providers", m.provider),
            "professions": ", ".join(ref.label("professions", p) for p in m.audience_professions),
        }
        for m in modules
    ]


@login_required
def index(request):
    """The catalogue and the coverage of the user's establishments (figures, no names)."""
    modules = (
        TrainingModule.objects.restrict(request.user)
        .select_related("establishment")
        .prefetch_related("systems")
    )
    rows, total = coverage.establishment_coverage(AISystem.objects.restrict(request.user))
    return render(
        request,
        "people/index.html",
        {
            "modules": _module_rows(modules),
            "coverage": rows,
            "total": total,
            "can_manage": permissions.can(request.user, MANAGE),
            "can_view_people": permissions.can(request.user, VIEW),
        },
    )


def _form_page(request, form, title: str, back: str, status: int = 200):
    return render(
        request, "people/form.html", {"form": form, "title": title, "back": back}, status=status
    )


@login_required
def module_add(request):
    _require(request, MANAGE)
    form = ModuleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Module ajouté au catalogue."))
        return redirect("people:index")
    return _form_page(request, form, _("Ajouter un module de formation"), "people:index")


@login_required
def module_edit(request, pk):
    module = permissions.get_scoped(request.user, TrainingModule, pk, MANAGE)
    form = ModuleForm(request.POST or None, instance=module, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Module enregistré."))
        return redirect("people:index")
    return _form_page(
        request, form, _("Modifier le module « %(t)s »") % {"t": module}, "people:index"
    )


@login_required
def persons(request):
    _require(request, VIEW)
    people = Person.objects.restrict(request.user, VIEW).select_related("service", "establishment")
    query = request.GET.get("q", "").strip()
    if query:
        people = people.filter(
            Q(last_name__icontains=query) | Q(first_name__icontains=query) | Q(rpps=query)
        )
    page = Paginator(people, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "people/persons.html",
        {"page": page, "q": query, "can_manage": permissions.can(request.user, MANAGE)},
    )


@login_required
def person_add(request):
    _require(request, MANAGE)
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        person = form.save()
        return redirect(person)
    return _form_page(request, form, _("Ajouter une personne"), "people:persons")


@login_required
def person(request, pk):
    person = permissions.get_scoped(
        request.user, Person.objects.select_related("service", "establishment"), pk, VIEW
    )
    records = person.trainings.select_related("module")
    held = habs.with_expiry(person.habilitations.select_related("ai_system"))
    return render(
        request,
        "people/person.html",
        {
            "person": person,
            "records": records,
            "habilitations": [{"h": h, "state": habs.state_label(habs.state_of(h))} for h in held],
            "can_manage": permissions.object_permission(request.user, person, MANAGE),
            "record_form": RecordForm(person=person),
        },
    )


@login_required
def person_edit(request, pk):
    person = permissions.get_scoped(request.user, Person, pk, MANAGE)
    form = PersonForm(request.POST or None, instance=person, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect(person)
    return _form_page(request, form, _("Modifier %(p)s") % {"p": person}, "people:persons")


@login_required
def record_add(request, pk):
    person = permissions.get_scoped(request.user, Person, pk, MANAGE)
    form = RecordForm(request.POST or None, request.FILES or None, person=person)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Formation enregistrée."))
        return redirect(person)
    return _form_page(
        request, form, _("Formation suivie par %(p)s") % {"p": person}, "people:persons"
    )


# --- the « Habilitations » tab of a system --------------------------------------------------


def _system(request, pk, permission: str = "view") -> AISystem:
    queryset = AISystem.objects.select_related("establishment", "vendor")
    return permissions.get_scoped(request.user, queryset, pk, permission)


@login_required
def system(request, pk):
    return _system_page(request, pk)


def _system_page(request, pk, grant_form=None, status=200):
    system = _system(request, pk)
    context = _system_context(request, system, "habilitations")
    can_view = permissions.object_permission(request.user, system, VIEW)
    can_manage = permissions.object_permission(request.user, system, MANAGE)
    rules = habs.prerequisites(system)
    held = []
    if can_view:
        held = [
            {"h": h, "state": habs.state_of(h), "label": habs.state_label(habs.state_of(h))}
            for h in habs.with_expiry(system.habilitations.select_related("person__service"))
        ]
    context.update(
        rules=rules,
        professions=", ".join(codes().label("professions", p) for p in rules.professions)
        if rules
        else "",
        coverage=coverage.system_coverage(system),
        habilitations=held,
        can_view_people=can_view,
        can_manage=can_manage,
        grant_form=grant_form or (GrantForm(system=system) if can_manage else None),
    )
    return render(request, "people/system.html", context, status=status)


@login_required
def prerequisites(request, pk):
    system = _system(request, pk, MANAGE)
    form = PrerequisitesForm(
        request.POST or None, instance=habs.prerequisites(system), system=system
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Prérequis enregistrés."))
        return redirect("people:system", system.pk)
    return _form_page(
        request, form, _("Prérequis d'habilitation : %(s)s") % {"s": system.name}, "people:index"
    )


@login_required
@require_POST
def grant(request, pk):
    system = _system(request, pk, MANAGE)
    form = GrantForm(request.POST, system=system)
    if form.is_valid():
        data = form.cleaned_data
        try:
            habs.grant(
                data["person"], system, request.user, data["charter_signed_on"], data["comment"]
            )
        except habs.NotMet as refused:
            for reason in refused.missing:
                form.add_error(None, reason)
        else:
            messages.success(request, _("Habilitation accordée à %(p)s.") % {"p": data["person"]})
            return redirect("people:system", system.pk)
    return _system_page(request, pk, grant_form=form, status=422)


@login_required
@require_POST
def change(request, pk):
    habilitation = permissions.get_scoped(
        request.user, Habilitation.objects.select_related("person", "ai_system"), pk, MANAGE
    )
    form = ChangeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    elif form.cleaned_data["action"] == "renew":
        try:
            habs.grant(
                habilitation.person,
                habilitation.ai_system,
                request.user,
                habilitation.charter_signed_on,
                form.cleaned_data["comment"],
            )
            messages.success(request, _("Habilitation renouvelée."))
        except habs.NotMet as refused:
            messages.error(request, " ".join(refused.missing))
    else:
        status = {
            "suspend": Habilitation.Status.SUSPENDED,
            "withdraw": Habilitation.Status.WITHDRAWN,
        }
        habs.set_status(
            habilitation, status[form.cleaned_data["action"]], form.cleaned_data["comment"]
        )
        messages.success(request, _("Habilitation modifiée."))
    return redirect("people:system", habilitation.ai_system_id)


@login_required
def system_export(request, pk):
    system = _system(request, pk, VIEW)
    content = documents.csv_bytes(habs.EXPORT_HEADERS, habs.export_rows(system))
    return documents.download(content, f"habilitations-{system.pk}.csv", "text/csv; charset=utf-8")
