"""Action items: added at a meeting (often for a decision), followed up on one page where
open actions come first, the overdue ones at the top. An action's owner may update it too."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core.filtersets import filtered
from garant.governance.filtersets import ActionFilterSet
from garant.governance.forms import ActionForm
from garant.governance.models import Action
from garant.governance.views import _errors, get_scoped, meeting_queryset


@login_required
def action_list(request):
    filterset, actions = filtered(
        ActionFilterSet,
        request,
        Action.objects.for_user(request.user).select_related(
            "owner", "meeting__committee__establishment", "decision__project__ai_system"
        ),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "governance/action_list.html",
        {
            "filters": filterset.form,
            "page": Paginator(actions, 50).get_page(request.GET.get("page")),
            "query": query.urlencode(),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def action_add(request, pk):
    meeting = get_scoped(request, meeting_queryset(), pk, "govern")
    form = ActionForm(request.POST, meeting=meeting)
    if form.is_valid():
        action = form.save()
        messages.success(request, _("Action « %(title)s » ajoutée.") % {"title": action})
        return redirect(action.decision or meeting)
    messages.error(request, _("Action refusée : %(errors)s") % {"errors": _errors(form)})
    decision = form.cleaned_data.get("decision")
    return redirect(decision or meeting)


@login_required
def action_edit(request, pk):
    action = get_scoped(request, Action.objects.select_related("meeting__committee"), pk)
    if not action.updatable_by(request.user):
        raise PermissionDenied(_("Seuls le porteur de l'action et le comité la mettent à jour."))
    form = ActionForm(request.POST or None, instance=action, meeting=action.meeting)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Action mise à jour."))
        return redirect("governance:action_list")
    return render(
        request,
        "governance/form.html",
        {"form": form, "title": _("Mettre à jour une action"), "back": action.meeting},
    )
