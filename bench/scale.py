"""Benchmark: everything a user runs, at the size of a province-year (10,000,000 deliveries by default).

Each step runs in its own process (its peak memory is its own: the maximum resident size of the step
and its worker processes) and prints its wall time, CPU time and peak memory:

1. ``generate --scale N`` (skipped when ``--data`` already holds a generated network of that size);
2. ``load`` of every generated file into a fresh embedded store (``--store``, replaced when it exists;
   leave ``load`` out of ``--steps`` to run the other steps on a store loaded before);
3. ``stats``; 4. ``chain-check`` (JSON); 5. ``trace down`` and ``trace up`` of a planted lot
   (the first of the truth) and of a random lot, and ``trace down --fixed-windows`` of each: the first trace reads
   every delivery's pass-through to learn the holding windows and keeps them in a fresh service database (what the
   first trace after a load costs), the others read them back (what every later one costs); 6. ``public-cache warm`` (the public lookup's read
   model) of the lots delivered in the last 30 days (``--lookup-days``: what shoppers still scan; the
   others are computed at their first lookup) on 2 processes; 7. ``risk grade``; 8. ``report consult``
   over the last quarter of the data;
9. ``export rdf`` (streamed Turtle, counted through a pipe rather than kept on disk); 10. with ``--neo4j``, ``export neo4j-import`` and
   ``scripts/neo4j/import.sh`` into the local server (which REPLACES its database), then ``stats`` on it.

The figures go to the terminal and to ``OUT/scale-N.json``. A step that fails is reported with its
exit code and the end of its log, and the next steps still run.

    python bench/scale.py [--scale 10000000] [--out /big/disk] [--steps load,stats,...] [--neo4j]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ontology.times import day_of  # noqa: E402  (the repository's own time rules)

FOODTRACE = [sys.executable, "-c", "from api.cli import main; main()"]
STEPS = ("generate", "load", "stats", "chain-check", "trace", "lookup-fill", "risk-grade", "report-consult",
         "export-rdf", "neo4j-import")


def run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` with its output in ``log``: wall and CPU seconds, peak RSS (MiB) and exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "FOODTRACE_PROGRESS": "false", **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
    return {"wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mib": round(usage.ru_maxrss / 1024), "exit": os.waitstatus_to_exitcode(status),
            "log": str(log)}


def input_files(data: Path) -> list[Path]:
    """The files of a generated network that are loaded (not the truth, not the manifest)."""
    return sorted(p for p in data.rglob("*") if p.is_file() and p.parent.name != "truth" and p.name != "manifest.json")


def _lots(store: str, data: Path, seed: int) -> list[str]:
    """A planted lot of the truth and a random delivered lot of the store."""
    lots = []
    planted = data / "truth" / "planted.json"
    if planted.exists():
        first = json.loads(planted.read_text(encoding="utf-8")).get("planted") or []
        if first:
            lots.append(first[0]["lot"])
    if store.endswith(".db"):
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            (n,) = db.execute("SELECT max(rowid) FROM delivery").fetchone()
            rng = random.Random(seed)
            for _ in range(20):
                row = db.execute("SELECT lot_id FROM delivery WHERE rowid = ?", (rng.randint(1, n or 1),)).fetchone()
                if row and row[0]:
                    lots.append(row[0])
                    break
    return lots


def _last_day(store: str, table: str, column: str) -> str | None:
    """The Beijing day of the latest ``column`` of ``table`` in an embedded store (None: none, or no file)."""
    if not store.endswith(".db"):
        return None
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        (last,) = db.execute(f"SELECT max({column}) FROM {table}").fetchone()  # names of this script, not input
    return day_of(last) if last else None


def _recent(store: str, days: int) -> str | None:
    """The first day of the last ``days`` days of deliveries the store holds (None: every lot)."""
    last = _last_day(store, "delivery", "time") if days > 0 else None
    return (dt.date.fromisoformat(last) - dt.timedelta(days=days - 1)).isoformat() if last else None


def _last_line(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines() if log.exists() else []
    return lines[-1][:300] if lines else ""


def _period(store: str) -> tuple[str, str]:
    """The last quarter (91 days) of samples the store holds."""
    last = _last_day(store, "sample", "sampled_at")
    end = dt.date.fromisoformat(last) if last else dt.date.today()
    return (end - dt.timedelta(days=90)).isoformat(), end.isoformat()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=REPO / "bench-out", help="folder for data, store and logs")
    ap.add_argument("--data", type=Path, default=None, help="generated network (default OUT/data-N)")
    ap.add_argument("--store", default=None, help="embedded store file (default OUT/scale-N.db)")
    ap.add_argument("--steps", default=",".join(s for s in STEPS if s != "neo4j-import"),
                    help=f"comma-separated steps among {', '.join(STEPS)}")
    ap.add_argument("--neo4j", action="store_true", help="also export and bulk-import into the local Neo4j")
    ap.add_argument("--lookup-days", type=int, default=30,
                    help="lookup-fill: the lots delivered in the last N days (`public-cache warm --since`; 0: all)")
    ap.add_argument("--lookup-processes", type=int, default=2, help="lookup-fill: `public-cache warm --processes`")
    args = ap.parse_args()
    steps = [s.strip() for s in args.steps.split(",") if s.strip()] + (["neo4j-import"] if args.neo4j else [])
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        print(f"unknown step(s) {unknown}; known: {STEPS}", file=sys.stderr)
        return 2
    out = args.out
    data = args.data or out / f"data-{args.scale}"
    store = args.store or str(out / f"scale-{args.scale}.db")
    logs = out / f"scale-{args.scale}-logs"
    results: dict[str, dict] = {}
    report_path = out / f"scale-{args.scale}.json"
    if report_path.exists():
        results = json.loads(report_path.read_text(encoding="utf-8")).get("steps", {})
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; scale {args.scale:,}; store {store}")

    def record(name: str, result: dict) -> None:
        results[name] = result
        line = (f"{name:<34} {result['wall_s']:>8.1f} s wall {result['cpu_s']:>8.1f} s CPU "
                f"{result['peak_mib']:>7,} MiB peak  exit {result['exit']}")
        print(line + "".join(f"  {k}={v}" for k, v in result.items()
                             if k not in ("wall_s", "cpu_s", "peak_mib", "exit", "log")), flush=True)
        if result["exit"] not in (0, 1):
            print(Path(result["log"]).read_text(encoding="utf-8", errors="replace")[-2000:], flush=True)
        report_path.write_text(json.dumps({"scale": args.scale, "store": store, "steps": results}, indent=1),
                               encoding="utf-8")

    if "generate" in steps and not (data / "manifest.json").exists():
        if data.exists():
            shutil.rmtree(data)
        record("generate", run(FOODTRACE + ["generate", "--scale", str(args.scale), "--seed", str(args.seed),
                                            "--out", str(data)], logs / "generate.log"))
    if "load" in steps:
        for suffix in ("", "-wal", "-shm"):
            Path(store + suffix).unlink(missing_ok=True)
        files = input_files(data)
        r = run(FOODTRACE + ["load", *map(str, files), "--store", store, "--rejects", str(logs / "rejects.csv")],
                logs / "load.log")
        r["files"] = len(files)
        r["input_mib"] = round(sum(p.stat().st_size for p in files) / 2**20)
        r["store_mib"] = round(Path(store).stat().st_size / 2**20) if Path(store).exists() else 0
        record("load", r)
    if "stats" in steps:
        record("stats", run(FOODTRACE + ["stats", "--store", store], logs / "stats.log"))
    if "chain-check" in steps:
        record("chain-check", run(FOODTRACE + ["chain-check", "--store", store, "--format", "json", "--out",
                                               str(logs / "chain.json")], logs / "chain-check.log"))
    if "trace" in steps:
        # the first trace reads every delivery's pass-through and keeps them in a fresh service database; the
        # others read them back from there; down with the hand-set windows too (no pass-throughs at all)
        kept = out / f"scale-{args.scale}-trace-service.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(kept) + suffix).unlink(missing_ok=True)
        first = True
        for i, lot in enumerate(_lots(store, data, args.seed)):
            for direction, fixed in (("down", False), ("up", False), ("down", True)):
                name = f"trace-{direction}-{'planted' if i == 0 else 'random'}" + ("-fixed-windows" if fixed else "")
                r = run(FOODTRACE + ["trace", direction, lot, "--store", store, "--format", "json"]
                        + (["--fixed-windows"] if fixed else []), logs / f"{name}.log",
                        env={"FOODTRACE_SERVICE_DB": str(kept)})
                r["lot"] = lot
                r["windows"] = "fixed" if fixed else "read from the store and kept" if first else "kept"
                first = first and fixed
                record(name, r)
    if "lookup-fill" in steps:
        service = out / f"scale-{args.scale}-service.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(service) + suffix).unlink(missing_ok=True)
        since = _recent(store, args.lookup_days)
        r = run(FOODTRACE + ["public-cache", "warm", "--store", store, "--service-db", str(service),
                             "--processes", str(args.lookup_processes)] + (["--since", since] if since else []),
                logs / "lookup-fill.log")
        r["since"] = since or "all"
        r["summary"] = _last_line(Path(r["log"]))
        record("lookup-fill", r)
    if "risk-grade" in steps:
        record("risk-grade", run(FOODTRACE + ["risk", "grade", "--store", store], logs / "risk-grade.log"))
    if "report-consult" in steps:
        start, end = _period(store)
        r = run(FOODTRACE + ["report", "consult", "--from", start, "--to", end, "--store", store,
                             "--out", str(out / f"scale-{args.scale}-consult.html")], logs / "report-consult.log")
        r["period"] = f"{start}..{end}"
        record("report-consult", r)
    if "export-rdf" in steps:
        # the Turtle goes to standard output and is counted, not kept (10M: about 17 GB the disk may not have)
        command = " ".join(shlex.quote(c) for c in FOODTRACE + ["export", "rdf", "--store", store])
        counted = logs / "export-rdf.bytes"
        r = run(["bash", "-o", "pipefail", "-c", f"{command} | wc -c > {shlex.quote(str(counted))}"],
                logs / "export-rdf.log")
        r["ttl_mib"] = round(int(counted.read_text().strip() or 0) / 2**20) if counted.exists() else 0
        record("export-rdf", r)
    if "neo4j-import" in steps:
        folder = out / f"scale-{args.scale}-neo4j-import"
        if folder.exists():
            shutil.rmtree(folder)
        record("neo4j-export", run(FOODTRACE + ["export", "neo4j-import", str(folder), "--store", store, "--gzip"],
                                   logs / "neo4j-export.log"))
        record("neo4j-import", run(["bash", str(REPO / "scripts" / "neo4j" / "import.sh"), str(folder)],
                                   logs / "neo4j-import.log"))
        shutil.rmtree(folder, ignore_errors=True)
        uri = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
        record("neo4j-stats", run(FOODTRACE + ["stats", "--store", uri], logs / "neo4j-stats.log"))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "log"} for k, v in results.items()},
                     ensure_ascii=False))
    return 0 if all(r["exit"] in (0, 1) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
