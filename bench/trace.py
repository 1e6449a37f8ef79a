"""Benchmark: lot-level traces on the synthetic network, against station-level BFS and naive Cypher.

    python bench/trace.py [--scale 1000000] [--lots 1000] [--runs 3]            # embedded store
    python bench/trace.py --store bolt://127.0.0.1:7688                           # Neo4j (network loaded)
    python bench/trace.py --naive bolt://127.0.0.1:7688                           # embedded traces + naive Cypher

What it does:

1. Data and store. The network is generated into ``--out/data-N`` exactly as ``bench/load.py``
   does (same command, scale and seed) unless its ``manifest.json`` is there already (the
   generator writes it last). The embedded store is ``--out/load-N.db``, which ``bench/load.py``
   leaves behind; it is reused when complete, else (re)loaded. Complete means: no process holds
   its write lock (a load writes one transaction per file) and the store holds at least 95% of the
   manifest's deliveries, lots, operators, transformations and samples (the generator plants
   rejects and duplicates, so the counts never match exactly; a load that stopped early misses
   whole files). A Neo4j store (``--store bolt://...``) must be loaded already (``python
   bench/load.py --scale N --store bolt://...``); the same completeness test applies.
2. ``--lots`` random lots (seeded by ``--sample-seed``) among those with at least one delivery.
   After a warm-up (``--warmup`` other lots, both directions), each lot is traced with
   ``reasoning.trace.trace(view, lot, "down")`` and ``"up"`` with the default options (a fresh trace
   each time), two ways: through an in-memory ``reasoning.trace_index.TraceIndex`` built once (what
   the service and the outbreak ranking hold; its build time and memory are printed) and through the
   store's reads per frontier with the holding windows learned once (a one-off command learns them
   itself: that time is printed too). ``--runs`` passes over the same lots; the median, 95th
   percentile and maximum of each run are printed, and the median over the runs is the figure. The
   mean number of stations reached (certain / possible) is taken from the first run.
3. Station-level BFS from the same lots: every operator that ever traded is a node, every
   sender -> receiver pair of a (non-retracted) delivery an edge, built once as a CSR adjacency
   with numpy; a BFS (not time-respecting, any lot): "down" forward from the stations that held
   the lot (its producer, senders and receivers), "up" backward from where the lot entered the
   network (its producer and the stations that shipped it without having received it; also
   reported: backward from every station that held it). Mean reach (the start stations included,
   as the lot-level trace lists them too) and time per BFS.
4. Store reads per trace: the traces of ``--profile-lots`` lots are repeated through a view
   that counts each read method's calls and time, to tell store time from Python time.
   ``--profile`` also writes cProfile's top functions to ``--out/trace-profile-<backend>.txt``.
5. Naive Cypher (with a ``bolt://`` URL as ``--store`` or ``--naive``): graph/neo4j.py stores a
   delivery as a ``:Delivery`` node whose sender and receiver are properties, no relationships,
   so a variable-length pattern has nothing to follow. What a developer new to the model does
   is add the obvious graph: one ``(:BenchStation)`` node per operator id and one
   ``-[:DELIVERED {lot_id, time}]->`` relationship per delivery (built once; a
   ``(:BenchMeta)`` node records for how many deliveries), then query
   ``reach``: ``MATCH (a:BenchStation)-[:DELIVERED*1..6]->(b) WHERE a.id IN $holders RETURN DISTINCT b.id``
   (station-level, like the BFS), and ``timed``: from the lot's own deliveries, paths of up to 6
   deliveries whose times do not decrease (``all(...)`` over the path's relationships: a
   time-respecting but path-enumerating query). Each runs on ``--naive-lots`` of the lots with a
   transaction timeout of ``--naive-timeout`` seconds; a timed-out query counts as the timeout.
   After ``--naive-give-up`` timeouts in a row a query kind is not tried on further lots.
   ``--drop-naive`` removes the added nodes and relationships afterwards.

Everything is printed, and written under a key ``<backend>-<scale>`` into ``--json``
(default ``--out/trace.json``; other keys in that file are kept). Targets (issue 16): on the embedded
store median <= 5 ms, p95 <= 100 ms, max <= 1 s; on Neo4j median <= 50 ms, p95 <= 500 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import load as load_bench  # noqa: E402  (bench/load.py: the same generate and load commands)
from graph.store import Store, open_store  # noqa: E402
from graph.view import ReadView  # noqa: E402
from reasoning.holding import learn_windows, pass_throughs  # noqa: E402
from reasoning.trace import TraceOptions, Tracer, trace  # noqa: E402
from reasoning.trace_index import TraceIndex  # noqa: E402

#: tables whose loaded counts must reach COMPLETE x the manifest's counts
CHECKED = ("delivery", "lot", "operator", "transformation", "sample")
COMPLETE = 0.95


# -- data and store ---------------------------------------------------------------------------

def ensure_data(out: Path, scale: int, seed: int) -> Path:
    """The generated network of bench/load.py, generated unless its manifest is there."""
    data = out / f"data-{scale}"
    manifest = data / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text(encoding="utf-8"))
        if m.get("scale") == scale and m.get("seed") == seed:
            print(f"data: {data} (generated earlier: scale {scale:,}, seed {seed})")
            return data
    if data.exists():
        shutil.rmtree(data)
    log = out / f"trace-generate-{scale}.log"
    wall, peak, code = load_bench.run(load_bench.FOODTRACE + ["generate", "--scale", str(scale), "--seed", str(seed),
                                                              "--out", str(data)], log)
    if code != 0:
        raise SystemExit(f"generate failed with exit code {code} (see {log})")
    print(f"data: generated {scale:,} deliveries into {data} in {wall:.1f} s (peak RSS {peak:,.0f} MiB)")
    return data


def write_locked(path: Path) -> bool:
    """Whether another process holds the SQLite file's write lock (a load in progress)."""
    import sqlite3

    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        db.close()


def completeness(store: Store, data: Path) -> tuple[bool, str]:
    """Whether the store holds the generated network (see the module docstring) and why not."""
    expected = json.loads((data / "manifest.json").read_text(encoding="utf-8"))["counts"]
    got = store.counts()
    short = [f"{t} {got.get(t, 0):,} of {expected[t]:,}" for t in CHECKED
             if expected.get(t) and got.get(t, 0) < COMPLETE * expected[t]]
    if short:
        return False, "incomplete: " + ", ".join(short)
    return True, ", ".join(f"{t} {got.get(t, 0):,}" for t in CHECKED)


def ensure_embedded(out: Path, scale: int, data: Path) -> str:
    """The embedded store of bench/load.py, loaded unless complete."""
    db = out / f"load-{scale}.db"
    if db.exists():
        if write_locked(db):
            raise SystemExit(f"{db} is being written by another process (a load in progress?); try again later")
        with open_store(str(db)) as s:
            ok, why = completeness(s, data)
        if ok:
            print(f"store: {db} (loaded earlier: {why})")
            return str(db)
        print(f"store: {db} is {why}; loading it again")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    files = load_bench.input_files(data)
    wall, peak, code = load_bench.run(load_bench.FOODTRACE + ["load", *map(str, files), "--store", str(db),
                                                              "--rejects", str(out / f"trace-rejects-{scale}.csv")],
                                      out / f"trace-load-{scale}.log")
    if code not in (0, 1):
        raise SystemExit(f"load failed with exit code {code} (see {out / f'trace-load-{scale}.log'})")
    with open_store(str(db)) as s:
        ok, why = completeness(s, data)
    if not ok:
        raise SystemExit(f"the load left {db} {why}")
    print(f"store: loaded {db} in {wall:.1f} s (peak RSS {peak:,.0f} MiB; {why})")
    return str(db)


# -- the network for sampling and for station-level BFS ------------------------------------------

class StationGraph:
    """Operators as nodes, distinct sender -> receiver pairs as edges (CSR, both directions)."""

    def __init__(self, store: Store) -> None:
        t0 = time.perf_counter()
        retracted = store.retracted_events()
        index: dict[str, int] = {}
        src: list[int] = []
        dst: list[int] = []
        holders: dict[str, set[int]] = defaultdict(set)
        receivers: dict[str, set[int]] = defaultdict(set)
        n_del = 0
        for d in store.scan("delivery"):
            if d.event_id is not None and d.event_id in retracted:
                continue
            n_del += 1
            s = index.setdefault(d.sender_id, len(index))
            r = index.setdefault(d.receiver_id, len(index))
            src.append(s)
            dst.append(r)
            h = holders[d.lot_id]
            h.add(s)
            h.add(r)
            receivers[d.lot_id].add(r)
        self.read_s = time.perf_counter() - t0
        producers: dict[str, int] = {}
        for lot in store.scan("lot"):
            if lot.id in holders and lot.producer_id:
                producers[lot.id] = index.setdefault(lot.producer_id, len(index))
                holders[lot.id].add(producers[lot.id])
        self.deliveries = n_del
        self.index = index
        self.ids = list(index)
        as_array = lambda v: np.fromiter(sorted(v), dtype=np.int64)  # noqa: E731
        #: every station that held the lot: its producer, senders and receivers
        self.holders = {k: as_array(v) for k, v in holders.items()}
        #: where the lot entered the network: its producer and the stations that shipped it without
        #: having received it (all holders if that leaves none)
        self.origins = {}
        for k, v in holders.items():
            first = (v - receivers[k]) | ({producers[k]} if k in producers else set())
            self.origins[k] = as_array(first or v)
        t1 = time.perf_counter()
        n = len(index)
        pairs = np.unique(np.asarray(src, dtype=np.int64) * n + np.asarray(dst, dtype=np.int64))
        a, b = pairs // n, pairs % n
        self.n = n
        self.edges = int(pairs.size)
        self.fwd = self._csr(a, b, n)
        self.bwd = self._csr(b, a, n)
        self.build_s = time.perf_counter() - t1
        self.total_s = time.perf_counter() - t0

    @staticmethod
    def _csr(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(a, kind="stable")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
        return indptr, b[order]

    def reach(self, sources: np.ndarray, down: bool) -> int:
        """Stations reachable from ``sources`` (themselves included), any lot, any time order."""
        indptr, indices = self.fwd if down else self.bwd
        seen = np.zeros(self.n, dtype=bool)
        seen[sources] = True
        frontier = sources
        while frontier.size:
            starts = indptr[frontier]
            lens = indptr[frontier + 1] - starts
            total = int(lens.sum())
            if not total:
                break
            # the neighbour lists of the whole frontier, gathered at once
            offsets = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
            nb = np.unique(indices[offsets])
            nb = nb[~seen[nb]]
            seen[nb] = True
            frontier = nb
        return int(seen.sum())


# -- timing ---------------------------------------------------------------------------------------

def code_version() -> dict[str, Any]:
    """The commit measured, and the traced code's files that differ from it (a benchmark of work in progress)."""
    import subprocess

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except OSError:
            return ""
    dirty = git("status", "--porcelain", "--", "reasoning", "graph", "ontology")
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted": [x[3:] for x in dirty.splitlines()]}


def summary(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)), "mean_ms": float(a.mean()),
            "max_ms": float(a.max())}


class CountingView:
    """A ReadView that counts calls, ids asked for, records returned and seconds per read method."""

    METHODS = ("deliveries", "transformation_items", "get_many", "scan", "resolve_many", "aliases_of",
               "retracted_events")

    def __init__(self, view: ReadView) -> None:
        self._view = view
        self.calls: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)
        for name in self.METHODS:
            setattr(self, name, self._wrap(name, getattr(view, name)))

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kw: Any) -> Any:
            label = name
            if name in ("get_many", "scan") and args:
                label = f"{name}({args[0]})"
            elif name in ("deliveries", "transformation_items"):
                label = f"{name}({'+'.join(k for k, v in kw.items() if v is not None)})"
            t0 = time.perf_counter()
            out = fn(*args, **kw)
            if name == "scan":
                out = list(out)
            self.seconds[label] += time.perf_counter() - t0
            self.calls[label] += 1
            try:
                self.rows[label] += len(out)
            except TypeError:
                pass
            return out
        return call


def time_traces(view: ReadView, lots: list[str], direction: str, budget: float | None = None,
                options: TraceOptions | None = None,
                index: TraceIndex | None = None) -> tuple[list[float], list[dict[str, Any]]]:
    """Time one trace per lot (a fresh one each time: nothing shared but the index and the learned
    windows); with a budget (seconds), stop once it is spent (the lots done are a prefix of a random
    sample, so still a random sample)."""
    ms, counts = [], []
    t_end = time.perf_counter() + budget if budget else None
    for lot in lots:
        if t_end is not None and time.perf_counter() > t_end:
            break
        t0 = time.perf_counter()
        t = trace(view, lot, direction, options, index=index)
        ms.append((time.perf_counter() - t0) * 1000)
        c = t.counts()
        counts.append({"stations": c["stations"], "deliveries": c["deliveries"], "lots": c["lots"]})
    return ms, counts


def mean_counts(counts: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind in ("stations", "deliveries", "lots"):
        cert = [c[kind]["certain"] for c in counts]
        poss = [c[kind]["possible"] for c in counts]
        out[kind] = {"certain": statistics.fmean(cert), "possible": statistics.fmean(poss),
                     "total": statistics.fmean(a + b for a, b in zip(cert, poss)),
                     "median_total": statistics.median(a + b for a, b in zip(cert, poss)),
                     "max_total": max(a + b for a, b in zip(cert, poss))}
    return out


# -- naive Cypher ---------------------------------------------------------------------------------

NAIVE_REACH = ("MATCH (a:BenchStation)-[:DELIVERED*1..6]->(b:BenchStation) WHERE a.id IN $holders "
               "RETURN DISTINCT b.id AS id LIMIT 100000")
NAIVE_TIMED = ("MATCH (a:BenchStation)-[r0:DELIVERED]->(m:BenchStation) WHERE a.id IN $holders AND r0.lot_id = $lot "
               "MATCH (m)-[rs:DELIVERED*0..5]->(b:BenchStation) "
               "WHERE all(i IN range(0, size(rs) - 1) WHERE ([r0] + rs)[i].time <= rs[i].time) "
               "RETURN DISTINCT b.id AS id LIMIT 100000")


def naive_cypher(url: str, graph: StationGraph, lots: list[str], timeout: float, give_up: int,
                 drop: bool) -> dict[str, Any]:
    import neo4j

    from graph.neo4j import parse_url

    p = parse_url(url)
    auth = neo4j.basic_auth(p.user or "neo4j", p.password or "") if (p.user or p.password) else None
    out: dict[str, Any] = {"url": p.shown, "timeout_s": timeout, "queries": {"reach": NAIVE_REACH, "timed": NAIVE_TIMED}}
    with neo4j.GraphDatabase.driver(p.driver_uri, auth=auth, notifications_min_severity="OFF") as driver, driver.session(database=p.database) as s:
        n_del = s.run("MATCH (d:Delivery) RETURN count(d) AS n").single()["n"]
        meta = s.run("MATCH (m:BenchMeta {id: 'naive'}) RETURN m.deliveries AS n").single()
        if meta is None or meta["n"] != n_del:
            t0 = time.perf_counter()
            s.run("MATCH (n:BenchStation) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS").consume()
            s.run("MATCH (m:BenchMeta) DELETE m").consume()
            s.run("CREATE CONSTRAINT bench_station_id IF NOT EXISTS FOR (s:BenchStation) REQUIRE s.id IS UNIQUE").consume()
            s.run("MATCH (d:Delivery) UNWIND [d.sender_id, d.receiver_id] AS id WITH DISTINCT id "
                  "CALL (id) { CREATE (:BenchStation {id: id}) } IN TRANSACTIONS OF 10000 ROWS").consume()
            s.run("MATCH (d:Delivery) CALL (d) { MATCH (a:BenchStation {id: d.sender_id}), "
                  "(b:BenchStation {id: d.receiver_id}) CREATE (a)-[:DELIVERED {lot_id: d.lot_id, time: d.time}]->(b) "
                  "} IN TRANSACTIONS OF 20000 ROWS").consume()
            s.run("CREATE (:BenchMeta {id: 'naive', deliveries: $n})", n=n_del).consume()
            out["build_s"] = time.perf_counter() - t0
            print(f"naive Cypher: built the station graph ({n_del:,} DELIVERED relationships) in {out['build_s']:.0f} s")
        plan = s.run("EXPLAIN " + NAIVE_REACH, holders=["x"]).consume().plan
        ops: list[str] = []

        def walk(node: Any) -> None:
            ops.append(node["operatorType"])
            for c in node.get("children", ()):
                walk(c)
        if plan:
            walk(plan)
        out["reach_plan"] = ops
        for kind, query in (("reach", NAIVE_REACH), ("timed", NAIVE_TIMED)):
            ms, sizes, timeouts, in_a_row, tried = [], [], 0, 0, 0
            for lot in lots:
                holders = [graph.ids[i] for i in graph.holders[lot]]
                t0 = time.perf_counter()
                try:
                    rows = list(s.run(neo4j.Query(query, timeout=timeout), holders=holders, lot=lot))
                    ms.append((time.perf_counter() - t0) * 1000)
                    sizes.append(len(rows))
                    in_a_row = 0
                except neo4j.exceptions.Neo4jError as e:
                    if "Timed" not in (e.code or "") and "terminated" not in str(e).lower():
                        raise
                    ms.append(timeout * 1000)
                    timeouts += 1
                    in_a_row += 1
                tried += 1
                if in_a_row >= give_up:
                    break
            out[kind] = {"lots": tried, "timeouts": timeouts, **summary(ms),
                         "mean_rows": statistics.fmean(sizes) if sizes else None,
                         "gave_up": in_a_row >= give_up}
        if drop:
            s.run("MATCH (n:BenchStation) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS").consume()
            s.run("MATCH (m:BenchMeta) DELETE m").consume()
            s.run("DROP CONSTRAINT bench_station_id IF EXISTS").consume()
    return out


# -- main -----------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7, help="generator seed (as bench/load.py)")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    ap.add_argument("--store", default=None, help="store URL (default: the embedded store --out/load-N.db)")
    ap.add_argument("--lots", type=int, default=1000, help="lots traced (each down and up)")
    ap.add_argument("--sample-seed", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=50, help="other lots traced first, both directions")
    ap.add_argument("--warmup-budget", type=float, default=300.0, help="seconds after which the warm-up stops")
    ap.add_argument("--runs", type=int, default=3, help="timed passes over the lots; the median pass is reported")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per timed pass; a pass stops there and reports the lots it traced")
    ap.add_argument("--profile-lots", type=int, default=100, help="lots whose store reads are counted")
    ap.add_argument("--profile", action="store_true", help="also cProfile the traces of --profile-lots lots")
    ap.add_argument("--tracer", action="store_true", help="also time one shared Tracer (caches kept across traces)")
    ap.add_argument("--index-only", action="store_true", help="time the in-memory index only (not the store reads)")
    ap.add_argument("--naive", default=None, help="bolt:// URL for the naive Cypher queries (default: --store if bolt)")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive Cypher queries")
    ap.add_argument("--naive-lots", type=int, default=50)
    ap.add_argument("--naive-timeout", type=float, default=10.0, help="seconds per naive query")
    ap.add_argument("--naive-give-up", type=int, default=5, help="timeouts in a row after which a query kind stops")
    ap.add_argument("--drop-naive", action="store_true", help="remove the naive station graph afterwards")
    ap.add_argument("--json", type=Path, default=None, help="results file (default --out/trace.json)")
    args = ap.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    data = ensure_data(args.out, args.scale, args.seed)
    if args.store:
        url = args.store
        with open_store(url) as s:
            ok, why = completeness(s, data)
        if not ok:
            print(f"{url} is {why}: load it first with python bench/load.py --scale {args.scale} --store {url}")
            return 1
        print(f"store: {url} ({why})")
    else:
        url = ensure_embedded(args.out, args.scale, data)
    naive_url = None if args.no_naive else (args.naive or (url if url.startswith(("bolt", "neo4j")) else None))

    store = open_store(url)
    backend = store.name
    result: dict[str, Any] = {"backend": backend, "store": store.url, "scale": args.scale, "seed": args.seed,
                              "lots": args.lots, "sample_seed": args.sample_seed, "runs": args.runs, "budget_s": args.budget,
                              "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
                              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": code_version(),
                              "load_average_start": os.getloadavg()}
    try:
        graph = StationGraph(store)
        print(f"network: {graph.deliveries:,} deliveries, {len(graph.holders):,} lots with deliveries, "
              f"{graph.n:,} stations, {graph.edges:,} station pairs; read in {graph.read_s:.1f} s, "
              f"adjacency built in {graph.build_s * 1000:.0f} ms")
        result["network"] = {"deliveries": graph.deliveries, "lots_with_deliveries": len(graph.holders),
                             "stations": graph.n, "station_pairs": graph.edges, "read_s": graph.read_s,
                             "adjacency_build_ms": graph.build_s * 1000}
        candidates = sorted(graph.holders)
        rng = random.Random(args.sample_seed)
        lots = rng.sample(candidates, min(args.lots, len(candidates)))
        rest = sorted(set(candidates) - set(lots))
        warm = rng.sample(rest, min(args.warmup, len(rest)))
        view = ReadView(store)

        # the two ways a trace reads: an in-memory TraceIndex built once (the service, the outbreak ranking)
        # and the store's reads per frontier (a one-off command) with the windows learned once
        t0 = time.perf_counter()
        index = TraceIndex.build(view)
        result["index_build_s"] = time.perf_counter() - t0
        result["index_rss_mib"] = _rss_mib()
        t0 = time.perf_counter()
        learned = learn_windows(pass_throughs(view))
        result["learn_windows_s"] = time.perf_counter() - t0
        print(f"index built in {result['index_build_s']:.1f} s (process memory {result['index_rss_mib']:,.0f} MiB); "
              f"windows learned from the store in {result['learn_windows_s']:.1f} s", flush=True)
        modes = {"index": (TraceOptions(), index), "store": (TraceOptions(holding=learned), None)}

        t0 = time.perf_counter()
        warmed = 0
        for lot in warm:
            if time.perf_counter() - t0 > args.warmup_budget:
                break
            for opts, ix in modes.values():
                trace(view, lot, "down", opts, index=ix)
                trace(view, lot, "up", opts, index=ix)
            warmed += 1
        print(f"warm-up: {warmed} lots, both directions, both modes, in {time.perf_counter() - t0:.1f} s")

        result["trace"] = {}
        for mode, (opts, ix) in modes.items():
            if mode == "store" and args.index_only:
                continue
            result["trace"][mode] = {}
            for direction in ("down", "up"):
                runs, counts = [], None
                for r in range(args.runs):
                    ms, c = time_traces(view, lots, direction, args.budget, opts, ix)
                    if counts is None:
                        counts, first_ms = c, ms
                    runs.append({"lots": len(ms), **summary(ms)})
                    print(f"trace {mode:5s} {direction:4s} run {r + 1} ({len(ms)} lots): median "
                          f"{runs[-1]['median_ms']:.2f} ms, p95 {runs[-1]['p95_ms']:.2f} ms, mean "
                          f"{runs[-1]['mean_ms']:.2f} ms, max {runs[-1]['max_ms']:.0f} ms", flush=True)
                mc = mean_counts(counts)  # type: ignore[arg-type]
                slowest = sorted(zip(first_ms, lots, counts), key=lambda x: -x[0])[:10]  # type: ignore[arg-type]
                result["trace"][mode][direction] = {
                    "median_ms": statistics.median(x["median_ms"] for x in runs),
                    "p95_ms": statistics.median(x["p95_ms"] for x in runs),
                    "max_ms": statistics.median(x["max_ms"] for x in runs),
                    "runs": runs, "mean_reached": mc,
                    "slowest": [{"lot": lot, "ms": ms, "stations": c["stations"], "deliveries": c["deliveries"]}
                                for ms, lot, c in slowest]}

        # station-level BFS from the same lots: down from every station that held the lot, up from
        # where it entered the network (and, for comparison, up from every station that held it)
        result["bfs"] = {}
        for name, starts, down in (("down", graph.holders, True), ("up", graph.origins, False),
                                   ("up_from_holders", graph.holders, False)):
            reach, ms = [], []
            for lot in lots:
                t0 = time.perf_counter()
                reach.append(graph.reach(starts[lot], down))
                ms.append((time.perf_counter() - t0) * 1000)
            result["bfs"][name] = {"mean_stations": statistics.fmean(reach),
                                   "median_stations": statistics.median(reach), **summary(ms),
                                   "mean_start_stations": statistics.fmean(len(starts[x]) for x in lots)}

        # store reads per trace
        prof_lots = lots[:args.profile_lots]
        result["reads"] = {}
        for direction in ("down", "up") if prof_lots else ():  # --profile-lots 0: no read counts
            cv = CountingView(view)
            t0 = time.perf_counter()
            for lot in prof_lots:
                trace(cv, lot, direction, modes["store"][0])  # type: ignore[arg-type]
            total = time.perf_counter() - t0
            n = len(prof_lots)
            in_store = sum(cv.seconds.values())
            result["reads"][direction] = {
                "lots": n, "ms_per_trace": total / n * 1000, "store_ms_per_trace": in_store / n * 1000,
                "calls_per_trace": sum(cv.calls.values()) / n,
                "by_method": {k: {"calls_per_trace": cv.calls[k] / n, "ms_per_trace": cv.seconds[k] / n * 1000,
                                  "records_per_trace": cv.rows[k] / n}
                              for k in sorted(cv.calls, key=lambda k: -cv.seconds[k])}}
        if args.profile:
            for direction in ("down", "up"):
                pr = cProfile.Profile()
                pr.enable()
                for lot in prof_lots:
                    trace(view, lot, direction, TraceOptions(), index=index)
                pr.disable()
                buf = io.StringIO()
                pstats.Stats(pr, stream=buf).sort_stats("cumulative").print_stats(35)
                buf.write("\n--- by own time\n")
                pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(25)
                path = args.out / f"trace-profile-{backend}-{args.scale}-{direction}.txt"
                path.write_text(buf.getvalue(), encoding="utf-8")
                print(f"cProfile of {len(prof_lots)} {direction} traces: {path}")

        if args.tracer:
            result["tracer"] = {}
            for direction in ("down", "up"):
                tr = Tracer(view)
                ms = []
                for lot in lots:
                    t0 = time.perf_counter()
                    tr.trace(lot, direction)
                    ms.append((time.perf_counter() - t0) * 1000)
                result["tracer"][direction] = summary(ms)
    finally:
        store.close()

    if naive_url:
        result["naive_cypher"] = naive_cypher(naive_url, graph, lots[:args.naive_lots], args.naive_timeout,
                                              args.naive_give_up, args.drop_naive)

    result["load_average_end"] = os.getloadavg()
    report(result)
    path = args.json or args.out / "trace.json"
    try:
        everything = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        everything = {}
    everything[f"{backend}-{args.scale}"] = result
    path.write_text(json.dumps(everything, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures written to {path} under {backend}-{args.scale}")
    return 0


#: issue 16 targets (ms): median, p95, max per backend (max only for the embedded store)
TARGETS = {"sqlite": (5.0, 100.0, 1000.0), "neo4j": (50.0, 500.0, None)}


def _rss_mib() -> float:
    """The process's own memory (anonymous resident pages: not the store file SQLite maps in)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def report(r: dict[str, Any]) -> None:
    med_t, p95_t, max_t = TARGETS.get(r["backend"], (50.0, 500.0, None))
    done = min(x["lots"] for m in r["trace"].values() for d in ("down", "up") for x in m[d]["runs"])
    print(f"--- {r['backend']} store, {r['scale']:,} deliveries, {r['lots']} lots"
          + (f" (a pass stopped at its time budget after {done})" if done < r["lots"] else "")
          + f", default options, median of {r['runs']} runs "
          f"(1-min load average {r['load_average_start'][0]:.1f} at the start, {r['load_average_end'][0]:.1f} at the end "
          f"on {r['machine']['cores']} cores); code {r['code']['commit']}"
          + (f" with uncommitted {', '.join(r['code']['uncommitted'])}" if r["code"]["uncommitted"] else ""))
    print(f"index built once in {r['index_build_s']:.1f} s (process memory {r['index_rss_mib']:,.0f} MiB, the "
          f"station graph of the BFS included); "
          f"windows learned from the store in {r['learn_windows_s']:.1f} s")
    for direction in ("down", "up"):
        for mode, t in r["trace"].items():
            t = t[direction]
            st = t["mean_reached"]["stations"]
            ok = t["median_ms"] <= med_t and t["p95_ms"] <= p95_t and (max_t is None or t["max_ms"] <= max_t)
            print(f"trace {direction:4s} ({'in-memory index' if mode == 'index' else 'store reads'}): median "
                  f"{t['median_ms']:.2f} ms, p95 {t['p95_ms']:.2f} ms, max {t['max_ms']:.0f} ms (target median <= "
                  f"{med_t:g}, p95 <= {p95_t:g}" + (f", max <= {max_t:g}" if max_t else "") + f" ms: "
                  f"{'MET' if ok else 'NOT MET'}); stations reached: mean {st['total']:.1f} ({st['certain']:.1f} "
                  f"certain, {st['possible']:.1f} possible), median {st['median_total']:.0f}, max {st['max_total']:.0f}")
        b = r["bfs"][direction]
        start = "the stations that held the lot" if direction == "down" else "where the lot entered"
        print(f"  station-level BFS {direction} from {start} ({b['mean_start_stations']:.1f} on average): "
              f"mean {b['mean_stations']:.1f} stations (median {b['median_stations']:.0f}) of "
              f"{r['network']['stations']:,}; {b['median_ms']:.2f} ms median, {b['p95_ms']:.2f} ms p95 per BFS "
              f"(adjacency built once in {r['network']['adjacency_build_ms']:.0f} ms)")
        if direction == "up":
            h = r["bfs"]["up_from_holders"]
            print(f"  station-level BFS up from every station that held the lot: mean {h['mean_stations']:.1f} "
                  f"stations (median {h['median_stations']:.0f})")
        rd = r["reads"][direction]
        top = ", ".join(f"{k} {v['calls_per_trace']:.1f} x {v['ms_per_trace'] / max(v['calls_per_trace'], 1e-9):.2f} ms"
                        for k, v in list(rd["by_method"].items())[:4])
        print(f"  store reads per trace ({rd['lots']} lots): {rd['calls_per_trace']:.1f} calls, "
              f"{rd['store_ms_per_trace']:.1f} of {rd['ms_per_trace']:.1f} ms in the store; {top}")
        if "tracer" in r:
            tr = r["tracer"][direction]
            print(f"  shared Tracer: median {tr['median_ms']:.2f} ms, p95 {tr['p95_ms']:.2f} ms")
    n = r.get("naive_cypher")
    if n:
        for kind in ("reach", "timed"):
            q = n[kind]
            more = f", gave up after {q['lots']} lots" if q["gave_up"] else ""
            rows = f", {q['mean_rows']:.0f} stations on average" if q["mean_rows"] is not None else ""
            print(f"naive Cypher {kind}: median {q['median_ms']:.0f} ms, p95 {q['p95_ms']:.0f} ms over {q['lots']} lots, "
                  f"{q['timeouts']} timed out at {n['timeout_s']:.0f} s{more}{rows}")
        print(f"  reach plan: {' <- '.join(n['reach_plan'])}")
    else:
        print("naive Cypher: not run (give a bolt:// URL as --store or --naive)")


if __name__ == "__main__":
    sys.exit(main())
