"""Fixtures of the console tests: a live server over the hand-made store plus two districts' businesses, and one
signed-in-able staff account per role (passwords already changed, so no first-sign-in redirect)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import httpx
import pytest

from api.console.accounts import Accounts
from graph.store import open_store
from ontology.records import Complaint, DisposalCase, Operator, Sample, TestResult
from reasoning.events import event_id

from ..service import dataset
from ..service.conftest import DISTRICT, LiveServer

#: a shop in the district officer's district (崇川区) and one in another (海安市)
SHOP = "urn:foodtrace:operator:cc-shop"
FAR = "urn:foodtrace:operator:ha-shop"
HAIAN = "urn:foodtrace:region:320685"
PASSWORD = "Nantong-2026!"
#: each role's account: user name -> (role, district)
USERS = {"inv": ("investigator", None), "ana": ("analyst", None), "cre": ("credit", None),
         "dis": ("district", DISTRICT), "adm": ("admin", None)}


def extra_records() -> list:
    return [
        Operator(id=SHOP, kind="Supermarket", name="崇川某某超市", region_id=DISTRICT),
        Operator(id=FAR, kind="Supermarket", name="海安某某超市", region_id=HAIAN),
        Sample(id="urn:foodtrace:sample:cc-1", plan="supervisory", sampled_id=SHOP, product_name="猪肉",
               sampled_at="2026-10-03", conclusion="nonconforming", lot_id=dataset.PORK_LOT),
        TestResult(id="urn:foodtrace:test_result:cc-1:1", sample_id="urn:foodtrace:sample:cc-1", item="克伦特罗",
                   hazard_class="illegal_additive", conclusion="nonconforming"),
        Sample(id="urn:foodtrace:sample:ha-1", plan="supervisory", sampled_id=FAR, product_name="鸡蛋",
               sampled_at="2026-10-03", conclusion="nonconforming"),
        DisposalCase(id="urn:foodtrace:disposal_case:HC-CC", number="HC-CC", trigger="supervisory_sample",
                     operator_id=SHOP, district_id=DISTRICT, sample_id="urn:foodtrace:sample:cc-1",
                     opened="2026-10-12", due="2027-01-10", rules_version="2026.1"),
        DisposalCase(id="urn:foodtrace:disposal_case:HC-HA", number="HC-HA", trigger="supervisory_sample",
                     operator_id=FAR, district_id=HAIAN, sample_id="urn:foodtrace:sample:ha-1",
                     opened="2026-10-12", due="2027-01-10", rules_version="2026.1"),
        Complaint(id="urn:foodtrace:complaint:TS-HA", operator_id=FAR, date="2026-10-20", kind="complaint"),
    ]


def build(path: str) -> None:
    dataset.build(path)
    with open_store(path) as s:
        s.write(extra_records())


def add_users(service_db: str) -> None:
    acc = Accounts(service_db)
    try:
        for name, (role, district) in USERS.items():
            acc.create_user(name, role=role, name=f"测试{role}", district=district, password="Initial-2026!")
            acc.set_password(name, PASSWORD, by_admin=False)
    finally:
        acc.close()


def start(tmp) -> LiveServer:
    build(str(tmp / "store.db"))
    service_db = str(tmp / "service.db")
    add_users(service_db)
    return LiveServer(str(tmp / "store.db"), service_db)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """A live server with the console over the hand-made store (tests that write use ``writable_console``)."""
    s = start(tmp_path_factory.mktemp("console"))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def writable_console(tmp_path):
    s = start(tmp_path)
    try:
        yield s
    finally:
        s.stop()


def login_token(client: httpx.Client) -> str:
    page = client.get("/console/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


@contextmanager
def sign_in(server: LiveServer, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """An HTTP client signed in as ``username`` (its session cookie set)."""
    with httpx.Client(base_url=server.url, timeout=60) as c:
        token = login_token(c)
        r = c.post("/console/login", data={"username": username, "password": password, "csrf": token, "next": ""})
        assert r.status_code == 303 and r.headers["location"] == "/console/", r.text
        yield c


def csrf_of(client: httpx.Client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/console/").text).group(1)


# -- the special programmes' pages (schools, 明厨亮灶, banquets, major events) ----------------------------------

#: 通州区, the other district of the school network (school 2, the veg farm)
TONGZHOU = "urn:foodtrace:region:320612"


def programme_records() -> list:
    """The school network of the school tests (school 1 and its distributor graded D in 崇川区, school 2 and its
    listed veg farm in 通州区), its alerts, 明厨亮灶 records of March 2026, banquets around today and two events."""
    import datetime as dt

    from ontology.records import (Banquet, BanquetCensus, BanquetGuidance, Chef, KitchenCamera, KitchenDay,
                                  KitchenProblem, MajorEvent, SchoolAlert)
    from ontology.times import today
    from reasoning.schools import alert_id
    from tests.reasoning.schools_net import (DIST, FARM, PIG, PORK, SCHOOL1, SCHOOL2, VFARM, failing, network,
                                             standing)

    def day(n: int) -> str:
        return str(today() + dt.timedelta(days=n))

    month = str(today())[:7]
    alerts = [
        SchoolAlert(id=alert_id("failed_sample", SCHOOL1, "s-farm"), kind="failed_sample", school_id=SCHOOL1,
                    district_id=DISTRICT, raised="2026-03-01T10:00:00+08:00", sample_id="s-farm", lot_id=PORK,
                    sample_lot_id=PIG, delivery_id="d3", relation="upstream", tier="certain", supplier_id=DIST,
                    message="南通市第一小学食堂收到的批次PORK-1的上游批次PIG-1抽检不合格（恩诺沙星）。"),
        SchoolAlert(id=alert_id("supplier_grade", SCHOOL1, "ra1"), kind="supplier_grade", school_id=SCHOOL1,
                    district_id=DISTRICT, raised="2026-03-01T12:00:00+08:00", supplier_id=DIST, grade="D",
                    message="南通市第一小学食堂的供应商某某配送中心风险等级为D级。"),
        SchoolAlert(id=alert_id("supplier_listed", SCHOOL2, "cr1"), kind="supplier_listed", school_id=SCHOOL2,
                    district_id=TONGZHOU, raised="2026-03-03T07:00:00+08:00", supplier_id=VFARM,
                    credit_record_id="cr1", message="通州区实验中学食堂的供应商某某蔬菜基地列入严重违法失信名单（2026-02-01起）。"),
    ]
    kitchens = [
        KitchenCamera(id="kc-1", canteen_id=SCHOOL1, connected="2026-01-05", cameras=4),
        KitchenDay(id="kd-1", canteen_id=SCHOOL1, date="2026-03-02", online_hours=8, expected_hours=8,
                   tickets_uploaded=True, menu_uploaded=True),
        KitchenDay(id="kd-2", canteen_id=SCHOOL1, date="2026-03-03", online_hours=6, expected_hours=8,
                   tickets_uploaded=True, menu_uploaded=False),
        KitchenDay(id="kd-3", canteen_id=SCHOOL2, date="2026-03-02", tickets_uploaded=True, menu_uploaded=True),
        KitchenProblem(id="kp-1", canteen_id=SCHOOL1, found="2026-03-02", description="生熟未分开", rectified="2026-03-05"),
        KitchenProblem(id="kp-2", canteen_id=SCHOOL2, found="2026-03-03", description="留样不足"),
    ]
    banquets = [
        Chef(id="chef-1", name="王师傅", district_id=DISTRICT, health_cert_expiry=day(-5)),
        Chef(id="chef-2", name="李师傅", district_id=TONGZHOU, health_cert_expiry=day(10)),
        Operator(id="urn:foodtrace:operator:banquet:CC-1", kind="RuralBanquet", name="CC-1 集体聚餐", region_id=DISTRICT),
        Banquet(id="bq-cc-1", number="CC-1", station_id="urn:foodtrace:operator:banquet:CC-1", host="张某某",
                host_phone="13900000001", kind="婚宴", date=day(3), place="崇川区某某社区活动中心", district_id=DISTRICT,
                guests=300, tables=30, chef_id="chef-1", registered=day(-2) + "T09:00:00+08:00"),
        Banquet(id="bq-cc-2", number="CC-2", host="陈某某", kind="寿宴", date=day(10), place="崇川区某某村", district_id=DISTRICT,
                guests=60, tables=6, chef_id="chef-1", registered=day(-1) + "T09:00:00+08:00"),
        Banquet(id="bq-tz-1", number="TZ-1", host="赵某某", kind="升学宴", date=day(5), place="通州区某某镇某某村",
                district_id=TONGZHOU, guests=250, chef_id="chef-2", registered=day(-1) + "T10:00:00+08:00"),
        BanquetGuidance(id="bg-1", banquet_id="bq-cc-2", date=day(10), by="崇川区局", rectified=True),
        BanquetCensus(id="bc-cc", district_id=DISTRICT, month=month, expected=4),
        BanquetCensus(id="bc-tz", district_id=TONGZHOU, month=month, expected=1),
    ]
    events = [
        MajorEvent(id=event_id("2026南通国际会议", "2026-03-02"), name="2026南通国际会议", level="municipal",
                   start="2026-03-02", end="2026-03-04", venues="南通国际会议中心；南通大剧院", kitchen_ids=SCHOOL1,
                   supplier_ids=f"{FARM} {DIST}", district_id=DISTRICT, organiser="南通市人民政府"),
        MajorEvent(id=event_id("通州区运动会", "2026-03-03"), name="通州区运动会", level="district", start="2026-03-03",
                   end="2026-03-03", kitchen_ids=SCHOOL2, supplier_ids=VFARM, district_id=TONGZHOU),
    ]
    return (network() + standing() + failing("s-farm", PIG, FARM, "2026-03-01") + alerts + kitchens + banquets
            + events)


#: the events' ids
EVENT_CC, EVENT_TZ = event_id("2026南通国际会议", "2026-03-02"), event_id("通州区运动会", "2026-03-03")


@pytest.fixture(scope="module")
def programmes_console(tmp_path_factory):
    """A live server over the console's store plus the programmes' records; the alert worker is off, so the alerts
    are exactly the hand-written ones."""
    tmp = tmp_path_factory.mktemp("programmes")
    path = str(tmp / "store.db")
    build(path)
    with open_store(path) as s:
        s.write(programme_records())
    add_users(str(tmp / "service.db"))
    s = LiveServer(path, str(tmp / "service.db"), env={"FOODTRACE_SCHOOL_ALERTS": "false"})
    try:
        yield s
    finally:
        s.stop()
