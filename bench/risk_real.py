"""Benchmark: the planned-sample model on real announcements, scored the way issue 17 will be judged.

    python bench/risk_real.py [--realdata ../shared/realdata] [--out bench-out] [--boot 1000] [--checks]

The judge gives rank-plan a later year of real samples as a plan, as of the start of that year, and
computes the ROC-AUC of the probabilities against what failed, over every row (food-related products
included), beside the past failure rate of each row's sub-category. This script does the same on the
2021 rows of ``../shared/realdata`` (README there), which the model has never trained on at the cut:

1. both announcement files are loaded into a fresh embedded store (``--out/risk-real.db``); the store
   holds every result, so the probabilities must not depend on what was published after a cut (see
   ``--checks``);
2. at each **cut** the rows published in its window are read as a plan (``loaders.plan.read_plan``: the
   plan reader ignores the result columns) and scored as ``foodtrace risk rank-plan`` scores them as of
   the cut (``reasoning.sample_risk.backtest_plan``: training, base rates and histories from what was
   published before the cut); a row failed when it is in the 不合格 table. Cuts: rolling monthly origins
   2021-02-01 .. 2021-07-01, each tested on the next three months; and two year-like splits: all of 2021
   as of 2021-01-01 (history: 2015-2017 only) and 2021-H2 as of 2021-07-01;
3. the **baseline** is the failure rate of the row's 亚类 over every row published before the cut, whatever
   its source (``naive_category_rate``: failures / rows, as a reader of the tables computes it);
4. figures per cut and **pooled** over the rolling cuts (their test rows' predictions pooled, one ROC-AUC;
   a row tested from several origins counts once per origin): ROC-AUC of the model and the baseline on
   every row, on food only, on the rows whose 亚类 had history, and on the rows of sources that publish
   both tables (a failures-only source's rows are all failures: what a bureau's own plan looks like);
   the pooled differences with a bootstrap 95 % interval (``--boot`` resamples of the distinct rows);
   calibration on the two-table rows (mean probability against the observed rate, largest probability).

``--checks`` adds: the same probabilities from ``risk evaluate --level sample`` (the evaluate path) for the
same rows of the 2021-H2 split, and from a store holding only the rows published before 2021-07-01 (no
look-ahead). ``--json`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

FILES = {"qualified": "cn_sampling_2015_2021_qualified.csv", "unqualified": "cn_sampling_2015_2021_unqualified.csv"}
ROLLING = [(f"2021-{m:02d}-01", f"{2021 + (m + 2) // 12}-{(m + 2) % 12 + 1:02d}-01") for m in range(2, 8)]
YEARLIKE = [("2021-01-01", "2022-01-01"), ("2021-07-01", "2022-01-01")]
SUBSETS = {"all": "every row", "food": "food only", "history": "亚类 with history", "two_table": "two-table sources"}
_SHARES = ["cat_share", "cat_rate", "name_share", "producer_share", "seller_share", "task_rate", "place_rate",
           "unit_rate", "form_rate", "season_rate", "no_producer"]
#: the models compared by --variants: name -> fit_sample_model arguments (the first is the default model)
_TERMS = ["category", "producer", "seller", "task", "unit"]
VARIANTS: dict[str, dict[str, Any]] = {
    "default (lift)": {},
    "category share only": {"terms": ["category"]},
    "+ food name": {"terms": _TERMS + ["name"]},
    "+ place": {"terms": _TERMS + ["place"]},
    "- kind of sampled unit": {"terms": ["category", "producer", "seller", "task"]},
    "+ producer form": {"terms": _TERMS + ["form"]},
    "+ season": {"terms": _TERMS + ["season"]},
    "- task kind": {"terms": ["category", "producer", "seller", "unit"]},
    "- own histories": {"terms": ["category", "task", "unit"]},
    "lift, trained on two-table rows": {"learn_from": "two_table"},
    "sample-risk 1 (logistic)": {"method": "logistic"},
    "boosting, sample-risk 1 columns": {"method": "boosting"},
    "boosting on the shares": {"method": "boosting", "columns": _SHARES},
    "logistic on the shares": {"method": "logistic", "columns": _SHARES},
}


def load_store(realdata: Path, path: Path, *, before: str | None = None) -> Any:
    """A fresh embedded store holding both files (only the rows published before ``before`` when given)."""
    from graph.store import open_store
    from loaders.load import load_files

    files = [realdata / f for f in FILES.values()]
    if before is not None:
        tmp = path.parent / f"{path.stem}-files"
        tmp.mkdir(parents=True, exist_ok=True)
        cut = []
        for f in files:
            frame = pd.read_csv(f, dtype=str, keep_default_na=False)
            frame[frame["公告日期"].str[:10] < before].to_csv(tmp / f.name, index=False)
            cut.append(tmp / f.name)
        files = cut
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    store = open_store(str(path))
    outcomes = load_files(store, files)
    bad = [o.error for o in outcomes if o.error]
    if bad:
        raise SystemExit(f"cannot load {realdata}: {bad}")
    return store


def read_rows(realdata: Path) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray, np.ndarray]:
    """Every row of both files read as a plan, with its publication day, outcome and two-table flag."""
    from loaders.plan import read_plan
    from loaders.samr import source_name

    rows, day, failed, source = [], [], [], []
    for kind, name in FILES.items():
        for r in read_plan(realdata / name).rows:
            rows.append(r)
            day.append(str(r["announced"])[:10])
            failed.append(kind == "unqualified")
            source.append(source_name(r["task"]))
    source = np.array(source, dtype=object)
    failed = np.array(failed)
    both = set(source[~failed])        # a source whose 合格 table is in the data publishes both tables
    return rows, np.array(day, dtype="datetime64[D]"), failed, np.array([s in both for s in source])


def protocol(view: Any, history: Any, rows: list[dict[str, Any]], day: np.ndarray, failed: np.ndarray,
             two_table: np.ndarray, cuts: Iterable[tuple[str, str]], **fit: Any) -> pd.DataFrame:
    """Every cut's test rows scored as a plan as of the cut: one frame, the cut in column ``cut``."""
    from reasoning.sample_risk import backtest_plan

    out = []
    for start, end in cuts:
        sel = np.flatnonzero((day >= np.datetime64(start)) & (day < np.datetime64(end)))
        b = backtest_plan(view, [rows[i] for i in sel], failed[sel], start, history=history, **fit)
        out.append(b.assign(cut=start, end=end, row=sel, two_table=two_table[sel]))
    return pd.concat(out, ignore_index=True)


def masks(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {"all": np.ones(len(frame), dtype=bool), "food": ~frame["food_related"].to_numpy(),
            "history": frame["with_history"].to_numpy(), "two_table": frame["two_table"].to_numpy()}


def auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def figures(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    y = frame["failed"].to_numpy(dtype=int)
    out = {}
    for name, m in masks(frame).items():
        out[name] = {"n": int(m.sum()), "failed": int(y[m].sum()),
                     "model": auc(y[m], frame["probability"].to_numpy()[m]),
                     "baseline": auc(y[m], frame["baseline"].to_numpy()[m])}
    from reasoning.risk_model import precision_at

    out["top10"] = {k: float(precision_at(frame[c].to_numpy(), y, 0.1)) if len(frame) else None
                    for k, c in (("model", "probability"), ("baseline", "baseline"))}
    out["top10"]["failure_rate"] = float(y.mean()) if len(frame) else None
    two = masks(frame)["two_table"]
    p = frame["probability"].to_numpy()[two]
    out["calibration"] = {"mean_probability": float(p.mean()) if len(p) else None,
                          "observed": float(y[two].mean()) if two.any() else None,
                          "max_probability": float(frame["probability"].max()) if len(frame) else None}
    return out


def bootstrap(frame: pd.DataFrame, n: int, seed: int = 17) -> dict[str, tuple[float, float, float]]:
    """Model minus baseline ROC-AUC per subset: the pooled difference and a 95 % interval, resampling distinct
    plan rows (a row tested from several origins moves with all its copies)."""
    rng = np.random.default_rng(seed)
    ids = frame["row"].to_numpy()
    uniq, inv = np.unique(ids, return_inverse=True)
    y = frame["failed"].to_numpy(dtype=int)
    p, b = frame["probability"].to_numpy(), frame["baseline"].to_numpy()
    out = {}
    for name, m in masks(frame).items():
        point = _diff(y[m], p[m], b[m])
        if point is None:
            continue
        draws = []
        for _ in range(n):
            w = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))[inv] * m
            d = _diff(np.repeat(y, w), np.repeat(p, w), np.repeat(b, w))
            if d is not None:
                draws.append(d)
        lo, hi = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
        out[name] = (point, float(lo), float(hi))
    return out


def _diff(y: np.ndarray, p: np.ndarray, b: np.ndarray) -> float | None:
    a, c = auc(y, p), auc(y, b)
    return None if a is None or c is None else a - c


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def print_table(results: dict[str, dict[str, Any]]) -> None:
    head = "cut (test until)            rows fail | " + " | ".join(f"{SUBSETS[s]:^20s}" for s in SUBSETS)
    print(head)
    print(" " * 38 + "| " + " | ".join(f"{'model':>9s} {'base':>9s}" + " " for _ in SUBSETS))
    for name, r in results.items():
        cells = []
        for s in SUBSETS:
            f = r[s]
            cells.append(f"{_f(f['model']):>9s} {_f(f['baseline']):>9s} ")
        print(f"{name:26s} {r['all']['n']:5d} {r['all']['failed']:4d} | " + " | ".join(cells))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--realdata", type=Path, default=REPO.parent / "shared" / "realdata")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples of the pooled differences")
    ap.add_argument("--checks", action="store_true", help="also compare with the evaluate path and a store "
                                                          "without the later rows")
    ap.add_argument("--variants", action="store_true", help="also compare the models of VARIANTS (and an ensemble "
                                                            "with the baseline) with the default, pooled")
    ap.add_argument("--json", type=Path, default=None, help="figures file (default: --out/risk-real.json)")
    args = ap.parse_args()
    if not all((args.realdata / f).exists() for f in FILES.values()):
        print(f"no real announcements in {args.realdata} (../shared/realdata): nothing to measure", file=sys.stderr)
        return 2

    from threadpoolctl import threadpool_limits

    from graph.view import ReadView
    from reasoning.sample_risk import SAMPLE_MODEL_VERSION, read_history

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with threadpool_limits(1), load_store(args.realdata, args.out / "risk-real.db") as store:
        view = ReadView(store)
        history = read_history(view)
        rows, day, failed, two = read_rows(args.realdata)
        t1 = time.perf_counter()
        rolling = protocol(view, history, rows, day, failed, two, ROLLING)
        yearly = protocol(view, history, rows, day, failed, two, YEARLIKE)
        t2 = time.perf_counter()
        results: dict[str, dict[str, Any]] = {}
        for (start, end), part in rolling.groupby(["cut", "end"], sort=False):
            results[f"{start} ({end})"] = figures(part)
        results["pooled rolling"] = figures(rolling)
        for (start, end), part in yearly.groupby(["cut", "end"], sort=False):
            results[f"year {start} ({end})"] = figures(part)
        print(f"model {SAMPLE_MODEL_VERSION}; {len(rows):,} announcement rows; loaded in {t1 - t0:.1f} s, "
              f"{len(ROLLING) + len(YEARLIKE)} cuts scored in {t2 - t1:.1f} s")
        print("ROC-AUC of the model and of the baseline (the 亚类's past failure rate over every row)")
        print_table(results)
        boot = {"pooled rolling": bootstrap(rolling, args.boot)}
        for (start, end), part in yearly.groupby(["cut", "end"], sort=False):
            boot[f"year {start} ({end})"] = bootstrap(part, args.boot)
        print(f"model - baseline (bootstrap 95 %, {args.boot} resamples of distinct rows):")
        for name, b in boot.items():
            print(f"  {name:28s} " + "   ".join(f"{SUBSETS[s]} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                                               for s, (d, lo, hi) in b.items()))
        print("precision in the top 10 %, every row: model / baseline / the failure rate (random)")
        for name, r in results.items():
            t = r["top10"]
            print(f"  {name:26s} {_f(t['model'])} / {_f(t['baseline'])} / {_f(t['failure_rate'])}")
        print("calibration on the two-table rows: mean probability / observed rate / largest probability")
        for name, r in results.items():
            c = r["calibration"]
            print(f"  {name:26s} {_f(c['mean_probability'])} / {_f(c['observed'])} / {_f(c['max_probability'])}")
        out: dict[str, Any] = {"model": SAMPLE_MODEL_VERSION, "figures": results,
                               "bootstrap": {n: {k: list(v) for k, v in b.items()} for n, b in boot.items()}}
        if args.variants:
            out["variants"] = variants(view, history, rows, day, failed, two, rolling, yearly, args.boot)
        if args.checks:
            out["checks"] = checks(args, view, history, rows, day, failed, two, yearly)
    path = args.json or args.out / "risk-real.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written to {path}")
    return 0


def variants(view: Any, history: Any, rows: list[dict[str, Any]], day: np.ndarray, failed: np.ndarray,
             two: np.ndarray, rolling: pd.DataFrame, yearly: pd.DataFrame, boot: int) -> dict[str, Any]:
    """Each variant against the default: ROC-AUC pooled over the rolling cuts (every row, food) and on the year
    as of 2021-01-01, with the pooled difference to the default and its bootstrap interval."""
    print("variants: ROC-AUC pooled rolling (every row, food, two-table sources), year as of 2021-01-01 (every row, "
          f"food); pooled difference to the default on every row (bootstrap 95 %, {boot} resamples)")
    default_y = yearly[yearly["cut"] == YEARLIKE[0][0]]
    res: dict[str, Any] = {}
    for name, fit in [*VARIANTS.items(), ("ensemble: mean rank of default and baseline", None)]:
        if fit is None:
            roll, year = _mean_rank(rolling), _mean_rank(default_y)
        elif not fit:
            roll, year = rolling, default_y
        else:
            roll = protocol(view, history, rows, day, failed, two, ROLLING, **fit)
            year = protocol(view, history, rows, day, failed, two, YEARLIKE[:1], **fit)
        fr, fy = figures(roll), figures(year)
        diff = _paired(roll, rolling, boot)
        res[name] = {"rolling": fr, "year": fy, "difference": diff}
        print(f"  {name:44s} {_f(fr['all']['model'])} {_f(fr['food']['model'])} {_f(fr['two_table']['model'])} | "
              f"{_f(fy['all']['model'])} {_f(fy['food']['model'])} | {diff[0]:+.3f} [{diff[1]:+.3f}, {diff[2]:+.3f}]")
    return res


def _mean_rank(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's and the baseline's ranks averaged within each cut (a probability scale is lost: ranks only)."""
    out = frame.copy()
    g = out.groupby("cut")
    out["probability"] = (g["probability"].rank(pct=True) + g["baseline"].rank(pct=True)) / 2
    return out


def _paired(a: pd.DataFrame, b: pd.DataFrame, n: int, seed: int = 17) -> tuple[float, float, float]:
    """ROC-AUC of ``a`` minus ``b`` (the same rows in the same order) on every row, pooled: point and 95 %
    bootstrap interval resampling distinct rows."""
    merged = a.assign(other=b["probability"].to_numpy())
    point = _diff(merged["failed"].to_numpy(dtype=int), merged["probability"].to_numpy(), merged["other"].to_numpy())
    rng = np.random.default_rng(seed)
    uniq, inv = np.unique(merged["row"].to_numpy(), return_inverse=True)
    y, p, q = merged["failed"].to_numpy(dtype=int), merged["probability"].to_numpy(), merged["other"].to_numpy()
    draws = []
    for _ in range(n):
        w = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))[inv]
        d = _diff(np.repeat(y, w), np.repeat(p, w), np.repeat(q, w))
        if d is not None:
            draws.append(d)
    lo, hi = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    return (point if point is not None else float("nan"), float(lo), float(hi))


def checks(args: Any, view: Any, history: Any, rows: list[dict[str, Any]], day: np.ndarray, failed: np.ndarray,
           two: np.ndarray, yearly: pd.DataFrame) -> dict[str, Any]:
    """The 2021-H2 split's probabilities from the evaluate path, and from a store without the later rows."""
    from graph.view import ReadView
    from ontology.names import name_key
    from reasoning.sample_risk import evaluate_samples, read_history

    cut = "2021-07-01"
    part = yearly[yearly["cut"] == cut]
    ev = evaluate_samples(view, cut, history=history, keep_predictions=True)
    pred = ev["predictions"]
    samples = view.get_many("sample", list(pred["id"]))
    by_key = {}
    for i, p in zip(pred["id"], pred["probability"]):
        s = samples[i]
        by_key[(s.producer_id, s.sampled_id, name_key(s.product_name), s.batch)] = p
    from reasoning.sample_risk import plan_rows

    planned = plan_rows([rows[i] for i in part["row"]], view, cut)
    diffs = []
    for j, r in enumerate(rows[i] for i in part["row"]):
        k = (planned["producer"].iat[j], planned["sampled"].iat[j], name_key(r["product_name"]), r["batch"])
        if k in by_key and not r["food_related"]:
            diffs.append(abs(by_key[k] - part["probability"].iat[j]))
    res = {"evaluate_path": {"rows": len(diffs), "max_abs_difference": float(max(diffs)) if diffs else None}}
    print(f"evaluate path, {cut}: {len(diffs)} food rows matched, largest difference "
          f"{res['evaluate_path']['max_abs_difference']:.2g}")
    with load_store(args.realdata, args.out / "risk-real-before.db", before=cut) as early:
        v2 = ReadView(early)
        again = protocol(v2, read_history(v2), rows, day, failed, two, [(cut, "2022-01-01")])
    d = float(np.max(np.abs(again["probability"].to_numpy() - part["probability"].to_numpy())))
    res["no_look_ahead"] = {"rows": int(len(part)), "max_abs_difference": d}
    print(f"store without the rows published from {cut}: {len(part)} rows, largest difference {d:.2g}")
    return res


if __name__ == "__main__":
    sys.exit(main())
