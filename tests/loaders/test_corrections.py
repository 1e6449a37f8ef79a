"""The corrections template, applied by ``load_files`` on every backend, with the reasons kept."""

from __future__ import annotations

from pathlib import Path

from graph.store import WriteContext
from loaders.load import load_files
from loaders.tables import write_table
from loaders.template_spec import TEMPLATES
from loaders.templates import write_blank_templates

USCC = "91320602MA1MXXXX00"
OP = f"urn:foodtrace:operator:uscc:{USCC}"


def _operators(tmp_path: Path) -> Path:
    p = tmp_path / "operators.csv"
    p.write_text("名称,主体类型,统一社会信用代码,所属区县,规模\n南通某某超市,超市,91320602MA1MXXXX00,崇川区,中型\n",
                 encoding="utf-8")
    return p


def test_corrections_template_applies_good_rows_and_rejects_bad_ones(store, tmp_path):
    load_files(store, [_operators(tmp_path)])
    fix = tmp_path / "fix.xlsx"
    write_table(fix, TEMPLATES["corrections"].headers_zh, [
        [USCC, "", "主体类型", "农贸市场", "现场核查为农贸市场"],
        [USCC, "经营主体", "district", "通州区", "迁址"],
        [USCC, "", "规模", "", "规模未经核实"],             # an empty value clears the field
        ["nope", "", "名称", "x", "y"],                     # unknown record
        [USCC, "", "颜色", "红", "z"],                      # unknown field
        [USCC, "", "主体类型", "宇宙飞船", "z"],             # not a term
        [USCC, "", "名称", "新名字", ""],                   # no reason
    ], sheet="更正")
    (o,) = load_files(store, [fix], context=WriteContext(kind="load", actor="王审核"))
    assert o.template == "corrections" and o.error is None
    assert [(r.row, r.field) for r in o.rejects] == [(5, "标识"), (6, "字段"), (7, "新值"), (8, "原因")]
    assert o.stats.changed == {"operator": 3}
    op = store.get("operator", OP)
    assert (op.kind, op.region_id, op.scale) == ("FarmersMarket", "urn:foodtrace:region:320612", None)
    reasons = [v.reason for v in store.versions([OP])]
    assert reasons == ["现场核查为农贸市场", "迁址", "规模未经核实"]
    (batch,) = [x for x in store.batches().values() if x.kind == "correction"]
    assert batch.actor == "王审核" and batch.source.endswith("fix.xlsx") and batch.changed == 3
    # the same file again changes nothing
    (again,) = load_files(store, [fix])
    assert again.stats.changed == {} and len(store.versions([OP])) == 3


def test_the_blank_corrections_template_applies_to_its_example_operator(store, tmp_path):
    load_files(store, [_operators(tmp_path)])
    write_blank_templates(tmp_path / "blank")
    (o,) = load_files(store, [tmp_path / "blank" / "corrections.csv"])
    assert o.rejects == [] and store.get("operator", OP).kind == "Stall"
