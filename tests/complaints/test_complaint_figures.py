"""The complaint figures managers read, as numbers: the board's complaint section, the week's and
the month's bulletin, the hotspots by category, outlet and staff member with the change against
the month before (page and export). Complaints are walked through the services at the times they
happened, so received, concluded and overdue fall where the calendar of the outlets puts them."""
from __future__ import annotations

import datetime as dt
import html
import re

from inspect_app import clock
from tests.reports.test_exports import records

SHANGHAI = clock.zone("Asia/Shanghai")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def table_after(page: str, label: str) -> dict[str, list[str]]:
    """The rows of the table in the region labelled ``label``, by their first cell, as plain text."""
    start = page.index(f'aria-label="{label}"')
    table = page[start:page.index("</table>", start)]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def test_the_boards_complaint_section_counts_this_month(history, client_as, people):
    rows = table_after(client_as(people["director"]).get("/board").get_data(as_text=True), "投诉")
    # received, substantiated, appeals, open (whenever received), overdue now, first-contact rate
    assert rows == {"杭州市": ["1", "0", "0", "1", "0", "—"], "宁波市": ["0", "0", "0", "1", "1", "—"]}
    # the board's months chosen: November's complaints (open and overdue are as of now, whenever received)
    rows = table_after(client_as(people["director"]).get("/board?from=2026-11&to=2026-11").get_data(as_text=True), "投诉")
    assert rows == {"杭州市": ["2", "1", "1", "1", "0", "50.0"], "宁波市": ["2", "1", "0", "1", "1", "100.0"]}
    # a city manager's board: its counties
    rows = table_after(client_as(people["manager"]).get("/board").get_data(as_text=True), "投诉")
    assert rows == {"西湖区": ["1", "0", "0", "1", "0", "—"]}


def test_the_week_and_month_bulletins_print_the_complaint_figures(history, client_as, people):
    director = client_as(people["director"])
    week = table_after(director.get("/bulletins?kind=week&date=2026-11-25").get_data(as_text=True), "投诉")
    # the week of 23-29 November: A and B in Hangzhou (one substantiated, one a regulator appeal, A resolved
    # at first contact, B handed on); D in Ningbo, overdue as the week ended (its three days ran out on the 29th)
    assert week == {"杭州市": ["2", "1", "1", "0", "50.0%"], "宁波市": ["1", "0", "0", "1", "—"]}
    month = table_after(director.get("/bulletins?kind=month&date=2026-11-01").get_data(as_text=True), "投诉")
    assert month == {"杭州市": ["2", "1", "1", "0", "50.0%"], "宁波市": ["2", "1", "0", "1", "100.0%"]}
    page = director.get("/bulletins?kind=month&date=2026-11-01").get_data(as_text=True)
    # by category, November against October
    assert "服务态度 2/1" in page and "乱收费 1/0" in page and "时限 1/1" in page
    # a city manager's bulletin: the city's counties
    assert "西湖区" in table_after(client_as(people["manager"]).get(
        "/bulletins?kind=month&date=2026-11-01").get_data(as_text=True), "投诉")


def test_hotspots_by_outlet_and_staff_against_the_month_before(history, client_as, people, org_tree):
    director = client_as(people["director"])
    page = director.get("/complaints/hotspots?month=2026-11").get_data(as_text=True)
    assert "首问解决率" in page and "66.7 %" in page  # A and C by their takers, B handed on: 2 of 3
    assert "这不是一个月份" not in page
    for wrong in ("2026-13", "2026-1", "<b>", "2026-11-01"):  # this month instead, and said so
        shown = director.get(f"/complaints/hotspots?month={wrong}").get_data(as_text=True)
        assert "这不是一个月份(应写作 2026-11),已显示本月。" in shown and "<b>" not in shown, wrong
    rows = records(director.get("/complaints/hotspots/export.csv?month=2026-11"), "csv")
    figures = {(r["统计维度"], r["类别/网点/员工"]): (r["本月"], r["上月"], r["较上月"]) for r in rows}
    outlet = {o: org_tree[o].name for o in ("xihu1", "xihu2", "haishu1")}
    assert figures == {
        ("按类别", "服务态度"): ("2", "1", "1"), ("按类别", "乱收费"): ("1", "0", "1"), ("按类别", "时限"): ("1", "1", "0"),
        ("按网点", outlet["haishu1"]): ("2", "1", "1"), ("按网点", outlet["xihu2"]): ("1", "0", "1"),
        ("按网点", outlet["xihu1"]): ("1", "1", "0"),
        # substantiated (or partly) only: G was unfounded
        ("按员工(有责)", "陈静(330203001-01)"): ("1", "0", "1"), ("按员工(有责)", "王小红(330106001-01)"): ("1", "1", "0"),
    }
    staff_table = page[page.index("按员工(有责)"):]
    assert re.search(r"陈静\(330203001-01\)</a></td>\s*<td class=\"num\">1</td><td class=\"num\">0</td>"
                     r"<td class=\"num\"><span class=\"bad\">▲1</span>", staff_table)
    assert re.search(r"王小红\(330106001-01\)</a></td>\s*<td class=\"num\">1</td><td class=\"num\">1</td>"
                     r"<td class=\"num\"><span class=\"muted\">—</span>", staff_table)
    # the Hangzhou manager: Hangzhou's outlets only
    rows = records(client_as(people["manager"]).get("/complaints/hotspots/export.csv?month=2026-11"), "csv")
    assert {r["类别/网点/员工"] for r in rows if r["统计维度"] == "按网点"} == {outlet["xihu1"], outlet["xihu2"]}
