"""整改通知书 as a PDF, typeset by Typst (``templates/reports/notice.typ``).

The notice is the paper printed most and the longest: one line per failed item, with photos, a
receipt listing them again. WeasyPrint laid a 100-line notice with 100 photos out in 1.7–2.3 s on
this kind of machine, its floor for the same text without the paper's structure about 0.5 s; Typst
(a compiled typesetter with a Python binding) sets the same paper in about 0.1 s. The other papers
(visit report, bulletins) stay HTML through WeasyPrint: they are short, and their templates share
the web's.

What the paper prints is made here as plain data (strings, already formatted in the outlet's
zone) and written as ``data.json`` beside the template in a fresh folder, with the images it shows
(the QR code, the photos at their printed size, the signatures) as files named by this module. The
template places every string as text: nothing a user typed is read as Typst markup, and Typst
reads nothing outside that folder (its root) and fetches nothing.
"""
from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import typst

from inspect_app import clock
from inspect_app.checklists.definition import KIND_LABELS, SEVERITY_LABELS
from inspect_app.config import PROJECT_ROOT
from inspect_app.i18n import format_local
from inspect_app.rectifications.models import LINE_STATUS_LABELS
from inspect_app.reports import pdf

TEMPLATE = PROJECT_ROOT / "templates" / "reports" / "notice.typ"
#: How many photos a line prints (the rest are in the system: the notice's page shows them all).
PHOTOS_PER_LINE = 3


@dataclass(frozen=True)
class NoticeDocument:
    """A notice's paper for one viewer: ``source``, the JSON the template reads (what the kept copy's
    digest is of), and ``files``, the images it names: file name → (kind, stored row)."""
    source: str
    files: dict[str, tuple[str, object]]


def _signed(files: dict, sig, zone: str) -> dict:
    name = f"s{sig.id}.png"
    files[name] = ("signature", sig)
    post = f"({sig.signer_post})" if sig.signer_post else ""
    return {"file": name, "caption": f"{sig.signer_name}{post} · {_at(sig.signed_at or sig.received_at, zone)}"}


def _label(labels: dict, key: str) -> str:
    return str(labels.get(key, key))


def _at(moment, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return format_local(moment, zone, fmt)


def document(*, notice, visit, outlet, rows: list[dict], photos: dict, link: str, person: str,
             acknowledged_by: str, confirmation, acknowledgement) -> NoticeDocument:
    """The paper's data from what the view gathered (``rows``: a dict per line, see
    ``reports.views._notice_print``); ``photos`` by item code, already limited to what the viewer may
    see. Labels in the locale in force (the view makes papers in Chinese)."""
    zone = outlet.timezone
    files: dict[str, tuple[str, object]] = {}
    meta = [{"label": "网点", "text": f"{outlet.name}({outlet.code})", "signature": None},
            {"label": "地址", "text": outlet.address or "", "signature": None}]
    if visit:
        day = _at(visit.checkin_at or visit.released_at, zone, "%Y年%m月%d日")
        meta.append({"label": "检查", "text": f"{_label(KIND_LABELS, visit.kind)} · {day} · {person}", "signature": None})
    else:
        meta.append({"label": "来源", "text": notice.origin or "", "signature": None})
    meta.append({"label": "下发时间", "text": _at(notice.issued_at, zone), "signature": None})
    if confirmation:
        if confirmation.refused:
            post = f",{confirmation.signer_post}" if confirmation.signer_post else ""
            when = _at(confirmation.signed_at or confirmation.received_at, zone)
            meta.append({"label": "现场确认", "signature": None,
                         "text": f"拒绝签字:{confirmation.refusal_reason}({confirmation.signer_name}{post} · {when})"})
        else:
            meta.append({"label": "现场确认", "text": "", "signature": _signed(files, confirmation, zone)})
    if notice.acknowledged_at:
        signed_note = "(手写签名见文末)" if acknowledgement else ""
        meta.append({"label": "签收", "signature": None,
                     "text": f"{acknowledged_by} · {_at(notice.acknowledged_at, zone)}{signed_note}"})
    else:
        meta.append({"label": "签收", "text": "未签收", "signature": None})
    source = "经本网点自查" if visit and visit.kind == "self" else "经检查" if visit else "经投诉调查"
    lines = []
    for number, row in enumerate(rows, start=1):
        line = row["line"]
        shown = []
        for photo in photos.get(line.item_code, [])[:PHOTOS_PER_LINE]:
            if photo.markup_id:
                name = f"m{photo.markup_id}.jpg"
                files[name] = ("marked", photo.markup_id)
            else:
                name = f"p{photo.id}.jpg"
                files[name] = ("photo", photo)
            shown.append({"file": name, "marked": bool(photo.markup_id)})
        warnings = []
        if line.repeat_of_id:
            since = line.repeat_since.strftime("%Y-%m-%d") if line.repeat_since else "—"
            warnings.append(f"【屡查屡犯】前次不合格:{since},整改期限按严重程度上调一级")
        if line.self_check_visit_id:
            day = line.self_check_day.strftime("%Y-%m-%d") if line.self_check_day else "—"
            warnings.append(f"【自查不实】本网点 {day} 自查此项填报合格")
        review = row["review"]
        review_text = review_signature = None
        if review:
            outcome = {"verified": "复查通过", "closed_own": "自查整改销项"}.get(review.action, "复查未通过")
            review_text = f"{outcome} {_at(review.at, zone, '%m-%d')}" + (f" {row['reviewer']}" if row["reviewer"] else "")
            if row["review_signature"]:
                review_signature = _signed(files, row["review_signature"], zone)["file"]
        lines.append({
            "no": str(number), "code": line.item_code,
            "head": f"期限 {line.deadline_date.strftime('%Y-%m-%d')}({_label(SEVERITY_LABELS, line.severity)})",
            "late": f"逾期 {row['late']} 天" if row["late"] else "",
            "tail": f" · 责任人 {row['responsible']} · {_label(LINE_STATUS_LABELS, line.status)}",
            "photos": shown, "red_line": bool(line.red_line),
            "found": ("【红线】" if line.red_line else "") + (row["found"] or ""),
            "warnings": warnings, "standard": row["standard"] if visit else None,
            "requirement": line.requirement or "", "receipt": row["standard"] or "",
            "review": review_text, "review_note": (review.text or "") if review else "",
            "review_signature": review_signature,
        })
    data = {
        "number": notice.number, "meta": meta, "lines": lines, "link": link,
        "intro": f"{source},你网点存在以下问题,请按要求在期限内整改,并在系统中逐项回复整改情况及整改后照片。",
        "signer_role": "检查人员" if visit else "下发人员", "signer_unit": "检查单位" if visit else "下发单位",
        "acknowledgement": _signed(files, acknowledgement, zone) if acknowledgement else None,
        "receipt_text": (f"{outlet.name}已收到编号为 {notice.number} 的整改通知书,共 {len(rows)} 项问题,已于 ______ 年 ___ 月 "
                         "___ 日前按要求整改完毕,整改情况及整改后照片已在系统中逐项回复。"),
    }
    return NoticeDocument(json.dumps(data, ensure_ascii=False, sort_keys=True), files)


@functools.cache
def fonts() -> typst.Fonts:
    """The fonts Typst may use, found once per process and shared by every render (threads
    included): searching the system's fonts again was most of a render (0.15 s of a 100-line
    notice's 0.2 s; about 0.07 s with the search kept)."""
    return typst.Fonts()


@functools.cache
def template() -> str:
    """The template's text, read once per process (a deploy restarts it)."""
    return TEMPLATE.read_text(encoding="utf-8")


def render(paper: NoticeDocument, *, storage, qr: bytes, markups: dict[int, object]) -> bytes:
    """The PDF of ``paper``: its data, the QR code and its images written to a fresh folder, then
    typeset there. ``markups`` by id, the marked copies the viewer may see (``evidence.markup``)."""
    with tempfile.TemporaryDirectory(prefix="notice-") as folder:
        root = Path(folder)
        (root / "notice.typ").write_text(template(), encoding="utf-8")
        (root / "data.json").write_text(paper.source, encoding="utf-8")
        (root / "qr.png").write_bytes(qr)
        for name, (kind, row) in paper.files.items():
            if kind == "photo":
                data = pdf.photo_bytes(storage, row, "thumb", "thumbs")
            elif kind == "marked":
                data = pdf.marked_bytes(storage, markups[row], "thumb", "thumbs")
            else:
                data = pdf.signature_bytes(storage, row)
            (root / name).write_bytes(data)
        # the document's date from the app's clock, not the host's
        return typst.compile(str(root / "notice.typ"), root=folder, font_paths=fonts(),
                             timestamp=int(clock.now().timestamp()))
