"""From pilot to routine: ideas from the field, projects and their phases, the PoC charter with
its success indicators, and assessments on a decision grid.

A project follows one register entry (`AISystem`) through its phases; the phase lives on the
project and is mirrored on the system (`ai_system.phase`), and only `gates.transition` changes
it. Decision grids are referential data (`garant/referentials/decision_grid/`), read by
`garant.lifecycle.grids`; an assessment stores the grid code and version it used.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.fields import CodeField
from garant.core.models import Establishment, Service, User
from garant.core.numbers import number
from garant.core.tenancy import TenantModel
from garant.lifecycle.outcomes import Recommendation
from garant.registry.models import AISystem

# --- ideas (bottom-up) -------------------------------------------------------------------------


class Idea(Audited, TenantModel):
    """An idea submitted by anyone in the establishment, triaged by the committee."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Soumise, en attente de tri")
        ACCEPTED = "accepted", _("Acceptée pour instruction")
        MERGED = "merged", _("Fusionnée avec une autre idée")
        DECLINED = "declined", _("Non retenue")

    class Benefit(models.TextChoices):
        PATIENTS = "patients", _("Pour les patients")
        STAFF = "staff", _("Pour les professionnels")
        BOTH = "both", _("Pour les patients et les professionnels")

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="ideas",
    )
    author = models.ForeignKey(
        User,
        verbose_name=_("auteur"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="ideas",
    )
    title = models.CharField(_("titre de l'idée"), max_length=200)
    need = models.TextField(_("besoin"), help_text=_("Quel problème rencontrez-vous ?"))
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ideas",
    )
    expected_benefit = models.CharField(
        _("bénéfice attendu"), max_length=10, choices=Benefit.choices
    )
    benefit_details = models.TextField(_("précisions sur le bénéfice"), blank=True)
    data_available = models.TextField(
        _("données disponibles"),
        blank=True,
        help_text=_("Quelles données existent déjà (DPI, PACS, tableaux…) ?"),
    )
    solution_known = models.BooleanField(_("une solution existe déjà"), default=False)
    solution_name = models.CharField(_("solution connue (laquelle)"), max_length=200, blank=True)

    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    triage_reason = models.TextField(_("motif du tri"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("fusionnée avec"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_ideas",
    )
    triaged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    triaged_at = models.DateTimeField(_("triée le"), null=True, blank=True)
    project = models.OneToOneField(
        "Project",
        verbose_name=_("projet"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="idea",
    )
    created_at = models.DateTimeField(_("soumise le"), default=timezone.now)

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("idée")
        verbose_name_plural = _("idées")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["establishment", "status"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("lifecycle:idea_detail", args=[self.pk])


class Notification(Audited, TenantModel):
    """A message for one user, shown on their home page (and sent by e-mail)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField(_("message"), max_length=300)
    url = models.CharField(_("lien"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "establishment_id"
    audit_parent = "user"

    class Meta:
        verbose_name = _("notification")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.message


# --- projects and phases -----------------------------------------------------------------------


class Project(Audited, TenantModel):
    """The lifecycle of one register entry, from instruction to routine (or retirement)."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="projects",
    )
    ai_system = models.OneToOneField(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.PROTECT,
        related_name="project",
    )
    phase = CodeField(_("phase"), max_length=20, vocabulary="phase", default="instruction")
    phase_entered_at = models.DateTimeField(_("dans cette phase depuis"), default=timezone.now)
    grid_code = models.CharField(
        _("grille de décision"),
        max_length=40,
        blank=True,
        help_text=_("Vide : la grille du domaine du système."),
    )
    grid_override_reason = models.TextField(_("motif du choix d'une autre grille"), blank=True)
    review_period_months = models.PositiveSmallIntegerField(
        _("périodicité de réévaluation (mois)"), default=12
    )
    next_review_date = models.DateField(_("prochaine réévaluation"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("projet")
        verbose_name_plural = _("projets")
        ordering = ["ai_system__name", "pk"]
        indexes = [models.Index(fields=["establishment", "phase"])]

    def __str__(self):
        return str(self.ai_system)

    def get_absolute_url(self):
        return reverse("lifecycle:project_detail", args=[self.pk])

    @property
    def modality(self) -> str:
        return self.ai_system.modality

    @property
    def effective_grid_code(self) -> str:
        from garant.lifecycle.grids import grid_for_domain

        return self.grid_code or grid_for_domain(self.ai_system.domain)

    @property
    def review_overdue(self) -> bool:
        return (
            self.phase == "routine"
            and self.next_review_date is not None
            and self.next_review_date < timezone.localdate()
        )


class PhaseTransition(Audited, TenantModel):
    """One change of phase: who, when, why."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("projet")
    )
    from_phase = CodeField(_("phase de départ"), max_length=20, vocabulary="phase", blank=True)
    to_phase = CodeField(_("phase d'arrivée"), max_length=20, vocabulary="phase")
    by = models.ForeignKey(
        User, verbose_name=_("par"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(_("le"), default=timezone.now)
    reason = models.TextField(_("motif"), blank=True)

    tenant_path = "project__establishment_id"
    audit_parent = "project"

    class Meta:
        verbose_name = _("changement de phase")
        verbose_name_plural = _("changements de phase")
        ordering = ["project", "at", "pk"]

    def __str__(self):
        return f"{self.project}: {self.from_phase or '—'} → {self.to_phase}"


# --- PoC charter and success indicators --------------------------------------------------------

#: the shortest PoC, in weeks, unless the charter says otherwise with a reason
MIN_POC_WEEKS = 4


class PocCharter(Audited, TenantModel):
    """The framing of a proof of concept: a precise use case, a limited scope, measurable
    indicators, users involved from the start, production constraints anticipated."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="charter", verbose_name=_("projet")
    )
    use_case = models.TextField(_("cas d'usage précis"))
    operational_objective = models.TextField(_("objectif opérationnel"))
    services = models.ManyToManyField(
        Service, verbose_name=_("services du périmètre"), related_name="poc_charters", blank=True
    )
    users_count = models.PositiveIntegerField(_("nombre d'utilisateurs"), null=True, blank=True)
    patient_population = models.TextField(_("population de patients"), blank=True)
    duration_weeks = models.PositiveSmallIntegerField(_("durée (semaines)"), null=True, blank=True)
    min_duration_weeks = models.PositiveSmallIntegerField(
        _("durée minimale du PoC (semaines)"),
        default=MIN_POC_WEEKS,
        help_text=_(
            "Le PoC ne passe pas à l'évaluation avant cette durée (4 semaines par défaut ; "
            "en dessous, indiquez le motif)."
        ),
    )
    min_duration_reason = models.TextField(_("motif d'une durée minimale réduite"), blank=True)
    start_date = models.DateField(_("date de début"), null=True, blank=True)
    end_date = models.DateField(_("date de fin"), null=True, blank=True)
    users_involved = models.TextField(
        _("utilisateurs impliqués et leur rôle"),
        blank=True,
        help_text=_("Une personne par ligne : nom — rôle dans le PoC."),
    )
    data_quality_check = models.TextField(_("vérification de la qualité des données"), blank=True)
    scalability = models.TextField(_("passage à l'échelle (scalabilité)"), blank=True)
    integration = models.TextField(_("intégration aux outils existants"), blank=True)
    regulatory_status = models.TextField(_("statut réglementaire"), blank=True)
    budget = models.DecimalField(
        _("budget (€)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    budget_notes = models.TextField(_("précisions sur le budget"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    tenant_path = "project__establishment_id"
    audit_parent = "project"
    audit_exclude = ("updated_at",)

    class Meta:
        verbose_name = _("charte de PoC")
        verbose_name_plural = _("chartes de PoC")

    def __str__(self):
        return f"{_('Charte')} — {self.project}"


class Indicator(Audited, TenantModel):
    """A success indicator of a charter, with its baseline and target."""

    class Direction(models.TextChoices):
        HIGHER = "higher", _("Plus haut est mieux")
        LOWER = "lower", _("Plus bas est mieux")

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Hebdomadaire")
        MONTHLY = "monthly", _("Mensuelle")
        QUARTERLY = "quarterly", _("Trimestrielle")
        END = "end", _("En fin de PoC")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Saisie manuelle")
        MONITORING = "monitoring", _("Métrique du suivi")

    charter = models.ForeignKey(
        PocCharter, on_delete=models.CASCADE, related_name="indicators", verbose_name=_("charte")
    )
    name = models.CharField(_("nom de l'indicateur"), max_length=200)
    unit = models.CharField(_("unité"), max_length=40, blank=True)
    baseline = models.DecimalField(
        _("valeur de référence"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    target = models.DecimalField(_("cible"), max_digits=14, decimal_places=4, null=True, blank=True)
    direction = models.CharField(
        _("sens"), max_length=10, choices=Direction.choices, default=Direction.HIGHER
    )
    measurement_method = models.TextField(_("méthode de mesure"), blank=True)
    frequency = models.CharField(
        _("fréquence"), max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.MANUAL
    )
    feed = models.ForeignKey(
        "monitoring.Feed",
        verbose_name=_("flux de suivi"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="indicators",
    )
    metric = models.CharField(_("métrique du suivi"), max_length=40, blank=True)
    criterion_code = models.CharField(_("critère de la grille"), max_length=40, blank=True)
    grid_indicator = models.CharField(
        _("indicateur obligatoire de la grille"),
        max_length=60,
        blank=True,
        help_text=_("L'indicateur obligatoire de la grille que celui-ci mesure."),
    )
    shortfall_reason = models.TextField(
        _("motif des valeurs manquantes"),
        blank=True,
        help_text=_(
            "Si l'indicateur a moins de valeurs pendant le PoC que sa fréquence n'en demande, "
            "expliquez pourquoi."
        ),
    )

    tenant_path = "charter__project__establishment_id"
    audit_parent = "charter"

    class Meta:
        verbose_name = _("indicateur de succès")
        verbose_name_plural = _("indicateurs de succès")
        ordering = ["charter", "pk"]

    def __str__(self):
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def is_measurable(self) -> bool:
        """A target, and a way to obtain values (a method or a monitoring metric)."""
        has_source = bool(self.measurement_method.strip()) or bool(self.feed_id and self.metric)
        return self.target is not None and has_source


class IndicatorValue(Audited, TenantModel):
    """One measured value of an indicator, on a date."""

    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="values", verbose_name=_("indicateur")
    )
    value = models.DecimalField(_("valeur"), max_digits=14, decimal_places=4)
    measured_on = models.DateField(_("mesurée le"))
    source = models.CharField(
        _("source"), max_length=12, choices=Indicator.Source.choices, default="manual"
    )
    comment = models.TextField(_("commentaire"), blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("corrige la valeur"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        help_text=_("Une valeur déjà retenue par une évaluation figée se corrige par une autre."),
    )

    tenant_path = "indicator__charter__project__establishment_id"
    audit_parent = "indicator"

    class Meta:
        verbose_name = _("valeur d'indicateur")
        verbose_name_plural = _("valeurs d'indicateur")
        ordering = ["indicator", "measured_on", "pk"]

    def __str__(self):
        return f"{self.indicator} : {number(self.value)} ({self.measured_on:%d/%m/%Y})"

    @property
    def used_in_frozen_assessment(self) -> bool:
        """Retained as evidence by a score of a frozen assessment: it is then corrected by a
        new value that supersedes it, never changed in place."""
        return (
            CriterionScore.objects.unrestricted()
            .filter(indicator_values=self, assessment__status=Assessment.Status.FROZEN)
            .exists()
        )


# --- assessments on a decision grid ------------------------------------------------------------


class AssessmentFrozen(Exception):
    """An edit of a frozen assessment (or of its scores)."""


class Assessment(Audited, TenantModel):
    """A project scored on a decision grid, criterion by criterion. Frozen before a decision
    is taken on it; a frozen assessment refuses every edit."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        FROZEN = "frozen", _("Figée")

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("projet")
    )
    grid_code = models.CharField(_("grille"), max_length=40)
    grid_version = models.CharField(_("version de la grille"), max_length=20)
    assessor = models.ForeignKey(
        User,
        verbose_name=_("évaluateur"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="assessments",
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    recommendation = models.CharField(
        _("recommandation"), max_length=30, choices=Recommendation.choices, blank=True
    )
    reasons = models.JSONField(_("motifs"), default=list, blank=True)
    summary = models.TextField(_("synthèse de l'évaluateur"), blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    frozen_at = models.DateTimeField(_("figée le"), null=True, blank=True)
    snapshot = models.JSONField(_("instantané figé"), default=dict, blank=True)

    tenant_path = "project__establishment_id"
    audit_parent = "project"

    class Meta:
        verbose_name = _("évaluation")
        verbose_name_plural = _("évaluations")
        ordering = ["project", "-created_at", "-pk"]

    def __str__(self):
        return f"{_('Évaluation')} {self.created_at:%d/%m/%Y} — {self.project}"

    def save(self, *args, **kwargs):
        loaded = self.audit_loaded() if self.pk else None
        if loaded and loaded.get("status") == self.Status.FROZEN:
            raise AssessmentFrozen(self)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("lifecycle:assessment_detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        if self.is_frozen:
            raise AssessmentFrozen(self)
        return super().delete(*args, **kwargs)

    @property
    def is_frozen(self) -> bool:
        return self.status == self.Status.FROZEN


class CriterionScore(Audited, TenantModel):
    """The score of one criterion of the grid, with the evidence it rests on."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="scores", verbose_name=_("évaluation")
    )
    criterion_code = models.CharField(_("critère"), max_length=40)
    score = models.PositiveSmallIntegerField(_("note"), null=True, blank=True)
    stop_if_met = models.BooleanField(
        _("condition d'arrêt constatée"),
        null=True,
        blank=True,
        default=None,
        help_text=_("Vide tant que l'évaluateur n'a pas répondu."),
    )
    indicator_values = models.ManyToManyField(
        IndicatorValue, verbose_name=_("valeurs d'indicateur retenues"), blank=True
    )
    evidence_links = models.TextField(
        _("preuves (liens)"), blank=True, help_text=_("Un lien ou une référence par ligne.")
    )
    comment = models.TextField(_("commentaire"), blank=True)

    tenant_path = "assessment__project__establishment_id"
    audit_parent = "assessment"

    class Meta:
        verbose_name = _("note d'un critère")
        verbose_name_plural = _("notes des critères")
        ordering = ["assessment", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "criterion_code"], name="criterion_score_unique"
            )
        ]

    def __str__(self):
        return f"{self.criterion_code}: {self.score}"

    def save(self, *args, **kwargs):
        self._refuse_if_frozen()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_frozen()
        return super().delete(*args, **kwargs)

    def _refuse_if_frozen(self):
        status = (
            Assessment.objects.unrestricted()  # a score reads its own assessment
            .filter(pk=self.assessment_id)
            .values_list("status", flat=True)
            .first()
        )
        if status == Assessment.Status.FROZEN:
            raise AssessmentFrozen(self.assessment)

    @property
    def evidence_list(self) -> list[str]:
        return [line.strip() for line in self.evidence_links.splitlines() if line.strip()]


class NotApplicableIndicator(Audited, TenantModel):
    """A mandatory indicator of the grid that does not apply to this project's kind of tool
    (an AUC or a drift for a dictation tool), with the reason: it no longer holds the
    recommendation at "pas encore"."""

    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="not_applicable_indicators",
        verbose_name=_("projet"),
    )
    code = models.CharField(_("indicateur obligatoire de la grille"), max_length=60)
    reason = models.TextField(_("motif"))
    by = models.ForeignKey(
        User, verbose_name=_("par"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(_("le"), default=timezone.now)

    tenant_path = "project__establishment_id"
    audit_parent = "project"

    class Meta:
        verbose_name = _("indicateur de la grille non applicable")
        verbose_name_plural = _("indicateurs de la grille non applicables")
        ordering = ["project", "code"]
        constraints = [
            models.UniqueConstraint(fields=["project", "code"], name="not_applicable_unique")
        ]

    def __str__(self):
        return f"{self.project}: {self.code}"


def refuse_frozen_evidence(sender, instance, action, **kwargs):
    """m2m_changed on `CriterionScore.indicator_values`: a frozen score keeps its evidence."""
    if action.startswith("pre_") and isinstance(instance, CriterionScore):
        instance._refuse_if_frozen()


models.signals.m2m_changed.connect(
    refuse_frozen_evidence, sender=CriterionScore.indicator_values.through
)
