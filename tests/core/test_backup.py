"""Backup and restore of the embedded setup, taken while the app keeps writing."""
from __future__ import annotations

import os
import threading

import pytest
from sqlmodel import Session, select

from inspect_app import backup, create_app
from inspect_app.audit.models import AuditEvent
from inspect_app.evidence.models import Photo

pytestmark = pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "postgres",
                                reason="backup/restore is for the embedded SQLite setup; PostgreSQL uses pg_dump")


def test_backup_while_writing_then_restore(app, tmp_path, people, org_tree, client_as):
    from sqlmodel import Session as S

    from tests.visit_helpers import release_mini_visit

    with S(app.extensions["db_engine"]) as db:
        release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"A-01": dict(result="fail", note="未着工装")})
    stop = threading.Event()

    def keep_writing():  # the app does not pause for a backup
        admin = client_as(people["admin"])
        n = 0
        while not stop.is_set():
            admin.post("/admin/units", {"parent_id": str(org_tree["xihu"].id), "code": f"X{n}", "name": "x"})
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b.tar.gz")])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    target = tmp_path / "restored"
    fresh = create_app({"DATABASE_URL": f"sqlite:///{target / 'inspect.db'}", "INSTANCE_PATH": str(target),
                        "MEDIA_ROOT": str(target / "media"), "SECRET_KEY": "x", "CHECKLIST_DIR": app.config["CHECKLIST_DIR"]})
    fresh.extensions["db_engine"].dispose()
    out = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "b.tar.gz")])
    assert out.exit_code == 0, out.output
    with Session(fresh.extensions["db_engine"]) as db:
        photos = db.exec(select(Photo)).all()
        assert photos and all((target / "media" / p.storage_key / "display.jpg").exists() for p in photos)
        assert db.exec(select(AuditEvent)).first() is not None
    again = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "b.tar.gz")])
    assert again.exit_code != 0 and "--force" in again.output


def test_restore_refuses_a_foreign_archive(app, tmp_path):
    import tarfile

    bad = tmp_path / "x.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        (tmp_path / "hello.txt").write_text("hi")
        tar.add(tmp_path / "hello.txt", arcname="hello.txt")
    with pytest.raises(ValueError, match="not a backup"):
        backup.restore(archive=bad, database_url=f"sqlite:///{tmp_path / 'new.db'}", media_root=str(tmp_path / "m"))
