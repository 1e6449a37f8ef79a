"""Regulatory risk grade A-D and credit class (reasoning.grading): exact points on hand-made records,
band edges, the HACCP and 严重违法失信名单 rules, credit records in and out of force, the official class
before the computed one, every kind's adaptation, the points table's validation, the supervision plan,
and on a synthetic network the observed failure rate after a cut date by grade."""

from __future__ import annotations

import collections
import copy
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from graph.view import ReadView
from ontology.records import Case, Complaint, CreditRecord, Inspection, Operator, Sample
from reasoning.grading import (
    Assessment,
    PointsTableError,
    credit_class,
    grade_for_score,
    grade_operators,
    load_points,
    parse_points,
    supervision_plan,
)

AS_OF = "2026-06-01"          # the window of 730 days starts on 2024-06-01
PTS = load_points()


def _raw() -> dict:
    return tomllib.loads(resources.files("reasoning").joinpath("data/grading_points.toml").read_text("utf-8"))


def op(oid: str, kind: str, *, category=None, scale=None, haccp=None, individual=None, region="urn:foodtrace:region:320602"):
    return Operator(id=oid, kind=kind, name=f"{oid}名称", category=category, scale=scale, haccp=haccp,
                    individual=individual, region_id=region)


def smp(sid: str, sampled: str, day: str, conclusion="nonconforming", *, plan="supervisory", producer=None,
        disputed=None, announced=None):
    return Sample(id=sid, plan=plan, sampled_id=sampled, producer_id=producer, product_name="样品",
                  sampled_at=day, announced=announced, conclusion=conclusion, disputed=disputed)


def insp(iid: str, oid: str, day: str, result: str, kind="routine"):
    return Inspection(id=iid, operator_id=oid, date=day, result=result, kind=kind)


def case(cid: str, oid: str, day: str, *, police=None, violation="经营超过保质期的食品", penalty="罚款"):
    return Case(id=cid, operator_id=oid, opened=day, violation=violation, penalty=penalty,
                transferred_to_police=police)


def credit(cid: str, oid: str, kind: str, start: str, end=None, repaired=None, cls=None):
    return CreditRecord(id=cid, operator_id=oid, kind=kind, start=start, end=end, repaired=repaired, credit_class=cls)


def grades(store, records, **kw) -> dict[str, Assessment]:
    store.write(records)
    return {a.operator_id: a for a in grade_operators(ReadView(store), as_of=kw.pop("as_of", AS_OF), **kw)}


# -- the points arithmetic --------------------------------------------------------------------------


@pytest.fixture
def network():
    return [
        # a dairy producer, medium: static 31 + 6 = 37
        op("P", "Producer", category="dairy", scale="medium"),
        insp("i1", "P", "2025-03-01", "fail"),                   # 8
        insp("i2", "P", "2025-04-01", "pass_with_remarks"),      # 2
        insp("i3", "P", "2025-05-01", "pass_with_remarks"),      # 2
        insp("i4", "P", "2025-06-01", "pass"),                   # 0
        insp("i5", "P", "2024-05-31", "fail"),                   # before the window: 0
        insp("i6", "P", AS_OF, "fail"),                          # on the as-of day: not known yet
        smp("s1", "S", "2025-07-01", producer="P"),              # taken at the stall, names P: 8 for both
        smp("s2", "P", "2025-08-01", plan="rapid"),              # rapid test at P: 3
        smp("s3", "P", "2025-09-01", disputed=True),             # disputed: left out
        smp("s4", "P", "2025-10-01", conclusion="conforming"),   # conforming: 0
        smp("s5", "P", None, announced="2025-11-01"),            # no sampling date: the announcement's: 8
        case("c1", "P", "2025-08-15"),                           # 6
        case("c2", "P", "2025-09-15", penalty="责任约谈"),        # an interview, not a case: 4
        Complaint(id="q1", operator_id="P", date="2025-10-10", substantiated=True),    # 2
        Complaint(id="q2", operator_id="P", date="2025-10-11", substantiated=False),   # 0
        credit("k1", "P", "penalty", "2025-09-30", end="2028-09-30"),                  # in force: computed B, 6
        # a vegetable stall, micro, where s1 was taken: static 17 + 0
        op("S", "Stall", category="vegetable", scale="micro"),
        # a large restaurant with an official class C: 24 + 9 + 12 = 45, the top of band B
        op("R", "Restaurant", scale="large"),
        credit("k2", "R", "credit_class", "2026-01-01", end="2027-01-01", cls="C"),
    ]


def test_points_on_a_hand_made_network(sqlite_store, network):
    g = grades(sqlite_store, network)
    p = g["P"]
    assert p.static == 37                      # tier IV 31 + medium 6
    # inspections 8 + 2 + 2 = 12; sampling 8 (s1) + 3 (s2, rapid) + 8 (s5) = 19, capped at 16;
    # cases 6; interviews 4; complaints 2: 12 + 16 + 6 + 4 + 2 = 40
    assert {f.code: f.points for f in p.factors} == {
        "static.tier": 31, "static.scale": 6, "dynamic.inspections": 12, "dynamic.sampling": 16,
        "dynamic.cases": 6, "dynamic.interviews": 4, "dynamic.complaints": 2, "credit.class": 6}
    assert p.dynamic_raw == 40 and p.dynamic == 40
    assert (p.credit_class, p.credit_class_source, p.credit) == ("B", "computed", 6)
    assert p.score == 83                       # 37 + 40 + 6
    assert (p.base_grade, p.grade) == ("D", "D")
    ev = {f.code: f.evidence for f in p.factors}
    assert ev["dynamic.inspections"] == ("i1", "i2", "i3")
    assert ev["dynamic.sampling"] == ("s1", "s2", "s5")
    assert ev["dynamic.cases"] == ("c1",) and ev["dynamic.interviews"] == ("c2",)
    assert ev["dynamic.complaints"] == ("q1",) and ev["credit.class"] == ("k1",)
    assert p.factor("dynamic.sampling").max_points == 16
    assert "按上限 16 分计" in p.factor("dynamic.sampling").note      # 19 capped at 16
    assert p.method == "SAMR-2022 producer" and p.config_version == PTS.version and p.as_of == AS_OF

    s = g["S"]
    assert (s.static, s.dynamic, s.credit, s.score) == (17, 8, 0, 25)   # 17 + 0; s1: 8; credit A computed
    assert (s.grade, s.method, s.factor("dynamic.sampling").evidence) == ("A", "adapted: market stall", ("s1",))

    r = g["R"]
    assert (r.static, r.dynamic, r.credit, r.score) == (33, 0, 12, 45)  # 24 + 9; official C: 12
    assert (r.credit_class, r.credit_class_source, r.grade) == ("C", "official", "B")   # 45 is still B


def test_to_dict_round_trips(sqlite_store, network):
    a = grades(sqlite_store, network)["P"]
    d = a.to_dict()
    assert d["factors"][0]["code"] == "static.tier" and isinstance(d["factors"][2]["evidence"], list)
    assert Assessment.from_dict(d) == a
    import json

    assert Assessment.from_dict(json.loads(json.dumps(d, ensure_ascii=False))) == a


def test_records_after_as_of_and_before_the_window_do_not_count(sqlite_store, network):
    g = grades(sqlite_store, network, as_of="2025-03-02")
    # the window is 2023-03-03 .. 2025-03-01: i5 and i1 are known; the samples, cases and the penalty later
    p = g["P"]
    assert p.factor("dynamic.inspections").evidence == ("i5", "i1") and p.factor("dynamic.sampling").points == 0
    assert (p.credit_class, p.score, p.grade) == ("A", 53, "C")    # 37 + (8 + 8) + 0
    # a year later i5 has left the window (2024-06-01 .. 2026-05-31) and i6 is not yet known
    p = grades(sqlite_store, [], as_of=AS_OF)["P"]
    assert "i5" not in p.factor("dynamic.inspections").evidence and "i6" not in p.factor("dynamic.inspections").evidence


def test_default_as_of_is_the_day_after_the_latest_date(sqlite_store, network):
    sqlite_store.write(network)
    a = grade_operators(ReadView(sqlite_store))
    assert {x.as_of for x in a} == {"2026-06-02"}    # i6 is dated 2026-06-01
    one = grade_operators(ReadView(sqlite_store), operator_ids=["R"])
    assert one[0].as_of == "2026-06-02"


def test_filtered_read_equals_the_full_read(store, network):
    store.write(network)
    full = {a.operator_id: a for a in grade_operators(ReadView(store), as_of=AS_OF)}
    for oid in ("P", "S", "R"):
        assert grade_operators(ReadView(store), as_of=AS_OF, operator_ids=[oid]) == [full[oid]]


# -- bands ----------------------------------------------------------------------------------------


def test_band_edges():
    b = PTS.bands
    assert (b["A"], b["B"], b["C"]) == (30, 45, 60)
    cases = {0: "A", 30: "A", 30.5: "B", 45: "B", 45.5: "C", 60: "C", 60.5: "D", 100: "D"}
    assert {s: grade_for_score(s, b) for s in cases} == cases


def test_band_edges_through_the_store(sqlite_store):
    # a medium restaurant: 24 + 6 = 30 -> A; a table giving rapid tests 0.5 points moves it to 30.5 -> B
    raw = _raw()
    raw["dynamic"]["sampling"]["points"]["rapid"] = 0.5
    half = parse_points(raw)
    recs = [op("R30", "Restaurant", scale="medium"), op("R305", "Restaurant", scale="medium"),
            smp("x", "R305", "2026-01-01", plan="rapid")]
    g = grades(sqlite_store, recs, points=half)
    assert (g["R30"].score, g["R30"].grade) == (30, "A")
    assert (g["R305"].score, g["R305"].grade) == (30.5, "B")
    assert grades(sqlite_store, [], points=half)["R305"].config_version == "2026.1"


def test_bands_are_configurable(sqlite_store):
    raw = _raw()
    raw["bands"] = {"A": 20, "B": 25, "C": 29}
    g = grades(sqlite_store, [op("R", "Restaurant", scale="medium")], points=parse_points(raw))
    assert (g["R"].score, g["R"].grade) == (30, "D")


# -- HACCP and the 严重违法失信名单 ---------------------------------------------------------------------


def test_haccp_moves_one_grade_toward_a(sqlite_store):
    recs = [op("H", "Producer", category="dairy", scale="large", haccp=True),    # 31 + 9 = 40: B -> A
            op("N", "Producer", category="dairy", scale="large"),                # the same without: B
            op("HC", "Producer", category="dairy", scale="large", haccp=True),   # + 8 + 8 = 56: C -> B
            insp("h1", "HC", "2026-01-01", "fail"), insp("h2", "HC", "2026-02-01", "fail"),
            op("HA", "Producer", category="grain", scale="small", haccp=True)]   # 10 + 3 = 13: A stays A
    g = grades(sqlite_store, recs)
    assert (g["H"].score, g["H"].base_grade, g["H"].grade, g["H"].haccp_applied) == (40, "B", "A", True)
    assert (g["N"].base_grade, g["N"].grade, g["N"].haccp_applied) == ("B", "B", False)
    assert (g["HC"].score, g["HC"].base_grade, g["HC"].grade) == (56, "C", "B")
    assert (g["HA"].score, g["HA"].grade, g["HA"].haccp, g["HA"].haccp_applied) == (13, "A", True, False)


def test_serious_dishonesty_list_is_d_even_with_haccp(sqlite_store):
    recs = [op("X", "Producer", category="grain", scale="small", haccp=True),
            credit("sd", "X", "serious_dishonest", "2026-01-01", end="2029-01-01"),
            # an official class A in force: the credit points follow it, the list still gives D
            op("Y", "Producer", category="grain", scale="small", haccp=True),
            credit("sdy", "Y", "serious_dishonest", "2026-01-01", end="2029-01-01"),
            credit("cy", "Y", "credit_class", "2026-02-01", end="2027-02-01", cls="A")]
    g = grades(sqlite_store, recs)
    x = g["X"]
    # 10 + 3 + computed class D 20 = 33: band B, HACCP -> A, then the list -> D
    assert (x.score, x.base_grade, x.haccp_applied, x.serious_dishonest, x.grade) == (33, "B", True, True, "D")
    assert (x.credit_class, x.credit_class_source, x.serious_dishonest_evidence) == ("D", "computed", ("sd",))
    y = g["Y"]
    assert (y.score, y.credit_class, y.credit_class_source, y.grade) == (13, "A", "official", "D")


def test_expired_and_repaired_records_do_not_count(sqlite_store):
    recs = [op(o, "Stall", category="vegetable", scale="micro") for o in ("E", "RP", "RL", "SR", "CE")] + [
        credit("e", "E", "penalty", "2022-01-01", end="2025-01-01"),                            # expired
        credit("rp", "RP", "penalty", "2025-01-01", end="2028-01-01", repaired="2026-05-31"),   # repaired before
        credit("rl", "RL", "penalty", "2025-01-01", end="2028-01-01", repaired=AS_OF),          # not before as_of
        credit("sr", "SR", "serious_dishonest", "2025-01-01", end="2028-01-01", repaired="2026-01-01"),
        credit("ce", "CE", "credit_class", "2025-01-01", end="2026-01-01", cls="D"),           # official expired
        credit("ce2", "CE", "abnormal", "2026-01-01")]                                          # no end: in force
    g = grades(sqlite_store, recs)
    got = {o: (g[o].credit_class, g[o].credit_class_source, g[o].factor("credit.class").evidence) for o in g}
    assert got == {"E": ("A", "computed", ()), "RP": ("A", "computed", ()), "RL": ("B", "computed", ("rl",)),
                   "SR": ("A", "computed", ()), "CE": ("B", "computed", ("ce2",))}
    assert not g["SR"].serious_dishonest and g["SR"].grade == "A"


def test_official_class_preferred_over_computed(sqlite_store):
    recs = [op("O", "Stall", category="vegetable", scale="micro"),
            credit("p1", "O", "penalty", "2025-01-01", end="2028-01-01"),
            credit("p2", "O", "penalty", "2025-02-01", end="2028-02-01"),        # computed would be C
            credit("old", "O", "credit_class", "2025-06-01", end="2026-06-01", cls="D"),
            credit("new", "O", "credit_class", "2025-12-01", end="2026-12-01", cls="A")]
    a = grades(sqlite_store, recs)["O"]
    assert (a.credit_class, a.credit_class_source, a.credit, a.factor("credit.class").evidence) == \
        ("A", "official", 0, ("new",))
    # without the official classes, the two penalties give C
    c = credit_class([r for r in recs if isinstance(r, CreditRecord) and r.kind == "penalty"], AS_OF)
    assert (c.cls, c.source, c.evidence) == ("C", "computed", ("p1", "p2"))


def test_computed_class_rules():
    from types import SimpleNamespace as R

    def rec(i, kind):
        return R(id=i, kind=kind, start="2025-01-01", end=None, repaired=None, credit_class=None)

    assert credit_class([], AS_OF).cls == "A"
    assert credit_class([rec("a", "abnormal")], AS_OF).cls == "B"
    assert credit_class([rec("p", "penalty")], AS_OF).cls == "B"
    assert credit_class([rec("p", "penalty"), rec("a", "abnormal")], AS_OF).cls == "C"
    assert credit_class([rec("p", "penalty"), rec("q", "penalty")], AS_OF).cls == "C"
    assert credit_class([rec("s", "serious_dishonest")], AS_OF).cls == "D"
    assert credit_class([rec("c", "commendation")], AS_OF).cls == "A"


# -- adaptations ----------------------------------------------------------------------------------


def test_each_kind_names_its_adaptation(sqlite_store):
    from ontology.vocab import operator_kinds

    kinds = sorted(operator_kinds()) + ["Operator"]
    recs = [op(f"k-{k}", k) for k in kinds]
    g = grades(sqlite_store, recs)
    for k in kinds:
        a = g[f"k-{k}"]
        rule = PTS.kind_rule(k)
        assert a.kind == k and a.method == rule.method_en and a.method_zh == rule.method_zh
        assert a.method_note == rule.note_zh and rule.method_zh in a.factor("static.tier").note
        if k == "Producer":
            assert a.method == "SAMR-2022 producer"
        else:
            assert a.method.startswith("adapted: "), k
    named = {k: g[f"k-{k}"].method for k in kinds}
    assert named["Farm"] == "adapted: livestock farm" and named["Slaughterhouse"] == "adapted: slaughterhouse"
    assert named["Stall"] == "adapted: market stall" and named["SchoolCanteen"] == "adapted: school canteen"
    assert named["Restaurant"] == "adapted: restaurant" and named["Workshop"] == "adapted: small workshop"
    # every kind of the ontology has its own table (none falls back silently)
    assert set(PTS.kinds) >= set(kinds)


def test_static_tiers_by_kind(sqlite_store):
    recs = [op("sh", "Slaughterhouse", scale="large"),                         # IV fixed 31 + 9
            op("sc", "SchoolCanteen", scale="micro"),                          # IV fixed 31 + 0
            op("pork", "Stall", category="pork", scale="micro"),               # stall pork III 24
            op("veg", "Stall", category="vegetable"),                          # II 17 + default small 3
            op("ind", "Stall", category="vegetable", individual=True),         # an individual: micro 0
            op("leaf", "CropFarm", category="leafy_vegetable", scale="small"), # III 24 + 3
            op("pig", "Farm", category="live_pig", scale="micro"),             # III 24
            op("infant", "Producer", category="infant_food", scale="small"),   # IV 31 + 3
            op("grain", "Workshop", category="grain", scale="micro"),          # I 10 (the Producer table)
            op("none", "Producer", scale="micro"),                             # no category: default II 17
            op("odd", "Producer", category="no_such", scale="micro")]          # unknown category: II 17
    g = grades(sqlite_store, recs)
    assert {o: g[o].static for o in g} == {"sh": 40, "sc": 31, "pork": 24, "veg": 20, "ind": 17, "leaf": 27,
                                          "pig": 24, "infant": 34, "grain": 10, "none": 17, "odd": 17}
    assert "无主营类别记录" in g["none"].factor("static.tier").note
    assert "个体经营" in g["ind"].factor("static.scale").note


# -- the points table -----------------------------------------------------------------------------


def test_packaged_table():
    assert PTS.version == "2026.1" and PTS.name_zh and PTS.name_en
    assert PTS.static_max == 40 and PTS.dynamic_max == 40 and PTS.credit_max == 20
    assert max(p for _, _, p in PTS.tiers.values()) + max(PTS.scale_points.values()) == 40
    assert dict(PTS.frequency) == {"A": 0.5, "B": 1, "C": 2, "D": 3}
    for key, (zh, en, _) in PTS.tiers.items():
        assert zh and en
    for item in PTS.items.values():
        assert item.name_zh and item.name_en


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.pop("version"), "[version] is missing"),
    (lambda r: r["static"]["tiers"]["IV"].update(points="high"), "[static.tiers.IV.points] must be a number"),
    (lambda r: r["static"]["tiers"]["IV"].pop("name_zh"), "[static.tiers.IV.name_zh] is missing"),
    (lambda r: r["static"]["tiers"]["IV"].update(points=35), "[static] the highest tier plus the largest scale"),
    (lambda r: r["bands"].update(B=20), "[bands] must increase"),
    (lambda r: r["static"]["category_tiers"].update(dairy="V"), "[static.category_tiers.dairy] names the unknown tier 'V'"),
    (lambda r: r["kinds"]["Stall"].update(tier="II"), "[kinds.Stall] needs exactly one of"),
    (lambda r: r["kinds"].pop("Operator"), "[kinds.Operator] is missing"),
    (lambda r: r["dynamic"]["sampling"]["points"].pop("rapid"), "[dynamic.sampling.points.rapid] is missing"),
    (lambda r: r["credit"]["points"].update(D=25), "[credit.points.D] 25 is above credit.max 20"),
    (lambda r: r["frequency"].update(C=-1), "[frequency.C] must be >= 0"),
    (lambda r: r["credit"]["computed"].update(c_penalty_and_abnormal="yes"), "[credit.computed.c_penalty_and_abnormal]"),
])
def test_bad_tables_name_the_key(edit, message):
    raw = copy.deepcopy(_raw())
    edit(raw)
    with pytest.raises(PointsTableError) as e:
        parse_points(raw, "mine.toml")
    assert str(e.value).startswith("points table mine.toml: ") and message in str(e.value)


def test_load_points_from_a_file(tmp_path):
    p = tmp_path / "p.toml"
    text = resources.files("reasoning").joinpath("data/grading_points.toml").read_text("utf-8")
    p.write_text(text.replace('version = "2026.1"', 'version = "2026.2-test"'), encoding="utf-8")
    assert load_points(p).version == "2026.2-test"
    (tmp_path / "bad.toml").write_text("version = [", encoding="utf-8")
    with pytest.raises(PointsTableError, match="bad.toml: not valid TOML"):
        load_points(tmp_path / "bad.toml")
    with pytest.raises(PointsTableError, match="cannot read"):
        load_points(tmp_path / "missing.toml")


# -- the supervision plan -------------------------------------------------------------------------


def test_supervision_plan(sqlite_store):
    def a(oid, grade, district, kind):
        return Assessment(oid, grade, 0, 0, 0, 0, (), "m", False, False, "A", "computed", "v", AS_OF,
                          kind=kind, district=district)

    ass = [a("1", "A", "d1", "Stall"), a("2", "A", "d1", "Stall"), a("3", "D", "d1", "Stall"),
           a("4", "B", "d1", "Restaurant"), a("5", "C", "d2", "Restaurant"), a("6", "B", "d2", None)]
    plan = supervision_plan(ass)

    def row(level, district, kind):
        m = plan[(plan.level == level) & (plan.district.isna() if district is None else plan.district == district)
                 & (plan.kind.isna() if kind is None else plan.kind == kind)]
        assert len(m) == 1
        return m.iloc[0][["A", "B", "C", "D", "operators", "inspections"]].tolist()

    assert row("district_kind", "d1", "Stall") == [2, 0, 0, 1, 3, 4.0]      # 0.5 + 0.5 + 3
    assert row("district_kind", "d2", None) == [0, 1, 0, 0, 1, 1.0]         # kind unknown
    assert row("district", "d1", None) == [2, 1, 0, 1, 4, 5.0]              # 4 + 1
    assert row("kind", None, "Restaurant") == [0, 1, 1, 0, 2, 3.0]          # 1 + 2
    assert row("total", None, None) == [2, 2, 1, 1, 6, 8.0]                 # 0.5*2 + 1*2 + 2*1 + 3*1
    raw = _raw()
    raw["frequency"]["A"] = 1
    assert supervision_plan(ass, points=parse_points(raw)).iloc[-1]["inspections"] == 9.0   # 1*2 + 1*2 + 2 + 3
    assert supervision_plan([]).empty


# -- synthetic network ----------------------------------------------------------------------------

MIN_SAMPLES = 20   # a grade's failure rate is compared only where at least this many samples fell after the cut


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from graph.store import open_store
    from loaders.load import load_files
    from generator import generate

    out = tmp_path_factory.mktemp("grading") / "syn"
    m = generate(out, scale=3000, seed=7)
    store = open_store(str(out.parent / "s.db"))
    load_files(store, [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != "truth"
                       and p.name != "manifest.json"])
    try:
        yield store, m
    finally:
        store.close()


def failure_rates(store, cut: str) -> tuple[dict[str, tuple[int, int]], list[Assessment]]:
    """(nonconforming, samples) after ``cut`` per grade as of ``cut``; a sample belongs to its named
    producer, else to the operator where it was taken; disputed samples are left out, and so are the samples
    of a failures-only source (a re-publisher's 不合格 tables: no denominator)."""
    assessments = grade_operators(ReadView(store), as_of=cut)
    grade = {a.operator_id: a.grade for a in assessments}
    failures_only = {r.id for r in store.scan("sampling_source") if r.coverage == "failures_only"}
    n: collections.Counter = collections.Counter()
    f: collections.Counter = collections.Counter()
    for s in store.scan("sample"):
        day = s.sampled_at or s.announced
        owner = s.producer_id or s.sampled_id
        if day is None or day < cut or s.disputed or owner not in grade or s.source_id in failures_only:
            continue
        n[grade[owner]] += 1
        f[grade[owner]] += s.conclusion == "nonconforming"
    return {g: (f[g], n[g]) for g in "ABCD"}, assessments


def test_failure_rate_rises_with_the_grade_on_synthetic_data(synthetic):
    store, manifest = synthetic
    from datetime import date

    start, end = date.fromisoformat(manifest.start), date.fromisoformat(manifest.end)
    cut = (start + (end - start) / 2).isoformat()          # the middle of the two simulated years
    rates, assessments = failure_rates(store, cut)
    # figures (scale 3000, seed 7, cut 2025-11-21): A 1/46, B 3/27, C 1/1, D 0/0 -- C and D hold too few
    # samples after the cut to estimate a rate (reported to the lead; the points are not tuned to the data)
    assert cut == "2025-11-21"
    assert rates == {"A": (1, 46), "B": (3, 27), "C": (1, 1), "D": (0, 0)}
    rate = {g: f / n for g, (f, n) in rates.items() if n >= MIN_SAMPLES}
    assert len(rate) >= 2
    ordered = [rate[g] for g in "ABCD" if g in rate]
    assert ordered == sorted(ordered) and len(set(ordered)) == len(ordered)     # strictly rising
    # grades worse than A together fail more often than A
    worse = [rates[g] for g in "BCD"]
    assert sum(f for f, _ in worse) / sum(n for _, n in worse) > rates["A"][0] / rates["A"][1]
    # every grade is used and every kind names its method
    assert {a.grade for a in assessments} == set("ABCD")
    assert all(a.method == PTS.kind_rule(a.kind).method_en for a in assessments)


def test_synthetic_credit_classes_and_evidence(synthetic):
    store, _ = synthetic
    assessments = grade_operators(ReadView(store))
    src = collections.Counter(a.credit_class_source for a in assessments)
    assert src["official"] > 0 and src["computed"] > 0
    ids = {r.id for t in ("sample", "inspection", "case", "complaint", "credit_record") for r in store.scan(t)}
    for a in assessments:
        assert a.score == pytest.approx(a.static + a.dynamic + a.credit)
        assert 0 <= a.static <= 40 and 0 <= a.dynamic <= 40 and 0 <= a.credit <= 20
        for f in a.factors:
            assert 0 <= f.points <= f.max_points and f.note and f.note_en
            assert set(f.evidence) <= ids
