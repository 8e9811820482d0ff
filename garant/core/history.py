"""Audit events as a person reads them: a sentence with a name and a local date, and each
change with its field's label and values' labels, never a column name, a code, an id or an
ISO timestamp.

"Le 03/02/2026 à 14:05, Thomas Girardin a modifié « SepsiAlerte » (système d'IA, interface
web) :"
followed by "phase : « Expérimentation / PoC » → « Évaluation »".

The trail itself keeps the raw values (they are what its hashes cover); only their display
goes through here: `describe(events)` sets `event.readable` on each event of a page, with one
query per kind of record its changes point at.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.audit_models import LEGACY_CHAIN, NONE_CHAIN
from garant.core.numbers import number
from garant.core.referentials import vocabulary

# labels of keys that no model field names well (fields left with Django's English default
# name, keys of events about no model row)
KEY_LABELS = {
    "user": gettext_lazy("utilisateur"),
    "establishment": gettext_lazy("établissement"),
    "created_by": gettext_lazy("créé par"),
    "created_at": gettext_lazy("créé le"),
    "feed": gettext_lazy("flux"),
    "rule": gettext_lazy("règle"),
    "acknowledged_by": gettext_lazy("acquittée par"),
    "triaged_by": gettext_lazy("triée par"),
    "recorded_by": gettext_lazy("saisie par"),
    "recorded_at": gettext_lazy("saisie le"),
    "read_at": gettext_lazy("lue le"),
    "prefix": gettext_lazy("préfixe"),
    "deactivated_by_sso": gettext_lazy("désactivé par l'authentification unique"),
    "ip": gettext_lazy("adresse IP"),
    "file": gettext_lazy("fichier"),
    "systems": gettext_lazy("systèmes créés"),
    "vendors": gettext_lazy("éditeurs créés"),
    "establishments": gettext_lazy("établissements"),
    "patient_hmac": gettext_lazy("empreinte du patient"),
    "rows_removed": gettext_lazy("lignes effacées"),
    "chain": gettext_lazy("chaîne"),
    "refused": gettext_lazy("refus"),
    "password_reset": gettext_lazy("réinitialisation du mot de passe"),
    "login_unlocked": gettext_lazy("déblocage de la connexion"),
}

SOURCES = {
    "ui": gettext_lazy("interface web"),
    "api": gettext_lazy("API"),
    "command": gettext_lazy("ligne de commande"),
    "demo": gettext_lazy("démonstration"),
    "import": gettext_lazy("import de fichier"),
    "sso": gettext_lazy("authentification unique"),
    "migration": gettext_lazy("mise à jour de Garant"),
    "system": gettext_lazy("Garant"),
}

EMPTY = (None, "", [], {})


@dataclass
class Change:
    """One field's change: its label and its values, quoted (« pilote »), None if absent."""

    label: str
    before: str | None
    after: str | None


@dataclass
class Readable:
    sentence: str
    source: str
    kind: str  # the kind of record, "système d'IA"
    changes: list[Change] = field(default_factory=list)


def source_label(source: str) -> str:
    return str(SOURCES.get(source, source))


def model_of(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def kind_label(object_type: str) -> str:
    """An event's kind of record as a person names it ("système d'IA"), for filters too."""
    model = model_of(object_type)
    if model is not None:
        return str(model._meta.verbose_name)
    return {
        "auth.login": _("connexion"),
        "auth.logout": _("déconnexion"),
        "auth.login_failed": _("échec de connexion"),
        "core.auditchain": _("chaîne d'audit"),
        "registry.import": _("import de la cartographie"),
        "monitoring.erasure": _("effacement de données d'un patient"),
    }.get(object_type, object_type.rpartition(".")[2].replace("_", " "))


def _hidden(model) -> set[str]:
    """Keys a model records but does not show (`audit_hidden`: codes its name already says)."""
    names = set(getattr(model, "audit_hidden", ()))
    return names | {f"{name}_id" for name in names}


def _fields(model) -> dict[str, models.Field]:
    if model is None:
        return {}
    found = {}
    for f in [*model._meta.concrete_fields, *model._meta.many_to_many]:
        found[f.name] = f
        found[getattr(f, "attname", f.name)] = f
    return found


def _label(key: str, f) -> str:
    if f is not None:
        label = str(f.verbose_name)
        if label != f.name.replace("_", " ") or f.name not in KEY_LABELS:
            return label
        return str(KEY_LABELS[f.name])
    base = key[: -len("_id")] if key.endswith("_id") else key
    return str(KEY_LABELS.get(key) or KEY_LABELS.get(base) or base.replace("_", " "))


def _manager(model):
    manager = model._default_manager
    return manager.unrestricted() if hasattr(manager, "unrestricted") else manager.all()


def _local_time(value: dt.datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return date_format(timezone.localtime(value), "d/m/Y H:i")


def _plain(value) -> str | None:
    """A value of no known field: dates, yes/no, numbers, lists; structured data summed up."""
    if value in EMPTY:
        return None
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
    ):
        return _("détail enregistré")
    if isinstance(value, list):
        return ", ".join(_plain(v) or "∅" for v in value)
    text = str(value)
    if len(text) >= 16 and text[4:5] == "-" and text[10:11] in ("T", " "):
        moment = parse_datetime(text)
        if moment is not None:
            return _local_time(moment)
    if len(text) == 10 and text[4:5] == "-":
        day = parse_date(text) if text[7:8] == "-" else None
        if day is not None:
            return date_format(day, "d/m/Y")
    return text if len(text) <= 300 else text[:299] + "…"


class _Names:
    """The names of the records that a page's events point at, one query per model."""

    def __init__(self):
        self.wanted: dict[type, set] = {}
        self.names: dict[tuple[type, object], str] = {}

    def want(self, model, value) -> None:
        values = value if isinstance(value, list) else [value]
        self.wanted.setdefault(model, set()).update(v for v in values if v not in EMPTY)

    def fetch(self) -> None:
        for model, ids in self.wanted.items():
            clean = {v for v in ids if isinstance(v, int | str)}
            for obj in _manager(model).filter(pk__in=clean):
                self.names[(model, obj.pk)] = str(obj)
                self.names[(model, str(obj.pk))] = str(obj)

    def of(self, model, value) -> str:
        return self.names.get((model, value)) or _("n° %(id)s (supprimé)") % {"id": value}


def _value(f, value, names: _Names) -> str | None:
    if value in EMPTY:
        return None
    if f is None:
        return _plain(value)
    if f.is_relation and f.related_model is not None:
        if isinstance(value, list):
            return ", ".join(names.of(f.related_model, v) for v in value)
        return names.of(f.related_model, value)
    vocabulary_name = getattr(f, "vocabulary", "")
    if vocabulary_name:
        vocab = vocabulary(vocabulary_name)
        codes = value if isinstance(value, list) else [value]
        return ", ".join(vocab.label_of(str(c)) for c in codes)
    if f.choices:
        labels = {str(k): str(v) for k, v in f.flatchoices}
        codes = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(c), str(c)) for c in codes)
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        moment = parse_datetime(value)
        return _local_time(moment) if moment else value
    if isinstance(f, models.DateField) and isinstance(value, str):
        day = parse_date(value)
        return date_format(day, "d/m/Y") if day else value
    return _plain(value)


def _chain(value) -> str | None:
    if value in EMPTY:
        return None
    if value == NONE_CHAIN:
        return _("chaîne sans établissement")
    if value == LEGACY_CHAIN:
        return _("chaîne historique")
    return _("chaîne d'un établissement")


def _actors(events) -> dict[int, str]:
    ids = {e.actor_id for e in events if e.actor_id}
    user_model = apps.get_model("core", "User")
    return {u.pk: str(u) for u in user_model.objects.filter(pk__in=ids)}


def _sentence(event, actor: str, kind: str, source: str) -> str:
    """ "Le 03/02/2026 à 14:05, Thomas Girardin a modifié « X » (système d'IA, interface web)"."""
    moment = timezone.localtime(event.at)
    values = {
        "day": date_format(moment, "d/m/Y"),
        "time": date_format(moment, "H:i"),
        "who": actor,
        "object": event.object_repr,
        "kind": f"{kind}, {source}",
    }
    if event.action == "create":
        text = _("Le %(day)s à %(time)s, %(who)s a créé « %(object)s » (%(kind)s)")
    elif event.action == "update":
        text = _("Le %(day)s à %(time)s, %(who)s a modifié « %(object)s » (%(kind)s)")
    elif event.action == "delete":
        text = _("Le %(day)s à %(time)s, %(who)s a supprimé « %(object)s » (%(kind)s)")
    elif event.action == "login":
        text = _("Le %(day)s à %(time)s, %(who)s s'est connecté·e")
        return f"{text % values} ({source})"
    else:
        text = _("Le %(day)s à %(time)s, %(who)s : %(object)s")
        return f"{text % values} ({source})"
    return text % values


def describe(events) -> list:
    """Set `event.readable` (a `Readable`) on each of `events`; returns them as a list."""
    events = list(events)
    names = _Names()
    fields_of = {}
    for event in events:
        if event.object_type not in fields_of:
            fields_of[event.object_type] = _fields(model_of(event.object_type))
        fields = fields_of[event.object_type]
        for key, pair in (event.changes or {}).items():
            f = fields.get(key)
            if f is not None and f.is_relation and f.related_model is not None:
                for value in pair if isinstance(pair, list) else [pair]:
                    if value not in EMPTY:
                        names.want(f.related_model, value)
    names.fetch()
    actors = _actors(events)
    hidden_of = {t: _hidden(model_of(t)) for t in fields_of}
    for event in events:
        fields = fields_of[event.object_type]
        changes = []
        for key, pair in (event.changes or {}).items():
            if key in hidden_of[event.object_type]:
                continue
            before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
            f = fields.get(key)
            if key == "chain" and not fields:
                shown = (_chain(before), _chain(after))
            else:
                shown = (_value(f, before, names), _value(f, after, names))
            if shown == (None, None):
                continue  # nothing known on either side (an address not given)
            shown = tuple(None if v is None else f"« {v} »" for v in shown)
            if event.action == "update":  # a value set or cleared: say it was empty
                shown = tuple(_("(vide)") if v is None else v for v in shown)
            changes.append(Change(_label(key, f), *shown))
        actor = actors.get(event.actor_id) or event.actor_name or _("Garant")
        if actor == "système":  # recorded with no user: Garant itself
            actor = _("Garant")
        kind, source = kind_label(event.object_type), source_label(event.source)
        event.readable = Readable(
            sentence=_sentence(event, actor, kind, source),
            source=source,
            kind=kind,
            changes=changes,
        )
    return events
