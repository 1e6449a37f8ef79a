"""The generated rural banquets load, and their statistics and reminders match the generator's truth."""

from __future__ import annotations

import datetime as dt
import json

from graph.store import open_store
from graph.view import ReadView
from loaders.load import load_files
from reasoning.banquets import district_stats, reminders

from generator import generate


def test_banquet_statistics_match_the_truth(tmp_path):
    m = generate(tmp_path / "city", scale=5000, seed=5)
    truth = json.loads((tmp_path / "city" / "truth" / "banquets.json").read_text(encoding="utf-8"))
    files = [tmp_path / "city" / "templates" / f"{k}.csv" for k in ("chefs", "banquets", "banquet_guidance",
                                                                     "banquet_census")]
    with open_store(str(tmp_path / "s.db")) as store:
        outcomes = load_files(store, files)
        assert [r for o in outcomes for r in o.rejects] == []
        view = ReadView(store)
        for entry in truth["months"][:40]:
            first = dt.date.fromisoformat(entry["month"] + "-01")
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            got = {s.district_id: s for s in district_stats(view, since=first, until=last)}
            s = got[f"urn:foodtrace:region:{entry['district']}"]
            assert (s.registered, s.expected, s.large, s.large_guided, s.guided, s.guests) == (
                entry["registered"], entry["held"], entry["large"], entry["large_guided"], entry["guided"],
                entry["guests"]), entry
        end = dt.date.fromisoformat(m.end)
        want = sorted(c["health_cert_no"] for c in truth["chefs"] if end <= dt.date.fromisoformat(c["expiry"])
                      <= end + dt.timedelta(days=60))
        got = reminders(view, as_of=end, days=60)
        chefs = store.get_many("chef", [r.chef_id for r in got if r.kind == "chef_certificate_expiring"])
        assert sorted(c.health_cert_no for c in chefs.values()) == want
