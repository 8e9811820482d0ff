"""Action items: added at a meeting (often for a decision), followed up on one page where
open actions come first, the overdue ones at the top. An action's owner may update it too."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from garant.governance.forms import ActionForm
from garant.governance.models import Action, Committee
from garant.governance.views import _errors, get_scoped, meeting_queryset


class ActionFilters(forms.Form):
    STATES = [
        ("", gettext_lazy("Ouvertes")),
        ("overdue", gettext_lazy("En retard")),
        ("all", gettext_lazy("Toutes")),
        *Action.Status.choices[1:],
    ]
    state = forms.ChoiceField(label=gettext_lazy("Statut"), choices=STATES, required=False)
    committee = forms.ModelChoiceField(
        label=gettext_lazy("Comité"),
        queryset=Committee.objects.none(),
        required=False,
        empty_label=gettext_lazy("Tous"),
    )
    mine = forms.BooleanField(label=gettext_lazy("Mes actions"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["committee"].queryset = Committee.objects.for_user(user)

    def filter(self, actions):
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        state = data.get("state", "")
        if state == "":
            actions = actions.filter(status=Action.Status.OPEN)
        elif state == "overdue":
            actions = actions.filter(status=Action.Status.OPEN, due_date__lt=today)
        elif state != "all":
            actions = actions.filter(status=state)
        if data.get("committee"):
            actions = actions.filter(meeting__committee=data["committee"])
        if data.get("mine"):
            actions = actions.filter(owner=self.user)
        return actions


def follow_up_order(actions):
    """Open and overdue first, then open, then closed; by due date."""
    today = timezone.localdate()
    rank = Case(
        When(Q(status=Action.Status.OPEN, due_date__lt=today), then=Value(0)),
        When(status=Action.Status.OPEN, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return actions.annotate(rank=rank).order_by("rank", "due_date", "pk")


@login_required
def action_list(request):
    filters = ActionFilters(request.GET or None, user=request.user)
    actions = filters.filter(
        Action.objects.for_user(request.user).select_related(
            "owner", "meeting__committee__establishment", "decision__project__ai_system"
        )
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "governance/action_list.html",
        {
            "filters": filters,
            "page": Paginator(follow_up_order(actions), 50).get_page(request.GET.get("page")),
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
