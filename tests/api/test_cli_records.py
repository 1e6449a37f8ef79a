"""`foodtrace history | correct | delete | unload | erase | batches` on a small store loaded from files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from ontology.identifiers import operator_id
from ontology.records import ERASED_NAME

USCC = "92320602MA1YYYYY0R"  # an individual business (个体工商户)
OP = f"urn:foodtrace:operator:uscc:{USCC}"


@pytest.fixture
def env(tmp_path):
    ops = tmp_path / "operators.csv"
    ops.write_text("名称,主体类型,统一社会信用代码,所属区县,联系电话,个体\n"
                   f"张三猪肉摊,摊位,{USCC},崇川区,13700001111,是\n"
                   "南通市某某小学食堂,学校食堂,123206004660000003,通州区,,否\n", encoding="utf-8")
    test = tmp_path / "test-load.csv"
    test.write_text("名称,主体类型,所属区县\n测试主体,超市,海门区\n", encoding="utf-8")
    db = str(tmp_path / "s.db")
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        r = runner.invoke(cli, [*args, "--store", db], catch_exceptions=False)
        if ok:
            assert r.exit_code == 0, r.output
        return r

    return run, ops, test, db


def test_correct_then_history_shows_who_when_why(env):
    run, ops, _, db = env
    run("load", str(ops), "--rejects", str(ops.parent / "r.csv"))
    r = run("correct", USCC, "所属区县", "通州区", "--reason", "迁址", "--by", "王审核")
    assert "urn:foodtrace:region:320602 → urn:foodtrace:region:320612" in r.output
    r = run("history", USCC, "--format", "json")
    h = json.loads(r.output)
    assert h["id"] == OP and h["sources"][0]["source"] == str(ops.resolve())
    (v,) = h["versions"]
    assert v["reason"] == "迁址" and v["batch"]["actor"] == "王审核" and v["batch"]["kind"] == "correction"
    assert v["changes"] == {"region_id": ["urn:foodtrace:region:320602", "urn:foodtrace:region:320612"]}
    table = run("history", USCC, "--as-of", "2000-01-01").output
    assert "王审核" in table and "迁址" in table and "did not exist" in table
    bad = run("correct", USCC, "主体类型", "宇宙飞船", "--reason", "x", ok=False)
    assert bad.exit_code == 2 and "not a term of operator_kind" in bad.output


def test_unload_a_test_file_and_delete_a_record(env):
    run, ops, test, db = env
    run("load", str(ops), str(test), "--rejects", str(ops.parent / "r.csv"))
    with open_store(db) as s:
        assert s.get("operator", operator_id(local="测试主体")) is not None
    r = run("unload", str(test), "--reason", "测试数据误入生产库")
    assert "operator" in r.output
    with open_store(db) as s:
        assert s.get("operator", operator_id(local="测试主体")) is None and s.get("operator", OP) is not None
        (b,) = [b for b in s.batches().values() if b.kind == "unload"]
        assert b.reason == "测试数据误入生产库" and b.changed >= 1
    other = ops.parent / "other.csv"
    other.write_text("名称,主体类型\n某某,超市\n", encoding="utf-8")
    never = run("unload", str(other), "--reason", "x", ok=False)
    assert never.exit_code == 2 and "never loaded" in never.output
    run("delete", "123206004660000003", "--reason", "重复登记")
    with open_store(db) as s:
        assert s.resolve("123206004660000003") is None
    assert "delete" in run("batches", "--kind", "delete").output


def test_erase_leaves_a_tombstone_and_no_personal_data(env):
    run, ops, _, db = env
    run("load", str(ops), "--rejects", str(ops.parent / "r.csv"))
    r = run("erase", USCC, "--reason", "本人申请（登记号2026-01）", "--by", "隐私专员")
    assert "personal data erased" in r.output
    with open_store(db) as s:
        (oid,) = [o.id for o in s.scan("operator") if o.erased]
        got = s.get("operator", oid)
        assert got.name == ERASED_NAME and got.erased_by == "隐私专员" and got.phone is None
        text = json.dumps(s.history(oid), ensure_ascii=False)
    assert "张三" not in text and "13700001111" not in text and USCC not in text
    r = run("erase", "123206004660000003", "--reason", "x", "--by", "y", ok=False)
    assert r.exit_code == 2 and "not a natural person" in r.output
