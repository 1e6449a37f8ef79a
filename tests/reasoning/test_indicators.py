"""The demonstration-city indicators: exact figures on a generated city against the generator's truth, and the
statuses of the indicator table."""

from __future__ import annotations

import json

import pytest

from graph.store import open_store
from graph.view import ReadView
from ontology.indicators import table
from reasoning.indicators import indicators
from tests.utils.city import load_city


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    path = load_city(out, scale=8000, seed=11)
    return path, json.loads((out / "data" / "truth" / "indicators.json").read_text(encoding="utf-8"))


def test_every_figure_matches_the_generators_truth(city):
    path, truth = city
    with open_store(path) as s:
        rep = indicators(ReadView(s), truth["start"], truth["end"], as_of=truth["as_of"])
    got = {(v.district, v.month, v.indicator): [v.numerator, v.denominator] for v in rep.values}
    want = {(d, m, ind): nd for d, months in truth["values"].items() for m, inds in months.items()
            for ind, nd in inds.items()}
    assert len(want) == 8 * 25 * 17 and set(got) == set(want)
    assert {k: (got[k], want[k]) for k in want if got[k] != want[k]} == {}
    # the synthetic city has late and never-closed cases and complaints: the rates are not all 100 %
    city = [v for v in rep.values if v.district == "urn:foodtrace:region:320600"]
    done = sum(v.numerator for v in city if v.indicator == "disposal_completion")
    due = sum(v.denominator for v in city if v.indicator == "disposal_completion")
    assert 0 < done < due


def test_one_district_and_the_city(city):
    path, truth = city
    with open_store(path) as s:
        rep = indicators(ReadView(s), "2026-01-01", "2026-03-31", district="urn:foodtrace:region:320685")
    assert rep.districts == ("urn:foodtrace:region:320685", "urn:foodtrace:region:320600")
    assert rep.months == ("2026-01", "2026-02", "2026-03") and rep.as_of == "2026-04-01"
    assert {v.district for v in rep.values} == set(rep.districts)


def test_statuses_follow_the_table():
    t = table()
    assert t.indicators["complaints_on_time"].status(1.0) == "green"
    assert t.indicators["complaints_on_time"].status(0.96) == "amber"
    assert t.indicators["complaints_on_time"].status(0.9) == "red"
    assert t.indicators["red_lines"].status(0) == "green" and t.indicators["red_lines"].status(2) == "red"
    assert t.indicators["sampling_per_1000"].status(None) is None
    assert sum(t.population[d] for d in t.population if not d.endswith("320600")) == t.population[
        "urn:foodtrace:region:320600"]


def test_kitchen_rates_match_the_generators_truth(city):
    """互联网+明厨亮灶: the four rates per district over the logged months, against truth/kitchens.json; and the
    indicator pack's kitchen rows are not empty (the city has unconnected canteens and short days)."""
    import datetime as dt
    from pathlib import Path

    from reasoning.kitchens import kitchen_rates

    path, truth = city
    kt = json.loads((Path(path).parent / "data" / "truth" / "kitchens.json").read_text(encoding="utf-8"))
    with open_store(path) as s:
        rows = kitchen_rates(ReadView(s), since=dt.date.fromisoformat(kt["since"]),
                             until=dt.date.fromisoformat(kt["until"]))
    got = {r.id: [getattr(r, f) for f in kt["fields"]] for r in rows if r.scope == "district"}
    assert got == {d: x["figures"] for d, x in kt["districts"].items()}
    assert {r.id: r.rates for r in rows if r.scope == "district"} == {d: x["rates"] for d, x in kt["districts"].items()}
    city = [r for r in rows if r.scope == "city"][0]
    assert city.schools > city.connected > 0 and city.online_hours < city.expected_hours and city.days > 0
    values = truth["values"]["urn:foodtrace:region:320600"]
    assert sum(m["kitchen_connection"][1] for m in values.values()) > 0
    assert sum(m["kitchen_upload"][1] for m in values.values()) > 0
