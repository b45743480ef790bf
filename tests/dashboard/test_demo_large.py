"""The large dataset is shaped like real work: 签收 is per notice, so a notice nobody acknowledged
has only lines waiting for it, and every line past 签收 belongs to an acknowledged notice (the board's
'not acknowledged' panel and the sweep read the notices, and must meet as few as a real network has)."""
from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from inspect_app import demo
from inspect_app.demo_large import load_large
from inspect_app.rectifications.models import RectificationLine, RectificationNotice


def test_lines_follow_their_notices_acknowledgement(app, clock_at):
    clock_at(dt.datetime(2026, 12, 6, 16, 30, tzinfo=dt.timezone.utc))
    engine = app.extensions["db_engine"]
    with app.test_request_context(), Session(engine) as session:
        demo.load_demo(session)
        made = load_large(session, outlets=60, visits=900, lines=3000, echo=lambda *_: None)
        session.commit()
    assert made["lines"] >= 2900
    with Session(engine) as db:
        notices = {n.id: n for n in db.exec(select(RectificationNotice).where(RectificationNotice.number.like("ZG%")))}
        lines = db.exec(select(RectificationLine).where(RectificationLine.notice_id.in_(list(notices)))).all()
    unacknowledged = {nid for nid, n in notices.items() if n.acknowledged_at is None}
    assert 0 < len(unacknowledged) < len(notices) * 0.2
    for line in lines:
        if line.notice_id in unacknowledged:
            assert line.status in ("issued", "withdrawn") and line.acknowledged_at is None
        else:
            assert line.status != "issued"
            if line.status != "withdrawn":
                assert line.acknowledged_at == notices[line.notice_id].acknowledged_at
