"""Querysets that know which establishment their rows belong to (`Model.tenant_path`)."""

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_user(self, user, permission: str = "view"):
        from garant.core.permissions import scope

        return scope(self, user, permission)
