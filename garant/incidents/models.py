"""Adverse events (FEI) involving an AI system, their qualification, and the regulatory reports
the qualification opens (docs/incidents.md).

An `Incident` is declared by anyone with a working role, in a few fields and without patient
identity (a local reference only). The quality/risk manager or the AI referent qualifies it
against the definitions of each regime; `garant.incidents.reports.sync` then opens one
`RegulatoryReport` per report the referential requires (garant/referentials/incident_reports/),
with its recipient, clock start (the awareness date as entered) and deadline. Garant prepares
the reports; it never transmits them: a person marks each one sent, with its proof.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import Establishment, Service, User
from garant.core.tenancy import TenantModel
from garant.registry.models import AISystem


class IncidentPolicy(Audited, TenantModel):
    """The establishment's FEI policy as far as Garant needs it."""

    establishment = models.OneToOneField(
        Establishment, on_delete=models.CASCADE, related_name="incident_policy"
    )
    anonymous_allowed = models.BooleanField(
        _("déclaration anonyme autorisée"),
        default=False,
        help_text=_("Selon la politique FEI de l'établissement."),
    )
    essential_operator = models.BooleanField(
        _("opérateur de services essentiels"),
        default=False,
        help_text=_("Un incident de sécurité est alors aussi notifié à l'ANSSI."),
    )

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("politique de déclaration des événements")
        verbose_name_plural = _("politiques de déclaration des événements")

    def __str__(self):
        return str(self.establishment)


class Consequence(models.TextChoices):
    """For the patient; the codes of the referential's `consequences`."""

    NONE = "none", _("Aucune conséquence pour le patient")
    NEAR_MISS = "near_miss", _("Presque accident (évité avant d'atteindre le patient)")
    MINOR = "minor", _("Conséquence mineure")
    SERIOUS = "serious", _("Dégradation grave de l'état de santé")
    PERMANENT_DEFICIT = "permanent_deficit", _("Déficit fonctionnel permanent probable")
    LIFE_THREAT = "life_threat", _("Mise en jeu du pronostic vital")
    DEATH = "death", _("Décès")


class CausalLink(models.TextChoices):
    ESTABLISHED = "established", _("établi")
    SUSPECTED = "suspected", _("suspecté")
    EXCLUDED = "excluded", _("exclu")


class BreachRisk(models.TextChoices):
    NONE = "none", _("risque peu probable (documentée seulement)")
    RISK = "risk", _("risque pour les personnes")
    HIGH = "high", _("risque élevé pour les personnes")


class Incident(Audited, TenantModel):
    class State(models.TextChoices):
        DECLARED = "declared", _("déclaré")
        QUALIFIED = "qualified", _("qualifié")
        CLOSED = "closed", _("clos")

    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.PROTECT,
        related_name="incidents",
    )
    state = models.CharField(
        _("état"), max_length=10, choices=State.choices, default=State.DECLARED
    )
    # — the declaration (under ten fields) —
    occurred_at = models.DateTimeField(_("survenu le"))
    aware_at = models.DateTimeField(
        _("connu le"),
        help_text=_("Date à laquelle l'établissement en a eu connaissance : départ des délais."),
    )
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    description = models.TextField(
        _("ce qui s'est passé"),
        help_text=_("Sans nom, date de naissance ni numéro du patient."),
    )
    consequence = models.CharField(
        _("conséquence pour le patient"), max_length=20, choices=Consequence.choices
    )
    immediate_actions = models.TextField(_("mesures immédiates"), blank=True)
    local_reference = models.CharField(
        _("référence locale"),
        max_length=60,
        blank=True,
        help_text=_("N° de la FEI ou du dossier dans l'outil de l'établissement (pas d'identité)."),
    )
    anonymous = models.BooleanField(_("déclaration anonyme"), default=False)
    declared_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    declared_at = models.DateTimeField(_("déclaré le"), default=timezone.now, editable=False)
    monitoring_alert = models.ForeignKey(
        "monitoring.Alert",
        verbose_name=_("alerte de suivi"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    oversight_alert = models.ForeignKey(
        "oversight.OversightAlert",
        verbose_name=_("alerte de supervision"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    suspension = models.ForeignKey(
        "oversight.Suspension",
        verbose_name=_("proposition de suspension"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    # — the qualification (quality/risk manager, AI referent) —
    causal_link = models.CharField(
        _("lien de causalité avec le système"),
        max_length=12,
        choices=CausalLink.choices,
        default=CausalLink.SUSPECTED,
    )
    is_device = models.BooleanField(
        _("le système est un dispositif médical"),
        default=False,
        help_text=_("Prérempli depuis le registre."),
    )
    ai_act_high_risk = models.BooleanField(
        _("système d'IA à haut risque (AI Act)"),
        default=False,
        help_text=_("Prérempli depuis la qualification réglementaire."),
    )
    ai_act_serious = models.BooleanField(
        _("incident grave au sens de l'AI Act (art. 3(49))"), default=False
    )
    critical_infrastructure = models.BooleanField(
        _("perturbation grave et irréversible d'une infrastructure critique (art. 3(49)(b))"),
        default=False,
    )
    fundamental_rights = models.BooleanField(
        _("atteinte aux droits fondamentaux (art. 3(49)(c))"), default=False
    )
    widespread_infringement = models.BooleanField(
        _("infraction de grande ampleur (art. 73(3))"), default=False
    )
    mdr_serious = models.BooleanField(
        _("incident grave de dispositif médical (MDR art. 2(65), CSP R5212-14)"),
        default=False,
        help_text=_("A entraîné ou aurait pu entraîner un décès ou une dégradation grave."),
    )
    public_health_threat = models.BooleanField(
        _("menace grave pour la santé publique (MDR art. 2(66))"), default=False
    )
    eigs = models.BooleanField(
        _("événement indésirable grave associé aux soins (CSP R1413-67)"), default=False
    )
    data_breach = models.BooleanField(
        _("violation de données personnelles (RGPD art. 4(12))"), default=False
    )
    breach_risk = models.CharField(
        _("risque de la violation pour les personnes"),
        max_length=6,
        choices=BreachRisk.choices,
        default=BreachRisk.NONE,
    )
    security_incident = models.BooleanField(
        _("incident grave de sécurité des SI de santé (CSP L1111-8-2)"), default=False
    )
    provider_unreachable = models.BooleanField(
        _("fournisseur injoignable (art. 26(5))"), default=False
    )
    qualification_note = models.TextField(_("commentaire de qualification"), blank=True)
    rules_version = models.CharField(_("version des règles"), max_length=20, blank=True)
    qualified_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    qualified_at = models.DateTimeField(_("qualifié le"), null=True, blank=True)
    closed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)
    closing_note = models.TextField(_("analyse et clôture"), blank=True)
    # — closing the loop (garant.incidents.loop) —
    contributing_factors = models.JSONField(
        _("facteurs contributifs"),
        default=list,
        blank=True,
        help_text=_("Codes du référentiel incident_analysis (catégories ALARM)."),
    )
    factors_version = models.CharField(
        _("version du référentiel des facteurs"), max_length=20, blank=True
    )
    root_cause_analysis = models.TextField(
        _("analyse des causes"),
        blank=True,
        help_text=_("Causes immédiates et profondes, barrières qui ont manqué ou fonctionné."),
    )
    # an occurrence of a failure mode of the system's risk analysis (risks, below): the row of
    # the version it was linked on; the count follows the row's lineage across versions
    failure_mode = models.ForeignKey(
        "risks.FailureMode",
        verbose_name=_("mode de défaillance (AMDEC)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    analysed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    analysed_at = models.DateTimeField(_("analysé le"), null=True, blank=True)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("événement indésirable")
        verbose_name_plural = _("événements indésirables")
        ordering = ["-aware_at", "-pk"]

    def __str__(self):
        return _("Événement n° %(pk)s — %(system)s") % {"pk": self.pk, "system": self.ai_system}

    def get_absolute_url(self):
        return reverse("incidents:detail", args=[self.pk])


def proof_path(instance, filename: str) -> str:
    return f"incidents/{instance.incident_id}/{instance.pk or 'new'}/{filename}"


class RegulatoryReport(Audited, TenantModel):
    """One external report an incident requires, with its clock (deadline to the hour)."""

    class Status(models.TextChoices):
        TO_DO = "to_do", _("à faire")
        SENT = "sent", _("envoyé")
        NOT_REQUIRED = "not_required", _("non requis")

    incident = models.ForeignKey(
        Incident, verbose_name=_("événement"), on_delete=models.CASCADE, related_name="reports"
    )
    code = models.CharField(_("déclaration"), max_length=30)
    regime = models.CharField(_("régime"), max_length=12)
    recipient = models.CharField(_("destinataire"), max_length=20)
    clock_start = models.DateTimeField(_("départ du délai"))
    deadline = models.DateTimeField(_("échéance"), db_index=True)
    without_delay = models.BooleanField(_("« sans délai » (échéance = cible interne)"))
    ref = models.CharField(_("article"), max_length=200)
    fact_status = models.CharField(_("fiabilité de la règle"), max_length=12)
    rules_version = models.CharField(_("version des règles"), max_length=20)
    status = models.CharField(
        _("statut"), max_length=12, choices=Status.choices, default=Status.TO_DO
    )
    not_required_reason = models.TextField(_("motif « non requis »"), blank=True)
    sent_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    proof = models.FileField(_("preuve d'envoi"), upload_to=proof_path, max_length=300, blank=True)
    opened_at = models.DateTimeField(_("ouvert le"), default=timezone.now, editable=False)
    reminded_at = models.DateTimeField(_("rappel envoyé le"), null=True, blank=True)

    tenant_path = "incident__ai_system__establishment_id"
    audit_parent = "incident"
    audit_exclude = ("reminded_at",)

    class Meta:
        verbose_name = _("déclaration réglementaire")
        verbose_name_plural = _("déclarations réglementaires")
        ordering = ["deadline", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "code"], name="report_one_per_code")
        ]

    def __str__(self):
        return f"{self.incident} — {self.code}"

    def get_absolute_url(self):
        return reverse("incidents:report", args=[self.pk])

    def late(self, now=None) -> bool:
        """Past its deadline while to do, or sent after it."""
        if self.status == self.Status.SENT:
            return bool(self.sent_at and self.sent_at > self.deadline)
        return self.status == self.Status.TO_DO and (now or timezone.now()) > self.deadline

    @property
    def proof_name(self) -> str:
        return self.proof.name.rsplit("/", 1)[-1] if self.proof else ""
