"""The worker's in-memory trace index (:class:`reasoning.trace_index.TraceIndex`) for the trace, recall and
outbreak endpoints.

Each worker starts building the index in a background thread when it starts, and again when it traces after
the store's change sequence has moved (a write from any process); until it is ready, traces read the store
as the command line does (the same answers, slower on large stores: 7-30 s for a first trace at 1,000,000
deliveries while the build runs beside it). ``FOODTRACE_TRACE_INDEX=false`` keeps
every trace on the store's reads (and the memory: about 0.9 GB per worker for 1,000,000 deliveries).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import Request

from graph.view import ReadView
from ontology.errors import StoreError
from reasoning.trace import Tracer
from reasoning.trace_index import TraceIndex

__all__ = ["TraceIndexHolder", "tracer_for"]

log = logging.getLogger("foodtrace.service")


class TraceIndexHolder:
    """The current index of one store, rebuilt in the background when the store changes."""

    def __init__(self, store: Any, enabled: bool = True) -> None:
        self.store, self.enabled = store, enabled
        self._index: TraceIndex | None = None
        self._building: threading.Thread | None = None
        self._lock = threading.Lock()
        #: set when the first build has ended (built, or failed: traces then read the store): the start-up work a
        #: readiness check waits for; later rebuilds (after writes) do not clear it
        self.started = threading.Event()
        if not enabled:
            self.started.set()

    def current(self) -> TraceIndex | None:
        """The index when it matches the store's change sequence, else None (and a rebuild starts)."""
        if not self.enabled:
            return None
        seq = self.store.change_seq()
        ix = self._index
        if ix is not None and ix.change_seq == seq and seq is not None:
            return ix
        with self._lock:
            if self._building is None or not self._building.is_alive():
                self._building = threading.Thread(target=self._build, args=(seq,), name="trace-index", daemon=True)
                self._building.start()
        return None

    def _build(self, seq: int | None) -> None:
        try:
            index = TraceIndex.build(ReadView(self.store), change_seq=seq)
            if self.store.change_seq() == seq:   # a write during the build: the next trace builds again
                self._index = index
        except StoreError as e:  # the deliveries changed while read (a capture): expected, the next trace retries
            log.warning("trace index not built: %s", e)
        except Exception:   # a failed build leaves traces on the store's reads; the next trace tries again
            log.exception("building the trace index failed; traces read the store")
        finally:
            self.started.set()

    def building(self) -> bool:
        """Whether a build is in progress."""
        t = self._building
        return t is not None and t.is_alive()

    def wait(self, timeout: float | None = None) -> TraceIndex | None:
        """Wait for a build in progress (tests, warm-up) and return the current index."""
        self.current()
        t = self._building
        if t is not None:
            t.join(timeout)
        return self.current()


def tracer_for(request: Request, view: ReadView) -> Tracer:
    """A fresh tracer for one request: over the worker's index where it is ready, else over the store."""
    holder: TraceIndexHolder | None = getattr(request.app.state, "trace_index", None)
    return Tracer(view, holder.current() if holder is not None else None)
