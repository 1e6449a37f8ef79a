"""Shared fixtures: the store backends every contract test runs against, and the shared/ folder."""

from __future__ import annotations

import os

# scikit-learn's estimator checks include an array-API input check that runs only when SciPy's array API
# support is switched on, which must happen before SciPy is first imported
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from graph.store import open_store

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    """The shared/ folder of third-party material: $FOODTRACE_SHARED, else ``shared`` beside the clone or beside
    any folder above it (a clone made deeper than the team's checkout still finds it, so CI runs these tests
    wherever the material is on the machine)."""
    if os.environ.get("FOODTRACE_SHARED"):
        return Path(os.environ["FOODTRACE_SHARED"])
    for folder in REPO.parents:
        if (folder / "shared").is_dir() and any((folder / "shared" / d).is_dir() for d in ("conformance", "realdata")):
            return folder / "shared"
    return REPO.parent / "shared"


SHARED = _find_shared()


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test (with the reason) where it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared not present ({path}): third-party conformance material is not in a user's clone")
    return path


def shared_params(paths: list[Path], what: str) -> list:
    """Parameters for a test over files of ../shared: the files, or one skipped case saying why none are there
    (an empty parameter set would skip with pytest's own, reasonless message)."""
    if paths:
        return paths
    return [pytest.param(None, marks=pytest.mark.skip(reason=f"../shared not present ({SHARED}): no {what}"),
                         id="no-shared")]


def missing_tool(reason: str) -> None:
    """Skip a test whose tool (chromium, a test-extra package) is missing, saying why; under CI fail instead:
    `make test` installs every tool, so CI must run every test it can."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; `make test` installs it, so CI must not skip this test")
    pytest.skip(reason)


def chromium_or_skip() -> str:
    """The Chromium binary (Debian package ``chromium``), or skip (fail under CI) saying it is missing."""
    for name in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if name and os.access(name, os.X_OK):
            return name
    missing_tool("no chromium binary (Debian package `chromium`) on this machine")
    raise AssertionError("unreachable")


def _neo4j_reachable(uri: str) -> bool:
    u = urlparse(uri)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 7687), timeout=2):
            return True
    except OSError:
        return False


def _neo4j_uri_or_skip() -> str:
    uri = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
    if _neo4j_reachable(uri):
        return uri
    if os.environ.get("CI") or os.environ.get("FOODTRACE_REQUIRE_NEO4J"):
        pytest.fail(f"Neo4j is not answering at {uri}; `make test` starts it with scripts/neo4j/start.sh")
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("no Java/Maven on this machine: the Neo4j test server cannot be started here")
    pytest.skip(f"Neo4j is not running at {uri}: run `make neo4j-start` (make test does it)")


BACKENDS = ["sqlite", "neo4j"]


@pytest.fixture(autouse=True)
def _service_db_of_the_session(monkeypatch, tmp_path_factory):
    """Commands that keep derived data in the service database (``foodtrace trace`` keeps the store's
    pass-throughs there) write it under the session's temporary folder, not into the working directory; a
    test that names its own (``--service-db``, ``FOODTRACE_SERVICE_DB``) still does."""
    if "FOODTRACE_SERVICE_DB" not in os.environ:
        monkeypatch.setenv("FOODTRACE_SERVICE_DB", str(tmp_path_factory.getbasetemp() / "service.db"))


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """An empty store of each backend."""
    if request.param == "sqlite":
        s = open_store(str(tmp_path / "store.db"))
    else:
        s = open_store(_neo4j_uri_or_skip())
        s.clear()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_store(tmp_path):
    s = open_store(str(tmp_path / "store.db"))
    try:
        yield s
    finally:
        s.close()
