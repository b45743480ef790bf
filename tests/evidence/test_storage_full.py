"""A full disk, for real: the media folder on a 300 KB tmpfs. Uploads are refused in words with
507, nothing is left behind, the app logs one line, and the sweep removes what a killed write
left."""
from __future__ import annotations

import datetime as dt
import io
import logging
import os
import subprocess
import uuid

import pytest
from sqlmodel import select

from inspect_app import create_app
from inspect_app.evidence.models import Photo
from inspect_app.evidence.storage import TEMP_SUFFIX, LocalStorage
from inspect_app.visits import services as visits
from tests import images
from tests.conftest import Client, signed_in
from tests.visit_helpers import checked_in_visit


@pytest.fixture
def full_disk(tmp_path):
    mount = tmp_path / "full-media"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_photo_store_refuses_in_words_and_leaves_nothing(app, db, org_tree, people, full_disk, caplog):
    full = create_app({**{k: app.config[k] for k in ("CHECKLIST_DIR", "TESTING", "DATABASE_URL", "INSTANCE_PATH",
                                                     "SECRET_KEY", "PASSWORD_HASH_METHOD", "QUERY_BUDGET")},
                       "MEDIA_ROOT": str(full_disk)})
    visit = checked_in_visit(full, db, people["inspector"], org_tree["xihu1"])
    item = visits.checklist_of(db, visit).items[0].code
    (full_disk / "ballast").write_bytes(os.urandom(250_000))  # the disk is nearly full
    client = signed_in(full, Client(full.test_client()), people["inspector"])
    caplog.set_level(logging.WARNING)
    for attempt in range(3):  # the phone retries
        response = client.c.post(f"/api/visits/{visit.id}/photos",
                                 data={"item_code": item, "client_id": "p1",
                                       "file": (io.BytesIO(images.jpeg((1600, 1200), seed=attempt)), "a.jpg")},
                                 headers={"X-CSRFToken": client.csrf_token()})
        assert response.status_code == 507
        assert "服务器照片存储空间已满" in response.get_json()["error"]
    assert db.exec(select(Photo)).all() == []
    left = [p for p in full_disk.rglob("*") if p.name != "ballast"]
    assert left == []  # no temp files, no empty folders
    full_lines = [r for r in caplog.records if "storage full" in r.getMessage()]
    assert len(full_lines) == 3 and not any(r.exc_info for r in full_lines)  # a line per attempt, no tracebacks
    full.extensions["db_engine"].dispose()


def test_the_sweep_removes_what_killed_writes_left(tmp_path, app):
    storage = LocalStorage(tmp_path / "media")
    folder = tmp_path / "media" / "photos" / "2026" / "12" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    old = folder / f".display.jpg.{uuid.uuid4().hex}{TEMP_SUFFIX}"
    fresh = folder / f".thumb.jpg.{uuid.uuid4().hex}{TEMP_SUFFIX}"
    old.write_bytes(b"half a photo")
    fresh.write_bytes(b"being written now")
    # File times as the app's clock sees them (pinned or not), not as the host wrote them.
    now = dt.datetime.now(dt.timezone.utc)
    two_hours_ago = (now - dt.timedelta(hours=2)).timestamp()
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(fresh, (now.timestamp(), now.timestamp()))
    with app.app_context():
        assert storage.sweep_temp() == 1
    assert not old.exists() and fresh.exists()
    runner = app.test_cli_runner()
    assert "unfinished photo files removed: 0" in runner.invoke(args=["sweep"]).output
