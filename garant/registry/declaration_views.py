"""Pages of the declarations from the field: declare, correct, the referents' queue, review."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.registry import declarations
from garant.registry.forms import (
    SECTIONS,
    AISystemForm,
    DeclarationForm,
    DeclarationMergeForm,
    DeclarationRejectForm,
    system_initial,
)
from garant.registry.models import Declaration
from garant.registry.views import taxonomy_guides


@login_required
def declaration_list(request):
    """ "Mes déclarations" for everyone; the declarations to review for the referents."""
    to_review = None
    if permissions.can(request.user, "review_declaration"):
        to_review = declarations.queue(request.user)
    mine = declarations.mine(request.user)
    return render(
        request,
        "registry/declaration_list.html",
        {
            "mine": Paginator(mine, 50).get_page(request.GET.get("page")),
            "to_review": to_review,
        },
    )


@login_required
def declaration_create(request):
    if not permissions.can(request.user, "declare"):
        raise PermissionDenied(_("Votre rôle ne permet pas de déclarer un outil."))
    form = DeclarationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.instance.declared_by = request.user
        declaration = form.save()
        messages.success(
            request,
            _("Merci ! Votre déclaration est transmise au référent IA de votre établissement."),
        )
        return redirect(declaration)
    return render(
        request,
        "registry/declaration_form.html",
        {"form": form, "title": _("Déclarer un outil")},
    )


@login_required
def declaration_detail(request, pk):
    declaration = declarations.get_for(request.user, pk)
    context = {
        "declaration": declaration,
        "can_correct": declarations.can_correct(request.user, declaration),
        "can_review": declarations.can_review(request.user, declaration),
    }
    if context["can_review"]:
        context["merge_form"] = DeclarationMergeForm(declaration=declaration, prefix="merge")
        context["reject_form"] = DeclarationRejectForm(prefix="reject")
    return render(request, "registry/declaration_detail.html", context)


@login_required
def declaration_edit(request, pk):
    declaration = declarations.get_for(request.user, pk)
    if not declarations.can_correct(request.user, declaration):
        if declaration.declared_by_id != request.user.pk:
            raise PermissionDenied(_("Seul son déclarant corrige une déclaration."))
        messages.error(
            request, _("Cette déclaration a été examinée : elle ne peut plus être corrigée.")
        )
        return redirect(declaration)
    form = DeclarationForm(request.POST or None, instance=declaration, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                declarations.locked(declaration)  # not reviewed in the meantime
                form.save()
        except declarations.ReviewRefused as exc:
            messages.error(request, str(exc))
            return redirect(declaration)
        messages.success(request, _("Votre déclaration est corrigée."))
        return redirect(declaration)
    return render(
        request,
        "registry/declaration_form.html",
        {"form": form, "declaration": declaration, "title": _("Corriger ma déclaration")},
    )


def _reviewable(request, pk):
    declaration = permissions.get_scoped(
        request.user,
        Declaration.objects.select_related("establishment", "service"),
        pk,
        "review_declaration",
    )
    if not declaration.is_pending:
        messages.error(request, _("Cette déclaration a déjà été examinée."))
        return declaration, False
    return declaration, True


@login_required
def declaration_register(request, pk):
    """Complete the declaration into a register entry: the system form, prefilled."""
    declaration, pending = _reviewable(request, pk)
    if not pending:
        return redirect(declaration)
    form = AISystemForm(
        request.POST or None, user=request.user, initial=system_initial(declaration)
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                system = form.save()
                if system.establishment_id != declaration.establishment_id:
                    raise declarations.ReviewRefused(
                        _("La fiche doit rester dans l'établissement de la déclaration.")
                    )
                declarations.review(
                    declaration, request.user, Declaration.Status.REGISTERED, ai_system=system
                )
        except declarations.ReviewRefused as exc:
            messages.error(request, str(exc))
            return redirect(declaration)
        messages.success(
            request,
            _("« %(name)s » est inscrit à la cartographie ; le déclarant le verra.")
            % {"name": system.name},
        )
        return redirect(system)
    return render(
        request,
        "registry/system_form.html",
        {
            "form": form,
            "sections": SECTIONS,
            "guides": taxonomy_guides(),
            "declaration": declaration,
            "title": _("Inscrire à la cartographie : %(name)s") % {"name": declaration},
        },
    )


@login_required
@require_POST
def declaration_review(request, pk):
    """Merge with a system already registered, or reject with a reason."""
    declaration, pending = _reviewable(request, pk)
    if not pending:
        return redirect(declaration)
    action = request.POST.get("action")
    if action == "merge":
        form = DeclarationMergeForm(request.POST, declaration=declaration, prefix="merge")
        status = Declaration.Status.MERGED
    elif action == "reject":
        form = DeclarationRejectForm(request.POST, prefix="reject")
        status = Declaration.Status.REJECTED
    else:
        messages.error(request, _("Suite inconnue : inscrire, rattacher ou ne pas retenir."))
        return redirect(declaration)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                messages.error(request, f"{str(label).capitalize()} : {error}" if label else error)
        return redirect(declaration)
    data = form.cleaned_data
    try:
        declarations.review(
            declaration, request.user, status, ai_system=data.get("ai_system"), note=data["note"]
        )
    except declarations.ReviewRefused as exc:
        messages.error(request, str(exc))
        return redirect(declaration)
    if status == Declaration.Status.MERGED:
        messages.success(request, _("Déclaration rattachée au système ; le déclarant le verra."))
    else:
        messages.success(request, _("Déclaration non retenue ; le déclarant verra le motif."))
    return redirect("registry:declaration_list")
