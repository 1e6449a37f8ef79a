"""`foodtrace mass-balance` on a small hand-made store: formats, filters by any identifier form, errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from ontology.records import Alias, Delivery, Lot, Operator, Product, Transformation, TransformationItem

GTIN_LOT = "https://id.gs1.org/01/06901234567892/10/L1"


def _d(id: str, lot: str, frm: str, to: str, qty: float | None, time: str, unit: str | None = "KGM") -> Delivery:
    return Delivery(id=id, lot_id=lot, sender_id=frm, receiver_id=to, time=time, quantity=qty, unit=unit)


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "mb.db")
    with open_store(path) as s:
        s.write([
            Operator(id="farm", kind="Farm", name="如东某某蔬菜基地"),
            Operator(id="market", kind="WholesaleMarket", name="南通某某批发市场"),
            Operator(id="shop", kind="Supermarket", name="某某超市"),
            Operator(id="abattoir", kind="Slaughterhouse", name="某某肉类食品有限公司"),
            Product(id="veg", name="青菜", category="leafy_vegetable"),
            Product(id="pig", name="生猪", category="live_pig"),
            Product(id="carcass", name="白条猪肉", category="pork"),
            Lot(id=GTIN_LOT, product_id="veg", producer_id="farm", quantity=100, unit="KGM"),
            Alias(id="urn:epc:class:lgtin:6901234.056789.L1", canonical_id=GTIN_LOT, entity="lot"),
            _d("d1", GTIN_LOT, "farm", "market", 100, "2026-03-01T06:00:00+08:00"),
            _d("d2", GTIN_LOT, "market", "shop", 130, "2026-03-01T09:00:00+08:00"),
            Lot(id="L2", product_id="veg", producer_id="farm"),          # no quantity: incomplete
            _d("d3", "L2", "farm", "market", 20, "2026-03-01T06:00:00+08:00"),
            Lot(id="pigs", product_id="pig", producer_id="farm", quantity=10, unit="H87"),
            _d("d0", "pigs", "farm", "abattoir", 10, "2026-03-01T00:00:00+08:00", unit="H87"),
            Transformation(id="t1", station_id="abattoir", time="2026-03-01T02:00:00+08:00", kind="slaughter"),
            TransformationItem(id="t1i", transformation_id="t1", lot_id="pigs", role="input", quantity=10, unit="H87"),
            TransformationItem(id="t1o", transformation_id="t1", lot_id="C1", role="output", quantity=1200,
                               unit="KGM"),
            Lot(id="C1", product_id="carcass", producer_id="abattoir", quantity=1200, unit="KGM"),
            _d("d4", "C1", "abattoir", "market", 1200, "2026-03-01T05:00:00+08:00"),
            _d("d5", "X", "market", "shop", 5, "2026-03-01T09:00:00+08:00"),   # a lot from nowhere
        ])
    return path


def invoke(db: str, *args: str):
    return CliRunner().invoke(cli, ["mass-balance", *args, "--store", db])


def test_table(db):
    res = invoke(db)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "超量发货/shipped more than received" in out and "南通某某批发市场" in out and "青菜" in out
    assert "私屠滥宰嫌疑/illegal slaughter" in out and "某某肉类食品有限公司" in out and "1,200" in out
    assert "30.0%" in out     # 130 shipped of 100 received
    assert out.rstrip().endswith("(--format csv or json lists each, with delivery ids)")
    assert "数量缺失/incomplete 1" in out and "单位不一致/unit mismatch 0" in out and "来源不明" not in out


def test_json(db):
    data = json.loads(invoke(db, "--format", "json").output)
    assert data["tolerance"] == {"relative": 0.01, "absolute": 0.5}
    (v,) = data["violations"]
    assert {k: v[k] for k in ("kind", "station_id", "station_name", "lot_id", "product_name", "unit", "received",
                              "shipped", "excess", "excess_ratio", "deliveries_in", "deliveries_out")} == {
        "kind": "shipped_more_than_received", "station_id": "market", "station_name": "南通某某批发市场",
        "lot_id": GTIN_LOT, "product_name": "青菜", "unit": "KGM", "received": 100.0, "shipped": 130.0,
        "excess": 30.0, "excess_ratio": 0.3, "deliveries_in": ["d1"], "deliveries_out": ["d2"]}
    (s,) = data["illegal_slaughter"]
    assert (s["transformation_id"], s["heads_in"], s["kg_out"], s["max_plausible_kg"], s["excess"]) == (
        "t1", 10.0, 1200.0, 950.0, 250.0)
    assert s["station_name"] == "某某肉类食品有限公司" and s["product_name"] == "白条猪肉"
    assert [x["lot_id"] for x in data["incomplete"]] == ["L2"]
    assert data["no_source"] == [] and data["pairs_checked"] == 7 and data["slaughters_checked"] == 1


def test_csv_to_file_with_chinese_headers(db, tmp_path):
    out = tmp_path / "mb.csv"
    res = invoke(db, "--format", "csv", "--out", str(out), "--include-unsourced")
    assert res.exit_code == 0 and "written to" in res.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")      # BOM: Excel opens it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["类型/kind", "主体/station", "主体名称/station name", "批次/lot"]
    assert "超出比例/excess ratio" in header and "最大合理千克/max plausible kg" in header
    kinds = [r[0] for r in body]
    # the slaughter (+26 %) and the market (+30 %) by excess ratio, then what could not be judged
    assert kinds == ["超量发货/shipped more than received", "私屠滥宰嫌疑/illegal slaughter", "数量缺失/incomplete",
                     "来源不明/no source"]
    row = dict(zip(header, body[0]))
    assert (row["主体名称/station name"], row["收货/received"], row["发货/shipped"], row["出库交付/deliveries out"]) == (
        "南通某某批发市场", "100.0", "130.0", "d2")


def test_filters_accept_any_identifier_form(db):
    data = json.loads(invoke(db, "--lot", "urn:epc:class:lgtin:6901234.056789.L1", "--format", "json").output)
    assert [v["lot_id"] for v in data["violations"]] == [GTIN_LOT] and data["illegal_slaughter"] == []
    data = json.loads(invoke(db, "--station", "abattoir", "--format", "json").output)
    assert data["violations"] == [] and [s["transformation_id"] for s in data["illegal_slaughter"]] == ["t1"]


def test_tolerance_option(db):
    data = json.loads(invoke(db, "--tolerance", "0.3", "--format", "json").output)
    assert data["violations"] == [] and data["illegal_slaughter"] == []   # 30 % and 26.3 % are within 30 %
    assert invoke(db, "--tolerance", "-1").exit_code == 2


@pytest.mark.parametrize("args, message", [
    (["--lot", "nope"], "foodtrace: no lot has the identifier 'nope'"),
    (["--station", "nobody"], "foodtrace: no station has the identifier 'nobody'"),
    (["--station", GTIN_LOT], f"foodtrace: '{GTIN_LOT}' is not a station (it names {GTIN_LOT})"),
])
def test_unknown_id_is_a_one_line_error(db, args, message):
    res = invoke(db, *args)
    assert res.exit_code == 2
    assert res.stderr.strip() == message
    assert "Traceback" not in res.output
