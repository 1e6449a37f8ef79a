"""Benchmark: a first load of Neo4j by bulk import — export an embedded store, import it into the local server.

Runs ``foodtrace export neo4j-import`` on the embedded store (default: the one ``make bench BENCH=load`` leaves,
``bench-out/load-1000000.db``), then ``scripts/neo4j/import.sh`` (stop the local server, ``neo4j-admin database
import full``, start, the driver path's constraints and indexes), and prints each step's wall time and peak
memory, then checks that ``foodtrace stats`` and the counts per table are identical on both stores.

    python bench/neo4j_import.py [--store bench-out/load-1000000.db] [--uri bolt://127.0.0.1:7687] [--out bench-out]

The local server's memory comes from the environment of scripts/neo4j/start.sh (NEO4J_HEAP, NEO4J_PAGECACHE); the
page cache defaults here to 4g, as for the 1M-delivery load benchmark (the 4.5 GB database the constraints and
indexes are built over; 512m, start.sh's default, made that step 59 instead of 51 s on the busy machine).
The server's database is REPLACED by the import.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOODTRACE = [sys.executable, "-c", "from api.cli import main; main()"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, the largest peak RSS of any command run so far in MiB, output)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    peak = os_children_peak()
    if proc.returncode != 0:
        print(out[-3000:])
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed with exit code {proc.returncode}")
    return wall, peak, out


def os_children_peak() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=str(REPO / "bench-out" / "load-1000000.db"))
    ap.add_argument("--uri", default=os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    args = ap.parse_args()
    if not Path(args.store).exists():
        print(f"{args.store} does not exist: run `make bench BENCH=load` first")
        return 2
    folder = args.out / "neo4j-import"
    env = {"NEO4J_PAGECACHE": "4g", **os.environ, "NEO4J_URI": args.uri, "FOODTRACE_PROGRESS": "false"}
    print(f"machine: {os.cpu_count()} cores; load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    wall_x, peak_x, out = timed(FOODTRACE + ["export", "neo4j-import", str(folder), "--store", args.store], env)
    print(f"export: {wall_x:.1f} s, peak RSS {peak_x:,.0f} MiB (the store file mapped in included); "
          + out.strip().splitlines()[-1])
    wall_i, peak_i, out = timed(["bash", str(REPO / "scripts" / "neo4j" / "import.sh"), str(folder)], env)
    steps = {k: int(v) / 1000 for k, v in re.findall(r"^(import|start|constraints and indexes online): (\d+) ms",
                                                        out, re.M)}
    admin = re.search(r"Peak memory usage: ([\d.]+\s*\w+)", out)
    print(f"import.sh: {wall_i:.1f} s (neo4j-admin import {steps.get('import', 0):.1f} s, its peak memory "
          f"{admin.group(1) if admin else '?'}; start "
          f"{steps.get('start', 0):.1f} s, constraints and indexes {steps.get('constraints and indexes online', 0):.1f} s)")
    total = wall_x + wall_i
    print(f"bulk import in all (export + import): {total:.1f} s; target <= 180 s: {'MET' if total <= 180 else 'NOT MET'}; "
          f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    stats = []
    for url in (args.store, args.uri):
        _, _, out = timed(FOODTRACE + ["stats", "--format", "json", "--store", url], env)
        stats.append(json.loads(out))
    print("foodtrace stats: " + ("identical" if stats[0] == stats[1] else "DIFFERENT"))
    from graph.store import open_store

    with open_store(args.store) as a, open_store(args.uri) as b:
        same = a.counts() == b.counts()
        print(f"counts per table: {'identical' if same else 'DIFFERENT'} ({sum(a.counts().values()):,} records)")
    return 0 if stats[0] == stats[1] and same else 1


if __name__ == "__main__":
    sys.exit(main())
