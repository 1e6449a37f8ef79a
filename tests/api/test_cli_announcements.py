"""`foodtrace load` of real-looking announcements and `foodtrace operators merges`, as a user runs them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from loaders.tables import write_table

FOODTRACE = str(Path(sys.executable).parent / "foodtrace")
HEAD = ["序号", "标称生产企业名称", "被抽样单位名称", "被抽样单位所在省份", "食品名称", "生产日期/批号", "不合格项目║检验结果║标准值",
        "分类", "公告日期", "任务来源/项目名称"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FOODTRACE_STORE": str(cwd / "store.db")}
    return subprocess.run([FOODTRACE, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def announcements(folder: Path) -> Path:
    folder.mkdir()
    write_table(folder / "u.csv", HEAD, [
        ["1", "南通甲食品有限责任公司 ", "/", "江苏", "黄豆酱油", "2021-01-02", "氨基酸态氮║/║/", "调味品/酱油", "2021-03-01",
         "国内监督抽查(江苏省食药监局)"],
        ["2", "南通 甲食品有限公司", "南通市崇川区鲜丰超市", "江苏", "老陈醋", "2021-01-05", "总酸║3.1g/100mL║≥3.5g/100mL",
         "调味品/食醋", "2021-03-01", "国内监督抽查(江苏省食药监局)"],
        ["3", "/", "/", "江苏", "黄豆芽", "/", "6-苄基腺嘌呤║13μg/kg║不得使用", "", "2021-03-01",
         "国内监督抽查(江苏省食药监局)"],
    ])
    (folder / "README.md").write_text("# notes beside the data\n", encoding="utf-8")
    return folder


def test_load_reports_warnings_and_rejects(tmp_path):
    folder = announcements(tmp_path / "ann")
    out = run("load", str(folder), cwd=tmp_path)
    assert out.returncode == 1, out.stderr          # one row names no one: rejected
    assert "README.md" not in out.stdout             # a folder loads its data files only
    assert "未注明被抽样单位/no sampled unit named" in out.stdout and "检验结果为文字或未给出" in out.stdout
    with open(tmp_path / "rejects.csv", encoding="utf-8-sig") as fh:
        rejects = list(csv.DictReader(fh))
    assert [(r["行/row"], r["字段/field"]) for r in rejects] == [("4", "被抽样单位名称")]
    with open(tmp_path / "rejects-warnings.csv", encoding="utf-8-sig") as fh:
        warnings = list(csv.DictReader(fh))
    assert sorted((w["行/row"], w["类别/kind"]) for w in warnings) == [
        ("2", "limit_not_numeric"), ("2", "no_sampled_unit"), ("2", "result_not_numeric")]
    assert warnings[0]["说明/label"]


def test_load_with_declared_coverage_and_source(tmp_path):
    folder = announcements(tmp_path / "ann")
    out = run("load", str(folder), "--coverage", "failures-only", "--source", "食安通", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    import sqlite3

    db = sqlite3.connect(tmp_path / "store.db")
    assert db.execute("SELECT name, coverage, coverage_basis FROM sampling_source").fetchall() == [
        ("食安通", "failures_only", "declared")]
    bad = run("load", str(folder), "--coverage", "some", cwd=tmp_path)
    assert bad.returncode == 2 and "--coverage" in bad.stderr


def test_operators_merges(tmp_path):
    folder = announcements(tmp_path / "ann")
    run("load", str(folder), cwd=tmp_path)
    table = run("operators", "merges", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "南通 甲食品有限公司" in table.stdout and "有限责任公司视同有限公司" in table.stdout
    assert "1 个主体由 2 种写法合并而来" in table.stdout
    data = json.loads(run("operators", "merges", "--format", "json", cwd=tmp_path).stdout)
    (m,) = data["merged"]
    assert [f["form"] for f in m["forms"]] == ["南通甲食品有限责任公司", "南通 甲食品有限公司"]
    en = run("operators", "merges", "--format", "csv", "--lang", "en", "--out", "m.csv", cwd=tmp_path)
    assert en.returncode == 0
    rows = list(csv.reader((tmp_path / "m.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][0] == "主体标识/operator_id" and "white space inside the name removed" in rows[1][4]
