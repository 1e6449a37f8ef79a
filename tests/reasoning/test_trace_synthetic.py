"""Traces against the ground truth of the synthetic Nantong network (scale 3000, seed 7).

The generator plants nonconforming lots and writes their true spread (every delivery, lot and operator the
goods physically reached, including links no station recorded) to truth/planted.json. A downstream trace from
a planted lot (default options: learned windows, the likelihood and inferred-link cuts) must contain all of it
(recall 100 %); precision (true spread / reached) is printed per planted lot (``pytest -s``) and held above
the issue's target.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from graph.store import open_store
from graph.view import ReadView
from reasoning.trace import Tracer, trace

#: precision floors, the issue's target (the default trace on this network, 2026-12: 1.00 for every planted lot,
#: deliveries and stations; bench/trace_truth.py measures the same on 200,000 and 1,000,000 deliveries)
FLOOR_PER_LOT = 0.8
FLOOR_OVERALL = 0.9


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from loaders.load import load_files
    from generator import generate

    out = tmp_path_factory.mktemp("trace-syn") / "syn"
    generate(out, scale=3000, seed=7)
    store = open_store(str(out.parent / "s.db"))
    load_files(store, [p for p in sorted(Path(out).rglob("*")) if p.is_file() and p.parent.name != "truth"
                       and p.name != "manifest.json"])
    planted = orjson.loads((out / "truth" / "planted.json").read_bytes())["planted"]
    try:
        yield store, planted
    finally:
        store.close()


def _spread(p: dict) -> tuple[set[str], set[str], set[str]]:
    sp = p["spread"]
    return {d["id"] for d in sp["deliveries"]}, set(sp["lots"]), set(sp["operators"])


def _reached(t) -> tuple[set[str], set[str], set[str]]:
    return {d.id for d in t.deliveries}, {x.id for x in t.lots}, {x.id for x in t.stations}


def test_the_truth_has_planted_lots(synthetic):
    _, planted = synthetic
    assert len(planted) >= 5
    assert all(p["spread"]["deliveries"] for p in planted)


def test_every_planted_spread_is_inside_its_downstream_trace(synthetic):
    """Recall 100 %: deliveries, lots, operators (the producer is where the hazard started: a downstream trace
    lists where the goods went, not where they came from)."""
    store, planted = synthetic
    view = ReadView(store)
    missing = []
    for p in planted:
        d, lots, ops = _reached(trace(view, p["lot"], "down"))
        td, tl, to = _spread(p)
        missing += [(p["lot"], "delivery", x) for x in sorted(td - d)]
        missing += [(p["lot"], "lot", x) for x in sorted(tl - lots - {p["lot"]})]
        missing += [(p["lot"], "operator", x) for x in sorted(to - ops - {p["producer"]})]
    assert missing == []


def test_precision_of_the_downstream_traces(synthetic):
    """Precision = true spread / reached, per planted lot and over all; printed, and held above a floor."""
    store, planted = synthetic
    view = ReadView(store)
    rows, tot = [], {"d": [0, 0], "s": [0, 0]}
    print()
    print(f"{'planted lot':<58} {'category':<16} {'deliveries':>15} {'certain':>8} {'lots':>9} {'stations':>15}")
    for p in planted:
        t = trace(view, p["lot"], "down")
        d, lots, ops = _reached(t)
        td, tl, to = _spread(p)
        lots |= {p["lot"]}
        certain = {x.id for x in t.deliveries if x.tier == "certain"}
        pd, ps = len(td & d) / len(d), len(to & ops) / len(ops)
        rows.append((p["lot"], pd, ps))
        tot["d"][0] += len(td & d)
        tot["d"][1] += len(d)
        tot["s"][0] += len(to & ops)
        tot["s"][1] += len(ops)
        print(f"{p['lot']:<58} {p['category']:<16} {len(td & d):>3}/{len(d):<3} {pd:5.2f}  "
              f"{len(td & certain)}/{len(certain):<4} {len(tl & lots)}/{len(lots):<3}   "
              f"{len(to & ops):>3}/{len(ops):<3} {ps:5.2f}")
    overall_d, overall_s = tot["d"][0] / tot["d"][1], tot["s"][0] / tot["s"][1]
    print(f"{'over all':<58} {'':<16} {tot['d'][0]:>3}/{tot['d'][1]:<3} {overall_d:5.2f}  "
          f"{'':>24} {tot['s'][0]:>3}/{tot['s'][1]:<3} {overall_s:5.2f}")
    assert all(pd >= FLOOR_PER_LOT and ps >= FLOOR_PER_LOT for _, pd, ps in rows), rows
    assert overall_d >= FLOOR_OVERALL and overall_s >= FLOOR_OVERALL


def _failed_samples(store, planted, plan: str):
    """(planted lot, truth entry, store sample) for each detected sample of a planted lot that names a lot."""
    out = []
    for p in planted:
        for e in p["samples"]:
            if not (e["detected"] and e.get("lot")) or (e["plan"] == "supervisory") != (plan == "supervisory"):
                continue
            if e.get("sample_id"):
                sid = store.resolve(e["sample_id"])
                cands = [store.get("sample", sid)] if sid else []
            else:   # an announcement row: the sampled operator's nonconforming sample of that batch
                lot = store.get("lot", e["lot"])
                cands = [s for s in store.scan("sample", {"sampled_id": e["sampled"]})
                         if s.conclusion == "nonconforming" and s.announcement == e.get("announcement")
                         and lot is not None and s.batch in (lot.lot_number, lot.production_date)]
            assert len(cands) == 1, (p["lot"], e)
            out.append((p, e, cands[0]))
    return out


def _check_sample(store, p, e, smp) -> list:
    """From a failed sample: downstream, the part of the spread made of the sampled lot; upstream, the planted
    lot and its producer."""
    view = ReadView(store)
    down, up = trace(view, smp.id, "down"), trace(view, smp.id, "up")
    td, tl, _ = _spread(p)
    # the sampled lot and the spread lots made from it by recorded transformations
    made: dict[str, set[str]] = {}
    io: dict[str, dict[str, set[str]]] = {}
    for it in store.scan("transformation_item"):
        io.setdefault(it.transformation_id, {"input": set(), "output": set()})[it.role].add(it.lot_id)
    for x in io.values():
        for i in x["input"]:
            made.setdefault(i, set()).update(x["output"] & tl)
    sub, frontier = {e["lot"]}, [e["lot"]]
    while frontier:
        frontier = [o for lot in frontier for o in made.get(lot, ()) if o not in sub]
        sub |= set(frontier)
    want = {d["id"] for d in p["spread"]["deliveries"] if d["lot"] in sub}
    problems = [("down misses", x) for x in sorted(want - _reached(down)[0])]
    if down.start.lot_id != e["lot"]:
        problems.append(("start lot", down.start.lot_id, e["lot"]))
    if e["lot"] != p["lot"] and p["lot"] not in _reached(up)[1]:
        problems.append(("up misses the planted lot", p["lot"]))
    if p["producer"] not in _reached(up)[2] and p["producer"] != e["sampled"]:
        problems.append(("up misses the producer", p["producer"]))
    return problems


def test_from_failed_monitoring_samples(synthetic):
    store, planted = synthetic
    found = _failed_samples(store, planted, "monitoring")
    assert len(found) >= 3
    problems = [(p["lot"], smp.id, x) for p, e, smp in found for x in _check_sample(store, p, e, smp)]
    assert problems == []


def test_from_failed_announced_samples(synthetic):
    store, planted = synthetic
    found = _failed_samples(store, planted, "supervisory")
    assert found
    problems = [(p["lot"], smp.id, x) for p, e, smp in found for x in _check_sample(store, p, e, smp)]
    assert problems == []


def test_upstream_from_every_spread_delivery_reaches_the_producer(synthetic):
    store, planted = synthetic
    tracer = Tracer(ReadView(store))
    missing = []
    for p in planted:
        for d in p["spread"]["deliveries"]:
            if d["sender"] == p["producer"]:
                continue   # the producer shipped it: the start sits there
            up = tracer.trace(d["id"], "up")
            if p["producer"] not in {x.id for x in up.stations}:
                missing.append((p["lot"], d["id"]))
    assert missing == []
