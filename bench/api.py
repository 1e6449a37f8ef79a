"""QR lookup throughput and latency: `foodtrace serve` under wrk on loopback.

Picks random lots of the 1,000,000-delivery embedded store (seeded; all of them by default): lots
with a GTIN are looked up by their Digital Link path ``/01/{gtin}/10/{lot}``, others by their local
trace code ``/t/{code}``. Fills the public read model first (``foodtrace public-cache warm``: the
stored answer of every lot and trace code; timed, and quick when they are already current; the
service database is kept in bench-out/api-service.db), unless ``--cold`` (a fresh service database:
every lookup computed live). Starts the service with ``--workers`` processes, warms it up, then runs
wrk (Debian's package, installed by scripts/apt-ensure.sh when missing) ``--runs`` times per
variant and prints requests/s and p50/p90/p99 latency (wrk's --latency figures), median over
the runs. Variants: ``json`` (Accept: application/json, an app), ``html`` (a phone's browser).
Any non-2xx answer makes the run fail (a benchmark of 404s measures nothing).

    python bench/api.py [--store bench-out/load-1000000.db] [--workers 2] [--connections 16]
                        [--duration 20] [--runs 3] [--variants json,html] [--lots 0 (all)] [--cold]

Target (issue 6): at least 1,500 lookups/s with p99 under 50 ms on this 2-core machine.
Writes bench-out/api.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out"

_LUA = r"""
local paths = {}
local accept = os.getenv("FT_ACCEPT")
for line in io.lines(os.getenv("FT_PATHS")) do paths[#paths + 1] = line end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(os.time() + (seed or 0) * 7919)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)], {["Accept"] = accept, ["Accept-Language"] = "zh-CN"})
end
"""

ACCEPT = {"json": "application/json", "html": "text/html,application/xhtml+xml", "jsonld": "application/ld+json"}


def pick_paths(db: Path, n: int, seed: int) -> list[str]:
    """Public lookup paths of random lots: Digital Link where the lot has a GTIN, else its trace code."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        lots = [r[0] for r in con.execute("SELECT id FROM lot")]
        codes = dict(con.execute("SELECT lot_id, code FROM trace_code"))
    finally:
        con.close()
    rng = random.Random(seed)
    rng.shuffle(lots)
    paths = []
    dl = re.compile(r"^https://id\.gs1\.org(/01/\d{14}/10/[^/]+)$")
    for lot in lots:
        m = dl.match(lot)
        if m:
            paths.append(m.group(1))
        elif lot in codes:
            paths.append("/t/" + quote(codes[lot], safe=""))
        if n and len(paths) >= n:
            break
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the service exited during start-up")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the service did not start")


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 900, in_a_row: int = 12) -> float:
    """Wait until ``/readyz`` answers 200 ``in_a_row`` times (every worker process: its trace index built, its
    first school-alert check made), so that the start's background work is not measured; the seconds it took."""
    t0 = time.monotonic()
    ok = 0
    while ok < in_a_row:
        if proc.poll() is not None:
            raise SystemExit("the service exited during start-up")
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"the service was not ready after {timeout:.0f} s")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=5):
                ok += 1
                continue
        except OSError:  # 503 (an HTTPError) while starting
            ok = 0
        time.sleep(0.5)
    return time.monotonic() - t0


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> dict[str, float]:
    res: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = _ms(m.group(1)) if m else float("nan")
    res["requests"] = float(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non_2xx"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = float(sum(int(x) for x in m.groups())) if m else 0.0
    return res


def run_wrk(url: str, lua: Path, paths: Path, accept: str, *, threads: int, connections: int,
            duration: int) -> dict[str, float]:
    env = {**os.environ, "FT_PATHS": str(paths), "FT_ACCEPT": accept}
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
           "-s", str(lua), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", default=str(OUT / "load-1000000.db"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads")
    ap.add_argument("--connections", type=int, default=16,
                    help="open connections (wrk is closed-loop: latency ~ connections / throughput)")
    ap.add_argument("--duration", type=int, default=20, help="seconds per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--variants", default="json,html")
    ap.add_argument("--lots", type=int, default=0, help="lookup paths to draw from (0: every lot)")
    ap.add_argument("--service-db", default=str(OUT / "api-service.db"))
    ap.add_argument("--cold", action="store_true", help="no stored answers: every lookup computed live")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="default bench-out/api.json (api-cold.json with --cold)")
    args = ap.parse_args()

    store = Path(args.store)
    if not store.exists():
        print(f"no store at {store}: run `make bench BENCH=load` first (it builds the 1,000,000-delivery store)",
              file=sys.stderr)
        return 2
    if shutil.which("wrk") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "apt-ensure.sh"), "wrk"], check=True)

    tmp = Path(tempfile.mkdtemp(prefix="ft-bench-api-"))
    paths = pick_paths(store, args.lots, args.seed)
    (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
    (tmp / "lookup.lua").write_text(_LUA)
    n_dl = sum(p.startswith("/01/") for p in paths)
    print(f"{len(paths):,} lookup paths ({n_dl:,} Digital Link, {len(paths) - n_dl:,} trace codes) from {store}")

    service_db = str(tmp / "service.db") if args.cold else args.service_db
    if not args.cold:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "api.cli", "public-cache", "warm", "--store", str(store),
                        "--service-db", service_db, "--processes", str(max(1, os.cpu_count() or 1))], check=True,
                       cwd=ROOT)
        print(f"public read model current after {time.perf_counter() - t0:.0f} s")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "serve.log", "wb")
    # wrk is one client address: the public rate limit (FOODTRACE_PUBLIC_RATE) is switched off
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--store", str(store), "--service-db",
                             service_db, "--port", str(port), "--workers", str(args.workers)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                            env={**os.environ, "FOODTRACE_PUBLIC_RATE": "0"})
    results: dict[str, object] = {"store": str(store), "cold": args.cold, "workers": args.workers, "connections": args.connections,
                                  "threads": args.threads, "duration_s": args.duration, "runs": args.runs,
                                  "cpus": os.cpu_count(), "lots": len(paths), "variants": {}}
    try:
        wait_up(url, proc)
        ready = wait_ready(url, proc)
        results["ready_after_s"] = round(ready, 1)
        print(f"service ready after {ready:.1f} s (trace index built, first school-alert check made, in every worker)",
              flush=True)
        for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
            accept = ACCEPT[variant]
            run_wrk(url, tmp / "lookup.lua", tmp / "paths.txt", accept, threads=args.threads,
                    connections=args.connections, duration=5)  # warm-up: page cache, connections, imports
            runs = []
            for i in range(args.runs):
                r = run_wrk(url, tmp / "lookup.lua", tmp / "paths.txt", accept, threads=args.threads,
                            connections=args.connections, duration=args.duration)
                runs.append(r)
                print(f"  {variant} run {i + 1}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, "
                      f"p99 {r['p99_ms']:.1f} ms, non-2xx {r['non_2xx']:.0f}", flush=True)
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            results["variants"][variant] = {"median": med, "runs": runs}  # type: ignore[index]
            ok = med["rps"] >= 1500 and med["p99_ms"] < 50
            print(f"{variant}: median {med['rps']:,.0f} lookups/s, p50 {med['p50_ms']:.1f} ms, "
                  f"p90 {med['p90_ms']:.1f} ms, p99 {med['p99_ms']:.1f} ms — target 1,500/s & p99 < 50 ms: "
                  f"{'met' if ok else 'NOT met'}")
            if any(r["non_2xx"] or r["socket_errors"] for r in runs):
                print(f"{variant}: some answers were not 2xx or sockets failed: see {tmp / 'serve.log'}",
                      file=sys.stderr)
                return 1
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    out = Path(args.out or OUT / ("api-cold.json" if args.cold else "api.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
