"""Indicator values pulled from the monitoring capability: an indicator whose source is a
feed's metric takes the value of that metric over the feed's last 30 days, as the monitoring
report computes it (`storage.feed_report` → `report.performance_dict`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from garant.lifecycle.models import Indicator, IndicatorValue

WINDOW_DAYS = 30


class NoValue(Exception):
    pass


def latest(indicator: Indicator, today: dt.date | None = None) -> float:
    from garant.monitoring import report, storage

    if indicator.feed_id is None or not indicator.metric:
        raise NoValue(_("Cet indicateur n'est pas relié à une métrique d'un flux de suivi."))
    today = today or timezone.localdate()
    figures = report.performance_dict(
        storage.feed_report(
            indicator.feed, today - dt.timedelta(days=WINDOW_DAYS), today + dt.timedelta(days=1)
        )
    )
    metric = figures.get(indicator.metric) or {}
    value = metric.get("value")
    if value is None:
        raise NoValue(
            _(
                "Le suivi ne donne pas encore de valeur pour cette métrique sur les %(n)s derniers jours."
            )
            % {"n": WINDOW_DAYS}
        )
    return float(value)


def pull(indicator: Indicator, user, today: dt.date | None = None) -> IndicatorValue:
    today = today or timezone.localdate()
    value = latest(indicator, today)
    return IndicatorValue.objects.create(
        indicator=indicator,
        value=Decimal(str(round(value, 4))),
        measured_on=today,
        source=Indicator.Source.MONITORING,
        comment=_("Repris du flux « %(feed)s » (%(n)s derniers jours)")
        % {"feed": indicator.feed.name, "n": WINDOW_DAYS},
        recorded_by=user,
    )
