"""School alerts raised as the store changes and delivered to webhooks: signed, retried with back-off, logged;
a receiver that is down never blocks a load; a lot made from a failing lot reaching a school later, and a listing
dated before the latest one seen, raise their alerts."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.school_alerts import AlertChecker, AlertWorker
from api.webhooks import Webhooks, verify
from graph.store import open_store
from ontology.errors import InvalidRecord
from tests.reasoning.schools_net import (DIST, FARM, PIG, PORK, SCHOOL1, SCHOOL2, VFARM, failing, network,
                                        standing)


class Receiver:
    """A local webhook receiver answering the given statuses in turn (then 200)."""

    def __init__(self, statuses=()):
        self.calls: list[tuple[dict, bytes]] = []
        self.statuses = list(statuses)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append((dict(self.headers), body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_failing_upstream_sample_raises_a_signed_webhook_call_retried_after_one_failure(store, tmp_path):
    hooks = Webhooks(str(tmp_path / "service.db"))
    store.write(network())
    with Receiver(statuses=[500]) as rx:
        sub, secret = hooks.subscribe(rx.url, name="市教育局")
        checker = AlertChecker(store, hooks)
        assert checker.check().raised == []
        store.write(failing("s-farm", PIG, FARM, "2026-03-01"))          # the failing result is loaded
        result = checker.check()
        [alert] = result.raised
        assert (alert.school_id, alert.relation, alert.sample_id) == (SCHOOL1, "upstream", "s-farm")
        assert store.get("school_alert", alert.id) == alert and result.enqueued == 1
        assert hooks.deliver_due(backoff=0) == 1                         # the receiver fails once
        assert [o["status"] for o in hooks.outbox()] == ["pending"]
        assert hooks.deliver_due(backoff=0) == 1                         # retried: delivered
        assert [(o["status"], o["attempts"]) for o in hooks.outbox()] == [("delivered", 2)]
        assert hooks.deliver_due(backoff=0) == 0
    assert len(rx.calls) == 2
    for headers, body in rx.calls:
        assert verify(secret, headers["X-Foodtrace-Signature"], body)
        assert not verify("whsec_wrong", headers["X-Foodtrace-Signature"], body)
        assert json.loads(body)["alert"]["id"] == alert.id and headers["X-Foodtrace-Event"] == "school_alert"
    assert rx.calls[0][0]["X-Foodtrace-Delivery"] == rx.calls[1][0]["X-Foodtrace-Delivery"]
    log = hooks.deliveries(subscription_id=sub.id)
    assert [(d.attempt, d.status, d.error) for d in log] == [(1, 500, "HTTP 500"), (2, 200, None)]
    # checking again raises and sends nothing more
    assert checker.check(force=True).raised == [] and hooks.enqueue([alert]) == 0


def test_supplier_grade_and_listing_alerts_follow_the_subscription_filters(store, tmp_path):
    hooks = Webhooks(str(tmp_path / "service.db"))
    grade_only, _ = hooks.subscribe("https://example.org/a", kinds=["supplier_grade"])
    chongchuan, _ = hooks.subscribe("https://example.org/b", district="urn:foodtrace:region:320602")
    store.write(network() + standing())
    raised = AlertChecker(store, hooks).check(force=True).raised
    assert sorted(a.kind for a in raised) == ["supplier_grade", "supplier_listed"]
    queued = sorted((o["subscription"], next(a.kind for a in raised if a.id == o["alert"])) for o in hooks.outbox())
    assert queued == sorted([(grade_only.id, "supplier_grade"), (chongchuan.id, "supplier_grade")])
    assert {a.supplier_id for a in raised if a.kind == "supplier_grade"} == {DIST}


def test_a_receiver_that_is_down_never_blocks_a_load(tmp_path, monkeypatch):
    db, service = tmp_path / "store.db", tmp_path / "service.db"
    with open_store(str(db)) as s:
        s.write(network())
    hooks = Webhooks(str(service))
    hooks.subscribe(f"http://127.0.0.1:{_closed_port()}/hook")
    (tmp_path / "samples.csv").write_text(
        "样品编号,抽检类型,被抽样单位,食品名称,批次标识,抽样日期,结论\n"
        f"KJ-1,快检,{FARM},生猪,{PIG},2026-03-01,不合格\n", encoding="utf-8")
    (tmp_path / "test_results.csv").write_text("样品编号,检验项目,结论\nKJ-1,克伦特罗,不合格\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with open_store(str(db)) as s:
        worker = AlertWorker(AlertChecker(s, hooks), poll=0.05, deliver={"backoff": 60, "timeout": 1})
        worker.start()
        try:
            t0 = time.perf_counter()
            res = CliRunner().invoke(cli, ["load", str(tmp_path / "samples.csv"), str(tmp_path / "test_results.csv"),
                                           "--store", str(db)])
            assert res.exit_code == 0, res.output
            assert time.perf_counter() - t0 < 30   # a generous bound: the load does not wait for any receiver
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not hooks.deliveries():
                time.sleep(0.05)
        finally:
            worker.stop()
        [alert] = list(s.scan("school_alert"))
    assert alert.school_id == SCHOOL1 and alert.sample_id.endswith("KJ-1")
    [attempt] = hooks.deliveries()
    assert attempt.status is None and "ConnectError" in attempt.error
    [row] = hooks.outbox()
    assert row["status"] == "pending" and row["next_attempt"] > time.time() + 30   # backed off, not retried at once


def test_after_the_last_attempt_a_delivery_is_marked_failed(tmp_path):
    hooks = Webhooks(str(tmp_path / "service.db"))
    hooks.subscribe(f"http://127.0.0.1:{_closed_port()}/hook")
    from ontology.records import SchoolAlert

    hooks.enqueue([SchoolAlert(id="a1", kind="supplier_grade", school_id=SCHOOL1, raised="2026-03-01T00:00:00+08:00",
                               message="x")])
    for _ in range(3):
        hooks.deliver_due(backoff=0, max_attempts=3, timeout=1)
    assert [(o["status"], o["attempts"]) for o in hooks.outbox()] == [("failed", 3)]
    assert len(hooks.deliveries()) == 3


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "example.org/hook", "javascript:alert(1)", "http://", ""])
def test_a_webhook_url_that_is_not_http_is_refused_and_nothing_is_stored(tmp_path, url):
    hooks = Webhooks(str(tmp_path / "service.db"))
    with pytest.raises(InvalidRecord, match="http:// or https://"):
        hooks.subscribe(url)
    with pytest.raises(InvalidRecord, match="unknown alert kind"):
        hooks.subscribe("https://example.org/x", kinds=["everything"])
    assert hooks.subscriptions() == []


def test_a_backlog_is_still_checked_when_its_trace_index_cannot_be_built(store, tmp_path, monkeypatch):
    """A first check with a backlog builds a trace index; when the deliveries change while it is read (EPCIS
    captures every few seconds on a service) the build fails: the check traces from the store's reads instead
    and raises the same alerts. The race is forced here by making the build fail (it cannot be timed reliably)."""
    import api.school_alerts as sa
    from ontology.errors import StoreError

    hooks = Webhooks(str(tmp_path / "service.db"))
    store.write(network())
    store.write(failing("s-farm", PIG, FARM, "2026-03-01"))

    def changed(*args, **kwargs):
        raise StoreError("the deliveries changed while the trace index was read; build it again")

    monkeypatch.setattr(sa, "INDEX_BACKLOG", 0)
    monkeypatch.setattr(sa.TraceIndex, "build", classmethod(lambda cls, *a, **k: changed()))
    [alert] = AlertChecker(store, hooks).check().raised
    assert (alert.school_id, alert.relation, alert.sample_id) == (SCHOOL1, "upstream", "s-farm")


def test_one_worker_checks_at_a_time_and_another_takes_over(tmp_path):
    """Every `foodtrace serve` worker starts an alert worker; only the holder of the service database's alert lock
    checks (a backlog is traced once, not once per worker); when it stops, a waiting one takes over."""
    db = tmp_path / "store.db"
    with open_store(str(db)) as s:
        s.write(network())
        hooks = Webhooks(str(tmp_path / "service.db"))
        checks = {"a": 0, "b": 0}

        def counting(name):
            checker = AlertChecker(s, hooks)
            real = checker.check

            def check(**kw):
                checks[name] += 1
                return real(**kw)

            checker.check = check
            return AlertWorker(checker, poll=0.02)

        first, second = counting("a"), counting("b")
        first.start()
        deadline = time.monotonic() + 10
        while checks["a"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        second.start()
        time.sleep(0.5)
        assert checks["a"] > 0 and checks["b"] == 0
        first.stop()
        deadline = time.monotonic() + 10
        while checks["b"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        second.stop()
    assert checks["b"] > 0


def test_a_lot_made_from_a_failing_lot_reaching_a_school_later_raises_the_alert(store, tmp_path):
    """The pig fails; the pork cut from it reaches school 1 in a later load: the change log names the pork only."""
    from ontology.records import CreditRecord

    hooks = Webhooks(str(tmp_path / "service.db"))
    net = network()
    [d3] = [r for r in net if getattr(r, "id", None) == "d3"]
    store.write([r for r in net if r is not d3] + failing("s-pig", PIG, FARM, "2026-03-01"))
    checker = AlertChecker(store, hooks, standing_every=0)  # grades and listings read at every write
    first = checker.check()
    assert first.samples == 1 and [a for a in first.raised if a.kind == "failed_sample"] == []
    assert checker.check().samples == 0          # nothing written since: nothing done
    store.write([d3])
    later = checker.check()
    [alert] = later.raised
    assert (alert.school_id, alert.sample_id, alert.lot_id, alert.relation, alert.delivery_id) == (
        SCHOOL1, "s-pig", PORK, "upstream", "d3")
    # a listing dated before the latest one seen, written alone (no lot changes), is seen too
    store.write([CreditRecord(id="cr-late", operator_id=VFARM, kind="serious_dishonest", start="2026-02-20")])
    assert [(a.kind, a.school_id) for a in checker.check().raised] == [("supplier_listed", SCHOOL2)]
    store.write([CreditRecord(id="cr-old", operator_id=DIST, kind="serious_dishonest", start="2025-06-01")])
    assert [(a.kind, a.school_id, a.supplier_id) for a in checker.check().raised] == [
        ("supplier_listed", SCHOOL1, DIST)]


def test_grades_and_listings_are_read_at_most_every_so_often_while_failing_results_are_checked_at_once(
        store, tmp_path, monkeypatch):
    """Reading every grade and credit record grows with each grading run: while writes go on, the checker reads
    them at most every ``standing_every`` seconds (a listing written meanwhile is seen when that time is up,
    even without a further write); a failing result is still checked at the next write."""
    from api import school_alerts
    from ontology.records import CreditRecord

    clock = [1000.0]
    monkeypatch.setattr(school_alerts.time, "monotonic", lambda: clock[0])
    hooks = Webhooks(str(tmp_path / "service.db"))
    net = network()
    [d3] = [r for r in net if getattr(r, "id", None) == "d3"]
    store.write([r for r in net if r is not d3])
    checker = AlertChecker(store, hooks, standing_every=30)
    assert checker.check().raised == []
    store.write([CreditRecord(id="cr-late", operator_id=VFARM, kind="serious_dishonest", start="2026-02-20")])
    clock[0] += 5
    assert checker.check().raised == []  # not yet: read 5 s ago
    store.write([d3] + failing("s-pig", PIG, FARM, "2026-03-01"))
    clock[0] += 5
    assert [(a.kind, a.sample_id) for a in checker.check().raised] == [("failed_sample", "s-pig")]  # at once
    clock[0] += 25
    assert [(a.kind, a.school_id) for a in checker.check().raised] == [("supplier_listed", SCHOOL2)]  # time up
    assert checker.check().raised == []


def test_a_stop_ends_a_check_between_pieces_of_its_backlog_and_the_rest_is_checked_next(tmp_path, monkeypatch):
    """A worker stopped (the service shutting down) ends its check at the next piece of samples instead of tracing
    the whole backlog; the samples not traced are checked at the next check, though nothing was written since."""
    import api.school_alerts as sa

    hooks = Webhooks(str(tmp_path / "service.db"))
    with open_store(str(tmp_path / "s.db")) as s:
        s.write(network())
        s.write([r for i in range(120) for r in failing(f"urn:foodtrace:sample:b{i:03d}", PORK, DIST, "2026-03-02")])
        monkeypatch.setattr(sa, "CHECK_PIECE", 10)
        checker = AlertChecker(s, hooks)
        real, pieces = sa.failed_sample_alerts, []

        def traced(view, tracer, ids, **kw):
            pieces.append(len(ids))
            if len(pieces) == 3:
                checker.stopping.set()
            return real(view, tracer, ids, **kw)

        monkeypatch.setattr(sa, "failed_sample_alerts", traced)
        first = checker.check()
        assert pieces == [10, 10, 10] and first.samples == 30
        assert len(hooks.checked_samples()) == 30
        checker.stopping.clear()
        second = checker.check()
        assert second.samples == 90 and len(hooks.checked_samples()) == 120
        assert checker.check().samples == 0
    hooks.close()


def test_a_worker_stopped_mid_check_ends_before_its_store_is_closed(tmp_path, monkeypatch):
    import api.school_alerts as sa

    hooks = Webhooks(str(tmp_path / "service.db"))
    with open_store(str(tmp_path / "s.db")) as s:
        s.write(network())
        s.write([r for i in range(60) for r in failing(f"urn:foodtrace:sample:c{i:03d}", PORK, DIST, "2026-03-02")])
        monkeypatch.setattr(sa, "CHECK_PIECE", 5)
        started = threading.Event()
        real = sa.failed_sample_alerts

        def slow(*a, **kw):
            started.set()
            time.sleep(0.2)  # a slow trace
            return real(*a, **kw)

        monkeypatch.setattr(sa, "failed_sample_alerts", slow)
        worker = AlertWorker(AlertChecker(s, hooks), poll=0.05)
        worker.start()
        assert started.wait(30)
        t0 = time.perf_counter()
        assert worker.stop(timeout=30) is True
        assert time.perf_counter() - t0 < 5   # one piece, not the 12 of the backlog
        assert 0 < len(hooks.checked_samples()) < 60
    hooks.close()


def test_a_backlog_waits_for_the_services_index_rather_than_build_a_second(tmp_path, monkeypatch):
    """At a start after a bulk load the service builds its trace index; the alert check's backlog waits for that
    one instead of building another beside it (which doubled the CPU the start took)."""
    import api.school_alerts as sa
    from api.service.tracing import TraceIndexHolder
    from reasoning.trace_index import TraceIndex

    builds = []
    real = TraceIndex.build.__func__

    def build(cls, *a, **kw):
        builds.append(threading.current_thread().name)
        time.sleep(0.3)  # a build that takes a while
        return real(cls, *a, **kw)

    monkeypatch.setattr(TraceIndex, "build", classmethod(build))
    monkeypatch.setattr(sa, "INDEX_BACKLOG", 2)
    hooks = Webhooks(str(tmp_path / "service.db"))
    with open_store(str(tmp_path / "s.db")) as s:
        s.write(network())
        s.write([r for i in range(5) for r in failing(f"urn:foodtrace:sample:w{i}", PORK, DIST, "2026-03-02")])
        holder = TraceIndexHolder(s)
        assert holder.current() is None  # the service starts building at its start
        checker = AlertChecker(s, hooks, holder=holder)
        assert checker.check().samples == 5
        assert builds == ["trace-index"]
        # without a service index (`foodtrace schools watch`) the check builds its own
        s.write(failing("urn:foodtrace:sample:w9", PORK, DIST, "2026-03-03"))
        hooks2 = Webhooks(str(tmp_path / "service2.db"))
        assert AlertChecker(s, hooks2).check().samples == 6
        assert builds == ["trace-index", threading.current_thread().name]
        hooks2.close()
    hooks.close()
