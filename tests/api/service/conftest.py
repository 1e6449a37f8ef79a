"""Fixtures for the service tests: a store with the hand-made chain, a real server on a free port, keys."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.service.servicedb import ROLES, ServiceDB

from . import dataset


#: the district of the district officer's key (崇川区)
DISTRICT = "urn:foodtrace:region:320602"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``foodtrace serve`` in a subprocess; ``url`` is its base URL, ``keys`` one key per role."""

    def __init__(self, store: str, service_db: str, workers: int = 1, env: dict[str, str] | None = None):
        self.store, self.service_db = store, service_db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        db = ServiceDB(service_db)
        self.keys = {role: db.create_key(role, name=f"测试-{role}", district=DISTRICT if role == "district" else None)[1]
                     for role in ROLES}
        self.key_ids = {role: k.id for role, k in ((k.role, k) for k in db.keys())}
        db.close()
        self.log = Path(service_db).with_suffix(".log")
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--store", store, "--service-db", service_db,
             "--port", str(self.port), "--workers", str(workers), "--log-level", "warning"],
            stdout=self._log_file, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.2)

    def client(self, role: str | None = None, **kw) -> httpx.Client:
        """An HTTP client, with the key of ``role`` (None: no key)."""
        headers = kw.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log_file.close()


@pytest.fixture(scope="session")
def service_store(tmp_path_factory) -> str:
    """A SQLite store holding the hand-made chain of :mod:`tests.api.service.dataset` (read-only use)."""
    path = str(tmp_path_factory.mktemp("service") / "store.db")
    dataset.build(path)
    return path


@pytest.fixture(scope="session")
def server(service_store, tmp_path_factory):
    """A real ``foodtrace serve`` over the hand-made store (session-wide; tests must not write to it)."""
    s = LiveServer(service_store, str(tmp_path_factory.mktemp("service-db") / "service.db"))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def writable_server(tmp_path):
    """A real server over a fresh copy of the hand-made store, for tests that write (capture, overrides)."""
    path = str(tmp_path / "store.db")
    dataset.build(path)
    s = LiveServer(path, str(tmp_path / "service.db"))
    try:
        yield s
    finally:
        s.stop()
