"""Pre-filled drafts of a regulatory report (structured JSON and PDF), with the fields each
recipient asks for, ready to copy into the official portal. Garant prepares; it never
transmits. No patient identity ever enters a draft (the incident holds none)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.documents import PdfDocument
from garant.core.referentials import vocabulary
from garant.incidents import reports
from garant.incidents.models import RegulatoryReport

FACT_STATUS = {
    "confirmed": "confirmé",
    "secondary": "source secondaire",
    "unconfirmed": "non confirmé — à vérifier",
}


def _when(moment) -> str | None:
    return date_format(timezone.localtime(moment), "d/m/Y H:i") if moment else None


def draft(report: RegulatoryReport) -> dict:
    """The draft's content as plain values (the JSON export, and the PDF's source)."""
    incident = report.incident
    system = incident.ai_system
    version = system.versions.first()
    body = {
        "garant": {
            "nature": "brouillon préparé par Garant — non transmis",
            "rules_version": report.rules_version,
            "generated_at": _when(timezone.now()),
        },
        "report": {
            "code": report.code,
            "title": reports.title(report),
            "recipient": reports.recipient_label(report),
            "recipient_status": FACT_STATUS[reports.recipient_status(report)],
            "legal_basis": report.ref,
            "rule_status": FACT_STATUS[report.fact_status],
            "clock_start": _when(report.clock_start),
            "deadline": _when(report.deadline),
            "without_delay": report.without_delay,
            "status": report.get_status_display(),
        },
        "establishment": {
            "name": system.establishment.name,
            "finess": system.establishment.finess,
        },
        "event": {
            "local_reference": incident.local_reference,
            "occurred_at": _when(incident.occurred_at),
            "aware_at": _when(incident.aware_at),
            "service": str(incident.service or ""),
            "consequence": incident.get_consequence_display(),
            "description": incident.description,
            "immediate_actions": incident.immediate_actions,
            "causal_link": incident.get_causal_link_display(),
        },
        "ai_system": {
            "name": system.name,
            "provider": str(system.vendor or _("développement interne")),
            "product": system.product,
            "version": version.version if version else "",
            "intended_purpose": system.intended_purpose,
        },
    }
    if report.recipient in ("ansm", "provider", "msa"):
        body["device"] = {
            "device_status": vocabulary("device_status").label_of(system.device_status),
            "ce_certificate": system.ce_certificate,
            "notified_body": system.notified_body,
            "mdr_serious": incident.mdr_serious,
            "public_health_threat": incident.public_health_threat,
        }
    if report.regime == "ai_act":
        body["ai_act"] = {
            "serious_incident": incident.ai_act_serious,
            "critical_infrastructure": incident.critical_infrastructure,
            "fundamental_rights": incident.fundamental_rights,
            "widespread_infringement": incident.widespread_infringement,
            "provider_unreachable": incident.provider_unreachable,
        }
    if report.code == "eigs_part2" or report.recipient == "ars":
        body["analysis"] = {"causes_barriers_measures": incident.closing_note}
    if report.regime == "gdpr":
        body["breach"] = {
            "risk": incident.get_breach_risk_display(),
            "data_categories": [
                vocabulary("data_category").label_of(c) for c in system.data_categories
            ],
            "patients_per_year": system.patients_per_year,
            "measures": incident.immediate_actions,
        }
    if report.regime == "security":
        body["security"] = {"hosting": vocabulary("hosting").label_of(system.hosting)}
    return body


LABELS = {
    "garant": gettext_lazy("Document"),
    "report": gettext_lazy("Déclaration"),
    "establishment": gettext_lazy("Établissement"),
    "event": gettext_lazy("Événement"),
    "ai_system": gettext_lazy("Système d'IA"),
    "device": gettext_lazy("Dispositif médical"),
    "ai_act": gettext_lazy("AI Act"),
    "analysis": gettext_lazy("Analyse"),
    "breach": gettext_lazy("Violation de données"),
    "security": gettext_lazy("Sécurité des systèmes d'information"),
}

#: the PDF's field labels (the JSON keeps the stable English keys)
FIELD_LABELS = {
    "nature": gettext_lazy("nature"),
    "rules_version": gettext_lazy("version des règles"),
    "generated_at": gettext_lazy("préparé le"),
    "code": gettext_lazy("code"),
    "title": gettext_lazy("déclaration"),
    "recipient": gettext_lazy("destinataire"),
    "recipient_status": gettext_lazy("fiabilité du destinataire"),
    "legal_basis": gettext_lazy("base légale"),
    "rule_status": gettext_lazy("fiabilité de la règle"),
    "clock_start": gettext_lazy("départ du délai"),
    "deadline": gettext_lazy("échéance"),
    "without_delay": gettext_lazy("« sans délai » (échéance = cible interne)"),
    "status": gettext_lazy("statut"),
    "name": gettext_lazy("nom"),
    "finess": gettext_lazy("n° FINESS"),
    "local_reference": gettext_lazy("référence locale"),
    "occurred_at": gettext_lazy("survenu le"),
    "aware_at": gettext_lazy("connu le"),
    "service": gettext_lazy("service"),
    "consequence": gettext_lazy("conséquence pour le patient"),
    "description": gettext_lazy("ce qui s'est passé"),
    "immediate_actions": gettext_lazy("mesures immédiates"),
    "causal_link": gettext_lazy("lien de causalité"),
    "provider": gettext_lazy("fournisseur"),
    "product": gettext_lazy("produit"),
    "version": gettext_lazy("version"),
    "intended_purpose": gettext_lazy("finalité prévue"),
    "device_status": gettext_lazy("statut dispositif médical"),
    "ce_certificate": gettext_lazy("n° de certificat CE"),
    "notified_body": gettext_lazy("organisme notifié"),
    "mdr_serious": gettext_lazy("incident grave (MDR art. 2(65))"),
    "public_health_threat": gettext_lazy("menace grave pour la santé publique"),
    "serious_incident": gettext_lazy("incident grave (art. 3(49))"),
    "critical_infrastructure": gettext_lazy("infrastructure critique"),
    "fundamental_rights": gettext_lazy("droits fondamentaux"),
    "widespread_infringement": gettext_lazy("infraction de grande ampleur"),
    "provider_unreachable": gettext_lazy("fournisseur injoignable"),
    "causes_barriers_measures": gettext_lazy("causes, barrières, mesures"),
    "risk": gettext_lazy("risque pour les personnes"),
    "data_categories": gettext_lazy("catégories de données"),
    "patients_per_year": gettext_lazy("patients concernés par an"),
    "measures": gettext_lazy("mesures prises"),
    "hosting": gettext_lazy("hébergement"),
}


def pdf(report: RegulatoryReport) -> bytes:
    content = draft(report)
    doc = PdfDocument(
        _("Brouillon — %(title)s") % {"title": content["report"]["title"]},
        subtitle=_("Préparé par Garant, à recopier sur le portail officiel : non transmis."),
    )
    for section, values in content.items():
        doc.heading(str(LABELS.get(section, section)))
        doc.fields((str(FIELD_LABELS.get(key, key)), _flat(value)) for key, value in values.items())
    return doc.render()


def _flat(value) -> str:
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
