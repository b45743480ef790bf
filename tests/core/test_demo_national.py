"""``inspect-app demo --scale national``: the generator at a tiny size on a real PostgreSQL, and
its refusal on SQLite."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import Session, select

from inspect_app import clock, create_app, demo
from inspect_app.auth.models import Role, User, UserOutlet
from inspect_app.auth.services import create_user
from inspect_app.checklists.definition import SEVERITY_DAYS
from inspect_app.db import migrate
from inspect_app.demo_national import COLUMNS, PROVINCES, Size, load_national
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit
from inspect_app.rectifications import services as rect
from inspect_app.rectifications.models import LineStats, LineStatus, RectificationLine
from inspect_app.rectifications.stats import rebuild, totals_from_lines
from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer, Visit
from tests.conftest import POSTGRES, Client

TINY = Size(provinces=2, cities=4, counties=8, outlets=160, visits=3000, lines=7500, complaints=200)
#: 02:00 on 2 December in Shanghai: UTC and the outlets' calendar disagree on the date.
NOW = "2026-12-01T18:00:00Z"


@pytest.fixture(scope="module")
def pg_base():
    """The suite's PostgreSQL server when it runs on one, else a throwaway one for this module:
    the national generator is PostgreSQL only, whatever database the suite runs on."""
    if POSTGRES:
        yield None  # the postgres_server fixture's, asked for below
        return
    from tests.pg import TempPostgres

    server = TempPostgres()
    base = server.start()
    try:
        yield base
    finally:
        server.stop()


@pytest.fixture(scope="module")
def national(pg_base, request, tmp_path_factory):
    """Loaded once for the module, with the clock pinned at ``NOW`` while the module runs (the
    tests only read, or roll back what they write)."""
    base = pg_base or request.getfixturevalue("postgres_server")
    tmp_path = tmp_path_factory.mktemp("national")
    name = f"nat_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    migrate(f"{base}/{name}")
    traveller = time_machine.travel(dt.datetime.fromisoformat(NOW.replace("Z", "+00:00")), tick=False)
    traveller.start()
    app = create_app({"DATABASE_URL": f"{base}/{name}", "TESTING": True, "SECRET_KEY": "test-secret",
                      "INSTANCE_PATH": str(tmp_path / "instance"), "MEDIA_ROOT": str(tmp_path / "media"),
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    engine = app.extensions["db_engine"]
    with app.test_request_context(), Session(engine) as session:
        demo.load_demo(session)  # as the CLI does: the national tree goes on from the demo's 浙江
        session.commit()
        before = _indexes(session)
        messages = []
        counts = load_national(session, size=TINY, echo=messages.append)
        rebuild(session)
        session.commit()
    yield app, counts, before, messages
    traveller.stop()
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _indexes(session: Session) -> set[tuple[str, str]]:
    rows = session.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")).all()
    constraints = session.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace")).all()
    return {tuple(r) for r in rows} | {tuple(r) for r in constraints}


def test_the_national_tree_people_and_lines(national):
    app, counts, before, messages = national
    engine = app.extensions["db_engine"]
    with Session(engine) as s:
        # indexes and constraints as the migrations made them, after being dropped for the load
        assert _indexes(s) == before
        assert any("dropped" in m for m in messages)
        by_level = dict(s.execute(select(Unit.level, sa.func.count()).group_by(Unit.level)).all())
        # the demo's 浙江 (3 cities, 8 counties) and 河南 new; 浙江 goes on with 3304…
        assert by_level == {"province": 2, "city": 3 + 4, "county": 8 + 8}
        codes = set(s.exec(select(Unit.code)).all())
        assert {PROVINCES[0][0], "4101", "410101", "3304"} <= codes
        assert s.exec(select(sa.func.count()).select_from(Outlet)).one() == 60 + 160
        county = s.exec(select(Unit).where(Unit.code == "410101")).one()
        assert 18 <= s.exec(select(sa.func.count()).select_from(Outlet).where(Outlet.unit_id == county.id)).one() <= 22
        sizes = s.execute(select(sa.func.count()).select_from(Outlet).join(Unit, Unit.id == Outlet.unit_id)
                          .where(Unit.code.startswith("41")).group_by(Outlet.unit_id)).scalars().all()
        assert min(sizes) >= 12 and max(sizes) <= 24 and len(set(sizes)) > 1
        # a manager per unit, named by its code; an inspector per city; a chief per new outlet
        usernames = set(s.exec(select(User.username)).all())
        assert {f"mgr{code}" for code in codes} <= usernames
        managers = s.exec(select(User).where(User.username.in_(["mgr41", "mgr4101", "mgr410101"]))).all()
        assert {u.role for u in managers} == {Role.manager} and len(managers) == 3
        assert {"insp4101", "insp3304", "admin"} <= usernames
        new_outlets = s.exec(select(Outlet.id).join(Unit, Unit.id == Outlet.unit_id).where(Unit.path.like(
            s.exec(select(Unit.path).where(Unit.code == "41")).one() + "%"))).all()
        chiefs = s.execute(select(UserOutlet.outlet_id, sa.func.count()).where(UserOutlet.outlet_id.in_(new_outlets))
                           .group_by(UserOutlet.outlet_id)).all()
        assert len(chiefs) == len(new_outlets) and {n for _o, n in chiefs} == {1}
        # visits, lines in every state, about as many as asked
        assert counts["visit"] == TINY.visits
        assert abs(counts["rectification_line"] - TINY.lines) < TINY.lines * 0.1
        statuses = set(s.exec(select(RectificationLine.status).distinct()).all())
        assert statuses == set(LineStatus)
        assert set(s.exec(select(Visit.kind).distinct()).all()) >= {"open", "secret", "star", "etiquette", "fives"}
        # 签收 is per notice: all its lines acknowledged with it, or all still issued
        mixed = s.execute(sa.text(
            "SELECT count(*) FROM rectification_line l JOIN rectification_notice n ON n.id = l.notice_id "
            "WHERE (n.acknowledged_at IS NULL) <> (l.status = 'issued') "
            "OR l.acknowledged_at IS DISTINCT FROM n.acknowledged_at")).scalar()
        assert mixed == 0
        unacknowledged = s.execute(sa.text("SELECT count(*) FROM rectification_notice WHERE acknowledged_at IS NULL")).scalar()
        assert 0 < unacknowledged < counts["rectification_notice"] / 10


def test_deadlines_are_the_outlets_shanghai_days(national):
    app, *_ = national
    with Session(app.extensions["db_engine"]) as s, app.test_request_context():
        rows = s.execute(select(RectificationLine, Visit.kind, Outlet).join(Visit, Visit.id == RectificationLine.visit_id)
                         .join(Outlet, Outlet.id == RectificationLine.outlet_id)
                         .where(Outlet.code.startswith("41"))).all()
        assert len(rows) > 1000
        shifted = 0
        for line, kind, outlet in rows:
            assert outlet.timezone == "Asia/Shanghai"
            # the app's own rule: N days after the local day of issue, a secret visit's at least a working day
            assert line.deadline_date == rect.default_deadline(line.severity, line.issued_at, outlet,
                                                                secret=kind == "secret"), line.id
            assert line.deadline_at == rect.deadline_instant(line.deadline_date, "Asia/Shanghai")
            local = clock.local_date(line.issued_at, "Asia/Shanghai")
            shifted += local != line.issued_at.astimezone(dt.timezone.utc).date()
            assert line.deadline_date >= local + dt.timedelta(days=SEVERITY_DAYS[line.severity])
            for later, earlier in ((line.acknowledged_at, line.issued_at), (line.answered_at, line.acknowledged_at),
                                   (line.closed_at, line.acknowledged_at)):
                assert later is None or (earlier is not None and later >= earlier), line.id
            assert max(filter(None, (line.acknowledged_at, line.answered_at, line.closed_at)),
                       default=line.issued_at) <= clock.now()
        assert shifted, "no line issued where the UTC date and Shanghai's differ: the check above proves little"
        now = clock.now()
        overdue = s.exec(select(sa.func.count()).select_from(RectificationLine).where(
            RectificationLine.status.in_(["issued", "acknowledged", "returned"]), RectificationLine.deadline_at < now)).one()
        assert overdue > 0
        # answers for the last 90 days' visits, and only for those
        cut = now - dt.timedelta(days=TINY.answer_days)
        answered = set(s.exec(select(Answer.visit_id).distinct()).all())
        recent = set(s.exec(select(Visit.id).join(Outlet, Outlet.id == Visit.outlet_id).where(
            Visit.released_at >= cut, Outlet.code.startswith("41"))).all())
        assert recent and recent <= answered
        assert not s.exec(select(Visit.id).where(Visit.id.in_(answered), Visit.released_at < cut)).first()


def test_running_totals_by_sql_match_the_python_ones(national):
    app, *_ = national
    with Session(app.extensions["db_engine"]) as s:
        stored = {(r.unit_id, r.month, r.checklist_kind, r.severity): r for r in s.exec(select(LineStats)).all()}
        computed = totals_from_lines(s)
        assert len(stored) == len(computed) > 50
        for row in computed:
            got = stored[(row["unit_id"], row["month"], row["checklist_kind"], row["severity"])]
            for name in ("issued", "acknowledged", "answered", "closed", "withdrawn", "extended"):
                assert getattr(got, name) == row[name], name
            assert got.close_seconds == pytest.approx(row["close_seconds"])


def test_sequences_continue_after_the_load(national):
    app, *_ = national
    engine = app.extensions["db_engine"]
    with Session(engine) as s:
        for table in COLUMNS:
            if table == "user_outlet":
                continue
            top = s.execute(sa.text(f'SELECT max(id) FROM "{table}"')).scalar()
            following = s.execute(sa.text(f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id'))")).scalar()
            assert following > top, table
        s.rollback()
    with Session(engine) as s, app.test_request_context():  # and the app's own inserts work
        county = s.exec(select(Unit).where(Unit.code == "410101")).one()
        unit = org.create_unit(s, actor=None, code="41019901", name="新开发区", parent=s.get(Unit, county.parent_id))
        outlet = org.save_outlet(s, actor=None, outlet=None, code="410101999", name="新网点", address="新路1号",
                                 lat=30.1, lon=113.1, unit_id=unit.id, timezone="Asia/Shanghai")
        inspector = s.exec(select(User).where(User.username == "insp4101")).one()
        visit = visits.start_adhoc_visit(s, actor=inspector, outlet=outlet, checklist_code="open_inspection")
        person = create_user(s, actor=None, username="newcomer", display_name="新人", password="demo-2026-x",
                             role=Role.inspector, unit_id=unit.id)
        s.flush()
        assert visit.id > TINY.visits and person.id > 100 and outlet.id > 60 + TINY.outlets
        s.rollback()  # the module's other tests see the data as loaded


@pytest.mark.parametrize("username", ["mgr41", "mgr4101", "mgr410101", "admin"])
def test_manager_pages_answer_on_the_national_data(national, username):
    app, *_ = national
    client = Client(app.test_client())
    response = client.login(username, "demo-2026")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    month = (clock.today("Asia/Shanghai").replace(day=1) - dt.timedelta(days=1)).replace(day=1).isoformat()
    for url in ["/board", "/board/lines?state=overdue", "/stars", "/home", f"/bulletins?kind=month&date={month}",
                f"/board?from={(clock.today('Asia/Shanghai') - dt.timedelta(days=90)).isoformat()}"]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.skipif(POSTGRES, reason="the refusal is SQLite's")
def test_national_scale_on_sqlite_refuses_cleanly(app):
    result = app.test_cli_runner().invoke(args=["demo", "--scale", "national"])
    assert result.exit_code != 0
    assert "needs PostgreSQL" in result.output and "需要 PostgreSQL" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    with Session(app.extensions["db_engine"]) as s:  # nothing written, not even the small demo
        assert s.exec(select(sa.func.count()).select_from(Unit)).one() == 0
        assert s.exec(select(sa.func.count()).select_from(User)).one() == 0
