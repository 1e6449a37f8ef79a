"""Major events on a generated city: the events the generator wrote through the template load as its truth says
(kitchens, designated suppliers, period), the deliveries into their kitchens are the true ones, and the sampling
list ranks every lot that reached them with the planned-sample model."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from graph.store import open_store
from graph.view import ReadView
from reasoning.events import after_report, event_deliveries, sampling_list
from tests.utils.city import load_city


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("events-city")
    path = load_city(out, scale=6000, seed=5)
    return path, json.loads((out / "data" / "truth" / "events.json").read_text(encoding="utf-8"))["events"]


def test_generated_events_load_as_their_truth(city):
    path, truth = city
    assert len(truth) == 3
    with open_store(path) as s:
        view = ReadView(s)
        events = {e.id: e for e in s.scan("major_event")}
        assert set(events) == {t["id"] for t in truth}
        for t in truth:
            e = events[t["id"]]
            assert (e.name, e.level, e.start, e.end) == (t["name"], t["level"], t["start"], t["end"])
            assert e.kitchen_ids.split() == t["kitchens"] and e.supplier_ids.split() == t["suppliers"]
            got = event_deliveries(view, e)
            assert sorted(d.delivery_id for d in got) == t["deliveries"] and t["deliveries"]
            # every delivery into its kitchens comes from a designated supplier
            assert all(d.designated for d in got)


def test_the_sampling_list_and_the_after_report_of_a_generated_event(city):
    path, truth = city
    with open_store(path) as s:
        view = ReadView(s)
        t = truth[0]
        e = s.get("major_event", t["id"])
        day = dt.date.fromisoformat(t["end"]) + dt.timedelta(days=1)
        rows = sampling_list(view, e, as_of=day)
        assert set(t["lots"]) <= {r.lot_id for r in rows}
        assert [r.probability for r in rows] == sorted((r.probability for r in rows), reverse=True)
        assert all(0 < r.probability < 1 for r in rows)
        rep = after_report(view, e, as_of=day + dt.timedelta(days=30))
        assert sorted(d["delivery_id"] for d in rep["deliveries"]) == t["deliveries"]
        assert rep["verdict"] in ("zero", "incidents")
