"""互联网+明厨亮灶: the four rates per school, district and city on hand-made records; the templates load them and
reject bad rows; the contract for the three record types (both backends)."""

from __future__ import annotations

import datetime as dt

from graph.view import ReadView
from loaders.load import load_files
from ontology import rdf
from ontology.records import KitchenCamera, KitchenDay, KitchenProblem, Operator
from reasoning.kitchens import kitchen_rates

from .schools_net import SCHOOL1, SCHOOL2, network

SCHOOL3 = "urn:foodtrace:operator:school3"


def day(c, d, on, up):
    return KitchenDay(id=f"kd:{c[-7:]}:{d}", canteen_id=c, date=f"2026-03-0{d}", online_hours=on, expected_hours=8.0,
                      tickets_uploaded=up, menu_uploaded=True)


def records():
    return network() + [
        Operator(id=SCHOOL3, kind="SchoolCanteen", name="崇川区某幼儿园食堂", region_id="urn:foodtrace:region:320602"),
        KitchenCamera(id="kc1", canteen_id=SCHOOL1, connected="2026-02-01", cameras=4, platform="阳光食安"),
        KitchenCamera(id="kc2", canteen_id=SCHOOL2, connected="2026-02-01", disconnected="2026-03-03"),
        KitchenCamera(id="kc3", canteen_id=SCHOOL3, connected="2026-04-01"),
        day(SCHOOL1, 2, 8.0, True), day(SCHOOL1, 3, 6.0, True), day(SCHOOL1, 4, 8.0, False),
        day(SCHOOL2, 2, 8.0, True),
        KitchenProblem(id="kp1", canteen_id=SCHOOL1, found="2026-03-02", description="未戴口罩", rectified="2026-03-03"),
        KitchenProblem(id="kp2", canteen_id=SCHOOL1, found="2026-03-04", description="生熟未分开"),
        KitchenProblem(id="kp3", canteen_id=SCHOOL1, found="2026-02-10", description="上月问题"),
    ]


def test_round_trip_and_shapes(store):
    recs = records()
    store.write(recs)
    for rec in recs[-7:]:
        assert store.get(rec.table, rec.id) == rec
    mine = [r for r in recs if r.table in ("operator", "kitchen_camera", "kitchen_day", "kitchen_problem")]
    conforms, text = rdf.validate(rdf.to_graph(mine))
    assert conforms, text
    bad = KitchenDay(id="kd-bad", canteen_id=SCHOOL1, date="2026-03-05", online_hours=9.0, expected_hours=8.0)
    assert [v.focus for v in rdf.violations(rdf.to_graph(mine + [bad]))] == ["urn:foodtrace:kitchen_day:kd-bad"]


def test_four_rates_per_school_district_and_city(store):
    store.write(records())
    rows = {(r.scope, r.id): r for r in kitchen_rates(ReadView(store), since=dt.date(2026, 3, 1),
                                                      until=dt.date(2026, 3, 31))}
    s1 = rows[("school", SCHOOL1)]
    assert s1.rates == {"connection": 1.0, "online": round(22 / 24, 4), "upload": round(2 / 3, 4),
                        "rectification": 0.5}
    assert s1.missed == ("online", "upload", "rectification")
    s2 = rows[("school", SCHOOL2)]          # disconnected on 03-03: not connected at the end, its hours not counted
    assert s2.rates == {"connection": 0.0, "online": None, "upload": 1.0, "rectification": None}
    cc = rows[("district", "urn:foodtrace:region:320602")]     # school 1 and the kindergarten (connected in April)
    assert (cc.schools, cc.connected, cc.rates["connection"]) == (2, 1, 0.5)
    city = rows[("city", "urn:foodtrace:region:320600")]
    assert (city.schools, city.connected, city.days, city.days_uploaded, city.problems, city.rectified) == (
        3, 1, 4, 3, 2, 1)


def test_templates_load_and_reject_bad_rows(store, tmp_path):
    store.write(network())
    (tmp_path / "kc.csv").write_text(f"食堂,接入日期,摄像头数\n{SCHOOL1},2026-02-01,4\nurn:x:nobody,2026-02-01,1\n",
                                     encoding="utf-8")
    (tmp_path / "kd.csv").write_text(f"食堂,日期,在线时长,应在线时长,票据已上传,菜谱已上传\n{SCHOOL1},2026-03-02,7,8,是,是\n"
                                     f"{SCHOOL1},2026-03-03,9,8,是,是\n", encoding="utf-8")
    (tmp_path / "kp.csv").write_text(f"食堂,发现日期,问题描述,整改完成日期\n{SCHOOL1},2026-03-02,未戴口罩,2026-03-03\n"
                                     f"{SCHOOL1},2026-03-05,垃圾桶未加盖,2026-03-04\n", encoding="utf-8")
    outcomes = load_files(store, [tmp_path / "kc.csv", tmp_path / "kd.csv", tmp_path / "kp.csv"])
    reasons = [r.reason for o in outcomes for r in o.rejects]
    assert len(reasons) == 3
    assert any("no operator" in x for x in reasons) and any("more than the 8.0 working hours" in x for x in reasons)
    assert any("before it was found" in x for x in reasons)
    assert [len(list(store.scan(t))) for t in ("kitchen_camera", "kitchen_day", "kitchen_problem")] == [1, 1, 1]


def test_the_indicator_pack_carries_the_four_rates_per_district_and_month(store):
    from reasoning.indicators import indicators

    store.write(records())
    rep = indicators(ReadView(store), "2026-02-01", "2026-03-31")
    got = {(v.district[-6:], v.month, v.indicator): (v.numerator, v.denominator, v.status(rep.table))
           for v in rep.values if v.indicator.startswith("kitchen_")}
    # March: school 1 connected (school 2 disconnected on 03-03, the kindergarten not yet): 崇川 1/2, 通州 0/1
    assert got[("320602", "2026-03", "kitchen_connection")] == (1, 2, "red")
    assert got[("320612", "2026-03", "kitchen_connection")] == (0, 1, "red")
    assert got[("320600", "2026-03", "kitchen_connection")] == (1, 3, "red")
    assert got[("320600", "2026-03", "kitchen_online")] == (22.0, 24.0, "red")
    assert got[("320600", "2026-03", "kitchen_upload")] == (3, 4, "red")
    assert got[("320600", "2026-03", "kitchen_rectification")] == (1, 2, "red")
    # February: school 1 and school 2 connected, one problem found and not put right, nothing logged
    assert got[("320600", "2026-02", "kitchen_connection")] == (2, 3, "red")
    assert got[("320600", "2026-02", "kitchen_online")][:2] == (0, 0)
    assert got[("320600", "2026-02", "kitchen_rectification")] == (0, 1, "red")
    short = {v.indicator: v.evidence for v in rep.values if v.district.endswith("320600") and v.month == "2026-03"}
    assert short["kitchen_connection"] == tuple(sorted([SCHOOL2, SCHOOL3]))
    assert short["kitchen_upload"] == (SCHOOL1,)
