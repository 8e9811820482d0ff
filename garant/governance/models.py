"""Governance: committees (Copil IA…), their members, meetings with agenda and minutes,
decisions taken on a project's frozen assessment, and the action items that follow.

A signed decision is immutable: see `Decision` and `garant.governance.signing`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import Establishment, User
from garant.core.tenancy import TenantModel, TenantQuerySet
from garant.lifecycle.outcomes import Outcome  # a decision's outcome codes, defined there

#: "au-delà de 15 membres on ne fait plus équipe" (the seeds): a warning, never a refusal
TEAM_SIZE = 15


class Committee(Audited, TenantModel):
    """A governance body of an establishment: Copil IA, collège de garantie humaine…"""

    class Kind(models.TextChoices):
        STRATEGIC = "strategic", _("stratégique (orientation, priorisation, arbitrage)")
        OPERATIONAL = "operational", _("opérationnel (suivi, mise en œuvre, risques)")
        SINGLE = "single", _("unique (stratégique et opérationnel)")
        COLLEGE = "college", _("collège de garantie humaine (revue de cas a posteriori)")
        ETHICS_COMMITTEE = "ethics_committee", _("comité d'éthique")
        ETHICS_CELL = "ethics_cell", _("cellule de soutien éthique")

    #: the bodies a question may be referred to (`EthicsReferral`)
    ETHICS_KINDS = (Kind.ETHICS_COMMITTEE, Kind.ETHICS_CELL)

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="committees",
    )
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("niveau"), max_length=20, choices=Kind.choices, default=Kind.SINGLE)
    mandate = models.TextField(
        _("mandat"),
        blank=True,
        help_text=_("Missions confiées, périmètre, fréquence des séances, instances liées."),
    )
    quorum = models.PositiveSmallIntegerField(
        _("quorum (membres présents)"),
        null=True,
        blank=True,
        help_text=_(
            "Nombre de membres présents, sans conflit d'intérêts, pour qu'une décision soit "
            "signée. Vide : la majorité des membres."
        ),
    )
    second_signature = models.BooleanField(
        _("seconde signature"),
        default=False,
        help_text=_("Une décision n'est signée qu'après la signature d'un second membre."),
    )

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("comité")
        verbose_name_plural = _("comités")
        ordering = ["establishment__name", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "name"], name="committee_unique_name_per_establishment"
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("governance:committee_detail", args=[self.pk])

    @property
    def is_ethics_body(self) -> bool:
        return self.kind in self.ETHICS_KINDS

    def quorum_needed(self, seats: int | None = None) -> int:
        """Members present (without a conflict of interest) a decision needs: the committee's
        setting, else the majority of its members."""
        seats = self.members.count() if seats is None else seats
        return self.quorum if self.quorum else seats // 2 + 1


class CommitteeMember(Audited, TenantModel):
    """A seat in a committee: a Garant user or a person named only (usager, invité…)."""

    class Role(models.TextChoices):
        DIRECTION = "direction", _("direction")
        CME = "cme", _("CME")
        NURSING = "nursing", _("direction des soins")
        IT = "it", _("DSI")
        QUALITY = "quality", _("qualité et gestion des risques")
        LEGAL = "legal", _("juridique")
        DPO = "dpo", _("DPO")
        USERS = "users", _("représentant des usagers")
        FIELD = "field", _("professionnel de terrain")
        PHYSICIAN = "physician", _("médecin")
        NURSE = "nurse", _("infirmier(ère)")
        DATA_SCIENTIST = "data_scientist", _("data scientist")
        OTHER = "other", _("autre")

    committee = models.ForeignKey(
        Committee, verbose_name=_("comité"), on_delete=models.CASCADE, related_name="members"
    )
    user = models.ForeignKey(
        User,
        verbose_name=_("utilisateur"),
        on_delete=models.PROTECT,
        related_name="committee_seats",
        null=True,
        blank=True,
        help_text=_("Laisser vide pour une personne sans compte Garant, nommée ci-dessous."),
    )
    name = models.CharField(
        _("nom"), max_length=200, blank=True, help_text=_("Obligatoire sans utilisateur.")
    )
    role = models.CharField(_("fonction"), max_length=20, choices=Role.choices)
    chair = models.BooleanField(_("préside le comité"), default=False)

    tenant_path = "committee__establishment_id"
    audit_parent = "committee"

    class Meta:
        verbose_name = _("membre du comité")
        verbose_name_plural = _("membres du comité")
        ordering = ["committee", "-chair", "role", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["committee", "user"],
                condition=Q(user__isnull=False),
                name="committee_member_unique_user",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(name=""), name="committee_member_named"
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.user_id and not self.name:
            return str(self.user)
        return self.name

    def clean(self):
        if self.user_id is None and not self.name.strip():
            raise ValidationError(
                {"name": _("Choisissez un utilisateur ou saisissez le nom de la personne.")}
            )


class Meeting(Audited, TenantModel):
    """A meeting (séance) of a committee: its agenda, then its minutes."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("prévue")
        HELD = "held", _("tenue")

    committee = models.ForeignKey(
        Committee, verbose_name=_("comité"), on_delete=models.PROTECT, related_name="meetings"
    )
    starts_at = models.DateTimeField(_("date et heure"))
    place = models.CharField(_("lieu"), max_length=200, blank=True)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    secretary = models.ForeignKey(
        User,
        verbose_name=_("secrétaire de séance"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    minutes = models.TextField(_("compte rendu"), blank=True)

    tenant_path = "committee__establishment_id"
    audit_parent = "committee"

    class Meta:
        verbose_name = _("séance")
        verbose_name_plural = _("séances")
        ordering = ["-starts_at", "-pk"]

    def __str__(self):
        when = timezone.localtime(self.starts_at).strftime("%d/%m/%Y %H:%M")
        return f"{self.committee} — {when}"

    def get_absolute_url(self):
        return reverse("governance:meeting_detail", args=[self.pk])

    @property
    def is_upcoming(self) -> bool:
        return self.status == self.Status.PLANNED and self.starts_at >= timezone.now()

    def clean(self):
        if self.status == self.Status.HELD and self.starts_at and self.starts_at > timezone.now():
            raise ValidationError(
                {"status": _("Une séance à venir ne peut pas être déclarée tenue.")}
            )


class Attendance(Audited, TenantModel):
    """Whether a member attended a meeting, and the conflict of interest they declared."""

    class Status(models.TextChoices):
        PRESENT = "present", _("présent")
        EXCUSED = "excused", _("excusé")
        ABSENT = "absent", _("absent")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("séance"), on_delete=models.CASCADE, related_name="attendance"
    )
    member = models.ForeignKey(
        CommitteeMember,
        verbose_name=_("membre"),
        on_delete=models.CASCADE,
        related_name="attendance",
    )
    status = models.CharField(
        _("présence"), max_length=10, choices=Status.choices, default=Status.PRESENT
    )
    conflict_of_interest = models.BooleanField(_("conflit d'intérêts déclaré"), default=False)
    conflict_note = models.CharField(_("objet du conflit d'intérêts"), max_length=300, blank=True)

    tenant_path = "meeting__committee__establishment_id"
    audit_parent = "meeting"

    class Meta:
        verbose_name = _("présence")
        verbose_name_plural = _("présences")
        ordering = ["meeting", "member__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="attendance_unique")
        ]

    def __str__(self):
        return f"{self.member} — {self.get_status_display()}"

    @property
    def counts_for_quorum(self) -> bool:
        return self.status == self.Status.PRESENT and not self.conflict_of_interest


class AgendaItem(Audited, TenantModel):
    """One point of a meeting's agenda: a project awaiting a decision, an overdue
    re-evaluation, or any other subject. Proposed from the lifecycle, then editable."""

    class Kind(models.TextChoices):
        DECISION = "decision", _("décision attendue")
        REVIEW = "review", _("réévaluation en retard")
        ALERT = "alert", _("alerte de suivi")
        OTHER = "other", _("autre point")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("séance"), on_delete=models.CASCADE, related_name="agenda"
    )
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    kind = models.CharField(_("nature"), max_length=10, choices=Kind.choices, default=Kind.OTHER)
    project = models.ForeignKey(
        "lifecycle.Project",
        verbose_name=_("projet"),
        on_delete=models.PROTECT,
        related_name="agenda_items",
        null=True,
        blank=True,
    )
    alert = models.ForeignKey(
        "monitoring.Alert",
        verbose_name=_("alerte de suivi"),
        on_delete=models.PROTECT,
        related_name="agenda_items",
        null=True,
        blank=True,
    )
    # an alert on the oversight rates (kind "alert" too): what clinicians do with the outputs
    oversight_alert = models.ForeignKey(
        "oversight.OversightAlert",
        verbose_name=_("alerte de supervision humaine"),
        on_delete=models.PROTECT,
        related_name="agenda_items",
        null=True,
        blank=True,
    )
    title = models.CharField(_("intitulé"), max_length=300)
    notes = models.TextField(_("précisions"), blank=True)

    tenant_path = "meeting__committee__establishment_id"
    audit_parent = "meeting"

    class Meta:
        verbose_name = _("point de l'ordre du jour")
        verbose_name_plural = _("ordre du jour")
        ordering = ["meeting", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "project"],
                condition=Q(project__isnull=False),
                name="agenda_item_unique_project",
            ),
            models.UniqueConstraint(
                fields=["meeting", "alert"],
                condition=Q(alert__isnull=False),
                name="agenda_item_unique_alert",
            ),
            models.UniqueConstraint(
                fields=["meeting", "oversight_alert"],
                condition=Q(oversight_alert__isnull=False),
                name="agenda_item_unique_oversight_alert",
            ),
        ]

    def __str__(self):
        return self.title


class DecisionSigned(Exception):
    """A change of a signed decision: refused, and the attempt recorded in the audit trail."""


class DecisionQuerySet(TenantQuerySet):
    def signed(self):
        return self.filter(signed_at__isnull=False)

    def update(self, **kwargs):
        self._refuse_signed(kwargs)
        return super().update(**kwargs)

    def delete(self):
        self._refuse_signed({})
        return super().delete()

    def _refuse_signed(self, attempted: dict):
        signed = self.signed().first()
        if signed is not None:
            signed.refuse_change({k: [None, v] for k, v in attempted.items()})


class Decision(Audited, TenantModel):
    """What a committee decided on a project, at a meeting, on a frozen assessment.

    Recorded as a draft, then signed: from then on any save, update or deletion is refused
    (`DecisionSigned`, with a French message) and the attempt is recorded in the audit trail.
    """

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("séance"), on_delete=models.PROTECT, related_name="decisions"
    )
    project = models.ForeignKey(
        "lifecycle.Project",
        verbose_name=_("projet"),
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    assessment = models.ForeignKey(
        "lifecycle.Assessment",
        verbose_name=_("évaluation figée"),
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    outcome = models.CharField(_("décision"), max_length=30, choices=Outcome.choices)
    options = models.TextField(
        _("options examinées"), blank=True, help_text=_("Les options débattues, une par ligne.")
    )
    consensus = models.BooleanField(
        _("adoptée par consensus"),
        default=False,
        help_text=_("Sinon, saisissez le décompte des voix."),
    )
    votes_for = models.PositiveSmallIntegerField(_("voix pour"), null=True, blank=True)
    votes_against = models.PositiveSmallIntegerField(_("voix contre"), null=True, blank=True)
    votes_abstain = models.PositiveSmallIntegerField(_("abstentions"), null=True, blank=True)
    chair = models.ForeignKey(
        CommitteeMember,
        verbose_name=_("président de séance"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    rationale = models.TextField(_("motivation"))
    conditions = models.TextField(
        _("conditions"),
        blank=True,
        help_text=_("Obligatoires pour une généralisation sous conditions."),
    )
    next_review_date = models.DateField(_("prochaine réévaluation"), null=True, blank=True)
    suspension = models.ForeignKey(
        "oversight.Suspension",
        verbose_name=_("suspension levée"),
        on_delete=models.PROTECT,
        related_name="decisions",
        null=True,
        blank=True,
        help_text=_(
            "Décision de reprise : la suspension en cours du système qu'elle permet de lever "
            "(une fois signée)."
        ),
    )
    created_at = models.DateTimeField(_("enregistrée le"), default=timezone.now)
    signed_at = models.DateTimeField(_("signée le"), null=True, blank=True)
    signed_by = models.ForeignKey(
        User,
        verbose_name=_("signée par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    first_signed_at = models.DateTimeField(_("première signature le"), null=True, blank=True)
    first_signed_by = models.ForeignKey(
        User,
        verbose_name=_("première signature par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Quand le comité demande une seconde signature."),
    )

    tenant_path = "meeting__committee__establishment_id"
    audit_parent = "project"
    objects = DecisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("décision")
        verbose_name_plural = _("décisions")
        ordering = ["-meeting__starts_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "project"], name="decision_unique_project_per_meeting"
            )
        ]

    def __str__(self):
        return f"{self.project} — {self.get_outcome_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = Decision.objects.unrestricted().filter(pk=self.pk).signed().values().first()
            if stored is not None:
                after = self.audit_snapshot()
                self.refuse_change(
                    {
                        k: [stored[k], v]
                        for k, v in after.items()
                        if k in stored and _comparable(stored[k]) != v
                    }
                )
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("governance:decision_detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        if Decision.objects.filter(pk=self.pk).signed().exists():
            self.refuse_change({}, deleting=True)
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def departs_from_recommendation(self) -> bool:
        """The committee decided otherwise than the grid recommended (its right: the
        motivation then says why, and the decision page says so)."""
        recommended = self.assessment.recommendation if self.assessment_id else ""
        return bool(recommended) and recommended != self.outcome

    @property
    def votes_total(self) -> int:
        return (self.votes_for or 0) + (self.votes_against or 0) + (self.votes_abstain or 0)

    def clean(self):
        from garant.governance.rules import decision_errors

        if errors := decision_errors(self):
            raise ValidationError(errors)

    def refuse_change(self, attempted: dict, *, deleting: bool = False):
        """Record the refused attempt in the audit trail, then raise `DecisionSigned`."""
        from garant.core.audit import record_refused
        from garant.governance.rules import signed_message

        signed = Decision.objects.unrestricted().select_related("signed_by").get(pk=self.pk)
        message = signed_message(signed, deleting=deleting)
        record_refused(signed, message, attempted)
        raise DecisionSigned(message)


def _comparable(value):
    from garant.core.audit import _jsonable

    return _jsonable(value)


class Action(Audited, TenantModel):
    """An action item decided at a meeting (often for a decision): owner, due date, status."""

    class Status(models.TextChoices):
        OPEN = "open", _("ouverte")
        DONE = "done", _("réalisée")
        CANCELLED = "cancelled", _("annulée")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("séance"), on_delete=models.PROTECT, related_name="actions"
    )
    decision = models.ForeignKey(
        Decision,
        verbose_name=_("décision"),
        on_delete=models.PROTECT,
        related_name="actions",
        null=True,
        blank=True,
    )
    alert = models.ForeignKey(
        "monitoring.Alert",
        verbose_name=_("alerte de suivi"),
        on_delete=models.PROTECT,
        related_name="actions",
        null=True,
        blank=True,
    )
    oversight_alert = models.ForeignKey(
        "oversight.OversightAlert",
        verbose_name=_("alerte de supervision humaine"),
        on_delete=models.PROTECT,
        related_name="actions",
        null=True,
        blank=True,
    )
    # a mitigation of a failure mode of a risk analysis (risks, below); the row of the version
    # it was decided on: later versions show it through the row's lineage
    failure_mode = models.ForeignKey(
        "risks.FailureMode",
        verbose_name=_("mode de défaillance (AMDEC)"),
        on_delete=models.PROTECT,
        related_name="actions",
        null=True,
        blank=True,
    )
    # a corrective action of an adverse event (incidents, below), shown on the event's page
    incident = models.ForeignKey(
        "incidents.Incident",
        verbose_name=_("événement indésirable"),
        on_delete=models.PROTECT,
        related_name="actions",
        null=True,
        blank=True,
    )
    title = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey(
        User,
        verbose_name=_("porteur (utilisateur)"),
        on_delete=models.PROTECT,
        related_name="governance_actions",
        null=True,
        blank=True,
    )
    owner_name = models.CharField(
        _("porteur (nom)"), max_length=200, blank=True, help_text=_("Sans compte Garant.")
    )
    due_date = models.DateField(_("échéance"))
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    done_at = models.DateTimeField(_("réalisée le"), null=True, blank=True)
    notes = models.TextField(_("suivi"), blank=True)
    is_condition = models.BooleanField(
        _("condition de la décision"),
        default=False,
        help_text=_(
            "Une condition d'une généralisation : tant qu'elle n'est pas réalisée, "
            "le projet ne passe pas en routine."
        ),
    )

    tenant_path = "meeting__committee__establishment_id"
    audit_parent = "meeting"

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["due_date", "pk"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.status == self.Status.DONE and self.done_at is None:
            self.done_at = timezone.now()
        elif self.status != self.Status.DONE:
            self.done_at = None
        super().save(*args, **kwargs)

    def updatable_by(self, user) -> bool:
        """The committee (permission "govern") and the action's owner update an action."""
        from garant.core.permissions import object_permission

        return self.owner_id == user.pk or object_permission(user, self, "govern")

    @property
    def owner_display(self) -> str:
        return self.owner_name or (str(self.owner) if self.owner_id else "")

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_date < timezone.localdate()

    def clean(self):
        errors = {}
        if self.owner_id is None and not self.owner_name.strip():
            errors["owner_name"] = _("Choisissez un utilisateur ou saisissez le nom du porteur.")
        if self.decision_id and self.meeting_id and self.decision.meeting_id != self.meeting_id:
            errors["decision"] = _("La décision doit avoir été prise lors de cette séance.")
        if errors:
            raise ValidationError(errors)


# --- collège de garantie humaine: review campaigns (docs/decisions/0015-college.md) ---------


class Appraisal(models.TextChoices):
    """A reviewer's answer to "was it appropriate?" for a case of a review campaign."""

    YES = "yes", _("oui")
    NO = "no", _("non")
    UNSURE = "unsure", _("incertain")


class ReviewCampaign(Audited, TenantModel):
    """A review campaign of a collège de garantie humaine: a reproducible sample of feedback
    events (the draw's rule and seed are recorded, `garant.governance.college.draw`) that the
    collège's members review case by case."""

    class Status(models.TextChoices):
        OPEN = "open", _("en cours")
        CLOSED = "closed", _("close")

    committee = models.ForeignKey(
        Committee,
        verbose_name=_("collège"),
        on_delete=models.PROTECT,
        related_name="review_campaigns",
    )
    title = models.CharField(_("intitulé"), max_length=200)
    period_start = models.DateField(_("début de la période"))
    period_end = models.DateField(_("fin de la période (incluse)"))
    seed = models.BigIntegerField(_("graine du tirage"))
    rule = models.JSONField(_("règle du tirage"), default=dict)
    reasons_version = models.CharField(_("version des motifs"), max_length=20)
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    conclusion = models.TextField(_("conclusions du collège"), blank=True)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("tirée par"),
        on_delete=models.PROTECT,
        related_name="review_campaigns",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("tirée le"), default=timezone.now)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)

    tenant_path = "committee__establishment_id"
    audit_parent = "committee"

    class Meta:
        verbose_name = _("campagne de revue")
        verbose_name_plural = _("campagnes de revue")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("governance:campaign_detail", args=[self.pk])


class ReviewCase(Audited, TenantModel):
    """One drawn case: a feedback event, known in Garant only by its pseudonymous references
    (event id, prediction id), which the clinical team resolves in its own software."""

    campaign = models.ForeignKey(
        ReviewCampaign, verbose_name=_("campagne"), on_delete=models.CASCADE, related_name="cases"
    )
    position = models.PositiveIntegerField(_("rang"))
    ai_system = models.ForeignKey(
        "registry.AISystem",
        verbose_name=_("système d'IA"),
        on_delete=models.PROTECT,
        related_name="review_cases",
    )
    event_id = models.CharField(_("référence de l'événement"), max_length=200)
    prediction_id = models.CharField(_("référence de la prédiction"), max_length=200, blank=True)
    time = models.DateTimeField(_("date de l'événement"))
    outcome = models.CharField(_("suite donnée"), max_length=20)
    service = models.CharField(_("service"), max_length=200, blank=True)
    action = models.ForeignKey(
        Action,
        verbose_name=_("action"),
        on_delete=models.SET_NULL,
        related_name="review_cases",
        null=True,
        blank=True,
    )
    agenda_item = models.ForeignKey(
        AgendaItem,
        verbose_name=_("recommandation au comité"),
        on_delete=models.SET_NULL,
        related_name="review_cases",
        null=True,
        blank=True,
    )
    # the suspension proposed on this finding (garant.oversight.suspension.propose sets it)
    suspension = models.ForeignKey(
        "oversight.Suspension",
        verbose_name=_("suspension proposée"),
        on_delete=models.SET_NULL,
        related_name="review_cases",
        null=True,
        blank=True,
    )

    tenant_path = "campaign__committee__establishment_id"
    audit_parent = "campaign"

    class Meta:
        verbose_name = _("cas revu")
        verbose_name_plural = _("cas revus")
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "position"], name="review_case_unique_position"
            ),
            models.UniqueConstraint(
                fields=["campaign", "ai_system", "event_id"], name="review_case_unique_event"
            ),
        ]

    def __str__(self):
        return f"#{self.position} {self.event_id}"

    def get_absolute_url(self):
        return f"{self.campaign.get_absolute_url()}#cas-{self.pk}"


class CaseReview(Audited, TenantModel):
    """One reviewer's finding on one case: were the AI output and the human decision
    appropriate, with a coded reason (referential `college_review`) and a note."""

    case = models.ForeignKey(
        ReviewCase, verbose_name=_("cas"), on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        User, verbose_name=_("relecteur"), on_delete=models.PROTECT, related_name="case_reviews"
    )
    ai_output_appropriate = models.CharField(
        _("sortie de l'IA appropriée"), max_length=10, choices=Appraisal.choices
    )
    human_decision_appropriate = models.CharField(
        _("décision humaine appropriée"), max_length=10, choices=Appraisal.choices
    )
    reason = models.CharField(_("motif"), max_length=30)
    note = models.TextField(_("note"), blank=True)
    reviewed_at = models.DateTimeField(_("relu le"), default=timezone.now)

    tenant_path = "case__campaign__committee__establishment_id"
    audit_parent = "case"

    class Meta:
        verbose_name = _("avis de relecture")
        verbose_name_plural = _("avis de relecture")
        ordering = ["case", "reviewer_id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "reviewer"], name="case_review_unique_reviewer")
        ]

    def __str__(self):
        return f"{self.case} — {self.reviewer}"


# --- ethics referrals (docs/decisions/0018-ethics-referrals.md) -------------------------------


class EthicsReferral(Audited, TenantModel):
    """A question on an AI system (and so its project) referred to the establishment's
    ethics committee or ethics support cell (a `Committee` of an ethics kind), then the
    body's opinion, given once, and its recommendations (`EthicsRecommendation`)."""

    class Opinion(models.TextChoices):
        FAVOURABLE = "favourable", _("favorable")
        RESERVED = "reserved", _("favorable avec réserves")
        UNFAVOURABLE = "unfavourable", _("défavorable")

    committee = models.ForeignKey(
        Committee,
        verbose_name=_("instance saisie"),
        on_delete=models.PROTECT,
        related_name="ethics_referrals",
    )
    ai_system = models.ForeignKey(
        "registry.AISystem",
        verbose_name=_("système d'IA"),
        on_delete=models.PROTECT,
        related_name="ethics_referrals",
    )
    question = models.TextField(_("question posée"))
    context = models.TextField(_("contexte"), blank=True)
    asked_by = models.ForeignKey(
        User,
        verbose_name=_("posée par (utilisateur)"),
        on_delete=models.PROTECT,
        related_name="ethics_referrals",
        null=True,
        blank=True,
    )
    asked_by_name = models.CharField(
        _("posée par (nom et fonction)"),
        max_length=200,
        blank=True,
        help_text=_("Sans compte Garant, ou pour préciser la fonction."),
    )
    referred_on = models.DateField(_("saisine le"), default=timezone.localdate)
    opinion = models.CharField(_("avis"), max_length=20, choices=Opinion.choices, blank=True)
    opinion_text = models.TextField(_("texte de l'avis"), blank=True)
    opinion_date = models.DateField(_("avis rendu le"), null=True, blank=True)
    opinion_recorded_by = models.ForeignKey(
        User,
        verbose_name=_("avis enregistré par"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    tenant_path = "committee__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("saisine éthique")
        verbose_name_plural = _("saisines éthiques")
        ordering = ["-referred_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(opinion="") & Q(opinion_date__isnull=True))
                | (~Q(opinion="") & Q(opinion_date__isnull=False)),
                name="ethics_referral_opinion_dated",
            )
        ]

    def __str__(self):
        when = self.referred_on.strftime("%d/%m/%Y") if self.referred_on else ""
        return _("Saisine de %(body)s du %(date)s") % {"body": self.committee, "date": when}

    def get_absolute_url(self):
        return reverse("governance:referral_detail", args=[self.pk])

    @property
    def has_opinion(self) -> bool:
        return bool(self.opinion)

    @property
    def asked_by_display(self) -> str:
        person = str(self.asked_by) if self.asked_by_id else ""
        return " — ".join(p for p in (person, self.asked_by_name) if p)

    def clean(self):
        errors = {}
        if self.committee_id and not self.committee.is_ethics_body:
            errors["committee"] = _(
                "Choisissez un comité d'éthique ou une cellule de soutien éthique."
            )
        if (
            self.committee_id
            and self.ai_system_id
            and self.committee.establishment_id != self.ai_system.establishment_id
        ):
            errors["committee"] = _("L'instance doit être celle de l'établissement du système.")
        if self.asked_by_id is None and not self.asked_by_name.strip():
            errors["asked_by_name"] = _("Indiquez qui pose la question.")
        if self.referred_on and self.referred_on > timezone.localdate():
            errors["referred_on"] = _("La date de saisine est dans le futur.")
        if self.opinion_date and self.referred_on and self.opinion_date < self.referred_on:
            errors["opinion_date"] = _("L'avis ne peut précéder la saisine.")
        if self.opinion_date and self.opinion_date > timezone.localdate():
            errors["opinion_date"] = _("La date de l'avis est dans le futur.")
        if errors:
            raise ValidationError(errors)


class EthicsRecommendation(Audited, TenantModel):
    """One recommendation of an ethics opinion, and the governance action that follows it up."""

    referral = models.ForeignKey(
        EthicsReferral,
        verbose_name=_("saisine"),
        on_delete=models.CASCADE,
        related_name="recommendations",
    )
    position = models.PositiveSmallIntegerField(_("rang"))
    text = models.TextField(_("recommandation"))
    action = models.ForeignKey(
        Action,
        verbose_name=_("action de suivi"),
        on_delete=models.SET_NULL,
        related_name="ethics_recommendations",
        null=True,
        blank=True,
    )

    tenant_path = "referral__committee__establishment_id"
    audit_parent = "referral"

    class Meta:
        verbose_name = _("recommandation éthique")
        verbose_name_plural = _("recommandations éthiques")
        ordering = ["referral", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "position"], name="ethics_recommendation_unique_position"
            )
        ]

    def __str__(self):
        return self.text
