"""Benchmark: features, regulatory grades and failure-risk scores for every operator of the network.

    python bench/risk.py [--scale 1000000] [--store URL] [--as-of DATE] [--evaluate DATE]

The store is the embedded store ``bench/load.py`` leaves in ``--out/load-N.db`` (reused when complete,
else generated and loaded, exactly as ``bench/trace.py`` does), or ``--store``. It is only read.

Steps, each timed (wall clock, one process):

1. ``read``: every table the features need, read once (``reasoning.features.read_frames``: one
   ``scan`` per table, the deliveries included);
2. ``features``: ``operator_features`` for every operator as of ``--as-of`` (default: the day after
   the latest date in the store);
3. ``grades``: ``reasoning.grading.grade_operators`` for every operator (it reads what it needs itself);
4. ``train``: the failure-risk model's training set (features at monthly cuts before as-of, labels =
   the next sample) and its fit (calibrated logistic regression);
5. ``score``: every operator's probability and top contributing features;
6. ``plan``: the risk of planned samples (``reasoning.sample_risk``): the sample history read (the
   frames of step 1 reused), the model trained on every sample known before as-of (each with its
   features as of its announcement day, the network at quarterly cuts), and the samples of the last
   ``--plan-days`` (90) before as-of scored as a plan, with reasons.

The total is the sum (target, issue 5: under 60 s on the 1,000,000-delivery network). With
``--evaluate DATE`` it also prints ``reasoning.risk_model.evaluate`` trained before DATE (not timed in
the total). Figures are printed and written under the key ``<backend>-<scale>`` into ``--json``
(default ``--out/risk.json``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))


def _trace_bench() -> Any:
    """bench/trace.py (its data and store helpers), loaded by path: its name is taken by the standard library."""
    spec = importlib.util.spec_from_file_location("bench_trace", HERE / "trace.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(HERE))
    spec.loader.exec_module(mod)
    return mod


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    ap.add_argument("--store", default=None, help="store URL (default: --out/load-N.db, loaded unless complete)")
    ap.add_argument("--as-of", default=None, help="features, grades and scores as of this day (YYYY-MM-DD)")
    ap.add_argument("--evaluate", default=None, metavar="DATE", help="also evaluate the model trained before DATE")
    ap.add_argument("--method", default="logistic", choices=["logistic", "boosting"])
    ap.add_argument("--json", type=Path, default=None, help="results file (default: --out/risk.json)")
    ap.add_argument("--plan-days", type=int, default=90, help="score the samples of the last DAYS as a plan")
    args = ap.parse_args()

    from graph.store import open_store
    from graph.view import ReadView
    from reasoning.features import operator_features, read_frames
    from reasoning.grading import grade_operators
    from reasoning.risk_model import evaluate, fit_model, score_operators
    from reasoning.sample_risk import fit_sample_model, read_history, score_plan

    url = args.store
    if url is None:
        tb = _trace_bench()
        args.out.mkdir(parents=True, exist_ok=True)
        data = tb.ensure_data(args.out, args.scale, args.seed)
        url = tb.ensure_embedded(args.out, args.scale, data)
    times: dict[str, float] = {}
    with open_store(url) as store:
        view = ReadView(store)
        t = time.perf_counter()
        frames = read_frames(view)
        times["read"] = time.perf_counter() - t
        day = args.as_of or str(frames.default_as_of())

        t = time.perf_counter()
        feats = operator_features(frames, as_of=day)
        times["features"] = time.perf_counter() - t

        t = time.perf_counter()
        grades = grade_operators(view, as_of=day)
        times["grades"] = time.perf_counter() - t

        t = time.perf_counter()
        model, info = fit_model(frames, day, method=args.method)
        times["train"] = time.perf_counter() - t

        t = time.perf_counter()
        scores = score_operators(frames, as_of=day, model=model, features=feats)
        times["score"] = time.perf_counter() - t

        t = time.perf_counter()
        history = read_history(view, frames=frames)
        plan_model, plan_info = fit_sample_model(history, day)
        h = history.samples
        known = h["known"].to_numpy(dtype="datetime64[D]")
        recent = h[(known >= np.datetime64(day) - np.timedelta64(args.plan_days, "D")) & (known < np.datetime64(day))]
        plan = [{"producer_id": p, "sampled_id": s_, "samr_path": c, "province": pl, "task_kind": k}
                for p, s_, c, pl, k in zip(recent["producer"], recent["sampled"], recent["cat"], recent["place"],
                                          recent["task"])]
        ranked = score_plan(view, plan, day, history=history, model=plan_model)
        times["plan"] = time.perf_counter() - t
        total = sum(times.values())

        counts = {"operators": int(len(feats)), "operator_records": int(len(frames.operators)),
                  "graded": len(grades), "scored": int(len(scores)), "deliveries": int(len(frames.deliveries)),
                  "samples": int(len(frames.samples)), **info, "plan_rows": int(len(ranked)),
                  "plan_train": plan_info["n_train"], "plan_train_positive": plan_info["n_train_positive"],
                  "plan_network_cuts": plan_info["network_cuts"]}
        result: dict[str, Any] = {"store": url, "backend": store.name, "scale": args.scale, "as_of": day,
                                  "method": args.method, "seconds": {k: round(v, 2) for k, v in times.items()},
                                  "total_seconds": round(total, 2), "peak_rss_mib": round(peak_mib()),
                                  "counts": counts, "cpus": os.cpu_count(),
                                  "grade_counts": {g: sum(a.grade == g for a in grades) for g in "ABCD"}}
        print(f"store: {url} ({counts['deliveries']:,} deliveries, {counts['samples']:,} samples, "
              f"{counts['operators']:,} operators)")
        for k, v in times.items():
            print(f"  {k:9s} {v:7.2f} s")
        print(f"  {'total':9s} {total:7.2f} s   (target < 60 s)   peak RSS {result['peak_rss_mib']:,} MiB")
        print(f"  as of {day}: {counts['scored']:,} operators scored, {counts['graded']:,} graded "
              f"({', '.join(f'{g} {n:,}' for g, n in result['grade_counts'].items())}); model trained on "
              f"{counts['n_train']:,} rows ({counts['n_train_positive']:,} failed) at {counts['cuts']} cuts")
        print(f"  plan: {counts['plan_rows']:,} planned samples scored; the sample model trained on "
              f"{counts['plan_train']:,} samples ({counts['plan_train_positive']:,} failed), network at "
              f"{counts['plan_network_cuts']} cuts")

        if args.evaluate:
            t = time.perf_counter()
            ev = evaluate(view, args.evaluate, method=args.method, frames=frames)
            ev.pop("reliability", None)
            result["evaluate"] = ev
            print(f"  evaluate (trained before {args.evaluate}, {time.perf_counter() - t:.1f} s): "
                  + ", ".join(f"{k} {ev[k]}" for k in ("roc_auc", "pr_auc", "precision_at_10pct", "lift_vs_random",
                                                      "lift_vs_grade", "brier", "n_train", "n_test")))

    path = args.json or args.out / "risk.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    old[f"{result['backend']}-{args.scale}"] = result
    path.write_text(json.dumps(old, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
