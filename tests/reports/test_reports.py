"""PDF documents: content (Chinese text extractable), headers, who may download, what may load."""
from __future__ import annotations

import io
import logging
from urllib.parse import unquote

import pytest
from pypdf import PdfReader
from sqlmodel import select

from inspect_app import clock
from inspect_app.rectifications.models import RectificationNotice
from inspect_app.reports import bulletins, pdf
from inspect_app.visits import services as visits_services
from tests.jobs_helpers import fetch
from tests.secret_helpers import secret_visit
from tests.visit_helpers import release_mini_visit


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def notice(app, db, org_tree, people):
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=1, note="倚靠柜台<script>alert(1)</script>"),
                                "A-01": dict(result="fail", note="未着工装")})
    return db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()


def test_notice_pdf_content_and_headers(notice, client_as, people):
    response = client_as(people["chief"]).get(f"/notices/{notice.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"整改通知书-{notice.number}-西湖区文三路邮政营业所.pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    text = text_of(response.data)
    for expected in ("整改通知书", notice.number, "西湖区文三路邮政营业所", "站姿端正", "网点负责人签收", "第 1 页"):
        assert expected in text, expected
    assert "<script>" in text  # user text is printed as text, not run or parsed as markup
    reader = PdfReader(io.BytesIO(response.data))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4


def test_notice_text_that_looks_like_typst_markup_prints_as_written(app, db, org_tree, people, client_as):
    """The notice is typeset by Typst (reports.notice_paper): what users typed is data the template
    places as text, so markup, code and file reads in it stay letters on the paper."""
    typed = ('#image("/etc/passwd") #read("/etc/hostname") *粗体* _斜体_ $x^2$ @ref <label> '
             '`raw` \\ [#text(red)[红]] // 注释 /* 块 */ = 标题')
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-01": dict(result="fail", note=typed)})
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    response = client_as(people["chief"]).get(f"/notices/{notice.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(text_of(response.data).replace("\u200b", "").split())  # long runs may break
    for piece in ('#image("/etc/passwd")', '#read("/etc/hostname")', "*粗体*", "_斜体_", "$x^2$", "@ref", "<label>",
                  "`raw`", "[#text(red)[红]]", "// 注释", "/* 块 */", "= 标题"):
        assert piece in text, piece
    assert "root:" not in text


def test_papers_are_chinese_for_a_viewer_reading_the_site_in_english(notice, client_as, people):
    """The notice's kind, severity and status labels and the report's are the paper's language, not
    the viewer's: a chief who reads the site in English still signs a Chinese paper."""
    chief = client_as(people["chief"])
    chief.post("/language", {"lang": "en"})
    assert '<html lang="en">' in chief.get("/notices").get_data(as_text=True)  # the site speaks English now
    text = text_of(chief.get(f"/notices/{notice.id}/pdf").data)
    assert "已下发" in text and "Issued" not in text, text[:400]
    assert "Star rating" not in text and "Open inspection" not in text
    manager = client_as(people["manager"])
    manager.post("/language", {"lang": "en"})
    report = text_of(manager.get(f"/visits/{notice.visit_id}/pdf").data)
    assert "不合格项" in report


def test_notice_pdf_refused_out_of_scope(notice, client_as, people):
    for role in ("other_chief", "other_manager", "shopper"):
        assert client_as(people[role]).get(f"/notices/{notice.id}/pdf").status_code == 404, role


def test_visit_report_pdf(notice, client_as, people, db):
    response = client_as(people["manager"]).get(f"/visits/{notice.visit_id}/pdf")
    text = text_of(response.data)
    assert response.status_code == 200
    for expected in ("测试星级表", "分项得分", "不合格项", "未着工装"):
        assert expected in text, expected


def test_secret_visit_documents_follow_the_secrecy_rules(app, db, org_tree, people, client_as):
    visit, _ = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    chief = client_as(people["chief"])
    assert chief.get(f"/visits/{visit.id}/pdf").status_code == 404  # pending: no trace
    assert client_as(people["reviewer"]).get(f"/visits/{visit.id}/pdf").status_code == 200
    with app.test_request_context():
        visits_services.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    text = text_of(chief.get(f"/visits/{visit.id}/pdf").data)
    assert "暗访员A07" in text and people["shopper"].display_name not in text
    assert "暗访计时" not in text  # the times would point at one customer on the CCTV
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    notice_text = text_of(chief.get(f"/notices/{notice.id}/pdf").data)
    assert "暗访员A07" in notice_text and people["shopper"].display_name not in notice_text
    inside = text_of(client_as(people["reviewer"]).get(f"/visits/{visit.id}/pdf").data)
    assert "暗访计时" in inside


def test_bulletin_page_and_pdf(app, notice, client_as, people, org_tree):
    manager = client_as(people["manager"])

    today = clock.today("Asia/Shanghai").isoformat()
    page = manager.get(f"/bulletins?kind=month&date={today}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "月总结" in html and "西湖区" in html and "<svg" in html
    response = fetch(app, manager, f"/bulletins/pdf?kind=week&date={today}")  # made by the worker
    text = text_of(response.data)
    assert "周分析" in text and "西湖区" in text and "高频问题" in text
    assert client_as(people["chief"]).get("/bulletins").status_code == 403
    assert client_as(people["other_manager"]).get(f"/bulletins?unit={org_tree['hz'].id}").status_code == 404


def test_periods():
    import datetime as dt

    day = dt.date(2026, 11, 18)  # a Wednesday
    assert bulletins.Period.around("week", day).start == dt.date(2026, 11, 16)
    month = bulletins.Period.around("month", day)
    assert (month.start, month.end) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert month.previous().start == dt.date(2026, 10, 1)
    start, end = bulletins.Period.around("day", day).bounds("Asia/Shanghai")
    assert start.hour == 16 and (end - start).days == 1


def test_pdf_loads_nothing_but_our_files(app, caplog):
    html = ('<html><head><link rel="stylesheet" href="file:///etc/passwd">'
            '<link rel="stylesheet" href="inspect:static/css/print.css"></head><body><h1>测试</h1>'
            '<img src="http://127.0.0.1:9/x.png"><img src="inspect:photo/1/display"><img src="inspect:static/../../etc/passwd">'
            '</body></html>')
    with caplog.at_level(logging.WARNING):
        data = pdf.render(html, photos={}, storage=None)
    assert "测试" in text_of(data)
    blocked = [r.getMessage() for r in caplog.records if "blocked a resource" in r.getMessage()]
    assert len(blocked) == 4  # disk, network, a photo id not allowed, a path outside our files
    assert not any("print.css" in m for m in blocked)


def test_chart_escapes_names():
    svg = bulletins.bar_chart([("<b>西湖</b>", 91.5, 88.0), ("余杭", 79.0, None)])
    assert "&lt;b&gt;" in svg and "<script" not in svg and svg.startswith("<svg")


def test_subsetter_is_harfbuzz():
    """The setup command installs libharfbuzz-subset0; without it Chinese PDFs take seconds."""
    assert pdf.subsetter() == "harfbuzz-subset"


def test_papers_link_to_the_public_address_never_the_host_header(app, notice, client_as, people):
    from tests.conftest import PASSWORD, Client

    forger = Client(app.test_client())
    forger.c.post("/login", data={"username": "chief", "password": PASSWORD,
                                  "csrf_token": _token(forger, "http://evil.example")}, base_url="http://evil.example")
    forged = forger.c.get(f"/notices/{notice.id}/pdf", base_url="http://evil.example")
    assert forged.status_code == 200 and "evil.example" not in text_of(forged.data)
    app.config.update(PUBLIC_URL="https://inspect.example.cn", TRUSTED_HOSTS=["inspect.example.cn", "localhost"])
    assert forger.c.get(f"/notices/{notice.id}/pdf", base_url="http://evil.example").status_code == 400
    chief = client_as(people["chief"])
    good = chief.get(f"/notices/{notice.id}/pdf", environ_overrides={"wsgi.url_scheme": "https"})
    assert good.status_code == 200 and f"https://inspect.example.cn/notices/{notice.id}" in text_of(good.data)
    assert good.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in chief.get("/home").headers


def _token(client, base_url):
    import re

    page = client.c.get("/login", base_url=base_url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_a_configured_public_url_trusts_its_host_only():
    from inspect_app.config import load

    settings = load({"PUBLIC_URL": "https://inspect.example.cn/", "SECRET_KEY": "x"})
    assert "inspect.example.cn" in settings["TRUSTED_HOSTS"]


def right_edges(data: bytes) -> list[float]:
    """The rightmost point of every path drawn on each page (table borders, rules, fills), in
    points, read from the PDF's own content streams with the transformation then in force."""
    edges = []
    for page in PdfReader(io.BytesIO(data)).pages:
        furthest = [0.0]

        def visit(operator, operands, cm, tm):
            if operator == b"re" and len(operands) == 4:
                xs = [float(operands[0]), float(operands[0]) + float(operands[2])]
                ys = [float(operands[1])] * 2
            elif operator in (b"m", b"l") and len(operands) == 2:
                xs, ys = [float(operands[0])], [float(operands[1])]
            else:
                return
            for x, y in zip(xs, ys):
                furthest[0] = max(furthest[0], cm[0] * x + cm[2] * y + cm[4])

        page.extract_text(visitor_operand_before=visit)
        edges.append(furthest[0])
    return edges


A4_RIGHT_MARGIN = 595.28 - 16 / 25.4 * 72  # print.css: 16 mm side margins


def test_every_table_of_the_papers_fits_the_page(app, db, client_as, org_tree, people):
    long_note = "柜台" + "服务监督牌缺失" * 30 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 3
    visit = release_mini_visit(app, db, people["inspector"], org_tree["xihu1"],
                               {"A-02": dict(occurrences=3, note=long_note), "A-01": dict(result="fail", note="未着工装"),
                                "B-01": dict(scale_value=1, note="语气生硬")})
    notice = db.exec(select(RectificationNotice).where(RectificationNotice.visit_id == visit.id)).one()
    manager = client_as(people["manager"])
    papers = {"notice": client_as(people["chief"]).get(f"/notices/{notice.id}/pdf").data,
              "report": manager.get(f"/visits/{visit.id}/pdf").data,
              "bulletin": fetch(app, manager, "/bulletins/pdf?kind=month&date=" + clock.today("Asia/Shanghai").isoformat()).data}
    for name, data in papers.items():
        edges = right_edges(data)
        assert edges and max(edges) <= A4_RIGHT_MARGIN + 0.5, (name, edges, A4_RIGHT_MARGIN)
    for name, data in papers.items():  # Simplified Chinese glyphs everywhere, the bulletin's chart included
        fonts = set()
        for page in PdfReader(io.BytesIO(data)).pages:
            for font in (page["/Resources"].get("/Font") or {}).values():
                fonts.add(str(font.get_object()["/BaseFont"]))
        assert fonts and all("CJK-SC" in f or "CJKsc" in f for f in fonts), (name, fonts)
    text = text_of(papers["notice"])
    for expected in ("检查发现", "发现 3 次", "评分 1/", "语气生硬", "责任人", "整改回执", "检查人员(签字)",
                     "网点负责人(签字)", notice.number):
        assert expected in text, expected


def test_visit_reports_print_stars_only_where_awarded_and_secret_durations_in_words(app, db, client_as, org_tree,
                                                                                    people):
    from tests.visit_helpers import checked_in_visit

    visit, _failed = secret_visit(app, db, manager=people["manager"], shopper=people["shopper"], outlet=org_tree["xihu1"])
    with app.test_request_context():
        visits_services.release_visit(db, actor=people["reviewer"], visit=visit)
    db.commit()
    text = text_of(client_as(people["manager"]).get(f"/visits/{visit.id}/pdf").data)
    # the helper taps the timers two minutes apart: entry, queue start, service start, service end, exit
    assert "等候 2 分 00 秒" in text and "办理 2 分 00 秒" in text and "3 号柜台" in text
    assert "★" not in text and "星级" not in text
    opened = checked_in_visit(app, db, people["inspector"], org_tree["xihu2"], "fives")
    with app.test_request_context():
        checklist = visits_services.checklist_of(db, opened)
        for item in checklist.items:
            visits_services.save_answer(db, actor=people["inspector"], visit=opened, item_code=item.code,
                                        **({"scale_value": item.scale_max} if item.rule == "scale" else
                                           {"occurrences": 0} if item.rule == "per_occurrence" else {"result": "pass"}))
        visits_services.submit_visit(db, actor=people["inspector"], visit=opened, token="six-s")
    db.commit()
    report = text_of(client_as(people["manager"]).get(f"/visits/{opened.id}/pdf").data)
    assert "6S" in report and "5S" not in report and "★" not in report


def _embedded_sizes(data: bytes) -> list[tuple[int, int]]:
    reader = PdfReader(io.BytesIO(data))
    return [image.image.size for page in reader.pages for image in page.images]


def test_papers_embed_photos_at_the_size_they_are_shown(notice, client_as, people, db, app):
    """A 1,600 px display copy shown in a 22 × 16.5 mm box goes in at 300 dpi of the box (260 × 195),
    made once and kept beside the photo, keyed by its hash and size."""
    from inspect_app.evidence.models import Photo
    from inspect_app.evidence.storage import get_storage

    box = pdf.box_pixels("thumbs")
    assert box == (260, 195)
    photo = db.exec(select(Photo).where(Photo.visit_id == notice.visit_id)).one()
    client = client_as(people["manager"])
    report = client.get(f"/visits/{notice.visit_id}/pdf")
    assert report.status_code == 200
    sizes = _embedded_sizes(report.data)
    assert sizes and all(w <= box[0] + 1 and h <= box[1] + 1 for w, h in sizes), sizes
    assert (box[0], box[1]) in sizes  # 4:3 covers the 4:3 box exactly
    with app.app_context():
        storage = get_storage()
        cached = f"{photo.storage_key}/display{box[0]}x{box[1]}{photo.sha256[:16]}.jpg"
        assert storage.exists(cached)
        storage.put(cached, storage.get(f"{photo.storage_key}/thumb.jpg"), "image/jpeg")  # a marked copy
    again = client.get(f"/visits/{notice.visit_id}/pdf")
    assert (320, 240) in _embedded_sizes(again.data)  # read back from the cache, not made again
    notice_pdf = client.get(f"/notices/{notice.id}/pdf")
    assert all(w <= 320 and h <= 240 for w, h in _embedded_sizes(notice_pdf.data))


def test_sized_copy_covers_the_box_and_never_enlarges():
    from PIL import Image

    from inspect_app.evidence import imaging

    def jpeg(size):
        out = io.BytesIO()
        Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG")
        return out.getvalue()

    def size_of(data):
        return Image.open(io.BytesIO(data)).size

    assert size_of(imaging.sized_copy(jpeg((4032, 3024)), (260, 195))) == (260, 195)
    assert size_of(imaging.sized_copy(jpeg((3024, 4032)), (260, 195))) == (260, 347)  # portrait covers the width
    assert size_of(imaging.sized_copy(jpeg((200, 150)), (472, 354))) == (200, 150)


def test_unknown_print_box_is_refused(app, caplog):
    html = '<html><body><p>x</p><img src="inspect:photo/1/display/poster"></body></html>'
    with caplog.at_level(logging.WARNING):
        pdf.render(html, photos={1: object()}, storage=None)
    assert any("blocked a resource" in r.getMessage() for r in caplog.records)


def test_a_notice_line_is_never_split_across_pages(app, db, notice, client_as, people):
    """Forty lines of differing heights over several pages: each line's first words (its finding)
    and last words (its requirement) are printed on the same page."""
    import datetime as dt

    from inspect_app.rectifications.models import RectificationLine

    first = db.exec(select(RectificationLine).where(RectificationLine.notice_id == notice.id)).first()
    for n in range(40):
        day = first.deadline_date + dt.timedelta(days=1 + n % 5)
        db.add(RectificationLine(
            notice_id=notice.id, visit_id=first.visit_id, outlet_id=first.outlet_id, item_code=f"X-{n:03d}",
            checklist_kind=first.checklist_kind, problem=f"P{n:02d}START " + "现场检查发现该问题,工作人员未按规范执行。" * (1 + n % 4),
            requirement="按规范整改,拍摄整改后照片在系统中回复 " + f"R{n:02d}END", severity="general", deadline_date=day,
            deadline_at=dt.datetime.combine(day, dt.time(16), dt.timezone.utc), status="issued",
            issued_at=first.issued_at))
    db.commit()
    response = fetch(app, client_as(people["manager"]), f"/notices/{notice.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = [page.extract_text().replace(" ", "").replace("\n", "") for page in PdfReader(io.BytesIO(response.data)).pages]

    def page_of(marker: str) -> int:  # the first: the receipt at the end lists the findings again
        return next(k for k, text in enumerate(pages) if marker in text)

    assert page_of("R39END") >= 2, len(pages)  # the lines run over three pages at least

    for n in range(40):
        assert page_of(f"P{n:02d}START") == page_of(f"R{n:02d}END"), n


def test_the_collector_is_paused_only_while_a_paper_renders():
    import gc

    assert gc.isenabled()
    with pdf.collector_paused():
        assert not gc.isenabled()
        with pdf.collector_paused():  # a second render on another worker thread
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first is still rendering
    assert gc.isenabled()
    with pytest.raises(ValueError), pdf.collector_paused():
        raise ValueError("a render that fails")
    assert gc.isenabled()
    assert pdf.render("<p>整改</p>").startswith(b"%PDF") and gc.isenabled()
