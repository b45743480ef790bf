"""The complaint pages as every role: who opens what, the handler's flow through the forms, bad
input answered in words with nothing written, and the customer's contact details nowhere but in
front of complaint handlers (pages, papers, exports, the audit log)."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from sqlmodel import select

from inspect_app import clock
from inspect_app.complaints import services
from inspect_app.complaints.models import Accountability, Complaint, ComplaintStatus, KeyCustomer
from inspect_app.rectifications.models import RectificationLine, RectificationNotice
from tests.complaints.helpers import PINNED, concluded
from tests.jobs_helpers import fetch

ALL = ["admin", "manager", "other_manager", "director", "inspector", "shopper", "reviewer", "chief", "other_chief",
       "handler", "other_handler"]
SEES_COMPLAINTS = {"admin", "manager", "other_manager", "director", "reviewer", "chief", "other_chief", "handler",
                   "other_handler"}
PAGES = {
    "/complaints": SEES_COMPLAINTS,
    "/complaints/new": {"handler", "other_handler"},
    "/complaints/hotspots": SEES_COMPLAINTS - {"chief", "other_chief"},
    "/callbacks": SEES_COMPLAINTS - {"chief", "other_chief"},
    "/accountability": SEES_COMPLAINTS,
    "/complaints/export.csv": SEES_COMPLAINTS,
}


@pytest.fixture(autouse=True)
def pinned(clock_at):
    return clock_at(PINNED)


@pytest.mark.parametrize("role", ALL)
def test_who_opens_which_complaint_page(role, client_as, people):
    client = client_as(people[role])
    for url, allowed in PAGES.items():
        response = client.get(url)
        assert response.status_code == (200 if role in allowed else 403), f"{role} {url}: {response.status_code}"


#: What a customer's complaint carries in its free text: the name, the phone in two spellings, an ID
#: number, an e-mail address and a landline. No reader but a complaint handler may see any of it.
ACCOUNT = ("客户张三(身份证330106199001011234,电话13812345678,邮箱zhang.san@example.com)反映:"
           "营业员办理汇款时态度生硬,打断客户询问。")


@pytest.fixture
def world(app, db, org_tree, people, staff):
    """A complaint at xihu1 concluded with a line, an evidence photo and an accountability record (its
    texts full of the customer's details), and one at haishu1."""
    from inspect_app.evidence.storage import get_storage
    from tests.secret_helpers import jpeg

    handler = people["handler"]
    with app.test_request_context():
        here = services.register_complaint(
            db, actor=handler, outlet=org_tree["xihu1"], source="hotline", received_at=clock.now() - dt.timedelta(hours=1),
            category="服务态度", account=ACCOUNT, customer_name="张三", customer_phone="13812345678",
            staff_id=staff["clerk"].id)
        services.take(db, actor=handler, complaint=here)
        services.record_contact(db, actor=handler, complaint=here, note="已致电张先生(138 1234 5678)致歉")
        services.add_note(db, actor=handler, complaint=here, text="张三提供身份证330106199001011234复印件;调取录像属实")
        photo, _created = services.add_photo(db, get_storage(), actor=handler, complaint=here, data=jpeg((200, 10, 10)),
                                   client_id=None)
        services.conclude(db, actor=handler, complaint=here, verdict="substantiated", grade=1,
                          reasons="录像证实张三所述属实,已回电13812345678告知", requirements=[
                              "营业员服务规范复训", "向张三当面致歉(联系电话13812345678,zhang.san@example.com)"])
        record_ = services.open_accountability(db, actor=handler, staff=staff["clerk"], complaint=here,
                                               reason="张三(13812345678)投诉属实:服务态度差")
        services.call_back(db, actor=handler, complaint=here, satisfaction="basic",
                           note="张三基本满意,留言请回电0571-86001234")
        there = services.register_complaint(
            db, actor=people["other_handler"], outlet=org_tree["haishu1"], source="phone",
            received_at=clock.now() - dt.timedelta(hours=2), category="时限", account="邮件延误三天",
            customer_name="赵六", customer_phone="13700000000")
        customer = services.add_key_customer(db, actor=handler, outlet=org_tree["xihu1"], name="浙江大学后勤集团",
                                             tier="weekly", contact_name="钱经理", contact_phone="0571-87654321")
    db.commit()
    return {"here": here, "there": there, "record": record_, "customer": customer, "notice": here.notice_id,
            "photo": photo}


def test_objects_out_of_scope_answer_404(world, client_as, people, staff):
    here, there = world["here"], world["there"]
    expectations = {
        f"/complaints/{here.id}": {"admin", "manager", "director", "reviewer", "chief", "handler"},
        f"/complaints/{there.id}": {"admin", "other_manager", "director", "reviewer", "other_handler"},
        f"/accountability/{world['record'].id}": {"admin", "manager", "director", "reviewer", "chief", "handler"},
        f"/staff/{staff['clerk'].id}": {"admin", "manager", "director", "reviewer", "chief", "handler", "inspector"},
        f"/notices/{world['notice']}": {"admin", "manager", "director", "reviewer", "inspector", "chief", "handler"},
    }
    for role in ALL:
        client = client_as(people[role])
        for url, allowed in expectations.items():
            code = client.get(url).status_code
            assert code == (200 if role in allowed else 404), f"{role} {url}: {code}"


def _form_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_handlers_flow_through_the_forms(client_as, people, db, org_tree, staff):
    client = client_as(people["handler"])
    page = client.get("/complaints/new").get_data(as_text=True)
    # the form starts at the outlet's "now": 00:30 on 2 December in Shanghai (16:30 UTC on the 1st)
    assert 'value="2026-12-02T00:30"' in page
    response = client.post("/complaints/new", {
        "outlet_code": "330106001", "source": "hotline", "received_at": "2026-12-02T00:10", "category": "服务态度",
        "account": "营业员办理汇款时态度生硬", "customer_name": "张三丰", "customer_phone": "139 1234 5678",
        "staff_job_number": staff["clerk"].job_number})
    assert response.status_code == 302
    complaint = db.exec(select(Complaint)).one()
    assert complaint.received_at == dt.datetime(2026, 12, 1, 16, 10, tzinfo=dt.timezone.utc)
    assert complaint.staff_id == staff["clerk"].id and complaint.number.startswith("TS202612-")
    url = f"/complaints/{complaint.id}"
    detail = client.get(url).get_data(as_text=True)
    assert "受理(首问负责)" in detail and "张三丰" in detail and "139 1234 5678" in detail
    assert client.post(f"{url}/take", {"version": complaint.row_version}).status_code == 302
    # a second press of the same button (the page still showing the old version) changes nothing
    client.post(f"{url}/take", {"version": "1"})
    flashes = client.get(url).get_data(as_text=True)
    assert "已被受理" in flashes or "刚被他人修改" in flashes
    db.expire_all()
    assert db.get(Complaint, complaint.id).status == ComplaintStatus.handling
    client.post(f"{url}/contact", {"contact_text": "已致电客户致歉"})
    client.post(f"{url}/note", {"note_text": "调取录像,情况属实"})
    response = client.post(f"{url}/conclude", {"verdict": "substantiated", "reasons": "", "grade": "1"})
    assert "请填写" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/conclude", {"verdict": "substantiated", "reasons": "录像属实", "grade": "1",
                                    "requirements": "营业员服务规范复训\n班前会重申规范", "severity": "general",
                                    "version": db.get(Complaint, complaint.id).row_version})
    db.expire_all()
    complaint = db.get(Complaint, complaint.id)
    assert complaint.status == ComplaintStatus.closed and complaint.notice_id
    assert len(db.exec(select(RectificationLine).where(RectificationLine.notice_id == complaint.notice_id)).all()) == 2
    client.post(f"{url}/accountability", {"staff_id": staff["clerk"].id, "reason": "服务态度差"})
    record_ = db.exec(select(Accountability)).one()
    client.post(f"{url}/callback", {"satisfaction": "satisfied", "note": ""})
    db.expire_all()
    assert db.get(Complaint, complaint.id).status == ComplaintStatus.called_back
    manager = client_as(people["manager"])
    manager.post(f"/accountability/{record_.id}/decide", {"grade": "1", "amount": "700"})
    assert "不在标准表内" in manager.get(f"/accountability/{record_.id}").get_data(as_text=True)
    manager.post(f"/accountability/{record_.id}/decide", {"grade": "1", "amount": ""})
    chief = client_as(people["chief"])
    chief.post(f"/accountability/{record_.id}/acknowledge", {})
    db.expire_all()
    record_ = db.get(Accountability, record_.id)
    assert (record_.status, record_.amount) == ("acknowledged", 600)


@pytest.mark.parametrize("field, value, message", [
    ("received_at", "yesterday", "不是有效的日期时间"),
    ("outlet_code", "330203001", "不在您的管辖范围"),
    ("outlet_code", "999", "不在您的管辖范围"),
    ("category", "天气", "类别"),
    ("account", "", "请填写"),
    ("customer_phone", "<script>", "电话号码无效"),
    ("staff_job_number", "NOBODY", "该员工不在"),
    ("received_at", "2026-12-02T09:00", "晚于现在"),
])
def test_bad_registrations_say_why_and_write_nothing(client_as, people, db, field, value, message):
    client = client_as(people["handler"])
    form = {"outlet_code": "330106001", "source": "phone", "received_at": "2026-12-02T00:10", "category": "时限",
            "account": "邮件延误", field: value}
    response = client.post("/complaints/new", form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.exec(select(Complaint)).all() == []


def test_a_form_without_csrf_is_refused(client_as, people, db):
    response = client_as(people["handler"]).post("/complaints/new", {"outlet_code": "330106001"}, csrf=False)
    assert response.status_code == 400 and db.exec(select(Complaint)).all() == []


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist() if name.endswith(".xml"))


def _pdf_text(data: bytes, tmp_path=None) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


SECRETS = ("张三", "张先生", "13812345678", "138 1234 5678", "330106199001011234", "zhang.san@example.com",
           "0571-86001234", "钱经理", "0571-87654321", "87654321")
#: The masked forms of old: a surname and four digits narrow a caller down, they are not shown either.
MASKED = ("张*", "138****5678")


def test_contact_details_reach_no_page_paper_or_export_of_other_roles(app, world, client_as, people, staff, db):
    here = world["here"]
    lines = db.exec(select(RectificationLine).where(RectificationLine.notice_id == world["notice"])).all()
    assert len(lines) == 2
    urls = ["/home", "/complaints", f"/complaints/{here.id}", "/complaints/hotspots", "/complaints/streaks",
            "/callbacks", "/callbacks?all=1", "/accountability", f"/accountability/{world['record'].id}", "/staff",
            f"/staff/{staff['clerk'].id}", f"/notices/{world['notice']}", "/notices", "/board", "/board/lines",
            "/bulletins?kind=month", "/bulletins?kind=week", "/admin/audit", "/notifications",
            f"/outlets/{here.outlet_id}"] + [f"/lines/{line.id}" for line in lines]
    exports = ["/complaints/export", "/accountability/export", "/callbacks/export", "/callbacks/due/export",
               "/complaints/hotspots/export", "/complaints/streaks/export", "/staff/export", "/board/lines/export"]
    photo = world["photo"]
    for role in ("admin", "manager", "director", "reviewer", "chief", "inspector"):
        client = client_as(people[role])
        seen = 0
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 403, 404), f"{role} {url}: {response.status_code}"
            if response.status_code != 200:
                continue
            seen += 1
            text = response.get_data(as_text=True)
            for secret in SECRETS + MASKED:
                assert secret not in text, f"{role} {url} shows {secret}"
        assert seen >= 5, role
        if role != "inspector":
            page = client.get(f"/complaints/{here.id}").get_data(as_text=True)
            assert "仅投诉处理人员可见" in page and "[已隐去]" in page  # said, not silently dropped
            assert "仅投诉处理人员" in page
            assert (f"/photos/{photo.id}/" in page) == (role == "admin")
        exported = 0
        for url in exports:
            for fmt in ("csv", "xlsx"):
                response = client.get(f"{url}.{fmt}")
                assert response.status_code in (200, 403), f"{role} {url}.{fmt}: {response.status_code}"
                exported += response.status_code == 200
                if response.status_code != 200:
                    continue
                text = response.get_data(as_text=True) if fmt == "csv" else _xlsx_text(response.data)
                for secret in SECRETS + MASKED:
                    assert secret not in text, f"{role} {url}.{fmt} carries {secret}"
        assert exported >= {"inspector": 4, "chief": 8}.get(role, 16), f"{role}: {exported} exports"
        for paper in (f"/notices/{world['notice']}/pdf", "/bulletins/pdf?kind=month"):
            response = fetch(app, client, paper)
            if response.status_code == 200:
                text = _pdf_text(response.data)
                assert text.strip(), paper
                for secret in SECRETS:
                    assert secret not in text, f"{role} {paper} prints {secret}"
        # the evidence photo (a waybill, as often as not) is not served to them: as if it did not exist
        for variant in ("thumb", "display", "original"):
            code = client.get(f"/photos/{photo.id}/{variant}").status_code
            assert code == (200 if role == "admin" else 404), f"{role} {variant}: {code}"
    # the complaint's export is there for the others, with its number and without the details
    assert here.number in client_as(people["manager"]).get("/complaints/export.csv").get_data(as_text=True)
    # the printed notice says what the complaint was about, without who complained
    text = _pdf_text(client_as(people["chief"]).get(f"/notices/{world['notice']}/pdf").data)
    assert "营业员办理汇款时态度生硬" in text and "向[已隐去]当面致歉" in text.replace("\n", "")
    # the handler reads and exports them
    handler = client_as(people["handler"])
    page = handler.get(f"/complaints/{here.id}").get_data(as_text=True)
    assert "13812345678" in page and "330106199001011234" in page and "0571-86001234" in page
    assert handler.get(f"/photos/{photo.id}/display").status_code == 200
    assert "0571-87654321" in handler.get("/callbacks?all=1").get_data(as_text=True)
    assert "13812345678" in handler.get("/complaints/export.csv").get_data(as_text=True)
    assert "13812345678" in _xlsx_text(handler.get("/complaints/export.xlsx").data)


def test_the_manager_sees_hotspots_streaks_and_first_contact(world, client_as, people):
    page = client_as(people["manager"]).get("/complaints/hotspots").get_data(as_text=True)
    assert "服务态度" in page and "首问解决率" in page and "100.0 %" in page
    home = client_as(people["manager"]).get("/home").get_data(as_text=True)
    # received 23:30 on 1 December in Shanghai; it is 00:30 on the 2nd there: one day, by the outlet's calendar
    assert "本月投诉" in home and "已连续 1 天无有责投诉" in home


def test_the_chief_sees_own_outlets_complaints_without_contacts(world, client_as, people):
    page = client_as(people["chief"]).get("/complaints").get_data(as_text=True)
    assert world["here"].number in page and world["there"].number not in page
    assert client_as(people["other_chief"]).get(f"/complaints/{world['here'].id}").status_code == 404


def test_the_complaint_notice_prints_its_origin(world, client_as, people, tmp_path, db):
    notice = db.get(RectificationNotice, world["notice"])
    response = client_as(people["chief"]).get(f"/notices/{notice.id}/pdf")
    assert response.status_code == 200
    text = _pdf_text(response.data, tmp_path)
    assert "整改通知书" in text and f"投诉 {world['here'].number}" in text and "经投诉调查" in text
    page = client_as(people["chief"]).get(f"/notices/{notice.id}").get_data(as_text=True)
    assert f"/complaints/from-notice/{notice.id}" in page
    assert client_as(people["chief"]).get(f"/complaints/from-notice/{notice.id}").status_code == 302
    assert client_as(people["other_chief"]).get(f"/complaints/from-notice/{notice.id}").status_code == 404


def test_key_customer_form_refuses_bad_input(world, client_as, people, db):
    client = client_as(people["handler"])
    client.post("/key-customers", {"outlet_code": "330203001", "name": "宁波港", "tier": "weekly"})
    client.post("/key-customers", {"outlet_code": "330106001", "name": "某公司", "tier": "weekly", "contact_phone": "abc"})
    client.post("/key-customers", {"outlet_code": "330106001", "name": "某公司", "tier": "weekly",
                                   "start_date": "2026-02-30"})
    assert len(db.exec(select(KeyCustomer)).all()) == 1
    page = client.get("/callbacks").get_data(as_text=True)
    assert "不在您的管辖范围" in page or "电话号码无效" in page or "不是有效日期" in page
    client.post(f"/key-customers/{world['customer'].id}/callback", {"satisfaction": "unsatisfied", "note": ""})
    assert "客户意见" in client.get("/callbacks").get_data(as_text=True)


def test_a_commendation_on_the_persons_page(world, client_as, people, staff, db):
    client = client_as(people["manager"])
    client.post(f"/staff/{staff['clerk'].id}/commend", {"month": "2026-11", "title": "服务之星", "reason": "零差错"})
    page = client.get(f"/staff/{staff['clerk'].id}").get_data(as_text=True)
    assert "服务之星" in page and "2026-11" in page and world["here"].number in page
    client.post(f"/staff/{staff['clerk'].id}/commend", {"month": "11/2026", "title": "服务之星"})
    assert "不是有效月份" in client.get(f"/staff/{staff['clerk'].id}").get_data(as_text=True)
    assert client_as(people["chief"]).post(f"/staff/{staff['clerk'].id}/commend", {"month": "2026-11"}).status_code == 302
    from inspect_app.complaints.models import Commendation
    assert len(db.exec(select(Commendation)).all()) == 1


def test_an_export_reads_the_pages_filters(world, client_as, people):
    client = client_as(people["director"])
    text = client.get("/complaints/export.csv?outlet=330203001").get_data(as_text=True)
    assert world["there"].number in text and world["here"].number not in text
    assert client.get("/complaints/export.csv?status=nonsense&month=2026-13").status_code == 200


def test_a_red_line_line_page_opens_accountability_for_managers_only(app, db, org_tree, people, staff, client_as):
    from tests.visit_helpers import release_mini_visit
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-02": dict(result="fail", note="辱骂顾客"),
                                                                         "B-03": dict(result="fail", note="设备损坏")})
    red = db.exec(select(RectificationLine).where(RectificationLine.item_code == "B-02")).one()
    plain = db.exec(select(RectificationLine).where(RectificationLine.item_code == "B-03")).one()
    manager = client_as(people["manager"])
    assert "对员工提请问责" in manager.get(f"/lines/{red.id}").get_data(as_text=True)
    assert "对员工提请问责" not in manager.get(f"/lines/{plain.id}").get_data(as_text=True)
    assert "对员工提请问责" not in client_as(people["chief"]).get(f"/lines/{red.id}").get_data(as_text=True)
    response = manager.post(f"/lines/{red.id}/accountability", {"staff_id": staff["clerk"].id, "reason": "辱骂顾客"})
    record_ = db.exec(select(Accountability)).one()
    assert response.headers["Location"].endswith(f"/accountability/{record_.id}") and record_.line_id == red.id
    assert client_as(people["chief"]).post(f"/lines/{red.id}/accountability",
                                           {"staff_id": staff["clerk"].id, "reason": "网点自己"}).status_code == 302
    assert len(db.exec(select(Accountability)).all()) == 1
    assert client_as(people["other_manager"]).post(f"/lines/{red.id}/accountability",
                                                   {"staff_id": staff["clerk"].id, "reason": "x x"}).status_code == 404


def test_a_red_line_records_source_is_a_link_only_for_who_may_open_the_line(app, db, org_tree, people, staff, client_as):
    """A complaint handler reads accountability records but never a visit's lines: the record of a
    red-line finding names its source without a link that would answer 404."""
    from tests.visit_helpers import release_mini_visit
    release_mini_visit(app, db, people["inspector"], org_tree["xihu1"], {"B-02": dict(result="fail", note="辱骂顾客")})
    red = db.exec(select(RectificationLine).where(RectificationLine.item_code == "B-02")).one()
    client_as(people["manager"]).post(f"/lines/{red.id}/accountability", {"staff_id": staff["clerk"].id, "reason": "辱骂顾客"})
    record_ = db.exec(select(Accountability)).one()
    link = f'href="/lines/{red.id}"'
    for role, linked in (("manager", True), ("chief", True), ("handler", False)):
        page = client_as(people[role]).get(f"/accountability/{record_.id}").get_data(as_text=True)
        assert "B-02" in page and (link in page) is linked, role
        if linked:
            assert client_as(people[role]).get(f"/lines/{red.id}").status_code == 200
        else:
            assert client_as(people[role]).get(f"/lines/{red.id}").status_code == 404


def test_the_complaint_page_lists_every_notice_raised_from_it(app, db, org_tree, people, client_as):
    with app.test_request_context():
        complaint = concluded(db, people, org_tree, requirements=["营业员服务规范复训"])
        first = db.get(RectificationNotice, complaint.notice_id)
        services.call_back(db, actor=people["handler"], complaint=complaint, satisfaction="unsatisfied", note="仍未整改")
        services.conclude(db, actor=people["handler"], complaint=complaint, verdict="substantiated", reasons="复核属实",
                          grade=1, requirements=["网点负责人每周抽查录像"])
        second = db.get(RectificationNotice, complaint.notice_id)
    db.commit()
    page = client_as(people["chief"]).get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert first.number in page and second.number in page
    for notice in (first, second):
        response = client_as(people["chief"]).get(f"/complaints/from-notice/{notice.id}")
        assert response.headers["Location"].endswith(f"/complaints/{complaint.id}")


def test_a_key_customer_is_edited_and_taken_off_the_plan_by_its_handlers_only(world, client_as, people, db):
    from inspect_app.audit.models import AuditEvent
    customer = world["customer"]
    url = f"/key-customers/{customer.id}"
    handler = client_as(people["handler"])
    assert "钱经理" in handler.get(f"{url}/edit").get_data(as_text=True)
    # bad input: said, nothing written
    page = handler.post(f"{url}/edit", {"tier": "monthly", "contact_name": "孙经理", "contact_phone": "call me"})
    assert page.status_code == 200 and "电话号码无效" in page.get_data(as_text=True)
    assert handler.post(f"{url}/edit", {"tier": "daily", "contact_name": "孙经理"}).status_code == 200
    db.expire_all()
    assert (db.get(KeyCustomer, customer.id).tier, db.get(KeyCustomer, customer.id).contact_name) == ("weekly", "钱经理")
    # others: the manager may not (403), a handler of another region does not see it (404)
    for role, code in (("manager", 403), ("chief", 403), ("other_handler", 404), ("inspector", 404)):
        client = client_as(people[role])
        assert client.get(f"{url}/edit").status_code == code, role
        assert client.post(f"{url}/edit", {"tier": "monthly", "contact_name": "越权"}).status_code == code, role
        assert client.post(f"{url}/deactivate", {"reason": "越权停止"}).status_code == code, role
    db.expire_all()
    assert db.get(KeyCustomer, customer.id).active and db.get(KeyCustomer, customer.id).contact_name == "钱经理"
    # the handler changes the cadence, the contact and the note
    response = handler.post(f"{url}/edit", {"tier": "monthly", "contact_name": "孙经理", "contact_phone": "0571-86009999",
                                            "note": "每月初对账,下午来电为宜"})
    assert response.status_code == 302
    db.expire_all()
    saved = db.get(KeyCustomer, customer.id)
    assert (saved.tier, saved.contact_name, saved.contact_phone, saved.note) == (
        "monthly", "孙经理", "0571-86009999", "每月初对账,下午来电为宜")
    edited = db.exec(select(AuditEvent).where(AuditEvent.action == "key_customer.edited")).one()
    assert edited.after == {"tier": "monthly", "changed": ["contact", "note", "tier"]}
    assert "86009999" not in str(edited.after) + str(edited.before) + (edited.note or "")
    # a manager reading the plan sees the note without a contact in it
    assert "每月初对账" in client_as(people["manager"]).get("/callbacks?all=1").get_data(as_text=True)
    # off the plan: a reason is required, then it is no longer due and no longer called
    handler.post(f"{url}/deactivate", {"reason": ""})
    db.expire_all()
    assert db.get(KeyCustomer, customer.id).active
    assert handler.post(f"{url}/deactivate", {"reason": "客户搬迁,改由其他网点服务"}, csrf=False).status_code == 400
    handler.post(f"{url}/deactivate", {"reason": "客户搬迁,改由其他网点服务(孙经理 0571-86009999)"})
    db.expire_all()
    assert not db.get(KeyCustomer, customer.id).active
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "key_customer.deactivated")).one()
    assert "客户搬迁" in event.note and "86009999" not in event.note and "孙经理" not in event.note
    assert "浙江大学后勤集团 已移出回访计划" in handler.get("/callbacks?all=1").get_data(as_text=True)
    assert "浙江大学后勤集团" not in handler.get("/callbacks?all=1").get_data(as_text=True).split("回访记录")[0]
    handler.post(f"/key-customers/{customer.id}/callback", {"satisfaction": "satisfied"})
    assert "已不在回访计划中" in handler.get("/callbacks").get_data(as_text=True)


def _concluded_at(db, people, org_tree, outlet, received, verdict):
    complaint = services.register_complaint(
        db, actor=people["handler"], outlet=org_tree[outlet], source="phone", received_at=received, category="时限",
        account="邮件延误", customer_name="", customer_phone="")
    services.take(db, actor=people["handler"], complaint=complaint)
    services.conclude(db, actor=people["handler"], complaint=complaint, verdict=verdict, reasons="核实",
                      grade=1 if verdict != "unfounded" else None)
    return complaint


def test_zero_complaint_streaks_list_every_outlet_by_its_calendar(app, db, org_tree, people, client_as):
    utc = dt.timezone.utc
    for name, created in (("xihu1", dt.datetime(2026, 6, 1, tzinfo=utc)), ("xihu2", dt.datetime(2026, 6, 1, tzinfo=utc)),
                          ("haishu1", dt.datetime(2026, 11, 25, 4, tzinfo=utc))):
        org_tree[name].created_at = created
        db.add(org_tree[name])
    people["other_handler"].unit_id = org_tree["province"].id  # one handler for both cities
    people["handler"] = people["other_handler"]
    db.add(people["handler"])
    db.commit()
    with app.test_request_context():
        # the register's first complaint: 1 November (an unfounded one, at xihu2)
        _concluded_at(db, people, org_tree, "xihu2", dt.datetime(2026, 11, 1, 2, tzinfo=utc), "unfounded")
        # 16:30 UTC on 20 November is already the 21st in Shanghai: 11 days before the 2nd of December, not 12
        _concluded_at(db, people, org_tree, "xihu1", dt.datetime(2026, 11, 20, 16, 30, tzinfo=utc), "substantiated")
        _concluded_at(db, people, org_tree, "xihu1", dt.datetime(2026, 11, 10, 2, tzinfo=utc), "partly")
    db.commit()
    director = client_as(people["director"])
    page = director.get("/complaints/streaks").get_data(as_text=True)
    order = [page.index(org_tree[name].name) for name in ("xihu2", "xihu1", "haishu1")]
    assert order == sorted(order)  # longest first: 31, 11, 7 days
    assert "共 3 个网点,其中 2 个从未有有责投诉" in page and "2026-11-01" in page
    page = director.get("/complaints/streaks?sort=shortest").get_data(as_text=True)
    order = [page.index(org_tree[name].name) for name in ("haishu1", "xihu1", "xihu2")]
    assert order == sorted(order)
    rows = director.get("/complaints/streaks/export.csv?sort=code").get_data(as_text=True).splitlines()[1:]
    assert [r.split(",")[:1] + r.split(",")[3:5] for r in rows] == [
        ["330106001", "11", "2026-11-21"],   # since its last substantiated complaint
        ["330106002", "31", "2026-11-01"],   # none: from the register's start
        ["330203001", "7", "2026-11-25"],    # none: from the day it was added (later than the register's start)
    ]
    assert "11" in _xlsx_text(director.get("/complaints/streaks/export.xlsx").data)
    # a city manager: the city's outlets only; an outlet page shows its own streak to those who see complaints
    manager_page = client_as(people["manager"]).get("/complaints/streaks").get_data(as_text=True)
    assert org_tree["xihu1"].name in manager_page and org_tree["haishu1"].name not in manager_page
    outlet_page = client_as(people["chief"]).get(f"/outlets/{org_tree['xihu1'].id}").get_data(as_text=True)
    assert "零投诉天数" in outlet_page and "11 天" in outlet_page and "2026-11-21" in outlet_page
    assert "零投诉天数" not in client_as(people["inspector"]).get(f"/outlets/{org_tree['xihu1'].id}").get_data(as_text=True)
    assert client_as(people["chief"]).get("/complaints/streaks").status_code == 403
    assert client_as(people["chief"]).get("/complaints/streaks/export.csv").status_code == 403


def test_a_page_past_the_last_offers_the_way_back(app, db, org_tree, people, client_as, monkeypatch):
    """/complaints/streaks?page=3 of a two-page list (an old link, or the list shrank) said "3 / 2"
    with only a Previous link: it says where the last page is, and links to it."""
    from inspect_app.complaints import views

    monkeypatch.setattr(views, "STREAKS_PER_PAGE", 2)
    director = client_as(people["director"])
    first = director.get("/complaints/streaks").get_data(as_text=True)
    assert "1 / 2" in first and "返回最后一页" not in first
    past = director.get("/complaints/streaks?page=3&sort=code")
    text = past.get_data(as_text=True)
    assert past.status_code == 200 and "3 / 2" not in text and "返回最后一页(第 2 页)" in text
    assert "page=2" in text and "sort=code" in text
