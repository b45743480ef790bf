"""A finding may name the staff member concerned: checked against the outlet's register, carried
by the answer API like the note, copied to the rectification line and shown where findings are."""
from __future__ import annotations

import pytest
from sqlmodel import select

from inspect_app.errors import DomainError
from inspect_app.org import services as org
from inspect_app.rectifications.models import RectificationLine
from inspect_app.visits import services as visits
from inspect_app.visits.models import Answer, Visit
from tests.secret_helpers import secret_visit
from tests.visit_helpers import checked_in_visit


@pytest.fixture(autouse=True)
def pinned(clock_at):
    clock_at("2026-12-01T16:30:00Z")  # UTC is still on the 1st; Shanghai is on the 2nd


@pytest.fixture
def staff(app, db, org_tree):
    """Two people at xihu1 (one has left), one at xihu2."""
    def add(job_number, name, outlet, active=True):
        return org.save_staff(db, actor=None, staff=None, job_number=job_number, name=name, post="营业员",
                              outlet_code=outlet.code, active=active)

    with app.test_request_context():
        made = {"wang": add("Z0001", "王芳", org_tree["xihu1"]), "gone": add("Z0002", "陈刚", org_tree["xihu1"], False),
                "other": add("Z0003", "李娜", org_tree["xihu2"])}
    db.commit()
    return made


@pytest.fixture
def visit(app, db, people, org_tree):
    return checked_in_visit(app, db, people["inspector"], org_tree["xihu1"], "mini", window=True)


def answer(db, visit, code="A-02") -> Answer:
    return db.exec(select(Answer).where(Answer.visit_id == visit.id, Answer.item_code == code)).one()


def test_save_answer_names_keeps_and_clears_staff(app, db, people, staff, visit):
    inspector = people["inspector"]
    with app.test_request_context():
        saved = visits.save_answer(db, actor=inspector, visit=visit, item_code="A-02", occurrences=1,
                                   note="倚靠柜台", staff_id=staff["wang"].id)
        assert saved.staff_id == staff["wang"].id
        saved = visits.save_answer(db, actor=inspector, visit=visit, item_code="A-02", occurrences=2)  # None: kept
        assert saved.staff_id == staff["wang"].id
        saved = visits.save_answer(db, actor=inspector, visit=visit, item_code="A-02", occurrences=2, staff_id="")
        assert saved.staff_id is None
        saved = visits.save_answer(db, actor=inspector, visit=visit, item_code="A-02", occurrences=2,
                                   staff_id=str(staff["wang"].id))
        assert saved.staff_id == staff["wang"].id
        saved = visits.save_answer(db, actor=inspector, visit=visit, item_code="A-02", occurrences=2, staff_id=0)
        assert saved.staff_id is None


@pytest.mark.parametrize("who", ["other", "gone", "unknown", "nonsense"])
def test_save_answer_refuses_staff_not_at_work_at_the_outlet(app, db, people, staff, visit, who):
    staff_id = {"unknown": 999999, "nonsense": "abc"}.get(who) or staff[who].id
    with app.test_request_context(), pytest.raises(DomainError, match="不是本网点的员工"):
        visits.save_answer(db, actor=people["inspector"], visit=visit, item_code="A-02", occurrences=1,
                           staff_id=staff_id)


def test_someone_named_before_they_left_stays_on_the_finding(app, db, people, staff, visit):
    inspector = people["inspector"]
    with app.test_request_context():
        visits.save_answer(db, actor=inspector, visit=visit, item_code="A-02", occurrences=1, staff_id=staff["wang"].id)
        org.save_staff(db, actor=None, staff=staff["wang"], job_number="Z0001", name="王芳", post="营业员",
                       outlet_code="330106001", active=False)
        saved = visits.save_answer(db, actor=inspector, visit=visit, item_code="A-02", occurrences=3,
                                   staff_id=staff["wang"].id)
        assert saved.staff_id == staff["wang"].id and saved.occurrences == 3


def test_the_answer_api_carries_staff_like_the_note(client_as, db, people, staff, visit):
    phone = client_as(people["inspector"])
    url = f"/api/visits/{visit.id}/answers"
    response = phone.post_json(url, {"item_code": "A-02", "occurrences": 1, "note": "倚靠柜台",
                                     "staff_id": str(staff["wang"].id), "client_id": "c1", "base_version": 0})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["answer"]["staff_id"] == staff["wang"].id
    # the same write again (a retry after a lost reply) is recognised, not doubled
    again = phone.post_json(url, {"item_code": "A-02", "occurrences": 1, "note": "倚靠柜台",
                                  "staff_id": str(staff["wang"].id), "client_id": "c1", "base_version": 0})
    assert again.status_code == 200 and again.get_json()["answer"]["version"] == 1
    refused = phone.post_json(url, {"item_code": "A-02", "occurrences": 1, "staff_id": staff["other"].id,
                                    "client_id": "c2", "base_version": 1})
    assert refused.status_code == 400
    assert "不是本网点的员工" in refused.get_json()["error"]
    assert refused.get_json()["current"]["staff_id"] == staff["wang"].id
    assert phone.post_json(url, {"item_code": "A-02", "occurrences": 1, "staff_id": [1], "client_id": "c3",
                                 "base_version": 1}).status_code == 400
    cleared = phone.post_json(url, {"item_code": "A-02", "occurrences": 1, "staff_id": "", "client_id": "c4",
                                    "base_version": 1})
    assert cleared.status_code == 200 and cleared.get_json()["answer"]["staff_id"] is None
    assert answer(db, visit).staff_id is None


def test_the_fill_page_lists_the_outlets_active_staff(app, client_as, db, people, org_tree, create_outlet, staff,
                                                      visit):
    page = client_as(people["inspector"]).get(f"/visits/{visit.id}/fill").get_data(as_text=True)
    assert "data-staff" in page and "Z0001 · 王芳 · 营业员" in page
    assert "陈刚" not in page and "李娜" not in page  # left; another outlet's
    elsewhere = checked_in_visit(app, db, people["inspector"], create_outlet(org_tree["xihu"]), "mini", window=True)
    page = client_as(people["inspector"]).get(f"/visits/{elsewhere.id}/fill").get_data(as_text=True)
    assert "data-staff" not in page  # an outlet with no staff shows no list


def test_the_named_person_reaches_the_line_and_the_pages(app, client_as, db, people, staff, visit):
    inspector = people["inspector"]
    with app.test_request_context():
        for code, kw in {"A-01": dict(result="pass"), "A-02": dict(occurrences=2, note="倚靠柜台两次",
                                                                    staff_id=staff["wang"].id),
                         "B-01": dict(scale_value=1, note="面无笑容"), "B-02": dict(result="pass"),
                         "B-03": dict(result="pass")}.items():
            visits.save_answer(db, actor=inspector, visit=visit, item_code=code, **kw)
        visits.submit_visit(db, actor=inspector, visit=visit, token="staff")
    db.commit()
    lines = {line.item_code: line for line in
             db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id))}
    assert lines["A-02"].staff_id == staff["wang"].id
    assert lines["B-01"].staff_id is None
    chief = client_as(people["chief"])
    page = chief.get(f"/lines/{lines['A-02'].id}").get_data(as_text=True)
    assert "Z0001 · 王芳" in page
    assert "Z0001" not in chief.get(f"/lines/{lines['B-01'].id}").get_data(as_text=True)
    detail = chief.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "Z0001 · 王芳" in detail



def test_a_secret_visit_tells_the_outlet_nothing_before_release(app, client_as, db, people, org_tree, staff):
    visit, failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"],
                                 outlet=org_tree["xihu1"], submit=False)
    with app.test_request_context():
        visits.save_answer(db, actor=people["shopper"], visit=visit, item_code=failed, result="fail",
                           staff_id=staff["wang"].id)
        visits.submit_visit(db, actor=people["shopper"], visit=visit, token="secret-staff")
    db.commit()
    chief = client_as(people["chief"])
    assert chief.get(f"/visits/{visit.id}").status_code == 404
    assert not db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).all()
    with app.test_request_context():
        visits.release_visit(db, actor=people["reviewer"], visit=db.get(Visit, visit.id))
    db.commit()
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == visit.id)).one()
    assert line.staff_id == staff["wang"].id
    assert "Z0001 · 王芳" in chief.get(f"/visits/{visit.id}").get_data(as_text=True)


@pytest.mark.browser
def test_the_phone_names_staff_through_the_outbox(browser, live_server, db, people, staff, visit):
    from tests.browser_helpers import answer_item, phone, wait_saved
    from tests.conftest import browser_login

    context, page = phone(browser)
    browser_login(page, live_server, "inspector")
    page.goto(f"{live_server}/visits/{visit.id}/fill")
    item = page.locator("#item-A-02")
    assert not item.locator("[data-staff]").is_visible()  # only under a failed item's note
    answer_item(item, "fail")
    item.locator("[data-staff]").select_option(str(staff["wang"].id))
    wait_saved(page)
    assert answer(db, visit).staff_id == staff["wang"].id
    page.reload()
    assert page.locator("#item-A-02 [data-staff]").input_value() == str(staff["wang"].id)

    context.set_offline(True)
    page.locator("#item-A-02 [data-staff]").select_option("")
    page.wait_for_function("() => document.getElementById('visit').dataset.pending === '1'")
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_saved(page)
    assert answer(db, visit).staff_id is None
    assert answer(db, visit).occurrences == 1
    context.close()
