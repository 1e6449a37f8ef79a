"""Benchmark: generate N deliveries with their events, then load them into a fresh store.

Prints the generation and load wall times, input events/rows per second,
records per second, the peak memory (max RSS) of each step and the store size.
Each step runs in its own process so its peak memory is its own.

    python bench/load.py --scale 1000000 [--repeat 1] [--out bench-out]
    python bench/load.py --scale 1000000 --store bolt://127.0.0.1:7687   # Neo4j (make neo4j-start first)
    python bench/load.py --scale 1000000 --per-file    # and where the time goes, file by file
    python bench/load.py --data DIR/data-1000000 --per-file   # files generated before

With a Neo4j store the server is emptied first, and its resident memory (from
the local test server's pid file) is printed after the load.

Machines differ, and a shared one changes speed from hour to hour: a fixed
single-thread Python workload (:func:`probe`, median of 5) is timed before and
after the loads, so that figures of different machines or hours compare as
ratios to it. ``--per-file`` loads the files once more in one process that
times each file: its wall time, the CPU of the thread that parses (the load's
critical path), of the process's other threads (the SQLite writer, the WAL
checkpoint) and of the forked EPCIS workers, summed per kind of file, and the
indexes a bulk load builds after its last file.
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


def probe(repeat: int = 5) -> float:
    """Seconds of a fixed single-thread workload like a loader's (splitting CSV lines, building and hashing
    identifiers, dict look-ups), median of ``repeat``: the machine's speed at the moment, to compare figures of
    different machines (or hours of a shared one) as ratios."""
    import hashlib

    lines = [f"D{i:09d},,SP{i % 7919:08d},ZZ{i:013d},9132{i % 997:014d},OP-{i % 4001:06d},2024-11-21 07:{i % 60:02d},"
             f"{i % 500}.5,kg" for i in range(60_000)]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        seen: dict[str, str] = {}
        for line in lines:
            cells = line.split(",")
            key = f"urn:foodtrace:delivery:{cells[2]}:{cells[3]}:{cells[6].replace(' ', 'T')}"
            seen[key] = hashlib.sha1(key.encode()).hexdigest()[:12] + cells[4].strip().upper()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def input_files(data: Path) -> list[Path]:
    """The files of a generated network that are loaded (not the truth, not the manifest)."""
    return [p for p in data.rglob("*") if p.is_file() and p.parent.name != "truth" and p.name != "manifest.json"]


def per_file(files: list[Path], db: str) -> None:
    """Load ``files`` into the store ``db`` in this process (the loader calls back on its main thread), timing each
    file (see the module's doc); prints a line per file and the sums per kind of file."""
    import resource

    from graph.store import open_store
    from loaders.load import load_files

    def clock() -> tuple[float, float, float, float]:
        """wall, process CPU, this thread's CPU, waited-for children's CPU"""
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (time.perf_counter(), time.process_time(), time.thread_time(),
                children.ru_utime + children.ru_stime)

    #: per kind of file: files, wall, parsing thread CPU, other threads CPU, workers CPU, records
    sums: dict[str, list[float]] = {}
    state: dict[str, tuple[float, float, float, float]] = {}

    def started(path: Path, kind: str) -> None:
        state["file"] = clock()

    def done(outcome) -> None:  # noqa: ANN001 - loaders.load.FileOutcome
        state["last"] = now = clock()
        w, p, t, c = (a - b for a, b in zip(now, state["file"]))
        kind, n = outcome.template or outcome.kind, outcome.stats.total_received
        print(f"  {outcome.path.name:<38} {kind:<20} {w:7.2f} s wall  parse {t:6.2f}  other threads {p - t:6.2f}  "
              f"workers {c:6.2f} s CPU  {n:>9,} records", flush=True)
        acc = sums.setdefault(kind, [0] * 6)
        for k, v in enumerate((1, w, t, p - t, c, n)):
            acc[k] += v

    start = clock()
    with open_store(db) as store:
        load_files(store, files, on_file_start=started, on_file_done=done)
        end = clock()
    total = [a - b for a, b in zip(end, start)]
    tail = [a - b for a, b in zip(end, state.get("last", end))]
    print("per kind of file (sums): files, wall, parsing thread CPU, other threads CPU, workers CPU, records")
    for kind, (n, w, t, o, c, recs) in sorted(sums.items(), key=lambda kv: -kv[1][1]):
        print(f"  {kind:<20} {n:3d} files {w:8.1f} s wall {t:8.1f} {o:8.1f} {c:8.1f} s CPU {recs:>11,} records")
    print(f"  after the last file (a bulk load's indexes, closing): {tail[0]:.1f} s wall, {tail[1]:.1f} s CPU")
    print(f"  whole load: {total[0]:.1f} s wall; CPU: parsing thread {total[2]:.1f} s, other threads "
          f"{total[1] - total[2]:.1f} s, workers {total[3]:.1f} s; {sum(total[1:]) - total[2]:.1f} s in all")


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
    ap.add_argument("--data", type=Path, default=None,
                    help="load these generated files (a data-N folder of an earlier run) instead of generating")
    ap.add_argument("--per-file", action="store_true",
                    help="then load once more in one process, timing each file (embedded store only)")
    ap.add_argument("--per-file-child", nargs=2, metavar=("DATA", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.per_file_child:
        per_file(input_files(Path(args.per_file_child[0])), args.per_file_child[1])
        return 0

    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; probe {probe() * 1000:.0f} ms "
          f"(a fixed single-thread workload, median of 5: figures compare across machines as ratios to it)")
    if args.data:
        data = args.data
    else:
        data = args.out / f"data-{args.scale}"
        if data.exists():
            shutil.rmtree(data)
        wall, peak, code = run(FOODTRACE + ["generate", "--scale", str(args.scale), "--seed", str(args.seed),
                                            "--out", str(data)], args.out / "generate.log")
        if code != 0:
            print(f"generate failed with exit code {code}")
            return 1
    files = input_files(data)
    in_bytes = sum(p.stat().st_size for p in files)
    if not args.data:
        print(f"generate: {args.scale:,} deliveries in {wall:.1f} s, peak RSS {peak:,.0f} MiB, "
              f"{len(files)} files, {in_bytes / 2**20:,.0f} MiB")
    else:
        print(f"data: {len(files)} files, {in_bytes / 2**20:,.0f} MiB from {data}")

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
    if args.per_file and not args.store:
        db = str(args.out / f"load-{args.scale}-per-file.db")
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
        print("per file (one more load into a fresh store, in one process):")
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--per-file-child", str(data), db], cwd=REPO,
                       env={**os.environ, "FOODTRACE_PROGRESS": "false"}, check=False)
    print(f"machine probe after: {probe() * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
