"""Alerts of monitoring feeds: rules checked after each ingestion and on a schedule.

Each active `AlertRule` of a feed is computed with the engine from the feed's monitoring
state (`storage.counts`; the late-outcome rule reads the joined rows of its window), over
windows of days in the project's time zone ending with `today`:

* ``auc_below``: ROC AUC of the last `window_days` days below the threshold (a floor);
* ``psi_above``: PSI of the score, the last `window_days` days against the `window_days`
  days before them, above the threshold;
* ``subgroup_ratio_outside``: sensitivity ratio of a subgroup of `subgroup_column` to the
  largest group (engine `subgroup_report`) outside ``[r, 1/r]`` (r = the threshold, e.g. 0.8
  gives [0.8, 1.25]); the value kept is the ratio farthest from 1;
* ``volume_drop``: drop of the daily mean of the last 7 complete days against the 28 days
  before them (``1 − mean7 / mean28``) above the threshold (0.5 = a drop over 50 %);
* ``outcomes_late``: among the predictions of the window older than the feed's outcome
  window, the share still without an outcome, above the threshold.

A breached rule opens an `Alert` unless one is already open or acknowledged for it; a rule
back to normal resolves its open and acknowledged alerts. An undefined value (engine
`None`: one class, empty window…) opens and resolves nothing: the reason is written in the
rule's last status. Alert messages are stored in French, like the engine's reasons.

Rules are edited through `save_rule` (the form of the web page and of the API), switched
with `set_active` and deleted with `delete_rule`. A deactivated rule is not evaluated, and
its open and acknowledged alerts are closed (resolved, `resolution` "rule_deactivated"),
so nothing stays "in progress" that no one checks any more. A rule that raised an alert is
never deleted: its alerts are evidence (`RuleHasAlerts`; deactivate it instead).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, RestrictedError
from django.utils import timezone
from django.utils.translation import ngettext

from garant.monitoring import engine, storage
from garant.monitoring.engine.drift import score_values
from garant.monitoring.models import Alert, AlertRule, Feed

logger = logging.getLogger(__name__)

Kind = AlertRule.Kind
ACTIVE_STATES = (Alert.State.OPEN, Alert.State.ACKNOWLEDGED)
#: most serious first (`alert_state()["worst"]`)
SEVERITY = (
    Kind.AUC_BELOW,
    Kind.SUBGROUP_RATIO_OUTSIDE,
    Kind.PSI_ABOVE,
    Kind.OUTCOMES_LATE,
    Kind.VOLUME_DROP,
)
VOLUME_RECENT_DAYS = 7
VOLUME_BASELINE_DAYS = 28


@dataclass(frozen=True)
class Check:
    """The result of one rule: its value (None = undefined), breached or not, and why."""

    value: float | None
    breached: bool
    status: str


def _fr(value: float, digits: int = 3) -> str:
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "-0,0 %" for a change that rounds to nothing
    return text.replace(".", ",")


def _percent(value: float) -> str:
    return f"{_fr(100 * value, 1)} %"


@dataclass
class _Data:
    feed: Feed
    counts: engine.Counts
    today: dt.date
    now: dt.datetime
    since: dt.date

    @functools.cached_property
    def table(self) -> pa.Table:
        """The joined rows of the period (only the late-outcome rule needs times of day)."""
        margin = self.today + dt.timedelta(days=2)  # storage bounds are UTC, days local
        return storage.joined(self.feed, self.since, margin)

    @property
    def end(self) -> dt.date:  # windows end with today (included)
        return self.today + dt.timedelta(days=1)

    def window(self, days: int, offset: int = 0) -> engine.Counts:
        end = self.end - dt.timedelta(days=offset)
        return self.counts.window(end - dt.timedelta(days=days), end)


def _auc_below(data: _Data, rule: AlertRule) -> Check:
    auc = engine.roc_auc(data.window(rule.window_days).score_histogram())
    if auc.value is None:
        return Check(None, False, f"AUC indéfinie : {auc.reason}")
    text = f"AUC {_fr(auc.value)} sur {rule.window_days} jours"
    if auc.value < rule.threshold:
        return Check(auc.value, True, f"{text}, sous le plancher {_fr(rule.threshold)}")
    return Check(auc.value, False, f"{text} (plancher {_fr(rule.threshold)})")


def _psi_above(data: _Data, rule: AlertRule) -> Check:
    days = rule.window_days
    reference = score_values(data.window(days, offset=days).score_histogram())
    current = score_values(data.window(days).score_histogram())
    psi = engine.numeric_drift(reference, current).psi
    if psi.value is None:
        return Check(None, False, f"PSI du score indéfini : {psi.reason}")
    text = f"PSI du score {_fr(psi.value)} ({days} derniers jours / {days} jours précédents)"
    if psi.value > rule.threshold:
        return Check(psi.value, True, f"{text}, au-dessus de {_fr(rule.threshold)}")
    return Check(psi.value, False, f"{text} (seuil {_fr(rule.threshold)})")


def _subgroup_ratio_outside(data: _Data, rule: AlertRule) -> Check:
    column = rule.subgroup_column
    if column not in data.feed.subgroup_columns:
        return Check(None, False, f"colonne de sous-groupe « {column} » absente du flux")
    low = min(rule.threshold, 1 / rule.threshold)
    report = engine.subgroup_report(
        data.window(rule.window_days),
        (column,),
        threshold=data.feed.operating_threshold,
        tolerance=(low, 1 / low),
    )
    ratios = [
        (row.key[column], row.ratios["sensitivity"].value)
        for row in report.rows
        if not row.censored
        and row.key != report.reference_key
        and row.ratios["sensitivity"].value is not None
    ]
    if not ratios:
        return Check(None, False, "rapport de sensibilité indéfini : aucun sous-groupe comparable")
    group, worst = max(ratios, key=lambda item: abs(math.log(item[1])) if item[1] else math.inf)
    reference = report.reference_key[column]
    text = (
        f"sensibilité du sous-groupe {column} = {group} rapportée à {reference} : {_fr(worst)} "
        f"sur {rule.window_days} jours"
    )
    if not low <= worst <= 1 / low:
        return Check(worst, True, f"{text}, hors de [{_fr(low)} ; {_fr(1 / low)}]")
    return Check(worst, False, f"{text} (tolérance [{_fr(low)} ; {_fr(1 / low)}])")


def _total(counts: engine.Counts) -> int:
    return sum(n for _day, n in counts.volume("day"))


def _volume_drop(data: _Data, rule: AlertRule) -> Check:
    # complete days only: the 7 days before today, against the 28 days before them
    recent = _total(data.window(VOLUME_RECENT_DAYS, offset=1)) / VOLUME_RECENT_DAYS
    baseline = _total(data.window(VOLUME_BASELINE_DAYS, offset=1 + VOLUME_RECENT_DAYS))
    baseline /= VOLUME_BASELINE_DAYS
    if baseline == 0:
        return Check(None, False, "baisse du volume indéfinie : aucune prédiction sur les 28 jours")
    drop = 1 - recent / baseline
    text = (
        f"volume quotidien moyen {_fr(recent, 1)} sur 7 jours contre {_fr(baseline, 1)} sur "
        f"les 28 jours précédents (baisse {_percent(drop)})"
    )
    if drop > rule.threshold:
        return Check(drop, True, f"{text}, au-delà de {_percent(rule.threshold)}")
    return Check(drop, False, f"{text} (seuil {_percent(rule.threshold)})")


def _outcomes_late(data: _Data, rule: AlertRule) -> Check:
    zone = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(
        data.end - dt.timedelta(days=rule.window_days), dt.time(), tzinfo=zone
    )
    due = data.now - dt.timedelta(hours=data.feed.outcome_window_hours)
    times = data.table["timestamp"]
    mask = pc.and_(
        pc.greater_equal(times, pa.scalar(start, storage.UTC)),
        pc.less(times, pa.scalar(due, storage.UTC)),
    )
    old = data.table.filter(mask)
    if old.num_rows == 0:
        return Check(None, False, "retard des issues indéfini : aucune prédiction échue")
    late = old["label"].null_count
    share = late / old.num_rows
    text = (
        f"{late} prédiction(s) sur {old.num_rows} sans issue après "
        f"{data.feed.outcome_window_hours} h ({_percent(share)})"
    )
    if share > rule.threshold:
        return Check(share, True, f"{text}, au-delà de {_percent(rule.threshold)}")
    return Check(share, False, f"{text} (seuil {_percent(rule.threshold)})")


CHECKS = {
    Kind.AUC_BELOW: _auc_below,
    Kind.PSI_ABOVE: _psi_above,
    Kind.SUBGROUP_RATIO_OUTSIDE: _subgroup_ratio_outside,
    Kind.VOLUME_DROP: _volume_drop,
    Kind.OUTCOMES_LATE: _outcomes_late,
}


def _days_needed(rule: AlertRule) -> int:
    if rule.kind == Kind.PSI_ABOVE:
        return 2 * rule.window_days
    if rule.kind == Kind.VOLUME_DROP:
        return 1 + VOLUME_RECENT_DAYS + VOLUME_BASELINE_DAYS
    return rule.window_days


def check_rules(feed: Feed, rules: list[AlertRule], today=None) -> list[tuple[AlertRule, Check]]:
    """Compute each rule (nothing written)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    if today is None:
        today, now = timezone.localdate(), timezone.now()
    else:  # evaluated as at the end of `today`
        now = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    days = max(_days_needed(rule) for rule in rules)
    data = _Data(feed, storage.counts(feed), today, now, today - dt.timedelta(days=days + 1))
    return [(rule, CHECKS[rule.kind](data, rule)) for rule in rules]


def evaluate_feed(feed: Feed, today: dt.date | None = None) -> list[Alert]:
    """Check the feed's active rules, open and resolve alerts; returns the alerts opened."""
    rules = list(feed.alert_rules.filter(active=True))
    if not rules:
        return []
    opened = []
    moment = timezone.now()
    for rule, check in check_rules(feed, rules, today):
        with transaction.atomic():
            # the row lock is held until the alert is written; 0 rows: the rule was
            # deactivated or deleted meanwhile, and must open nothing
            updated = (
                AlertRule.objects.within(feed=rule.feed)
                .filter(pk=rule.pk, active=True)
                .update(
                    last_evaluated_at=moment, last_value=check.value, last_status=check.status[:300]
                )
            )
            if not updated:
                continue
            active = list(rule.alerts.filter(state__in=ACTIVE_STATES))
            if check.value is None:
                continue
            if check.breached and not active:
                opened.append(
                    Alert.objects.create(
                        rule=rule, feed=feed, value=check.value, message=check.status[:500]
                    )
                )
            elif not check.breached:
                for alert in active:
                    _resolve(alert, Alert.Resolution.BACK_TO_NORMAL, moment)
    return opened


def _resolve(alert: Alert, resolution: str, moment: dt.datetime) -> None:
    alert.state = Alert.State.RESOLVED
    alert.resolution = resolution
    alert.resolved_at = moment
    alert.save()


def evaluate_after_ingest(feed: Feed) -> None:
    """Called once an ingestion is committed: a failure is logged, never raised (the batch
    is stored; the scheduled evaluation will try again)."""
    try:
        evaluate_feed(feed)
    except Exception:
        logger.exception("évaluation des alertes du flux %s", feed.pk)


class RuleHasAlerts(Exception):
    """A rule that raised alerts is kept: deactivate it instead of deleting it."""

    def __init__(self, rule: AlertRule, count: int):
        self.rule, self.count = rule, count
        super().__init__(
            ngettext(
                "Cette règle a déjà déclenché %(n)s alerte : elle ne peut pas être supprimée, "
                "car ses alertes font preuve. Désactivez-la : elle ne sera plus évaluée.",
                "Cette règle a déjà déclenché %(n)s alertes : elle ne peut pas être supprimée, "
                "car ses alertes font preuve. Désactivez-la : elle ne sera plus évaluée.",
                count,
            )
            % {"n": count}
        )


def save_rule(form) -> tuple[AlertRule, int]:
    """Save a valid `AlertRuleForm` (a new rule or an edit); returns the rule and the number
    of alerts closed because it is now inactive (audited, like the rule's changes)."""
    with transaction.atomic():
        rule = form.save()
        return rule, _close_if_inactive(rule)


def set_active(rule: AlertRule, active: bool) -> int:
    """Activate or deactivate a rule; returns the number of alerts closed (deactivation)."""
    with transaction.atomic():
        if rule.active != active:
            rule.active = active
            rule.save(update_fields=["active"])
        return _close_if_inactive(rule)


def _close_if_inactive(rule: AlertRule) -> int:
    if rule.active:
        return 0
    moment = timezone.now()
    alerts = list(rule.alerts.filter(state__in=ACTIVE_STATES))
    for alert in alerts:
        _resolve(alert, Alert.Resolution.RULE_DEACTIVATED, moment)
    return len(alerts)


def delete_rule(rule: AlertRule) -> None:
    """Delete a rule that never raised an alert (audited); `RuleHasAlerts` otherwise."""
    count = rule.alerts.count()
    if count:
        raise RuleHasAlerts(rule, count)
    try:
        with transaction.atomic():
            rule.delete()
    except RestrictedError as exc:  # an alert opened in between: Alert.rule is RESTRICT
        raise RuleHasAlerts(rule, rule.alerts.count()) from exc


def acknowledge(alert: Alert, user, comment: str) -> Alert:
    """Mark an open alert as acknowledged, with a comment (required); audited."""
    comment = (comment or "").strip()
    if not comment:
        raise ValueError("Un commentaire est obligatoire pour prendre en compte une alerte.")
    if alert.state != Alert.State.OPEN:
        raise ValueError("Seule une alerte ouverte peut être prise en compte.")
    alert.state = Alert.State.ACKNOWLEDGED
    alert.acknowledged_by = user if getattr(user, "is_authenticated", False) else None
    alert.acknowledged_at = timezone.now()
    alert.comment = comment
    alert.save()
    return alert


def as_dict(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "feed": alert.feed_id,
        "rule": alert.rule_id,
        "kind": alert.rule.kind,
        "state": alert.state,
        "opened_at": alert.opened_at,
        "value": alert.value,
        "message": alert.message,
        "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by else None,
        "acknowledged_at": alert.acknowledged_at,
        "comment": alert.comment,
        "resolved_at": alert.resolved_at,
        "resolution": alert.resolution,
    }


def alert_state(ai_system) -> dict:
    """The alerts of a system's feeds, for the decision grid: counts of open and acknowledged
    alerts, the kind of the most serious one (open first, then acknowledged; None if
    none) and the alerts themselves (open and acknowledged, newest first)."""
    alerts = list(
        Alert.objects.within(feed__ai_system=ai_system)
        .filter(state__in=ACTIVE_STATES)
        .select_related("rule", "acknowledged_by")
    )
    by_state = {state: [a for a in alerts if a.state == state] for state in ACTIVE_STATES}
    worst = None
    for state in ACTIVE_STATES:
        kinds = {a.rule.kind for a in by_state[state]}
        worst = next((kind for kind in SEVERITY if kind in kinds), None)
        if worst:
            break
    return {
        "open": len(by_state[Alert.State.OPEN]),
        "acknowledged": len(by_state[Alert.State.ACKNOWLEDGED]),
        "worst": str(worst) if worst else None,
        "alerts": [as_dict(a) for a in alerts],
    }


def open_counts(ai_system) -> list[tuple[Feed, int]]:
    """(feed, number of open alerts) for each feed of the system."""
    feeds = ai_system.feeds.annotate(
        open_alerts=Count("alerts", filter=Q(alerts__state=Alert.State.OPEN))
    )
    return [(feed, feed.open_alerts) for feed in feeds]
