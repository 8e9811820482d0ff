"""Objections of patients per AI system and purpose (GDPR Art 21; withdrawal of consent).

An objection is recorded against the keyed pseudonym of the patient's identifier
(`pseudonyms.py`): Garant never stores the identifier itself. It names a purpose (care,
evaluation and monitoring, research, model training) and one AI system, or every system of
the establishment. The clinical software and the data pipelines ask, in batches, whether
identifiers may be used for a purpose (`check`, behind ``POST /api/objections/check``);
the monitoring ingestion asks the same for the evaluation purpose (`ingestion_filter`,
registered into `garant.monitoring.objections`). An objection may be lifted (the patient
changes their mind): it is then kept, with the date, and no longer counts.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.audit import Audited
from garant.core.models import Establishment, User
from garant.core.tenancy import TenantModel
from garant.patients.pseudonyms import pseudonym_field, pseudonyms, request_reference_field
from garant.registry.models import AISystem


class Purpose(models.TextChoices):
    CARE = "care", _("soins (aide à la décision pendant la prise en charge)")
    EVALUATION = "evaluation", _("évaluation et suivi des performances")
    RESEARCH = "research", _("recherche")
    TRAINING = "training", _("entraînement ou réentraînement des modèles")


class Objection(Audited, TenantModel):
    """One patient's objection to the use of their data by one system (or all) for one
    purpose, held as the keyed pseudonym of their identifier."""

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("établissement"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    pseudonym = pseudonym_field()
    purpose = models.CharField(_("finalité"), max_length=12, choices=Purpose.choices)
    ai_system = models.ForeignKey(
        AISystem,
        verbose_name=_("système d'IA"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="objections",
        help_text=_("Vide : tous les systèmes de l'établissement."),
    )
    received_on = models.DateField(_("reçue le"), default=timezone.localdate)
    request_reference = request_reference_field()
    recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("enregistrée le"), default=timezone.now)
    lifted_at = models.DateTimeField(_("levée le"), null=True, blank=True)

    tenant_path = "establishment_id"
    audit_exclude = ("recorded_at",)

    class Meta:
        verbose_name = _("opposition")
        verbose_name_plural = _("oppositions")
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["establishment", "purpose", "pseudonym"])]

    def __str__(self):
        system = self.ai_system.name if self.ai_system_id else _("tous les systèmes")
        return f"{self.get_purpose_display()} — {system} — {self.pseudonym[:12]}…"

    @property
    def active(self) -> bool:
        return self.lifted_at is None


def objected_pseudonyms(establishment, purpose: str, system_id: int | None) -> pa.Array:
    """The pseudonyms that may not be used for `purpose` by the system (by any system of the
    establishment when `system_id` is None: the cautious answer), as one Arrow array.

    One indexed query on (establishment, purpose); objections are few (thousands at most)
    next to the identifiers checked, so they are read whole and matched in memory."""
    rows = Objection.objects.within(establishment=establishment).filter(
        purpose=purpose, lifted_at__isnull=True
    )
    if system_id is not None:
        rows = rows.filter(Q(ai_system_id=system_id) | Q(ai_system__isnull=True))
    return pa.array(list(rows.values_list("pseudonym", flat=True).distinct()), pa.string())


def check(establishment, purpose: str, system_id: int | None, identifiers: list[str]) -> np.ndarray:
    """For each identifier, whether it may be used (True) or the patient objected (False).

    Constant work per identifier: its keyed pseudonym (one HMAC), then a hash-set membership
    test of all of them at once (Arrow's `is_in`)."""
    if not identifiers:
        return np.ones(0, dtype=bool)
    objected = objected_pseudonyms(establishment, purpose, system_id)
    if not len(objected):
        return np.ones(len(identifiers), dtype=bool)
    hashed = pa.array(pseudonyms(identifiers), pa.string())
    return np.invert(pc.is_in(hashed, value_set=objected).to_numpy(zero_copy_only=False))


def ingestion_filter(feed, patient_ids: pa.ChunkedArray) -> np.ndarray:
    """The monitoring ingestion's question (`garant.monitoring.objections`): which rows of a
    batch belong to patients who objected to evaluation use by the feed's system. Rows
    without a patient identifier are never objected."""
    objected = objected_pseudonyms(
        feed.ai_system.establishment, Purpose.EVALUATION, feed.ai_system_id
    )
    if not len(objected) or not len(patient_ids):
        return np.zeros(len(patient_ids), dtype=bool)
    ids = patient_ids.combine_chunks() if isinstance(patient_ids, pa.ChunkedArray) else patient_ids
    distinct = pc.unique(ids.drop_null())  # a patient has many rows: hash each one once
    hashed = pa.array(pseudonyms(distinct.to_pylist()), pa.string())
    refused = distinct.filter(pc.is_in(hashed, value_set=objected))
    if not len(refused):
        return np.zeros(len(ids), dtype=bool)
    return pc.fill_null(pc.is_in(ids, value_set=refused), False).to_numpy(zero_copy_only=False)
