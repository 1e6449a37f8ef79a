"""Benchmark: generate N deliveries with their events, then load them into a fresh store.

Prints the generation and load wall times, input events/rows per second,
records per second, the peak memory (max RSS) of each step and the store size.
Each step runs in its own process so its peak memory is its own.

    python bench/load.py --scale 1000000 [--repeat 1] [--out bench-out]
    python bench/load.py --scale 1000000 --store bolt://127.0.0.1:7687   # Neo4j (make neo4j-start first)

With a Neo4j store the server is emptied first, and its resident memory (from
the local test server's pid file) is printed after the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOODTRACE = [sys.executable, "-c", "from api.cli import main; main()"]


#: CPU seconds (user + system, its worker processes included) of the last command run by :func:`run`
LAST_CPU = [0.0]


def run(cmd: list[str], log: Path) -> tuple[float, float, int]:
    """Run a command with its output in ``log``; return (wall seconds, peak RSS in MiB, exit code).

    Its CPU time (user + system, with the worker processes it waited for) is left in ``LAST_CPU``: on a shared
    machine the wall time depends on the others' load, the CPU time much less."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "FOODTRACE_PROGRESS": "false"})
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 1):
        print(log.read_text(encoding="utf-8")[-3000:])
    return wall, usage.ru_maxrss / 1024, code


def input_files(data: Path) -> list[Path]:
    """The files of a generated network that are loaded (not the truth, not the manifest)."""
    return [p for p in data.rglob("*") if p.is_file() and p.parent.name != "truth" and p.name != "manifest.json"]


def _server_rss() -> float | None:
    """Resident memory of the local Neo4j test server in MiB (from its pid file), if it runs here."""
    pid_file = REPO / ".cache" / "neo4j" / "neo4j.pid"
    try:
        pid = pid_file.read_text().strip()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1, help="load runs (each into a fresh store); median reported")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    ap.add_argument("--store", default=None, help="store URL (default: a fresh SQLite file under --out)")
    args = ap.parse_args()

    data = args.out / f"data-{args.scale}"
    if data.exists():
        shutil.rmtree(data)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    wall, peak, code = run(FOODTRACE + ["generate", "--scale", str(args.scale), "--seed", str(args.seed),
                                        "--out", str(data)], args.out / "generate.log")
    if code != 0:
        print(f"generate failed with exit code {code}")
        return 1
    files = input_files(data)
    in_bytes = sum(p.stat().st_size for p in files)
    print(f"generate: {args.scale:,} deliveries in {wall:.1f} s, peak RSS {peak:,.0f} MiB, "
          f"{len(files)} files, {in_bytes / 2**20:,.0f} MiB")

    walls, peaks, cpus = [], [], []
    counts: dict[str, int] = {}
    size = 0
    for i in range(args.repeat):
        db = args.store or str(args.out / f"load-{args.scale}.db")
        from graph.store import open_store

        if args.store:
            with open_store(db) as s:
                s.clear()
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(db + suffix).unlink(missing_ok=True)
        wall, peak, code = run(FOODTRACE + ["load", *map(str, files), "--store", db,
                                            "--rejects", str(args.out / "bench-rejects.csv")],
                                args.out / f"load-{i + 1}.log")
        if code == 2:
            print(f"load failed with exit code {code}")
            return 1
        walls.append(wall)
        peaks.append(peak)
        cpus.append(LAST_CPU[0])
        t_open = time.perf_counter()
        with open_store(db) as s:
            opened = time.perf_counter() - t_open
            counts = s.counts()
            size = s.size_bytes() if hasattr(s, "size_bytes") else 0
        server = _server_rss() if args.store else None
        print(f"load run {i + 1}: {wall:.1f} s wall, {LAST_CPU[0]:.1f} s CPU (user + system), peak RSS {peak:,.0f} MiB "
              f"(client), exit code {code}; "
              f"store opens in {opened * 1000:.0f} ms"
              + (f"; Neo4j server RSS {server:,.0f} MiB" if server else ""))
    wall = statistics.median(walls)
    events = counts.get("event", 0)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    rows = sum(v for k, v in manifest.get("template_rows", {}).items()) if isinstance(manifest.get("template_rows"), dict) else 0
    records = sum(counts.values())
    load_avg = os.getloadavg()[0]
    print(f"load (median of {len(walls)}): {wall:.1f} s wall, {statistics.median(cpus):.1f} s CPU, "
          f"peak RSS {max(peaks):,.0f} MiB"
          + (f", store {size / 2**20:,.0f} MiB" if size else ""))
    print(f"  machine: 1-minute load average {load_avg:.1f} on {os.cpu_count()} cores at the end (wall times of a "
          f"shared machine are noisy; the CPU time much less)")
    print(f"  EPCIS events {events:,} -> {events / wall:,.0f} events/s over the whole load")
    if rows:
        print(f"  template and announcement rows {rows:,}; input units {(events + rows) / wall:,.0f}/s")
    print(f"  deliveries {counts.get('delivery', 0):,} -> {counts.get('delivery', 0) / wall:,.0f} deliveries/s; "
          f"records {records:,} -> {records / wall:,.0f} records/s")
    if args.store:
        print(f"  target (Neo4j): under 600 s: {'MET' if wall < 600 else 'NOT MET'}")
    else:
        print(f"  target: whole load <= 120 s and < 4096 MiB: "
              f"{'MET' if wall <= 120 and max(peaks) < 4096 else 'NOT MET'}")
    print("counts: " + json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
