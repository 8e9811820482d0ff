"""Risk analysis (AMDEC / FMEA) of an AI system: versioned analyses and their failure modes.

An analysis is a numbered version per system, `draft` while it is worked on and `frozen` once
validated: a frozen version and its rows are never changed again (`AnalysisFrozen`); a new
version copies the latest one (`garant.risks.analyses.new_version`). A failure mode keeps its
`lineage` from one version to the next, so the versions can be compared row by row and other
records (governance actions, adverse events) can follow the same failure mode across versions.
Criticality is computed: C = S × O × D, and the residual one from the residual scores.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import User
from garant.core.tenancy import TenantModel
from garant.registry.models import AISystem


class AnalysisFrozen(Exception):
    """A frozen risk analysis (or one of its rows) was about to be changed."""


def criticality(severity, occurrence, detectability) -> int | None:
    """C = S × O × D, or None while one of them is not scored."""
    if None in (severity, occurrence, detectability):
        return None
    return severity * occurrence * detectability


class RiskAnalysis(Audited, TenantModel):
    """One version of a system's risk analysis, on the scale the establishment chose."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("brouillon")
        FROZEN = "frozen", _("figée")

    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.CASCADE,
        related_name="risk_analyses",
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    scale = models.CharField(
        _("échelles de cotation"),
        max_length=10,
        help_text=_("Choisies selon la politique qualité et gestion des risques (QGDR)."),
    )
    referential_version = models.CharField(_("version du référentiel"), max_length=20)
    comment = models.CharField(_("motif de la version"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("auteur"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    frozen_at = models.DateTimeField(_("figée le"), null=True, blank=True)
    frozen_by = models.ForeignKey(
        User,
        verbose_name=_("figée par"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("analyse de risques")
        verbose_name_plural = _("analyses de risques")
        ordering = ["ai_system", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system", "number"], name="risk_analysis_version_unique"
            ),
            models.UniqueConstraint(
                fields=["ai_system"],
                condition=models.Q(status="draft"),
                name="risk_analysis_one_draft_per_system",
            ),
        ]

    def __str__(self):
        return f"{self.ai_system} — AMDEC v{self.number}"

    @property
    def is_frozen(self) -> bool:
        return self.status == self.Status.FROZEN

    def _stored_frozen(self) -> bool:
        # system code: this very record, read again to know its stored state
        return (
            not self._state.adding
            and RiskAnalysis.objects.unrestricted()
            .filter(pk=self.pk, status=self.Status.FROZEN)
            .exists()
        )

    def save(self, *args, **kwargs):
        if self._stored_frozen():
            raise AnalysisFrozen(self)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_frozen():
            raise AnalysisFrozen(self)
        return super().delete(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("risks:analysis", args=[self.pk])


class FailureMode(Audited, TenantModel):
    """One failure mode of an analysis: its cause, effects, scores before and after the
    controls, owner and review date. Mitigations are governance actions pointing here
    (`governance.Action.failure_mode`); adverse events may point here too."""

    analysis = models.ForeignKey(
        RiskAnalysis,
        verbose_name=_("analyse"),
        on_delete=models.CASCADE,
        related_name="failure_modes",
    )
    lineage = models.UUIDField(
        default=uuid.uuid4,
        editable=False,
        help_text="The same failure mode across the versions of an analysis.",
    )
    position = models.PositiveIntegerField(_("n°"), default=1)
    code = models.CharField(
        _("mode du référentiel"), max_length=40, blank=True, help_text=_("Vide : mode libre.")
    )
    title = models.CharField(_("mode de défaillance"), max_length=300)
    cause = models.TextField(_("cause"))
    effect_patient = models.TextField(_("effet pour le patient"), blank=True)
    effect_organisation = models.TextField(_("effet pour l'organisation"), blank=True)
    severity = models.PositiveSmallIntegerField(_("gravité (G)"), null=True, blank=True)
    occurrence = models.PositiveSmallIntegerField(_("fréquence (F)"), null=True, blank=True)
    detectability = models.PositiveSmallIntegerField(_("détectabilité (D)"), null=True, blank=True)
    criticality = models.PositiveIntegerField(_("criticité"), null=True, editable=False)
    existing_controls = models.TextField(_("moyens de maîtrise existants"), blank=True)
    residual_severity = models.PositiveSmallIntegerField(
        _("gravité résiduelle"), null=True, blank=True
    )
    residual_occurrence = models.PositiveSmallIntegerField(
        _("fréquence résiduelle"), null=True, blank=True
    )
    residual_detectability = models.PositiveSmallIntegerField(
        _("détectabilité résiduelle"), null=True, blank=True
    )
    residual_criticality = models.PositiveIntegerField(
        _("criticité résiduelle"), null=True, editable=False
    )
    occurrence_basis = models.TextField(
        _("justification de la fréquence"),
        blank=True,
        help_text=_("Par exemple : événements indésirables déclarés sur la période."),
    )
    owner = models.ForeignKey(
        User,
        verbose_name=_("responsable (utilisateur)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    owner_name = models.CharField(_("responsable (nom)"), max_length=200, blank=True)
    review_date = models.DateField(_("date de revue"), null=True, blank=True)

    tenant_path = "analysis__ai_system__establishment_id"
    audit_parent = "analysis"

    class Meta:
        verbose_name = _("mode de défaillance")
        verbose_name_plural = _("modes de défaillance")
        ordering = ["analysis", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["analysis", "lineage"], name="risk_failure_mode_lineage_unique"
            )
        ]

    def __str__(self):
        return f"{self.position}. {self.title}"

    @property
    def effective_residual(self) -> int | None:
        """The residual criticality, or the initial one while the residual is not scored."""
        return (
            self.residual_criticality
            if self.residual_criticality is not None
            else (self.criticality)
        )

    @property
    def owner_label(self) -> str:
        return str(self.owner) if self.owner_id else self.owner_name

    def _check_draft(self):
        # system code: the parent analysis of this row, read again for its stored status
        if (
            RiskAnalysis.objects.unrestricted()
            .filter(pk=self.analysis_id, status=RiskAnalysis.Status.FROZEN)
            .exists()
        ):
            raise AnalysisFrozen(self.analysis_id)

    def save(self, *args, **kwargs):
        self._check_draft()
        self.criticality = criticality(self.severity, self.occurrence, self.detectability)
        self.residual_criticality = criticality(
            self.residual_severity, self.residual_occurrence, self.residual_detectability
        )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_draft()
        return super().delete(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("risks:analysis", args=[self.analysis_id])
