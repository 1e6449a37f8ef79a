"""The service worker's in-memory trace index (api/service/tracing.py): built in the background, used once it
matches the store's change sequence, rebuilt after a write, off by setting."""

from __future__ import annotations

from graph.store import open_store
from graph.view import ReadView
from ontology.records import Delivery
from reasoning.trace import trace

from api.service.tracing import TraceIndexHolder


def _d(i: str, lot: str, frm: str, to: str, hour: int) -> Delivery:
    return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=f"2026-03-01T{hour:02d}:00:00+08:00")


def test_the_index_follows_the_store(tmp_path):
    with open_store(str(tmp_path / "s.db")) as store:
        store.write([_d("d1", "A", "farm", "stall", 6), _d("d2", "A", "stall", "shop", 9)])
        holder = TraceIndexHolder(store)
        index = holder.wait(60)
        assert index is not None and index.change_seq == store.change_seq() and index.deliveries == 2
        assert holder.started.is_set()  # the start-up build has ended (readiness)
        assert holder.current() is index
        assert [d.id for d in trace(ReadView(store), "A", "down", index=index).deliveries] == ["d1", "d2"]
        store.write([_d("d3", "A", "shop", "home", 11)])
        assert holder.current() is None            # stale: traces read the store until the rebuild is done
        assert holder.started.is_set()             # a rebuild after a write leaves the worker ready
        again = holder.wait(60)
        assert again is not None and again.deliveries == 3
        off = TraceIndexHolder(store, enabled=False)
        assert off.current() is None and off.started.is_set()


def test_ready_once_the_start_up_work_is_done(server):
    """``/readyz`` answers 503 naming what a start still does in the background (the trace index, the first school
    alert check), then 200; ``/healthz`` answers from the start."""
    import time

    with server.client() as c:
        assert c.get("/healthz").status_code == 200
        deadline = time.monotonic() + 60
        while True:
            r = c.get("/readyz")
            if r.status_code == 200:
                break
            assert r.status_code == 503 and r.json()["status"] == "starting"
            assert r.json()["waiting"] and set(r.json()["waiting"]) <= {"trace_index", "school_alerts"}
            assert time.monotonic() < deadline, r.json()
            time.sleep(0.1)
        assert r.json() == {"status": "ready", "waiting": []}
