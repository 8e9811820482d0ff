# ruff: noqa: F811 (the shared fixtures are imported by name)
"""One filter definition for the feeds (`garant.monitoring.filtersets.FeedFilterSet`): the
monitoring overview and GET /api/feeds give the same feeds for the same query string."""

from __future__ import annotations

import pytest

from tests.conftest import make_system, token_client
from tests.test_monitoring_overview import (  # noqa: F401 (fixtures)
    URL,
    _audit,
    alert,
    group_user,
    make_feed,
    make_rule,
)


@pytest.fixture
def feeds(world):
    other = make_system(world["a"]["est"], name="Autre")
    made = {
        "a quiet": make_feed(world["a"]["system"], "A calme"),
        "a alerting": make_feed(world["a"]["system"], "A en alerte"),
        "a other": make_feed(other, "A autre système"),
        "b alerting": make_feed(world["b"]["system"], "B en alerte"),
    }
    alert(make_rule(made["a alerting"]))
    alert(make_rule(made["b alerting"]))
    alert(make_rule(made["a other"]), state="acknowledged")
    return {**world, "feeds": made, "other": other}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["a quiet", "a alerting", "a other", "b alerting"]),
        ({"establishment": "A"}, ["a quiet", "a alerting", "a other"]),
        ({"ouvertes": "true"}, ["a alerting", "b alerting"]),
        ({"establishment": "B", "ouvertes": "true"}, ["b alerting"]),
        ({"system": "OTHER"}, ["a other"]),
    ],
)
def test_overview_and_api_filter_alike(feeds, client_for, group_user, query, expected):
    values = {"A": feeds["a"]["est"].pk, "B": feeds["b"]["est"].pk, "OTHER": feeds["other"].pk}
    query = {k: values.get(v, v) for k, v in query.items()}
    ids = sorted(feeds["feeds"][key].pk for key in expected)
    response = client_for(group_user).get(URL, query)
    assert response.status_code == 200
    page = sorted(row.feed.pk for group in response.context["groups"] for row in group["rows"])
    assert page == ids
    response = token_client(group_user).get("/api/feeds", query)
    assert response.status_code == 200, response.content
    assert sorted(item["id"] for item in response.json()["items"]) == ids


def test_an_establishment_out_of_scope_no_feed_on_the_page_422_in_the_api(feeds, client_for):
    user = feeds["users"]["a"]["referent"]
    query = {"establishment": feeds["b"]["est"].pk}
    response = client_for(user).get(URL, query)
    assert response.status_code == 200 and not response.context["groups"]
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert token_client(user).get("/api/feeds", query).status_code == 422
