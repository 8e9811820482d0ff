"""Alerts of monitoring feeds: rules checked after each ingestion and on a schedule.

Each active `AlertRule` of a feed is computed with the engine from the feed's monitoring
state (`storage.counts`; the late-outcome rule reads the joined rows of its window), over
windows of days in the project's time zone ending with `today`:

* ``auc_below``: ROC AUC of the last `window_days` days below the threshold (a floor);
* ``psi_above``: PSI of the score, the last `window_days` days against the feed's drift
  reference (the `window_days` days before them, or its fixed period), above the threshold;
* ``feature_psi_above`` / ``feature_ks_above``: PSI (any declared feature) or KS (a numeric
  one) of `feature`, against the drift reference, above the threshold;
* ``ece_above``: expected calibration error of the window above the threshold;
* ``oe_ratio_outside``: observed / expected ratio outside ``[r, 1/r]``;
* ``subgroup_ratio_outside``: sensitivity ratio of a subgroup of `subgroup_column` to the
  largest group (engine `subgroup_report`) outside ``[r, 1/r]`` (r = the threshold, e.g. 0.8
  gives [0.8, 1.25]); the value kept is the ratio farthest from 1;
* ``volume_drop``: drop of the daily mean of the last 7 complete days against the 28 days
  before them (``1 − mean7 / mean28``) above the threshold (0.5 = a drop over 50 %);
* ``outcomes_late``: among the predictions of the window older than the feed's outcome
  window, the share still without an outcome, above the threshold.

Defaults and texts of each kind are data (`rule_kinds`). A breached rule opens an `Alert`
(with its window, reference and figures, for `plain_text`) unless one is already open or
acknowledged for it; a rule back to normal resolves its open and acknowledged alerts
(`back_to_normal`); `resolve` closes one explicitly with a note (`manual`). An undefined value (engine
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
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from garant.monitoring import engine, rule_kinds, storage
from garant.monitoring.engine.drift import score_values
from garant.monitoring.models import Alert, AlertRule, Feed

logger = logging.getLogger(__name__)

Kind = AlertRule.Kind
ACTIVE_STATES = (Alert.State.OPEN, Alert.State.ACKNOWLEDGED)
#: most serious first (`alert_state()["worst"]`)
SEVERITY = (
    Kind.AUC_BELOW,
    Kind.SUBGROUP_RATIO_OUTSIDE,
    Kind.OE_RATIO_OUTSIDE,
    Kind.ECE_ABOVE,
    Kind.PSI_ABOVE,
    Kind.FEATURE_PSI_ABOVE,
    Kind.FEATURE_KS_ABOVE,
    Kind.OUTCOMES_LATE,
    Kind.VOLUME_DROP,
)
VOLUME_RECENT_DAYS = 7
VOLUME_BASELINE_DAYS = 28


@dataclass(frozen=True)
class Check:
    """The result of one rule: its value (None = undefined), breached or not, and why; the
    window (and reference) compared, days included, and the figures of the plain text."""

    value: float | None
    breached: bool
    status: str
    window: tuple[dt.date, dt.date] | None = None
    reference: tuple[dt.date, dt.date] | None = None
    facts: dict = field(default_factory=dict)


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

    def days(self, days: int) -> tuple[dt.date, dt.date]:
        """The first and last day of the window of `days` days ending today."""
        return (self.today - dt.timedelta(days=days - 1), self.today)

    def reference(self, days: int) -> tuple[dt.date, dt.date]:
        """The drift reference of the feed: its fixed period, or the `days` days before the
        window of `days` days (rolling)."""
        fixed = self.feed.fixed_reference
        if fixed:
            return fixed
        return (self.today - dt.timedelta(days=2 * days - 1), self.today - dt.timedelta(days=days))

    def between(self, first: dt.date, last: dt.date) -> engine.Counts:
        return self.counts.window(first, last + dt.timedelta(days=1))


def _auc_below(data: _Data, rule: AlertRule) -> Check:
    window = data.days(rule.window_days)
    auc = engine.roc_auc(data.between(*window).score_histogram())
    if auc.value is None:
        return Check(None, False, f"AUC indéfinie : {auc.reason}")
    reference = data.reference(rule.window_days)
    before = engine.roc_auc(data.between(*reference).score_histogram()).value
    facts = {"value": auc.value, "before": before, "threshold": rule.threshold}
    text = f"AUC {_fr(auc.value)} sur {rule.window_days} jours"
    if auc.value < rule.threshold:
        status = f"{text}, sous le plancher {_fr(rule.threshold)}"
        return Check(auc.value, True, status, window, reference, facts)
    return Check(auc.value, False, f"{text} (plancher {_fr(rule.threshold)})")


def _score_mean(counts: engine.Counts) -> float | None:
    return engine.mean(score_values(counts.score_histogram()))


def _psi_above(data: _Data, rule: AlertRule) -> Check:
    days = rule.window_days
    window, reference = data.days(days), data.reference(days)
    ref_counts, cur_counts = data.between(*reference), data.between(*window)
    psi = engine.numeric_drift(
        score_values(ref_counts.score_histogram()), score_values(cur_counts.score_histogram())
    ).psi
    if psi.value is None:
        return Check(None, False, f"PSI du score indéfini : {psi.reason}")
    text = f"PSI du score {_fr(psi.value)} ({_reference_text(data, days)})"
    if psi.value > rule.threshold:
        facts = {
            "value": psi.value,
            "before": _score_mean(ref_counts),
            "after": _score_mean(cur_counts),
            "threshold": rule.threshold,
        }
        status = f"{text}, au-dessus de {_fr(rule.threshold)}"
        return Check(psi.value, True, status, window, reference, facts)
    return Check(psi.value, False, f"{text} (seuil {_fr(rule.threshold)})")


def _reference_text(data: _Data, days: int) -> str:
    fixed = data.feed.fixed_reference
    if fixed:
        return (
            f"{days} derniers jours / référence fixe du {fixed[0]:%d/%m/%Y} au {fixed[1]:%d/%m/%Y}"
        )
    return f"{days} derniers jours / {days} jours précédents"


def _feature_drift(data: _Data, rule: AlertRule) -> Check:
    name, days = rule.feature, rule.window_days
    statistic = "KS" if rule.kind == Kind.FEATURE_KS_ABOVE else "PSI"
    if name not in (*data.feed.feature_columns, *data.feed.categorical_columns):
        return Check(None, False, f"variable « {name} » absente du flux")
    window, reference = data.days(days), data.reference(days)
    ref_counts, cur_counts = data.between(*reference), data.between(*window)
    before, after = ref_counts.value_histogram(name), cur_counts.value_histogram(name)
    drift = engine.drift.drift(before, after)
    metric = drift.ks if statistic == "KS" else drift.psi
    if metric is None:  # KS of a categorical variable (refused by the form)
        return Check(None, False, f"KS indéfini : « {name} » est catégorielle")
    if metric.value is None:
        return Check(None, False, f"{statistic} de « {name} » indéfini : {metric.reason}")
    text = f"{statistic} de « {name} » {_fr(metric.value)} ({_reference_text(data, days)})"
    if metric.value > rule.threshold:
        facts = {"value": metric.value, "feature": name, "threshold": rule.threshold}
        if not before.categorical:
            facts.update(before=engine.mean(before), after=engine.mean(after))
        status = f"{text}, au-dessus de {_fr(rule.threshold)}"
        return Check(metric.value, True, status, window, reference, facts)
    return Check(metric.value, False, f"{text} (seuil {_fr(rule.threshold)})")


def _calibration_facts(h) -> dict:
    labeled = h.positives + h.negatives
    n = int(labeled.sum())
    return {
        "expected": float(labeled @ h.values) / n if n else None,
        "observed": int(h.positives.sum()) / n if n else None,
    }


def _ece_above(data: _Data, rule: AlertRule) -> Check:
    window = data.days(rule.window_days)
    h = data.between(*window).score_histogram()
    ece = engine.calibration(h).ece
    if ece.value is None:
        return Check(None, False, f"ECE indéfinie : {ece.reason}")
    text = f"ECE {_fr(ece.value)} sur {rule.window_days} jours"
    if ece.value > rule.threshold:
        facts = {"value": ece.value, "threshold": rule.threshold, **_calibration_facts(h)}
        status = f"{text}, au-dessus de {_fr(rule.threshold)}"
        return Check(ece.value, True, status, window, None, facts)
    return Check(ece.value, False, f"{text} (seuil {_fr(rule.threshold)})")


def _oe_ratio_outside(data: _Data, rule: AlertRule) -> Check:
    window = data.days(rule.window_days)
    h = data.between(*window).score_histogram()
    ratio = engine.observed_expected(h)
    if ratio.value is None:
        return Check(None, False, f"rapport observé / attendu indéfini : {ratio.reason}")
    low = min(rule.threshold, 1 / rule.threshold)
    text = f"rapport observé / attendu {_fr(ratio.value)} sur {rule.window_days} jours"
    if not low <= ratio.value <= 1 / low:
        facts = {"value": ratio.value, "threshold": rule.threshold, **_calibration_facts(h)}
        status = f"{text}, hors de [{_fr(low)} ; {_fr(1 / low)}]"
        return Check(ratio.value, True, status, window, None, facts)
    return Check(ratio.value, False, f"{text} (tolérance [{_fr(low)} ; {_fr(1 / low)}])")


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
        facts = {
            "value": worst,
            "column": column,
            "group": str(group),
            "reference_group": str(reference),
            "threshold": rule.threshold,
        }
        status = f"{text}, hors de [{_fr(low)} ; {_fr(1 / low)}]"
        return Check(worst, True, status, data.days(rule.window_days), None, facts)
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
        yesterday = data.today - dt.timedelta(days=1)
        window = (yesterday - dt.timedelta(days=VOLUME_RECENT_DAYS - 1), yesterday)
        reference_end = window[0] - dt.timedelta(days=1)
        reference = (reference_end - dt.timedelta(days=VOLUME_BASELINE_DAYS - 1), reference_end)
        facts = {"value": drop, "before": baseline, "after": recent, "threshold": rule.threshold}
        status = f"{text}, au-delà de {_percent(rule.threshold)}"
        return Check(drop, True, status, window, reference, facts)
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
        facts = {
            "value": share,
            "late": late,
            "total": old.num_rows,
            "hours": data.feed.outcome_window_hours,
            "threshold": rule.threshold,
        }
        status = f"{text}, au-delà de {_percent(rule.threshold)}"
        return Check(share, True, status, data.days(rule.window_days), None, facts)
    return Check(share, False, f"{text} (seuil {_percent(rule.threshold)})")


CHECKS = {
    Kind.AUC_BELOW: _auc_below,
    Kind.PSI_ABOVE: _psi_above,
    Kind.FEATURE_PSI_ABOVE: _feature_drift,
    Kind.FEATURE_KS_ABOVE: _feature_drift,
    Kind.ECE_ABOVE: _ece_above,
    Kind.OE_RATIO_OUTSIDE: _oe_ratio_outside,
    Kind.SUBGROUP_RATIO_OUTSIDE: _subgroup_ratio_outside,
    Kind.VOLUME_DROP: _volume_drop,
    Kind.OUTCOMES_LATE: _outcomes_late,
}


def _days_needed(rule: AlertRule) -> int:
    if rule.kind in (Kind.PSI_ABOVE, Kind.AUC_BELOW, Kind.FEATURE_PSI_ABOVE, Kind.FEATURE_KS_ABOVE):
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
                window, reference = check.window or (None, None), check.reference or (None, None)
                opened.append(
                    Alert.objects.create(
                        rule=rule,
                        feed=feed,
                        value=check.value,
                        message=check.status[:500],
                        window_start=window[0],
                        window_end=window[1],
                        reference_start=reference[0],
                        reference_end=reference[1],
                        facts=check.facts,
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


def resolve(alert: Alert, user, note: str) -> Alert:
    """Close an ongoing alert explicitly, with a note (required); audited. A rule still
    breached opens a new alert at its next evaluation."""
    note = (note or "").strip()
    if not note:
        raise ValueError("Une note est obligatoire pour résoudre une alerte.")
    if not alert.ongoing:
        raise ValueError("Cette alerte est déjà close.")
    alert.resolved_by = user if getattr(user, "is_authenticated", False) else None
    alert.resolution_note = note
    _resolve(alert, Alert.Resolution.MANUAL, timezone.now())
    return alert


def _num(value, digits=3) -> str:
    return "—" if value is None else _fr(value, digits)


def _pct(value) -> str:
    return "—" if value is None else _percent(value)


def how_much(alert: Alert) -> str:
    """The figures of an alert in plain words (its statistical message when the alert was
    opened before the figures were kept)."""
    f, kind = alert.facts or {}, alert.rule.kind
    if not f:
        return alert.message
    threshold = f.get("threshold")
    if kind == Kind.AUC_BELOW:
        text = _("AUC de %(value)s sur la période (plancher %(threshold)s)") % {
            "value": _num(f["value"]),
            "threshold": _num(threshold),
        }
        if f.get("before") is not None:
            text += _(" ; elle était de %(before)s sur la période de référence") % {
                "before": _num(f["before"])
            }
        return text + "."
    if kind == Kind.PSI_ABOVE:
        return _(
            "Score moyen passé de %(before)s à %(after)s ; indice de stabilité (PSI) "
            "%(value)s, au-delà du seuil %(threshold)s."
        ) % {
            "before": _num(f.get("before")),
            "after": _num(f.get("after")),
            "value": _num(f["value"]),
            "threshold": _num(threshold),
        }
    if kind in (Kind.FEATURE_PSI_ABOVE, Kind.FEATURE_KS_ABOVE):
        statistic = "KS" if kind == Kind.FEATURE_KS_ABOVE else "PSI"
        text = ""
        if f.get("before") is not None and f.get("after") is not None:
            text = _("Moyenne de « %(feature)s » passée de %(before)s à %(after)s ; ") % {
                "feature": f["feature"],
                "before": _num(f["before"], 2),
                "after": _num(f["after"], 2),
            }
        return text + _(
            "%(statistic)s de « %(feature)s » %(value)s, au-delà du seuil %(threshold)s."
        ) % {
            "statistic": statistic,
            "feature": f["feature"],
            "value": _num(f["value"]),
            "threshold": _num(threshold),
        }
    if kind == Kind.ECE_ABOVE:
        return _(
            "Risque annoncé en moyenne %(expected)s pour %(observed)s d'événements observés ; "
            "erreur de calibration (ECE) %(value)s, au-delà de %(threshold)s."
        ) % {
            "expected": _pct(f.get("expected")),
            "observed": _pct(f.get("observed")),
            "value": _num(f["value"]),
            "threshold": _num(threshold),
        }
    if kind in (Kind.OE_RATIO_OUTSIDE, Kind.SUBGROUP_RATIO_OUTSIDE):
        low = min(threshold, 1 / threshold)
        tolerance = f"[{_fr(low, 2)} ; {_fr(1 / low, 2)}]"
        if kind == Kind.SUBGROUP_RATIO_OUTSIDE:
            return _(
                "Sensibilité du sous-groupe %(column)s = %(group)s égale à %(value)s fois celle "
                "de %(reference)s (tolérance %(tolerance)s)."
            ) % {
                "column": f["column"],
                "group": f["group"],
                "value": _num(f["value"], 2),
                "reference": f["reference_group"],
                "tolerance": tolerance,
            }
        direction = (
            _("les scores surestiment le risque")
            if f["value"] < 1
            else _("les scores sous-estiment le risque")
        )
        return _(
            "%(observed)s d'événements observés pour %(expected)s annoncés (rapport observé / "
            "attendu %(value)s, tolérance %(tolerance)s) : %(direction)s."
        ) % {
            "observed": _pct(f.get("observed")),
            "expected": _pct(f.get("expected")),
            "value": _num(f["value"], 2),
            "tolerance": tolerance,
            "direction": direction,
        }
    if kind == Kind.VOLUME_DROP:
        return _(
            "%(after)s prédictions par jour sur les 7 derniers jours complets contre %(before)s "
            "sur les 28 jours précédents (baisse de %(value)s, seuil %(threshold)s)."
        ) % {
            "after": _num(f["after"], 1),
            "before": _num(f["before"], 1),
            "value": _pct(f["value"]),
            "threshold": _pct(threshold),
        }
    if kind == Kind.OUTCOMES_LATE:
        return _(
            "%(late)s prédictions sur %(total)s toujours sans issue %(hours)s h après la "
            "prédiction (%(value)s, seuil %(threshold)s)."
        ) % {
            "late": f["late"],
            "total": f["total"],
            "hours": f["hours"],
            "value": _pct(f["value"]),
            "threshold": _pct(threshold),
        }
    return alert.message


def since(alert: Alert) -> str:
    """When: the window compared, and the reference when there is one."""
    opened = timezone.localdate(alert.opened_at).strftime("%d/%m/%Y")
    if alert.window_start is None:
        return _("Constaté le %(opened)s.") % {"opened": opened}
    text = _("Constaté le %(opened)s sur la période du %(start)s au %(end)s") % {
        "opened": opened,
        "start": alert.window_start.strftime("%d/%m/%Y"),
        "end": alert.window_end.strftime("%d/%m/%Y"),
    }
    if alert.reference_start is not None:
        text += _(", comparée à la période de référence du %(start)s au %(end)s") % {
            "start": alert.reference_start.strftime("%d/%m/%Y"),
            "end": alert.reference_end.strftime("%d/%m/%Y"),
        }
    return text + "."


def plain_text(alert: Alert) -> dict:
    """What an alert says in plain words: what changed, since when, how much, what it may
    mean for patients and what to do (texts of the kind in `rule_kinds`)."""
    kind = alert.rule.kind
    return {
        "change": rule_kinds.text(kind, "change"),
        "since": since(alert),
        "how_much": how_much(alert),
        "meaning": rule_kinds.text(kind, "meaning"),
        "todo": rule_kinds.text(kind, "todo"),
    }


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
        "resolved_by": alert.resolved_by.get_username() if alert.resolved_by else None,
        "resolution_note": alert.resolution_note,
        "window_start": alert.window_start,
        "window_end": alert.window_end,
        "reference_start": alert.reference_start,
        "reference_end": alert.reference_end,
        "text": plain_text(alert),
    }


def alert_state(ai_system) -> dict:
    """The alerts of a system's feeds, for the decision grid: counts of open and acknowledged
    alerts, the kind of the most serious one (open first, then acknowledged; None if
    none) and the alerts themselves (open and acknowledged, newest first)."""
    alerts = list(
        Alert.objects.within(feed__ai_system=ai_system)
        .filter(state__in=ACTIVE_STATES)
        .select_related("rule", "acknowledged_by", "resolved_by")
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
