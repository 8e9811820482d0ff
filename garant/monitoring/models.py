"""Monitoring feeds: what a system's prediction and outcome tables look like, and the batches
received. The rows themselves live in Delta Lake tables (see `storage.py`), not in the database.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import User
from garant.core.tenancy import TenantModel
from garant.monitoring.engine import DEFAULT_QUANTUM, ColumnSpec
from garant.registry.models import AISystem

MODEL_VERSION_SUBGROUP = "model_version"


class Feed(Audited, TenantModel):
    """The prediction feed of one AI system: the names of its columns in the files sent."""

    ai_system = models.ForeignKey(
        AISystem, verbose_name=_("système d'IA"), on_delete=models.PROTECT, related_name="feeds"
    )
    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(
        _("identifiant court"),
        max_length=50,
        help_text=_("Lettres, chiffres et tirets ; utilisé par la ligne de commande."),
    )
    # prediction table
    prediction_id_column = models.CharField(
        _("colonne identifiant de prédiction"), max_length=100, default="prediction_id"
    )
    timestamp_column = models.CharField(
        _("colonne horodatage"), max_length=100, default="timestamp"
    )
    patient_id_column = models.CharField(
        _("colonne identifiant pseudonyme (patient ou séjour)"),
        max_length=100,
        default="patient_id",
    )
    score_column = models.CharField(_("colonne score"), max_length=100, default="score")
    model_version_column = models.CharField(
        _("colonne version du modèle"), max_length=100, blank=True, default="model_version"
    )
    feature_columns = models.JSONField(_("variables numériques"), default=list, blank=True)
    categorical_columns = models.JSONField(_("variables catégorielles"), default=list, blank=True)
    subgroup_columns = models.JSONField(_("colonnes de sous-groupes"), default=list, blank=True)
    operating_threshold = models.FloatField(
        _("seuil de décision"), help_text=_("Un score supérieur ou égal au seuil déclenche.")
    )
    quantum = models.FloatField(
        _("précision des scores"),
        default=DEFAULT_QUANTUM,
        help_text=_("Les scores sont arrondis à ce pas (1/k) ; enregistré avec les résultats."),
    )
    # outcome table
    outcome_id_column = models.CharField(
        _("colonne identifiant de prédiction (issues)"), max_length=100, default="prediction_id"
    )
    outcome_column = models.CharField(_("colonne issue (0/1)"), max_length=100, default="outcome")
    outcome_time_column = models.CharField(
        _("colonne date de l'issue"), max_length=100, default="outcome_time"
    )
    timezone = models.CharField(
        _("fuseau horaire des heures sans fuseau"),
        max_length=64,
        default="Europe/Paris",
        help_text=_(
            "Une heure reçue sans fuseau (« 2024-03-01 08:00 ») est l'heure légale de ce "
            "fuseau (nom IANA, ex. Europe/Paris, America/Cayenne)."
        ),
    )
    outcome_window_hours = models.PositiveIntegerField(
        _("fenêtre de l'issue (heures)"),
        default=48,
        help_text=_("Une issue compte si elle survient dans ce délai après la prédiction."),
    )

    # the reference of drift rules (score and features): the `window_days` days before the
    # window ("rolling"), or a fixed period such as the validation period ("fixed")
    class DriftReference(models.TextChoices):
        ROLLING = "rolling", _("glissante : les jours qui précèdent la fenêtre")
        FIXED = "fixed", _("période fixe (ex. la période de validation)")

    drift_reference = models.CharField(
        _("référence de la dérive"),
        max_length=8,
        choices=DriftReference.choices,
        default=DriftReference.ROLLING,
    )

    # rows of patients who objected to evaluation use (recorded by garant.patients, asked
    # through garant.monitoring.objections): dropped and counted, or the batch refused
    class ObjectionPolicy(models.TextChoices):
        DROP = "drop", _("écarter leurs lignes et indiquer combien")
        REFUSE = "refuse", _("refuser le lot entier en nommant les lignes")

    objection_policy = models.CharField(
        _("lignes des patients opposés à l'évaluation"),
        max_length=8,
        choices=ObjectionPolicy.choices,
        default=ObjectionPolicy.DROP,
    )
    reference_start = models.DateField(_("début de la période de référence"), null=True, blank=True)
    reference_end = models.DateField(_("fin de la période de référence"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"
    audit_exclude = ("created_at",)

    class Meta:
        verbose_name = _("flux de suivi")
        verbose_name_plural = _("flux de suivi")
        ordering = ["ai_system", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system", "slug"], name="feed_unique_slug_per_system"
            )
        ]

    def __str__(self):
        return f"{self.ai_system.name} › {self.name}"

    def get_absolute_url(self):
        return reverse("monitoring:feed_detail", args=[self.pk])

    @property
    def reference(self) -> str:
        """How the command line names the feed: `<system id>/<slug>`."""
        return f"{self.ai_system_id}/{self.slug}"

    @property
    def fixed_reference(self) -> tuple | None:
        """(first day, last day) of the fixed drift reference, or None when it is rolling."""
        if self.drift_reference == self.DriftReference.FIXED and self.reference_start:
            return (self.reference_start, self.reference_end)
        return None

    @property
    def stored_subgroup_columns(self) -> list[str]:
        """The subgroup columns stored as such: ``model_version`` as a subgroup is the
        model version column, stored once under that name."""
        return [name for name in self.subgroup_columns if name != MODEL_VERSION_SUBGROUP]

    def column_spec(self, timezone: str = "UTC") -> ColumnSpec:
        """The engine's view of the joined table (canonical names, see `storage.joined`)."""
        return ColumnSpec(
            timestamp="timestamp",
            score="score",
            label="label",
            numeric_features=tuple(self.feature_columns),
            categorical_features=tuple(self.categorical_columns),
            groups=tuple(self.subgroup_columns),
            timezone=timezone,
        )


class IngestBatch(Audited, TenantModel):
    """One batch of predictions or outcomes received; its content hash makes re-sending harmless."""

    class Kind(models.TextChoices):
        PREDICTIONS = "predictions", _("prédictions")
        OUTCOMES = "outcomes", _("issues")

    class Source(models.TextChoices):
        UI = "ui", _("interface")
        CLI = "cli", _("ligne de commande")
        API = "api", _("API")

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="batches")
    kind = models.CharField(_("nature"), max_length=12, choices=Kind.choices)
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("lignes"))
    dropped_rows = models.PositiveIntegerField(_("lignes écartées (patients opposés)"), default=0)
    source = models.CharField(_("origine"), max_length=4, choices=Source.choices)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("reçu le"), auto_now_add=True)
    first_time = models.DateTimeField(_("première date du lot"), null=True, blank=True)
    last_time = models.DateTimeField(_("dernière date du lot"), null=True, blank=True)

    tenant_path = "feed__ai_system__establishment_id"
    audit_parent = "feed"
    audit_exclude = ("created_at",)

    class Meta:
        verbose_name = _("lot reçu")
        verbose_name_plural = _("lots reçus")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["feed", "kind", "sha256"], name="ingestbatch_unique_content"
            )
        ]

    def __str__(self):
        return f"{self.feed} — {self.get_kind_display()} ({self.rows})"


class AlertRule(Audited, TenantModel):
    """A condition on a feed's metrics checked after each ingestion and on a schedule."""

    class Kind(models.TextChoices):
        AUC_BELOW = "auc_below", _("AUC sous un plancher")
        PSI_ABOVE = "psi_above", _("dérive du score (PSI) au-dessus d'un seuil")
        SUBGROUP_RATIO_OUTSIDE = (
            "subgroup_ratio_outside",
            _("rapport de sensibilité entre sous-groupes hors tolérance"),
        )
        VOLUME_DROP = "volume_drop", _("chute du volume de prédictions")
        OUTCOMES_LATE = "outcomes_late", _("issues en retard")
        FEATURE_PSI_ABOVE = (
            "feature_psi_above",
            _("dérive d'une variable (PSI) au-dessus d'un seuil"),
        )
        FEATURE_KS_ABOVE = "feature_ks_above", _("dérive d'une variable (KS) au-dessus d'un seuil")
        ECE_ABOVE = "ece_above", _("calibration : erreur (ECE) au-dessus d'un seuil")
        OE_RATIO_OUTSIDE = (
            "oe_ratio_outside",
            _("calibration : rapport observé / attendu hors tolérance"),
        )

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(_("règle"), max_length=24, choices=Kind.choices)
    threshold = models.FloatField(
        _("seuil"),
        help_text=_(
            "AUC : plancher ; PSI, KS, ECE : maximum ; sous-groupes et observé / attendu : "
            "rapport minimal r (tolérance [r ; 1/r]) ; volume : baisse maximale (0,5 = 50 %) ; "
            "issues : part maximale de prédictions sans issue."
        ),
    )
    window_days = models.PositiveIntegerField(_("fenêtre (jours)"), default=30)
    subgroup_column = models.CharField(
        _("colonne de sous-groupe"), max_length=100, blank=True, default=""
    )
    feature = models.CharField(
        _("variable"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Pour la dérive d'une variable : une variable déclarée du flux."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    # last evaluation (bookkeeping, not audited)
    last_evaluated_at = models.DateTimeField(_("dernière évaluation"), null=True, blank=True)
    last_value = models.FloatField(_("dernière valeur"), null=True, blank=True)
    last_status = models.CharField(_("dernier état"), max_length=300, blank=True, default="")

    tenant_path = "feed__ai_system__establishment_id"
    audit_parent = "feed"
    audit_exclude = ("created_at", "last_evaluated_at", "last_value", "last_status")

    class Meta:
        verbose_name = _("règle d'alerte")
        verbose_name_plural = _("règles d'alerte")
        ordering = ["feed", "kind", "pk"]

    def __str__(self):
        return f"{self.feed} — {self.get_kind_display()} ({self.threshold})"


class Alert(Audited, TenantModel):
    """A breach of a rule: open until acknowledged (with a comment) or back to normal."""

    class State(models.TextChoices):
        OPEN = "open", _("ouverte")
        ACKNOWLEDGED = "acknowledged", _("prise en compte")
        RESOLVED = "resolved", _("résolue")

    class Resolution(models.TextChoices):
        """Why a resolved alert was closed (empty while it is open or acknowledged)."""

        BACK_TO_NORMAL = "back_to_normal", _("close automatiquement : retour à la normale")
        RULE_DEACTIVATED = "rule_deactivated", _("règle désactivée")
        MANUAL = "manual", _("résolue manuellement")

    # RESTRICT: a rule that raised alerts cannot be deleted (they are evidence), but
    # deleting the whole feed still removes its rules and alerts together
    rule = models.ForeignKey(AlertRule, on_delete=models.RESTRICT, related_name="alerts")
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="alerts")
    opened_at = models.DateTimeField(_("ouverte le"), auto_now_add=True)
    value = models.FloatField(_("valeur"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=500)
    # what the rule compared when it opened the alert (days of the project's time zone,
    # both included) and the figures of the plain-language text (`alerts.plain_text`)
    window_start = models.DateField(_("début de la fenêtre"), null=True, blank=True)
    window_end = models.DateField(_("fin de la fenêtre"), null=True, blank=True)
    reference_start = models.DateField(_("début de la référence"), null=True, blank=True)
    reference_end = models.DateField(_("fin de la référence"), null=True, blank=True)
    facts = models.JSONField(_("constats chiffrés"), default=dict, blank=True)
    state = models.CharField(_("état"), max_length=12, choices=State.choices, default=State.OPEN)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    comment = models.TextField(_("commentaire"), blank=True, default="")
    resolved_at = models.DateTimeField(_("résolue le"), null=True, blank=True)
    resolution = models.CharField(
        _("motif de résolution"),
        max_length=20,
        choices=Resolution.choices,
        blank=True,
        default="",
    )
    resolved_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(_("note de résolution"), blank=True, default="")

    tenant_path = "feed__ai_system__establishment_id"
    audit_parent = "feed"

    class Meta:
        verbose_name = _("alerte")
        verbose_name_plural = _("alertes")
        ordering = ["-opened_at", "-pk"]

    def __str__(self):
        return f"{self.feed} — {self.message}"

    def get_absolute_url(self):
        return reverse("monitoring:alert_detail", args=[self.pk])

    @property
    def ai_system(self):
        """The system of the feed: what an alert of the oversight rates (`garant.oversight`)
        holds directly, so that the panels of both kinds of alert read it alike."""
        return self.feed.ai_system

    @property
    def ongoing(self) -> bool:
        """Open or acknowledged: in progress until the metric is back to normal or it is
        resolved explicitly."""
        return self.state in (self.State.OPEN, self.State.ACKNOWLEDGED)
