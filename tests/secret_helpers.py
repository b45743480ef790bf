"""Building a secret visit through the services, as the shopper would on the phone."""
from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from inspect_app import clock
from inspect_app.evidence.storage import get_storage
from inspect_app.visits import secret, timers
from inspect_app.visits import services as visits


def jpeg(color=(90, 90, 90), size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def secret_visit(app, db, *, manager, shopper, outlet, submit=True, fail_one=True, complete=True):
    """Schedule, check in, tap every timer, answer every item, photos, impression; submit."""
    with app.test_request_context():
        today = clock.today("Asia/Shanghai")
        visit = visits.schedule_visits(db, actor=manager, checklist_code="secret_visit", outlet_ids=[outlet.id],
                                       assignee=shopper, due_from=today, due_until=today + dt.timedelta(days=5))[0]
        visits.check_in(db, actor=shopper, visit=visit, lat=outlet.lat + 0.0003, lon=outlet.lon, accuracy=25)
        visit.checkin_at = visit.started_at = visit.checkin_at - dt.timedelta(minutes=30)  # the visit was half an hour ago
        start = visit.checkin_at
        for k, name in enumerate(timers.TIMERS):
            secret.set_timer(db, actor=shopper, visit=visit, name=name, at=start + dt.timedelta(minutes=2 * k))
        checklist = visits.checklist_of(db, visit)
        failed = None
        for item in checklist.items:
            if item.rule == "timer":
                continue
            if fail_one and failed is None and item.rule == "pass_fail" and not item.red_line and not item.photo_on_fail:
                visits.save_answer(db, actor=shopper, visit=visit, item_code=item.code, result="fail",
                                   note="工作人员未起身迎候,也没有问好")
                failed = item.code
            elif item.rule == "per_occurrence":
                visits.save_answer(db, actor=shopper, visit=visit, item_code=item.code, occurrences=0)
            elif item.rule == "scale":
                visits.save_answer(db, actor=shopper, visit=visit, item_code=item.code, scale_value=item.scale_max)
            else:
                visits.save_answer(db, actor=shopper, visit=visit, item_code=item.code, result="pass")
        if complete:
            for purpose, color in (("receipt", (250, 250, 240)), ("general", (30, 120, 60)), ("general", (60, 60, 160)),
                                   ("general", (160, 60, 60))):
                visits.add_visit_photo(db, get_storage(), actor=shopper, visit=visit, data=jpeg(color),
                                         item_code=None, purpose=purpose)
            secret.save_details(db, actor=shopper, visit=visit, counter_number="3",
                                impression="进门后等了两分钟左右才轮到我,窗口工作人员态度总体平和,但没有起身迎候,"
                                           "办理寄件时询问了物品内容并查验身份证,唱收唱付清楚,最后没有道别。大厅整洁,"
                                           "宣传资料摆放整齐,叫号屏正常。")
        if submit:
            visits.submit_visit(db, actor=shopper, visit=visit, token=f"s{visit.id}", accept_warnings=not complete)
    db.commit()
    return visit, failed
