"""Tenancy (group → establishments → services), accounts and roles, API tokens, audit trail."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.audit_models import AuditChainHead, AuditEvent  # noqa: F401  (re-exported)
from garant.core.roles import Role
from garant.core.tenancy import TenantModel, TenantQuerySet


class EstablishmentGroup(Audited, models.Model):
    """A GCS or GHT: the group the establishments belong to."""

    name = models.CharField(_("nom"), max_length=200, unique=True)
    short_name = models.CharField(_("sigle"), max_length=40, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("groupement (GCS / GHT)")
        verbose_name_plural = _("groupements")

    def __str__(self):
        return self.name

    @staticmethod
    def tenant_q(ids) -> Q:
        """A group is visible to the members of one of its establishments."""
        return Q(pk__in=Establishment.objects.filter(pk__in=ids).values("group_id"))


class LegalStatus(models.TextChoices):
    """The legal status of an establishment (the codes are those of the qualification's
    `legal_status` question: a public body deploying an Annex III system owes a FRIA)."""

    PUBLIC = "public", _("Établissement public de santé (CHU, CH, GCS de droit public)")
    PRIVATE_PUBLIC_SERVICE = (
        "private_public_service",
        _("Établissement privé chargé d'une mission de service public (ESPIC)"),
    )
    PRIVATE = "private", _("Établissement privé")


class Establishment(Audited, TenantModel):
    group = models.ForeignKey(
        EstablishmentGroup,
        verbose_name=_("groupement"),
        on_delete=models.PROTECT,
        related_name="establishments",
        null=True,
        blank=True,
    )
    code = models.SlugField(_("code"), max_length=30, unique=True, allow_unicode=False)
    name = models.CharField(_("nom"), max_length=200)
    finess = models.CharField(_("n° FINESS"), max_length=9, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    legal_status = models.CharField(
        _("statut juridique"),
        max_length=30,
        choices=LegalStatus.choices,
        blank=True,
        help_text=_("Repris par la qualification réglementaire de ses systèmes."),
    )

    tenant_path = "id"

    class Meta:
        verbose_name = _("établissement")
        verbose_name_plural = _("établissements")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Service(Audited, TenantModel):
    """A clinical or support unit (service), optionally within a pôle."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="services",
    )
    name = models.CharField(_("nom"), max_length=200)
    pole = models.CharField(_("pôle"), max_length=200, blank=True)

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["establishment__name", "pole", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "name"], name="service_unique_name_per_establishment"
            )
        ]

    def __str__(self):
        return f"{self.pole} › {self.name}" if self.pole else self.name


class User(Audited, AbstractUser):
    must_change_password = models.BooleanField(_("doit changer son mot de passe"), default=False)

    audit_exclude = ("password", "last_login")

    @staticmethod
    def tenant_q(ids) -> Q:
        """A user is visible in the establishments where they hold a role."""
        return Q(pk__in=Membership.objects.filter(establishment_id__in=ids).values("user_id"))

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")

    def __str__(self):
        return self.get_full_name() or self.username


class Membership(Audited, TenantModel):
    """A role that a user holds in one establishment."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices)

    tenant_path = "establishment_id"
    audit_parent = "user"

    class Meta:
        verbose_name = _("rôle dans un établissement")
        verbose_name_plural = _("rôles dans les établissements")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "establishment", "role"], name="membership_unique_role"
            )
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} — {self.establishment}"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(Audited, models.Model):
    """A bearer token for scripts. Only its SHA-256 is stored; the raw value is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nom"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    revoked = models.BooleanField(_("révoqué"), default=False)

    audit_exclude = ("digest", "last_used_at")
    audit_parent = "user"

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: User, name: str = "", expires_at=None) -> tuple[ApiToken, str]:
        raw = "grt_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=raw[:12], digest=_hash_token(raw), expires_at=expires_at
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> User | None:
        token = cls.objects.select_related("user").filter(digest=_hash_token(raw)).first()
        if token is None or token.revoked or not token.user.is_active:
            return None
        now = timezone.now()
        if token.expires_at and token.expires_at <= now:
            return None
        cls.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user
