"""The disposal_cases and handling_steps templates: an announced sample named by its row, steps checked against
the history like any other interface, bad rows rejected with their reason (both backends)."""

from __future__ import annotations

from pathlib import Path

from loaders.load import load_files
from loaders.tables import write_table
from loaders.template_spec import TEMPLATES
from ontology.records import Operator, Sample

SHOP = "urn:foodtrace:operator:uscc:91320602MA1MXXXX00"


def table(path: Path, kind: str, rows: list[dict]) -> Path:
    t = TEMPLATES[kind]
    write_table(path, t.headers_zh, [[r.get(c.key, "") for c in t.columns] for r in rows])
    return path


def test_cases_and_steps_load_and_bad_rows_are_rejected(store, tmp_path):
    store.write([Operator(id=SHOP, kind="Supermarket", name="南通某某超市", uscc="91320602MA1MXXXX00",
                          region_id="urn:foodtrace:region:320602"),
                 Sample(id="urn:foodtrace:sample:samr:x", plan="supervisory", sampled_id=SHOP,
                        product_name="冷鲜猪肉", batch="2026-03-01", announcement="2026年第2期",
                        announced="2026-04-20", conclusion="nonconforming")])
    cases = table(tmp_path / "disposal_cases.csv", "disposal_cases", [
        {"number": "HC-1", "announcement": "2026年第2期", "sampled": "91320602MA1MXXXX00", "product_name": "冷鲜猪肉",
         "batch": "2026-03-01", "opened": "2026-04-02"},
        {"number": "HC-2", "announcement": "2026年第2期", "sampled": "91320602MA1MXXXX00", "product_name": "鸡蛋",
         "batch": "2026-03-01", "opened": "2026-04-02"},
        {"number": "HC-3", "sample": "nope", "operator": "91320602MA1MXXXX00", "opened": "2026-04-02"},
    ])
    steps = table(tmp_path / "handling_steps.csv", "handling_steps", [
        {"subject": "HC-1", "subject_kind": "核查处置", "seq": "1", "kind": "送达", "date": "2026-04-03", "by": "张三",
         "party": "91320602MA1MXXXX00"},
        {"subject": "HC-1", "subject_kind": "核查处置", "seq": "2", "kind": "整改", "date": "2026-04-01", "by": "张三"},
        {"subject": "HC-1", "subject_kind": "核查处置", "seq": "2", "kind": "异议", "date": "2026-04-07", "by": "张三"},
        {"subject": "HC-1", "subject_kind": "核查处置", "seq": "3", "kind": "复检", "date": "2026-04-20", "by": "张三",
         "outcome": "通过"},
        {"subject": "HC-9", "subject_kind": "核查处置", "seq": "1", "kind": "送达", "date": "2026-04-03", "by": "张三"},
    ])
    outcomes = load_files(store, [steps, cases])            # the order of the arguments does not matter
    rejects = {(Path(r.file).name, r.row): r.reason for o in outcomes for r in o.rejects}
    assert "no sample of announcement 2026年第2期 matches" in rejects[("disposal_cases.csv", 3)]
    assert "no sample has the identifier 'nope'" in rejects[("disposal_cases.csv", 4)]
    assert "the date 2026-04-01 is before the case opened" in rejects[("handling_steps.csv", 3)]
    assert "no disposal case has the number 'HC-9'" in rejects[("handling_steps.csv", 6)]
    assert len(rejects) == 4
    case = store.get("disposal_case", "urn:foodtrace:disposal_case:HC-1")
    assert (case.sample_id, case.district_id, case.due) == ("urn:foodtrace:sample:samr:x",
                                                            "urn:foodtrace:region:320602", "2026-07-01")
    kinds = sorted((s.seq, s.kind, s.outcome) for s in store.scan("handling_step"))
    assert kinds == [(1, "served", None), (2, "objection", None), (3, "retest", "pass")]
    again = load_files(store, [cases, steps])               # loading the same files again changes nothing
    assert sum(o.stats.total_changed for o in again) == 0


def test_samples_of_one_description_go_to_one_case_each(store, tmp_path):
    """Two batches of loose produce of one announcement are two samples of one description: two case rows
    naming that description take one each, and loading the rows again changes nothing."""
    store.write([Operator(id=SHOP, kind="Stall", name="某某摊位", uscc="91320602MA1MXXXX00",
                          region_id="urn:foodtrace:region:320602")]
                + [Sample(id=f"urn:foodtrace:sample:samr:{x}", plan="supervisory", sampled_id=SHOP,
                          product_name="豆芽", batch="/", announcement="2026年第2期", announced="2026-04-20",
                          conclusion="nonconforming") for x in ("a", "b")])
    row = {"announcement": "2026年第2期", "sampled": "91320602MA1MXXXX00", "product_name": "豆芽", "batch": "/",
           "opened": "2026-04-02"}
    cases = table(tmp_path / "disposal_cases.csv", "disposal_cases",
                  [{**row, "number": "HC-1"}, {**row, "number": "HC-2"}, {**row, "number": "HC-3"}])
    (first,) = load_files(store, [cases])
    assert [r.row for r in first.rejects] == [4] and "has a disposal case" in first.rejects[0].reason
    got = {c.number: c.sample_id for c in store.scan("disposal_case")}
    assert got == {"HC-1": "urn:foodtrace:sample:samr:a", "HC-2": "urn:foodtrace:sample:samr:b"}
    (again,) = load_files(store, [table(tmp_path / "again.csv", "disposal_cases",
                                        [{**row, "number": "HC-1"}, {**row, "number": "HC-2"}])])
    assert again.rejects == [] and again.stats.total_changed == 0


def test_a_case_takes_the_failed_sample_and_the_one_naming_its_producer(store, tmp_path):
    """One announcement, one wholesale market, three samples of celery of one batch: conforming and naming
    farm F, nonconforming naming F, nonconforming naming no producer. A case row naming no producer takes
    the failed one naming none (its producer is then none, so closing needs no serving of F); a row naming F
    takes the failed one naming F; a third row the one left (the conforming sample is never preferred to a failed one)."""
    farm = "urn:foodtrace:operator:uscc:91320681MA1FARM00J"
    store.write([Operator(id=SHOP, kind="WholesaleMarket", name="南通某某批发市场", uscc="91320602MA1MXXXX00",
                          region_id="urn:foodtrace:region:320602"),
                 Operator(id=farm, kind="CropFarm", name="启东某某蔬菜基地", uscc="91320681MA1FARM00J",
                          region_id="urn:foodtrace:region:320681")]
                + [Sample(id=f"urn:foodtrace:sample:samr:{x}", plan="supervisory", sampled_id=SHOP, producer_id=p,
                          product_name="芹菜", batch="2025-05-01", announcement="2025年第2期", announced="2025-06-01",
                          conclusion=c)
                   for x, p, c in (("a", farm, "conforming"), ("b", farm, "nonconforming"), ("c", None, "nonconforming"))])
    row = {"announcement": "2025年第2期", "sampled": "91320602MA1MXXXX00", "product_name": "芹菜",
           "batch": "2025-05-01", "opened": "2025-06-03"}
    cases = table(tmp_path / "disposal_cases.csv", "disposal_cases",
                  [{**row, "number": "HC-1"}, {**row, "number": "HC-2", "producer": "91320681MA1FARM00J"},
                   {**row, "number": "HC-3"}])
    (out,) = load_files(store, [cases])
    assert out.rejects == []
    got = {c.number: (c.sample_id.rsplit(":", 1)[1], c.producer_id) for c in store.scan("disposal_case")}
    assert got == {"HC-1": ("c", None), "HC-2": ("b", farm), "HC-3": ("a", farm)}
    steps = table(tmp_path / "handling_steps.csv", "handling_steps", [
        {"subject": "HC-1", "subject_kind": "核查处置", "seq": str(i + 1), "kind": k, "date": d, "by": "张三",
         "party": "91320602MA1MXXXX00" if k == "送达" else "", "outcome": o,
         "reason": "违法情节轻微并及时改正" if k == "不予立案" else ""}
        for i, (k, d, o) in enumerate((("送达", "2025-06-04", ""), ("原因排查", "2025-06-10", ""),
                                       ("整改", "2025-06-20", ""), ("不予立案", "2025-06-21", ""),
                                       ("结案", "2025-06-30", "")))])
    (done,) = load_files(store, [steps])
    assert done.rejects == [], [r.reason for r in done.rejects]
    (again,) = load_files(store, [cases])
    assert again.rejects == [] and again.stats.total_changed == 0
