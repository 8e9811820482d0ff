"""The audit trail: who changed what, when, from where; every event chained by SHA-256.

Models that inherit `Audited` are recorded automatically on create, update, delete and
many-to-many changes (signals connected in `CoreConfig.ready`). Who and from where come from
the current `audit_context` (set by the middleware for web and API requests, by the import,
and by each management command); an event recorded outside any context is attributed to
"système".

Chains: one per establishment, one for events with no establishment, and the closed legacy
chain of the events recorded before chains were split (decisions/0012). In each chain, event
n stores hash(n-1) and hash(n) = SHA-256(hash(n-1) + canonical JSON of its fields, chain
included). Each chain's head row holds its last (seq, hash) and is locked by the appends to
that chain only, so writers of different establishments do not wait for each other; deleting
the last events of a chain is detected too. A new chain is announced in the chain with no
establishment, so a chain deleted whole, head included, is detected as well. `verify()` walks
every chain and names the first bad event of each. The journal's order is the events' id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models.base import DEFERRED
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from garant.core.audit_models import (
    GENESIS,
    LEGACY_CHAIN,
    NONE_CHAIN,
    AuditChainHead,
    AuditEvent,
    chain_key,
)

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
    if isinstance(value, decimal.Decimal | uuid.UUID):
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
    if event.chain != LEGACY_CHAIN:  # the legacy chain's events keep the hashes they have
        payload["chain"] = event.chain
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(prev_hash: str, event) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


def _label(obj) -> str:
    return obj._meta.label_lower


@dataclass
class Pending:
    """An event to append: what happened to which object (and, once deferred, by whom)."""

    action: str
    object_type: str
    object_id: str
    object_repr: str
    subject: str
    establishment_id: int | None
    changes: dict
    actor: tuple[int | None, str, str] | None = None


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


_deferred: ContextVar[list[Pending] | None] = ContextVar("garant_audit_deferred", default=None)


@contextlib.contextmanager
def deferred():
    """A transaction (`transaction.atomic`) whose audit events are chained when it ends.

    For a transaction that does long work besides its writes (a Delta append): its events are
    recorded as usual but appended to their chains only at the end of the block, still inside
    the transaction, so the chain heads are locked for the commit only, not during the work.
    An exception in the block rolls back the writes and drops their events alike. Inside the
    block, `record` returns the pending event, not a stored one.
    """
    with transaction.atomic():
        token = _deferred.set([])
        try:
            yield
            pendings = _deferred.get()
        finally:
            _deferred.reset(token)
        append(pendings)


def append(pendings: list[Pending]) -> list:
    """Append events to their chains, inside the caller's transaction; returns them in order.

    Each event goes to the chain of its establishment (or the chain with no establishment),
    whose head row is locked until the caller's transaction ends: writers of other
    establishments are not held up. Inside a `deferred()` block the events wait for its end.
    """
    if not pendings:
        return []
    waiting = _deferred.get()
    if waiting is not None:
        actor = current_actor()
        for p in pendings:
            p.actor = p.actor or actor
        waiting.extend(pendings)
        return list(pendings)
    actor = current_actor()
    now = timezone.now()
    by_chain: dict[str, list[Pending]] = {}
    for p in pendings:
        by_chain.setdefault(chain_key(p.establishment_id), []).append(p)
    with transaction.atomic():
        heads, opened = _lock_heads(list(by_chain))
        if opened:  # announced in the chain with no establishment, before their own events
            announced = [_opening(key) for key in opened] + by_chain.pop(NONE_CHAIN, [])
            by_chain = {NONE_CHAIN: announced, **by_chain}
        made: dict[int, AuditEvent] = {}
        for key, chained in by_chain.items():
            head = heads[key]
            seq, prev = head.seq, head.hash
            for p in chained:
                actor_id, actor_name, source = p.actor or actor
                seq += 1
                event = AuditEvent(
                    chain=key,
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
                event.hash = prev = compute_hash(prev, event)
                made[id(p)] = event
            head.seq, head.hash = seq, prev
        AuditEvent.objects.bulk_create(list(made.values()), batch_size=500)
        for key in by_chain:
            heads[key].save(update_fields=["seq", "hash"])
    return [made[id(p)] for p in pendings]


def _lock_order(key: str) -> tuple[bool, str]:
    return (key != NONE_CHAIN, key)  # the chain with no establishment first, then by key


def _lock_heads(keys: list[str]) -> tuple[dict[str, AuditChainHead], list[str]]:
    """Lock the head of each chain, in one order (so two appends cannot deadlock each other),
    creating the missing ones. A new chain is opened under the lock of the chain with no
    establishment, which records its opening: `verify` then notices a chain that disappears
    whole, head included. Returns the heads and the keys of the chains opened."""
    keys = sorted(keys, key=_lock_order)
    if len(keys) > 1 and NONE_CHAIN not in keys:
        existing = set(
            AuditChainHead.objects.filter(chain__in=keys).values_list("chain", flat=True)
        )
        if existing != set(keys):
            keys.insert(0, NONE_CHAIN)  # a chain to open: lock the opening chain first
    heads: dict[str, AuditChainHead] = {}
    opened: list[str] = []
    for key in keys:
        head = AuditChainHead.objects.select_for_update().filter(chain=key).first()
        if head is None and key == NONE_CHAIN:
            AuditChainHead.objects.bulk_create([AuditChainHead(chain=key)], ignore_conflicts=True)
            head = AuditChainHead.objects.select_for_update().get(chain=key)
        elif head is None:
            if NONE_CHAIN not in heads:
                heads.update(_lock_heads([NONE_CHAIN])[0])
            # under that lock nobody else opens a chain: look again (opened meanwhile?)
            head = AuditChainHead.objects.select_for_update().filter(chain=key).first()
            if head is None:
                head = AuditChainHead.objects.create(chain=key)
                opened.append(key)
        heads[key] = head
    return heads, opened


def _opening(key: str) -> Pending:
    return Pending(
        action="event",
        object_type="core.auditchain",
        object_id=key,
        object_repr=f"ouverture de la {chain_label(key)}",
        subject=f"core.auditchain:{key}",
        establishment_id=None,
        changes={"chain": [None, key]},
    )


def chain_label(key: str) -> str:
    if key == NONE_CHAIN:
        return "chaîne sans établissement"
    if key == LEGACY_CHAIN:
        return "chaîne historique"
    return f"chaîne de l'établissement {key.partition(':')[2]}"


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
class Problem:
    """The first bad event of one chain: its position in the chain (`seq`, None when the
    chain is gone whole) and its number in the journal (`event_id`, None when it is missing)."""

    chain: str
    seq: int | None
    event_id: int | None
    message: str


@dataclass
class Verification:
    ok: bool
    checked: int
    message: str
    problems: list[Problem] = field(default_factory=list)
    chains: int = 0

    @property
    def first_bad_seq(self) -> int | None:
        return self.problems[0].seq if self.problems else None

    @property
    def first_bad_id(self) -> int | None:
        return self.problems[0].event_id if self.problems else None


class _Walk:
    """One chain walked in seq order, up to its first bad event."""

    def __init__(self, chain: str):
        self.chain, self.label = chain, chain_label(chain)
        self.prev, self.expected, self.last = GENESIS, 1, None
        self.problem: Problem | None = None

    def fail(self, seq, event_id, message: str) -> None:
        self.problem = Problem(self.chain, seq, event_id, message)

    def named(self, event) -> str:
        return f"événement n° {event.pk} du journal ({self.label}, maillon {event.seq})"

    def step(self, event) -> bool:
        if self.problem is not None:
            return False
        if event.seq != self.expected:
            where = f"avant l'événement n° {event.pk} du journal"
            if self.last is not None:
                where = f"entre les événements n° {self.last.pk} et n° {event.pk} du journal"
            self.fail(
                self.expected, None, f"{self.label} : maillon {self.expected} manquant ({where})"
            )
        elif event.prev_hash != self.prev:
            self.fail(
                event.seq,
                event.pk,
                f"{self.named(event)} : le chaînage avec l'événement précédent est rompu",
            )
        elif compute_hash(self.prev, event) != event.hash:
            self.fail(
                event.seq,
                event.pk,
                f"{self.named(event)} modifié : son contenu ne correspond plus à son empreinte",
            )
        else:
            self.prev, self.expected, self.last = event.hash, self.expected + 1, event
            return True
        return False

    def end(self, head) -> None:
        """Compare the end of the walk with the chain's head: removed last events, a removed
        head, events added after the head, or a last event rewritten with its hash."""
        if self.problem is not None:
            return
        n = self.expected - 1
        last = f" (événement n° {self.last.pk} du journal)" if self.last is not None else ""
        if head is None:
            if n:
                self.fail(
                    n + 1,
                    None,
                    f"{self.label} : tête de chaîne supprimée (dernier maillon : {n}{last})",
                )
        elif head.seq > n:
            self.fail(
                n + 1,
                None,
                f"{self.label} : maillon {n + 1} manquant : la chaîne s'arrête au maillon {n}{last} "
                f"alors que sa tête en annonce {head.seq}",
            )
        elif head.seq < n:
            self.fail(
                head.seq + 1,
                None,
                f"{self.label} : maillon {head.seq + 1} ajouté hors chaîne : "
                f"la tête de chaîne s'arrête au maillon {head.seq}",
            )
        elif head.hash != self.prev:
            self.fail(
                n,
                self.last.pk,
                f"{self.label} : la tête de chaîne ne correspond plus au maillon {n}{last}",
            )


def verify() -> Verification:
    """Walk every chain: each event's link and hash, then each chain's head; and check that
    every chain was opened in the chain with no establishment and is still there."""
    heads = {h.chain: h for h in AuditChainHead.objects.all()}
    walks: dict[str, _Walk] = {}
    openings: dict[str, AuditEvent] = {}
    walk = None
    for event in AuditEvent.objects.order_by("chain", "seq").iterator(chunk_size=2000):
        if walk is None or event.chain != walk.chain:
            walk = walks[event.chain] = _Walk(event.chain)
        if (
            walk.step(event)
            and event.chain == NONE_CHAIN
            and event.object_type == "core.auditchain"
        ):
            openings[event.object_id] = event
    for key in heads.keys() - walks.keys():
        walks[key] = _Walk(key)
    for key, walk in walks.items():
        walk.end(heads.get(key))
    problems = [w.problem for w in walks.values() if w.problem is not None]
    for key, opening in openings.items():
        seq, digest = (opening.changes.get(name, [None, None])[1] for name in ("seq", "hash"))
        head = heads.get(key)
        if key not in walks:
            problems.append(
                Problem(
                    key,
                    None,
                    None,
                    f"{chain_label(key)} : ouverte par l'événement n° {opening.pk} du journal, "
                    "mais sa tête et tous ses événements ont disparu",
                )
            )
        elif seq is not None and head is not None and (head.seq, head.hash) != (seq, digest):
            problems.append(
                Problem(
                    key,
                    None,
                    None,
                    f"{chain_label(key)} : sa tête (maillon {head.seq}) ne correspond plus à celle "
                    f"relevée à sa clôture par l'événement n° {opening.pk} du journal "
                    f"(maillon {seq}, empreinte {str(digest)[:12]}…)",
                )
            )
    none_walk = walks.get(NONE_CHAIN)
    if none_walk is None or none_walk.problem is None:  # else its openings are not all known
        for key in walks.keys() - openings.keys() - {NONE_CHAIN}:
            problems.append(
                Problem(
                    key,
                    None,
                    None,
                    f"{chain_label(key)} : son ouverture manque dans la chaîne sans établissement",
                )
            )
    problems.sort(key=lambda p: _lock_order(p.chain))
    checked = sum(w.expected - 1 for w in walks.values())
    if problems:
        message = problems[0].message
        if len(problems) > 1:
            message = f"{len(problems)} chaînes en défaut :\n" + "\n".join(
                f"- {p.message}" for p in problems
            )
        return Verification(False, checked, message, problems, len(walks))
    return Verification(
        True,
        checked,
        f"OK : {checked} événements vérifiés dans {len(walks)} chaînes, chaînes intactes",
        chains=len(walks),
    )
