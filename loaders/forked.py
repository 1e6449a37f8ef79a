"""Reading one large file on several processes: the pieces of work forked workers take, and how they are started.

A reader holding a whole parsed input (an EPCIS document's events, a CSV template's rows) derives the first
share of it itself while forked workers derive the rest in contiguous pieces. The workers inherit the input,
the reader's state and its caches (nothing is pickled on the way in); they send records back as plain tuples
(:func:`pack`) in one ``marshal`` string (:func:`send`), which the reader turns into records again in input
order, so the result is exactly that of one process reading the input from start to end. A large result travels
through a file of the spool (:func:`spool`, in memory where ``/dev/shm`` exists), not the pool's pipe: the pipe
is read by a thread of the reader that needs the interpreter lock for every 64 KiB, which the reader's busy main
thread hands over only every 5 ms, so a worker sending 15 MB waited about a second, idle, for it to be taken.
Workers are forked before the store's writer thread starts, and each dies with the loading process
(:func:`ontology.processes.die_with_parent`): a killed load leaves none behind.

No worker is forked where forking is unsafe: where ``fork`` does not exist, or on Python 3.12+ while other
threads run (a fork copies their locks in whatever state they are); the reader then derives everything itself.
"""

from __future__ import annotations

import atexit
import marshal
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from operator import attrgetter
from typing import Any, Callable

from ontology.processes import die_with_parent, running
from ontology.records import RECORD_TYPES, Record, record_fields

__all__ = ["PACKERS", "processes", "split", "start_pool", "release", "pack", "unpack", "send", "received", "spool"]

#: a result of at least this many bytes goes through a spool file (:func:`send`)
SPOOL_MIN_BYTES = 256 << 10
#: the spool directories' names: this prefix, the pid of the process that made it, a random part
_SPOOL_PREFIX = "foodtrace-spool-"
_spool: list[str] = []  # this process's spool directory, once made

#: record types by number; each type's number and the getter of its field values (a worker's records travel as
#: tuples: a hot loop reads PACKERS itself)
_TYPES: tuple[type[Record], ...] = RECORD_TYPES
PACKERS: dict[type, tuple[int, Callable[[Record], Any]]] = {
    t: (k, attrgetter(*(f.name for f in record_fields(t)))) for k, t in enumerate(_TYPES)}


def processes(items: int, least: int, most: int | None = None) -> int:
    """How many processes derive an input of ``items`` items (1: the reading process alone): one per CPU this
    process may use (at most ``most``), none beyond one per ``least // 2`` items, 1 for ``least`` items or fewer.

    >>> processes(10, least=5000)
    1
    """
    if items <= least or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    if most:
        cpus = min(cpus, most)
    return max(1, min(cpus, items // max(least // 2, 1)))


def split(items: int, procs: int, share: float, pieces_per_worker: int) -> tuple[int, list[tuple[int, int]]]:
    """(cut, pieces): the reading process derives items ``[0, cut)``, ``share`` of them with 2 processes (it also
    rebuilds the workers' records and feeds the store's writer); the workers the rest, in contiguous pieces,
    ``pieces_per_worker`` each, so that merging overlaps with deriving.

    >>> split(100, 2, 0.45, 4)
    (45, [(45, 58), (58, 72), (72, 86), (86, 100)])
    """
    cut = int(items * share / procs * 2) if procs > 2 else int(items * share)
    rest = items - cut
    count = max(1, min((procs - 1) * pieces_per_worker, rest))
    bounds = [cut + rest * k // count for k in range(count + 1)]
    return cut, list(zip(bounds, bounds[1:]))


def start_pool(procs: int) -> ProcessPoolExecutor | None:
    """A pool of ``procs - 1`` forked workers (they fork at the first submit), or None where forking is unsafe.
    Each worker dies with this process."""
    if sys.version_info >= (3, 12) and threading.active_count() > 1:
        return None
    spool()  # before the fork: the workers inherit its name
    try:
        return ProcessPoolExecutor(max_workers=procs - 1, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_start, initargs=(os.getpid(),))
    except Exception:  # e.g. in a daemonic process, or out of processes: one process reads it all
        return None


def release(pool: Any, token: int, registry: dict[int, Any]) -> None:
    """Stop the workers of a reader dropped before it was read to the end (its input leaves ``registry``)."""
    registry.pop(token, None)
    pool.shutdown(wait=False, cancel_futures=True)


def pack(rec: Record) -> tuple[int, tuple[Any, ...]]:
    """A record as (type number, field values): what a worker sends back.

    >>> from ontology.records import Lot
    >>> unpack(*pack(Lot(id="l1", product_id="p1"))) == Lot(id="l1", product_id="p1")
    True
    """
    k, get = PACKERS[type(rec)]
    values = get(rec)
    return k, values if isinstance(values, tuple) else (values,)


def unpack(k: int, values: tuple[Any, ...]) -> Record:
    """The record :func:`pack` made ``(k, values)`` of."""
    return _TYPES[k](*values)


def send(result: Any) -> Any:
    """What a worker returns for ``result`` (plain values: strings, numbers, None, tuples, lists): its ``marshal``
    bytes (100,000 delivery-like tuples: written in 31 ms against pickle's 184, read in 71 against 110), which
    :func:`received` reads back; from :data:`SPOOL_MIN_BYTES` on, the name of a spool file holding them (the pool's
    pipe carries only the name; where no file can be written, the bytes themselves); ``result`` itself where it
    holds anything else.

    >>> received(send((b"k", [("a", 1.5, None)], [], [])))
    (b'k', [('a', 1.5, None)], [], [])
    """
    try:
        data = marshal.dumps(result)
    except ValueError:  # an object marshal cannot write: pickled by the pool as before
        return result
    if len(data) < SPOOL_MIN_BYTES or not _spool:
        return data
    try:
        fd, name = tempfile.mkstemp(dir=_spool[0], suffix=".marshal")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError:  # full, or gone: through the pipe as it is
        return data
    return _Spooled(name)


class _Spooled(str):
    """The name of a spool file holding a worker's result (:func:`send`)."""


def received(sent: Any) -> Any:
    """The result a worker :func:`send` (in the reading process); a spool file is read once and removed."""
    if type(sent) is _Spooled:
        try:
            with open(sent, "rb") as fh:
                data = fh.read()
        finally:
            try:
                os.unlink(sent)
            except OSError:
                pass
        return marshal.loads(data)
    return marshal.loads(sent) if type(sent) is bytes else sent


def spool() -> str | None:
    """This process's spool directory, made at the first call (under ``/dev/shm`` where it can be, else the
    temporary directory), where its workers leave large results (:func:`send`); removed when this process exits.
    The directories of processes that no longer run (killed before they could remove theirs) are removed here.
    None where no directory can be made (results then go through the pool's pipe)."""
    if _spool:
        return _spool[0]
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    _sweep(base)
    try:
        path = tempfile.mkdtemp(prefix=f"{_SPOOL_PREFIX}{os.getpid()}-", dir=base)
    except OSError:
        return None
    _spool.append(path)
    me = os.getpid()
    atexit.register(lambda: os.getpid() == me and shutil.rmtree(path, ignore_errors=True))
    return path


def _sweep(base: str) -> None:
    """Remove the spool directories under ``base`` whose process no longer runs."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(_SPOOL_PREFIX):
            continue
        pid = name[len(_SPOOL_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not running(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def _worker_start(parent: int) -> None:
    """In a forked worker, first: die with the loading process."""
    die_with_parent(parent)
