"""Benchmark and check: the demonstration-city indicators of a loaded synthetic city against the generator's truth.

Computes ``foodtrace indicators`` (every district and the city, every month of the generated two years, as of
the day after the last) on a store loaded from a generated network, compares every numerator and
denominator with ``truth/indicators.json`` and prints the mismatches (there must be none), the city's
figures of the last full month and the wall time (median of ``--repeat`` runs).

    python bench/indicators.py [--store bench-out/load-1000000.db] [--data bench-out/data-1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mismatches(report, truth: dict) -> list[str]:
    """Every (district, month, indicator) whose numerator or denominator differs from the truth."""
    got = {(v.district, v.month, v.indicator): [v.numerator, v.denominator] for v in report.values}
    out = []
    for d, months in truth["values"].items():
        for m, inds in months.items():
            for ind, want in inds.items():
                have = got.get((d, m, ind))
                if have != want:
                    out.append(f"{d} {m} {ind}: computed {have}, truth {want}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=str(REPO / "bench-out" / "load-1000000.db"))
    ap.add_argument("--data", type=Path, default=REPO / "bench-out" / "data-1000000")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    from graph.store import open_store
    from graph.view import ReadView
    from reasoning.indicators import indicators

    truth = json.loads((args.data / "truth" / "indicators.json").read_text(encoding="utf-8"))
    walls = []
    with open_store(args.store) as s:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rep = indicators(ReadView(s), truth["start"], truth["end"], as_of=truth["as_of"])
            walls.append(time.perf_counter() - t0)
    bad = mismatches(rep, truth)
    n = sum(len(inds) for months in truth["values"].values() for inds in months.values())
    print(f"indicators {truth['start']} .. {truth['end']} as of {truth['as_of']}: {len(rep.values):,} figures "
          f"({len(rep.districts)} districts and the city x {len(rep.months)} months) in "
          f"{statistics.median(walls):.1f} s (median of {len(walls)})")
    print(f"against the generator's truth: {n - len(bad):,} of {n:,} figures match exactly, {len(bad)} differ")
    for line in bad[:40]:
        print("  " + line)
    last = rep.months[-2] if len(rep.months) > 1 else rep.months[-1]
    print(f"the city in {last}:")
    for v in rep.values:
        if v.district == "urn:foodtrace:region:320600" and v.month == last:
            ind = rep.table.indicators[v.indicator]
            print(f"  {ind.zh} / {ind.en}: {v.value} ({v.numerator}/{v.denominator}) {v.status(rep.table)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
