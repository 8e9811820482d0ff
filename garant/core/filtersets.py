"""What the lists' filter sets share (`garant.registry.filtersets`,
`garant.governance.filtersets`, `garant.lifecycle.filtersets`): one django-filter `FilterSet`
per list serves its page, its exports and the API, so the same query string gives the same
records everywhere."""

from __future__ import annotations


def filtered(filterset_class, request, queryset, data=None):
    """(filter set, its records) for `queryset` (already within the user's scope) and the query
    string, or `data` (the API's parameters). No records when a value is invalid:
    `filterset.errors` says which and why (the page shows it, the API answers 422)."""
    filterset = filterset_class(
        request.GET if data is None else data, queryset=queryset, request=request
    )
    if not filterset.is_valid():
        return filterset, queryset.none()
    return filterset, filterset.qs
