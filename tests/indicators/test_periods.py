"""Months and quarters: a quarter counts its three months (counts added, imported values averaged),
each period is ranked with its change against the period before, units without a visit are not
ranked, and the month summary (月总结) and its PDF carry the composite table."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from inspect_app.indicators import services
from inspect_app.indicators.models import OperatingValue
from tests.complaints.helpers import concluded
from tests.jobs_helpers import fetch
from tests.visit_helpers import release_mini_visit


@pytest.fixture
def autumn(app, db, org_tree, people, clock_at, create_user):
    """A visit in each city in October and November; a substantiated complaint in Hangzhou each
    month; imported call answering for Hangzhou, 90 % in October and 80 % in November."""
    from inspect_app.auth.models import Role

    ningbo = create_user(Role.inspector, unit=org_tree["nb"], username="inspector.nb")
    for moment in ("2026-10-14T03:00:00Z", "2026-11-12T03:00:00Z"):
        clock_at(moment)
        release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {})
        release_mini_visit(app, db, ningbo, org_tree["haishu1"], {"B-03": dict(result="fail", note="坏了")})
        with app.test_request_context():
            concluded(db, people, org_tree)
        db.commit()
    for month, value in ((dt.date(2026, 10, 1), 90), (dt.date(2026, 11, 1), 80)):
        db.add(OperatingValue(unit_id=org_tree["hz"].id, month=month, metric="call_answer_rate", value=Decimal(value)))
    db.commit()


def _rank(app, db, people, org_tree, label):
    with app.test_request_context():
        result = services.ranking(db, people["director"], node=org_tree["province"], period=services.Period.parse(label),
                                  zone="Asia/Shanghai", fresh=True)
    return {u.name: u for u in result.units}, result


def test_a_quarter_counts_its_months_and_each_period_its_change(app, db, people, org_tree, autumn, clock_at):
    clock_at("2027-01-01T16:30:00Z")  # 00:30 on 2 January in Shanghai: the fourth quarter is over
    quarter, q = _rank(app, db, people, org_tree, "2026-Q4")
    november, _n = _rank(app, db, people, org_tree, "2026-11")
    raw = {s.indicator.code: s.raw for s in quarter["杭州市"].scores}
    month = {s.indicator.code: s.raw for s in november["杭州市"].scores}
    outlets = 2  # Hangzhou's outlets: the counts are per 100 of them
    assert raw["C1"] == Decimal(2 * 100 / outlets) and month["C1"] == Decimal(1 * 100 / outlets)
    assert raw["D3"] == 85 and month["D3"] == 80
    assert q.period.previous().label == "2026-Q3"
    # November against October: both cities were ranked both months, so each has a change (or none)
    october, _o = _rank(app, db, people, org_tree, "2026-10")
    for name in ("杭州市", "宁波市"):
        assert november[name].previous_total == october[name].total
        assert november[name].rank_change == october[name].rank - november[name].rank


def test_a_unit_without_a_visit_is_listed_and_not_ranked(app, db, people, org_tree, autumn, clock_at, create_unit):
    create_unit("温州市", parent=org_tree["province"], code="3303")
    clock_at("2026-12-01T16:30:00Z")
    november, result = _rank(app, db, people, org_tree, "2026-11")
    wenzhou = november["温州市"]
    assert not wenzhou.inspected and wenzhou.rank is None and wenzhou.award is None
    assert {u.name for u in result.ranked} == {"杭州市", "宁波市"}


def test_the_month_summary_and_its_pdf_carry_the_composite_ranking(app, db, people, org_tree, autumn, client_as,
                                                                   clock_at):
    clock_at("2026-12-01T16:30:00Z", tick=True)
    director = client_as(people["director"])
    page = director.get(f"/bulletins?kind=month&date=2026-11-01&unit={org_tree['province'].id}").get_data(as_text=True)
    assert "综合考核" in page and "上期" in page and "杭州市" in page and "宁波市" in page
    pdf = fetch(app, director, f"/bulletins/pdf?kind=month&date=2026-11-01&unit={org_tree['province'].id}")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "综合考核" in text and "上期" in text
