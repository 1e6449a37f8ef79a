"""Soak: public lookups, staff traces and EPCIS capture at once against the 1,000,000-delivery store.

A bounded local load generator (issue 18): every kind of request runs on its own threads at a fixed pace
(a request that takes longer than its slot delays the next one: the load never piles up), against
``foodtrace serve --workers N`` over a copy of the 1M store:

* ``lookup_json`` / ``lookup_html``: public QR lookups of random lots (Digital Link, or the trace code);
* ``trace``: staff traces (``GET /trace/down`` and ``/trace/up``, an investigator's key) of random lots;
* ``capture``: an EPCIS document of ``--capture-events`` new shipping events every ``--capture-every`` seconds
  (``POST /capture``, an admin key), its job followed to the end (``capture_job`` is the time from acceptance
  to the job's success);
* ``fresh``: after each capture, a public lookup of one lot the document just shipped for the second time
  (the lot was looked up before the capture): the answer must show the new delivery — a stored answer that
  did not is counted stale (the read model's bound is none: an answer is current as of its request).

Every ``--sample-every`` seconds the resident size (VmRSS) of the supervisor and of each worker process is
read from /proc, and every minute the size of the store's change log (which the service prunes). Prints,
per kind: requests, server errors (5xx), other failures, p50/p90/p99/max latency; the RSS over time; the
change log; stale answers. Writes bench-out/soak.json.

    python bench/soak.py [--store bench-out/soak-1000000.db] [--duration 1800] [--workers 2]
                         [--lookups 20] [--pages 5] [--traces 0.5] [--capture-every 10] [--capture-events 200]

The store is changed by the captures: run it on a copy (``cp bench-out/load-1000000.db ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out"
sys.path.insert(0, str(ROOT))

from bench.api import free_port, pick_paths, wait_up  # noqa: E402


class Stats:
    """Latencies and outcomes per kind of request (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lat: dict[str, list[float]] = {}
        self.codes: dict[str, dict[str, int]] = {}
        self.failures: dict[str, list[str]] = {}

    def add(self, kind: str, ms: float, code: int | str) -> None:
        with self.lock:
            self.lat.setdefault(kind, []).append(ms)
            c = self.codes.setdefault(kind, {})
            c[str(code)] = c.get(str(code), 0) + 1

    def fail(self, kind: str, why: str) -> None:
        with self.lock:
            self.failures.setdefault(kind, []).append(why)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for kind, lat in sorted(self.lat.items()):
            s = sorted(lat)
            q = lambda p: s[min(len(s) - 1, int(p / 100 * len(s)))]  # noqa: E731
            codes = self.codes[kind]
            out[kind] = {"requests": len(s), "server_errors": sum(n for c, n in codes.items() if c.startswith("5")),
                         "other_failures": sum(n for c, n in codes.items() if not c.startswith(("2", "5"))),
                         "p50_ms": q(50), "p90_ms": q(90), "p99_ms": q(99), "max_ms": s[-1], "codes": codes}
        return out


def request(url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None,
            timeout: float = 120) -> tuple[int, bytes, float]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
            return r.status, data, (time.perf_counter() - t0) * 1000
    except urllib.error.HTTPError as e:
        return e.code, e.read(), (time.perf_counter() - t0) * 1000
    except OSError as e:
        return -1, str(e).encode(), (time.perf_counter() - t0) * 1000


def paced(stop: threading.Event, interval: float, fn, rng: random.Random) -> None:
    """Call ``fn`` every ``interval`` seconds (a late call delays the next: bounded load) until ``stop``."""
    nxt = time.monotonic() + rng.uniform(0, interval)
    while not stop.is_set():
        delay = nxt - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        fn()
        nxt = max(nxt + interval, time.monotonic())


def memory_kb(pid: int) -> dict[str, int] | None:
    """VmRSS and its parts: RssAnon (the process's own heap: what a leak grows) and RssFile (pages of mapped
    files: the store is read through mmap, so the pages a worker touched count here; the kernel drops them
    under pressure)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1])
    except OSError:
        return None
    return out


def _role(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    return "tracker" if "resource_tracker" in cmd else "worker"


def children(pid: int) -> list[int]:
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                stat = Path(f"/proc/{e}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(e))
    return out


def _document(n: int, tag: str, lots: list[tuple[str, str]], senders: list[str], receivers: list[str],
              rng: random.Random) -> dict:
    """n shipping events: the first ships one of ``lots`` again (the freshness probe), the rest new lots."""
    events = []
    for i in range(n):
        epc = lots[0][1] if i == 0 else f"https://id.gs1.org/01/06901234567892/10/SOAK{tag}-{i}"
        events.append({"type": "ObjectEvent", "eventTime": "2026-12-01T08:00:00+08:00",
                       "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "shipping",
                       "disposition": "in_transit", "quantityList": [{"epcClass": epc, "quantity": 5, "uom": "KGM"}],
                       "bizTransactionList": [{"type": "inv", "bizTransaction": f"urn:foodtrace:bt:soak:{tag}-{i}"}],
                       "sourceList": [{"type": "location", "source": rng.choice(senders)}],
                       "destinationList": [{"type": "location", "destination": rng.choice(receivers)}]})
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-12-01T09:00:00+08:00", "epcisBody": {"eventList": events}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=str(OUT / "soak-1000000.db"))
    ap.add_argument("--service-db", default=str(OUT / "soak-service.db"))
    ap.add_argument("--duration", type=float, default=1800)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lookups", type=float, default=20, help="public JSON lookups per second")
    ap.add_argument("--pages", type=float, default=5, help="public HTML pages per second")
    ap.add_argument("--traces", type=float, default=0.5, help="staff traces per second")
    ap.add_argument("--capture-every", type=float, default=10)
    ap.add_argument("--capture-events", type=int, default=200)
    ap.add_argument("--sample-every", type=float, default=10)
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()

    store = Path(args.store)
    if not store.exists():
        raise SystemExit(f"{store} not found: copy the 1M store there (cp bench-out/load-1000000.db {store})")
    from api.service.servicedb import ServiceDB

    Path(args.service_db).unlink(missing_ok=True)
    db = ServiceDB(args.service_db)
    investigator = db.create_key("investigator", name="soak-trace")[1]
    admin = db.create_key("admin", name="soak-capture")[1]
    db.close()
    rng = random.Random(args.seed)
    paths = pick_paths(store, 20000, args.seed)
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    # lots with a Digital Link (its URI is a valid EPCIS epcClass), shipped again by each capture (the probe)
    probes = [(r[0], r[0]) for r in con.execute("SELECT id FROM lot WHERE id LIKE 'https://id.gs1.org/01/%' "
                                                 "AND id NOT LIKE '%\\%%' ESCAPE '\\' LIMIT 50000")]
    rng.shuffle(probes)
    glns = [r[0] for r in con.execute("SELECT id FROM operator WHERE id LIKE 'https://id.gs1.org/414/%' "
                                      "AND kind IN ('Slaughterhouse', 'Producer', 'WholesaleMarket', 'Distributor')")]
    trace_ids = [r[0] for r in con.execute("SELECT lot_id FROM delivery ORDER BY random() LIMIT 5000")]
    con.close()
    print(f"soak: {len(paths)} lookup paths, {len(probes)} probe lots, {len(glns)} locations, {args.duration:.0f} s",
          flush=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(OUT / "soak-serve.log", "wb")
    env = {**os.environ, "FOODTRACE_PUBLIC_RATE": "0", "FOODTRACE_CAPTURE_LIMIT": str(max(5000, args.capture_events))}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--store", str(store), "--service-db",
                             args.service_db, "--port", str(port), "--workers", str(args.workers)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True)
    stats = Stats()
    stop = threading.Event()
    samples: list[dict] = []
    change_log: list[dict] = []
    fresh = {"checked": 0, "stale": 0}
    try:
        wait_up(url, proc)
        t_start = time.monotonic()

        def lookup(kind: str, accept: str) -> None:
            path = rng.choice(paths)
            code, body, ms = request(url + path, headers={"Accept": accept})
            stats.add(kind, ms, code)
            if code >= 500 or code < 0:
                stats.fail(kind, f"{code} {path}: {body[:200]!r}")

        def trace() -> None:
            direction = rng.choice(["down", "up"])
            lot = rng.choice(trace_ids)
            code, body, ms = request(f"{url}/trace/{direction}?id={quote(lot, safe='')}",
                                     headers={"Authorization": f"Bearer {investigator}"}, timeout=300)
            stats.add("trace", ms, code)
            if code >= 500 or code < 0:
                stats.fail("trace", f"{code} {lot}: {body[:200]!r}")

        n_capture = [0]

        def capture() -> None:
            n_capture[0] += 1
            lot, epc = probes[n_capture[0] % len(probes)]
            m = re.match(r"^https://id\.gs1\.org(/01/\d{14}/10/.+)$", lot)
            dl = m.group(1) if m else None
            before = None
            if dl:
                code, body, _ = request(url + dl, headers={"Accept": "application/json"})
                if code == 200:
                    before = json.loads(body)
            doc = _document(args.capture_events, f"{args.seed}-{n_capture[0]}", [(lot, epc)], glns, glns, rng)
            hdr = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json", "GS1-EPCIS-Version": "2.0.0"}
            code, body, ms = request(url + "/capture", method="POST", headers=hdr, body=json.dumps(doc).encode())
            stats.add("capture", ms, code)
            if code != 202:
                stats.fail("capture", f"{code}: {body[:300]!r}")
                return
            job = json.loads(body)["captureID"]
            t0 = time.perf_counter()
            while True:
                c, b, _ = request(f"{url}/capture/{job}", headers={"Authorization": f"Bearer {admin}"})
                state = json.loads(b) if c == 200 else {}
                if state.get("running") is False or state.get("status") in ("succeeded", "failed"):
                    break
                if time.perf_counter() - t0 > 300:
                    stats.fail("capture_job", f"job {job} not done after 300 s")
                    return
                time.sleep(0.2)
            ok = state.get("success", state.get("status") == "succeeded")
            stats.add("capture_job", (time.perf_counter() - t0) * 1000, 200 if ok else 500)
            if not ok:
                stats.fail("capture_job", json.dumps(state, ensure_ascii=False)[:500])
                return
            if dl and before is not None:
                code, body, ms = request(url + dl, headers={"Accept": "application/json"})
                stats.add("fresh", ms, code)
                after = json.loads(body) if code == 200 else {}
                shown = lambda d: len(d.get("chain", [])) + d.get("sold_on", {}).get("deliveries", 0)  # noqa: E731
                fresh["checked"] += 1
                if shown(after) <= shown(before):
                    fresh["stale"] += 1
                    stats.fail("fresh", f"{dl}: {shown(before)} deliveries before, {shown(after)} after the capture")

        def sampler() -> None:
            now = round(time.monotonic() - t_start, 1)
            workers = [p for p in sorted(children(proc.pid)) if _role(p) == "worker"]
            procs = {"supervisor": proc.pid, **{f"worker-{i}": p for i, p in enumerate(workers)}}
            samples.append({"t": now, **{k: memory_kb(p) for k, p in procs.items()}})

        last_log = [0.0]

        def log_sampler() -> None:
            if time.monotonic() - last_log[0] < 60:
                return
            last_log[0] = time.monotonic()
            c = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
            try:
                rows, lo, hi = c.execute("SELECT count(*), min(seq), max(seq) FROM _change_log").fetchone()
                versions = c.execute("SELECT count(*) FROM _version").fetchone()[0]
            finally:
                c.close()
            change_log.append({"t": round(time.monotonic() - t_start, 1), "rows": rows, "min_seq": lo, "max_seq": hi,
                               "versions": versions})

        jobs = []
        for _ in range(max(1, int(args.lookups // 10))):
            jobs.append((1.0 / (args.lookups / max(1, int(args.lookups // 10))), lambda: lookup("lookup_json",
                                                                                             "application/json")))
        if args.pages:
            jobs.append((1.0 / args.pages, lambda: lookup("lookup_html", "text/html")))
        if args.traces:
            jobs += [(2.0 / args.traces, trace), (2.0 / args.traces, trace)]
        jobs.append((args.capture_every, capture))
        jobs.append((args.sample_every, sampler))
        jobs.append((5.0, log_sampler))
        threads = [threading.Thread(target=paced, args=(stop, iv, fn, random.Random(args.seed + k)), daemon=True)
                   for k, (iv, fn) in enumerate(jobs)]
        for t in threads:
            t.start()
        end = time.monotonic() + args.duration
        while time.monotonic() < end:
            if proc.poll() is not None:
                stats.fail("server", f"the server exited with {proc.returncode}")
                break
            time.sleep(1)
            elapsed = time.monotonic() - t_start
            if int(elapsed) % 300 == 0:
                s = stats.summary()
                print(f"  {elapsed / 60:.0f} min: " + ", ".join(f"{k} {v['requests']}" for k, v in s.items()),
                      flush=True)
                time.sleep(1)
        stop.set()
        for t in threads:
            t.join(timeout=310)
        sampler()
        last_log[0] = 0
        log_sampler()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    summary = stats.summary()
    print(f"\n{'kind':<12} {'requests':>9} {'5xx':>5} {'other':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>9} {'max ms':>9}")
    for kind, v in summary.items():
        print(f"{kind:<12} {v['requests']:>9} {v['server_errors']:>5} {v['other_failures']:>6} {v['p50_ms']:>8.1f} "
              f"{v['p90_ms']:>8.1f} {v['p99_ms']:>9.1f} {v['max_ms']:>9.1f}")
    print("\nresident size over time, MiB (VmRSS = RssAnon, the heap, + RssFile, the store's mapped pages):")
    keys = [k for k in samples[0] if k != "t"] if samples else []
    step = max(1, len(samples) // 12)
    for s in samples[::step] + ([samples[-1]] if samples and (len(samples) - 1) % step else []):
        cells = []
        for k in keys:
            m = s.get(k) or {}
            cells.append(f"{k} {m.get('VmRSS', 0) / 1024:7.1f} (anon {m.get('RssAnon', 0) / 1024:6.1f})")
        print(f"  {s['t'] / 60:6.1f} min  " + "  ".join(cells))
    print("\nchange log (rows, lowest and highest seq) and versions kept:")
    for c in change_log[:: max(1, len(change_log) // 8)] + change_log[-1:]:
        print(f"  {c['t'] / 60:6.1f} min  rows {c['rows']:>8}  seq {c['min_seq']}..{c['max_seq']}  versions {c['versions']}")
    print(f"\nfreshness: {fresh['checked']} lookups right after a capture, {fresh['stale']} stale")
    for kind, why in stats.failures.items():
        print(f"failures {kind}: {len(why)}; first: {why[:3]}")
    result = {"args": vars(args), "summary": summary, "memory_kb": samples, "change_log": change_log, "fresh": fresh,
              "failures": {k: v[:20] for k, v in stats.failures.items()}}
    (OUT / "soak.json").write_text(json.dumps(result, indent=1))
    errors = sum(v["server_errors"] for v in summary.values())
    return 1 if errors or fresh["stale"] or stats.failures.get("server") else 0


if __name__ == "__main__":
    sys.exit(main())
