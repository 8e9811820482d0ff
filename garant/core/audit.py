"""The audit trail: who changed what, when, from where; every event chained by SHA-256.

Models that inherit `Audited` are recorded automatically on create, update, delete and
many-to-many changes (signals connected in `CoreConfig.ready`). Who and from where come from
the current `audit_context` (set by the middleware for web and API requests, by the import,
and by each management command); an event recorded outside any context is attributed to
"système".

Chain: event n stores hash(n-1) and hash(n) = SHA-256(hash(n-1) + canonical JSON of its
fields). A singleton head row, locked for each append, holds the last (seq, hash), so deleting
the last events is detected too. `verify()` walks the chain and names the first bad event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models.base import DEFERRED
from django.db.models.fields.files import FieldFile
from django.utils import timezone

GENESIS = "0" * 64

_context: ContextVar[dict | None] = ContextVar("garant_audit_context", default=None)


@contextlib.contextmanager
def audit_context(user=None, source: str = "system", request=None):
    """Attribute the events recorded inside the block to `user` (or the request's user)."""
    token = _context.set({"user": user, "source": source, "request": request})
    try:
        yield
    finally:
        _context.reset(token)


def current_actor() -> tuple[int | None, str, str]:
    ctx = _context.get() or {}
    user = ctx.get("user")
    request = ctx.get("request")
    if user is None and request is not None:
        user = getattr(request, "user", None)
    source = ctx.get("source", "system")
    if user is not None and getattr(user, "is_authenticated", False):
        return user.pk, user.get_username(), source
    return None, "système", source


def _jsonable(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):
        return value.name or None  # the stored file's path, not its content
    return value


def _canonical(event) -> bytes:
    payload = {
        "seq": event.seq,
        "at": _jsonable(event.at),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "source": event.source,
        "establishment_id": event.establishment_id,
        "object_type": event.object_type,
        "object_id": str(event.object_id),
        "object_repr": event.object_repr,
        "subject": event.subject,
        "action": event.action,
        "changes": event.changes,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(prev_hash: str, event) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


def _label(obj) -> str:
    return obj._meta.label_lower


@dataclass
class Pending:
    """An event to append: what happened to which object."""

    action: str
    object_type: str
    object_id: str
    object_repr: str
    subject: str
    establishment_id: int | None
    changes: dict


def pending_for(obj, action: str, changes: dict) -> Pending:
    return Pending(
        action=action,
        object_type=_label(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        subject=obj.audit_subject(),
        establishment_id=obj.audit_establishment_id(),
        changes=changes,
    )


def append(pendings: list[Pending]) -> list:
    """Append events to the chain, in order, inside the caller's transaction."""
    from garant.core.models import AuditChainHead, AuditEvent

    if not pendings:
        return []
    actor_id, actor_name, source = current_actor()
    now = timezone.now()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        events = []
        seq, prev = head.seq, head.hash
        for p in pendings:
            seq += 1
            event = AuditEvent(
                seq=seq,
                at=now,
                actor_id=actor_id,
                actor_name=actor_name,
                source=source,
                establishment_id=p.establishment_id,
                object_type=p.object_type,
                object_id=p.object_id,
                object_repr=p.object_repr,
                subject=p.subject,
                action=p.action,
                changes=_jsonable_changes(p.changes),
                prev_hash=prev,
            )
            event.hash = compute_hash(prev, event)
            prev = event.hash
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=500)
        head.seq, head.hash = seq, prev
        head.save(update_fields=["seq", "hash"])
    return events


def _jsonable_changes(changes: dict) -> dict:
    return {k: [_jsonable(v) for v in pair] for k, pair in changes.items()}


def record(obj, action: str, changes: dict | None = None):
    return append([pending_for(obj, action, changes or {})])[0]


def record_refused(obj, reason: str, attempted: dict | None = None):
    """A write that the model refused (a signed decision edited): kept in the trail as an
    "event" on the object, with the reason and {field: [stored, attempted]}. It is written in
    the caller's transaction: refuse outside any transaction that will be rolled back."""
    return record(obj, "event", {"refused": [None, str(reason)], **(attempted or {})})


def record_event(object_type: str, object_repr: str, changes: dict, establishment_id=None):
    """An event about no single model row (a login, an import summary, a verification)."""
    return append(
        [
            Pending(
                action="event",
                object_type=object_type,
                object_id="-",
                object_repr=object_repr[:300],
                subject=object_type,
                establishment_id=establishment_id,
                changes=changes,
            )
        ]
    )[0]


# --- automatic recording of model changes -------------------------------------------------


class Audited:
    """Mixin for models whose every change is recorded.

    `audit_exclude` lists fields never written to the trail (secrets, bookkeeping).
    `audit_parent` names a foreign key whose object's history also shows this object's events.
    """

    audit_exclude: tuple[str, ...] = ()
    audit_parent: str | None = None

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # kept as loaded; turned into a dict only if the instance is saved (lists stay cheap)
        instance._audit_loaded_raw = (field_names, values)
        return instance

    def audit_loaded(self) -> dict | None:
        """The values as loaded from the database (or as last saved), None if unknown."""
        loaded = getattr(self, "_audit_loaded", None)
        if loaded is None and (raw := getattr(self, "_audit_loaded_raw", None)) is not None:
            names, values = raw
            loaded = {n: v for n, v in zip(names, values, strict=True) if v is not DEFERRED}
            self._audit_loaded = loaded
        return loaded

    def audit_fields(self):
        return [
            f
            for f in self._meta.concrete_fields
            if f.name not in self.audit_exclude and not f.primary_key
        ]

    def audit_snapshot(self) -> dict:
        return {f.attname: _jsonable(f.value_from_object(self)) for f in self.audit_fields()}

    def audit_subject(self) -> str:
        if self.audit_parent:
            parent_id = getattr(self, f"{self.audit_parent}_id")
            parent_model = self._meta.get_field(self.audit_parent).related_model
            return f"{parent_model._meta.label_lower}:{parent_id}"
        return f"{self._meta.label_lower}:{self.pk}"

    def audit_establishment_id(self) -> int | None:
        path = getattr(self, "tenant_path", None)
        if not path:
            return None
        if path == "id":
            return self.pk
        if "__" not in path:
            return getattr(self, path)
        obj = self
        parts = path.split("__")
        for part in parts[:-1]:
            obj = getattr(obj, part)
        return getattr(obj, parts[-1])


def on_post_save(sender, instance, created, raw=False, **kwargs):
    if raw or not isinstance(instance, Audited):
        return
    after = instance.audit_snapshot()
    if created:
        changes = {k: [None, v] for k, v in after.items() if v not in (None, "", [])}
        record(instance, "create", changes)
    else:
        loaded = instance.audit_loaded()
        if loaded is None:  # saved without being loaded from the DB: compare to nothing known
            changes = {k: [None, v] for k, v in after.items()}
        else:
            before = {k: _jsonable(loaded[k]) for k in after if k in loaded}
            after = {k: v for k, v in after.items() if k in loaded}
            changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        if changes:
            record(instance, "update", changes)
    instance._audit_loaded = {
        f.attname: f.value_from_object(instance) for f in instance._meta.concrete_fields
    }


def on_post_delete(sender, instance, **kwargs):
    if isinstance(instance, Audited):
        record(
            instance,
            "delete",
            {k: [v, None] for k, v in instance.audit_snapshot().items() if v not in (None, "")},
        )


def on_m2m_changed(sender, instance, action, model, pk_set, reverse, **kwargs):
    if reverse or not isinstance(instance, Audited):
        return
    if action not in (
        "pre_add",
        "pre_remove",
        "pre_clear",
        "post_add",
        "post_remove",
        "post_clear",
    ):
        return
    field = next((f for f in instance._meta.many_to_many if f.remote_field.through is sender), None)
    if field is None:
        return
    current = sorted(getattr(instance, field.name).values_list("pk", flat=True))
    if action.startswith("pre_"):
        instance._audit_m2m_before = current
        return
    before = getattr(instance, "_audit_m2m_before", None)
    if before is not None and before != current:
        record(instance, "update", {field.name: [before, current]})


# --- verification --------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    checked: int
    message: str
    first_bad_seq: int | None = None


def verify() -> Verification:
    from garant.core.models import AuditChainHead, AuditEvent

    prev, expected_seq, checked = GENESIS, 1, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return Verification(
                False,
                checked,
                f"événement n° {expected_seq} manquant (le suivant trouvé est le n° {event.seq})",
                expected_seq,
            )
        if event.prev_hash != prev:
            return Verification(
                False,
                checked,
                f"événement n° {event.seq} : le chaînage avec l'événement précédent est rompu",
                event.seq,
            )
        if compute_hash(prev, event) != event.hash:
            return Verification(
                False,
                checked,
                f"événement n° {event.seq} modifié : son contenu ne correspond plus à son empreinte",
                event.seq,
            )
        prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != checked or head_hash != prev:
        return Verification(
            False,
            checked,
            f"événement n° {checked + 1} manquant : la chaîne s'arrête au n° {checked} "
            f"alors que le dernier enregistré est le n° {head_seq}",
            checked + 1,
        )
    return Verification(True, checked, f"OK : {checked} événements vérifiés, chaîne intacte")
