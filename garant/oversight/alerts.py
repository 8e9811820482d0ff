"""Alert rules on the oversight rates of a system, evaluated after each batch committed.

Windows are local days ending with `today` (excluded, as in monitoring), for the system as a
whole (service "") and for each service:

* ``override_rate_doubling``: override rate of the last `window_days` days against the
  `window_days` days before them; breached when the ratio is at least the threshold (2 =
  doubling) and both windows hold at least `min_events` outputs shown (a rate of 0 before
  gives no ratio: not judged);
* ``acceptance_above``: acceptance rate of the last `window_days` days above the threshold
  (0.98 = 98 %) over at least `min_events` outputs shown.

The workflow is monitoring's (`garant.monitoring.alerts`): a breach opens an alert unless
one is open or acknowledged for the same rule and service; acknowledging needs a comment;
back to normal resolves it. The alerts are `OversightAlert` records of this app, with the
same fields as monitoring's alerts plus the service (see the report of issue 12).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from garant.oversight import rates
from garant.oversight.models import OversightAlert, OversightRule

logger = logging.getLogger(__name__)

Kind = OversightRule.Kind
ACTIVE_STATES = (OversightAlert.State.OPEN, OversightAlert.State.ACKNOWLEDGED)


def _fr(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def _percent(value: float) -> str:
    return f"{_fr(100 * value)} %"


@dataclass(frozen=True)
class Check:
    service: str
    value: float | None
    breached: bool
    message: str


def _windows(rule: OversightRule, today: dt.date) -> list[dict]:
    """Outputs shown, overridden and accepted per service ("" = all) and window (0 the last
    `window_days` days, 1 the days before them)."""
    days = dt.timedelta(days=rule.window_days)
    start = today - 2 * days if rule.kind == Kind.OVERRIDE_DOUBLING else today - days
    return rates.window_counts(rule.ai_system, start, today - days, today)


def check(rule: OversightRule, today: dt.date | None = None) -> list[Check]:
    """The value of the rule for the whole system and each service."""
    today = today or timezone.localdate()
    slices: dict[str, dict[int, dict]] = {}
    for row in _windows(rule, today):
        # the whole system has service NULL (not grouped); events without a service "—"
        key = "" if row["service"] is None else row["service"]
        slices.setdefault(key, {})[row["w"]] = row
    checks = []
    days = rule.window_days
    for service, windows in sorted(slices.items()):
        label = f"service {service}" if service else "tous services"
        recent = windows.get(0)
        if rule.kind == Kind.OVERRIDE_DOUBLING:
            before = windows.get(1)
            if not recent or not before:
                continue
            if min(recent["shown"], before["shown"]) < rule.min_events or not before["overridden"]:
                continue
            now_rate = recent["overridden"] / recent["shown"]
            was = before["overridden"] / before["shown"]
            ratio = now_rate / was
            checks.append(
                Check(
                    service,
                    ratio,
                    ratio >= rule.threshold,
                    f"Taux d'écart ({label}) : {_percent(now_rate)} sur les {days} derniers "
                    f"jours contre {_percent(was)} les {days} jours précédents "
                    f"(× {_fr(ratio, 2)}, seuil × {_fr(rule.threshold, 2)})",
                )
            )
        else:
            if not recent or recent["shown"] < rule.min_events:
                continue
            rate = recent["accepted"] / recent["shown"]
            checks.append(
                Check(
                    service,
                    rate,
                    rate > rule.threshold,
                    f"Taux d'acceptation ({label}) : {_percent(rate)} sur les {days} derniers "
                    f"jours (seuil {_percent(rule.threshold)}) : acceptation sans examen ?",
                )
            )
    return checks


def evaluate(rule: OversightRule, today: dt.date | None = None) -> list[OversightAlert]:
    """Open and resolve the rule's alerts; returns those opened."""
    opened = []
    moment = timezone.now()
    checks = check(rule, today)
    with transaction.atomic():
        updated = (
            OversightRule.objects.within(ai_system=rule.ai_system)
            .filter(pk=rule.pk, active=True)
            .update(last_evaluated_at=moment)
        )
        if not updated:
            return []
        active = {a.service: a for a in rule.alerts.filter(state__in=ACTIVE_STATES)}
        for found in checks:
            current = active.get(found.service)
            if found.breached and current is None:
                opened.append(
                    OversightAlert.objects.create(
                        rule=rule,
                        ai_system=rule.ai_system,
                        service=found.service,
                        value=found.value,
                        message=found.message[:500],
                    )
                )
            elif not found.breached and current is not None:
                resolve(current, OversightAlert.Resolution.BACK_TO_NORMAL, moment)
    return opened


def resolve(alert: OversightAlert, resolution: str, moment: dt.datetime) -> None:
    alert.state = OversightAlert.State.RESOLVED
    alert.resolution = resolution
    alert.resolved_at = moment
    alert.save()


def evaluate_systems(establishment, system_ids: list[int], today=None) -> None:
    """After a batch is committed: a failure is logged, never raised (the batch is stored)."""
    rules = (
        OversightRule.objects.unrestricted()  # system code, after a committed batch
        .filter(ai_system_id__in=system_ids, ai_system__establishment=establishment, active=True)
        .select_related("ai_system__establishment")
    )
    for rule in rules:
        try:
            evaluate(rule, today)
        except Exception:
            logger.exception("évaluation de la règle de supervision %s", rule.pk)


def acknowledge(alert: OversightAlert, user, comment: str) -> OversightAlert:
    """Mark an open alert as acknowledged, with a comment (required); audited."""
    comment = (comment or "").strip()
    if not comment:
        raise ValueError("Un commentaire est obligatoire pour prendre en compte une alerte.")
    if alert.state != OversightAlert.State.OPEN:
        raise ValueError("Seule une alerte ouverte peut être prise en compte.")
    alert.state = OversightAlert.State.ACKNOWLEDGED
    alert.acknowledged_by = user if getattr(user, "is_authenticated", False) else None
    alert.acknowledged_at = timezone.now()
    alert.comment = comment
    alert.save()
    return alert


def set_active(rule: OversightRule, active: bool) -> int:
    """Switch a rule; deactivated, its open and acknowledged alerts are closed."""
    rule.active = active
    rule.save()
    closed = 0
    if not active:
        moment = timezone.now()
        for alert in rule.alerts.filter(state__in=ACTIVE_STATES):
            resolve(alert, OversightAlert.Resolution.RULE_DEACTIVATED, moment)
            closed += 1
    return closed
