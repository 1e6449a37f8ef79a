"""How forked workers hand their results back (loaders.forked): large ones through a spool file, never left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loaders import forked

REPO = Path(__file__).resolve().parents[2]


def _result(rows: int) -> tuple:
    return (bytes(range(5)) * 3, [("urn:foodtrace:delivery:%020d" % i, 1.5 * i, None, "甲") for i in range(rows)],
            [], [("op:x", 1, ("a", None))])


def test_a_large_result_travels_through_a_spool_file_read_once_and_removed(monkeypatch, tmp_path):
    monkeypatch.setattr(forked, "_spool", [str(tmp_path)])
    small, large = _result(3), _result(20_000)
    sent_small, sent_large = forked.send(small), forked.send(large)
    assert type(sent_small) is bytes  # below SPOOL_MIN_BYTES: through the pipe as it is
    assert isinstance(sent_large, str) and Path(sent_large).parent == tmp_path
    assert Path(sent_large).stat().st_size >= forked.SPOOL_MIN_BYTES
    assert forked.received(sent_small) == small
    assert forked.received(sent_large) == large
    assert list(tmp_path.iterdir()) == []  # read once, then removed


def test_without_a_spool_a_large_result_goes_through_the_pipe(monkeypatch, tmp_path):
    monkeypatch.setattr(forked, "_spool", [])
    assert type(forked.send(_result(20_000))) is bytes
    monkeypatch.setattr(forked, "_spool", [str(tmp_path / "gone")])  # a directory that went away: no file, no error
    sent = forked.send(_result(20_000))
    assert type(sent) is bytes and forked.received(sent) == _result(20_000)


def test_the_spool_of_a_process_goes_with_it_and_a_killed_ones_with_the_next(tmp_path):
    """A process removes its spool when it exits; the spool a killed process left is removed by the next one."""
    script = textwrap.dedent(f"""
        import os, sys, tempfile
        sys.path.insert(0, {str(REPO)!r})
        tempfile.tempdir = {str(tmp_path)!r}
        os.path.isdir = lambda p, _isdir=os.path.isdir: False if p == "/dev/shm" else _isdir(p)
        from loaders import forked
        path = forked.spool()
        print(path, flush=True)
        open(os.path.join(path, "left.marshal"), "wb").write(b"x")
        if sys.argv[1] == "kill":
            os._exit(9)  # no exit handlers: as if killed
    """)
    run = [sys.executable, "-c", script]
    clean = subprocess.run(run + ["exit"], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(clean).parent == tmp_path and not Path(clean).exists()
    killed = subprocess.run(run + ["kill"], capture_output=True, text=True).stdout.strip()
    assert Path(killed).is_dir() and os.path.basename(killed).startswith("foodtrace-spool-")
    subprocess.run(run + ["exit"], capture_output=True, text=True, check=True)
    assert not Path(killed).exists()  # the next process swept it: its pid no longer runs
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="no fork")
def test_a_pool_worker_sends_a_large_result_through_the_spool():
    pool = forked.start_pool(2)
    assert pool is not None
    try:
        sent = pool.submit(_work_in_worker, 20_000).result()
    finally:
        pool.shutdown()
    assert isinstance(sent, str) and Path(sent).parent == Path(forked.spool())
    assert forked.received(sent) == _result(20_000)
    assert not Path(sent).exists()


def _work_in_worker(rows: int):
    return forked.send(_result(rows))
