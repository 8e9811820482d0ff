"""Erasure runs and their deletion certificates (GDPR Art 17, withdrawal of consent).

A run erases one patient, named by the identifier the DPO types and Garant keeps only as
its keyed pseudonym, from every store Garant holds for the establishment (`deletion.py`),
and keeps the certificate: what was searched, where, how many records were removed per
store, the table versions before and after, what Garant cannot reach, and the place of the
run in the establishment's audit chain. The certificate never holds the identifier.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import Establishment, User
from garant.core.tenancy import TenantModel
from garant.patients.pseudonyms import pseudonym_field, request_reference_field


class ErasureRun(Audited, TenantModel):
    """One erasure of one patient in every store of one establishment, and its certificate."""

    class Reason(models.TextChoices):
        ERASURE = "erasure", _("demande d'effacement (RGPD art. 17)")
        WITHDRAWAL = "withdrawal", _("retrait du consentement")
        OBJECTION = "objection", _("opposition (RGPD art. 21)")

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="erasure_runs",
    )
    reason = models.CharField(_("motif"), max_length=12, choices=Reason.choices)
    pseudonym = pseudonym_field()
    request_reference = request_reference_field()
    ran_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ran_at = models.DateTimeField(_("exécutée le"), default=timezone.now)
    records_removed = models.PositiveBigIntegerField(_("enregistrements supprimés"), default=0)
    certificate = models.JSONField(_("certificat"), default=dict)
    # the run's event in the audit trail, which chains the certificate's SHA-256
    audit_chain = models.CharField(max_length=40, blank=True)
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)
    audit_hash = models.CharField(max_length=64, blank=True)

    tenant_path = "establishment_id"
    audit_exclude = ("certificate", "audit_chain", "audit_seq", "audit_hash")

    class Meta:
        verbose_name = _("effacement vérifiable")
        verbose_name_plural = _("effacements vérifiables")
        ordering = ["-ran_at", "-pk"]

    def __str__(self):
        return _("Effacement n° %(pk)s du %(date)s") % {
            "pk": self.pk,
            "date": timezone.localtime(self.ran_at).strftime("%d/%m/%Y %H:%M"),
        }

    def get_absolute_url(self):
        return reverse("patients_erasure:run", args=[self.pk])
