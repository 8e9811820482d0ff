"""Regulatory qualification of a system and the checklist of obligations that follows from it.

A `Qualification` stores the answers, the result (codes), the referential version it used and
the register fields it read; the latest one of a system is its current qualification. Saving
one brings the system's `Obligation` rows in line with it (`checklist.sync`): each obligation
keeps its status, owner, due date, evidence and comments across re-qualifications, and one that
is no longer required stays visible as such instead of disappearing.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from garant.compliance.rules import rulebook
from garant.core.audit import Audited
from garant.core.models import User
from garant.core.referentials import ReferentialError, localized
from garant.core.tenancy import TenantModel
from garant.registry.models import AISystem


class RiskLevel(models.TextChoices):
    """The headline of a qualification, from the most to the least constraining."""

    PROHIBITED = "prohibited", _("Pratique interdite")
    HIGH = "high", _("Haut risque")
    TRANSPARENCY = "transparency", _("Obligations de transparence")
    MINIMAL = "minimal", _("Risque minimal")
    OUT_OF_SCOPE = "out_of_scope", _("Hors champ de l'AI Act (recherche)")
    NOT_AI = "not_ai", _("Pas un système d'IA")


class Qualification(Audited, TenantModel):
    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.CASCADE,
        related_name="qualifications",
    )
    referential_version = models.CharField(_("version du référentiel"), max_length=20)
    answers = models.JSONField(_("réponses"), default=dict)
    result = models.JSONField(_("résultat"), default=dict)
    system_snapshot = models.JSONField(_("champs du registre utilisés"), default=dict)
    risk_level = models.CharField(_("niveau de risque"), max_length=20, choices=RiskLevel.choices)
    legal_review = models.BooleanField(_("à confirmer par une revue juridique"), default=False)
    created_at = models.DateTimeField(_("qualifié le"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("auteur"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("qualification réglementaire")
        verbose_name_plural = _("qualifications réglementaires")
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self):
        return gettext("Qualification de %(system)s (%(version)s)") % {
            "system": self.ai_system,
            "version": self.referential_version,
        }

    def get_absolute_url(self):
        return reverse("compliance:qualification", args=[self.pk])

    @staticmethod
    def risk_level_of(result: dict) -> str:
        facts = result["facts"]
        if not facts["ai_system"]:
            return RiskLevel.NOT_AI
        if not facts["ai_act_applies"]:
            return RiskLevel.OUT_OF_SCOPE
        if facts["prohibited"]:
            return RiskLevel.PROHIBITED
        if facts["high_risk"]:
            return RiskLevel.HIGH
        if facts["transparency"]:
            return RiskLevel.TRANSPARENCY
        return RiskLevel.MINIMAL

    @property
    def high_risk_bases(self) -> list[str]:
        facts = self.result.get("facts", {})
        return list(facts.get("annex_i", [])) + (
            list(facts.get("annex_iii_uses", [])) if facts.get("annex_iii") else []
        )


class ObligationStatus(models.TextChoices):
    TODO = "todo", _("À faire")
    IN_PROGRESS = "in_progress", _("En cours")
    DONE = "done", _("Fait")
    NOT_APPLICABLE = "not_applicable", _("Non applicable")


class Obligation(Audited, TenantModel):
    """One duty of one system, from its qualification, and how far the establishment got."""

    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.CASCADE,
        related_name="obligations",
    )
    code = models.CharField(_("code"), max_length=40)
    family = models.CharField(_("famille"), max_length=40, db_index=True)
    referential_version = models.CharField(_("version du référentiel"), max_length=20)
    date_key = models.CharField(_("date d'application (clé)"), max_length=40)
    applies_from = models.DateField(_("applicable à partir du"))
    required = models.BooleanField(
        _("requise par la qualification en cours"),
        default=True,
        help_text=_("Faux quand une qualification plus récente ne la demande plus."),
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=ObligationStatus.choices, default=ObligationStatus.TODO
    )
    justification = models.TextField(
        _("justification"),
        blank=True,
        help_text=_("Obligatoire pour « non applicable », et pour « fait » sans preuve jointe."),
    )
    owner = models.ForeignKey(
        User,
        verbose_name=_("responsable"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="compliance_obligations",
    )
    proposed_owner = models.ForeignKey(
        User,
        verbose_name=_("responsable proposé"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text=_("Proposé d'après les rôles de l'établissement ; à accepter ou changer."),
    )
    due_date = models.DateField(_("échéance"))
    due_date_manual = models.BooleanField(
        _("échéance fixée par un utilisateur"), default=False, editable=False
    )
    completed_at = models.DateTimeField(_("terminée le"), null=True, blank=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"
    audit_exclude = ("updated_at",)
    # referential keys, recorded but not shown in a history: the obligation's title says them
    audit_hidden = ("code", "family", "date_key", "referential_version")

    class Meta:
        verbose_name = _("obligation")
        verbose_name_plural = _("obligations")
        ordering = ["ai_system", "due_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system", "code"], name="obligation_unique_per_system"
            )
        ]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self):
        return f"{self.ai_system} — {self.title}"

    @property
    def title(self) -> str:
        """The obligation's title in its referential version (its code if none is found)."""
        try:
            item = rulebook(self.referential_version).obligations[self.code]
        except (ReferentialError, KeyError):
            return self.code
        return localized(item["title"])

    def get_absolute_url(self):
        return reverse("compliance:obligation", args=[self.pk])

    @property
    def open(self) -> bool:
        return self.required and self.status in (
            ObligationStatus.TODO,
            ObligationStatus.IN_PROGRESS,
        )

    def overdue(self, today: dt.date | None = None) -> bool:
        return self.open and self.due_date < (today or timezone.localdate())

    def clean(self):
        if self.status == ObligationStatus.NOT_APPLICABLE and not self.justification.strip():
            raise ValidationError(
                {"justification": gettext("Justifiez pourquoi l'obligation ne s'applique pas.")}
            )
        if (
            self.status == ObligationStatus.DONE
            and not self.justification.strip()
            and not self.has_evidence
        ):
            raise ValidationError(
                {
                    "justification": gettext(
                        "Aucune preuve n'est jointe : joignez d'abord une preuve, ou justifiez "
                        "pourquoi l'obligation est faite sans preuve (la justification figurera "
                        "comme telle sur les rapports)."
                    )
                }
            )

    @property
    def has_evidence(self) -> bool:
        return bool(self.pk) and Evidence.objects.within(obligation=self).exists()

    def done_without_evidence(self, evidence_count: int) -> bool:
        """Done with no evidence attached: the reports show its justification as such."""
        return self.status == ObligationStatus.DONE and not evidence_count


def evidence_path(instance, filename: str) -> str:
    return f"evidence/{instance.obligation.ai_system_id}/{instance.obligation_id}/{filename}"


class Evidence(Audited, TenantModel):
    """A file or a link proving an obligation is met."""

    obligation = models.ForeignKey(
        Obligation, verbose_name=_("obligation"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(_("fichier"), upload_to=evidence_path, max_length=300, blank=True)
    url = models.URLField(_("lien"), max_length=500, blank=True)
    description = models.CharField(_("description"), max_length=300)
    added_at = models.DateTimeField(_("ajoutée le"), default=timezone.now, editable=False)
    added_by = models.ForeignKey(
        User, verbose_name=_("ajoutée par"), on_delete=models.SET_NULL, null=True, related_name="+"
    )

    tenant_path = "obligation__ai_system__establishment_id"
    audit_parent = "obligation"

    class Meta:
        verbose_name = _("preuve")
        verbose_name_plural = _("preuves")
        ordering = ["-added_at", "-pk"]

    def __str__(self):
        return self.description

    @property
    def filename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""


class ObligationComment(Audited, TenantModel):
    obligation = models.ForeignKey(
        Obligation, verbose_name=_("obligation"), on_delete=models.CASCADE, related_name="comments"
    )
    text = models.TextField(_("commentaire"))
    created_at = models.DateTimeField(_("écrit le"), default=timezone.now, editable=False)
    author = models.ForeignKey(
        User, verbose_name=_("auteur"), on_delete=models.SET_NULL, null=True, related_name="+"
    )

    tenant_path = "obligation__ai_system__establishment_id"
    audit_parent = "obligation"

    class Meta:
        verbose_name = _("commentaire")
        verbose_name_plural = _("commentaires")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.text[:60]
