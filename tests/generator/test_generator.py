"""The synthetic Nantong generator, checked on the files it writes."""

from __future__ import annotations

import csv
import hashlib
import math
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from generator import DEFAULT_RATES, generate
from generator.network import KINDS
from generator.write import CONTEXT, EVENTS_PER_DOCUMENT
from ontology import vocab
from ontology.identifiers import (
    canonical,
    delivery_id,
    gtin14,
    lot_id,
    operator_id,
    operator_key,
    product_id,
    valid_gln,
    valid_uscc,
)

from ..conftest import shared_path


@pytest.fixture(scope="module")
def out5000(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("syn5000")
    generate(out, scale=5000, seed=7)
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class _Files:
    """A minimal independent reading of the generated files: deliveries, lot creations, ids."""

    def __init__(self, out: Path) -> None:
        ops = _csv(out / "templates" / "operators.csv")
        self.ops = ops
        self.op: dict[str, str] = {}
        for r in ops:
            cid = operator_id(gln=r["全球位置码"] or None, uscc=r["统一社会信用代码"])
            for form in (r["统一社会信用代码"], r["全球位置码"], r["本地编号"]):
                if form:
                    self.op[form] = cid
        self.prod: dict[str, str] = {}
        for r in _csv(out / "templates" / "products.csv"):
            self.prod[r["本地编号"]] = product_id(gtin=r["商品条码"]) if r["商品条码"] else product_id(local=r["本地编号"])
            if r["商品条码"]:
                self.prod[r["商品条码"]] = product_id(gtin=r["商品条码"])
        self.deliveries: list[dict] = []          # lot, sender, receiver, time, ticket, id, certified
        self.created: dict[tuple[str, str], str] = {}  # (lot, station) -> earliest creation time or date
        self.events: list[dict] = []
        self.docs: list[dict] = []
        for p in sorted((out / "epcis").glob("*.jsonld")):
            doc = orjson.loads(p.read_bytes())
            self.docs.append(doc)
            for ev in doc["epcisBody"]["eventList"]:
                self.events.append(ev)
                self._event(ev)
        for r in _csv(out / "templates" / "lots.csv"):
            lot = self.lot(r)
            self._create(lot, self.op[r["生产者"]] if r["生产者"] else None, r["生产日期"])
        for r in _csv(out / "templates" / "lot_links.csv"):
            station = self.op[r["加工主体"]]
            out_lot = r["产出批次"]
            lid = canonical(out_lot).lot_id if out_lot.startswith("http") else \
                lot_id(lot_number=out_lot, product_id=self.prod[r["产出产品"]], producer_id=station)
            self._create(lid, station, r["时间"].replace(" ", "T"))
        for r in _csv(out / "templates" / "deliveries.csv"):
            lot = self.lot(r)
            s, rc = self.op[r["发货方"]], self.op[r["收货方"]]
            t = r["发货时间"].replace(" ", "T") + ":00+08:00"
            tk = r["票据号"] or None
            self.deliveries.append({"lot": lot, "sender": s, "receiver": rc, "time": t, "ticket": tk,
                                    "certified": bool(r["合格证明编号"]), "channel": "template",
                                    "id": delivery_id(lot, s, rc, ticket=tk, time=None if tk else t)})

    def lot(self, r: dict[str, str]) -> str:
        if r.get("批次标识"):
            return canonical(r["批次标识"]).lot_id
        return lot_id(lot_number=r["批号"], product_id=self.prod[r["产品"]], producer_id=self.op[r["生产者"]])

    def _create(self, lot: str, station: str | None, when: str) -> None:
        key = (lot, station)
        if key not in self.created or when < self.created[key]:
            self.created[key] = when

    def _event(self, ev: dict) -> None:
        if ev["type"] == "TransformationEvent":
            station = operator_key(ev["bizLocation"]["id"])
            for q in ev["outputQuantityList"]:
                self._create(canonical(q["epcClass"]).lot_id, station, ev["eventTime"])
        elif ev["action"] == "ADD":
            station = operator_key(ev["bizLocation"]["id"])
            for q in ev["quantityList"]:
                self._create(canonical(q["epcClass"]).lot_id, station, ev["eventTime"])
        else:
            src = next(x["source"] for x in ev["sourceList"] if x["type"] == "location")
            dst = next(x["destination"] for x in ev["destinationList"] if x["type"] == "location")
            s, r = operator_key(src), operator_key(dst)
            bt = ev.get("bizTransactionList")
            tk = bt[0]["bizTransaction"].rsplit(":", 1)[1] if bt else None
            for q in ev["quantityList"]:
                lot = canonical(q["epcClass"]).lot_id
                self.deliveries.append({"lot": lot, "sender": s, "receiver": r, "time": ev["eventTime"],
                                        "ticket": tk, "certified": "certificationInfo" in ev, "channel": "epcis",
                                        "id": delivery_id(lot, s, r, ticket=tk, time=None if tk else ev["eventTime"])})


@pytest.fixture(scope="module")
def files5000(out5000) -> _Files:
    return _Files(out5000)


def test_same_seed_gives_identical_files(tmp_path):
    generate(tmp_path / "a", scale=1000, seed=11)
    generate(tmp_path / "b", scale=1000, seed=11)
    generate(tmp_path / "c", scale=1000, seed=12)
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b
    assert a["templates/deliveries.csv"] != c["templates/deliveries.csv"]


def test_manifest_counts_the_deliveries(out5000, files5000):
    m = orjson.loads((out5000 / "manifest.json").read_bytes())
    assert m["scale"] == 5000 and m["seed"] == 7
    assert m["counts"]["delivery"] == 5000
    assert len(files5000.deliveries) == 5000
    assert m["counts"]["delivery_epcis"] + m["counts"]["delivery_template"] == 5000
    for group in m["files"].values():
        for f in group:
            assert (out5000 / f).is_file()


def test_every_kind_of_operator_in_every_district(files5000):
    zh_kind = {zh: k for k, (zh, _) in vocab.labels("operator_kind").items()}
    seen = {(zh_kind[r["主体类型"]], r["所属区县"]) for r in files5000.ops}
    districts = {"崇川区", "通州区", "海门区", "如东县", "启东市", "如皋市", "海安市"}
    missing = {(k, d) for k in KINDS for d in districts} - seen
    assert not missing


def test_stalls_belong_to_markets_of_their_district(files5000):
    by_local = {r["本地编号"]: r for r in files5000.ops}
    stalls = [r for r in files5000.ops if r["主体类型"] == "摊位"]
    assert stalls
    for r in stalls:
        market = by_local[r["所属主体"]]
        assert market["主体类型"] == "农贸市场" and market["所属区县"] == r["所属区县"]


def test_check_digits_are_valid(out5000, files5000):
    for r in files5000.ops:
        assert valid_uscc(r["统一社会信用代码"]) == r["统一社会信用代码"]
        if r["全球位置码"]:
            assert valid_gln(r["全球位置码"])
    gtins = [r["商品条码"] for r in _csv(out5000 / "templates" / "products.csv") if r["商品条码"]]
    assert gtins and all(gtin14(g) for g in gtins)
    assert any(not r["商品条码"] for r in _csv(out5000 / "templates" / "products.csv"))  # bulk produce
    for doc in files5000.docs:
        for vocab_ in doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]:
            for el in vocab_["vocabularyElementList"]:
                assert canonical(el["id"]).id.startswith("https://id.gs1.org/")  # raises on a bad check digit


def test_every_delivery_leaves_after_the_lot_was_at_the_sender(files5000):
    arrived: dict[tuple[str, str], str] = {}
    for d in files5000.deliveries:
        key = (d["lot"], d["receiver"])
        if key not in arrived or d["time"] < arrived[key]:
            arrived[key] = d["time"]
    late = []
    for d in files5000.deliveries:
        key = (d["lot"], d["sender"])
        got = [t for t in (arrived.get(key), files5000.created.get(key)) if t]
        # a lot arrives by a delivery that left earlier, or was made there (production date or transformation)
        ok = any((t < d["time"]) if "T" in t else (t <= d["time"][:10]) for t in got)
        if not ok:
            late.append(d)
    assert late == []


def test_planted_spread_is_consistent(out5000, files5000):
    planted = orjson.loads((out5000 / "truth" / "planted.json").read_bytes())["planted"]
    assert len(planted) == max(5, round(DEFAULT_RATES["planted_per_10000"] * 5000 / 10000))
    known = {d["id"] for d in files5000.deliveries}
    for p in planted:
        lots = set(p["spread"]["lots"])
        assert p["lot"] in lots
        assert p["producer"] in p["spread"]["operators"]
        assert p["spread"]["deliveries"]
        assert p["hazard"]["item"] and p["hazard"]["class"] in vocab.labels("hazard_class")
        for d in p["spread"]["deliveries"]:
            assert d["lot"] in lots
            assert d["sender"] in p["spread"]["operators"] and d["receiver"] in p["spread"]["operators"]
            assert d["id"] == delivery_id(d["lot"], d["sender"], d["receiver"], ticket=d["ticket"],
                                          time=None if d["ticket"] else d["time"])
            assert d["id"] in known


def test_latent_risk_covers_every_operator(out5000, files5000):
    rows = _csv(out5000 / "truth" / "latent_risk.csv")
    assert {r["operator_id"] for r in rows} == set(files5000.op.values())
    assert all(0 < float(r["latent_risk"]) < 1 for r in rows)
    assert sum(int(r["nonconforming"]) for r in rows) > 0


def _within(observed: int, n: int, rate: float) -> bool:
    return abs(observed - n * rate) <= 4 * math.sqrt(n * rate * (1 - rate)) + 1


def test_imperfection_rates_match_the_configured_ones(out5000, files5000):
    imp = orjson.loads((out5000 / "truth" / "imperfections.json").read_bytes())
    den = imp["denominators"]
    no_ticket = [d for d in files5000.deliveries if not d["ticket"]]
    assert len(no_ticket) == len(imp["missing_tickets"])
    assert {d["id"] for d in no_ticket} == {d["id"] for d in imp["missing_tickets"]}
    assert _within(len(no_ticket), den["deliveries"], DEFAULT_RATES["missing_ticket"])
    assert _within(len(imp["missing_certificates"]), den["deliveries_needing_certificate"],
                   DEFAULT_RATES["missing_certificate"])
    uncertified = {d["id"] for d in files5000.deliveries if not d["certified"]}
    assert {d["id"] for d in imp["missing_certificates"]} <= uncertified
    assert _within(len(imp["retail_lots_without_trace_code"]), den["retail_lots"],
                   DEFAULT_RATES["missing_trace_code"])
    assert imp["stations_without_lot_links"] and imp["unrecorded_links"]
    assert imp["mass_balance_violations"]
    for v in imp["mass_balance_violations"]:
        if v["type"] == "shipped_more_than_received":
            assert v["shipped"] > v["received"]
        else:
            assert v["carcass_kg"] > v["max_plausible_kg"]


def test_unrecorded_stations_ship_their_own_lots(out5000, files5000):
    imp = orjson.loads((out5000 / "truth" / "imperfections.json").read_bytes())
    shipped = {(d["lot"], d["sender"]) for d in files5000.deliveries}
    links = _csv(out5000 / "templates" / "lot_links.csv")
    recorded_out = set()
    for r in links:
        recorded_out.add(r["产出批次"])
    some_shipped = False
    for u in imp["unrecorded_links"]:
        assert u["contained"]
        some_shipped |= (u["own_lot"], u["station"]) in shipped
        assert u["own_lot"].rsplit(":", 1)[-1] not in recorded_out
    assert some_shipped


def test_epcis_documents_are_json_ld_with_context(files5000):
    assert files5000.docs
    kinds = defaultdict(int)
    for doc in files5000.docs:
        assert doc["@context"] == CONTEXT
        assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
        assert 0 < len(doc["epcisBody"]["eventList"]) <= EVENTS_PER_DOCUMENT
        for ev in doc["epcisBody"]["eventList"]:
            assert ev["eventTime"].endswith("+08:00") and ev["eventTimeZoneOffset"] == "+08:00"
            kinds[(ev["type"], ev.get("ft:transformationKind") or ev.get("bizStep"))] += 1
    assert kinds[("ObjectEvent", "shipping")] and kinds[("ObjectEvent", "commissioning")]
    assert kinds[("TransformationEvent", "slaughter")] and kinds[("TransformationEvent", "cutting")]
    forms = {q["epcClass"].split(":")[0] for ev in files5000.events for q in ev.get("quantityList", [])}
    assert forms == {"urn", "https"}


def test_epcis_documents_validate_against_the_gs1_schema(files5000):
    import fastjsonschema
    schema_path = shared_path("conformance", "epcis", "gs1", "EPCIS-JSON-Schema.json")
    validate = fastjsonschema.compile(orjson.loads(schema_path.read_bytes()))
    for doc in files5000.docs:
        validate(doc)


def test_announcements_have_both_tables_per_quarter(out5000):
    files = sorted(p.name for p in (out5000 / "announcements").iterdir() if "republished" not in p.name)
    stems = {f.rsplit(".", 1)[0] for f in files}
    quarters = {s.split("_")[0] for s in stems}
    assert quarters and all(f"{q}_conforming" in stems and f"{q}_nonconforming" in stems for q in quarters)
    assert any(f.endswith(".xlsx") for f in files) and any(f.endswith(".csv") for f in files)
    gbk = next(p for p in (out5000 / "announcements").glob("*Q*_nonconforming.csv"))
    head = gbk.read_bytes().decode("gbk").splitlines()[0]
    assert "不合格项目" in head and "被抽样单位名称" in head


def test_loads_into_the_embedded_store_without_rejects(tmp_path):
    from graph.sqlite import SQLiteStore
    from loaders.load import load_files

    out = tmp_path / "syn"
    generate(out, scale=2000, seed=5)
    store = SQLiteStore(str(tmp_path / "s.db"))
    paths = [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != "truth"
             and p.name != "manifest.json"]
    outcomes = load_files(store, paths)
    problems = [(o.path.name, o.error, o.rejects[:3]) for o in outcomes if o.error or o.rejects]
    assert problems == []
    assert store.counts()["delivery"] == 2000
    planted = orjson.loads((out / "truth" / "planted.json").read_bytes())["planted"]
    ids = {d["id"] for p in planted for d in p["spread"]["deliveries"]}
    assert set(store.get_many("delivery", ids)) == ids
    lots = {x for p in planted for x in p["spread"]["lots"]}
    assert set(store.get_many("lot", lots)) == lots
    store.close()


def test_progress_reports_deliveries_done(tmp_path):
    seen: list[int] = []
    generate(tmp_path, scale=1000, seed=3, progress=seen.append)
    assert seen[0] == 0 and seen[-1] == 1000 and seen == sorted(seen)


def test_scale_below_minimum_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="at least 100"):
        generate(tmp_path, scale=10, seed=1)


def test_announcements_look_like_real_ones(out5000, tmp_path):
    """The announcements alone, as real data has them (../shared/realdata/README.md): a failures-only source,
    missing sampled units and producers, results as text, food-related products, names typed in many ways,
    producers seen once or twice; every row loads (no rejects), the untidiness shows as warnings."""
    from graph.sqlite import SQLiteStore
    from loaders.load import load_files
    from reasoning.merges import operator_merges

    ann = out5000 / "announcements"
    republished = sorted(ann.glob("*_republished_nonconforming.csv"))
    years = {p.name[:4] for p in ann.glob("*Q*_*.*")}
    assert {p.name[:4] for p in republished} == years
    assert not list(ann.glob("*_republished_conforming*"))
    rows = [r for p in republished for r in _csv(p)]
    assert sum(1 for r in rows if not r["被抽样单位名称"]) > len(rows) / 3
    assert any(r["标称生产企业名称"] == "/" for r in rows)
    assert any("║/║" in r["不合格项目║检验结果║标准值"] for r in rows)
    store = SQLiteStore(str(tmp_path / "a.db"))
    try:
        outcomes = load_files(store, sorted(p for p in ann.iterdir()))
        assert [(o.path.name, o.rejects) for o in outcomes if o.rejects or o.error] == []
        kinds = {w.kind for o in outcomes for w in o.warnings}
        assert {"no_sampled_unit", "no_producer", "result_not_numeric", "food_related"} <= kinds
        coverage = {s.name: s.coverage for s in store.scan("sampling_source")}
        assert coverage == {"南通市市场监督管理局": "both", "江苏省市场监督管理局": "failures_only"}
        assert any(s.food_related for s in store.scan("sample"))
        assert operator_merges(store)["merged"]  # names typed in several ways, read as one business
    finally:
        store.close()


def test_name_variants_find_the_registered_operators(tmp_path):
    """With the operators template loaded, every business the city's announcements name, however a clerk typed
    it, is the registered operator. (People's names, stall keepers and workshop owners, are not aliases of
    registered operators: those stay operators of their own, as before.)"""
    from graph.sqlite import SQLiteStore
    from loaders.load import load_files
    from ontology.names import name_key

    out = tmp_path / "syn"
    generate(out, scale=2000, seed=5)
    people = {name_key(r["名称"]) for r in _csv(out / "templates" / "operators.csv") if r["个体"] == "是"}
    store = SQLiteStore(str(tmp_path / "s.db"))
    try:
        load_files(store, [out / "templates" / "operators.csv"] + sorted((out / "announcements").iterdir()))
        city = {s.id for s in store.scan("sampling_source") if s.name == "南通市市场监督管理局"}
        named = {i for s in store.scan("sample") if s.source_id in city for i in (s.producer_id, s.sampled_id) if i}
        ops = store.get_many("operator", named)
        unregistered = {name_key(o.name) for o in ops.values() if not (o.uscc or o.gln or o.licence_no)}
        assert unregistered and unregistered <= people
        from reasoning.merges import operator_merges

        merged = operator_merges(store)["merged"]
        assert merged and all(m["uscc"] or m["operator_id"].startswith("https://") for m in merged
                              if m["operator_id"] in named)
    finally:
        store.close()
