"""One filter definition for the portfolio (`garant.lifecycle.filtersets.ProjectFilterSet`):
its page and GET /api/projects give the same projects for the same query string."""

from __future__ import annotations

import pytest

from tests.conftest import make_system, token_client
from tests.test_lifecycle_builders import make_charter, make_project


def page_ids(client, query) -> list[int]:
    response = client.get("/projets/", query)
    assert response.status_code == 200
    return sorted(
        card.project.pk for column in response.context["columns"] for card in column["cards"]
    )


def api_ids(client, query) -> list[int]:
    response = client.get("/api/projects", query)
    assert response.status_code == 200, response.content
    return sorted(item["id"] for item in response.json()["items"])


@pytest.fixture
def portfolio(world):
    a, b = world["a"]["est"], world["b"]["est"]
    projects = {
        "d1": make_project(make_system(a, domain="D1")),
        "d2": make_project(make_system(a, domain="D2", solution_type="S2")),
        "service": make_project(make_system(a, services=[world["a"]["service"]])),
        "b": make_project(make_system(b)),
    }
    make_charter(projects["d1"])  # a PoC charter: the project is not blocked for want of one
    return {**world, "projects": projects}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["d1", "d2", "service"]),  # not B's
        ({"domain": "D2"}, ["d2"]),
        ({"solution_type": "S1"}, ["d1", "service"]),
        ({"service": "SERVICE"}, ["service"]),
        ({"establishment": "B"}, []),  # outside the user's scope: refused, no records
    ],
)
def test_portfolio_page_and_api_filter_alike(portfolio, client_for, query, expected):
    values = {"SERVICE": portfolio["a"]["service"].pk, "B": portfolio["b"]["est"].pk}
    query = {k: values.get(v, v) for k, v in query.items()}
    user = portfolio["users"]["a"]["admin"]
    ids = sorted(portfolio["projects"][key].pk for key in expected)
    assert page_ids(client_for(user), query) == ids
    if "establishment" in query:
        response = token_client(user).get("/api/projects", query)
        assert response.status_code == 422  # the page shows the same error, and no project
    else:
        assert api_ids(token_client(user), query) == ids


def test_blocked_only_alike(portfolio, client_for):
    user = portfolio["users"]["a"]["admin"]
    page = page_ids(client_for(user), {"blocked": "on"})
    assert page == api_ids(token_client(user), {"blocked": "true"})
    assert 0 < len(page) < 3
