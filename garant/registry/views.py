"""Web pages of the register: list, detail (with tabs), create, edit, delete, versions, vendors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, ProtectedError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.history import describe
from garant.core.models import AuditEvent, Establishment
from garant.core.referentials import vocabulary
from garant.registry.banners import banners_for
from garant.registry.filtersets import SORTABLE, filtered_systems
from garant.registry.forms import SECTIONS, AISystemForm, VendorForm, VersionForm
from garant.registry.models import AISystem, AISystemVersion, Vendor
from garant.registry.tabs import tabs_for

PAGE_SIZES = (25, 50, 100, 200)


def page_size(request) -> int:
    try:
        size = int(request.GET.get("per_page", 50))
    except ValueError:
        return 50
    return size if size in PAGE_SIZES else 50


def get_scoped(request, model_or_queryset, pk, permission="view"):
    return permissions.get_scoped(request.user, model_or_queryset, pk, permission)


MAX_MENU_OPTIONS = 150


def limit_unit_choices(filterset) -> None:
    """Keep the service and vendor menus short enough to render fast and to be usable.

    A group user may see hundreds of services and vendors. Up to MAX_MENU_OPTIONS they are
    all offered (with the establishment's code when there are several establishments);
    beyond, only those of the chosen establishment. Validation still accepts any service or
    vendor in scope, so links such as ?service=12 keep working: only the menus shrink.
    """
    form = filterset.form
    establishment = form.cleaned_data.get("establishment") if form.is_valid() else None
    several = Establishment.objects.for_user(filterset.request.user).count() > 1
    for name in ("service", "vendor"):
        field = form.fields[name]
        options = field.queryset
        if establishment is not None:
            options = options.filter(establishment=establishment)
        options = list(options[: MAX_MENU_OPTIONS + 1])
        if len(options) > MAX_MENU_OPTIONS:
            selected = form.data.get(name)
            options = [o for o in options if str(o.pk) == selected]
            if not options and str(selected).isdigit():
                options = list(field.queryset.filter(pk=selected))
            form[name].help_text = _("Choisissez d'abord un établissement.")

        prefix = several and establishment is None
        field.widget.choices = [("", "---------")] + [
            (o.pk, f"{o.establishment.name} — {o}" if prefix else str(o)) for o in options
        ]


@login_required
def system_list(request):
    filterset, systems = filtered_systems(request)
    limit_unit_choices(filterset)
    paginator = Paginator(systems, page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(
        request,
        "registry/system_list.html",
        {
            "filterset": filterset,
            "page": page,
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "current_sort": request.GET.get("sort", ""),
            "sortable": SORTABLE,
            "page_sizes": PAGE_SIZES,
        },
    )


def taxonomy_guides() -> list[dict]:
    """The seeds' descriptions of S1–S6, D1–D3 and M1–M2, shown beside the form."""
    guides = []
    for name in ("solution_type", "domain", "modality"):
        v = vocabulary(name)
        rows = [(code, v.label_of(code), v.description_of(code)) for code in v.items]
        guides.append({"label": v.label, "rows": rows})
    return guides


def _system_context(request, system, tab):
    return {
        "system": system,
        "tabs": tabs_for(request, system),
        "active_tab": tab,
        "banners": banners_for(request, system),
        "can_change": permissions.object_permission(request.user, system, "change"),
        "can_delete": permissions.object_permission(request.user, system, "delete"),
    }


@login_required
def system_detail(request, pk):
    system = get_scoped(request, AISystem.objects.select_related("establishment", "vendor"), pk)
    context = _system_context(request, system, "overview")
    context["services"] = system.services.all()
    context["current_version"] = system.versions.first()
    return render(request, "registry/system_detail.html", context)


@login_required
def system_versions(request, pk):
    system = get_scoped(request, AISystem.objects.select_related("establishment", "vendor"), pk)
    context = _system_context(request, system, "versions")
    form = None
    if context["can_change"]:
        form = VersionForm(request.POST or None, ai_system=system)
        if request.method == "POST" and form.is_valid():
            version = form.save()
            messages.success(request, _("Version %(v)s ajoutée.") % {"v": version.version})
            return redirect("registry:system_versions", pk=system.pk)
    context["form"] = form
    context["versions"] = system.versions.all()
    return render(request, "registry/system_versions.html", context)


@login_required
@require_POST
def version_delete(request, pk):
    version = get_scoped(request, AISystemVersion.objects.select_related("ai_system"), pk, "change")
    system_pk = version.ai_system_id
    version.delete()
    messages.success(request, _("Version supprimée."))
    return redirect("registry:system_versions", pk=system_pk)


@login_required
def system_history(request, pk):
    system = get_scoped(request, AISystem.objects.select_related("establishment", "vendor"), pk)
    context = _system_context(request, system, "history")
    events = AuditEvent.objects.filter(subject=f"registry.aisystem:{system.pk}").order_by("-id")
    context["events"] = Paginator(events, 50).get_page(request.GET.get("page"))
    describe(context["events"])
    return render(request, "registry/system_history.html", context)


@login_required
def system_create(request):
    if not permissions.can(request.user, "add"):
        raise PermissionDenied(_("Votre rôle ne permet pas de déclarer un système."))
    form = AISystemForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            system = form.save()
        messages.success(
            request,
            _("« %(name)s » est enregistré dans la cartographie.") % {"name": system.name},
        )
        return redirect(system)
    return render(
        request,
        "registry/system_form.html",
        {
            "form": form,
            "sections": SECTIONS,
            "guides": taxonomy_guides(),
            "title": _("Déclarer un système d'IA"),
        },
    )


@login_required
def system_edit(request, pk):
    system = get_scoped(request, AISystem, pk, "change")
    form = AISystemForm(request.POST or None, instance=system, user=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, _("Modifications enregistrées."))
        return redirect(system)
    return render(
        request,
        "registry/system_form.html",
        {
            "form": form,
            "sections": SECTIONS,
            "system": system,
            "guides": taxonomy_guides(),
            "title": _("Modifier « %(name)s »") % {"name": system.name},
        },
    )


@login_required
def system_delete(request, pk):
    system = get_scoped(request, AISystem, pk, "delete")
    if request.method == "POST":
        name = system.name
        try:
            with transaction.atomic():
                system.delete()
        except ProtectedError:
            # monitoring feeds (and, later, decisions) must outlive a careless deletion
            messages.error(
                request,
                _(
                    "« %(name)s » a des données rattachées (flux de suivi…) : il ne peut pas "
                    "être supprimé. Passez-le en phase « Retiré »."
                )
                % {"name": name},
            )
            return redirect(system)
        messages.success(request, _("« %(name)s » a été supprimé.") % {"name": name})
        return redirect("registry:system_list")
    return render(request, "registry/system_confirm_delete.html", {"system": system})


# --- vendors ------------------------------------------------------------------------------


@login_required
def vendor_list(request):
    vendors = (
        Vendor.objects.for_user(request.user)
        .select_related("establishment")
        .annotate(n_systems=Count("ai_systems"))
        .order_by("name", "pk")  # Meta.ordering is not applied to GROUP BY queries
    )
    page = Paginator(vendors, 50).get_page(request.GET.get("page"))
    return render(request, "registry/vendor_list.html", {"page": page})


@login_required
def vendor_detail(request, pk):
    vendor = get_scoped(request, Vendor.objects.select_related("establishment"), pk)
    return render(
        request,
        "registry/vendor_detail.html",
        {
            "vendor": vendor,
            "systems": vendor.ai_systems.all(),
            "can_change": permissions.object_permission(request.user, vendor, "change"),
        },
    )


@login_required
def vendor_form(request, pk=None):
    if pk is None:
        if not permissions.can(request.user, "add"):
            raise PermissionDenied(_("Votre rôle ne permet pas d'ajouter un éditeur."))
        vendor = None
    else:
        vendor = get_scoped(request, Vendor, pk, "change")
    form = VendorForm(request.POST or None, instance=vendor, user=request.user)
    if request.method == "POST" and form.is_valid():
        vendor = form.save()
        messages.success(request, _("Éditeur « %(name)s » enregistré.") % {"name": vendor.name})
        return redirect(vendor)
    title = _("Modifier l'éditeur") if vendor else _("Nouvel éditeur")
    return render(request, "registry/vendor_form.html", {"form": form, "title": title})
