"""The monitoring overview `/suivi/`: every feed the user may see, grouped by establishment,
with its last reception, the predictions received, its open alerts by kind, its active rules
and a status. Everything comes from the database in a fixed number of queries (the feeds
with their figures as subqueries, then the alerts of all of them in one grouped query): no
feed's Delta table is read and no engine runs here, so the page stays fast with many feeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone

from garant.core.filtersets import filtered
from garant.monitoring import alerts
from garant.monitoring.filtersets import FeedFilterSet
from garant.monitoring.models import Alert, AlertRule, Feed, IngestBatch
from garant.registry.models import AISystem

#: a feed that received nothing for this many days is shown as silent
STALE_DAYS = 7
#: the lifecycle phase of a system in routine use (taxonomy "phase"): it should be monitored
ROUTINE = "routine"


@dataclass
class FeedRow:
    """One line of the overview: a feed, its figures and its status."""

    feed: Feed
    open_alerts: list[dict] = field(default_factory=list)  # {kind, label, n}, newest first
    open_count: int = 0
    acknowledged_count: int = 0
    # "alert" (open), "acknowledged" (acknowledged, still in progress), "never", "silent",
    # "no_rule" or "watched"
    status: str = ""
    silent_days: int | None = None


def _per_feed(queryset, value):
    """A subquery giving, for the outer feed, `value` aggregated over `queryset`'s rows."""
    return Subquery(
        queryset.filter(feed=OuterRef("pk"))
        .order_by()  # no Meta.ordering column in the GROUP BY
        .values("feed")
        .annotate(value=value)
        .values("value")[:1]
    )


def with_figures(feeds):
    """`feeds` (`FeedFilterSet`'s records) with their figures as subqueries, ordered by
    establishment, system and name."""
    predictions = IngestBatch.objects.filter(kind=IngestBatch.Kind.PREDICTIONS)
    return (
        feeds.select_related("ai_system__establishment")
        .annotate(
            last_batch_at=_per_feed(IngestBatch.objects.all(), Max("created_at")),
            predictions_received=Coalesce(_per_feed(predictions, Sum("rows")), 0),
            active_rules=Coalesce(_per_feed(AlertRule.objects.filter(active=True), Count("pk")), 0),
        )
        .order_by(
            "ai_system__establishment__name",
            "ai_system__establishment_id",
            "ai_system__name",
            "name",
            "pk",
        )
    )


def _alert_counts(feeds) -> dict[int, list[dict]]:
    """{feed id: [{kind, state, n, latest}]} for the open and acknowledged alerts of `feeds`,
    in one query."""
    rows = (
        Alert.objects.within(feed__in=feeds.values("pk"))
        .filter(state__in=alerts.ACTIVE_STATES)
        .values("feed_id", "rule__kind", "state")
        .annotate(n=Count("pk"), latest=Max("opened_at"))
        .order_by("-latest")
    )
    counts: dict[int, list[dict]] = {}
    for row in rows:
        counts.setdefault(row["feed_id"], []).append(row)
    return counts


def _status(row: FeedRow, today) -> tuple[str, int | None]:
    feed = row.feed
    if row.open_count:
        return "alert", None
    if row.acknowledged_count:  # acknowledged stays in progress until back to normal
        return "acknowledged", None
    if feed.last_batch_at is None:
        return "never", None
    days = (today - timezone.localdate(feed.last_batch_at)).days
    if days >= STALE_DAYS:
        return "silent", days
    if not feed.active_rules:
        return "no_rule", None
    return "watched", None


def overview_rows(feeds) -> list[FeedRow]:
    today = timezone.localdate()
    counts = _alert_counts(feeds)
    rows = []
    for feed in feeds:
        row = FeedRow(feed)
        for count in counts.get(feed.pk, []):  # newest first
            if count["state"] == Alert.State.OPEN:
                kind = AlertRule.Kind(count["rule__kind"])
                row.open_alerts.append({"kind": kind.value, "label": kind.label, "n": count["n"]})
                row.open_count += count["n"]
            else:
                row.acknowledged_count += count["n"]
        row.status, row.silent_days = _status(row, today)
        rows.append(row)
    return rows


def by_establishment(rows: list[FeedRow]) -> list[dict]:
    """[{establishment, rows}] in the order of `rows` (already sorted by establishment)."""
    groups: list[dict] = []
    for row in rows:
        establishment = row.feed.ai_system.establishment
        if not groups or groups[-1]["establishment"].pk != establishment.pk:
            groups.append({"establishment": establishment, "rows": []})
        groups[-1]["rows"].append(row)
    return groups


def monitoring_gaps(user, establishment=None) -> list[AISystem]:
    """The systems in routine use the user may see that have no monitoring feed: a gap."""
    systems = AISystem.objects.for_user(user).filter(phase=ROUTINE, feeds__isnull=True)
    if establishment is not None:
        systems = systems.filter(establishment=establishment)
    return list(systems.select_related("establishment").order_by("establishment__name", "name"))


@login_required
def overview(request):
    # an invalid filter is shown with its error, and no feed
    filterset, feeds = filtered(FeedFilterSet, request, Feed.objects.for_user(request.user))
    form = filterset.form
    rows = overview_rows(with_figures(feeds))
    return render(
        request,
        "monitoring/overview.html",
        {
            "form": form,
            "groups": by_establishment(rows),
            "feed_count": len(rows),
            "alerting_count": sum(1 for row in rows if row.open_count),
            "acknowledged_count": sum(
                1 for row in rows if row.acknowledged_count and not row.open_count
            ),
            "gaps": monitoring_gaps(
                request.user, form.cleaned_data.get("establishment") if form.is_valid() else None
            ),
            "filtered": bool(form.errors) or any(form.cleaned_data.values()),
            "stale_days": STALE_DAYS,
        },
    )


def home_todo(user) -> dict:
    """The home page's section (`garant.core.home`): the open alerts the user may see and the
    acknowledged ones still in progress, counted per establishment (each line of « À faire »
    names its establishment), and the systems in routine use without a feed."""
    counts = (
        Alert.objects.for_user(user)
        .filter(state__in=alerts.ACTIVE_STATES)
        .order_by("feed__ai_system__establishment__name")
        .values("state", "feed__ai_system__establishment__name")
        .annotate(n=Count("pk"))
    )
    rows: dict[str, list] = {state: [] for state in alerts.ACTIVE_STATES}
    for c in counts:
        rows[c["state"]].append(
            {"establishment": c["feed__ai_system__establishment__name"], "n": c["n"]}
        )
    return {
        "open_alerts": rows[Alert.State.OPEN],
        "acknowledged_alerts": rows[Alert.State.ACKNOWLEDGED],
        "monitoring_gaps": monitoring_gaps(user),
    }
