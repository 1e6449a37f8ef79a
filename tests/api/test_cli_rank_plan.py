"""foodtrace risk rank-plan: a plan in the 合格 layout comes back in its order, ranked, with reasons."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from loaders.plan import normalise_row, read_plan
from ontology.errors import UnreadableFile
from tests.reasoning.test_sample_risk import _random_history

HEADER = ["序号", "标称生产企业名称", "标称生产企业地址", "被抽样单位名称", "被抽样单位所在省份", "食品名称", "规格型号",
          "商标", "生产日期/批号", "分类", "任务来源/项目名称", "备注"]


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "h.db")
    with open_store(path) as s:
        s.write(_random_history(3, 1500))
    return path


def _plan(tmp_path, encoding="utf-8-sig"):
    rows = [[7, "生产企业1", "/", "超市1", "江苏", "酱油", "/", "/", "2021-06-01", "调味品/酱油", "国内监督抽查(江苏市场监管局)", ""],
            [3, "生产企业2 ", "/", "农贸市场2", "江苏", "酱腌菜", "/", "/", "2021-06-02", "蔬菜制品/酱腌菜", "", ""],
            [9, "/", "/", "/", "", "黄豆芽", "/", "/", "", "", "", ""],
            [1, "从未见过的企业", "/", "新开的店", "浙江", "白砂糖", "/", "/", "", "食糖/白糖", "", ""]]
    path = tmp_path / "plan.csv"
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_read_plan_keeps_every_row_and_its_cells(tmp_path):
    plan = read_plan(_plan(tmp_path, "gb18030"))
    assert plan.header == HEADER and [r["seq"] for r in plan.rows] == ["7", "3", "9", "1"]
    assert plan.rows[1]["producer_name"] == "生产企业2" and plan.rows[1]["cells"][5] == "酱腌菜"
    assert plan.rows[2]["problems"] == ["names neither a producer nor a sampled unit"]
    assert plan.rows[0]["province"] == "江苏"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="no plan header"):
        read_plan(bad)


def test_normalise_row_is_pure():
    f = normalise_row({"标称生产企业名称": "生产商：丙食品厂", "食品名称": "醋"})
    assert f["producer_name"] == "丙食品厂" and f["sampled_name"] is None and f["producer_id"]


def test_rank_plan_csv_json_xlsx(db, tmp_path):
    plan = _plan(tmp_path)
    r = run("risk", "rank-plan", str(plan), "--as-of", "2021-07-01", "--store", db)
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.output.lstrip("\ufeff"))))
    assert rows[0] == HEADER + ["不合格概率", "风险排名", "主要风险因素", "说明"]
    assert [x[0] for x in rows[1:]] == ["7", "3", "9", "1"]                     # the plan's order, 序号 kept
    probs = [float(x[12]) for x in rows[1:]]
    assert all(0 < p < 1 for p in probs)
    assert sorted(int(x[13]) for x in rows[1:]) == [1, 2, 3, 4]
    assert "names neither" in rows[3][15]
    en = run("risk", "rank-plan", str(plan), "--as-of", "2021-07-01", "--store", db, "--lang", "en")
    assert "probability,rank,reasons,note" in en.output
    j = run("risk", "rank-plan", str(plan), "--as-of", "2021-07-01", "--store", db, "--format", "json")
    data = json.loads(j.output)
    assert data["as_of"] == "2021-07-01" and [x["cells"]["序号"] for x in data["rows"]] == ["7", "3", "9", "1"]
    assert [x["probability"] for x in data["rows"]] == pytest.approx(probs, abs=1e-6)
    out = tmp_path / "ranked.xlsx"
    x = run("risk", "rank-plan", str(plan), "--as-of", "2021-07-01", "--store", db, "--format", "xlsx",
            "--out", str(out))
    assert x.exit_code == 0, x.output
    from openpyxl import load_workbook

    ws = load_workbook(out).active
    assert [c.value for c in ws[1]][-4:] == ["不合格概率", "风险排名", "主要风险因素", "说明"] and ws.max_row == 5
    assert run("risk", "rank-plan", str(plan), "--as-of", "2021-07-01", "--store", db,
               "--format", "xlsx").exit_code == 2                                # xlsx needs --out


def test_evaluate_sample_level_table(db):
    r = run("risk", "evaluate", "--train-until", "2021-07-01", "--level", "sample", "--store", db)
    assert r.exit_code == 0, r.output
    assert "与基线比较" in r.output and "仅无标称生产企业 / no nominal producer only" in r.output
