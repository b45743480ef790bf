"""Planning by scope: a small scope's pages read through its outlets, a large one's through the
country's rows in index order. Both plans must show the same thing with the same statements."""
from __future__ import annotations

import re

import pytest

from inspect_app.org import services as org
from tests.dashboard.test_query_counts import forget_kept_bulletins, grow, statements

PAGES = ["/board", "/board?from=2026-01&to=2030-12", "/board/lines?state=overdue", "/board/lines?state=due_soon",
         "/board?unit={xihu}", "/bulletins?kind=month", "/bulletins?kind=week", "/home"]


AS_OF = re.compile(r'<p class="muted small" data-overdue-as-of>[^<]*</p>')


def _body(client, url, *, kept: bool = False) -> str:
    """The page without its CSRF token; a board read from the kept late-line counts says when they
    were counted (``kept``: it must), which the live count does not. A bulletin is composed each
    time (not read from what the view before kept): the plans are what is compared."""
    forget_kept_bulletins(client.application)
    response = client.get(url)
    assert response.status_code == 200, url
    text = re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]*"', "", response.get_data(as_text=True))
    board = url.startswith("/board") and "/board/lines" not in url and "unit=" not in url  # a county: per outlet
    assert bool(AS_OF.search(text)) == (kept and board), url
    return AS_OF.sub("", text)


@pytest.mark.parametrize("role", ["manager", "director"])
def test_both_plans_show_the_same_with_the_same_statements(role, app, db, org_tree, people, create_outlet,
                                                           client_as, monkeypatch):
    grow(app, db, org_tree, people, create_outlet, 4)
    client = client_as(people[role])
    for url in PAGES:
        url = url.format(xihu=org_tree["xihu"].id)
        monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 500)
        by_outlets, n_outlets = _body(client, url), statements(app, client, url)
        monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 0)
        by_country, n_country = _body(client, url, kept=True), statements(app, client, url)
        assert by_outlets == by_country, url
        assert n_outlets == n_country, url
    late = _body(client, "/board/lines?state=overdue")
    assert late.count("逾期 10 天") == 8  # the late lines are there to compare (4 outlets, 2 each)
