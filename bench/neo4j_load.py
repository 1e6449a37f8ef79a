"""Benchmark: write N synthetic deliveries (with their lots, products and operators) into Neo4j.

Needs a running server (`make neo4j-start`); NEO4J_URI names it (default bolt://127.0.0.1:7687).
The database is emptied first. Prints the write rate, the wall time, the client's peak RSS and the
server's RSS (read from /proc for the pid in .cache/neo4j/neo4j.pid when the local server runs).

    python bench/neo4j_load.py --deliveries 100000 [--batch 50000] [--keep]

``--batch K`` (default 50,000) writes K deliveries (and their lots) per store write, one transaction
each, as the loader writing file by file does; ``--batch 0`` writes everything as ONE store write.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graph.store import open_store, register  # noqa: E402
from ontology.records import Delivery, Lot, Operator, Product, Record  # noqa: E402

for _scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
    register(_scheme, "graph.neo4j", "Neo4jStore")  # harmless where graph.store already registers them

KINDS = ("Farm", "Slaughterhouse", "WholesaleMarket", "Supermarket", "Restaurant")


def server_rss_mib() -> tuple[float, float] | None:
    """(current RSS, peak RSS) of the local server in MiB, or None when it is not ours."""
    pid_file = Path(os.environ.get("NEO4J_CACHE", REPO / ".cache" / "neo4j")) / "neo4j.pid"
    try:
        pid = pid_file.read_text().strip()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kib = lambda k: int(fields[k].split()[0]) / 1024  # noqa: E731
    return kib("VmRSS"), kib("VmHWM")


def network(n: int, start: int = 0) -> Iterator[Record]:
    """Deliveries ``start .. start+n-1``: a lot every 4 deliveries, 2,000 operators, 200 products."""
    ops = 2000
    if start == 0:
        for i in range(ops):
            yield Operator(id=f"urn:foodtrace:operator:bench:{i}", kind=KINDS[i % len(KINDS)],
                           name=f"南通测试主体{i}", haccp=i % 3 == 0, lat=32.0 + i / 1e4, lon=120.8)
        for i in range(200):
            yield Product(id=f"urn:foodtrace:product:bench:{i}", name=f"产品{i}", category="pork", unit="KGM")
    for i in range(start, start + n):
        lot = f"urn:foodtrace:lot:bench:{i // 4}"
        if i % 4 == 0:
            yield Lot(id=lot, product_id=f"urn:foodtrace:product:bench:{(i // 4) % 200}", lot_number=f"L{i // 4}",
                      production_date="2026-03-01", quantity=1000.0, unit="KGM")
        day = 1 + (i // 40000) % 28
        yield Delivery(id=f"urn:foodtrace:delivery:bench:{i}", lot_id=lot,
                       sender_id=f"urn:foodtrace:operator:bench:{i % ops}",
                       receiver_id=f"urn:foodtrace:operator:bench:{(i * 7 + 1) % ops}",
                       time=f"2026-03-{day:02d}T{i % 24:02d}:00:00+08:00", quantity=float(i % 500) + 0.5, unit="KGM",
                       ticket_id=f"urn:foodtrace:ticket:bench:{i}", event_id=f"urn:uuid:bench-{i}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deliveries", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=50_000,
                    help="deliveries per store write (the synthetic EPCIS files hold 50,000 events each); "
                         "0 = all in one write (1M needs a server heap of about 10g: NEO4J_HEAP=12g)")
    ap.add_argument("--keep", action="store_true", help="do not empty the database first")
    args = ap.parse_args()
    uri = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
    n = args.deliveries
    with open_store(uri) as store:
        if not args.keep:
            t0 = time.perf_counter()
            store.clear()
            print(f"emptied {store.url} in {time.perf_counter() - t0:.1f} s")
        before = server_rss_mib()
        if before:
            print(f"server RSS before: {before[0]:,.0f} MiB (peak so far {before[1]:,.0f} MiB)")
        t0 = time.perf_counter()
        records = changed = 0
        step = args.batch or n
        for start in range(0, n, step):
            st = store.write(network(min(step, n - start), start))
            records += st.total_received
            changed += st.total_changed
        wall = time.perf_counter() - t0
        counts = store.counts()
        again = None
        if n <= 200_000 and not args.batch:
            t1 = time.perf_counter()
            again = (store.write(network(n)).total_changed, time.perf_counter() - t1)
    after = server_rss_mib()
    client = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wrote {n:,} deliveries ({records:,} records, {changed:,} new or changed) "
          f"in {wall:.1f} s: {n / wall:,.0f} deliveries/s, {records / wall:,.0f} records/s"
          f" ({'one write' if not args.batch else f'{-(-n // step)} writes of {step:,} deliveries'})")
    print(f"counts: delivery {counts['delivery']:,}, lot {counts['lot']:,}, operator {counts['operator']:,}, "
          f"product {counts['product']:,}")
    if again:
        print(f"writing the same records again: {again[0]} changed, {again[1]:.1f} s")
    print(f"client peak RSS {client:,.0f} MiB")
    if after:
        print(f"server RSS after: {after[0]:,.0f} MiB (peak {after[1]:,.0f} MiB)")
    else:
        print("server RSS: unknown (not the local server of scripts/neo4j/start.sh)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
