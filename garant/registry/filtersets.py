"""Filtering of the register: one definition for the list page, the exports and the API."""

from __future__ import annotations

import django_filters as df
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from garant.core.models import Establishment, Service
from garant.core.referentials import vocabulary
from garant.registry.models import AISystem, Vendor

BOOLEAN_CHOICES = [("true", _("Oui")), ("false", _("Non"))]

# (query parameter, model field) pairs accepted by ?sort=... ("-" prefix for descending)
SORTABLE = {
    "name": "name",
    "establishment": "establishment__name",
    "vendor": "vendor__name",
    "solution_type": "solution_type",
    "domain": "domain",
    "modality": "modality",
    "phase": "phase",
    "hosting": "hosting",
    "device_status": "device_status",
    "go_live": "go_live",
    "updated_at": "updated_at",
}


def _establishments(request):
    return Establishment.objects.for_user(request.user) if request else Establishment.objects.none()


def _services(request):
    if not request:
        return Service.objects.none()
    return Service.objects.for_user(request.user).select_related("establishment")


def _vendors(request):
    if not request:
        return Vendor.objects.none()
    return Vendor.objects.for_user(request.user).select_related("establishment")


def vocab_filter(name: str, label, field: str | None = None, code_set: bool = False):
    return df.ChoiceFilter(
        field_name=field or name,
        lookup_expr="has" if code_set else "exact",
        choices=vocabulary(name).choices,
        label=label,
    )


class AISystemFilterSet(df.FilterSet):
    q = df.CharFilter(method="search", label=_("Recherche"))
    establishment = df.ModelChoiceFilter(queryset=_establishments, label=_("Établissement"))
    service = df.ModelChoiceFilter(
        # one service matches at most one row per system: no DISTINCT needed
        field_name="services",
        queryset=_services,
        label=_("Service"),
        distinct=False,
    )
    vendor = df.ModelChoiceFilter(queryset=_vendors, label=_("Éditeur"))
    solution_type = vocab_filter("solution_type", _("Type de solution"))
    domain = vocab_filter("domain", _("Domaine"))
    modality = vocab_filter("modality", _("Modalité"))
    phase = vocab_filter("phase", _("Phase"))
    hosting = vocab_filter("hosting", _("Hébergement"))
    hds_certified = df.ChoiceFilter(
        choices=BOOLEAN_CHOICES, method="boolean", label=_("Hébergeur HDS")
    )
    data_category = vocab_filter(
        "data_category", _("Catégorie de données"), "data_categories", code_set=True
    )
    data_source = vocab_filter("data_source", _("Source de données"), "data_sources", code_set=True)
    device_status = vocab_filter("device_status", _("Statut DM"))
    gpai_based = df.ChoiceFilter(
        choices=BOOLEAN_CHOICES, method="boolean", label=_("Modèle à usage général")
    )
    sort = df.ChoiceFilter(
        method="order",
        label=_("Tri"),
        choices=[(k, k) for k in SORTABLE] + [(f"-{k}", f"-{k}") for k in SORTABLE],
    )

    class Meta:
        model = AISystem
        fields: list[str] = []

    def search(self, queryset, name, value):
        q = Q()
        for word in value.split():
            q &= (
                Q(name__icontains=word)
                | Q(product__icontains=word)
                | Q(vendor__name__icontains=word)
                | Q(intended_purpose__icontains=word)
                | Q(use_case__icontains=word)
                | Q(gpai_model__icontains=word)
                | Q(medical_referent__icontains=word)
                | Q(technical_referent__icontains=word)
            )
        return queryset.filter(q)

    def boolean(self, queryset, name, value):
        return queryset.filter(**{name: value == "true"})

    def order(self, queryset, name, value):
        desc = value.startswith("-")
        field = SORTABLE[value.lstrip("-")]
        return queryset.order_by(f"-{field}" if desc else field, "-pk" if desc else "pk")


def filtered_systems(request, data=None):
    """The systems `request.user` may read, filtered by `data` (the query string by default).

    Returns (filterset, queryset); on invalid parameters the queryset is empty and
    `filterset.errors` says which parameter and why.
    """
    base = AISystem.objects.for_user(request.user).select_related("establishment", "vendor")
    filterset = AISystemFilterSet(
        request.GET if data is None else data, queryset=base, request=request
    )
    if not filterset.is_valid():
        return filterset, base.none()
    return filterset, filterset.qs
