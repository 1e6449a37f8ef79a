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
