"""The role guides: every screenshot they show is one the script makes, every page's help link
opens a section the guide has, the tour comes once and comes back when asked, the system page."""
from __future__ import annotations

import functools
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from inspect_app.auth.models import Role
from inspect_app.guides import services
from inspect_app.guides.content import COMMON, GUIDES, HELP, ROLE_GUIDE, TOURS, help_target
from inspect_app.guides.models import TourSeen
from inspect_app.jobs.models import Job

ROOT = Path(__file__).resolve().parents[2]
#: ``![…](images/x.png)`` in a guide, ``<img src="docs/images/x.png">`` in the README
IMAGE_REF = re.compile(r"""(?:!\[[^\]]*\]\(|src=")(?:docs/)?images/([^)\s"]+)""")


@functools.cache
def script():
    spec = importlib.util.spec_from_file_location("guide_screenshots", ROOT / "scripts" / "guide_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)  # declarations only: the browser starts in main()
    return module


def referenced_images() -> dict[str, set[str]]:
    files = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    return {str(f.relative_to(ROOT)): set(IMAGE_REF.findall(f.read_text("utf-8"))) for f in files}


def test_every_screenshot_a_guide_shows_is_made_by_the_script():
    made = script().shot_names()
    refs = referenced_images()
    missing = {name: sorted(images - made) for name, images in refs.items() if images - made}
    assert not missing, f"guides refer to screenshots the script no longer makes: {missing}"
    assert all(refs[f"docs/{slug}.md"] for slug in GUIDES), "every role guide shows the app"
    assert len(refs["README.md"]) >= 2
    unused = made - set().union(*refs.values())
    assert not unused, f"the script makes screenshots no guide shows: {sorted(unused)}"


def test_the_check_fails_on_a_screenshot_nobody_makes(tmp_path):
    text = "![x](images/inspector-home.png) ![y](images/gone-page.png)"
    assert set(IMAGE_REF.findall(text)) - script().shot_names() == {"gone-page.png"}


def test_every_screenshot_the_script_makes_is_committed_small():
    folder = ROOT / "docs" / "images"
    for name in script().shot_names():
        path = folder / name
        assert path.is_file(), f"{name}: run scripts/guide_screenshots.py and commit docs/images"
        with path.open("rb") as f:
            header = f.read(24)
        assert header[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(header[16:20], "big") == 360, name
    assert sum(p.stat().st_size for p in folder.glob("*.png")) < 5_000_000


def test_every_help_target_and_tour_step_is_a_section_of_its_guide():
    anchors = {slug: services.render_guide(slug).anchors for slug in GUIDES}
    for role, table in HELP.items():
        for endpoint, (guide, anchor) in {**COMMON, **table}.items():
            guide = ROLE_GUIDE[role] if guide == "{own}" else guide
            assert anchor in anchors[guide], f"{role} {endpoint} → {guide}#{anchor}: no such section"
    for role, steps in TOURS.items():
        assert 3 <= len(steps) <= 5, role
        for step in steps:
            assert step.anchor in anchors[ROLE_GUIDE[role]], f"{role} tour → #{step.anchor}"
    assert set(ROLE_GUIDE) == set(Role) and set(TOURS) == set(Role)


def test_every_page_of_the_app_has_help(app):
    """Crawl the URL map: whatever the page, each role's help link lands in an existing guide."""
    anchors = {slug: services.render_guide(slug).anchors for slug in GUIDES}
    for rule in app.url_map.iter_rules():
        for role in Role:
            guide, anchor = help_target(role, rule.endpoint)
            assert guide in GUIDES and (anchor is None or anchor in anchors[guide]), (role, rule.endpoint)
    assert help_target(None, "auth.login") == ("index", None)


@pytest.mark.parametrize("user, path, target", [
    ("inspector", "/home", "/help/inspector#today"),
    ("inspector", "/visits/new", "/help/inspector#adhoc"),
    ("shopper", "/home", "/help/shopper#today"),
    ("reviewer", "/review", "/help/reviewer#queue"),
    ("chief", "/notices", "/help/branch-chief#notice"),
    ("manager", "/board", "/help/manager#board"),
    ("manager", "/schedule", "/help/manager#schedule"),
    ("handler", "/complaints/new", "/help/complaint-handler#new"),
    ("admin", "/admin/users", "/help/admin#accounts"),
    ("admin", "/admin/config", "/help/quality-office#config"),
    ("admin", "/admin/system", "/help/admin#system"),
    ("chief", "/account/password", "/help/branch-chief#account"),
])
def test_help_link_opens_the_section_for_the_page_and_role(client_as, people, user, path, target):
    page = client_as(people[user]).get(path)
    assert page.status_code == 200
    assert re.search(rf'<a class="help-link" href="{re.escape(target)}" data-help', page.get_data(as_text=True))
    slug, anchor = target[len("/help/"):].split("#")
    guide = client_as(people[user]).get(f"/help/{slug}").get_data(as_text=True)
    assert f'id="{anchor}"' in guide


def test_login_page_helps_too(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'class="help-link" href="/help"' in page
    index = client.get("/help")
    html = index.get_data(as_text=True)
    assert index.status_code == 200 and 'href="/help/inspector"' in html and 'src="/help/images/' in html


def test_guide_pages_render_markdown_with_their_screenshots(client, people, client_as):
    for slug in GUIDES:
        page = client.get(f"/help/{slug}")
        assert page.status_code == 200, slug
        html = page.get_data(as_text=True)
        assert "<h2 id=" in html and 'src="/help/images/' in html and '<p class="en">' in html
        assert "{: .en}" not in html and ".md" not in html.split("<article", 1)[1]
    assert 'href="/help/quality-office"' in client.get("/help/admin").get_data(as_text=True)  # admin.md → in the app
    first = re.search(r'src="/help/images/([^"]+)"', client.get("/help/inspector").get_data(as_text=True)).group(1)
    image = client.get(f"/help/images/{first}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data[:4] == b"\x89PNG"
    for bad in ("/help/images/..%2Fadmin.md", "/help/images/admin.md", "/help/images/nope.png", "/help/nope",
                "/help/..%2Fpyproject"):
        assert client.get(bad).status_code == 404, bad


def test_tour_comes_once_and_comes_back_when_asked(app, db, client_as, people):
    inspector = people["inspector"]
    client = client_as(inspector)
    home = client.get("/home").get_data(as_text=True)
    assert "data-tour " in home or "data-tour>" in home
    assert len(re.findall(r'class="tour-step"', home)) == len(TOURS[Role.inspector])
    assert 'href="/help/inspector#checkin"' in home

    refused = client.post("/help/tour", {}, csrf=False)
    assert refused.status_code == 400
    assert db.exec(select(TourSeen)).all() == []

    done = client.post("/help/tour", {"skip": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/home")
    seen = db.exec(select(TourSeen)).one()
    assert (seen.user_id, seen.role, seen.skipped) == (inspector.id, "inspector", True)
    home = client.get("/home").get_data(as_text=True)
    assert "data-tour-step" not in home and 'href="/home?tour=1" data-tour-reopen' in home

    again = client.get("/home?tour=1").get_data(as_text=True)
    assert "data-tour-step" in again
    client.post("/help/tour", {})
    assert db.exec(select(TourSeen)).one().skipped is False

    other = client_as(people["manager"]).get("/home").get_data(as_text=True)
    assert "data-tour-step" in other  # seen-state is per person


def test_tour_post_needs_login(client):
    response = client.post("/help/tour", {})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_system_page_for_admins_only(app, client_as, people):
    for role in ("manager", "inspector", "chief", "handler", "reviewer"):
        assert client_as(people[role]).get("/admin/system").status_code == 403
    page = client_as(people["admin"]).get("/admin/system").get_data(as_text=True)
    assert re.search(r'data-fact="version">\d+\.\d+', page)
    assert "SQLite" in page or "PostgreSQL" in page
    assert "test-pass" not in page and ":password@" not in page
    assert re.search(r'data-fact="backup">\s*无', page)
    jobs = re.search(r'data-fact="jobs">(.*?)</dd>', page, re.S).group(1)
    assert "空" in jobs and 'href="/admin/jobs' in jobs
    with Session(app.extensions["db_engine"]) as db:
        for n, status in enumerate(("queued", "queued", "dead")):
            db.add(Job(name="sweep", key=f"system-page-{n}", status=status))
        db.commit()
    page = client_as(people["admin"]).get("/admin/system").get_data(as_text=True)
    jobs = re.search(r'data-fact="jobs">(.*?)</dd>', page, re.S).group(1)
    assert re.search(r"等待中\s*2", jobs) and re.search(r"已失败\(不再重试\)\s*1", jobs) and "空" not in jobs
    folder = Path(app.instance_path) / "backups"
    folder.mkdir(parents=True)
    (folder / "inspect-20261201-020000.tar.gz").write_bytes(b"x")
    page = client_as(people["admin"]).get("/admin/system").get_data(as_text=True)
    assert not re.search(r'data-fact="backup">\s*无', page)


def test_database_label_hides_the_password():
    label = services.database_label("postgresql+psycopg://inspect:s3cret@db.example/inspect")
    assert "s3cret" not in label and "db.example" in label
    assert services.database_label("sqlite:////srv/inspect/instance/inspect.db") == \
        "SQLite · /srv/inspect/instance/inspect.db"
