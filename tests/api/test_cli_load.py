"""`foodtrace load` and `foodtrace stats` as a user runs them: real processes, a real SQLite file."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.sqlite import SQLiteStore

FOODTRACE = str(Path(sys.executable).parent / "foodtrace")
CTX = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
FARM, MARKET = "https://id.gs1.org/414/0614141123452", "https://id.gs1.org/414/4012345000115"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FOODTRACE_STORE": str(cwd / "store.db")}
    return subprocess.run([FOODTRACE, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def shipping(i: int, lot_form: str = "urn") -> dict:
    lot = (f"urn:epc:class:lgtin:4012345.012345.L{i}" if lot_form == "urn"
           else f"https://id.gs1.org/01/04012345123456/10/L{i}")
    return {
        "type": "ObjectEvent", "eventTime": f"2026-03-01T08:{i % 60:02d}:00+08:00", "eventTimeZoneOffset": "+08:00",
        "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
        "quantityList": [{"epcClass": lot, "quantity": 10 + i % 7, "uom": "KGM"}],
        "bizTransactionList": [{"type": "inv", "bizTransaction": f"urn:foodtrace:ticket:X:INV{i}"}],
        "sourceList": [{"type": "location", "source": FARM}],
        "destinationList": [{"type": "location", "destination": MARKET}],
    }


def document(events: list[dict], context: bool = True) -> dict:
    d = {"type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T00:00:00Z",
         "epcisBody": {"eventList": events}}
    if context:
        d["@context"] = CTX
    return d


def write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def stats(cwd: Path) -> dict:
    out = run("stats", "--format", "json", cwd=cwd)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_load_twice_changes_nothing(tmp_path):
    f = write(tmp_path / "ship.json", document([shipping(i) for i in range(20)]))
    first = run("load", str(f), cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    before = stats(tmp_path)
    assert before["counts"]["delivery"] == 20 and before["counts"]["event"] == 20
    second = run("load", str(f), cwd=tmp_path)
    assert second.returncode == 0
    assert stats(tmp_path) == before


def test_urn_and_digital_link_forms_are_one_lot(tmp_path):
    a = write(tmp_path / "a.json", document([shipping(1, "urn")]))
    b = write(tmp_path / "b.json", document([dict(shipping(1, "dl"), eventTime="2026-03-02T09:00:00+08:00",
                                                         bizTransactionList=[])]))
    assert run("load", str(a), str(b), cwd=tmp_path).returncode == 0
    counts = stats(tmp_path)["counts"]
    assert counts["lot"] == 1 and counts["delivery"] == 2


def test_bad_events_are_reported_good_ones_load(tmp_path):
    events = [shipping(i) for i in range(5)]
    events[1]["bizStep"] = "transforming"
    events[3]["eventTime"] = "2026-13-45T99:00:00+08:00"
    input_dir = tmp_path / "in"
    input_dir.mkdir()
    f = write(input_dir / "mixed.json", document(events))
    work = tmp_path / "work"
    work.mkdir()
    out = run("load", str(f), cwd=work)
    assert out.returncode == 1
    assert "rejects.csv" in out.stdout
    assert not (input_dir / "rejects.csv").exists()
    with open(work / "rejects.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["文件/file", "行/row", "字段/field", "值/value", "原因/reason"]
    bad = {r[1]: r for r in rows[1:]}
    assert set(bad) == {"event 2", "event 4"}
    assert "transforming" in bad["event 2"][3] and bad["event 2"][0].endswith("mixed.json")
    assert stats(work)["counts"]["delivery"] == 3


def test_document_level_rule_rejects_every_event(tmp_path):
    f = write(tmp_path / "noctx.json", document([shipping(i) for i in range(3)], context=False))
    out = run("load", str(f), "--rejects", str(tmp_path / "r.csv"), cwd=tmp_path)
    assert out.returncode == 1
    rows = list(csv.reader(open(tmp_path / "r.csv", encoding="utf-8-sig")))[1:]
    assert [r[1] for r in rows] == ["event 1", "event 2", "event 3"]
    assert all("@context" in r[4] for r in rows)
    assert stats(tmp_path)["counts"]["delivery"] == 0


def test_unreadable_file_exit_2_without_traceback(tmp_path):
    good = write(tmp_path / "good.json", document([shipping(1)]))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document([shipping(2)]))[:-40], encoding="utf-8")
    out = run("load", str(good), str(broken), cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stdout + out.stderr
    assert "broken.json" in out.stdout
    assert stats(tmp_path)["counts"]["delivery"] == 1


def test_usage_error_exit_2(tmp_path):
    out = run("load", "--kind", "nonsense", "x.csv", cwd=tmp_path)
    assert out.returncode == 2


def test_unknown_store_scheme_is_one_line(tmp_path):
    out = run("stats", "--store", "mongodb://x/y", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == ("foodtrace: unknown store URL scheme 'mongodb' in 'mongodb://x/y'; "
                                  "known schemes: " + ", ".join(_known()) + " (or a plain file path)")


def _known() -> list[str]:
    from graph.store import known_schemes

    return known_schemes()


@pytest.mark.slow
def test_load_killed_mid_file_leaves_store_unchanged(tmp_path):
    small = write(tmp_path / "small.json", document([shipping(i) for i in range(3)]))
    assert run("load", str(small), cwd=tmp_path).returncode == 0
    before = stats(tmp_path)
    big = write(tmp_path / "big.json", document([shipping(i) for i in range(1000, 61000)]))
    env = {**os.environ, "FOODTRACE_STORE": str(tmp_path / "store.db")}
    proc = subprocess.Popen([FOODTRACE, "load", str(big)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = tmp_path / "store.db-wal"
    deadline = time.time() + 300
    # wait until the load is writing its batch (the write-ahead log grows), then kill it hard
    while time.time() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > 4 * 2**20:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the load finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert stats(tmp_path) == before
    with SQLiteStore(tmp_path / "store.db") as s:
        assert s.counts()["delivery"] == 3


def test_clean_office_files_exit_0_with_the_skipped_rows_listed(tmp_path):
    """A clean operators list and 台账 as clerks make them (title, 合计, 注 and footer rows, a 说明 sheet): exit 0,
    the skipped rows counted in the summary and listed in rejects-notes.csv, no rejects file."""
    from tests.loaders import office

    office.write_operators_xlsx(tmp_path / "经营户名录.xlsx")
    office.write_ledger_xlsx(tmp_path / "进货台账.xlsx")
    out = run("load", "经营户名录.xlsx", "进货台账.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "合计行/a total row (合计, 小计, 总计)" in out.stdout and "rejects-notes.csv" in out.stdout
    assert not (tmp_path / "rejects.csv").exists()
    with (tmp_path / "rejects-notes.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = [(r["文件/file"].rsplit("/", 1)[-1], r["工作表/sheet"], r["行/row"], r["类别/kind"])
                for r in csv.DictReader(f)]
    assert rows == [("经营户名录.xlsx", "说明", "sheet", "instructions"), ("经营户名录.xlsx", "经营户名录", "7", "total"),
                    ("经营户名录.xlsx", "经营户名录", "8", "note"), ("经营户名录.xlsx", "经营户名录", "9", "footer"),
                    ("进货台账.xlsx", "填表说明", "sheet", "instructions"), ("进货台账.xlsx", "进货台账", "3", "group"),
                    ("进货台账.xlsx", "进货台账", "11", "total"), ("进货台账.xlsx", "进货台账", "12", "note"),
                    ("进货台账.xlsx", "进货台账", "13", "footer")]
    assert stats(tmp_path)["counts"]["delivery"] == 6
