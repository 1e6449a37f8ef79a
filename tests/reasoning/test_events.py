"""Major events: the record's rules, the vetting of designated suppliers (a failed sample listed), the deliveries
into the kitchens (both backends)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from graph.view import ReadView
from ontology import rdf
from ontology.errors import InvalidRecord
from ontology.records import Case, Certificate
from reasoning.events import event_deliveries, new_event, vet_suppliers

from .schools_net import DIST, FARM, PIG, SCHOOL1, SLAUGHTER, VFARM, failing, network, standing

KITCHEN = "urn:foodtrace:operator:kitchen"


def _event(view, **kw):
    args = dict(name="2026南通国际会议", level="municipal", start="2026-03-02", end="2026-03-04",
                kitchens=[SCHOOL1], suppliers=[DIST, SLAUGHTER, FARM], venues=["南通国际会议中心"])
    return new_event(view, **{**args, **kw})


@pytest.mark.parametrize("change, message", [
    ({"end": "2026-03-01"}, "ends \\(2026-03-01\\) before it starts \\(2026-03-02\\)"),
    ({"level": "galactic"}, "level 'galactic'"),
    ({"name": " "}, "needs a name"),
    ({"suppliers": ["urn:foodtrace:operator:nobody"]}, "no operator has the identifier"),
])
def test_bad_events_are_refused(store, change, message):
    store.write(network())
    with pytest.raises(InvalidRecord, match=message):
        _event(ReadView(store), **change)


def test_the_vetting_report_lists_a_suppliers_failed_sample(store):
    store.write(network() + standing() + failing("s-farm", PIG, FARM, "2026-01-10", item="克伦特罗")
                + failing("s-ok", PIG, SLAUGHTER, "2026-01-12", conclusion="conforming")
                + [Case(id="case-1", operator_id=SLAUGHTER, opened="2025-12-01", violation="未按规定查验"),
                   Certificate(id="cert-1", kind="animal_quarantine", holder_id=SLAUGHTER, issued="2026-01-01",
                               valid_until="2026-12-31")])
    view = ReadView(store)
    ev = _event(view)
    store.write([ev])
    conforms, text = rdf.validate(rdf.to_graph(list(store.scan("operator")) + [ev]))
    assert conforms, text
    vet = {v.supplier_id: v for v in vet_suppliers(view, ev, as_of=dt.date(2026, 2, 20))}
    farm, sh, dist = vet[FARM], vet[SLAUGHTER], vet[DIST]
    assert [(s["id"], s["failed_items"]) for s in farm.failed_samples] == [("s-farm", ["克伦特罗"])]
    assert farm.verdict == "reject" and "近12个月抽检不合格1批次" in farm.reasons
    assert dist.verdict == "reject" and dist.grade == "D" and dist.reasons == ("风险等级D级",)
    assert (sh.verdict, len(sh.samples), sh.failed_samples, sh.certificates) == ("watch", 1, (), ("cert-1",))
    assert sh.reasons == ("近12个月稽查案件1件",)
    # the listing of the veg farm is not a designated supplier's: it does not appear
    assert VFARM not in vet


def test_deliveries_into_the_kitchens_during_the_event(store):
    store.write(network())
    view = ReadView(store)
    ev = _event(view, suppliers=[SLAUGHTER])
    [d] = event_deliveries(view, ev)
    assert (d.delivery_id, d.kitchen_id, d.supplier_id, d.designated, d.product) == ("d3", SCHOOL1, DIST, False, "猪肉")
    assert event_deliveries(view, dataclasses.replace(ev, start="2026-03-05", end="2026-03-06")) == []
