"""`foodtrace trace` on a small hand-made network: JSON, table, recall list (CSV, xlsx), graphs, bad input.

The network: a farm ships live pigs (lot PIG1) to a slaughterhouse, which makes pork lot PORK1 from them and
ships it to a market stall and a supermarket; the stall records no lot links and sells minced pork under its
own lots: to a school canteen a day after the pork arrived (possible), to another shop a day before it
arrived (excluded: time order) and 18 days after (excluded: outside the 7-day pork window).
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from ontology.records import (
    Alias, Certificate, Delivery, Lot, Operator, Product, Ticket, Transformation, TransformationItem,
)

OP = "urn:foodtrace:operator:"
FARM, SLAUGHTER, STALL, SHOP1, CANTEEN, SHOP2 = (OP + x for x in ("farm", "slaughter", "stall", "shop1", "canteen",
                                                                   "shop2"))
NAMES = {FARM: "如皋市东陈生猪养殖场", SLAUGHTER: "南通润丰屠宰场", STALL: "农副产品批发市场12号摊位",
         SHOP1: "崇川区好邻居超市", CANTEEN: "通州区实验小学食堂", SHOP2: "海门区惠民超市"}
PIG_LINK = "https://id.gs1.org/01/06901234567892/10/PIG-0301"   # an alias of lot:PIG1
SLAUGHTER_USCC = "91320600MA1RUNF001"                              # an alias of the slaughterhouse

ZH_HEADERS = ["批次", "产品", "数量", "单位", "发货方", "收货方", "发货时间", "票据", "合格证明", "联系人", "联系电话",
              "层级", "可能性", "最多含量", "证据链", "批次标识", "交付标识"]
EN_HEADERS = ["lot", "product", "quantity", "unit", "from", "to", "ship time", "ticket", "certificate", "contact",
              "phone", "tier", "likelihood", "max quantity", "evidence", "lot id", "delivery id"]


def network() -> list:
    ops = [Operator(id=FARM, kind="Farm", name=NAMES[FARM], contact="王建国", phone="13800000001",
                    region_id="urn:foodtrace:region:320682"),
           Operator(id=SLAUGHTER, kind="Slaughterhouse", name=NAMES[SLAUGHTER], contact="李明", phone="13800000002"),
           Operator(id=STALL, kind="Stall", name=NAMES[STALL], contact="张红", phone="13800000003"),
           Operator(id=SHOP1, kind="Supermarket", name=NAMES[SHOP1], contact="陈静", phone="13800000004"),
           Operator(id=CANTEEN, kind="SchoolCanteen", name=NAMES[CANTEEN], contact="周伟", phone="13800000005"),
           Operator(id=SHOP2, kind="Supermarket", name=NAMES[SHOP2], contact="吴芳", phone="13800000006")]
    products = [Product(id="p:pig", name="生猪", category="live_pig"),
                Product(id="p:pork", name="冷鲜猪肉", category="pork"),
                Product(id="p:mince", name="猪肉馅", category="pork")]
    lots = [Lot(id="lot:PIG1", product_id="p:pig", lot_number="PIG-0301", producer_id=FARM,
                production_date="2026-03-01"),
            Lot(id="lot:PORK1", product_id="p:pork", lot_number="PK-0301", producer_id=SLAUGHTER,
                production_date="2026-03-01"),
            Lot(id="lot:STALL1", product_id="p:mince", lot_number="ST-0303"),
            Lot(id="lot:STALL2", product_id="p:mince", lot_number="ST-0301"),
            Lot(id="lot:STALL3", product_id="p:mince", lot_number="ST-0320")]
    papers = [Ticket(id="tk:1", number="T-001"), Ticket(id="tk:2", number="INV-002"),
              Ticket(id="tk:3", number="INV-003"), Ticket(id="tk:4", number="INV-004"),
              Certificate(id="c:1", kind="animal_quarantine", number="AQ-001"),
              Certificate(id="c:2", kind="meat_quality", number="MQ-002")]

    def dlv(i, lot, frm, to, when, qty, **kw):
        return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=f"{when}:00+08:00", quantity=qty,
                        unit="KGM", **kw)

    deliveries = [
        dlv("d1", "lot:PIG1", FARM, SLAUGHTER, "2026-03-01T06:00", 1200.0, ticket_id="tk:1", certificate_id="c:1"),
        dlv("d2", "lot:PORK1", SLAUGHTER, STALL, "2026-03-02T04:00", 500.0, ticket_id="tk:2", certificate_id="c:2"),
        dlv("d3", "lot:PORK1", SLAUGHTER, SHOP1, "2026-03-02T05:00", 300.0, ticket_id="tk:3", certificate_id="c:2"),
        dlv("d4", "lot:STALL1", STALL, CANTEEN, "2026-03-03T07:00", 40.0, ticket_id="tk:4"),
        dlv("d5", "lot:STALL2", STALL, SHOP2, "2026-03-01T08:00", 20.0),
        dlv("d6", "lot:STALL3", STALL, SHOP2, "2026-03-20T08:00", 25.0),
    ]
    links = [Transformation(id="t1", station_id=SLAUGHTER, time="2026-03-01T10:00:00+08:00", kind="slaughter"),
             TransformationItem(id="t1:in", transformation_id="t1", lot_id="lot:PIG1", role="input"),
             TransformationItem(id="t1:out", transformation_id="t1", lot_id="lot:PORK1", role="output")]
    aliases = [Alias(id=SLAUGHTER_USCC, canonical_id=SLAUGHTER, entity="operator", scheme="uscc"),
               Alias(id=PIG_LINK, canonical_id="lot:PIG1", entity="lot", scheme="digital_link")]
    return [*ops, *products, *lots, *papers, *deliveries, *links, *aliases]


@pytest.fixture
def db(sqlite_store, tmp_path) -> str:
    sqlite_store.write(network())
    return str(tmp_path / "store.db")


def run(db: str, *args: str):
    return CliRunner().invoke(cli, ["trace", *args, "--store", db], catch_exceptions=False)


def tiers(items: list[dict]) -> dict[str, str]:
    return {x["id"]: x["tier"] for x in items}


# -- JSON ------------------------------------------------------------------------------------------

def test_json_is_the_trace_with_exact_ids_tiers_and_evidence(db):
    r = run(db, "down", PIG_LINK, "--format", "json")
    assert r.exit_code == 0, r.output
    t = json.loads(r.stdout)
    assert {"lots", "deliveries", "stations", "start", "options", "counts", "notes"} <= set(t)
    assert t["start"]["id"] == "lot:PIG1" and t["start"]["input"] == PIG_LINK
    assert tiers(t["lots"]) == {"lot:PORK1": "certain", "lot:STALL1": "possible"}
    assert tiers(t["deliveries"]) == {"d1": "certain", "d2": "certain", "d3": "certain", "d4": "possible"}
    assert tiers(t["stations"]) == {SLAUGHTER: "certain", STALL: "certain", SHOP1: "certain", CANTEEN: "possible"}
    for kind in ("lots", "deliveries", "stations"):
        for item in t[kind]:
            assert {"id", "aliases", "tier", "time", "evidence"} <= set(item)
    d4 = next(d for d in t["deliveries"] if d["id"] == "d4")
    assert d4["evidence"] == ["d1", "d2", "d4"] and d4["time"] == "2026-03-03T07:00:00+08:00"
    slaughter = next(s for s in t["stations"] if s["id"] == SLAUGHTER)
    assert slaughter["name"] == "南通润丰屠宰场" and slaughter["kind"] == "Slaughterhouse"
    assert slaughter["aliases"] == [SLAUGHTER_USCC]
    assert "南通润丰屠宰场" in r.stdout  # UTF-8, not \\u escapes


def test_json_upstream_from_a_delivery(db):
    t = json.loads(run(db, "up", "d4", "--format", "json").stdout)
    assert [(d["id"], d["tier"], d["evidence"]) for d in t["deliveries"]] == [
        ("d2", "possible", ["d2"]), ("d1", "possible", ["d2", "d1"])]
    assert [s["id"] for s in t["stations"]] == [SLAUGHTER, FARM]


def test_explicit_only_drops_the_inferred_link(db):
    t = json.loads(run(db, "down", "lot:PIG1", "--explicit-only", "--format", "json").stdout)
    assert sorted(tiers(t["deliveries"])) == ["d1", "d2", "d3"]
    assert t["options"]["infer"] is False


@pytest.mark.parametrize("window", ["pork=30", "猪肉=30"])
def test_window_widens_the_holding_window(db, window):
    t = json.loads(run(db, "down", "lot:PIG1", "--window", window, "--window", "leafy_vegetable=1",
                       "--format", "json").stdout)
    assert tiers(t["deliveries"]) == {"d1": "certain", "d2": "certain", "d3": "certain", "d4": "possible",
                                      "d6": "possible"}
    assert t["options"]["windows"]["pork"] == 30.0 and t["options"]["windows"]["leafy_vegetable"] == 1.0


def test_kill_step_in_any_identifier_form_cuts_a_pathogen_trace(db):
    t = json.loads(run(db, "down", "lot:PIG1", "--kill", SLAUGHTER_USCC, "--hazard", "microbial",
                       "--format", "json").stdout)
    assert list(tiers(t["deliveries"])) == ["d1"]
    assert t["options"]["kill"] == [SLAUGHTER]
    drug = json.loads(run(db, "down", "lot:PIG1", "--kill", SLAUGHTER_USCC, "--hazard", "vet_drug",
                          "--format", "json").stdout)
    assert sorted(tiers(drug["deliveries"])) == ["d1", "d2", "d3", "d4"]
    assert any("kill steps ignored" in n for n in drug["notes"])


def test_until_a_bare_date_means_the_end_of_that_day(db):
    t = json.loads(run(db, "down", "lot:PIG1", "--until", "2026-03-02", "--format", "json").stdout)
    assert sorted(tiers(t["deliveries"])) == ["d1", "d2", "d3"]
    t = json.loads(run(db, "down", "lot:PIG1", "--until", "2026-03-02T04:30", "--format", "json").stdout)
    assert sorted(tiers(t["deliveries"])) == ["d1", "d2"]
    assert t["options"]["until"] == "2026-03-02T04:30:00+08:00"


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, says", [
    ("meat=3", "unknown category 'meat'"), ("pork=abc", "'abc' is not a number"), ("pork=-1", ">= 0"),
    ("pork", "expected CATEGORY=DAYS"), ("pork=nan", ">= 0")])
def test_bad_window_is_a_usage_error_naming_it(db, value, says):
    r = run(db, "down", "lot:PIG1", "--window", value)
    assert r.exit_code == 2
    assert "--window" in r.stderr and says in r.stderr and value in r.stderr


def test_unknown_id_is_one_line_exit_2(db):
    r = run(db, "down", "NO-SUCH-LOT")
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("foodtrace: ") and "NO-SUCH-LOT" in r.stderr


def test_unknown_kill_id_and_bad_dates_and_graph_names_are_rejected(db):
    r = run(db, "down", "lot:PIG1", "--kill", "NOWHERE")
    assert r.exit_code == 2 and r.stderr.strip() == "foodtrace: --kill NOWHERE: no station or lot has this identifier"
    r = run(db, "down", "lot:PIG1", "--since", "March 1")
    assert r.exit_code == 2 and "'March 1' is not a date" in r.stderr
    r = run(db, "down", "lot:PIG1", "--graph", "chain.svg")
    assert r.exit_code == 2 and "must end in .html or .png" in r.stderr
    r = run(db, "down", "lot:PIG1", "--format", "xlsx")
    assert r.exit_code == 2 and "--format xlsx needs --out" in r.stderr


def test_hazard_choices_are_the_trace_hazards():
    from reasoning.trace import HAZARDS

    opt = next(p for p in cli.commands["trace"].params if p.name == "hazard")
    assert tuple(opt.type.choices) == HAZARDS


# -- table -----------------------------------------------------------------------------------------

def test_table_shows_start_counts_stations_and_deliveries(db):
    r = run(db, "down", "lot:PIG1")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "起点/start: 批次/lot lot:PIG1" in out and "PIG-0301 (生猪)" in out
    assert "主体/stations 4（确定/certain 3，可能/possible 1）" in out
    assert "交付/deliveries 4（确定/certain 3，可能/possible 1）" in out
    assert "批次/lots 2（确定/certain 1，可能/possible 1）" in out
    for name in ("南通润丰屠宰场", "通州区实验小学食堂", "INV-004", "13800000005"):
        assert name in out
    assert "海门区惠民超市" not in out  # the shop that time order excludes


# -- recall list -----------------------------------------------------------------------------------

D4_ROW = ["ST-0303", "猪肉馅", "40", "千克", NAMES[STALL], NAMES[CANTEEN], "2026-03-03 07:00", "INV-004", "",
          "周伟", "13800000005", "可能", "1", "40",
          "如皋市东陈生猪养殖场→南通润丰屠宰场 2026-03-01 票T-001；南通润丰屠宰场→农副产品批发市场12号摊位 2026-03-02 票INV-002；"
          "农副产品批发市场12号摊位→通州区实验小学食堂 2026-03-03 票INV-004（推断）", "lot:STALL1", "d4"]


def test_csv_has_a_bom_chinese_headers_and_one_row_per_delivery(db, tmp_path):
    r = run(db, "down", "lot:PIG1", "--format", "csv")
    assert r.exit_code == 0
    assert r.stdout.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(r.stdout[1:])))
    assert rows[0] == ZH_HEADERS
    assert [row[-1] for row in rows[1:]] == ["d1", "d2", "d3", "d4"]
    assert rows[4] == D4_ROW
    assert rows[1][:9] == ["PIG-0301", "生猪", "1200", "千克", NAMES[FARM], NAMES[SLAUGHTER], "2026-03-01 06:00",
                           "T-001", "AQ-001"]
    out = tmp_path / "recall.csv"
    assert run(db, "down", "lot:PIG1", "--format", "csv", "--out", str(out)).exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[0] == ZH_HEADERS


def test_csv_in_english(db):
    rows = list(csv.reader(io.StringIO(run(db, "down", "lot:PIG1", "--format", "csv", "--lang", "en").stdout[1:])))
    assert rows[0] == EN_HEADERS
    assert rows[4][3] == "kg" and rows[4][11] == "possible"


def test_xlsx_recall_list(db, tmp_path):
    import openpyxl

    out = tmp_path / "recall.xlsx"
    r = run(db, "down", "lot:PIG1", "--format", "xlsx", "--out", str(out), "--window", "pork=10")
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["召回清单", "主体", "说明"]
    ws = wb["召回清单"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == ZH_HEADERS
    assert [r[-1] for r in rows[1:]] == ["d1", "d2", "d3", "d4"]
    assert rows[4] == ["ST-0303", "猪肉馅", 40, "千克", NAMES[STALL], NAMES[CANTEEN], datetime(2026, 3, 3, 7, 0),
                       "INV-004", None, "周伟", "13800000005", "可能", 1, 40, D4_ROW[14], "lot:STALL1", "d4"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:Q5"
    assert ws["G2"].is_date and "yyyy" in ws["G2"].number_format
    assert ws.column_dimensions["E"].width >= 20
    st = wb["主体"]
    assert [r[0] for r in st.iter_rows(min_row=2, values_only=True)] == [
        NAMES[SLAUGHTER], NAMES[STALL], NAMES[SHOP1], NAMES[CANTEEN]]
    assert st.freeze_panes == "A2" and st.auto_filter.ref == "A1:K5"
    notes = [r for r in wb["说明"].iter_rows(values_only=True)]
    assert ("猪肉", "*", 10, "--window 设定", None) in notes   # the holding windows the trace used, and their source
    assert ("方向", "下游", None, None, None) in notes


def test_xlsx_in_english(db, tmp_path):
    import openpyxl

    out = tmp_path / "recall.xlsx"
    assert run(db, "down", "lot:PIG1", "--format", "xlsx", "--out", str(out), "--lang", "en").exit_code == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Recall list", "Stations", "Notes"]
    assert [c.value for c in wb["Recall list"][1]] == EN_HEADERS


# -- graphs ----------------------------------------------------------------------------------------

def test_graph_html_is_self_contained_and_names_the_stations(db, tmp_path):
    page_path = tmp_path / "chain.html"
    r = run(db, "down", "lot:PIG1", "--graph", str(page_path), "--format", "json")
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # the graph message goes to stderr, stdout stays JSON
    page = page_path.read_text(encoding="utf-8")
    for station, name in NAMES.items():
        assert (name in page) == (station != SHOP2), name  # the shop time order excludes is not drawn
    assert not re.search(r"<script[^>]+src=[\"']?https?:", page, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?https?:", page, re.I)
    assert "new vis.Network" in page and len(page) > 400_000  # vis-network inlined
    assert "@font-face" in page and "data:font/woff;base64," in page  # Chinese renders with no font installed
    edges = json.loads(re.search(r"var edges = new vis.DataSet\((.*)\);\n", page).group(1))
    assert sorted((e["id"], e["dashes"]) for e in edges) == [("d1", False), ("d2", False), ("d3", False),
                                                             ("d4", True)]
    nodes = json.loads(re.search(r"var nodes = new vis.DataSet\((.*)\);\n", page).group(1))
    start = [n for n in nodes if n["label"].startswith("★")]
    assert [n["id"] for n in start] == [FARM]
    assert all("title" in n for n in nodes)  # hover details


def test_graph_png_renders_chinese_as_characters(db, tmp_path):
    from api.fonts import cjk_font_path, has_glyphs

    font = cjk_font_path()
    assert font is not None, "no CJK font: the mplfonts dependency ships Noto Sans CJK SC"
    assert has_glyphs(font, "南通润丰屠宰场农副产品批发市场")
    png = tmp_path / "chain.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run(db, "up", "d4", "--graph", str(png))
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == [], missing


def _glyph(fontprops) -> "bytes":
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(0.6, 0.6), dpi=50)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, "中", fontproperties=fontprops, fontsize=20, ha="center", va="center")
    canvas.draw()
    return bytes(canvas.buffer_rgba())


def test_cjk_glyph_is_not_the_tofu_box():
    from matplotlib.font_manager import FontProperties

    from api.fonts import use_cjk_font

    cjk = use_cjk_font()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tofu = _glyph(FontProperties(family="DejaVu Sans"))
    assert any("missing from font" in str(w.message) for w in caught)  # DejaVu draws a box
    drawn = _glyph(cjk)
    assert drawn != tofu
    assert sum(1 for i in range(0, len(drawn), 4) if drawn[i] < 128) > 20  # ink: the glyph is drawn


# -- docs ------------------------------------------------------------------------------------------

def test_readme_windows_table_matches_the_defaults():
    from api.trace_render import windows_markdown

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- windows:begin -->\n", "\n<!-- windows:end -->"
    assert readme[readme.index(begin) + len(begin):readme.index(end)] == windows_markdown()
