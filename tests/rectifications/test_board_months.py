"""The board's months begin at midnight where the network is (Shanghai), not in UTC: a line issued at
01:30 on the 1st in Shanghai (17:30 UTC the day before) belongs to the new month, on the board's totals
(live and kept) and in its lists alike."""
from __future__ import annotations

import datetime as dt
import re

from inspect_app.org import services as org
from tests.visit_helpers import release_mini_visit

ISSUED = re.compile(r'<b>(\d+)</b><span>已下发')


def _issued(client, url):
    return int(ISSUED.search(client.get(url).get_data(as_text=True)).group(1))


def _listed(client, url):
    return client.get(url).get_data(as_text=True).count('href="/lines/')


def test_a_month_on_the_board_is_the_networks_month(app, db, org_tree, people, create_outlet, client_as, clock_at,
                                                     monkeypatch):
    outlet = create_outlet(org_tree["xihu"], code="990001")
    clock_at(dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.timezone.utc))  # 23:30 on 30 November in Shanghai
    release_mini_visit(app, db, people["inspector"], outlet, {"B-03": dict(result="fail", note="坏了")})
    clock_at(dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.timezone.utc))  # 01:30 on 1 December in Shanghai
    release_mini_visit(app, db, people["inspector"], outlet, {"A-02": dict(occurrences=1, note="倚靠"),
                                                              "B-03": dict(result="fail", note="又坏了")})
    director = client_as(people["director"])
    november, december = "from=2026-11&to=2026-11", "from=2026-12&to=2026-12"
    assert (_issued(director, f"/board?{november}"), _issued(director, f"/board?{december}")) == (1, 2)
    assert (_listed(director, f"/board/lines?{november}"), _listed(director, f"/board/lines?{december}")) == (1, 2)
    monkeypatch.setattr(org, "SCOPE_FIRST_OUTLETS", 0)  # the kept totals, as the nation's board reads them
    assert (_issued(director, f"/board?{november}"), _issued(director, f"/board?{december}")) == (1, 2)
    assert _issued(director, "/board?from=2026-11&to=2026-12") == 3
