"""The monitoring overview `/suivi/`: every feed the user may see, grouped by establishment,
with its last reception, predictions received, open alerts by kind, active rules and status;
filters; a constant number of queries; the navigation and home page links.

Batches and alerts are created in the database directly: the page reads nothing else (no
Delta table, no engine), which these tests rely on."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import Membership, Role
from garant.monitoring.models import Alert, AlertRule, Feed, IngestBatch
from tests.conftest import make_system, make_user

URL = reverse("monitoring:overview")
_counter = iter(range(10**9))


@pytest.fixture(autouse=True)
def _audit():
    with audit_context(source="test"):
        yield


def make_feed(system, name="Sepsis") -> Feed:
    return Feed.objects.create(
        ai_system=system, name=name, slug=f"f{next(_counter)}", operating_threshold=0.5
    )


def batch(feed, rows, kind="predictions", at=None) -> IngestBatch:
    created = IngestBatch.objects.create(
        feed=feed, kind=kind, sha256=f"{next(_counter):064d}", rows=rows, source="api"
    )
    if at is not None:
        IngestBatch.objects.filter(pk=created.pk).update(created_at=at)
    return created


def make_rule(feed, kind="auc_below", active=True) -> AlertRule:
    return AlertRule.objects.create(feed=feed, kind=kind, threshold=0.5, active=active)


def alert(rule, state="open", opened_at=None) -> Alert:
    created = Alert.objects.create(rule=rule, feed=rule.feed, message="constat", state=state)
    if opened_at is not None:
        Alert.objects.filter(pk=created.pk).update(opened_at=opened_at)
    return created


def local_noon(days_ago: int) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def rows_of(page: str) -> dict[str, str]:
    """{feed name: the HTML of its table row}."""
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", page, flags=re.S)
    return {re.search(r'">([^<]+)</a>', row).group(1): row for row in rows}


@pytest.fixture
def group_user(world):
    """A user with a role in both establishments (a GHT's monitoring lead)."""
    user = make_user("ght", world["a"]["est"], Role.REFERENT)
    Membership.objects.create(user=user, establishment=world["b"]["est"], role=Role.AUDITOR)
    return user


def test_feeds_are_grouped_by_establishment_within_the_users_scope(world, client_for, group_user):
    make_feed(world["a"]["system"], "Flux A")
    make_feed(world["b"]["system"], "Flux B")
    page = client_for(group_user).get(URL).content.decode()
    assert list(rows_of(page)) == ["Flux A", "Flux B"]
    assert page.index(">CHU A</h2>") < page.index("Flux A") < page.index(">CHU B</h2>")
    assert page.index(">CHU B</h2>") < page.index("Flux B")
    assert "Flux de suivi — CHU A</caption>" in page and "Flux de suivi — CHU B</caption>" in page
    only_a = client_for(world["users"]["a"][Role.AUDITOR]).get(URL).content.decode()
    assert list(rows_of(only_a)) == ["Flux A"] and "CHU B" not in only_a
    assert list(
        rows_of(client_for(world["users"]["b"][Role.CONTRIBUTOR]).get(URL).content.decode())
    ) == ["Flux B"]


def test_a_row_shows_reception_predictions_alerts_rules_and_links(world, client_for):
    feed = make_feed(world["a"]["system"])
    batch(feed, 100, at=dt.datetime(2024, 6, 30, 12, 0, tzinfo=dt.UTC))
    batch(feed, 1250, at=dt.datetime(2024, 6, 30, 22, 30, tzinfo=dt.UTC))  # 1 July, Paris
    batch(feed, 300, kind="outcomes", at=dt.datetime(2024, 6, 29, tzinfo=dt.UTC))
    auc, psi = make_rule(feed, "auc_below"), make_rule(feed, "psi_above")
    make_rule(feed, "volume_drop", active=False)
    alert(psi, opened_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    alert(psi, opened_at=dt.datetime(2024, 6, 2, tzinfo=dt.UTC))
    alert(auc, opened_at=dt.datetime(2024, 6, 20, tzinfo=dt.UTC))  # the most recent
    alert(auc, state="acknowledged")
    alert(auc, state="resolved")
    page = client_for(world["users"]["a"][Role.AUDITOR]).get(URL).content.decode()
    row = rows_of(page)["Sepsis"]
    cells = re.findall(r"<td>(.*?)</td>", row, flags=re.S)
    assert cells[0].startswith(f'<a href="/suivi/systemes/{feed.ai_system_id}/">Triage A</a>')
    assert cells[1] == "01/07/2024 00:30"  # the last batch, in Europe/Paris
    assert cells[2] == "1\u202f350"  # predictions only, outcomes are not counted
    assert cells[4] == "2"  # active rules
    listed = [
        (href, n, html.unescape(label))
        for href, n, label in re.findall(
            r'<li><a href="([^"]+)">(\d+) × ([^<]+)</a></li>', cells[3]
        )
    ]
    assert listed == [
        (f"/suivi/flux/{feed.pk}/#alertes", "1", "AUC sous un plancher"),
        (f"/suivi/flux/{feed.pk}/#alertes", "2", "dérive du score (PSI) au-dessus d'un seuil"),
    ]
    assert "1 prise en compte" in cells[3]
    assert "alerte ouverte" in cells[5]
    assert f'href="/suivi/flux/{feed.pk}/tableau/"' in row
    assert "1 flux · <strong>1 avec une alerte ouverte</strong>" in page


def test_statuses(world, client_for):
    system = world["a"]["system"]
    alerting = make_feed(system, "En alerte")
    batch(alerting, 10, at=local_noon(30))  # silent too, but the alert comes first
    alert(make_rule(alerting))
    never = make_feed(system, "Jamais")
    make_rule(never)
    silent = make_feed(system, "Muet")
    batch(silent, 10, at=local_noon(10))
    make_rule(silent)
    watched = make_feed(system, "Surveillé")
    batch(watched, 10, at=local_noon(6))
    make_rule(watched)
    unwatched = make_feed(system, "Sans règle")
    batch(unwatched, 10)
    make_rule(unwatched, active=False)
    rows = rows_of(client_for(world["users"]["a"][Role.CONTRIBUTOR]).get(URL).content.decode())
    status = {
        name: re.findall(r'<span class="badge[^"]*">([^<]+)</span>', row)[-1]
        for name, row in rows.items()
    }
    assert status == {
        "En alerte": "alerte ouverte",
        "Jamais": "aucune donnée reçue",
        "Muet": "aucune donnée depuis 10 jours",
        "Surveillé": "sous surveillance",
        "Sans règle": "aucune règle active",
    }


def test_filters_by_establishment_and_open_alerts(world, client_for, group_user):
    a_quiet = make_feed(world["a"]["system"], "A calme")
    batch(a_quiet, 5)
    a_alerting = make_feed(world["a"]["system"], "A en alerte")
    alert(make_rule(a_alerting))
    acknowledged = make_feed(world["a"]["system"], "A prise en compte")
    alert(make_rule(acknowledged), state="acknowledged")
    b_alerting = make_feed(world["b"]["system"], "B en alerte")
    alert(make_rule(b_alerting))
    client = client_for(group_user)
    names = lambda query: sorted(rows_of(client.get(URL, query).content.decode()))  # noqa: E731
    assert names({}) == ["A calme", "A en alerte", "A prise en compte", "B en alerte"]
    assert names({"establishment": world["b"]["est"].pk}) == ["B en alerte"]
    assert names({"ouvertes": "on"}) == ["A en alerte", "B en alerte"]
    assert names({"establishment": world["a"]["est"].pk, "ouvertes": "on"}) == ["A en alerte"]
    page = client.get(URL, {"establishment": world["b"]["est"].pk}).content.decode()
    assert f'<option value="{world["b"]["est"].pk}" selected>CHU B</option>' in page
    assert "Tout afficher" in page
    # an establishment out of scope or garbage: a French error, the filter not applied
    outsider = client_for(world["users"]["a"][Role.ADMIN])
    response = outsider.get(URL, {"establishment": world["b"]["est"].pk})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert "B en alerte" not in response.content.decode()
    assert client.get(URL, {"establishment": "x" * 50}).status_code == 200
    empty = client.get(URL, {"establishment": world["a"]["est"].pk, "ouvertes": "on"})
    assert "A calme" not in empty.content.decode()
    Alert.objects.filter(feed=a_alerting).update(state="resolved")
    page = client.get(URL, {"establishment": world["a"]["est"].pk, "ouvertes": "on"})
    assert "Aucun flux ne correspond à ces filtres." in page.content.decode()


def test_query_count_does_not_grow_with_the_number_of_feeds(world, client_for):
    systems = [world["a"]["system"], make_system(world["a"]["est"], name="Autre système")]
    client = client_for(world["users"]["a"][Role.REFERENT])

    def add_feeds(n):
        for i in range(n):
            feed = make_feed(systems[i % 2], f"Flux {next(_counter)}")
            batch(feed, 10)
            batch(feed, 5, kind="outcomes")
            auc, psi = make_rule(feed, "auc_below"), make_rule(feed, "psi_above")
            alert(auc)
            alert(psi, state="acknowledged")

    counts = []
    for total in (2, 10):
        add_feeds(total - Feed.objects.count())
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL)
        assert len(rows_of(response.content.decode())) == total
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_page_needs_a_login_and_is_in_the_navigation(world, client, client_for):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    page = client_for(world["users"]["a"][Role.CONTRIBUTOR]).get(URL).content.decode()
    assert f'<a href="{URL}" aria-current="page">Suivi</a>' in page
    assert '<label for="id_establishment"' in page and '<label for="id_ouvertes"' in page
    assert "Aucun flux de prédictions" in page  # no feed yet
    home = client_for(world["users"]["a"][Role.CONTRIBUTOR]).get(reverse("home")).content.decode()
    assert f'<a href="{URL}" >Suivi</a>' in home or f'<a href="{URL}">Suivi</a>' in home


def test_the_home_page_points_to_open_alerts(world, client_for):
    home = reverse("home")
    viewer_a = client_for(world["users"]["a"][Role.CONTRIBUTOR])
    assert "Alertes de suivi" not in viewer_a.get(home).content.decode()
    feed = make_feed(world["a"]["system"])
    first = alert(make_rule(feed))
    alert(make_rule(feed, "psi_above"), state="acknowledged")  # not counted: not open
    page = viewer_a.get(home).content.decode()
    assert "Alertes de suivi" in page
    assert f'<a href="{URL}?ouvertes=on">1 alerte ouverte sur les flux de prédictions</a>' in page
    assert "Rien d'urgent" not in page
    other = client_for(world["users"]["b"][Role.ADMIN]).get(home).content.decode()
    assert "Alertes de suivi" not in other  # another establishment's alerts
    alert(first.rule, state="open")
    assert "2 alertes ouvertes" in viewer_a.get(home).content.decode()
