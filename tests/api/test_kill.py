"""Killed at a random moment, a load or a server leaves the store unchanged or complete, and no process behind.

Each command runs in its own session (process group); after SIGKILL of its first process, no process of
that group may remain (zombies waiting for init to reap them count as gone), and the store holds exactly
what it held before or exactly what a complete run gives. Both backends.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from graph.store import open_store
from ontology.identifiers import gs1_check_digit

from .service.conftest import free_port

pytestmark = pytest.mark.slow

DL = "https://id.gs1.org"
GLNS = [b + str(gs1_check_digit(b)) for b in ("690123400030", "690123400040")]
EVENTS = 12_000  # more than loaders.epcis.PARALLEL_MIN_EVENTS: derived by forked workers


def _document(n: int, tag: str) -> dict:
    events = [{"type": "ObjectEvent", "eventTime": "2026-03-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
               "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
               "quantityList": [{"epcClass": f"urn:epc:class:lgtin:6901234.056789.{tag}{i}", "quantity": 5,
                                 "uom": "KGM"}],
               "sourceList": [{"type": "location", "source": f"{DL}/414/{GLNS[0]}"}],
               "destinationList": [{"type": "location", "destination": f"{DL}/414/{GLNS[1]}"}]}
              for i in range(n)]
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-03-01T09:00:00+08:00", "epcisBody": {"eventList": events}}


def _group(pgid: int) -> list[tuple[int, str]]:
    """(pid, state) of the live processes of a process group (zombies left out)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append((int(entry), fields[0]))
    return out


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _kill_and_check_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + timeout
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _group(proc.pid)
    assert not left, f"processes left behind after SIGKILL of {proc.pid}: {left}"


def _counts(url: str) -> dict[str, int]:
    with open_store(url) as s:
        return {k: v for k, v in s.counts().items() if k not in ("region",)}


def _store_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return str(tmp_path / "store.db")
    from tests.conftest import _neo4j_uri_or_skip

    url = _neo4j_uri_or_skip()
    with open_store(url) as s:
        s.clear()
    return url


def _env() -> dict[str, str]:
    return {**os.environ, "FOODTRACE_EPCIS_PROCESSES": "2", "FOODTRACE_PROGRESS": "0"}


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """The EPCIS file, and the counts a complete load of it gives."""
    folder = tmp_path_factory.mktemp("kill")
    path = folder / "big.jsonld"
    path.write_text(json.dumps(_document(EVENTS, "K")), encoding="utf-8")
    ref = folder / "ref.db"
    subprocess.run([sys.executable, "-m", "api.cli", "load", str(path), "--store", str(ref), "--rejects",
                    str(folder / "r.csv")], check=True, env=_env(), capture_output=True)
    return path, _counts(str(ref))


@pytest.mark.parametrize("backend", ["sqlite", "neo4j"])
def test_a_killed_load_leaves_the_store_as_it_was_or_complete_and_no_process(backend, document, tmp_path):
    path, complete = document
    url = _store_url(backend, tmp_path)
    rng = random.Random(18)
    outcomes = []
    for attempt in range(3 if backend == "sqlite" else 2):
        before = _counts(url)
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "load", str(path), "--store", url, "--rejects",
                                 str(tmp_path / "r.csv")], env=_env(), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not _children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # the workers are forked: kill while they run
        assert proc.poll() is None, "the load ended before its workers were seen"
        time.sleep(rng.uniform(0.0, 1.5))
        _kill_and_check_group(proc)
        after = _counts(url)
        assert after in (before, complete), (before, after, complete)
        outcomes.append("complete" if after == complete and before != complete else "unchanged")
        if after == complete:
            with open_store(url) as s:
                s.clear()
    assert outcomes  # which of the two each kill gave is down to timing; both are correct


def _serve(url: str, service_db: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--store", url, "--service-db", service_db,
                             "--port", str(port), "--workers", "2", "--log-level", "warning"], env=_env(),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, "the server did not start"
        time.sleep(0.2)
    raise AssertionError("the server did not answer")


@pytest.mark.parametrize("backend", ["sqlite", "neo4j"])
def test_a_killed_server_leaves_no_worker_and_a_capture_whole_or_absent(backend, tmp_path):
    from api.service.servicedb import ServiceDB

    url = _store_url(backend, tmp_path)
    service_db = str(tmp_path / "service.db")
    _, key = ServiceDB(service_db).create_key("admin", name="kill-test")
    doc = _document(4_000, "S")
    rng = random.Random(7)
    for attempt in range(2):
        port = free_port()
        proc = _serve(url, service_db, port)
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        before = _counts(url)
        sent = threading.Event()

        def post() -> None:
            try:
                httpx.post(f"http://127.0.0.1:{port}/capture", json=doc, timeout=30,
                           headers={"Authorization": f"Bearer {key}", "GS1-EPCIS-Version": "2.0.0"})
            except httpx.HTTPError:
                pass  # the server was killed under it
            sent.set()

        threading.Thread(target=post, daemon=True).start()
        time.sleep(rng.uniform(0.2, 2.5))
        _kill_and_check_group(proc)
        sent.wait(30)
        after = _counts(url)
        if after != before:  # the capture was written: whole
            assert after["event"] - before["event"] == 4_000 and after["delivery"] - before["delivery"] == 4_000
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
