"""Verifiable deletion: erase one patient from every store Garant holds, and certify it.

`run` takes the identifier the DPO typed (it is used in memory, to find the rows, and never
stored) and, for one establishment:

1. every monitoring feed of its systems: both Delta tables rewritten without the patient's
   rows, then vacuumed with no retention, so that no file of an older version still holds
   them (`garant.monitoring.storage.erase`); each feed's monitoring state counted again;
2. the feedback events of the clinical software (oversight): those naming one of the
   patient's predictions deleted, the table vacuumed, the tallies counted again;
3. the uploaded files (evidence, proofs, pending imports): searched byte for byte for the
   identifier; a file holding it is named in the certificate, not deleted (it is a
   document someone filed: the DPO decides);
4. the database: Garant stores no patient identifier in it (ingestion keeps identifiers in
   the Delta tables only; objections and runs hold the keyed pseudonym): searched by
   construction, nothing to remove.

The certificate (`ErasureRun.certificate`) says what was searched, where, how many records
were removed per store, the Delta versions before and after, when, who, what Garant cannot
reach, and its SHA-256, chained in the establishment's audit trail by the run's event. Run
again on the same identifier, it certifies that nothing remains (zeros everywhere).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import garant
from garant.core.audit import record_event
from garant.monitoring import storage
from garant.monitoring.models import Feed
from garant.oversight import ingest as oversight_ingest
from garant.patients.erasure import ErasureRun
from garant.patients.pseudonyms import pseudonym

FORMAT = "garant.deletion-certificate.v1"
CHUNK = 1 << 20

# what Garant cannot reach, stated on every certificate (codes; the French text is that of
# `certificates.UNREACHABLE`)
UNREACHABLE = ("backups", "vendors", "trained_models", "exports")


def _files_holding(identifier: str) -> list[str]:
    """The uploaded files (under MEDIA_ROOT) whose bytes hold the identifier (UTF-8)."""
    root = Path(settings.MEDIA_ROOT)
    needle = identifier.encode()
    found = []
    if not root.exists() or not needle:
        return found
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        tail = b""
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                if needle in tail + block:
                    found.append(str(path.relative_to(root)))
                    break
                tail = block[-(len(needle) - 1) :] if len(needle) > 1 else b""
    return found


def _monitoring(establishment, identifier: str) -> tuple[list[dict], dict]:
    """Erase the patient from every feed of the establishment: the stores' lines and the
    patient's prediction ids per system."""
    stores, predictions = [], {}
    feeds = Feed.objects.within(ai_system__establishment=establishment).select_related("ai_system")
    for feed in feeds.order_by("pk"):
        result = storage.erase(feed, identifier, vacuum_always=True)
        for table in result.tables:
            stores.append(
                {
                    "store": f"monitoring.{table.kind}",
                    "feed": feed.pk,
                    "location": f"{storage.table_uri(feed, table.kind)}",
                    "label": str(feed),
                    "records_removed": table.removed,
                    "version_before": table.version_before,
                    "version_after": table.version_after,
                    "files_vacuumed": table.files_vacuumed,
                }
            )
        stores.append(
            {
                "store": "monitoring.state",
                "feed": feed.pk,
                "location": str(storage.state_path(feed)),
                "label": str(feed),
                "records_removed": 0,
                "recounted": True,
            }
        )
        ids = predictions.setdefault(feed.ai_system, [])
        ids.append(result.prediction_ids)
    return stores, predictions


def _oversight(establishment, predictions: dict) -> dict:
    systems = sorted(predictions, key=lambda system: system.pk)
    ids = [array for arrays in predictions.values() for array in arrays]
    ids = pa.concat_arrays(ids) if ids else pa.array([], pa.string())
    before, after, removed, vacuumed = oversight_ingest.erase_predictions(
        establishment, systems, ids
    )
    from garant.oversight.storage import table_path

    return {
        "store": "oversight.events",
        "feed": None,
        "location": str(table_path(establishment.pk)),
        "label": "",
        "records_removed": removed,
        "version_before": before,
        "version_after": after,
        "files_vacuumed": vacuumed,
    }


def canonical(body: dict) -> bytes:
    """The certificate's body as the bytes its SHA-256 is computed on."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _relative(location: str) -> str:
    """Locations under the data folder are written relative to it (no host path leaks)."""
    data = str(settings.DATA_DIR)
    return location[len(data) :].lstrip("/") if location.startswith(data) else location


def run(establishment, identifier: str, reason: str, user, request_reference: str = ""):
    """Erase the patient named by `identifier` from every store of the establishment and
    keep the certificate; the `ErasureRun`. The caller sets the `audit_context`."""
    if not identifier or not identifier.strip():
        raise ValueError("identifiant vide")
    started = timezone.now()
    stores, predictions = _monitoring(establishment, identifier)
    stores.append(_oversight(establishment, predictions))
    files = _files_holding(identifier)
    stores.append(
        {
            "store": "uploaded_files",
            "feed": None,
            "location": "files",
            "label": "",
            "records_removed": 0,
            "files_holding": len(files),
            "files": files,
        }
    )
    stores.append(
        {
            "store": "database",
            "feed": None,
            "location": "database",
            "label": "",
            "records_removed": 0,
        }
    )
    for store in stores:
        store["location"] = _relative(store["location"])
    total = sum(store["records_removed"] for store in stores)
    body = {
        "format": FORMAT,
        "garant_version": garant.__version__,
        "establishment": {"id": establishment.pk, "name": establishment.name},
        "reason": reason,
        "request_reference": request_reference,
        "pseudonym": pseudonym(identifier),
        "pseudonym_method": "HMAC-SHA256, clé propre à l'installation (GARANT_PSEUDONYM_KEY)",
        "started_at": started.isoformat(),
        "finished_at": timezone.now().isoformat(),
        "ran_by": {"id": user.pk, "username": user.get_username(), "name": user.get_full_name()},
        "stores": stores,
        "records_removed": total,
        "unreachable": list(UNREACHABLE),
    }
    digest = hashlib.sha256(canonical(body)).hexdigest()
    with transaction.atomic():
        erasure = ErasureRun.objects.create(
            establishment=establishment,
            reason=reason,
            pseudonym=body["pseudonym"],
            request_reference=request_reference,
            ran_by=user,
            ran_at=started,
            records_removed=total,
            certificate=body,
        )
        event = record_event(
            "patients.erasure",
            str(erasure),
            {
                "run": [None, erasure.pk],
                "pseudonym": [None, body["pseudonym"]],
                "records_removed": [None, total],
                "certificate_sha256": [None, digest],
            },
            establishment_id=establishment.pk,
        )
        placed = {"chain": event.chain, "seq": event.seq, "hash": event.hash}
        ErasureRun.objects.unrestricted().filter(pk=erasure.pk).update(  # the event above
            certificate={**body, "sha256": digest, "audit": placed},
            audit_chain=event.chain,
            audit_seq=event.seq,
            audit_hash=event.hash,
        )
    erasure.refresh_from_db()
    return erasure


def verify(erasure: ErasureRun) -> bool:
    """Whether the certificate's body still has the SHA-256 chained in the audit trail."""
    from garant.core.models import AuditEvent

    certificate = dict(erasure.certificate)
    stated, placed = certificate.pop("sha256", None), certificate.pop("audit", None)
    if not stated or not placed:
        return False
    event = AuditEvent.objects.filter(chain=placed["chain"], seq=placed["seq"]).first()
    return (
        event is not None
        and event.hash == placed["hash"]
        and hashlib.sha256(canonical(certificate)).hexdigest() == stated
        and event.changes.get("certificate_sha256") == [None, stated]
    )
