"""One audit chain per establishment (decisions/0012-audit-chain-per-establishment.md).

Every event recorded so far, and the single head row, become the closed chain "legacy",
unchanged: their hashes were computed without a chain key and stay valid, so `garant audit
verify` checks them exactly as before and a head copied elsewhere before the upgrade still
matches. That chain's head (seq, hash) is then recorded in the new chain with no
establishment, as its opening: a later rewrite of the legacy chain, head included, contradicts
it. New events go to their establishment's chain.
"""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError
from django.utils import timezone

LEGACY, NONE = "legacy", "none"


def close_legacy_chain(apps, schema_editor):
    from garant.core.audit import compute_hash

    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditChainHead = apps.get_model("core", "AuditChainHead")
    head = AuditChainHead.objects.filter(chain=LEGACY).first()
    if head is None and not AuditEvent.objects.exists():
        return  # a new installation: nothing to close
    seq, digest = (head.seq, head.hash) if head else (0, "0" * 64)
    opening = AuditEvent(
        chain=NONE,
        seq=1,
        at=timezone.now(),
        actor_id=None,
        actor_name="système",
        source="migration",
        establishment_id=None,
        object_type="core.auditchain",
        object_id=LEGACY,
        object_repr="clôture de la chaîne historique",
        subject=f"core.auditchain:{LEGACY}",
        action="event",
        changes={"chain": [None, LEGACY], "seq": [None, seq], "hash": [None, digest]},
        prev_hash="0" * 64,
    )
    opening.hash = compute_hash(opening.prev_hash, opening)
    opening.save()
    AuditChainHead.objects.create(chain=NONE, seq=1, hash=opening.hash)


def reopen_legacy_chain(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditChainHead = apps.get_model("core", "AuditChainHead")
    if AuditEvent.objects.exclude(chain=LEGACY).exclude(chain=NONE, seq=1).exists():
        raise IrreversibleError(
            "des événements ont été enregistrés dans les chaînes par établissement : "
            "la chaîne unique ne peut pas être rétablie"
        )
    AuditEvent.objects.filter(chain=NONE).delete()
    AuditChainHead.objects.exclude(chain=LEGACY).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditevent",
            options={"ordering": ["-id"], "verbose_name": "événement d'audit"},
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="chain",
            field=models.CharField(default=LEGACY, max_length=40, unique=True),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(default=LEGACY, max_length=40),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.PositiveBigIntegerField(),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain", "seq"), name="audit_event_unique_chain_seq"
            ),
        ),
        migrations.RunPython(close_legacy_chain, reopen_legacy_chain),
    ]
