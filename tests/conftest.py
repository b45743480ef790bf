"""Fixtures: a migrated database per test (copied from a template), factories, logged-in clients."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import Session
from werkzeug.serving import make_server

from inspect_app import create_app
from inspect_app.auth.models import Role, User
from inspect_app.auth.services import SESSION_KEY, open_session
from inspect_app.auth.services import create_user as _create_user
from inspect_app.db import migrate
from inspect_app.org import services as org
from inspect_app.org.models import Outlet, Unit

PASSWORD = "test-pass-1"
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


#: ``TEST_DATABASE=postgres`` runs the whole suite against a throwaway PostgreSQL server.
POSTGRES = os.environ.get("TEST_DATABASE") == "postgres"


# --- the clock ---------------------------------------------------------------------------------

def pytest_addoption(parser):
    parser.addoption(
        "--clock", default=os.environ.get("TEST_CLOCK") or None,
        help="run the whole suite with the clock pinned (ticking on) at this instant: an ISO time "
             "('2026-12-01T16:30:00Z'), or a UTC time of day ('16:30') taken on today's UTC date")


def parse_instant(value: str) -> dt.datetime:
    """'2026-12-01T16:30:00Z' / '2026-12-01 16:30+08:00' / '16:30' (UTC, today's UTC date)."""
    value = value.strip()
    if len(value) <= 8 and ":" in value:  # a time of day in UTC
        hours, minutes, *rest = (int(p) for p in value.split(":"))
        today = dt.datetime.now(dt.timezone.utc).date()
        return dt.datetime.combine(today, dt.time(hours, minutes, rest[0] if rest else 0), dt.timezone.utc)
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise pytest.UsageError(f"--clock needs a zone or Z: {value!r}")
    return moment.astimezone(dt.timezone.utc)


def pytest_configure(config):
    config.addinivalue_line("markers", "real_clock: needs the wall clock (not pinned by --clock)")
    pinned = config.getoption("--clock")
    if pinned:
        # Started here, before any fixture or app exists, so that every "now" of the run (the
        # app's clock, file times, cookies) agrees; time ticks on from the pinned instant.
        traveller = time_machine.travel(parse_instant(pinned), tick=True)
        traveller.start()
        config._clock_traveller = traveller


@pytest.fixture(autouse=True)
def _wall_clock_when_marked(request, pytestconfig):
    """A test marked ``real_clock`` (one that starts another process, which time-machine cannot
    reach) runs on the wall clock even under ``--clock``; the pinned clock then goes on from where
    it was, as if it had ticked through the test."""
    traveller = getattr(pytestconfig, "_clock_traveller", None)
    if traveller is None or request.node.get_closest_marker("real_clock") is None:
        yield
        return
    pinned_now = dt.datetime.now(dt.timezone.utc)
    started = time.monotonic()
    traveller.stop()
    try:
        yield
    finally:
        resumed = time_machine.travel(pinned_now + dt.timedelta(seconds=time.monotonic() - started), tick=True)
        resumed.start()
        pytestconfig._clock_traveller = resumed


def pytest_report_header(config):
    pinned = config.getoption("--clock")
    return [f"clock pinned at {parse_instant(pinned).isoformat()} (ticking)"] if pinned else []


class PinnedClock:
    """``clock_at("2026-12-01T16:01:00Z")`` pins the app's clock for the rest of the test;
    ``clock_at.shift(hours=2)`` moves it. Without ``tick`` time stands still."""

    def __init__(self):
        self._traveller = None
        self._coordinates = None

    def __call__(self, when: str | dt.datetime, tick: bool = False) -> dt.datetime:
        moment = parse_instant(when) if isinstance(when, str) else when
        if moment.tzinfo is None:
            raise ValueError("pin the clock with an aware datetime")
        self.stop()
        self._traveller = time_machine.travel(moment, tick=tick)
        self._coordinates = self._traveller.start()
        return moment

    def shift(self, **delta) -> None:
        self._coordinates.shift(dt.timedelta(**delta))

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = None


@pytest.fixture
def clock_at():
    pinned = PinnedClock()
    yield pinned
    pinned.stop()


@pytest.fixture(scope="session")
def postgres_server():
    if not POSTGRES:
        yield None
        return
    from tests.pg import TempPostgres

    server = TempPostgres()
    base = server.start()
    try:
        yield base
    finally:
        server.stop()


def _admin(base: str):
    return sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, postgres_server):
    """A migrated database every test starts from: a file copied (SQLite) or a template database."""
    if POSTGRES:
        admin = _admin(postgres_server)
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE inspect_template")
        admin.dispose()
        migrate(f"{postgres_server}/inspect_template")
        return "inspect_template"
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(template_db, tmp_path, postgres_server):
    if not POSTGRES:
        db_path = tmp_path / "test.db"
        shutil.copy(template_db, db_path)
        yield f"sqlite:///{db_path}"
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = _admin(postgres_server)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template_db}")
    yield f"{postgres_server}/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def checklist_dir(tmp_path) -> Path:
    """The shipped checklists plus the small test sheet ``mini`` (known points, a red line)."""
    folder = tmp_path / "forms"
    folder.mkdir()
    for path in [*(ROOT / "forms").glob("*.toml"), FIXTURES / "mini.toml"]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def redis_url():
    """A Redis server for the queue's tests (started on first use, loopback, a temp folder): always
    when Debian's redis-server is there, which ``make test`` installs; ``TEST_REDIS=1`` makes its
    absence an error instead of a skip."""
    from tests.redis_server import TempRedis, available

    if not available():
        if os.environ.get("TEST_REDIS") == "1":
            raise RuntimeError("TEST_REDIS=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed (make test installs it)")
    server = TempRedis()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def app_config() -> dict:
    """What a test folder adds to the app's test configuration (the queue tests: the broker)."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, checklist_dir, app_config):
    app = create_app({
        "CHECKLIST_DIR": str(checklist_dir),
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "SECRET_KEY": "test-secret",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # a tripwire for a page that queries per row (the month summary, the heaviest page, runs
        # about 62 statements: its sections, and the composite ranking of the month and the one before)
        "QUERY_BUDGET": 80,
        **app_config,
    })
    yield app
    app.extensions["db_engine"].dispose()


class FreshSession(Session):
    """Each query starts from the newest committed state (a held read transaction would keep an
    old WAL snapshot and miss what the requests under test wrote)."""

    _wrote = False

    def _fresh(self) -> None:
        if self.in_transaction() and not self._wrote and not (self.new or self.dirty or self.deleted):
            self.rollback()

    def flush(self, *args, **kwargs):
        if self.new or self.dirty or self.deleted:
            self._wrote = True
        return super().flush(*args, **kwargs)

    def commit(self):
        super().commit()
        self._wrote = False

    def rollback(self):
        super().rollback()
        self._wrote = False

    def exec(self, *args, **kwargs):
        self._fresh()
        return super().exec(*args, **kwargs)

    def get(self, *args, **kwargs):
        self._fresh()
        return super().get(*args, **kwargs)


@pytest.fixture
def db(app):
    """A session for arranging data and checking it afterwards (always sees committed state)."""
    # No app context is pushed here on purpose: one held open would be shared by every request the
    # test client makes (and with it ``g`` and the logged-in user).
    session = FreshSession(app.extensions["db_engine"], expire_on_commit=False)
    yield session
    session.close()


# --- factories (Indico style: fixtures returning callables) ---------------------------------

@pytest.fixture
def create_unit(app, db):
    counter = iter(range(1, 10_000))

    def factory(name: str | None = None, parent: Unit | None = None, code: str | None = None) -> Unit:
        n = next(counter)
        with app.test_request_context():
            unit = org.create_unit(db, actor=None, code=code or f"U{n:04d}", name=name or f"单位{n}", parent=parent)
        db.commit()
        return unit

    return factory


@pytest.fixture
def create_outlet(app, db):
    counter = iter(range(1, 10_000))

    def factory(unit: Unit, code: str | None = None, name: str | None = None, windows: int = 2,
                lat: float | None = 30.26, lon: float | None = 120.13) -> Outlet:
        n = next(counter)
        with app.test_request_context():
            outlet = org.save_outlet(db, actor=None, outlet=None, code=code or f"O{n:05d}", name=name or f"测试网点{n}",
                                     address=f"测试路{n}号", lat=lat, lon=lon, unit_id=unit.id, timezone="Asia/Shanghai")
            for w in range(1, windows + 1):
                org.save_window(db, actor=None, outlet=outlet, window=None, number=str(w), name="综合业务")
        db.commit()
        return outlet

    return factory


@pytest.fixture
def create_user(app, db):
    counter = iter(range(1, 10_000))

    def factory(role: Role | str, unit: Unit | None = None, outlets: list[Outlet] | None = None,
                username: str | None = None, password: str = PASSWORD, **extra) -> User:
        n = next(counter)
        role = Role(role)
        if role == Role.shopper:
            extra.setdefault("code_name", f"暗访员{n:02d}")
        with app.test_request_context():
            user = _create_user(db, actor=None, username=username or f"{role.value}{n}", display_name=f"{role.value}{n}",
                                password=password, role=role, unit_id=unit.id if unit else None,
                                outlet_ids=[o.id for o in outlets or []], **extra)
        db.commit()
        return user

    return factory


@pytest.fixture
def org_tree(create_unit, create_outlet):
    """Province → two cities → a county each, with two outlets per county."""
    province = create_unit("浙江省", code="33")
    hz = create_unit("杭州市", parent=province, code="3301")
    nb = create_unit("宁波市", parent=province, code="3302")
    xihu = create_unit("西湖区", parent=hz, code="330106")
    haishu = create_unit("海曙区", parent=nb, code="330203")
    return {
        "province": province, "hz": hz, "nb": nb, "xihu": xihu, "haishu": haishu,
        "xihu1": create_outlet(xihu, code="330106001", name="西湖区文三路邮政营业所"),
        "xihu2": create_outlet(xihu, code="330106002", name="西湖区古荡邮政支局"),
        "haishu1": create_outlet(haishu, code="330203001", name="海曙区鼓楼邮政营业所"),
    }


@pytest.fixture
def people(org_tree, create_user):
    """One account of each role, plus the look-alikes that must be refused."""
    t = org_tree
    return {
        "admin": create_user(Role.admin, username="admin"),
        "manager": create_user(Role.manager, unit=t["hz"], username="manager"),
        "other_manager": create_user(Role.manager, unit=t["nb"], username="manager.nb"),
        "director": create_user(Role.manager, unit=t["province"], username="director"),
        "inspector": create_user(Role.inspector, unit=t["hz"], username="inspector"),
        "shopper": create_user(Role.shopper, username="shopper", code_name="暗访员A07"),
        "reviewer": create_user(Role.reviewer, unit=t["province"], username="reviewer"),
        "chief": create_user(Role.branch_chief, outlets=[t["xihu1"]], username="chief"),
        "other_chief": create_user(Role.branch_chief, outlets=[t["xihu2"]], username="chief2"),
        "handler": create_user(Role.handler, unit=t["hz"], username="handler"),
        "other_handler": create_user(Role.handler, unit=t["nb"], username="handler.nb"),
    }


# --- clients ---------------------------------------------------------------------------------

class Client:
    """A test client that keeps its CSRF token and posts like a browser form does."""

    def __init__(self, flask_client):
        self.c = flask_client
        self._token = None

    def __getattr__(self, name):
        return getattr(self.c, name)

    def csrf_token(self) -> str:
        if self._token is None:
            page = self.c.get("/login", follow_redirects=True).get_data(as_text=True)
            found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
                r'value="([^"]+)"[^>]*name="csrf_token"', page)
            assert found, "no CSRF token on the page"
            self._token = found.group(1)
        return self._token

    def post(self, url, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf_token())
        return self.c.post(url, data=data, **kwargs)

    def post_json(self, url, payload, csrf=True, **kwargs):
        headers = kwargs.pop("headers", {})
        if csrf:
            headers["X-CSRFToken"] = self.csrf_token()
        return self.c.post(url, json=payload, headers=headers, **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        self._token = None
        response = self.post("/login", {"username": username, "password": password})
        self._token = None  # the session was renewed at login
        return response


@pytest.fixture
def client(app) -> Client:
    return Client(app.test_client())


@pytest.fixture
def client_as(app, db):
    """``client_as(user)`` gives a client already logged in as that user."""

    def factory(user: User) -> Client:
        client = signed_in(app, Client(app.test_client()), user)
        if not (db.new or db.dirty or db.deleted):
            # the device row was written on another connection: a read the test's session began
            # before it would make the test's next write fail on SQLite (a stale snapshot)
            db.rollback()
        return client

    return factory


def signed_in(app, client: Client, user: User) -> Client:
    """The client holds a signed-in device of ``user`` (its row and the cookie), as after a login."""
    with Session(app.extensions["db_engine"]) as db, app.test_request_context():
        key = open_session(db, user=db.get(User, user.id), user_agent="pytest", ip="127.0.0.1")
        db.commit()
    with client.c.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess[SESSION_KEY] = key
    return client


# --- a live server for browser tests ---------------------------------------------------------

@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


class _PinnedBrowser:
    """With ``--clock``, every browser context starts on the app's pinned clock: the phone's
    ``Date`` then agrees with the server's (timers and offline check-ins carry the phone's time)."""

    def __init__(self, browser):
        self._browser = browser

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.clock.install(time=dt.datetime.now(dt.timezone.utc))  # the pinned, ticking clock
        return context


@pytest.fixture(scope="session")
def browser(pytestconfig):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield _PinnedBrowser(b) if pytestconfig.getoption("--clock") else b
        b.close()


@pytest.fixture
def phone(browser, request):
    """A fresh phone-sized browser context and page; a screenshot lands in test-output/ at the end."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    OUTPUT.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(OUTPUT / f"{safe}.png"), full_page=True)
    except Exception:  # the page may be gone when the test failed hard
        pass
    context.close()


def browser_login(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("form button.btn-primary").click()
    page.wait_for_url(re.compile(r".*/home$"))
