"""Holding windows learned from the records (reasoning/holding.py): exact pass-throughs on a hand-made network
(both backends), the quantile, fallbacks and as-of rule on plain data, and windows that follow the generator's
holding times when they change (a generator setting, no code change)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graph.store import open_store
from graph.view import ReadView
from ontology.records import Delivery, Event, Lot, Operator, Product, Retraction
from ontology.times import epoch
from reasoning.holding import PassThroughs, learn_windows, pass_throughs
from reasoning.trace import TraceOptions, trace

from .test_trace import at

DAY = 86400.0


def _dlv(i, lot, frm, to, day, **kw) -> Delivery:
    return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=at(day), **kw)


def test_pass_throughs_of_a_hand_made_network(store):
    """Receipt (the lot's first arrival at the station) to each later shipment of the same lot from there."""
    store.write([
        Operator(id="stall", kind="Stall", name="摊位"), Operator(id="dist", kind="Distributor", name="配送"),
        Product(id="p:pork", name="猪肉", category="pork"), Lot(id="A", product_id="p:pork"), Lot(id="B", product_id="p:pork"),
        _dlv("a1", "A", "farm", "stall", 1.0, received_time=at(1.2)),
        _dlv("s0", "A", "stall", "shop", 0.5),                       # before A arrived: no pass-through
        _dlv("s1", "A", "stall", "shop", 2.0),                       # 0.8 days
        _dlv("a2", "A", "farm", "stall", 3.0),                       # a second arrival: the first one counts
        _dlv("s2", "A", "stall", "dist", 4.0),                       # 2.8 days
        _dlv("s3", "A", "dist", "shop", 4.5),                        # 0.5 days at the distributor
        _dlv("sB", "B", "stall", "shop", 5.0),                       # never received: no pass-through
        _dlv("s4", "A", "stall", "shop", 6.0, event_id="e4"),         # retracted
        Event(id="e4", hash="h4", type="ObjectEvent", time=at(6.0)),
        Retraction(id="r4", event_id="e4", declared=at(7.0), reason="incorrect_data"),
    ])
    for page in (200_000, 3, 1):  # read in one page, or page by page (lots and stations coded across pages)
        p = pass_throughs(ReadView(store), page=page)
        got = sorted(zip(p.kind, p.category, np.round(p.seconds / DAY, 6), p.shipped))
        assert got == [("Distributor", "pork", 0.5, epoch(at(4.5))), ("Stall", "pork", 0.8, epoch(at(2.0))),
                       ("Stall", "pork", 2.8, epoch(at(4.0)))], page


def _passes(groups: dict[tuple[str | None, str | None], list[float]]) -> PassThroughs:
    cats, kinds, secs = [], [], []
    for (c, k), days in groups.items():
        cats += [c] * len(days)
        kinds += [k] * len(days)
        secs += [d * DAY for d in days]
    return PassThroughs(np.array(cats, dtype=object), np.array(kinds, dtype=object), np.array(secs),
                        np.arange(len(secs), dtype=float))


def test_windows_are_a_high_quantile_per_category_and_kind_with_fallbacks():
    p = _passes({("pork", "Stall"): [i / 100 for i in range(1, 101)],            # 0.01 .. 1.00 days
                 ("pork", "Distributor"): [5.0] * 10,                            # too few alone
                 ("egg", "Stall"): [1.0] * 5})                                   # too few, even per category
    h = learn_windows(p, quantile=0.9, min_samples=30)
    w = h.lookup("pork", "Stall")
    assert (round(w.days, 3), w.source, w.samples) == (0.901, "learned", 100)
    w = h.lookup("pork", "Distributor")      # the category over every kind of station
    assert (w.kind, w.source, w.samples) == (None, "learned_category", 110)
    assert h.lookup("egg", "Stall") is None and h.lookup("grain", "Stall") is None
    opts = TraceOptions(holding=h, windows={"pork": 3})
    assert opts.window_used("pork", "Stall").source == "option"
    assert opts.window_used("egg", "Stall").source == "default" and opts.window_used("egg", "Stall").days == 30
    assert learn_windows(p, as_of=49.0, quantile=1.0, min_samples=30).lookup("pork", "Stall").days == 0.5
    assert h.survival("pork", "Stall", 0.5 * DAY) == pytest.approx(51 / 101)
    assert h.survival("egg", "Stall", 10 * DAY) == 1.0                        # nothing learned: no decay
    with pytest.raises(ValueError, match="quantile"):
        learn_windows(p, quantile=0)


def _generated(tmp: Path, holding_scale: float):
    from generator import generate
    from loaders.load import load_files

    out = tmp / f"gen-{holding_scale}"
    generate(out, scale=3000, seed=5, holding_scale=holding_scale)
    store = open_store(str(tmp / f"gen-{holding_scale}.db"))
    load_files(store, [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != "truth"
                       and p.name != "manifest.json"])
    return store


def test_learned_windows_follow_the_generators_holding_times(tmp_path):
    """The generator's holding times are not the windows' source: doubling them (a generator setting, the same
    code) doubles the learned windows (here the 0.9 quantile: a 3,000-delivery network has few long ones)."""
    base, slow = _generated(tmp_path, 1.0), _generated(tmp_path, 2.0)
    try:
        a = {(w.category, w.kind): w for w in learn_windows(pass_throughs(ReadView(base)), quantile=0.9).table()}
        b = {(w.category, w.kind): w for w in learn_windows(pass_throughs(ReadView(slow)), quantile=0.9).table()}
        common = [k for k in a if k in b and min(a[k].samples, b[k].samples) >= 100 and a[k].days >= 1]
        assert len(common) >= 5, sorted(a)
        ratios = {k: b[k].days / a[k].days for k in common}
        # single-class groups (one range of holding times) double; mixed ones (chilled and shelf-stable
        # vegetables) shift with the mix, so only the median over all groups is held to it
        for k in [("leafy_vegetable", "WholesaleMarket"), ("aquatic", "WholesaleMarket")]:
            assert 1.6 <= ratios[k] <= 2.4, ratios
        assert 1.6 <= float(np.median(list(ratios.values()))) <= 2.4, ratios
        # a trace reports the windows it used and that they were learned
        lot = next(iter(p.lot_id for p in base.scan("delivery") if p.sender_id))
        used = trace(ReadView(base), lot, "down").windows
        assert all(w.source in ("learned", "learned_category", "default") for w in used)
    finally:
        base.close()
        slow.close()
