"""The deletion certificate as people read it: its lines in French, and as a PDF.

The certificate itself is the JSON kept on the run (`ErasureRun.certificate`, see
`deletion.py`); the PDF shows the same content, with what Garant cannot reach stated in
plain words. Neither holds the identifier: only its keyed pseudonym.
"""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.documents import PdfDocument, display
from garant.patients.erasure import ErasureRun

STORES = {
    "monitoring.predictions": gettext_lazy("Suivi : table des prédictions (Delta Lake)"),
    "monitoring.outcomes": gettext_lazy("Suivi : table des issues observées (Delta Lake)"),
    "monitoring.state": gettext_lazy("Suivi : état de suivi (comptages), recalculé"),
    "oversight.events": gettext_lazy(
        "Supervision humaine : retours d'usage du logiciel clinique liés à ses prédictions"
    ),
    "uploaded_files": gettext_lazy("Fichiers déposés (preuves, accusés, imports en attente)"),
    "database": gettext_lazy(
        "Base de données : aucun identifiant de patient n'y est enregistré (seulement des "
        "pseudonymes HMAC)"
    ),
}

UNREACHABLE = {
    "backups": gettext_lazy(
        "Sauvegardes : les archives faites avant cet effacement (garant backup) contiennent "
        "encore ces données jusqu'à leur destruction selon la durée de conservation des "
        "sauvegardes de l'établissement (12 mois dans la politique recommandée, "
        "docs/operations.md). Après toute restauration, relancer cet effacement."
    ),
    "vendors": gettext_lazy(
        "Copies détenues par les éditeurs et les logiciels cliniques : Garant ne les voit pas ; "
        "la demande doit leur être transmise (sous-traitants, RGPD art. 28 et 19)."
    ),
    "trained_models": gettext_lazy(
        "Modèles déjà entraînés sur ces données : Garant ne peut pas désapprendre. Un modèle "
        "entraîné avant cet effacement reste tel quel jusqu'à son prochain réentraînement sans "
        "ces données."
    ),
    "exports": gettext_lazy(
        "Exports et rapports déjà téléchargés (fichiers Parquet, CSV, PDF) : hors de Garant."
    ),
}


def store_label(code: str) -> str:
    return str(STORES.get(code, code))


def _moment(value: str) -> str:
    return display(timezone.localtime(dt.datetime.fromisoformat(value)))


def rows(certificate: dict) -> list[dict]:
    """One line per store, for a page or the PDF."""
    lines = []
    for store in certificate.get("stores", []):
        before, after = store.get("version_before"), store.get("version_after")
        versions = "—" if before is None else f"{before} → {after}"
        detail = store.get("label") or ""
        if store["store"] == "uploaded_files":
            held = store.get("files") or []
            detail = (
                _("%(n)s fichier(s) contenant l'identifiant, à traiter par le DPO : %(names)s")
                % {"n": len(held), "names": ", ".join(held)}
                if held
                else _("aucun fichier ne contient l'identifiant")
            )
        lines.append(
            {
                "store": store_label(store["store"]),
                "detail": detail,
                "location": store.get("location", ""),
                "removed": store.get("records_removed", 0),
                "versions": versions,
                "vacuumed": store.get("files_vacuumed", "—"),
            }
        )
    return lines


def unreachable(certificate: dict) -> list[str]:
    return [str(UNREACHABLE.get(code, code)) for code in certificate.get("unreachable", [])]


def json_bytes(run: ErasureRun) -> bytes:
    return json.dumps(run.certificate, ensure_ascii=False, indent=2, sort_keys=True).encode()


def pdf(run: ErasureRun) -> bytes:
    certificate = run.certificate
    doc = PdfDocument(
        _("Certificat d'effacement n° %(pk)s") % {"pk": run.pk},
        certificate.get("establishment", {}).get("name", ""),
        wide=True,
    )
    ran_by = certificate.get("ran_by", {})
    audit = certificate.get("audit", {})
    doc.fields(
        [
            (_("Motif"), run.get_reason_display()),
            (_("Référence de la demande"), run.request_reference or "—"),
            (_("Patient (pseudonyme HMAC-SHA256)"), run.pseudonym),
            (_("Méthode du pseudonyme"), certificate.get("pseudonym_method", "")),
            (_("Début"), _moment(certificate["started_at"])),
            (_("Fin"), _moment(certificate["finished_at"])),
            (
                _("Exécuté par"),
                f"{ran_by.get('name') or ran_by.get('username', '')} ({ran_by.get('username', '')})",
            ),
            (_("Enregistrements supprimés"), certificate.get("records_removed", 0)),
            (_("Version de Garant"), certificate.get("garant_version", "")),
        ]
    )
    doc.paragraph(
        _(
            "Ce certificat ne contient pas l'identifiant du patient, seulement son pseudonyme "
            "calculé avec la clé propre à cette installation."
        ),
        note=True,
    )
    doc.heading(_("Ce qui a été cherché, où, et ce qui a été supprimé"))
    doc.table(
        [
            _("Stockage"),
            _("Détail"),
            _("Emplacement"),
            _("Supprimés"),
            _("Versions avant → après"),
            _("Fichiers purgés"),
        ],
        [
            [r["store"], r["detail"], r["location"], r["removed"], r["versions"], r["vacuumed"]]
            for r in rows(certificate)
        ],
        widths=[0.2, 0.24, 0.22, 0.09, 0.13, 0.12],
    )
    doc.paragraph(
        _(
            "Les tables Delta Lake sont réécrites sans les lignes du patient puis purgées "
            "(vacuum sans délai de rétention) : les fichiers des versions antérieures qui les "
            "contenaient sont supprimés du disque, pas seulement de la version courante."
        ),
        note=True,
    )
    doc.heading(_("Ce que Garant ne peut pas atteindre"))
    for text in unreachable(certificate):
        doc.paragraph(f"• {text}")
    doc.heading(_("Place dans la piste d'audit"))
    doc.fields(
        [
            (_("Chaîne"), audit.get("chain", "")),
            (_("Numéro"), audit.get("seq", "")),
            (_("Empreinte de l'événement"), audit.get("hash", "")),
            (_("SHA-256 du certificat"), certificate.get("sha256", "")),
        ]
    )
    doc.paragraph(
        _(
            "L'événement d'audit porte le SHA-256 du contenu du certificat (JSON canonique, sans "
            "les champs « sha256 » et « audit ») ; la commande « garant audit verify » vérifie "
            "la chaîne."
        ),
        note=True,
    )
    return doc.render()
