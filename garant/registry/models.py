"""The register of AI systems (cartographie des SIA): systems, their versions, their vendors."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.fields import CodeField, CodeSetField
from garant.core.models import Establishment, Service, User
from garant.core.referentials import vocabulary
from garant.core.tenancy import TenantModel


class Vendor(Audited, TenantModel):
    """An AI vendor or provider, as known by one establishment (with its contract)."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="vendors",
    )
    name = models.CharField(_("nom"), max_length=200)
    contact_name = models.CharField(_("contact"), max_length=200, blank=True)
    contact_email = models.EmailField(_("e-mail du contact"), blank=True)
    contact_phone = models.CharField(_("téléphone du contact"), max_length=40, blank=True)
    contract_reference = models.CharField(_("référence du contrat"), max_length=100, blank=True)
    contract_end = models.DateField(_("fin du contrat"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("éditeur / fournisseur")
        verbose_name_plural = _("éditeurs / fournisseurs")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "name"], name="vendor_unique_name_per_establishment"
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("registry:vendor_detail", args=[self.pk])


class AISystem(Audited, TenantModel):
    """One AI system used or planned by an establishment (un SIA)."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="ai_systems",
    )
    name = models.CharField(_("nom"), max_length=200)
    vendor = models.ForeignKey(
        Vendor,
        verbose_name=_("éditeur / fournisseur"),
        on_delete=models.PROTECT,
        related_name="ai_systems",
        null=True,
        blank=True,
        help_text=_("Laisser vide pour un développement interne."),
    )
    product = models.CharField(_("produit"), max_length=200, blank=True)
    intended_purpose = models.TextField(
        _("finalité prévue"),
        help_text=_("Ce pour quoi le système est conçu, tel que le fournisseur le décrit."),
    )
    use_case = models.TextField(
        _("cas d'usage"), blank=True, help_text=_("Ce que l'établissement en fait concrètement.")
    )
    services = models.ManyToManyField(
        Service, verbose_name=_("services utilisateurs"), related_name="ai_systems", blank=True
    )
    medical_referent = models.CharField(_("référent médical"), max_length=200, blank=True)
    technical_referent = models.CharField(_("référent technique"), max_length=200, blank=True)

    solution_type = CodeField(_("type de solution"), max_length=4, vocabulary="solution_type")
    domain = CodeField(_("domaine"), max_length=4, vocabulary="domain")
    modality = CodeField(_("modalité de mise en œuvre"), max_length=4, vocabulary="modality")
    phase = CodeField(_("phase"), max_length=20, vocabulary="phase", default="idea", db_index=True)

    hosting = CodeField(_("hébergement"), max_length=20, vocabulary="hosting", blank=True)
    hds_certified = models.BooleanField(
        _("hébergeur certifié HDS"),
        null=True,
        blank=True,
        help_text=_("Hébergeur de données de santé certifié (CSP L1111-8)."),
    )
    data_categories = CodeSetField(_("catégories de données"), vocabulary="data_category")
    data_sources = CodeSetField(_("sources de données"), vocabulary="data_source")
    data_sources_other = models.CharField(_("autre source (préciser)"), max_length=200, blank=True)
    workflow_integration = models.TextField(
        _("point d'intégration dans le parcours"),
        blank=True,
        help_text=_("Où le résultat apparaît : DPI, PACS, compte rendu, alerte…"),
    )

    device_status = CodeField(
        _("statut dispositif médical"),
        max_length=20,
        vocabulary="device_status",
        default="unknown",
    )
    ce_certificate = models.CharField(_("n° de certificat CE"), max_length=100, blank=True)
    notified_body = models.CharField(_("organisme notifié"), max_length=200, blank=True)
    ce_expiry = models.DateField(_("expiration du certificat CE"), null=True, blank=True)

    gpai_based = models.BooleanField(
        _("repose sur un modèle d'IA à usage général (LLM…)"), default=False
    )
    gpai_model = models.CharField(_("modèle d'IA à usage général"), max_length=200, blank=True)

    # bounded so that SQLite and PostgreSQL accept exactly the same values
    users_count = models.PositiveIntegerField(
        _("nombre d'utilisateurs"), null=True, blank=True, validators=[MaxValueValidator(1_000_000)]
    )
    patients_per_year = models.PositiveIntegerField(
        _("patients concernés par an"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100_000_000)],
    )
    go_live = models.DateField(_("date de mise en service"), null=True, blank=True)

    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )

    tenant_path = "establishment_id"
    audit_exclude = ("created_at", "updated_at")

    class Meta:
        verbose_name = _("système d'IA")
        verbose_name_plural = _("systèmes d'IA")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["establishment", "name"]),
            models.Index(fields=["solution_type"]),
            models.Index(fields=["domain"]),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("registry:system_detail", args=[self.pk])

    @property
    def vigilance(self) -> int:
        """Highest vigilance level among the data categories processed (0 if none given)."""
        items = vocabulary("data_category").items
        return max(
            (items[c].get("vigilance", 0) for c in self.data_categories if c in items), default=0
        )

    @property
    def vigilance_label(self) -> str:
        return vocabulary("vigilance").label_of(str(self.vigilance)) if self.vigilance else ""


class AISystemVersion(Audited, TenantModel):
    """A version of a system's model or product, with what changed."""

    ai_system = models.ForeignKey(
        AISystem, verbose_name=_("système d'IA"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.CharField(_("version"), max_length=60)
    released_on = models.DateField(_("date"), null=True, blank=True)
    change_summary = models.TextField(_("résumé des changements"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"
    audit_exclude = ("created_at",)

    class Meta:
        verbose_name = _("version")
        verbose_name_plural = _("versions")
        # undated versions last on every database (PostgreSQL would put NULLs first)
        ordering = ["ai_system", models.F("released_on").desc(nulls_last=True), "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system", "version"], name="version_unique_per_system"
            )
        ]

    def __str__(self):
        return f"{self.ai_system} {self.version}"


class Declaration(Audited, TenantModel):
    """A tool seen or used in the field, declared in a few words by anyone (often field staff).

    Every question may be answered « je ne sais pas », stored apart from an empty answer
    (`<field>_unknown`). An AI referent reviews it: completes it into a register entry, merges
    it with a system already registered, or rejects it with a reason. Its declarer may correct
    it until then; a reviewed declaration is frozen. See docs/decisions/0014-declarations.md.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente d'examen")
        REGISTERED = "registered", _("Inscrite à la cartographie")
        MERGED = "merged", _("Rattachée à un système déjà connu")
        REJECTED = "rejected", _("Non retenue")

    # the questions that may be answered « je ne sais pas », in the form's order
    QUESTIONS = ("name", "purpose", "service", "context")

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="declarations",
    )
    declared_by = models.ForeignKey(
        User,
        verbose_name=_("déclarée par"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="declarations",
    )
    name = models.CharField(
        _("nom de l'outil"),
        max_length=200,
        blank=True,
        help_text=_(
            "Le nom affiché, celui de l'éditeur ou le nom qu'on lui donne dans le service."
        ),
    )
    name_unknown = models.BooleanField(_("nom : je ne sais pas"), default=False)
    purpose = models.TextField(
        _("ce qu'il fait"),
        blank=True,
        help_text=_("En quelques mots : ce qu'il propose, détecte, rédige ou calcule."),
    )
    purpose_unknown = models.BooleanField(_("ce qu'il fait : je ne sais pas"), default=False)
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="declarations",
        help_text=_("Le service où il est utilisé ou envisagé."),
    )
    service_unknown = models.BooleanField(_("service : je ne sais pas"), default=False)
    context = models.TextField(
        _("où en avez-vous entendu parler ou l'avez-vous utilisé ?"),
        blank=True,
        help_text=_("Utilisé au quotidien, essayé, vu en démonstration, sur un salon…"),
    )
    context_unknown = models.BooleanField(_("contexte : je ne sais pas"), default=False)

    status = models.CharField(
        _("statut"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="declarations",
    )
    review_note = models.TextField(_("réponse du référent"), blank=True)
    reviewed_by = models.ForeignKey(
        User,
        verbose_name=_("examinée par"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("examinée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("déclarée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    tenant_path = "establishment_id"
    audit_exclude = ("created_at", "updated_at")

    class Meta:
        verbose_name = _("déclaration d'outil")
        verbose_name_plural = _("déclarations d'outils")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["establishment", "status"])]

    def __str__(self):
        if self.name:
            return self.name
        if self.purpose:
            return self.purpose if len(self.purpose) <= 60 else self.purpose[:59] + "…"
        return str(_("Outil sans nom"))

    def get_absolute_url(self):
        return reverse("registry:declaration_detail", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def next_step(self) -> str:
        """What happens next, in a sentence for the declarer."""
        if self.status == self.Status.PENDING:
            return str(
                _(
                    "Un référent IA de votre établissement va l'examiner : il l'inscrira à la "
                    "cartographie, la rattachera à un outil déjà connu ou vous dira pourquoi "
                    "elle n'est pas retenue. D'ici là, vous pouvez la corriger."
                )
            )
        if self.status == self.Status.REGISTERED:
            return str(_("Elle est inscrite à la cartographie des systèmes d'IA."))
        if self.status == self.Status.MERGED:
            return str(_("Cet outil était déjà connu : elle est rattachée à sa fiche."))
        return str(_("Elle n'est pas retenue ; le motif est indiqué ci-dessous."))

    def missing(self) -> list[dict]:
        """The questions left without an answer: {field, label, unknown} where `unknown` says
        the declarer answered « je ne sais pas » (rather than leaving it empty)."""
        rows = []
        for name in self.QUESTIONS:
            value = getattr(self, f"{name}_id" if name == "service" else name)
            if value in (None, ""):
                rows.append(
                    {
                        "field": name,
                        "label": str(self._meta.get_field(name).verbose_name),
                        "unknown": getattr(self, f"{name}_unknown"),
                    }
                )
        return rows

    def answers(self) -> list[dict]:
        """Every question with its answer, for the pages: {field, label, value, unknown,
        missing}."""
        rows = []
        for name in self.QUESTIONS:
            value = getattr(self, name)
            rows.append(
                {
                    "field": name,
                    "label": str(self._meta.get_field(name).verbose_name),
                    "value": value if value not in (None, "") else "",
                    "unknown": getattr(self, f"{name}_unknown"),
                    "missing": value in (None, ""),
                }
            )
        return rows
