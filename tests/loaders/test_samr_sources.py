"""Announcements of several sources: coverage declared or detected, names merged across files, never two USCCs."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.store import open_store
from loaders import samr, templates
from loaders.base import Reject
from loaders.load import load_files
from loaders.tables import write_table
from ontology import identifiers as ids
from ontology.names import operator_id_for
from reasoning.merges import operator_merges

Q_HEAD = ["序号", "标称生产企业名称", "被抽样单位名称", "被抽样单位所在省份", "食品名称", "生产日期/批号", "分类", "公告日期",
          "任务来源/项目名称"]
U_HEAD = Q_HEAD[:6] + ["不合格项目║检验结果║标准值"] + Q_HEAD[6:]


def q_row(i: int, producer: str, sampled: str, food: str, task: str, day: str = "2021-03-01") -> list[str]:
    return [str(i), producer, sampled, "江苏", food, day, "调味品/酱油", day, task]


def u_row(i: int, producer: str, sampled: str, food: str, failure: str, task: str,
          day: str = "2021-03-01") -> list[str]:
    return [str(i), producer, sampled, "江苏", food, day, failure, "调味品/酱油", day, task]


@pytest.fixture
def tables(tmp_path: Path) -> dict[str, Path]:
    both, only = "国内监督抽查(江苏市场监管局)", "国内监督抽查(江苏省食药监局)"
    q = tmp_path / "q.csv"
    write_table(q, Q_HEAD, [q_row(1, "南通甲食品有限公司 ", "南通市崇川区鲜丰超市", "黄豆酱油", both),
                            q_row(2, "乐斯福（明光）有限公司", "如皋市城北农贸市场12号摊位", "酱油", both)])
    u = tmp_path / "u.csv"
    write_table(u, U_HEAD, [
        u_row(1, "南通甲食品有限责任公司", "南通市崇川区鲜丰超市", "黄豆酱油", "氨基酸态氮║0.3g/100mL║≥0.40g/100mL", both,
              day="2021-06-01"),
        u_row(2, "乐斯福明光有限公司", "/", "老抽", "苯甲酸║1.2g/kg║≤1.0g/kg", only),
        u_row(3, "/", "如皋市城北农贸市场 012号", "散装酱油", "菌落总数║/║/", only),
        u_row(4, "/", "/", "黄豆芽", "6-苄基腺嘌呤║13.2μg/kg║不得使用", only),
    ])
    return {"q": q, "u": u}


def sources(store) -> dict[str, tuple[str, str]]:
    return {s.name: (s.coverage, s.coverage_basis) for s in store.scan("sampling_source")}


@pytest.mark.parametrize("order", ["q first", "u first"])
def test_coverage_detected_in_either_order(tables, tmp_path, order):
    files = [tables["q"], tables["u"]] if order == "q first" else [tables["u"], tables["q"]]
    with open_store(tmp_path / "s.db") as store:
        for f in files:  # one call per file: the later file sees what the earlier one stored
            load_files(store, [f])
        assert sources(store) == {"江苏市场监管局": ("both", "detected"),
                                  "江苏省食药监局": ("failures_only", "detected")}


def test_coverage_declared_wins(tables, tmp_path):
    with open_store(tmp_path / "s.db") as store:
        load_files(store, [tables["u"]], coverage="both")
        assert set(sources(store).values()) == {("both", "declared")}
        load_files(store, [tables["q"]], coverage="failures_only")
        assert sources(store)["江苏市场监管局"] == ("failures_only", "declared")
        load_files(store, [tables["u"]])  # detection never overrides what was declared
        assert sources(store)["江苏省食药监局"] == ("both", "declared")


def test_declared_source_replaces_the_publisher(tables, tmp_path):
    with open_store(tmp_path / "s.db") as store:
        load_files(store, [tables["u"], tables["q"]], source="食安通")
        assert sources(store) == {"食安通": ("both", "detected")}


def test_rows_kept_warned_or_rejected(tables, tmp_path):
    with open_store(tmp_path / "s.db") as store:
        (q,) = load_files(store, [tables["q"]])
        (u,) = load_files(store, [tables["u"]])
        assert (q.exit_code, u.exit_code) == (0, 1)
        assert [(r.row, r.field) for r in u.rejects] == [(5, "被抽样单位名称")]  # names no one: 黄豆芽 / /
        assert sorted((w.row, w.kind) for w in u.warnings) == [
            (3, "no_sampled_unit"), (4, "limit_not_numeric"), (4, "no_producer"), (4, "result_not_numeric")]
        assert store.counts()["sample"] == 5
        samples = {s.product_name: s for s in store.scan("sample")}
        soy = samples["老抽"]
        assert (soy.conclusion, soy.sampled_id, soy.missing, soy.task_kind, soy.province) == (
            "nonconforming", None, "sampled", "provincial", "江苏")
        loose = samples["散装酱油"]
        assert (loose.producer_id, loose.missing) == (None, "producer result limit")
        (t,) = store.scan("test_result", {"sample_id": loose.id})
        assert (t.item, t.value, t.value_text, t.limit, t.hazard_class) == ("菌落总数", None, None, None, "microbial")


def test_one_business_one_history_across_files(tables, tmp_path):
    with open_store(tmp_path / "s.db") as store:
        load_files(store, [tables["q"], tables["u"]])
        jia = operator_id_for("南通甲食品有限公司")
        lsf = operator_id_for("乐斯福明光有限公司")
        by_producer = {}
        for s in store.scan("sample"):
            by_producer.setdefault(s.producer_id, []).append(s.conclusion)
        assert sorted(by_producer[jia]) == ["conforming", "nonconforming"]
        assert sorted(by_producer[lsf]) == ["conforming", "nonconforming"]
        stall = operator_id_for("如皋市城北农贸市场12号摊位")
        assert sorted(s.conclusion for s in store.scan("sample", {"sampled_id": stall})) == [
            "conforming", "nonconforming"]
        st = store.get("operator", stall)
        assert (st.kind, st.parent_id) == ("Stall", operator_id_for("如皋市城北农贸市场"))
        assert store.get("operator", st.parent_id).kind == "FarmersMarket"
        merged = {m["name"]: [f["form"] for f in m["forms"]] for m in operator_merges(store)["merged"]}
        assert merged == {"南通甲食品有限公司": ["南通甲食品有限公司", "南通甲食品有限责任公司"],
                          "乐斯福（明光）有限公司": ["乐斯福（明光）有限公司", "乐斯福明光有限公司"],
                          "如皋市城北农贸市场12号摊位": ["如皋市城北农贸市场12号摊位", "如皋市城北农贸市场 012号"]}


def test_two_uscc_never_merged(tmp_path):
    ops = tmp_path / "operators.csv"
    write_table(ops, ["名称", "主体类型", "统一社会信用代码"], [
        ["南通甲食品有限公司", "生产企业", "91320602MA1MXXXX00"],
        ["南通甲食品有限责任公司", "生产企业", "91320612MA1MYYYY2B"],
        ["如东乙食品有限公司", "生产企业", "91320623MA1MWWWW1T"],
    ])
    ann = tmp_path / "u.csv"
    write_table(ann, U_HEAD, [
        u_row(1, "南通甲食品有限公司", "/", "酱油", "苯甲酸║1.2g/kg║≤1.0g/kg", "市抽"),
        u_row(2, "南通 甲食品有限公司", "/", "醋", "苯甲酸║1.2g/kg║≤1.0g/kg", "市抽"),
        u_row(3, "如东乙食品有限责任公司 ", "/", "酱", "苯甲酸║1.2g/kg║≤1.0g/kg", "市抽"),
    ])
    with open_store(tmp_path / "s.db") as store:
        rejects: list[Reject] = []
        store.write(templates.read(ops, rejects, store=store))
        assert rejects == [], rejects
        store.write(samr.read(ann, rejects, store=store))
        got = {s.product_name: s.producer_id for s in store.scan("sample")}
        # the exact registered name finds its operator; a variant of a name two registered operators share
        # finds neither; a variant of a name only one has finds it
        a, b = "urn:foodtrace:operator:uscc:91320602MA1MXXXX00", "urn:foodtrace:operator:uscc:91320612MA1MYYYY2B"
        # the operator registered under exactly the key's text keeps the key: its name and its variants find it
        assert got["酱油"] == a and got["醋"] == a
        assert got["酱"] == "urn:foodtrace:operator:uscc:91320623MA1MWWWW1T"
        assert store.resolve("urn:foodtrace:operator:" + "南通甲食品有限责任公司") is None or \
            store.resolve(operator_id_for("南通甲食品有限责任公司")) == a
        assert store.resolve(ids.operator_id(local="南通甲食品有限责任公司")) == b
        assert store.get("operator", a).uscc != store.get("operator", b).uscc


def test_a_name_two_registered_operators_share_is_left_unmerged(tmp_path):
    ops = tmp_path / "operators.csv"
    write_table(ops, ["名称", "主体类型", "统一社会信用代码"], [
        ["南通丙食品有限责任公司", "生产企业", "91320602MA1MXXXX00"],
        ["南通丙食品 有限公司", "生产企业", "91320612MA1MYYYY2B"],
    ])
    ann = tmp_path / "u.csv"
    write_table(ann, U_HEAD, [u_row(1, "南通丙食品有限公司", "/", "酱油", "苯甲酸║1.2g/kg║≤1.0g/kg", "市抽"),
                              u_row(2, "南通丙食品有限责任公司", "/", "醋", "苯甲酸║1.2g/kg║≤1.0g/kg", "市抽")])
    with open_store(tmp_path / "s.db") as store:
        rejects: list[Reject] = []
        store.write(templates.read(ops, rejects, store=store))
        store.write(samr.read(ann, rejects, store=store))
        assert rejects == []
        got = {s.product_name: s.producer_id for s in store.scan("sample")}
        # a variant of the shared name finds neither registered operator; the exact registered name finds its own
        assert got["酱油"] == operator_id_for("南通丙食品有限公司") and store.get("operator", got["酱油"]).uscc is None
        assert got["醋"] == "urn:foodtrace:operator:uscc:91320602MA1MXXXX00"
        amb = operator_merges(store)["ambiguous"]
        assert [(a["form"], a["operators"]) for a in amb] == [
            ("南通丙食品有限公司", ["urn:foodtrace:operator:uscc:91320602MA1MXXXX00",
                                   "urn:foodtrace:operator:uscc:91320612MA1MYYYY2B"])]
