"""Benchmark: outbreak source ranking on the synthetic network's planted lots.

    python bench/outbreak.py                                  # the 1,000,000-delivery network (seed 7)
    python bench/outbreak.py --scale 3000 --seed 2026         # the demo network
    python bench/outbreak.py --store X.db --data DIR          # a network generated and loaded already

The network is generated and loaded into ``--out`` as ``bench/load.py`` does (the 1M network at
``--out/load-1000000.db``, others at ``--out/outbreak-SCALE-SEED/``), reused when complete. For each planted
nonconforming lot (``truth/planted.json``) whose true spread reaches at least two stations, the receivers of
its spread are taken as cases (up to ``--cases``, the earliest first), each dated the day after its first
spread delivery left (the onset), with the planted hazard class. ``reasoning.outbreak.rank_sources`` ranks them
(one upstream trace per case) on a fresh ``Tracer`` over an in-memory ``TraceIndex`` built once (its build time
is printed; ``--no-index`` reads the store instead). Printed per outbreak: wall and CPU seconds, candidate
stations and lots, and the rank of the planted lot among the lots and of its producer among the stations (ties
share a rank, so rank 1 may be shared); then the median and worst time against the targets (issue 16: median
<= 2 s, worst <= 10 s at 1M).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from graph.store import open_store  # noqa: E402
from graph.view import ReadView  # noqa: E402
from reasoning.outbreak import Case, rank_sources  # noqa: E402
from reasoning.trace import HAZARDS, Tracer  # noqa: E402
from reasoning.trace_index import TraceIndex  # noqa: E402


def ensure_network(out: Path, scale: int, seed: int) -> tuple[Path, str]:
    """The generated data and loaded store (bench/trace.py's helpers: the same commands as bench/load.py)."""
    spec = importlib.util.spec_from_file_location("trace_bench", HERE / "trace.py")
    tb = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(tb)  # type: ignore[union-attr]
    where = out if (scale, seed) == (1_000_000, 7) else out / f"outbreak-{scale}-{seed}"
    where.mkdir(parents=True, exist_ok=True)
    data = tb.ensure_data(where, scale, seed)
    return data, tb.ensure_embedded(where, scale, data)


def outbreak_cases(planted: dict, limit: int) -> list[Case]:
    """The receivers of the planted lot's spread, each dated the day after its first delivery left (the onset)."""
    first: dict[str, str] = {}
    for d in sorted(planted["spread"]["deliveries"], key=lambda d: d["time"]):
        first.setdefault(d["receiver"], (date.fromisoformat(d["time"][:10]) + timedelta(days=1)).isoformat())
    return [Case(k, 1.0, v) for k, v in list(first.items())[:limit]]


def rank_of(items, ident: str) -> int | None:
    return next((x.rank for x in items if x.id == ident), None)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    ap.add_argument("--store", default=None, help="a loaded store (with --data)")
    ap.add_argument("--data", type=Path, default=None, help="the generated folder of --store (truth/planted.json)")
    ap.add_argument("--outbreaks", type=int, default=6, help="planted lots to rank")
    ap.add_argument("--cases", type=int, default=8, help="cases per outbreak at most")
    ap.add_argument("--no-index", dest="index", action="store_false", help="trace through the store's reads")
    args = ap.parse_args(argv)
    if args.store:
        if args.data is None:
            ap.error("--store needs --data (the folder with truth/planted.json)")
        data, db = args.data, args.store
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        data, db = ensure_network(args.out, args.scale, args.seed)
    planted = [p for p in json.loads((data / "truth" / "planted.json").read_text(encoding="utf-8"))["planted"]
               if len({d["receiver"] for d in p["spread"]["deliveries"]}) >= 2][:args.outbreaks]
    walls, cpus, first = [], [], []
    with open_store(str(db)) as store:
        view = ReadView(store)
        index = None
        if args.index:
            t0 = time.perf_counter()
            index = TraceIndex.build(view)
            print(f"index built once in {time.perf_counter() - t0:.1f} s ({index.deliveries:,} deliveries)")
        print(f"{'category':16} {'hazard':10} {'cases':>5} {'stations':>8} {'lots':>5} {'wall s':>7} {'cpu s':>6} "
              f"{'lot rank':>8} {'producer rank':>13}")
        for p in planted:
            cases = outbreak_cases(p, args.cases)
            hazard = p["hazard"]["class"] if p["hazard"]["class"] in HAZARDS else "unknown"
            w0, c0 = time.perf_counter(), time.process_time()
            r = rank_sources(view, cases, hazard=hazard, tracer=Tracer(view, index))
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            walls.append(wall)
            cpus.append(cpu)
            lot_rank, producer_rank = rank_of(r.lots, p["lot"]), rank_of(r.stations, p["producer"])
            first.append(lot_rank == 1 and producer_rank == 1)
            print(f"{p['category']:16} {hazard:10} {len(cases):5} {len(r.stations):8} {len(r.lots):5} {wall:7.2f} "
                  f"{cpu:6.2f} {lot_rank or '-':>8} {producer_rank or '-':>13}", flush=True)
    if walls:
        med, worst = statistics.median(walls), max(walls)
        print(f"median {med:.2f} s wall, {statistics.median(cpus):.2f} s CPU; max {worst:.2f} s wall over {len(walls)} "
              f"outbreaks; planted lot and producer ranked first in {sum(first)} of {len(first)}")
        if args.scale >= 1_000_000 and not args.store:
            print(f"target (1M): median <= 2 s and worst <= 10 s: {'MET' if med <= 2 and worst <= 10 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
