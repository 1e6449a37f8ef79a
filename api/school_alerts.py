"""Raising school alerts as the store changes, and the background worker that raises and delivers them.

:class:`AlertChecker` looks at the store each time anything is written (its write mark moves,
:func:`graph.store.write_mark`: a write from any process: ``foodtrace load``, a capture, an upload): every
nonconforming sample not yet checked (and every failing sample of a lot the new changes name, or of a lot a
named lot was made from through recorded transformations and lot links, :func:`reasoning.schools.made_from`: a
delivery loaded after its sample, of the lot or of a lot made from it) goes through
:func:`reasoning.schools.failed_sample_alerts`; when any grade, override or credit record was written or changed
(all of them as written, whatever their dates: a record starting before the latest one seen counts), the
suppliers of schools go through :func:`reasoning.schools.supplier_alerts` (as of the store's default as-of day,
:func:`ontology.times.default_as_of`). New alerts are written to the store
(one batch; ids derived from school and cause, so nothing is raised twice) and enqueued for the webhook
subscriptions that want them (:class:`api.webhooks.Webhooks`). Traces run on the trace index where one is
current (the service's), else on the store's reads with holding windows learned once; a backlog of more than
:data:`INDEX_BACKLOG` samples (a first check after a bulk load) builds an index first.

:class:`AlertWorker` is the thread that does this every ``poll`` seconds and sends the deliveries that are due;
``foodtrace serve`` starts one per worker process, but only the one holding the service database's alert lock
(an advisory file lock beside it, released when its process ends, taken over by another worker then) checks and
delivers: the others wait for the lock, so a backlog is not traced once per worker. ``foodtrace schools watch``
runs one on its own (and takes the same lock). Loads never wait for either.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from graph.store import write_mark
from graph.view import ReadView
from ontology import times
from ontology.errors import StoreError
from reasoning.holding import learn_windows
from reasoning.schools import failed_sample_alerts, made_from, supplier_alerts
from reasoning.trace import TraceOptions, Tracer
from reasoning.trace_index import TraceIndex

from .service.holding import KeptPassThroughs
from .webhooks import Webhooks

__all__ = ["AlertChecker", "AlertWorker", "CheckResult", "INDEX_BACKLOG"]

log = logging.getLogger("foodtrace.schools")

#: more unchecked failing samples than this: build a trace index before tracing them
INDEX_BACKLOG = 200
#: failing samples traced between two looks at whether the worker is being stopped
CHECK_PIECE = 50
#: seconds between two reads of every grade, override and credit record (:func:`_standing`) while writes go on:
#: the read grows with every grading run, and a supplier's grade or listing is not a one-second matter as a
#: failing result is (a failing result is still checked at the next write)
STANDING_EVERY = 30.0
#: the fields of grades, overrides and credit records that supplier alerts read: any change in them (a new record,
#: whatever its dates, or a correction) makes the suppliers of schools checked again
_STANDING = {"risk_assessment": ("id", "operator_id", "grade", "created"),
             "grade_override": ("id", "operator_id", "grade", "created", "lifted"),
             "credit_record": ("id", "operator_id", "kind", "start", "end", "repaired")}


def _standing(view: ReadView) -> str:
    """A digest of every grade, override and credit record as the supplier alerts read them."""
    h = hashlib.sha256()
    for table, fields in _STANDING.items():
        for row in sorted(view.columns(table, list(fields)), key=lambda r: str(r[0])):
            h.update(repr((table, row)).encode())
    return h.hexdigest()


@dataclass
class CheckResult:
    """What one check did."""

    samples: int = 0
    raised: list[Any] = field(default_factory=list)
    enqueued: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "raised": len(self.raised), "enqueued": self.enqueued,
                "seconds": round(self.seconds, 3), "alerts": [a.id for a in self.raised]}


class AlertChecker:
    """Raises the school alerts of what changed in ``store`` since the last check (see the module docstring).

    ``index`` returns the current trace index or None (the service's :class:`api.service.tracing.TraceIndexHolder`
    ``.current``); ``lookback_days``: a supplier counts for the schools it delivered to in these days.
    """

    def __init__(self, store: Any, hooks: Webhooks, *, holder: Any = None,
                 lookback_days: int = 90, standing_every: float = STANDING_EVERY) -> None:
        self.store, self.hooks, self.lookback_days = store, hooks, lookback_days
        self.standing_every = standing_every
        #: the service's trace index (:class:`api.service.tracing.TraceIndexHolder`: ``current()``, ``building()``,
        #: ``wait(seconds)``), or None
        self._holder = holder
        #: set to stop a check in progress between two pieces of its samples (:class:`AlertWorker` at shutdown)
        self.stopping = threading.Event()
        self._holding: Any = None
        self._mark: Any = None
        self._standing: Any = None
        self._standing_at = -math.inf
        self._standing_due = True

    def _tracer(self, view: ReadView, backlog: int) -> tuple[Tracer, TraceOptions | None]:
        holder = self._holder
        index = holder.current() if holder is not None else None
        if index is None and backlog > INDEX_BACKLOG and holder is not None:
            # the service builds its index already (at its start, after a write): wait for that one rather than
            # build a second one beside it, which doubled the CPU a start after a bulk load took
            while index is None and holder.building() and not self.stopping.is_set():
                index = holder.wait(1.0)
        if index is None and backlog > INDEX_BACKLOG and not self.stopping.is_set():
            try:
                index = TraceIndex.build(view, change_seq=self.store.change_seq())
            except StoreError as e:  # deliveries written meanwhile (captures): trace from the store's reads
                log.warning("school alerts: no trace index for the backlog (%s); tracing from the store", e)
        if index is not None:
            return Tracer(view, index), None
        if self._holding is None:
            self._holding = self._learn(view)
        return Tracer(view), TraceOptions(holding=self._holding)

    def _learn(self, view: ReadView) -> Any:
        """Holding windows from the pass-throughs kept in the service database (read from the store once per
        write: :mod:`api.service.holding`)."""
        return learn_windows(KeptPassThroughs(self.hooks.path).get(self.store, view))

    def warm(self) -> None:
        """Learn the holding windows now (where no index is current), so that the first failing sample after a
        start does not wait for them (about 7 s on the 1,000,000-delivery store)."""
        if (self._holder is None or self._holder.current() is None) and self._holding is None:
            self._holding = self._learn(ReadView(self.store))

    def check(self, *, force: bool = False) -> CheckResult:
        """One pass; does nothing (cheaply) when the store has not changed since the last, unless ``force``."""
        t0 = time.perf_counter()
        result = CheckResult()
        mark = write_mark(self.store)
        now = time.monotonic()
        if mark is None or mark != self._mark:
            self._standing_due = True
        standing_due = force or (self._standing_due and now - self._standing_at >= self.standing_every)
        if not force and mark is not None and mark == self._mark and not standing_due:
            return result
        seq = self.store.change_seq()
        view = ReadView(self.store)
        checked = self.hooks.checked_samples()
        failing = {s.id: s for s in view.scan_live("sample", {"conclusion": "nonconforming"})}
        todo = [sid for sid in failing if sid not in checked]
        last = self.hooks.state("change_seq")
        if last is not None and seq is not None and int(last) < seq:
            changed = {lot for _, lot in self.store.changes_since(int(last)) if lot}
            again = {sid: s for sid, s in failing.items() if sid in checked and s.lot_id}
            hit = {s.lot_id for s in again.values() if s.lot_id in changed}
            rest = {s.lot_id for s in again.values()} - hit
            if changed and rest:   # lots made from a failing lot, delivered now
                derived = made_from(view, rest)
                hit.update(x for lot in changed for x in derived.get(lot, ()))
            todo += [sid for sid, s in again.items() if s.lot_id in hit]
        raised = times.now_iso("milliseconds")
        alerts = []
        if todo:
            tracer, options = self._tracer(view, len(todo))
            done = 0
            for start in range(0, len(todo), CHECK_PIECE):   # a stop waits for one piece, not the whole backlog
                if self.stopping.is_set():
                    break
                alerts += failed_sample_alerts(view, tracer, todo[start:start + CHECK_PIECE], raised=raised,
                                               options=options)
                done = min(len(todo), start + CHECK_PIECE)
            if done < len(todo):  # stopped: what was not traced is checked at the next check (or start)
                todo, seq, standing_due, mark = todo[:done], None, False, None
        if standing_due:
            standing = _standing(view)
            self._standing_at, self._standing_due = now, False
            if force or standing != self._standing:
                alerts += supplier_alerts(view, as_of=times.default_as_of(view), raised=raised,
                                          lookback_days=self.lookback_days)
                self._standing = standing
        known = self.store.get_many("school_alert", [a.id for a in alerts]) if alerts else {}
        new = [a for a in alerts if a.id not in known]
        if new:
            self.store.write(new)
        result.enqueued = self.hooks.enqueue(new)
        self.hooks.mark_checked(todo)
        if seq is not None:
            self.hooks.set_state("change_seq", str(seq))
            self.hooks.note_position(seq)
        self._mark = mark
        result.samples, result.raised, result.seconds = len(todo), new, time.perf_counter() - t0
        if new:
            log.info("raised %d school alert(s) from %d sample(s) in %.3f s", len(new), len(todo), result.seconds)
        return result


class AlertWorker(threading.Thread):
    """Checks every ``poll`` seconds and sends the due webhook deliveries, until :meth:`stop`."""

    def __init__(self, checker: AlertChecker, *, poll: float = 0.25, deliver: dict[str, Any] | None = None) -> None:
        super().__init__(name="school-alerts", daemon=True)
        self.checker, self.poll, self.deliver = checker, poll, deliver or {}
        self._stop_event = threading.Event()
        #: set once this worker has made its first check, or knows that another process makes them (it holds the
        #: alert lock): the service's start-up work is done (``/readyz``)
        self.first_check = threading.Event()

    def _take_lock(self) -> Any:
        """The alert lock of the service database (an open file holding an exclusive ``flock``), or None while
        another process holds it."""
        import fcntl

        fh = open(self.checker.hooks.path + ".alerts.lock", "a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return None
        return fh

    def run(self) -> None:
        lock = self._take_lock()
        if lock is None:
            self.first_check.set()  # another worker process checks
        while lock is None and not self._stop_event.wait(max(self.poll, 1.0)):
            lock = self._take_lock()
        if lock is None:
            return
        try:
            self._run()
        finally:
            lock.close()

    def _run(self) -> None:
        try:
            self.checker.warm()
        except Exception:   # traces learn the windows at the first check instead
            log.exception("learning the holding windows failed")
        while not self._stop_event.is_set():
            try:
                self.checker.check()
            except Exception:   # a failed check is tried again at the next poll; the service keeps running
                log.exception("checking school alerts failed")
            self.first_check.set()
            try:
                self.checker.hooks.deliver_due(**self.deliver)
            except Exception:
                log.exception("delivering school alerts failed")
            self._stop_event.wait(self.poll)

    def stop(self, timeout: float | None = 60) -> bool:
        """Stop, letting a check in progress end at its next piece of samples; True when the thread has ended (the
        store it reads may then be closed), False when it still runs after ``timeout`` seconds."""
        self._stop_event.set()
        self.checker.stopping.set()
        self.join(timeout)
        return not self.is_alive()
