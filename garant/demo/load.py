"""Load the fictional demonstration group of `demo.yaml` through the models.

Every object is validated (`full_clean`, the models' own rules and the taxonomy codes) and
saved one at a time inside `audit_context(source="demo")` and a single transaction (whose
audit events are chained at its end, `audit.deferred`), so the audit trail records the demo
like any other change, `garant audit verify` stays OK and a
failure leaves nothing behind.

Dates in the YAML are ISO dates or relative to the day of loading ("+45d", "-6w", "-18m",
"-3y"): contract and CE-certificate deadlines stay within the home page's 90-day window
whenever the demo is loaded.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from garant.core import audit
from garant.core.audit import audit_context
from garant.core.models import (
    Establishment,
    EstablishmentGroup,
    Membership,
    Role,
    Service,
    User,
)
from garant.demo.college import load_demo_college
from garant.demo.compliance import load_demo_compliance
from garant.demo.ethics import load_demo_ethics
from garant.demo.governance import load_demo_governance
from garant.demo.incidents import load_demo_incidents
from garant.demo.lifecycle import load_demo_lifecycle
from garant.demo.monitoring import load_demo_feeds
from garant.demo.oversight import load_demo_oversight
from garant.demo.patients import load_demo_patients
from garant.demo.people import load_demo_people
from garant.demo.plans import load_demo_plans
from garant.demo.risks import load_demo_risks
from garant.demo.suspension import load_demo_suspensions
from garant.registry.forms import SYSTEM_FIELDS
from garant.registry.models import AISystem, AISystemVersion, Declaration, Vendor

DEMO_FILE = Path(__file__).with_name("demo.yaml")
DEFAULT_PASSWORD = "garant-demo-2026"

_RELATIVE = re.compile(r"^([+-])(\d+)([dwmy])$")

# Plain fields copied from the YAML to the model as they are: the form's fields less the
# relations and dates, which the loader resolves itself.
_SYSTEM_DATES = ("ce_expiry", "go_live")
_SYSTEM_FIELDS = tuple(
    f for f in SYSTEM_FIELDS if f not in {"establishment", "vendor", "services", *_SYSTEM_DATES}
)
_VENDOR_FIELDS = ("contact_name", "contact_email", "contact_phone", "contract_reference", "notes")


class DemoError(Exception):
    """The demo cannot be loaded (already there, a name clash, or an invalid record)."""


@dataclass
class Login:
    username: str
    name: str
    roles: str
    establishments: str


@dataclass
class Summary:
    establishments: int = 0
    services: int = 0
    vendors: int = 0
    systems: int = 0
    versions: int = 0
    users: int = 0
    logins: list[Login] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    feeds: list = field(default_factory=list)  # monitoring feeds (garant/demo/monitoring.py)
    declarations: int = 0


def resolve_date(value, today: dt.date) -> dt.date | None:
    """An ISO date, or a date relative to `today`: "+45d", "-6w", "-18m", "-3y"."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = _RELATIVE.match(text)
    if match is None:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise DemoError(f"date illisible dans demo.yaml : {text!r}") from None
    sign, amount, unit = match.groups()
    n = int(amount) * (1 if sign == "+" else -1)
    if unit == "d":
        return today + dt.timedelta(days=n)
    if unit == "w":
        return today + dt.timedelta(weeks=n)
    months = n if unit == "m" else 12 * n
    year, month0 = divmod(today.month - 1 + months, 12)
    year += today.year
    day = min(today.day, calendar.monthrange(year, month0 + 1)[1])
    return dt.date(year, month0 + 1, day)


def read(path: Path = DEMO_FILE) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (safe loader)


def _save(obj, what: str):
    """Validate with the model's rules, then save (which records the audit event)."""
    try:
        obj.full_clean()
    except ValidationError as exc:
        details = "; ".join(
            f"{name} : {' '.join(str(m) for m in messages)}"
            for name, messages in exc.message_dict.items()
        )
        raise DemoError(f"{what} invalide dans demo.yaml — {details}") from None
    obj.save()
    return obj


def check_can_load(data: dict) -> list[str]:
    """Refuse to load twice or over existing names; returns usernames to leave as they are."""
    if EstablishmentGroup.objects.filter(name=data["group"]["name"]).exists():
        raise DemoError("Les données de démonstration sont déjà chargées.")
    codes = [e["code"] for e in data["establishments"]]
    if taken := list(Establishment.objects.filter(code__in=codes).values_list("code", flat=True)):
        raise DemoError(f"Code(s) d'établissement déjà utilisé(s) : {', '.join(sorted(taken))}.")
    names = [u["username"] for u in data["users"]]
    if taken := list(User.objects.filter(username__in=names).values_list("username", flat=True)):
        raise DemoError(f"Identifiant(s) déjà utilisé(s) : {', '.join(sorted(taken))}.")
    superuser = data["superuser"]["username"]
    existing = User.objects.filter(username=superuser).first()
    if existing is not None and not existing.is_superuser:
        raise DemoError(
            f"L'identifiant « {superuser} » existe déjà et n'est pas super-utilisateur."
        )
    return [superuser] if existing is not None else []


def load_demo(password: str = DEFAULT_PASSWORD, today: dt.date | None = None) -> Summary:
    """Create the demonstration group; raises DemoError (and writes nothing) if it cannot."""
    if not password:
        raise DemoError("Le mot de passe des comptes de démonstration ne peut pas être vide.")
    data = read()
    today = today or timezone.localdate()
    summary = Summary()
    # the demo's thousands of audit events are chained at the end, in one append per chain
    # (`audit.deferred`), rather than locking and saving a chain head for each of them
    with audit_context(source="demo"), audit.deferred():
        summary.skipped = check_can_load(data)
        # Every demo account shares the printed password: hash it once (argon2 is slow on
        # purpose), so loading takes a second rather than one argon2 round per account.
        encoded = make_password(password)
        group = _save(EstablishmentGroup(**data["group"]), "groupement")
        establishments = {}
        for est in data["establishments"]:
            establishments[est["code"]] = _save(
                Establishment(
                    group=group,
                    code=est["code"],
                    name=est["name"],
                    city=est.get("city", ""),
                    finess=est.get("finess", ""),
                    legal_status=est.get("legal_status", ""),
                ),
                f"établissement {est['code']}",
            )
        users = _create_users(data, establishments, encoded, summary)
        for est in data["establishments"]:
            _create_register(est, establishments[est["code"]], users, today, summary)
        summary.establishments = len(establishments)
        summary.feeds = load_demo_feeds(establishments, today)
        load_demo_oversight(establishments, today)
        load_demo_lifecycle(establishments, users, today)
        load_demo_governance(establishments, users, today)
        load_demo_college(establishments, users, today)
        load_demo_ethics(establishments, users, today)
        load_demo_suspensions(establishments, users)
        load_demo_compliance(establishments, users, today)
        load_demo_plans(establishments, users, today)
        load_demo_risks(establishments, users, today)
        load_demo_incidents(establishments, users, today)
        load_demo_people(establishments, users, today)
        load_demo_patients(establishments, users, today)
    return summary


def _create_users(data, establishments, encoded: str, summary: Summary) -> dict[str, User]:
    users: dict[str, User] = {}
    root = data["superuser"]
    if root["username"] not in summary.skipped:
        superuser = User(
            username=root["username"],
            first_name=root.get("first_name", ""),
            last_name=root.get("last_name", ""),
            email=root.get("email", ""),
            password=encoded,
            is_superuser=True,
            is_staff=True,
        )
        _save(superuser, f"utilisateur {root['username']}")
        summary.users += 1
    summary.logins.append(
        Login(
            root["username"],
            f"{root.get('first_name', '')} {root.get('last_name', '')}".strip(),
            "Super-utilisateur de la plateforme"
            + (" (compte existant, inchangé)" if summary.skipped else ""),
            "tous",
        )
    )
    role_labels = dict(Role.choices)
    for entry in data["users"]:
        user = _save(
            User(
                username=entry["username"],
                first_name=entry.get("first_name", ""),
                last_name=entry.get("last_name", ""),
                email=entry.get("email", ""),
                password=encoded,
            ),
            f"utilisateur {entry['username']}",
        )
        users[user.username] = user
        summary.users += 1
        by_role: dict[str, list[str]] = {}
        for code, roles in entry["roles"].items():
            if code not in establishments:
                raise DemoError(f"{entry['username']} : établissement inconnu « {code} »")
            for role in roles:
                if role not in role_labels:
                    raise DemoError(f"{entry['username']} : rôle inconnu « {role} »")
                _save(
                    Membership(user=user, establishment=establishments[code], role=role),
                    f"rôle de {entry['username']}",
                )
                by_role.setdefault(role, []).append(establishments[code].name)
        for role, names in by_role.items():
            where = names[0] if len(names) == 1 else f"{len(names)} établissements du groupement"
            summary.logins.append(
                Login(user.username, user.get_full_name(), str(role_labels[role]), where)
            )
    return users


def _create_register(est: dict, establishment, users, today, summary: Summary) -> None:
    code = est["code"]
    services = {}
    for item in est.get("services", []):
        services[item["name"]] = _save(
            Service(establishment=establishment, name=item["name"], pole=item.get("pole", "")),
            f"service {item['name']} ({code})",
        )
    summary.services += len(services)
    vendors = {}
    for item in est.get("vendors", []):
        vendor = Vendor(establishment=establishment, name=item["name"])
        for name in _VENDOR_FIELDS:
            setattr(vendor, name, item.get(name, ""))
        vendor.contract_end = resolve_date(item.get("contract_end"), today)
        vendors[item["name"]] = _save(vendor, f"éditeur {item['name']} ({code})")
    summary.vendors += len(vendors)
    for item in est.get("systems", []):
        what = f"système « {item.get('name')} » ({code})"
        system = AISystem(establishment=establishment)
        for name in _SYSTEM_FIELDS:
            if name in item:
                setattr(system, name, item[name])
        for name in _SYSTEM_DATES:
            setattr(system, name, resolve_date(item.get(name), today))
        if item.get("vendor"):
            if item["vendor"] not in vendors:
                raise DemoError(f"{what} : éditeur inconnu « {item['vendor']} »")
            system.vendor = vendors[item["vendor"]]
        author = item.get("created_by") or est.get("author")
        if author:
            if author not in users:
                raise DemoError(f"{what} : auteur inconnu « {author} »")
            system.created_by = users[author]
        _save(system, what)
        unknown = [name for name in item.get("services", []) if name not in services]
        if unknown:
            raise DemoError(f"{what} : service(s) inconnu(s) {', '.join(unknown)}")
        if item.get("services"):
            system.services.set([services[name] for name in item["services"]])
        for v in item.get("versions", []):
            _save(
                AISystemVersion(
                    ai_system=system,
                    version=str(v["version"]),
                    released_on=resolve_date(v.get("released_on"), today),
                    change_summary=v.get("change_summary", ""),
                ),
                f"{what} version {v['version']}",
            )
            summary.versions += 1
        summary.systems += 1
    for item in est.get("declarations", []):
        _create_declaration(item, establishment, services, users, today)
        summary.declarations += 1


_DECLARATION_FIELDS = (
    "name",
    "name_unknown",
    "purpose",
    "purpose_unknown",
    "context",
    "context_unknown",
    "service_unknown",
)


def _create_declaration(item: dict, establishment, services, users, today) -> Declaration:
    """A declaration from the field, pending (dated `created` days before loading)."""
    what = (
        f"déclaration « {item.get('name') or item.get('purpose', '')[:40]} » ({establishment.code})"
    )
    declarer = item.get("declared_by")
    if declarer not in users:
        raise DemoError(f"{what} : déclarant inconnu « {declarer} »")
    declaration = Declaration(establishment=establishment, declared_by=users[declarer])
    for name in _DECLARATION_FIELDS:
        if name in item:
            setattr(declaration, name, item[name])
    if item.get("service"):
        if item["service"] not in services:
            raise DemoError(f"{what} : service inconnu « {item['service']} »")
        declaration.service = services[item["service"]]
    _save(declaration, what)
    created = resolve_date(item.get("created"), today)
    if created is not None:  # auto_now_add: dated afterwards, as if declared that day
        moment = timezone.make_aware(dt.datetime.combine(created, dt.time(10, 0)))
        Declaration.objects.filter(pk=declaration.pk).update(created_at=moment)
    return declaration
