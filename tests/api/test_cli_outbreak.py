"""`foodtrace outbreak CASES.csv`: the cases file (headers, encodings, bad rows), JSON shape, table.

The network: a vegetable farm ships lot VEG1 to three shops, a salt works ships lot SALT1 to the first two,
a pig farm ships lot PORK1 to the first shop only. The first two shops are cases, the third a non-case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from ontology.records import Alias, Delivery, Lot, Operator, Product

OP = "urn:foodtrace:operator:"
FARM, SALT, PIGS, SHOP1, SHOP2, SHOP3 = (OP + x for x in ("farm", "salt", "pigs", "shop1", "shop2", "shop3"))
SHOP1_USCC = "91320600MA1RUNF001"


def dlv(i: str, lot: str, frm: str, to: str, time: str) -> Delivery:
    return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=time)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "store.db")
    with open_store(path) as s:
        s.write([
            Operator(id=FARM, kind="CropFarm", name="如东青菜基地"), Operator(id=SALT, kind="Producer", name="盐业公司"),
            Operator(id=PIGS, kind="Farm", name="生猪养殖场"), Operator(id=SHOP1, kind="Supermarket", name="崇川超市"),
            Operator(id=SHOP2, kind="Supermarket", name="通州超市"), Operator(id=SHOP3, kind="Supermarket", name="海门超市"),
            Alias(id=SHOP1_USCC, canonical_id=SHOP1, entity="operator", scheme="uscc"),
            Product(id="p:veg", name="青菜", category="leafy_vegetable"), Product(id="p:salt", name="食盐", category="condiment"),
            Product(id="p:pork", name="猪肉", category="pork"),
            Lot(id="lot:VEG1", product_id="p:veg", lot_number="V-0301"),
            Lot(id="lot:SALT1", product_id="p:salt", lot_number="S-0301"),
            Lot(id="lot:PORK1", product_id="p:pork", lot_number="P-0301"),
            dlv("d1", "lot:VEG1", FARM, SHOP1, "2026-03-01T06:00:00+08:00"),
            dlv("d2", "lot:VEG1", FARM, SHOP2, "2026-03-01T07:00:00+08:00"),
            dlv("d3", "lot:VEG1", FARM, SHOP3, "2026-03-01T08:00:00+08:00"),
            dlv("d4", "lot:SALT1", SALT, SHOP1, "2026-03-01T09:00:00+08:00"),
            dlv("d5", "lot:SALT1", SALT, SHOP2, "2026-03-01T10:00:00+08:00"),
            dlv("d6", "lot:PORK1", PIGS, SHOP1, "2026-03-01T11:00:00+08:00"),
        ])
    return path


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "cases.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def outbreak(db: str, path: Path, *args: str):
    return CliRunner().invoke(cli, ["outbreak", str(path), "--store", db, *args])


def ranks(data: dict, key: str) -> list[tuple[str, float, int]]:
    return [(x["id"], round(x["score"], 4), x["rank"]) for x in data[key]]


EXPECTED_STATIONS = [(FARM, 1.0, 1), (SALT, 1.0, 1), (PIGS, 0.5, 3), (SHOP1, 0.5, 3), (SHOP2, 0.5, 3)]
EXPECTED_LOTS = [("lot:SALT1", 1.0, 1), ("lot:VEG1", 1.0, 1), ("lot:PORK1", 0.5, 3)]


@pytest.mark.parametrize("text, encoding", [
    ("id,weight,date\n{s1},1,2026-03-02\n{s2},1,2026-03-02\n", "utf-8"),
    ("编号,权重,日期\n{s1},1,2026/3/2\n{s2},,2026年3月2日\n", "utf-8-sig"),           # Chinese headers, BOM
    ("编号,权重,日期\n{s1},1,2026年3月2日\n{s2},1,20260302\n", "gbk"),                   # GBK
    ("病例清单\n编号/id,日期/date,备注\n{s1},2026-03-02,发热\n{s2},2026-03-02,腹泻\n", "utf-8"),  # title row, extra column
])
def test_case_files_in_every_accepted_form(db, tmp_path, text, encoding):
    p = write(tmp_path, text.format(s1=SHOP1_USCC, s2=SHOP2), encoding)
    r = outbreak(db, p, "--format", "json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert ranks(data, "stations") == EXPECTED_STATIONS
    assert ranks(data, "lots") == EXPECTED_LOTS
    assert [(c["id"], c["input"], c["weight"], c["date"]) for c in data["cases"]] == [
        (SHOP1, SHOP1_USCC, 1.0, "2026-03-02"), (SHOP2, SHOP2, 1.0, "2026-03-02")]


def test_json_shape(db, tmp_path):
    p = write(tmp_path, f"id,weight\n{SHOP1},1\n{SHOP2},1\n{SHOP3},-1\n")
    r = outbreak(db, p, "--format", "json", "--priors")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {"stations", "lots", "total_positive_weight", "cases", "hazard", "kill", "kill_applied",
                         "priors", "notes"}
    assert data["total_positive_weight"] == 2.0
    # the non-case shop3 got the vegetables: salt explains both cases and no non-case
    assert ranks(data, "stations")[:2] == [(SALT, 1.0, 1), (FARM, 0.5, 2)]
    assert ranks(data, "lots") == [("lot:SALT1", 1.0, 1), ("lot:VEG1", 0.5, 2), ("lot:PORK1", 0.5, 3)]
    salt = data["stations"][0]
    assert {k for k in salt} == {"id", "name", "kind", "district", "score", "rank", "tier", "cases", "prior",
                                 "tie_broken_by_prior"}
    assert (salt["name"], salt["kind"], salt["tier"]) == ("盐业公司", "Producer", "certain")
    assert [c["id"] for c in salt["cases"]] == [SHOP1, SHOP2]
    veg = data["lots"][1]
    assert (veg["product"], veg["product_name"], veg["category"], veg["lot_number"]) == (
        "p:veg", "青菜", "leafy_vegetable", "V-0301")
    assert [(c["id"], c["weight"]) for c in veg["cases"]] == [(SHOP1, 1.0), (SHOP2, 1.0), (SHOP3, -1.0)]
    assert veg["tie_broken_by_prior"] is True and data["lots"][2]["tie_broken_by_prior"] is True
    top = json.loads(outbreak(db, p, "--format", "json", "--top", "1").stdout)
    assert len(top["stations"]) == 1 and len(top["lots"]) == 1


def test_table_has_chinese_first_headers_and_notes(db, tmp_path):
    p = write(tmp_path, f"编号,权重\n{SHOP1},1\n{SHOP2},1\n")
    r = outbreak(db, p, "--priors", "--kill", FARM, "--hazard", "pesticide")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    for text in ("== 可疑站点/candidate stations (5)", "== 可疑批次/candidate lots (3)", "排名/rank", "得分/score",
                 "名称/name", "类型/kind", "可达阳性病例/positive cases reached", "关联/link", "先验/prior", "盐业公司",
                 "食品生产企业", "确定/certain", "农药残留/pesticide", "(不适用/not applied)",
                 "注/note: kill steps ignored: heat does not remove a pesticide hazard"):
        assert text in out, text
    # priors put the vegetables (0.85) above salt (0.1) within the 1.0 tie
    first_lot = out.split("== 可疑批次/candidate lots")[1].splitlines()[3]
    assert first_lot.startswith("1*") and "青菜" in first_lot


@pytest.mark.parametrize("text, message", [
    ("id,weight\nurn:foodtrace:operator:shop1,abc\n", "{p}: row 2, weight 'abc': not a number"),
    ("编号,权重,日期\nurn:foodtrace:operator:shop1,1,2026-02-30\n", "{p}: row 2, 日期 '2026-02-30': no such date '2026-02-30'"),
    ("id\nurn:foodtrace:operator:shop1\nNOWHERE-42\n", "{p}: row 3, id 'NOWHERE-42': no station or lot has this identifier"),
    ("id\nd1\n", "{p}: row 2, id 'd1': names a delivery, not a station or lot"),
    ("id,weight\nurn:foodtrace:operator:shop1,1\nurn:foodtrace:operator:shop2,x\n,1\n",
     "2 bad rows, no ranking computed: {p}: row 3, weight 'x': not a number; row 4, id '': empty: give a station or lot"),
    ("name,weight\nshop,1\n", "{p}: no id column (编号/id); columns found: name, weight"),
    ("id,weight\n", "{p}: no cases (the file has a header but no rows)"),
    ("id,weight\nurn:foodtrace:operator:shop3,-1\n", "no positive case: at least one case needs a weight above 0"),
])
def test_a_bad_row_is_an_error_naming_file_row_field_and_reason(db, tmp_path, text, message):
    p = write(tmp_path, text)
    r = outbreak(db, p)
    assert r.exit_code == 2
    assert r.stderr.strip() == "foodtrace: " + message.format(p=p)
    assert r.stdout == ""


def test_good_rows_do_not_rescue_a_file_with_a_bad_one(db, tmp_path):
    p = write(tmp_path, f"id,weight\n{SHOP1},1\n{SHOP2},1\nNOWHERE,1\n")
    r = outbreak(db, p, "--format", "json")
    assert r.exit_code == 2 and r.stdout == ""
    assert "row 4, id 'NOWHERE'" in r.stderr


def test_unknown_kill_step_and_missing_file(db, tmp_path):
    p = write(tmp_path, f"id\n{SHOP1}\n")
    r = outbreak(db, p, "--kill", "OVEN")
    assert r.exit_code == 2 and r.stderr.strip() == "foodtrace: kill step 'OVEN': no station or lot has this identifier"
    r = outbreak(db, tmp_path / "missing.csv")
    assert r.exit_code == 2 and "missing.csv: cannot read" in r.stderr


def test_window_and_explicit_only(db, tmp_path):
    """--window narrows what a dated case can be explained by (lettuce that arrived the day before the onset, with
    a half-day window, cannot explain it); --explicit-only is accepted and ranks on recorded links."""
    cases = write(tmp_path, "编号,日期\n" + f"{SHOP1},2026-03-02\n{SHOP2},2026-03-02\n")
    wide = json.loads(outbreak(db, cases, "--format", "json").stdout)
    narrow = json.loads(outbreak(db, cases, "--format", "json", "--window", "叶菜类=0.5").stdout)
    assert {x["id"]: x["score"] for x in wide["stations"]}[FARM] == 1.0
    assert FARM not in {x["id"] for x in narrow["stations"]}
    r = outbreak(db, cases, "--format", "json", "--explicit-only")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["stations"][0]["score"] == 1.0
    bad = outbreak(db, cases, "--window", "pork")
    assert bad.exit_code == 2 and "CATEGORY=DAYS" in bad.output
