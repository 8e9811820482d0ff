"""The audit trail's tables: events, chained per establishment, and one head row per chain.

Defined apart from `garant.core.models` so that imports go one way: `core.models` imports
`core.audit` (for the `Audited` mixin), which imports this module; nothing here imports
Garant. `core.models` re-exports both models, so `from garant.core.models import AuditEvent`
still works.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64

# chain keys: one chain per establishment, one for events with no establishment, and the
# closed chain of every event recorded before chains were split (migration core 0002)
NONE_CHAIN = "none"
LEGACY_CHAIN = "legacy"


def chain_key(establishment_id: int | None) -> str:
    return NONE_CHAIN if establishment_id is None else f"establishment:{establishment_id}"


class AuditEvent(models.Model):
    """One append-only event of the audit trail, chained to the previous one of its chain.

    Nothing here is a foreign key on purpose: deleting a user or an establishment must not
    rewrite history. `subject` groups an object's events with those of its children (a
    system's versions) for the per-record history. `chain` and `seq` place the event in its
    establishment's chain; the id gives the order of the whole journal.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("création")
        UPDATE = "update", _("modification")
        DELETE = "delete", _("suppression")
        LOGIN = "login", _("connexion")
        EVENT = "event", _("événement")

    chain = models.CharField(max_length=40)
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=20)
    establishment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    object_type = models.CharField(max_length=60, db_index=True)
    object_id = models.CharField(max_length=40)
    object_repr = models.CharField(max_length=300)
    subject = models.CharField(max_length=80, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    changes = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        app_label = "core"
        ordering = ["-id"]
        verbose_name = _("événement d'audit")
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_unique_chain_seq")
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The last sequence number and hash of one chain; locked by each append to that chain."""

    chain = models.CharField(max_length=40, unique=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)

    class Meta:
        app_label = "core"

    def __str__(self):
        return f"{self.chain} #{self.seq} {self.hash[:12]}"
