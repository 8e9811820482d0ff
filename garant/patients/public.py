"""The public register of AI in use: what an establishment publishes, field by field.

`preview(establishment, fields)` builds, from the register and the published notices, exactly
what would be published; `publish` stores it as the register's snapshot (audited: the trail
keeps what was published, by whom, when) and `withdraw` empties it. The public pages and the
JSON export read the snapshot only — never the register — so an establishment that publishes
nothing shows nothing, and an internal edit reaches the public only when someone publishes
again (the page then says the publication is out of date).

The export follows the Dutch algorithm register's publication standard where a field fits
(`dutch` in the `patients` referential; mapping in docs/patients.md)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.compliance.rules import rulebook
from garant.core.referentials import localized, vocabulary
from garant.patients import notices, referential
from garant.patients.models import PublicRegister
from garant.registry.models import AISystem

FORMAT = "garant-public-register/1"
MAX_ID = 2**63 - 1  # ids beyond what a database holds find nothing (SQLite would overflow)


def register_of(establishment) -> PublicRegister:
    """The establishment's register settings (unsaved and empty when none yet)."""
    found = PublicRegister.objects.within(establishment=establishment).first()
    return found or PublicRegister(establishment=establishment)


def _legal_basis(version) -> str:
    book = rulebook()
    cites = []
    for code in version.obligations:
        obligation = book.obligations.get(code)
        if obligation is not None:
            text = book.cite(obligation["cite"])["text"]
            if text not in cites:
                cites.append(text)
    return " ; ".join(cites)


def _entry(system, version, fields: list[str]) -> dict:
    values = {
        "name": system.name,
        "purpose": version.what,
        "care_step": version.care_step,
        "services": [s.name for s in system.services.all()],
        "vendor": system.vendor.name if system.vendor_id else _("Développement interne"),
        "status": vocabulary("phase").label_of(system.phase),
        "go_live": system.go_live.isoformat() if system.go_live else None,
        "human_guarantee": version.human_guarantee,
        "data_used": version.data_used,
        "legal_basis": _legal_basis(version),
        "notice": {
            "version": version.number,
            "sections": version.content(),
        },
        "contact": version.contact,
    }
    return {code: values[code] for code in fields if code in values}


def published_systems(establishment):
    """Systems in use whose approved notice is published, by name."""
    return (
        AISystem.objects.within(establishment=establishment)
        .filter(
            phase__in=referential.in_use_phases(),
            patient_notice__published=True,
            patient_notice__approved_version__isnull=False,
        )
        .select_related("vendor", "patient_notice__approved_version")
        .prefetch_related("services")
        .order_by("name", "pk")
    )


def preview(register: PublicRegister, fields: list[str] | None = None) -> dict:
    """What publishing `register` now would show (nothing is saved)."""
    establishment = register.establishment
    known = [f["code"] for f in referential.public_fields()]
    chosen = [
        code for code in known if code in (register.published_fields if fields is None else fields)
    ]
    systems = []
    if chosen:
        for system in published_systems(establishment):
            systems.append(_entry(system, system.patient_notice.approved_version, chosen))
    return {
        "format": FORMAT,
        "referential_version": referential.rules().version,
        "establishment": {"name": establishment.name, "city": establishment.city},
        "introduction": register.introduction,
        "contact": register.contact,
        "fields": chosen,
        "systems": systems,
    }


def out_of_date(register: PublicRegister) -> bool:
    """Does the publication differ from what publishing now would show?"""
    if not register.is_published:
        return False
    now = preview(register)
    shown = {k: v for k, v in register.snapshot.items() if k != "published_at"}
    return {k: v for k, v in now.items() if k != "referential_version"} != {
        k: v for k, v in shown.items() if k != "referential_version"
    }


@transaction.atomic
def publish(register: PublicRegister, user) -> PublicRegister:
    snapshot = preview(register)
    snapshot["published_at"] = timezone.now().isoformat()
    register.snapshot = snapshot
    register.published_at = timezone.now()
    register.published_by = user
    register.save()
    return register


@transaction.atomic
def withdraw(register: PublicRegister, user) -> PublicRegister:
    register.snapshot = None
    register.published_at = None
    register.published_by = user
    register.save()
    return register


# --- reading a publication (public pages: the snapshot only) -------------------------------


def published_register(establishment_id: int) -> PublicRegister | None:
    """The published register of an establishment, for the public pages. Unrestricted on
    purpose: anyone may read a publication; only its snapshot is ever shown."""
    if establishment_id > MAX_ID:
        return None
    return (
        PublicRegister.objects.unrestricted()
        .select_related("establishment")
        .filter(establishment_id=establishment_id, snapshot__isnull=False)
        .first()
    )


def published_in_group(group_id: int) -> list[PublicRegister]:
    if group_id > MAX_ID:
        return []
    return list(
        PublicRegister.objects.unrestricted()
        .select_related("establishment")
        .filter(establishment__group_id=group_id, snapshot__isnull=False)
        .order_by("establishment__name")
    )


def field_labels() -> dict[str, str]:
    return {f["code"]: localized(f) for f in referential.public_fields()}


def readable(snapshot: dict) -> list[list[dict]]:
    """The systems of a snapshot as (label, value) rows for the page, dates in French."""
    labels = field_labels()
    section_labels = notices.labels()
    rows = []
    for entry in snapshot.get("systems", []):
        items = []
        for code in snapshot.get("fields", []):
            if code not in entry:
                continue
            value = entry[code]
            if code == "go_live" and value:
                value = dt.date.fromisoformat(value).strftime("%d/%m/%Y")
            elif code == "services":
                value = ", ".join(value)
            elif code == "notice":
                value = [
                    {"label": section_labels.get(k, k), "text": v}
                    for k, v in value["sections"].items()
                ]
            items.append({"code": code, "label": labels.get(code, code), "value": value})
        rows.append(items)
    return rows


def dutch_export(register: PublicRegister) -> dict:
    """The publication, machine-readable, with the Dutch register's attribute names where a
    published field has one (`algorithm`), and every published field under `garant`."""
    snapshot = register.snapshot or {}
    mapping = {f["code"]: f["dutch"] for f in referential.public_fields()}
    establishment = snapshot.get("establishment", {})
    algorithms = []
    for entry in snapshot.get("systems", []):
        dutch = {"organization": establishment.get("name", ""), "lang": "fra"}
        for code, value in entry.items():
            key = mapping.get(code)
            if key:
                dutch[key] = ", ".join(value) if isinstance(value, list) else value
        algorithms.append({"algorithm": dutch, "garant": entry})
    return {
        "format": snapshot.get("format", FORMAT),
        "standard": "Algoritmeregister (publicatiestandaard), correspondance partielle",
        "published_at": snapshot.get("published_at"),
        "establishment": establishment,
        "contact": snapshot.get("contact", ""),
        "fields": snapshot.get("fields", []),
        "algorithms": algorithms,
    }
