"""What other capabilities (lifecycle, dossiers, evidence packs) read of a system's compliance."""

from __future__ import annotations

from garant.compliance.qualifications import current, is_stale


def current_summary(system) -> dict | None:
    """The current qualification of `system` in a few plain values, or None if never qualified."""
    qualification = current(system)
    if qualification is None:
        return None
    obligations = list(system.obligations.filter(required=True))
    return {
        "qualification": qualification,
        "risk_level": qualification.risk_level,
        "risk_label": qualification.get_risk_level_display(),
        "high_risk_bases": qualification.high_risk_bases,
        "legal_review": qualification.legal_review,
        "flags": list(qualification.result.get("flags", [])),
        "referential_version": qualification.referential_version,
        "qualified_at": qualification.created_at,
        "qualified_by": qualification.created_by,
        "stale": is_stale(qualification, system),
        "obligations_total": len(obligations),
        "obligations_done": sum(o.status in ("done", "not_applicable") for o in obligations),
        "obligations_overdue": sum(o.overdue() for o in obligations),
        "url": qualification.get_absolute_url(),
    }
