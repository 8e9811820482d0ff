"""Human oversight: what clinicians do with an AI output, sent by the clinical software.

The feedback events themselves live in a Delta Lake table per establishment (`storage.py`),
not in the database: a million events are stored in seconds, never as ORM rows. The database
holds what must be audited and scoped: the establishment tokens of the clinical software,
the batches received (the commit record of their rows), the alert rules on the rates and
the alerts they raise.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import Establishment, User
from garant.core.tenancy import TenantModel
from garant.registry.models import AISystem


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class FeedbackToken(Audited, TenantModel):
    """A bearer token of one clinical software, scoped to one establishment: it may send
    feedback events for that establishment's systems only, and nothing else. Only its
    SHA-256 is stored; the raw value is shown once (`garant oversight_token create`)."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.CASCADE,
        related_name="feedback_tokens",
    )
    name = models.CharField(_("logiciel émetteur"), max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    revoked = models.BooleanField(_("révoqué"), default=False)

    tenant_path = "establishment_id"
    audit_exclude = ("digest", "last_used_at")

    class Meta:
        verbose_name = _("jeton de logiciel clinique")
        verbose_name_plural = _("jetons de logiciel clinique")
        ordering = ["establishment", "created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @classmethod
    def issue(cls, establishment, name: str, expires_at=None) -> tuple[FeedbackToken, str]:
        raw = "grf_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            establishment=establishment,
            name=name,
            prefix=raw[:12],
            digest=_digest(raw),
            expires_at=expires_at,
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> FeedbackToken | None:
        """The token (with its establishment) if known, not revoked and not expired."""
        token = (
            cls.objects.unrestricted()  # system code: who is calling is not known yet
            .select_related("establishment")
            .filter(digest=_digest(raw))
            .first()
        )
        now = timezone.now()
        if token is None or token.revoked or (token.expires_at and token.expires_at <= now):
            return None
        cls.objects.unrestricted().filter(pk=token.pk).update(last_used_at=now)
        return token


class FeedbackBatch(Audited, TenantModel):
    """One batch of feedback events received and stored (its rows are in the Delta table,
    tagged with its id; rows of a batch without this record are never read)."""

    class Source(models.TextChoices):
        API = "api", _("API")
        FILE = "file", _("fichier")
        DEMO = "demo", _("démonstration")

    establishment = models.ForeignKey(
        Establishment, on_delete=models.PROTECT, related_name="feedback_batches"
    )
    systems = models.ManyToManyField(AISystem, related_name="feedback_batches", blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    token = models.ForeignKey(
        FeedbackToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="batches"
    )
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received = models.PositiveIntegerField(_("événements reçus"))
    stored = models.PositiveIntegerField(_("événements enregistrés"))
    first_time = models.DateTimeField(null=True, blank=True)
    last_time = models.DateTimeField(null=True, blank=True)
    referential_version = models.CharField(_("version du référentiel"), max_length=20)
    created_at = models.DateTimeField(_("reçu le"), auto_now_add=True)

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("lot d'événements de supervision")
        verbose_name_plural = _("lots d'événements de supervision")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.establishment} — {self.stored} événement(s)"

    @classmethod
    def committed_ids(cls, establishment) -> list[int]:
        """Ids of the committed batches of `establishment` (whose rows readers may see)."""
        # system code: the establishment was reached through a token or a scoped record
        rows = cls.objects.unrestricted().filter(establishment_id=establishment.pk)
        return list(rows.values_list("pk", flat=True))


class OversightRule(Audited, TenantModel):
    """An alert rule on the oversight rates of one system, evaluated after each batch."""

    class Kind(models.TextChoices):
        OVERRIDE_DOUBLING = "override_rate_doubling", _("hausse du taux d'écart")
        ACCEPTANCE_ABOVE = "acceptance_above", _("acceptation trop élevée")

    ai_system = models.ForeignKey(
        AISystem, on_delete=models.CASCADE, related_name="oversight_rules"
    )
    kind = models.CharField(_("type"), max_length=30, choices=Kind.choices)
    threshold = models.FloatField(
        _("seuil"),
        help_text=_(
            "Hausse du taux d'écart : rapport minimal (2 = doublement) ; acceptation : taux "
            "maximal (0,98 = 98 %)."
        ),
    )
    window_days = models.PositiveIntegerField(_("fenêtre (jours)"), default=30)
    min_events = models.PositiveIntegerField(
        _("événements minimum"),
        default=30,
        help_text=_("En dessous, le taux n'est pas jugé (par fenêtre et par service)."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"
    audit_exclude = ("last_evaluated_at",)

    class Meta:
        verbose_name = _("règle d'alerte de supervision")
        verbose_name_plural = _("règles d'alerte de supervision")
        ordering = ["ai_system", "kind", "pk"]

    def __str__(self):
        return f"{self.ai_system} — {self.get_kind_display()}"


class OversightAlert(Audited, TenantModel):
    """A breach of an oversight rule for a system, or one of its services: open until
    acknowledged (with a comment) or back to normal. Same fields as monitoring's alerts."""

    class State(models.TextChoices):
        OPEN = "open", _("ouverte")
        ACKNOWLEDGED = "acknowledged", _("prise en compte")
        RESOLVED = "resolved", _("résolue")

    class Resolution(models.TextChoices):
        BACK_TO_NORMAL = "back_to_normal", _("retour à la normale")
        RULE_DEACTIVATED = "rule_deactivated", _("règle désactivée")

    rule = models.ForeignKey(OversightRule, on_delete=models.RESTRICT, related_name="alerts")
    ai_system = models.ForeignKey(
        AISystem, on_delete=models.CASCADE, related_name="oversight_alerts"
    )
    service = models.CharField(_("service"), max_length=100, blank=True, default="")
    opened_at = models.DateTimeField(_("ouverte le"), auto_now_add=True)
    value = models.FloatField(_("valeur"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=500)
    state = models.CharField(_("état"), max_length=12, choices=State.choices, default=State.OPEN)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    comment = models.TextField(_("commentaire"), blank=True, default="")
    resolved_at = models.DateTimeField(_("résolue le"), null=True, blank=True)
    resolution = models.CharField(
        _("motif de résolution"), max_length=20, choices=Resolution.choices, blank=True
    )

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("alerte de supervision")
        verbose_name_plural = _("alertes de supervision")
        ordering = ["-opened_at", "-pk"]

    def __str__(self):
        return f"{self.ai_system} — {self.message}"

    def get_absolute_url(self):
        return reverse("oversight:alert_detail", args=[self.pk])


class OversightPlanVersion(Audited, TenantModel):
    """One version of a system's oversight plan: who checks the system's outputs, when, how
    they may disregard, override or stop it, the fallback when it is stopped, and how often
    the plan is reviewed. Never changed once saved: an edit saves a new version, and the
    latest one is the current plan (`garant.oversight.plans`)."""

    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.CASCADE,
        related_name="oversight_plan_versions",
    )
    number = models.PositiveIntegerField(_("version"))
    points = models.JSONField(
        _("points de contrôle"),
        default=list,
        help_text=_("Une ligne par point : moment, taux, qui, ce qui est vérifié, comment."),
    )
    people = models.JSONField(
        _("personnes chargées du contrôle"),
        default=list,
        help_text=_("Une ligne par personne ou rôle, avec sa compétence."),
    )
    override = models.TextField(_("ignorer ou corriger une sortie"))
    stop = models.TextField(_("arrêter le système"))
    fallback = models.TextField(_("procédure dégradée en cas d'arrêt"))
    review_months = models.PositiveSmallIntegerField(_("revue du plan (mois)"))
    comment = models.CharField(_("motif de la modification"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("enregistrée le"), default=timezone.now, editable=False)
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
        verbose_name = _("version du plan de supervision")
        verbose_name_plural = _("versions du plan de supervision")
        ordering = ["ai_system", "-number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system", "number"], name="oversight_plan_version_unique"
            )
        ]

    def __str__(self):
        return f"{self.ai_system} — plan v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A saved oversight plan version is never changed: save a new one.")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("oversight:plan", args=[self.ai_system_id])

    @property
    def review_due(self):
        """The day the plan is to be reviewed: its date + `review_months` months."""
        start = timezone.localdate(self.created_at)
        month = start.month - 1 + self.review_months
        year, month = start.year + month // 12, month % 12 + 1
        return start.replace(year=year, month=month, day=min(start.day, 28))


class Suspension(Audited, TenantModel):
    """The suspension of a system's use, from its proposal to its resumption
    (docs/decisions/0017-suspension-record.md).

    Proposed by anyone with a working role, from a monitoring alert, an oversight alert or a
    free-text cause; an authorised person (permission "suspend") confirms it — the suspension
    takes effect at once — or declines it with a note. A suspension in effect is lifted only on
    a signed committee decision that references it. At most one suspension is in effect per
    system; the system's phase is left as it was (the status is read from this record)."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("proposée")
        DECLINED = "declined", _("refusée")
        SUSPENDED = "suspended", _("suspendu")
        RESUMED = "resumed", _("reprise")

    #: a proposal in these states is over: its cause may lead to a new proposal
    CLOSED_STATES = (State.DECLINED, State.RESUMED)

    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.CASCADE,
        related_name="suspensions",
    )
    state = models.CharField(
        _("état"), max_length=10, choices=State.choices, default=State.PROPOSED
    )
    alert = models.ForeignKey(
        "monitoring.Alert",
        verbose_name=_("alerte de suivi"),
        on_delete=models.PROTECT,
        related_name="suspensions",
        null=True,
        blank=True,
    )
    oversight_alert = models.ForeignKey(
        OversightAlert,
        verbose_name=_("alerte de supervision"),
        on_delete=models.PROTECT,
        related_name="suspensions",
        null=True,
        blank=True,
    )
    cause = models.TextField(_("cause"))
    proposed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposée le"), default=timezone.now)
    reason = models.TextField(_("motif de la suspension"), blank=True)
    suspended_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    suspended_at = models.DateTimeField(_("suspendu le"), null=True, blank=True)
    declined_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    declined_at = models.DateTimeField(_("refusée le"), null=True, blank=True)
    decline_note = models.TextField(_("motif du refus"), blank=True)
    resumed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resumed_at = models.DateTimeField(_("reprise le"), null=True, blank=True)
    # the signed governance decision that lifted it (governance is above this app: its id
    # and a readable reference, the decision itself pointing here by `Decision.suspension`)
    resumption_decision_id = models.PositiveIntegerField(null=True, blank=True)
    resumption_reference = models.CharField(_("décision de reprise"), max_length=300, blank=True)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ai_system"],
                condition=models.Q(state="suspended"),
                name="suspension_one_in_effect_per_system",
            )
        ]

    def __str__(self):
        return _("Suspension de %(system)s (%(state)s)") % {
            "system": self.ai_system,
            "state": self.get_state_display(),
        }

    def get_absolute_url(self):
        return reverse("oversight:suspension_detail", args=[self.pk])
