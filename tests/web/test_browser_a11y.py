"""Every main page, as every role, on a 360 px phone: axe-core finds no critical or serious
violation, and every control a thumb uses is at least 44 × 44 px."""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlmodel import select

from inspect_app import clock
from inspect_app.complaints import services as complaints
from inspect_app.org.models import StaffMember
from inspect_app.rectifications.models import RectificationLine
from inspect_app.visits import services as visits
from tests.conftest import browser_login
from tests.secret_helpers import secret_visit
from tests.visit_helpers import release_mini_visit

pytestmark = pytest.mark.browser

#: Controls under this size are reported; links inside running text are exempt (WCAG 2.5.8).
MIN_TARGET = 44

SMALL_TARGETS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, summary, select, input:not([type=hidden]), textarea, label.photo-add')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    if (el.matches('input[type=file]') && el.closest('label')) continue;  // the label is the target
    if (el.matches('input[type=checkbox], input[type=radio]') && el.closest('label')) continue;
    if (el.tagName === 'A' && el.closest('p, li.list-item p, dd, td, .note, .breadcrumb, .hint') && !el.classList.contains('btn')) continue;
    if (r.width < %(min)d || r.height < %(min)d) {
      out.push(`${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).trim().split(/\\s+/).join('.') : ''} `
               + `"${(el.innerText || el.getAttribute('aria-label') || el.value || '').trim().slice(0, 24)}" `
               + `${Math.round(r.width)}×${Math.round(r.height)}`);
    }
  }
  return out;
}""" % {"min": MIN_TARGET}


@pytest.fixture
def world(app, db, org_tree, people):
    """A bit of everything each role has pages for."""
    outlet = org_tree["xihu1"]
    released = release_mini_visit(app, db, people["inspector"], outlet,
                                   {"A-01": dict(result="fail", note="未着工装"), "A-02": dict(occurrences=1, note="倚靠")})
    line = db.exec(select(RectificationLine).where(RectificationLine.visit_id == released.id)).first()
    review, _failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu2"])
    today = clock.today(outlet.timezone)
    with app.test_request_context():
        draft = visits.start_adhoc_visit(db, actor=people["inspector"], outlet=org_tree["xihu2"],
                                         checklist_code="open_inspection")
        visits.check_in(db, actor=people["inspector"], visit=draft, lat=30.26, lon=120.13, accuracy=10)
        planned = visits.schedule_visits(db, actor=people["manager"], checklist_code="fives", outlet_ids=[outlet.id],
                                         assignee=people["inspector"], due_from=today, due_until=today)[0]
    clerk = StaffMember(job_number="330106001-01", name="王小红", post="营业员", outlet_id=outlet.id)
    db.add(clerk)
    db.flush()
    with app.test_request_context():
        handler = people["handler"]
        open_one = complaints.register_complaint(db, actor=handler, outlet=outlet, source="hotline",
                                                 received_at=clock.now(), category="服务态度", account="态度生硬",
                                                 customer_name="张三", customer_phone="13812345678", staff_id=clerk.id)
        complaints.take(db, actor=handler, complaint=open_one)
        done = complaints.register_complaint(db, actor=handler, outlet=outlet, source="phone", received_at=clock.now(),
                                             category="时限", account="邮件延误", staff_id=clerk.id)
        complaints.take(db, actor=handler, complaint=done)
        complaints.conclude(db, actor=handler, complaint=done, verdict="substantiated", reasons="属实", grade=1,
                            requirements=["服务规范复训"])
        record_ = complaints.open_accountability(db, actor=handler, staff=clerk, complaint=done, reason="服务态度差")
        customer = complaints.add_key_customer(db, actor=handler, outlet=outlet, name="浙江大学后勤集团", tier="weekly")
    db.commit()
    return {"released": released, "line": line, "review": review, "draft": draft, "planned": planned,
            "outlet": outlet, "open": open_one, "done": done, "record": record_, "clerk": clerk, "hz": org_tree["hz"],
            "customer": customer}


def pages(world) -> dict[str, list[str]]:
    v, line, outlet = world["released"].id, world["line"], world["outlet"].id
    common = ["/home", "/notifications", "/account/password", "/files", "/account/notifications"]
    return {
        "admin": common + ["/admin/units", f"/admin/units?unit={world['hz'].id}", "/outlets", f"/outlets/{outlet}", f"/admin/outlets/{outlet}/edit",
                           "/admin/outlets/new", "/admin/outlets/import", "/admin/users", "/admin/users/new",
                           "/admin/users/import", "/admin/audit", "/admin/system", "/help/admin",
                           "/admin/channels", "/admin/channels/new", "/admin/deliveries", "/admin/jobs",
                           "/admin/jobs?status=done",
                           "/help/quality-office"],
        "manager": common + ["/indicators", f"/indicators/units/{world['hz'].id}", "/indicators/import",
                             "/complaints", "/complaints/hotspots", "/complaints/streaks", "/accountability?status=pending",
                             f"/accountability/{world['record'].id}", "/staff",
                             f"/staff/{world['clerk'].id}", "/visits", "/schedule", f"/visits/{v}", "/board", "/board/lines?state=open", "/stars",
                             "/bulletins?kind=month", "/bulletins?kind=day",
                             f"/bulletins?kind=month&date={clock.today(world['outlet'].timezone)}", "/notices", f"/notices/{line.notice_id}",
                             f"/lines/{line.id}", "/reminders", "/outlets", f"/outlets/{outlet}",
                             f"/outlets/{outlet}/blackouts"],
        "inspector": common + ["/visits", "/visits/new", f"/visits/new?outlet={outlet}", f"/visits/{world['draft'].id}/fill",
                               f"/visits/{world['planned'].id}/checkin", f"/visits/{v}", "/notices", f"/lines/{line.id}"],
        "reviewer": common + ["/review", f"/review/{world['review'].id}", "/board", "/visits?status=in_review"],
        "shopper": common + ["/visits", "/help/shopper"],
        "chief": common + ["/notices", f"/notices/{line.notice_id}", f"/lines/{line.id}", f"/visits/{v}", "/complaints",
                           f"/complaints/{world['done'].id}", f"/accountability/{world['record'].id}"],
        "handler": common + ["/complaints", "/complaints/new", f"/complaints/{world['open'].id}",
                             f"/complaints/{world['done'].id}", "/callbacks", "/callbacks?all=1", "/complaints/hotspots",
                             "/accountability", f"/accountability/{world['record'].id}", f"/staff/{world['clerk'].id}",
                             f"/key-customers/{world['customer'].id}/edit",
                             f"/notices/{world['done'].notice_id}"],
    }


def test_every_main_page_is_accessible_and_thumb_sized(browser, live_server, world, people):
    axe = Axe()
    violations, small = [], []
    anonymous = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="zh-CN")
    page = anonymous.new_page()
    walk = [("anonymous", page, ["/login", "/help"])]
    contexts = [anonymous]
    for role, paths in pages(world).items():
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                      locale="zh-CN", timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        browser_login(page, live_server, role)
        walk.append((role, page, paths))
    for role, page, paths in walk:
        for path in paths:
            response = page.goto(live_server + path)
            assert response.status == 200, (role, path, response.status)
            page.wait_for_load_state("networkidle")
            for details in page.locator("details").all():  # what a tap opens is checked too
                if details.is_visible():
                    details.evaluate("d => d.open = true")
            result = axe.run(page)
            for v in result.response["violations"]:
                if v["impact"] in ("critical", "serious"):
                    targets = [", ".join(n["target"]) for n in v["nodes"]][:3]
                    violations.append(f"{role} {path}: {v['id']} ({v['impact']}) {targets}")
            small += [f"{role} {path}: {s}" for s in page.evaluate(SMALL_TARGETS)]
    for context in contexts:
        context.close()
    assert not violations, "\n".join(violations)
    assert not small, "\n".join(small)
