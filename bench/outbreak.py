"""Benchmark: outbreak source ranking on the synthetic network's planted lots.

    python bench/outbreak.py [--scale 3000] [--seed 2026] [--outbreaks 6] [--cases 8]
    python bench/outbreak.py --store X.db --data DIR      # a network generated and loaded already

The network is generated into ``--out/outbreak-data-N`` and loaded into ``--out/outbreak-N.db`` unless
they are there already (the default scale and seed are the demo's). For each planted nonconforming lot
(``truth/planted.json``) whose true spread reaches at least two stations, the receivers of its spread are
taken as cases (up to ``--cases``, the earliest first), each dated the day after its first spread delivery
left (the onset), with the planted hazard class. ``reasoning.outbreak.rank_sources`` ranks them on a fresh
``Tracer`` (no cache from an earlier outbreak). Printed per outbreak: wall and CPU seconds, candidate
stations and lots (one forward trace each), and the rank of the planted lot among the lots and of its
producer among the stations (ties share a rank, so rank 1 may be shared). ``--check`` also ranks each
outbreak with ``prune=False`` (forward traces over the whole network: slow on large networks) and says
whether the two rankings are the same.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from graph.store import open_store
from graph.view import ReadView
from reasoning.outbreak import Case, rank_sources
from reasoning.trace import HAZARDS, Tracer


def ensure_network(out: Path, scale: int, seed: int) -> tuple[Path, Path]:
    from loaders.load import load_files
    from generator import generate

    data, db = out / f"outbreak-data-{scale}", out / f"outbreak-{scale}.db"
    if not (data / "manifest.json").exists():
        print(f"generating {scale:,} deliveries (seed {seed}) into {data}", flush=True)
        generate(data, scale=scale, seed=seed)
        db.unlink(missing_ok=True)
    if not db.exists():
        print(f"loading into {db}", flush=True)
        files = sorted(p for p in data.rglob("*") if p.is_file() and p.parent.name != "truth"
                       and p.name != "manifest.json")
        with open_store(str(db)) as s:
            load_files(s, files)
    return data, db


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
    ap.add_argument("--scale", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--store", default=None, help="a loaded store (with --data)")
    ap.add_argument("--data", type=Path, default=None, help="the generated folder of --store (truth/planted.json)")
    ap.add_argument("--outbreaks", type=int, default=6, help="planted lots to rank")
    ap.add_argument("--cases", type=int, default=8, help="cases per outbreak at most")
    ap.add_argument("--check", action="store_true", help="compare with unpruned forward traces")
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
    walls, cpus = [], []
    print(f"{'category':16} {'hazard':10} {'cases':>5} {'stations':>8} {'lots':>5} {'wall s':>7} {'cpu s':>6} "
          f"{'lot rank':>8} {'producer rank':>13}" + ("  unpruned s  same" if args.check else ""))
    with open_store(str(db)) as store:
        view = ReadView(store)
        for p in planted:
            cases = outbreak_cases(p, args.cases)
            hazard = p["hazard"]["class"] if p["hazard"]["class"] in HAZARDS else "unknown"
            w0, c0 = time.perf_counter(), time.process_time()
            r = rank_sources(view, cases, hazard=hazard, tracer=Tracer(view))
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            walls.append(wall)
            cpus.append(cpu)
            line = (f"{p['category']:16} {hazard:10} {len(cases):5} {len(r.stations):8} {len(r.lots):5} {wall:7.2f} "
                    f"{cpu:6.2f} {rank_of(r.lots, p['lot']) or '-':>8} {rank_of(r.stations, p['producer']) or '-':>13}")
            if args.check:
                w0 = time.perf_counter()
                full = rank_sources(view, cases, hazard=hazard, tracer=Tracer(view), prune=False)
                line += f"  {time.perf_counter() - w0:10.2f}  {'yes' if full == r else 'NO'}"
            print(line, flush=True)
    if walls:
        print(f"median {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU; "
              f"max {max(walls):.2f} s wall over {len(walls)} outbreaks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
