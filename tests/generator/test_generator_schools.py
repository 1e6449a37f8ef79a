"""The generator's truth names the school canteens each planted lot's true spread reached."""

from __future__ import annotations

import csv
import json

from generator import generate


def test_planted_lots_name_the_schools_their_spread_reached(tmp_path):
    generate(tmp_path, scale=20000, seed=3)
    kinds = {r["operator_id"]: r["kind"] for r in csv.DictReader(open(tmp_path / "truth" / "latent_risk.csv",
                                                                       encoding="utf-8"))}
    planted = json.loads((tmp_path / "truth" / "planted.json").read_text(encoding="utf-8"))["planted"]
    reached = 0
    for p in planted:
        receivers = {d["receiver"] for d in p["spread"]["deliveries"]}
        assert p["schools"] == sorted(r for r in receivers if kinds[r] == "SchoolCanteen")
        reached += bool(p["schools"])
    assert reached > 0
