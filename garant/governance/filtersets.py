"""Filtering of the governance lists: one definition per list for its page, its export and
the API (`garant.core.filtersets`). The same query string gives the same records everywhere;
an invalid value gives none (the page says why, the API answers 422)."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.dates import DATE_WIDGET
from garant.governance.models import Action, Committee, Decision, Outcome


def _committees(request):
    if not request:
        return Committee.objects.none()
    return Committee.objects.for_user(request.user).select_related("establishment")


class ActionFilterSet(df.FilterSet):
    """The actions' follow-up: open actions unless `state` says otherwise."""

    state = df.ChoiceFilter(
        method="by_state",
        label=_("Statut"),
        empty_label=_("Ouvertes"),
        choices=[("overdue", _("En retard")), ("all", _("Toutes")), *Action.Status.choices],
    )
    committee = df.ModelChoiceFilter(
        field_name="meeting__committee",
        queryset=_committees,
        label=_("Comité"),
        empty_label=_("Tous"),
    )
    mine = df.BooleanFilter(method="by_me", label=_("Mes actions"), widget=forms.CheckboxInput)
    meeting = df.NumberFilter(field_name="meeting_id", widget=forms.HiddenInput)
    decision = df.NumberFilter(field_name="decision_id", widget=forms.HiddenInput)
    owner = df.NumberFilter(field_name="owner_id", widget=forms.HiddenInput)

    class Meta:
        model = Action
        fields: list[str] = []

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("state"):
            queryset = queryset.filter(status=Action.Status.OPEN)
        return follow_up_order(super().filter_queryset(queryset))

    def by_state(self, queryset, name, value):
        if value == "overdue":
            return queryset.filter(status=Action.Status.OPEN, due_date__lt=timezone.localdate())
        return queryset if value == "all" else queryset.filter(status=value)

    def by_me(self, queryset, name, value):
        return queryset.filter(owner=self.request.user) if value else queryset


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


class DecisionFilterSet(df.FilterSet):
    """The decision register (relevé de décisions)."""

    q = df.CharFilter(
        field_name="project__ai_system__name",
        lookup_expr="icontains",
        label=_("Projet"),
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    committee = df.ModelChoiceFilter(
        field_name="meeting__committee",
        queryset=_committees,
        label=_("Comité"),
        empty_label=_("Tous"),
    )
    outcome = df.ChoiceFilter(choices=Outcome.choices, label=_("Décision"), empty_label=_("Toutes"))
    state = df.ChoiceFilter(
        method="by_signature",
        label=_("Signature"),
        empty_label=_("Toutes"),
        choices=[("signed", _("Signées")), ("draft", _("À signer"))],
    )
    date_from = df.DateFilter(
        field_name="meeting__starts_at__date",
        lookup_expr="gte",
        label=_("Séance du"),
        widget=DATE_WIDGET,
    )
    date_to = df.DateFilter(
        field_name="meeting__starts_at__date", lookup_expr="lte", label=_("au"), widget=DATE_WIDGET
    )
    meeting = df.NumberFilter(field_name="meeting_id", widget=forms.HiddenInput)
    project = df.NumberFilter(field_name="project_id", widget=forms.HiddenInput)

    class Meta:
        model = Decision
        fields: list[str] = []

    def by_signature(self, queryset, name, value):
        return queryset.filter(signed_at__isnull=value == "draft")
