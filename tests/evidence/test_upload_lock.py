"""A photo is decoded, copied and written while another connection holds SQLite's write lock: the
slow part of an upload waits for no one, and no one waits for it (only its row does)."""
from __future__ import annotations

import io
import os
import sqlite3
import threading
import time

import pytest
from sqlmodel import select

from inspect_app.evidence.models import Photo
from inspect_app.visits import services as visits
from tests import images
from tests.visit_helpers import checked_in_visit

pytestmark = pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "postgres", reason="SQLite's write lock")


def test_the_photo_is_made_before_the_write_lock_is_taken(app, db, org_tree, people, client_as, database_url, tmp_path):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    item = visits.checklist_of(db, visit).items[0].code
    inspector = client_as(people["inspector"])
    token = inspector.csrf_token()
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # someone else is writing, and takes their time
    media = tmp_path / "media"
    answer = {}

    def upload():
        answer["response"] = inspector.c.post(
            f"/api/visits/{visit.id}/photos", headers={"X-CSRFToken": token},
            data={"item_code": item, "client_id": "lock-1", "file": (io.BytesIO(images.jpeg((2400, 1800))), "p.jpg")})

    worker = threading.Thread(target=upload)
    worker.start()
    deadline = time.monotonic() + 20
    made = []
    while time.monotonic() < deadline and len(made) < 3:
        made = [p for p in media.rglob("*") if p.is_file() and not p.name.endswith(".tmp")]
        time.sleep(0.05)
    assert len(made) == 3, "the photo waited for the write lock before it was worked on"
    assert "response" not in answer  # only its row waits
    holder.execute("COMMIT")
    holder.close()
    worker.join(timeout=30)
    assert answer["response"].status_code == 201
    assert len(db.exec(select(Photo)).all()) == 1
