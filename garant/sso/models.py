"""Which accounts an identity provider manages: one row per (provider, subject)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import User


class Identity(Audited, models.Model):
    """An account created or signed in through a provider; its `sub` claim never changes.

    An account with an identity is SSO-managed: it cannot sign in with a local password.
    `deactivated_by_sso` tells an account that single sign-on deactivated (it lost its last
    role at the provider: reactivated when the provider gives one back) from one that an
    administrator deactivated (stays so).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sso_identities")
    provider = models.CharField(_("fournisseur d'identité"), max_length=40)
    subject = models.CharField(_("identifiant chez le fournisseur (sub)"), max_length=255)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_sign_in = models.DateTimeField(null=True, blank=True)
    deactivated_by_sso = models.BooleanField(default=False)

    audit_exclude = ("last_sign_in",)
    audit_parent = "user"

    class Meta:
        verbose_name = _("identité de connexion unique")
        verbose_name_plural = _("identités de connexion unique")
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="sso_identity_unique")
        ]

    def __str__(self):
        return f"{self.provider}:{self.subject} → {self.user}"
