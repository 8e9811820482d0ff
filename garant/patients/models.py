"""Patients: information notices, the public register of AI in use, rights requests,
objections per system and purpose, and verifiable deletion (issue 15).

This module holds the information part (docs/patients.md):

- `PatientNotice` (one per system) and its `NoticeVersion`s: generated in plain French from the
  register and the qualification, edited, submitted to the DPO office, approved, published;
- `InformationChannel`: how the information is given for a system (poster, booklet,
  consultation, portal…), the evidence of the obligations the `patients` referential names;
- `PublicRegister` (one per establishment): the fields it chose to publish and the snapshot
  that the public pages show — nothing else of the establishment is ever read by them;
- `RightsRequest` and its `RequestStep`s: what the DPO office received, with its deadline.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import Establishment, User
from garant.core.tenancy import TenantModel
from garant.registry.models import AISystem

# --- information notices ------------------------------------------------------------------


class PatientNotice(Audited, TenantModel):
    """The information notice of one system: its state and which version is approved."""

    class State(models.TextChoices):
        DRAFT = "draft", _("brouillon")
        SUBMITTED = "submitted", _("soumise au DPO")
        APPROVED = "approved", _("approuvée par le DPO")

    ai_system = models.OneToOneField(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.CASCADE,
        related_name="patient_notice",
    )
    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.DRAFT)
    approved_version = models.ForeignKey(
        "NoticeVersion",
        verbose_name=_("version approuvée"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approuvée le"), null=True, blank=True)
    review_note = models.TextField(_("observations du DPO"), blank=True)
    published = models.BooleanField(
        _("publiée"),
        default=False,
        help_text=_("La version approuvée figure au registre public de l'établissement."),
    )
    published_at = models.DateTimeField(_("publiée le"), null=True, blank=True)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("notice d'information du patient")
        verbose_name_plural = _("notices d'information du patient")

    def __str__(self):
        return _("Notice d'information — %(system)s") % {"system": self.ai_system}

    def get_absolute_url(self):
        return reverse("patients:system", args=[self.ai_system_id])


class NoticeVersion(Audited, TenantModel):
    """One version of a notice's text, section by section, as written or generated."""

    notice = models.ForeignKey(PatientNotice, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    what = models.TextField(_("ce que fait l'outil"))
    care_step = models.TextField(_("à quelle étape des soins"))
    responsible = models.TextField(_("qui reste responsable"))
    human_guarantee = models.TextField(_("la garantie humaine"))
    data_used = models.TextField(_("les données utilisées"))
    rights = models.TextField(_("vos droits"))
    contact = models.TextField(_("qui contacter"))
    obligations = models.JSONField(
        _("obligations couvertes"),
        default=list,
        help_text=_("Codes des obligations de la qualification qui appellent cette notice."),
    )
    referential_version = models.CharField(_("version du référentiel"), max_length=20)
    generated = models.BooleanField(_("générée automatiquement"), default=False)
    change_note = models.CharField(_("motif de la modification"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, editable=False)

    tenant_path = "notice__ai_system__establishment_id"
    audit_parent = "notice"
    # obligation codes: the notice's page shows them with their titles; the trail keeps them
    audit_hidden = ("obligations",)

    SECTIONS = ("what", "care_step", "responsible", "human_guarantee", "data_used", "rights")

    class Meta:
        verbose_name = _("version de notice")
        verbose_name_plural = _("versions de notice")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "number"], name="notice_version_number")
        ]

    def __str__(self):
        return _("Version %(n)s") % {"n": self.number}

    def content(self) -> dict:
        return {name: getattr(self, name) for name in (*self.SECTIONS, "contact")}


class InformationChannel(Audited, TenantModel):
    """How patients are informed of one system's use (codes of the `patients` referential)."""

    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.CASCADE,
        related_name="information_channels",
    )
    kind = models.CharField(_("moyen d'information"), max_length=20)
    description = models.CharField(
        _("précisions"),
        max_length=300,
        blank=True,
        help_text=_("Où, quand, par qui : ex. affiche en salle d'attente des urgences."),
    )
    since = models.DateField(_("en place depuis"), null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("moyen d'information des patients")
        verbose_name_plural = _("moyens d'information des patients")
        ordering = ["kind", "pk"]

    def __str__(self):
        from garant.patients import referential

        return referential.channel_label(self.kind)


# --- the public register -------------------------------------------------------------------


class PublicRegister(Audited, TenantModel):
    """What an establishment chose to publish about the AI it uses, and what it published.

    `published_fields` are chosen one by one; `snapshot` is what the public pages show, written when the
    register is published (after a preview) and emptied when it is withdrawn. The public pages
    read the snapshot and nothing else, so an edit in the register reaches the public only
    when someone publishes again."""

    establishment = models.OneToOneField(
        Establishment, on_delete=models.CASCADE, related_name="public_register"
    )
    published_fields = models.JSONField(_("champs publiés"), default=list, blank=True)
    introduction = models.TextField(_("texte d'introduction"), blank=True)
    contact = models.CharField(
        _("contact pour les patients"),
        max_length=300,
        blank=True,
        help_text=_("Ex. : délégué à la protection des données, dpo@… ; sans nom de personne."),
    )
    snapshot = models.JSONField(_("contenu publié"), null=True, blank=True)
    published_at = models.DateTimeField(_("publié le"), null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    tenant_path = "establishment_id"
    # field codes: the settings page shows them with their labels; the trail keeps them
    audit_hidden = ("published_fields",)

    class Meta:
        verbose_name = _("registre public des IA")
        verbose_name_plural = _("registres publics des IA")

    def __str__(self):
        return _("Registre public — %(e)s") % {"e": self.establishment}

    @property
    def is_published(self) -> bool:
        return self.snapshot is not None


# --- rights requests -----------------------------------------------------------------------


class RightsRequest(Audited, TenantModel):
    """A request received by the DPO office. It never holds the patient's identity: a local
    reference only; the identity is checked outside Garant (who checked, how, when)."""

    class State(models.TextChoices):
        RECEIVED = "received", _("reçue")
        IN_PROGRESS = "in_progress", _("en cours")
        ANSWERED = "answered", _("répondue")
        CLOSED = "closed", _("close sans suite")

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="rights_requests",
    )
    kind = models.CharField(_("type de demande"), max_length=20)
    local_reference = models.CharField(
        _("référence locale"),
        max_length=60,
        help_text=_(
            "N° du courrier ou du dossier au bureau du DPO : ni nom, ni NIR/INS, ni courriel, "
            "ni téléphone."
        ),
    )
    received_on = models.DateField(_("reçue le"))
    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA concerné"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rights_requests",
    )
    summary = models.TextField(
        _("objet de la demande"), help_text=_("Sans élément d'identité du patient.")
    )
    identity_checked_by = models.CharField(_("identité vérifiée par"), max_length=200)
    identity_check_method = models.CharField(
        _("comment"),
        max_length=300,
        help_text=_("Ex. : copie de pièce d'identité vue au guichet, non conservée dans Garant."),
    )
    identity_checked_on = models.DateField(_("vérifiée le"))
    state = models.CharField(
        _("état"), max_length=12, choices=State.choices, default=State.RECEIVED
    )
    deadline = models.DateField(_("échéance"), db_index=True)
    extended = models.BooleanField(_("délai prolongé"), default=False)
    extension_reason = models.TextField(_("motif de la prolongation"), blank=True)
    answer = models.TextField(_("réponse"), blank=True)
    answered_on = models.DateField(_("répondue le"), null=True, blank=True)
    rules_version = models.CharField(_("version des règles"), max_length=20)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("enregistrée le"), default=timezone.now, editable=False)

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("demande d'exercice de droits")
        verbose_name_plural = _("demandes d'exercice de droits")
        ordering = ["deadline", "pk"]

    def __str__(self):
        return _("Demande %(ref)s") % {"ref": self.local_reference}

    def get_absolute_url(self):
        return reverse("patients:request", args=[self.pk])

    @property
    def open(self) -> bool:
        return self.state in (self.State.RECEIVED, self.State.IN_PROGRESS)

    def overdue(self, today=None) -> bool:
        return self.open and (today or timezone.localdate()) > self.deadline


class RequestStep(Audited, TenantModel):
    """One step of a request's handling (a search, a contact, an answer sent)."""

    request = models.ForeignKey(RightsRequest, on_delete=models.CASCADE, related_name="steps")
    done_on = models.DateField(_("date"))
    note = models.TextField(_("ce qui a été fait"))
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    tenant_path = "request__establishment_id"
    audit_parent = "request"

    class Meta:
        verbose_name = _("étape de traitement")
        verbose_name_plural = _("étapes de traitement")
        ordering = ["done_on", "pk"]

    def __str__(self):
        return self.note[:60]


# objections per system and purpose, erasure runs and their certificates (issue 15 items 4-5)
from garant.patients.erasure import ErasureRun  # noqa: E402, F401
from garant.patients.objections import Objection  # noqa: E402, F401
