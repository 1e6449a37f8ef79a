"""Run the benchmarks: `make bench` runs all, `make bench BENCH=name` one of them.

Each benchmark is a script in this folder that prints its figures. Options for a
benchmark go in BENCH_ARGS, e.g. `make bench BENCH=load BENCH_ARGS="--scale 100000"`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "load": "load.py",  # generate + load the 1,000,000-delivery network into the embedded store
    "neo4j-load": "neo4j_load.py",
    "neo4j-import": "neo4j_import.py",  # export the 1M embedded store and bulk-import it into the local Neo4j server  # write N synthetic deliveries into Neo4j (needs `make neo4j-start`)
    "trace": "trace.py",  # 1,000 lot traces down and up vs station-level BFS (and naive Cypher with a bolt:// store)
    "trace_truth": "trace_truth.py",  # downstream traces vs the planted truth: recall / precision per lot, 5 networks
    "outbreak": "outbreak.py",  # outbreak source ranking on the 1M network's planted lots (one upstream trace per case)
    "risk": "risk.py",  # features, grades and failure-risk scores for every operator of the 1,000,000-delivery network
    "risk-real": "risk_real.py",  # the planned-sample model on ../shared/realdata, scored as issue 17 is judged
    "schools": "schools.py",  # school alerts of the 1M city against the planted truth; load-to-alert latency
    "indicators": "indicators.py",  # demonstration-city indicators of the loaded 1M city against the generator's truth
    "console": "console.py",  # server time of each console page on the 1M store (cold, median, p90; target 200 ms)
    "api": "api.py",  # QR lookups of random lots through `foodtrace serve` under wrk (needs the 1M store)
    "scale": "scale.py",  # every user step at 10,000,000 deliveries (generate, load, stats, ... export rdf): wall, CPU, peak memory
    "soak": "soak.py",  # 30 min of lookups, traces and captures at once on a copy of the 1M store: errors, RSS, p99
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    extra = shlex.split(os.environ.get("BENCH_ARGS", ""))
    code = 0
    for name in names:
        print(f"=== bench {name}", flush=True)
        code = max(code, subprocess.call([sys.executable, str(HERE / BENCHMARKS[name]), *extra]))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
