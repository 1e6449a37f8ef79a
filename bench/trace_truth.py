"""Benchmark: downstream traces against the generator's planted truth, on several seeds and scales.

    python bench/trace_truth.py                                  # 1M seed 7 + 200,000 seeds 1-4
    python bench/trace_truth.py --configs 200000:1 --limit 100   # one network, the first 100 planted lots

For each network (``SCALE:SEED``; generated and loaded into ``--out`` exactly as ``bench/load.py`` does,
the 1M seed-7 network at ``--out/load-1000000.db``, the others at ``--out/truth-SCALE-SEED/``, reused when
complete) every planted nonconforming lot (``truth/planted.json``) is traced downstream on one shared
``Tracer`` (over an in-memory :class:`reasoning.trace_index.TraceIndex`, which answers as the store does;
``--no-index`` reads the store). Per planted lot: **recall** = true spread deliveries reached / true spread deliveries, and
**precision** = true spread deliveries reached / deliveries reached. Printed per network, each as the
distribution over planted lots (min, 1st and 5th percentile, median, mean) and the number of lots under
the targets (recall 100 %, precision 0.8):

* ``default``: the trace's defaults (learned windows, ``DEFAULT_MIN_LIKELIHOOD``, ``DEFAULT_MAX_INFERRED``);
* ``explicit-only``: recorded links only;
* ``fixed windows``: the hand-set window table of the first tracing issue, no likelihood or link cut
  (the rest of today's rules: existence bounds, receipts, the held part);
* the precision / recall curve: learned windows without cuts, each reached delivery kept where its
  likelihood is at least ``m`` (exact: a path below ``m`` is never followed, and an item's likelihood is its
  best path's), for ``--max-inferred`` of 1, 2 and none.

Everything is also written under ``SCALE-SEED`` keys to ``--json`` (default ``--out/trace_truth.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from graph.store import open_store  # noqa: E402
from graph.view import ReadView  # noqa: E402
from reasoning.trace import DEFAULT_MAX_INFERRED, DEFAULT_MIN_LIKELIHOOD, TraceOptions, Tracer  # noqa: E402
from reasoning.trace_index import TraceIndex  # noqa: E402

CONFIGS = "1000000:7,200000:1,200000:2,200000:3,200000:4"


def _trace_bench() -> Any:
    """bench/trace.py (its data and store helpers), by path: ``trace`` is also a standard-library module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("trace_bench", HERE / "trace.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod
GRID = (0.0, 0.01, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
RECALL_TARGET, PRECISION_TARGET = 1.0, 0.8


def network(out: Path, scale: int, seed: int) -> tuple[str, Path]:
    """The store and data folder of one network (generated and loaded unless complete)."""
    where = out if (scale, seed) == (1_000_000, 7) else out / f"truth-{scale}-{seed}"
    where.mkdir(parents=True, exist_ok=True)
    tb = _trace_bench()
    data = tb.ensure_data(where, scale, seed)
    return tb.ensure_embedded(where, scale, data), data


def dist(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]  # noqa: E731
    return {"min": v[0], "p01": pick(0.01), "p05": pick(0.05), "median": statistics.median(v),
            "mean": statistics.fmean(v)}


def score(rows: list[tuple[set[str], dict[str, float]]], m: float = 0.0) -> dict[str, Any]:
    """Recall and precision per planted lot of (true deliveries, {reached delivery: likelihood}) rows, the
    reached ones kept where their likelihood is at least ``m``."""
    rec, prec, reached = [], [], []
    for true, got in rows:
        kept = {d for d, lik in got.items() if lik >= m}
        hit = len(true & kept)
        rec.append(hit / len(true))
        prec.append(hit / len(kept) if kept else 1.0)
        reached.append(len(kept))
    return {"recall": dist(rec), "precision": dist(prec), "lots": len(rows),
            "under_recall": sum(r < RECALL_TARGET for r in rec), "under_precision": sum(p < PRECISION_TARGET for p in prec),
            "reached_mean": statistics.fmean(reached), "reached_max": max(reached)}


def run(tracer: Tracer, planted: list[dict], options: TraceOptions) -> tuple[list, float]:
    rows, t0 = [], time.perf_counter()
    for p in planted:
        t = tracer.trace(p["lot"], "down", options)
        rows.append(({d["id"] for d in p["spread"]["deliveries"]}, {d.id: d.likelihood for d in t.deliveries}))
    return rows, time.perf_counter() - t0


def line(name: str, s: dict[str, Any]) -> str:
    r, p = s["recall"], s["precision"]
    return (f"  {name:<28} recall min {r['min']:.3f} p01 {r['p01']:.3f} (lots < 100 %: {s['under_recall']:>3})   "
            f"precision min {p['min']:.2f} p01 {p['p01']:.2f} p05 {p['p05']:.2f} median {p['median']:.2f} "
            f"mean {p['mean']:.2f} (lots < 0.8: {s['under_precision']:>3})   reached mean {s['reached_mean']:.1f} "
            f"max {s['reached_max']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default=CONFIGS, help="networks as SCALE:SEED, comma-separated")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    ap.add_argument("--limit", type=int, default=None, help="planted lots per network (default: all)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-index", dest="index", action="store_false",
                    help="trace through the store's reads instead of an in-memory TraceIndex (same answers, slower)")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; defaults: min_likelihood "
          f"{DEFAULT_MIN_LIKELIHOOD}, max_inferred {DEFAULT_MAX_INFERRED}")
    results: dict[str, Any] = {}
    for cfg in args.configs.split(","):
        scale, seed = (int(x) for x in cfg.split(":"))
        url, data = network(args.out, scale, seed)
        planted = json.loads((data / "truth" / "planted.json").read_text(encoding="utf-8"))["planted"]
        planted = [p for p in planted if p["spread"]["deliveries"]][:args.limit]
        with open_store(url) as store:
            t0 = time.perf_counter()
            index = TraceIndex.build(ReadView(store)) if args.index else None
            built = time.perf_counter() - t0
            tracer = Tracer(ReadView(store), index)
            t0 = time.perf_counter()
            windows = tracer.trace(planted[0]["lot"], "down").windows
            learned = time.perf_counter() - t0
            out: dict[str, Any] = {"planted": len(planted), "learn_s": learned, "index_s": built, "modes": {},
                                   "curve": {}}
            print(f"=== {scale:,} deliveries, seed {seed}: {len(planted)} planted lots ("
                  + (f"index built in {built:.1f} s, " if index is not None else "")
                  + f"windows learned in {learned:.1f} s; {sum(w.source.startswith('learned') for w in windows)} "
                  f"of {len(windows)} windows of the first trace learned)", flush=True)
            for name, opts in (("default", TraceOptions()), ("explicit-only", TraceOptions(infer=False)),
                               ("fixed windows (first wave)",
                                TraceOptions(learn_windows=False, min_likelihood=0.0, max_inferred=None))):
                rows, secs = run(tracer, planted, opts)
                s = out["modes"][name] = {**score(rows), "seconds": secs}
                print(line(name, s), flush=True)
            for mi in (1, 2, None):
                rows, _ = run(tracer, planted, TraceOptions(min_likelihood=0.0, max_inferred=mi))
                print(f"  precision / recall, learned windows, max_inferred {mi}:")
                for m in GRID:
                    s = out["curve"][f"{mi}:{m}"] = score(rows, m)
                    print(line(f"min_likelihood {m:g}", s), flush=True)
        results[f"{scale}-{seed}"] = out
    path = args.json or args.out / "trace_truth.json"
    try:
        everything = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        everything = {}
    everything.update(results)
    path.write_text(json.dumps(everything, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
