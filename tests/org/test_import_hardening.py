"""CSV imports that hold up: encodings named, lengths kept, look-alike codes refused, quotes
reported where they break, and the write lock taken a batch at a time."""
from __future__ import annotations

import io
import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event
from sqlmodel import select

from inspect_app.audit.models import AuditEvent
from inspect_app.auth.models import User
from inspect_app.csv_import import CheckedRow, ImportFailed, ImportResult, run_import
from inspect_app.errors import DomainError
from inspect_app.org.models import Outlet, Unit, Window

SQLITE_ONLY = pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "postgres", reason="SQLite's write lock")


def upload(client, url, data: bytes):
    return client.post(url, {"file": (io.BytesIO(data), "data.csv")}, content_type="multipart/form-data")


def outlets(db, prefix="3301069"):
    return db.exec(select(Outlet).where(Outlet.code.startswith(prefix))).all()


def test_a_shift_jis_file_is_refused_by_name_and_short_gb18030_still_read(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    japanese = "code,name,unit_code\n330106901,東京駅前郵便局とうきょう,330106\n".encode("shift_jis")
    text = upload(admin, "/admin/outlets/import", japanese).get_data(as_text=True)
    assert "Shift_JIS" in text and "既不是 UTF-8 也不是 GB18030" in text
    assert not outlets(db)
    # A one-line GB18030 file is ambiguous to a detector (it guesses EUC-KR); its characters are
    # everyday Chinese, so it is read as what Chinese Excel writes.
    chinese = "code,name,unit_code\n330106902,杭州西湖网点,330106\n".encode("gb18030")
    assert upload(admin, "/admin/outlets/import", chinese).status_code == 302
    assert [o.name for o in outlets(db)] == ["杭州西湖网点"]


def test_lengths_are_kept_on_every_engine(client_as, people, org_tree, db):
    admin = client_as(people["admin"])
    rows = (f"code,name,unit_code,windows\n{'9' * 500},长编码网点,330106,\n330106903,{'名' * 10_000},330106,\n"
            f"330106904,窗口号太长,330106,{'1' * 40}\n")
    text = upload(admin, "/admin/outlets/import", rows.encode()).get_data(as_text=True)
    assert "第 2 行:网点编码最多 32 个字符（现为 500 个）" in text
    assert "第 3 行:网点名称最多 120 个字符（现为 10000 个）" in text
    assert "第 4 行:窗口号最多 16 个字符（现为 40 个）" in text
    assert not db.exec(select(Outlet).where(Outlet.code.startswith("99999"))).all() and not outlets(db)
    users = ("username,display_name,role,unit_code,outlet_codes,code_name,phone,password\n"
             f"{'a' * 300},长用户名,inspector,3301,,,,Start-2026-x\n")
    text = upload(admin, "/admin/users/import", users.encode()).get_data(as_text=True)
    assert "第 2 行:用户名最多 64 个字符（现为 300 个）" in text
    assert not db.exec(select(User).where(User.username.startswith("aaa"))).all()


def test_no_table_stores_text_longer_than_its_column(app, db, org_tree):
    """The net under the services: whatever the caller, a flush with overlong text is refused."""
    with app.test_request_context():
        db.add(Window(outlet_id=org_tree["xihu1"].id, number="7", name="长" * 61))
        with pytest.raises(DomainError, match="最多 60 个字符"):
            db.flush()
    db.rollback()
    assert not db.exec(select(Window).where(Window.number == "7")).all()


def test_look_alike_usernames_and_codes_are_refused_or_folded(client_as, people, org_tree, db, client):
    admin = client_as(people["admin"])
    header = "username,display_name,role,unit_code,outlet_codes,code_name,phone,password\n"
    hidden = header + "insp\u200bector,假冒,inspector,3301,,,,Start-2026-x\n"
    text = upload(admin, "/admin/users/import", hidden.encode()).get_data(as_text=True)
    assert "第 2 行:用户名含有不可见字符、控制字符或空格（U+200B）" in text
    # Full-width letters are the same name: the existing account is updated, not doubled.
    wide = header + "ｉｎｓｐｅｃｔｏｒ,巡检员（改名）,inspector,3301,,,,\n"
    assert upload(admin, "/admin/users/import", wide.encode()).status_code == 302
    same = db.exec(select(User).where(User.username.contains("nspector"))).all()
    assert [u.username for u in same] == ["inspector"] and same[0].display_name == "巡检员（改名）"
    assert client.login("ＩＮＳＰＥＣＴＯＲ").status_code == 302  # typed on a full-width keyboard
    codes = "code,name,unit_code,windows\n330106\u2060905,隐形字符网点,330106,\n330106906,窗口有空格,330106,1 2\n"
    text = upload(admin, "/admin/outlets/import", codes.encode()).get_data(as_text=True)
    assert "第 2 行:网点编码含有不可见字符、控制字符或空格（U+2060）" in text
    assert "第 3 行:窗口号含有不可见字符、控制字符或空格（U+0020）" in text
    assert not outlets(db, "330106\u2060") and not outlets(db)


@pytest.mark.parametrize("body, line, words", [
    ('code,name,unit_code\n330106907,"西湖网点,330106\n330106908,东湖网点,330106\n', 2, "没有结束"),
    ('code,name,unit_code\n330106907,西湖网点,330106\n330106908,"东湖"网点,330106\n', 3, "结束引号"),
])
def test_an_unbalanced_quote_is_reported_at_its_line(client_as, people, org_tree, db, body, line, words):
    text = upload(client_as(people["admin"]), "/admin/outlets/import", body.encode()).get_data(as_text=True)
    assert f"第 {line} 行:" in text and words in text
    assert "不存在" not in text  # not "unknown unit code", which is where the swallowed rest used to land
    assert not outlets(db)


@SQLITE_ONLY
def test_the_check_reads_without_the_write_lock(app, client_as, people, org_tree, database_url):
    """A file with errors is answered while someone else holds the write lock: checking takes none."""
    admin = client_as(people["admin"])
    token = admin.csrf_token()
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    answer = {}

    def post():
        answer["response"] = admin.c.post("/admin/outlets/import", headers={"X-CSRFToken": token},
                                          data={"file": (io.BytesIO(b"code,name,unit_code\n1,,NOPE\n"), "a.csv")})

    worker = threading.Thread(target=post)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=8)
    waited = time.monotonic() - started
    holder.execute("COMMIT")
    holder.close()
    worker.join(timeout=40)
    assert waited < 8, "the import waited for the write lock before it had anything to write"
    assert "单位编码 NOPE 不存在" in answer["response"].get_data(as_text=True)


@SQLITE_ONLY
def test_a_large_import_writes_in_batches(app, client_as, people, org_tree, db):
    """1,200 rows are three write transactions of 500, 500 and 200, so others' saves get in between."""
    admin = client_as(people["admin"])
    admin.get("/home")  # the first request records the checklist files as versions: not the import's
    rows = "".join(f"33010{n:04d},网点{n},330106,1;2\n" for n in range(1200))
    locks = []

    def count(conn, cursor, statement, *args):
        if statement.startswith("BEGIN IMMEDIATE"):
            locks.append(time.monotonic())

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = upload(admin, "/admin/outlets/import", f"code,name,unit_code,windows\n{rows}".encode())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 302
    assert len(locks) == 3
    assert len(db.exec(select(Outlet).where(Outlet.code.startswith("33010"), Outlet.code.endswith("99"))).all()) == 12
    last = db.exec(select(Outlet).where(Outlet.code == "330101199")).one()
    assert sorted(w.number for w in db.exec(select(Window).where(Window.outlet_id == last.id)).all()) == ["1", "2"]
    audit = db.exec(select(AuditEvent).where(AuditEvent.object_id == last.id, AuditEvent.object_type == "outlet")).all()
    assert [(e.action, e.actor_name, e.after["name"]) for e in audit] == [("outlet.created", "admin", "网点1199")]
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "window.created")).all()) >= 2400


class _UnitsInBatches:
    """Writes one unit per row; the second batch is refused as if someone had taken its codes."""

    batch_rows = 2

    def check(self, session, *, actor, data):
        return [CheckedRow(line, code) for line, code in enumerate(data.decode().split(), start=2)]

    def write(self, session, *, actor, rows):
        if rows[0].values == "B3":
            raise DomainError("单位编码 B3 已被使用。")
        for row in rows:
            session.add(Unit(code=row.values, name=row.values, level="province", path="/"))
        session.flush()
        return ImportResult(created=len(rows))


def test_a_batch_refused_after_the_check_keeps_those_before_and_says_so(app, db):
    with app.test_request_context():
        with pytest.raises(ImportFailed) as failed:
            run_import(db, _UnitsInBatches(), actor=None, data=b"B1 B2 B3 B4")
    message = failed.value.errors[0]
    assert "第 4–5 行" in message and "单位编码 B3 已被使用" in message and "新增 2" in message
    assert failed.value.result.created == 2
    assert sorted(u.code for u in db.exec(select(Unit).where(Unit.code.startswith("B"))).all()) == ["B1", "B2"]
