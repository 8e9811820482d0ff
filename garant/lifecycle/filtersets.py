"""Filtering of the project portfolio: one definition for its page (the board) and the API's
list of projects (`garant.core.filtersets`)."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.utils.translation import gettext_lazy as _

from garant.core.models import Establishment, Service
from garant.core.referentials import vocabulary
from garant.lifecycle import gates
from garant.lifecycle.models import Project


def _establishments(request):
    return Establishment.objects.for_user(request.user) if request else Establishment.objects.none()


def _services(request):
    if not request:
        return Service.objects.none()
    return Service.objects.for_user(request.user).select_related("establishment")


def _vocabulary(name: str):
    return lambda: vocabulary(name).choices()


class ProjectFilterSet(df.FilterSet):
    establishment = df.ModelChoiceFilter(queryset=_establishments, label=_("établissement"))
    domain = df.ChoiceFilter(
        field_name="ai_system__domain", choices=_vocabulary("domain"), label=_("domaine")
    )
    solution_type = df.ChoiceFilter(
        field_name="ai_system__solution_type",
        choices=_vocabulary("solution_type"),
        label=_("type de solution"),
    )
    service = df.ModelChoiceFilter(
        # a service matches at most one row per project: no DISTINCT needed
        field_name="ai_system__services",
        queryset=_services,
        label=_("service"),
        distinct=False,
    )
    phase = df.ChoiceFilter(choices=_vocabulary("phase"), label=_("phase"))
    blocked = df.BooleanFilter(
        method="only_blocked",
        label=_("bloqués à une étape seulement"),
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Project
        fields: list[str] = []

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset).order_by("ai_system__name", "pk")

    def only_blocked(self, queryset, name, value):
        """Projects a gate blocks (judged in Python on the prefetched rows)."""
        if not value:
            return queryset
        queryset = queryset.prefetch_related(*gates.prefetch_names())
        return queryset.filter(pk__in=[p.pk for p in queryset if gates.blocked_reason(p)])
