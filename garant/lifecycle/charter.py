"""The PoC charter's good practice (the seeds): a precise use case, not a vague experiment; a
limited scope, a clear operational objective, measurable success indicators, users involved
from the start, production anticipated. `warnings` names what a charter still lacks."""

from __future__ import annotations

from django.utils.translation import gettext as _

from garant.lifecycle.models import PocCharter, Project


def warnings(charter: PocCharter | None) -> list[str]:
    if charter is None:
        return []
    indicators = list(charter.indicators.all())
    found = []
    if not any(i.is_measurable for i in indicators):
        found.append(
            _(
                "Aucun indicateur de succès mesurable : donnez à au moins un indicateur une "
                "cible et une méthode de mesure (ou une métrique du suivi)."
            )
        )
    if charter.end_date is None:
        found.append(
            _("Pas de date de fin : un PoC est une validation rapide, bornée dans le temps.")
        )
    if not charter.users_involved.strip():
        found.append(_("Aucun utilisateur impliqué : associez les métiers dès le début."))
    if indicators and all(i.baseline is None for i in indicators):
        found.append(
            _("Aucune valeur de référence : sans point de départ, le gain ne se mesure pas.")
        )
    return found


def initial_charter(project: Project) -> dict:
    """A new charter starts from the register entry (and the qualification when present)."""
    system = project.ai_system
    initial = {
        "use_case": system.use_case or system.intended_purpose,
        "services": list(system.services.values_list("pk", flat=True)),
        "users_count": system.users_count,
        "integration": system.workflow_integration,
    }
    status = regulatory_status(system)
    if status:
        initial["regulatory_status"] = status
    return initial


def regulatory_status(system) -> str:
    """The qualification's summary, when the compliance capability provides one."""
    try:
        from garant.compliance.summary import current_summary
    except ImportError:
        return ""
    summary = current_summary(system)
    if not summary:
        return ""
    text = _("Qualification réglementaire : %(risk)s") % {"risk": summary.get("risk_label", "")}
    if summary.get("obligations_total"):
        text += " — " + _("obligations remplies : %(done)s / %(total)s") % {
            "done": summary.get("obligations_done", 0),
            "total": summary["obligations_total"],
        }
    return text
