"""Filtering of the feeds: one definition for the monitoring overview `/suivi/` and the API's
list of feeds (`garant.core.filtersets`)."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from garant.core.models import Establishment
from garant.monitoring.models import Alert, Feed


def _establishments(request):
    if not request:
        return Establishment.objects.none()
    return Establishment.objects.for_user(request.user).order_by("name", "pk")


class FeedFilterSet(df.FilterSet):
    establishment = df.ModelChoiceFilter(
        field_name="ai_system__establishment",
        queryset=_establishments,
        label=_("établissement"),
        empty_label=_("tous"),
    )
    ouvertes = df.BooleanFilter(
        method="with_open_alerts",
        label=_("alertes ouvertes seulement"),
        widget=forms.CheckboxInput,
    )
    system = df.NumberFilter(field_name="ai_system_id", widget=forms.HiddenInput)

    class Meta:
        model = Feed
        fields: list[str] = []

    def with_open_alerts(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            Exists(Alert.objects.filter(feed=OuterRef("pk"), state=Alert.State.OPEN))
        )
