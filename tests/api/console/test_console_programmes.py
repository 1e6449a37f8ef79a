"""The console's pages of the special programmes on hand-made records (exact contents): school alerts and supply
lists (with the CSV download), the 明厨亮灶 rates against their targets, rural banquets (registrations, reminders,
statistics against the 摸底 census) and major events (the event page, its report page and workbook); each role
reaches the pages of its permissions and a district officer sees their own district only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import quote

import openpyxl
import pytest

from api.service.security import PERMISSIONS
from ontology.times import today
from tests.reasoning.schools_net import DIST, FARM, PIG, SCHOOL1, SCHOOL2, VFARM

from .conftest import EVENT_CC, EVENT_TZ, USERS, sign_in

#: page -> the permission it needs (the API endpoint's)
PROGRAMME_PAGES = {
    "/console/schools": "warnings",
    "/console/schools/supply?from=2026-03-01&to=2026-03-31": "profile",
    "/console/schools/supply.csv?from=2026-03-01&to=2026-03-31": "profile",
    "/console/kitchens?from=2026-03-01&to=2026-03-31": "indicators",
    "/console/banquets": "disposal.read",
    "/console/banquets/stats?from=2026-03-01&to=2026-03-31": "indicators",
    "/console/events": "profile",
    f"/console/events/{quote(EVENT_CC, safe='')}": "profile",
    f"/console/events/{quote(EVENT_CC, safe='')}/report": "profile",
    f"/console/events/{quote(EVENT_CC, safe='')}/report.xlsx": "profile",
}
#: navigation entries -> the permission that shows them
NAV = {"/console/schools": "warnings", "/console/kitchens": "indicators", "/console/events": "profile",
       "/console/banquets": "disposal.read"}


def _text(html: str) -> str:
    """The visible text of a page, tags dropped and white space folded (for reading order checks)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("user", sorted(USERS))
def test_each_role_reaches_the_programme_pages_of_its_permissions(programmes_console, user):
    role = USERS[user][0]
    with sign_in(programmes_console, user) as c:
        for page, perm in PROGRAMME_PAGES.items():
            r = c.get(page, follow_redirects=False)
            allowed = role == "admin" or role in PERMISSIONS[perm]
            assert r.status_code == (200 if allowed else 403), (user, page, r.status_code)
            if not allowed:
                assert "无权访问" in r.text
        home = c.get("/console/").text
        for href, perm in NAV.items():
            shown = role == "admin" or role in PERMISSIONS[perm]
            assert (f'href="{href}"' in home) == shown, (user, href)


def test_school_alerts_newest_first_with_their_links(programmes_console):
    with sign_in(programmes_console, "adm") as c:
        page = c.get("/console/schools").text
        text = _text(page)
        assert "共 3 条" in text
        order = [text.index(m) for m in ("列入严重违法失信名单（2026-02-01起）", "风险等级为D级", "上游批次PIG-1抽检不合格")]
        assert order == sorted(order)
        assert "2026-03-03 07:00" in text and "上游批次 · 确定" in text
        assert f'href="/console/samples/s-farm"' in page
        assert f'href="/console/lots/{quote(PIG, safe="")}"' in page
        assert f'href="/console/trace?id={quote(PIG, safe="")}&amp;direction=down"' in page
        assert f'href="/console/schools/supply?school={quote(SCHOOL1, safe="")}"' in page
        only = _text(c.get("/console/schools", params={"kind": "supplier_listed"}).text)
        assert "共 1 条" in only and "通州区实验中学食堂" in only and "南通市第一小学食堂" not in only
        school = _text(c.get("/console/schools", params={"school": SCHOOL2}).text)
        assert "共 1 条" in school
        assert c.get("/console/schools", params={"kind": "other"}).status_code == 422
    with sign_in(programmes_console, "cre") as c:     # may read the alerts, may not trace
        page = c.get("/console/schools").text
        assert "共 3 条" in _text(page) and "/console/trace?" not in page


def test_school_supply_names_the_gaps_and_downloads_as_the_cli_csv(programmes_console):
    with sign_in(programmes_console, "adm") as c:
        page = c.get("/console/schools/supply", params={"from": "2026-03-01", "to": "2026-03-31"}).text
        text = _text(page)
        assert "2 所学校、2 家供应商、2 次进货" in text
        assert "无票据 1" in text and "无合格证明 1" in text and "供应商风险等级C/D 1" in text
        assert "供应商列入严重违法失信名单 1" in text
        assert f'href="/console/lots/{quote("urn:foodtrace:lot:pork", safe="")}"' in page
        dist = _text(c.get("/console/schools/supply", params={"from": "2026-03-01", "to": "2026-03-31",
                                                             "distributor": DIST}).text)
        assert "1 所学校、1 家供应商、1 次进货" in dist and "南通市第一小学食堂" in dist
        r = c.get("/console/schools/supply.csv", params={"from": "2026-03-01", "to": "2026-03-31"})
        assert r.headers["content-type"].startswith("text/csv") and r.content.startswith(b"\xef\xbb\xbf")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["学校食堂", "所属区县", "交付"] and rows[0][-1] == "缺口"
        assert [(x[0], x[2], x[12], x[-1]) for x in rows[1:]] == [
            ("南通市第一小学食堂", "d3", "D", "供应商风险等级C/D"),
            ("通州区实验中学食堂", "d5", "", "无票据、无合格证明、供应商列入严重违法失信名单")]
        assert c.get("/console/schools/supply", params={"from": "2026-03-31", "to": "2026-03-01"}).status_code == 422
        assert c.get("/console/schools/supply", params={"school": "no-such-school"}).status_code == 404


def test_kitchen_rates_mark_the_ones_below_target(programmes_console):
    with sign_in(programmes_console, "ana") as c:
        page = c.get("/console/kitchens", params={"from": "2026-03-01", "to": "2026-03-31"}).text
    schools = page[page.index('id="kitchen-schools"'):]
    first, second = schools.split("</tr>")[1], schools.split("</tr>")[2]
    assert "南通市第一小学食堂" in first and "通州区实验中学食堂" in second
    # school 1: connected, online 14 of 16 hours, 1 of 2 days uploaded, its problem put right
    assert re.findall(r"[\d.]+%(?: 未达标)?", _text(first)) == ["100.0%", "87.5% 未达标", "50.0% 未达标", "100.0%"]
    # school 2: no camera (online rate undefined), its day uploaded, its problem open
    assert re.findall(r"[\d.]+%(?: 未达标)?", _text(second)) == ["0.0% 未达标", "100.0%", "0.0% 未达标"]
    assert "共 2 所，2 所有未达标的率" in _text(page)
    areas = _text(page[page.index('id="kitchen-areas"'):page.index('id="kitchen-schools"')])
    assert "崇川区" in areas and "通州区" in areas and "全市 2 50.0% 未达标" in areas


def test_banquets_list_reminders_and_statistics(programmes_console):
    day = today()
    with sign_in(programmes_console, "adm") as c:
        page = c.get("/console/banquets").text
        text = _text(page)
        assert "共 3 场" in text and "CC-1" in text and "TZ-1" in text
        for private in ("张某某", "陈某某", "13900000001"):     # hosts' names and phones are never shown
            assert private not in page
        assert 'href="/console/operators/urn%3Afoodtrace%3Aoperator%3Abanquet%3ACC-1"' in page
        rows = page[page.index('id="banquet-table"'):].split("</tr>")[1:4]
        assert [re.search(r"(CC|TZ)-\d", r).group(0) for r in rows] == ["CC-1", "TZ-1", "CC-2"]
        assert f"{day - dt.timedelta(days=5)} 聚餐日已过期" in rows[0] and "未指导" in rows[0] and "大型" in rows[0]
        assert "已指导" in rows[2] and "已过期" not in rows[1]
        reminders = _text(page[page.index('id="reminders"'):page.index("</ul>")])
        assert "健康证已过期" in reminders and "王师傅" in reminders and "李师傅" in reminders
        assert reminders.count("大型聚餐未指导") == 2
        later = _text(c.get("/console/banquets", params={"from": str(day + dt.timedelta(days=4))}).text)
        assert "共 2 场" in later and "CC-1" not in later.split("报备登记")[1]
        this_month = _text(c.get("/console/banquets/stats").text)       # the whole current month by default
        first = day.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        assert f"{first} – {last}" in this_month
        stats = _text(c.get("/console/banquets/stats", params={"from": str(day), "to": str(day)}).text)
        assert "崇川区 0 4 0.0%" in stats
        month = _text(c.get("/console/banquets/stats", params={
            "from": str(day - dt.timedelta(days=1)), "to": str(day + dt.timedelta(days=20))}).text)
        assert "崇川区 2 " in month and "通州区 1 " in month


def test_event_pages_show_period_kitchens_vetting_and_deliveries(programmes_console):
    with sign_in(programmes_console, "inv") as c:
        listed = _text(c.get("/console/events").text)
        assert "共 2 项" in listed and listed.index("通州区运动会") < listed.index("2026南通国际会议")
        page = c.get(f"/console/events/{quote(EVENT_CC, safe='')}", params={"as_of": "2026-03-02"}).text
        text = _text(page)
        assert "2026-03-02 – 2026-03-04" in text and "南通国际会议中心；南通大剧院" in text and "市级" in text
        vetting = _text(page[page.index('id="vetting-table"'):page.index('id="event-deliveries"')])
        assert "某某养殖场" in vetting and "恩诺沙星" in vetting and vetting.count("不建议入选") == 2
        assert "风险等级D级" in vetting and "近12个月抽检不合格1批次" in vetting
        deliveries = _text(page[page.index('id="event-deliveries"'):])
        assert "2026-03-02 09:00 南通市第一小学食堂 某某配送中心 猪肉 PORK-1 t3 / c2" in deliveries
        assert "非定点" not in deliveries
        assert f'/console/events/{quote(EVENT_CC, safe="")}/report?as_of=2026-03-02' in page
        report = c.get(f"/console/events/{quote(EVENT_CC, safe='')}/report", params={"as_of": "2026-03-02"})
        assert report.status_code == 200 and "2026南通国际会议 食品安全保障报告" in report.text
        assert "恩诺沙星" in report.text
        xlsx = c.get(f"/console/events/{quote(EVENT_CC, safe='')}/report.xlsx", params={"as_of": "2026-03-02"})
        assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "供应商审查"
        assert c.get("/console/events/urn:foodtrace:major_event:none").status_code == 404
        other = _text(c.get(f"/console/events/{quote(EVENT_TZ, safe='')}").text)
        assert "某某蔬菜基地" in other and "列入严重违法失信名单" in other


def test_a_district_officer_sees_their_districts_programmes_only(programmes_console):
    with sign_in(programmes_console, "dis") as c:                    # 崇川区: school 1, CC banquets, the conference
        alerts = _text(c.get("/console/schools").text)
        assert "共 2 条" in alerts and "通州区实验中学食堂" not in alerts
        assert c.get("/console/schools", params={"district": "通州区"}).status_code == 403
        assert "共 0 条" in _text(c.get("/console/schools", params={"school": SCHOOL2}).text)
        supply = _text(c.get("/console/schools/supply", params={"from": "2026-03-01", "to": "2026-03-31"}).text)
        assert "1 所学校、1 家供应商、1 次进货" in supply and "通州区实验中学食堂" not in supply
        rows = c.get("/console/schools/supply.csv", params={"from": "2026-03-01", "to": "2026-03-31"}).text
        assert "d3" in rows and "d5" not in rows
        assert c.get("/console/schools/supply", params={"district": "通州区"}).status_code == 403
        kitchens = _text(c.get("/console/kitchens", params={"from": "2026-03-01", "to": "2026-03-31"}).text)
        assert "南通市第一小学食堂" in kitchens and "通州区" not in kitchens and "全市" not in kitchens.split("区县")[-1]
        assert c.get("/console/kitchens", params={"district": "通州区"}).status_code == 403
        banquets = c.get("/console/banquets").text
        assert "CC-1" in banquets and "TZ-1" not in banquets and "李师傅" not in banquets
        assert c.get("/console/banquets", params={"district": "通州区"}).status_code == 403
        stats = _text(c.get("/console/banquets/stats").text)
        assert "通州区" not in stats.split("报备统计")[-1]
        events = _text(c.get("/console/events").text)
        assert "共 1 项" in events and "通州区运动会" not in events
        for tail in ("", "/report", "/report.xlsx"):
            r = c.get(f"/console/events/{quote(EVENT_TZ, safe='')}{tail}")
            assert r.status_code == 403 and "own district" in r.text, tail
        assert c.get(f"/console/events/{quote(EVENT_CC, safe='')}").status_code == 200


def test_pages_switch_to_english(programmes_console):
    with sign_in(programmes_console, "adm") as c:
        assert "School food-safety alerts" in c.get("/console/schools", params={"lang": "en"}).text
        assert "Kitchen monitoring" in c.get("/console/kitchens").text
        assert "Rural banquets" in c.get("/console/banquets").text
        assert "Major events" in c.get("/console/events").text
        assert "学校食品安全预警" in c.get("/console/schools", params={"lang": "zh"}).text


def test_times_show_on_the_beijing_clock_whatever_offset_they_were_written_with(writable_console):
    """A delivery captured in UTC (as EPCIS documents often are) shows on the lot page at its Beijing time (the
    next day here), not as the text it was written with."""
    from graph.store import open_store
    from ontology.records import Delivery
    from tests.api.service import dataset as D

    with open_store(writable_console.store) as s:
        s.write([Delivery(id="d-utc", lot_id=D.PORK_LOT, sender_id=D.WHOLESALE, receiver_id=D.RESTAURANT,
                          time="2026-11-02T20:30:00Z", quantity=5.0, unit="KGM")])
    with sign_in(writable_console, "adm") as c:
        text = _text(c.get(f"/console/lots/{quote(D.PORK_LOT, safe='')}").text)
    assert "2026-11-03 04:30" in text and "2026-11-02 20:30" not in text
