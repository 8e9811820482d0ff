"""People: the training catalogue, the staff register, training records and habilitations
per tool (docs/people.md).

Staff members are not necessarily users of Garant: `Person` holds the few fields needed to
say who may use and oversee which tool (no health data). A `Habilitation` rests on the
training records that met the system's `Prerequisites` when a referent granted (or renewed)
it; its expiry is the earliest expiry of those records, and whether it has expired is
computed on read from the dates (`state`), so it lapses on the right day without a job.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import Establishment, Service, User
from garant.core.tenancy import TenantModel
from garant.people.referential import codes
from garant.registry.models import AISystem


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus `months` calendar months (the 31st becomes the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


@deconstructible
class InReferential:
    """A code (or a list of codes) of one vocabulary of the people referential."""

    def __init__(self, vocabulary: str):
        self.vocabulary = vocabulary

    def __eq__(self, other):
        return isinstance(other, InReferential) and other.vocabulary == self.vocabulary

    def __call__(self, value):
        values = value if isinstance(value, list) else [value]
        known = getattr(codes(), self.vocabulary)
        if unknown := [v for v in values if v not in known]:
            raise ValidationError(
                _("valeur inconnue : %(values)s ; valeurs possibles : %(codes)s"),
                params={"values": ", ".join(map(str, unknown)), "codes": ", ".join(known)},
            )


_in_referential = InReferential


class TrainingModule(Audited, TenantModel):
    """A module of the establishment's training catalogue."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="training_modules",
    )
    code = models.SlugField(_("code"), max_length=40)
    title = models.CharField(_("intitulé"), max_length=200)
    kind = models.CharField(_("type"), max_length=30, validators=[_in_referential("module_kinds")])
    level = models.CharField(_("niveau"), max_length=30, validators=[_in_referential("levels")])
    duration_hours = models.DecimalField(_("durée (heures)"), max_digits=5, decimal_places=1)
    audience_professions = models.JSONField(
        _("professions visées"),
        default=list,
        blank=True,
        validators=[_in_referential("professions")],
        help_text=_("Vide : toutes les professions."),
    )
    audience_roles = models.CharField(
        _("publics visés"),
        max_length=300,
        blank=True,
        help_text=_("Rôles visés, en clair (ex. : superviseurs de l'outil, encadrement)."),
    )
    provider = models.CharField(
        _("dispensée par"), max_length=30, validators=[_in_referential("providers")]
    )
    provider_name = models.CharField(_("organisme"), max_length=200, blank=True)
    validity_months = models.PositiveIntegerField(
        _("validité (mois)"),
        null=True,
        blank=True,
        help_text=_("Vide : la formation n'expire pas."),
    )
    systems = models.ManyToManyField(
        AISystem,
        verbose_name=_("outils pour lesquels elle qualifie"),
        blank=True,
        related_name="training_modules",
    )
    active = models.BooleanField(_("au catalogue"), default=True)

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("module de formation")
        verbose_name_plural = _("modules de formation")
        ordering = ["establishment", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "code"], name="people_module_code_unique"
            )
        ]

    def __str__(self):
        return self.title

    def expiry(self, completed_on: dt.date) -> dt.date | None:
        """Last day of validity of a training completed on `completed_on` (None: no expiry)."""
        if self.validity_months is None:
            return None
        return add_months(completed_on, self.validity_months) - dt.timedelta(days=1)


rpps_adeli = RegexValidator(
    r"^(\d{11}|\d{9}|\d{10})$",
    _("Numéro RPPS (11 chiffres) ou ADELI (9 ou 10 caractères numériques) attendu."),
)


class Person(Audited, TenantModel):
    """A staff member of the establishment (not necessarily a user of Garant): the minimum
    needed to follow trainings and habilitations, never health data."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="people",
    )
    last_name = models.CharField(_("nom"), max_length=100)
    first_name = models.CharField(_("prénom"), max_length=100)
    profession = models.CharField(
        _("profession"), max_length=30, validators=[_in_referential("professions")]
    )
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
    )
    rpps = models.CharField(
        _("n° RPPS ou ADELI"), max_length=11, blank=True, validators=[rpps_adeli]
    )
    staff_id = models.CharField(
        _("identifiant interne"),
        max_length=50,
        blank=True,
        help_text=_(
            "Matricule ou identifiant de l'annuaire : celui que le logiciel clinique "
            "envoie pour vérifier une habilitation."
        ),
    )
    user = models.ForeignKey(
        User,
        verbose_name=_("compte Garant"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="people",
    )
    left_on = models.DateField(
        _("départ de l'établissement le"),
        null=True,
        blank=True,
        help_text=_("La fiche est effacée après le délai de conservation (docs/people.md)."),
    )

    tenant_path = "establishment_id"

    class Meta:
        verbose_name = _("personne")
        verbose_name_plural = _("personnes")
        ordering = ["establishment", "last_name", "first_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "rpps"],
                condition=~models.Q(rpps=""),
                name="people_person_rpps_unique",
            ),
            models.UniqueConstraint(
                fields=["establishment", "staff_id"],
                condition=~models.Q(staff_id=""),
                name="people_person_staff_id_unique",
            ),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"

    def get_absolute_url(self):
        return reverse("people:person", args=[self.pk])

    @property
    def profession_label(self) -> str:
        return codes().label("professions", self.profession)

    def clean(self):
        if self.service_id and self.service.establishment_id != self.establishment_id:
            raise ValidationError({"service": _("Ce service appartient à un autre établissement.")})


def evidence_path(instance, filename: str) -> str:
    return f"people/{instance.person_id}/{filename}"


class TrainingRecord(Audited, TenantModel):
    """A module completed by a person; it expires after the module's validity period."""

    person = models.ForeignKey(
        Person, verbose_name=_("personne"), on_delete=models.CASCADE, related_name="trainings"
    )
    module = models.ForeignKey(
        TrainingModule,
        verbose_name=_("module"),
        on_delete=models.PROTECT,
        related_name="records",
    )
    completed_on = models.DateField(_("réalisée le"))
    expires_on = models.DateField(_("valable jusqu'au"), null=True, blank=True, editable=False)
    evidence = models.FileField(
        _("attestation"), upload_to=evidence_path, max_length=300, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    tenant_path = "person__establishment_id"
    audit_parent = "person"

    class Meta:
        verbose_name = _("formation suivie")
        verbose_name_plural = _("formations suivies")
        ordering = ["person", "-completed_on", "pk"]

    def __str__(self):
        return f"{self.person} — {self.module} ({self.completed_on:%d/%m/%Y})"

    def clean(self):
        if (
            self.person_id
            and self.module_id
            and self.person.establishment_id != self.module.establishment_id
        ):
            raise ValidationError({"module": _("Ce module appartient à un autre établissement.")})
        if self.completed_on and self.completed_on > timezone.localdate():
            raise ValidationError({"completed_on": _("La date de réalisation est dans le futur.")})

    def save(self, *args, **kwargs):
        self.expires_on = self.module.expiry(self.completed_on)
        super().save(*args, **kwargs)


class Prerequisites(Audited, TenantModel):
    """What a system asks of a person before a referent may habilitate them to use it."""

    ai_system = models.OneToOneField(
        AISystem, on_delete=models.CASCADE, related_name="habilitation_prerequisites"
    )
    modules = models.ManyToManyField(
        TrainingModule, verbose_name=_("modules requis"), blank=True, related_name="+"
    )
    professions = models.JSONField(
        _("professions autorisées"),
        default=list,
        blank=True,
        validators=[_in_referential("professions")],
        help_text=_("Vide : toutes."),
    )
    services = models.ManyToManyField(
        Service,
        verbose_name=_("services autorisés"),
        blank=True,
        related_name="+",
        help_text=_("Vide : tous les services du système."),
    )
    charter_required = models.BooleanField(_("charte d'utilisation signée requise"), default=False)

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"

    class Meta:
        verbose_name = _("prérequis d'habilitation")
        verbose_name_plural = _("prérequis d'habilitation")

    def __str__(self):
        return f"{self.ai_system} — prérequis"


class Habilitation(Audited, TenantModel):
    """A person allowed by a referent to use a system, on the strength of their trainings."""

    class Status(models.TextChoices):
        GRANTED = "granted", _("accordée")
        SUSPENDED = "suspended", _("suspendue")
        WITHDRAWN = "withdrawn", _("retirée")

    #: the state read by users: the stored status, or "expired" once a training has lapsed
    EXPIRED = "expired"

    person = models.ForeignKey(
        Person, verbose_name=_("personne"), on_delete=models.CASCADE, related_name="habilitations"
    )
    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système"),
        on_delete=models.CASCADE,
        related_name="habilitations",
    )
    status = models.CharField(
        _("statut"), max_length=12, choices=Status.choices, default=Status.GRANTED
    )
    trainings = models.ManyToManyField(
        TrainingRecord,
        verbose_name=_("formations sur lesquelles elle repose"),
        blank=True,
        related_name="habilitations",
    )
    charter_signed_on = models.DateField(_("charte signée le"), null=True, blank=True)
    granted_on = models.DateField(_("accordée le"))
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    renewed_on = models.DateField(_("renouvelée le"), null=True, blank=True)
    comment = models.CharField(_("motif"), max_length=500, blank=True)
    reminded_for = models.DateField(null=True, blank=True, editable=False)  # expiry e-mailed

    tenant_path = "ai_system__establishment_id"
    audit_parent = "ai_system"
    audit_exclude = ("reminded_for",)

    class Meta:
        verbose_name = _("habilitation")
        verbose_name_plural = _("habilitations")
        ordering = ["ai_system", "person__last_name", "person__first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "ai_system"], name="people_habilitation_unique"
            )
        ]

    def __str__(self):
        return f"{self.person} — {self.ai_system}"
