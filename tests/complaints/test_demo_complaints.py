"""The demo's complaints: every status and outcome, the stories it tells (commendations, a red-line
finding held against its person, appeals rejected and accepted), and no customer's detail in front
of the demo chief."""
from __future__ import annotations

import io

from sqlmodel import Session, select

from inspect_app import demo, permissions
from inspect_app.audit.models import AuditEvent
from inspect_app.auth.models import User
from inspect_app.complaints.models import (
    Accountability,
    AccountabilityStatus,
    Callback,
    Commendation,
    Complaint,
    ComplaintStatus,
)
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from tests.complaints.helpers import PINNED


def _demo_with_complaints(app, clock_at) -> int:
    """The demo organisation, its visits and its complaints (how many), at the pinned moment."""
    clock_at(PINNED, tick=True)
    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        demo.load_demo(session)
        demo.load_demo_visits(session, per_city=3)
        made = demo.load_demo_complaints(session)
        session.commit()
    return made


def test_the_demo_complaints_cover_every_state_and_hide_contacts_from_the_demo_chief(app, client_as, clock_at):
    assert _demo_with_complaints(app, clock_at) > 40
    engine = app.extensions["db_engine"]
    with Session(engine) as db:
        complaints = db.exec(select(Complaint)).all()
        assert {c.status for c in complaints} == set(ComplaintStatus)
        assert {c.verdict for c in complaints} == {None, "substantiated", "partly", "unfounded"}
        assert any(c.reopened for c in complaints) and any(c.handed_on for c in complaints)
        assert {cb.satisfaction for cb in db.exec(select(Callback).where(Callback.complaint_id.is_not(None)))} == {
            "satisfied", "basic", "unsatisfied"}
        records = db.exec(select(Accountability)).all()
        assert {r.status for r in records} == set(AccountabilityStatus)
        assert any(r.line_id and db.get(RectificationLine, r.line_id).red_line for r in records)  # a red-line finding
        decided = {e.action for e in db.exec(select(AuditEvent).where(AuditEvent.object_type == "accountability"))}
        assert {"accountability.appeal_uphold", "accountability.appeal_revoke"} <= decided  # rejected and accepted
        praise = db.exec(select(Commendation)).all()
        assert sum(p.title == "服务之星" for p in praise) >= 4
        chief = db.exec(select(User).where(User.username == "chief")).one()
        secrets = {c.customer_name for c in complaints if c.customer_name} | {
            c.customer_phone for c in complaints if c.customer_phone} | {"孙女士"}
        story = db.exec(select(Complaint).where(Complaint.customer_name == "孙丽萍")).one()
        mine = [c for c in complaints if permissions.can_view_complaint(db, chief, c)]
        mine_records = [r for r in records if r.outlet_id in {c.outlet_id for c in mine}]
        notices = [n.id for n in db.exec(select(RectificationNotice).where(RectificationNotice.origin.startswith("投诉")))
                   if n.outlet_id in {c.outlet_id for c in mine}]
    assert story in mine and len(mine) >= 3 and mine_records and notices
    client = client_as(chief)
    urls = ["/home", "/complaints", "/complaints?page=2", "/accountability", "/notices", "/staff"]
    urls += [f"/complaints/{c.id}" for c in mine] + [f"/accountability/{r.id}" for r in mine_records]
    urls += [f"/notices/{n}" for n in notices]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        for secret in secrets:
            assert secret not in page, f"{url} shows {secret}"
    story_page = client.get(f"/complaints/{story.id}").get_data(as_text=True)
    assert "已致电[已隐去]致歉" in story_page and "仅投诉处理人员可见" in story_page
    # the handler of the region reads the same story in full
    with Session(engine) as db:
        handler = db.exec(select(User).where(User.username == "handler")).one()
    assert "已致电孙女士致歉" in client_as(handler).get(f"/complaints/{story.id}").get_data(as_text=True)
    from pypdf import PdfReader
    pdf = client.get(f"/notices/{notices[0]}/pdf")
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert text.strip() and not any(secret in text for secret in secrets)


def test_demo_outlets_never_at_fault_count_their_streak_from_the_register_start(app, clock_at):
    """The demo's outlets opened years before its records: one never found at fault has been free
    of complaints since the register began (its first complaint), not since the demo was loaded
    (a walk at 360 px found 44 outlets at "0 天", after outlets found at fault days ago)."""
    from inspect_app import clock
    from inspect_app.complaints import queries

    _demo_with_complaints(app, clock_at)
    with app.test_request_context(), Session(app.extensions["db_engine"]) as session:
        admin = session.exec(select(User).where(User.username == "admin")).one()
        rows = queries.outlet_streaks(session, admin)
        start = queries.register_start(session)
        never = [r for r in rows if r.never]
        assert never and all(r.since == clock.local_date(start, r.outlet.timezone) for r in never)
        assert all(r.days == (clock.local_date(clock.now(), r.outlet.timezone) - r.since).days > 0 for r in never)
        assert min(r.days for r in never) >= max(r.days for r in rows if not r.never)
