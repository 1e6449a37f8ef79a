"""Backup and restore of the store and the service database, on every backend (issue 18)."""

from __future__ import annotations

import tarfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.backup_cli import make_backup, prune_backups, restore_backup
from api.cli import cli
from api.service.servicedb import ServiceDB
from graph.store import Correction, WriteContext, open_store
from ontology.errors import FoodtraceError
from ontology.records import Delivery, Lot, Operator


def _chain() -> list:
    return [Operator(id="f", kind="Farm", name="甲农场", phone="13700001111"),
            Operator(id="m", kind="Supermarket", name="乙超市"),
            Lot(id="l1", product_id="p", lot_number="L1"),
            Delivery(id="d1", lot_id="l1", sender_id="f", receiver_id="m", time="2026-03-01T08:00:00+08:00",
                     quantity=3.0, unit="KGM")]


def _snapshot(store) -> dict:
    return {t: sorted((r.id, r) for r in store.scan(t)) for t in ("operator", "lot", "delivery")}


def test_backup_then_changes_then_restore_round_trip(store, tmp_path):
    loaded = store.write(_chain(), context=WriteContext(kind="load", source="a.csv", digest="A"))
    store.correct([Correction("operator", "f", "name", "甲家庭农场", "更名")], WriteContext(kind="correction"))
    service = str(tmp_path / "service.db")
    db = ServiceDB(service)
    db.create_key("admin", name="管理员")
    db.close()
    snap, versions, seq = _snapshot(store), store.versions(["f"]), store.change_seq()
    manifest = make_backup(store, tmp_path / "b.tar.gz", service)
    assert manifest["backend"] == store.name and manifest["service"]["api_key"] == 1
    assert set(manifest["members"]) == {"store.sqlite" if store.name == "sqlite" else "store.jsonl.gz", "service.sqlite"}
    # the store moves on: a deletion, a new record, a correction
    store.delete("delivery", ["d1"], WriteContext(kind="delete", reason="x"))
    store.write([Lot(id="l2", product_id="p")])
    store.correct([Correction("operator", "m", "kind", "Restaurant", "y")], WriteContext(kind="correction"))
    last = max(store.batches())
    done = restore_backup(store, tmp_path / "b.tar.gz", service, with_service_db=False,
                          context=WriteContext(kind="restore", actor="值班员", source="test"))
    assert _snapshot(store) == snap and store.versions(["f"]) == versions
    assert store.sources("lot", ["l1"]) == {"l1": [loaded.batch]}  # the record still knows its source
    b = store.batches([done["batch"]])[done["batch"]]
    assert (b.kind, b.actor) == ("restore", "值班员") and done["batch"] > last  # batch numbers never repeat
    assert store.change_seq() > seq and store.changes_since(store.change_seq() - 1)[-1][1] is None
    entries = ServiceDB(service).audit_entries()
    assert entries[-1].path == "foodtrace restore" and entries[-1].client == "值班员"


def test_a_damaged_or_foreign_backup_is_refused_and_changes_nothing(store, tmp_path):
    store.write(_chain())
    make_backup(store, tmp_path / "b.tar", None)
    with tarfile.open(tmp_path / "b.tar") as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "x", filter="data")
    part = next(n for n in names if n.startswith("store"))
    data = bytearray((tmp_path / "x" / part).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "x" / part).write_bytes(bytes(data))
    with tarfile.open(tmp_path / "bad.tar", "w") as tar:
        for n in names:
            tar.add(tmp_path / "x" / n, arcname=n)
    store.write([Lot(id="after", product_id="p")])
    before = _snapshot(store)
    with pytest.raises(FoodtraceError, match="SHA-256"):
        restore_backup(store, tmp_path / "bad.tar", None, with_service_db=False, context=WriteContext(kind="restore"))
    (tmp_path / "not.tar").write_bytes(b"hello")
    with pytest.raises(FoodtraceError, match="cannot be read"):
        restore_backup(store, tmp_path / "not.tar", None, with_service_db=False, context=WriteContext(kind="restore"))
    assert _snapshot(store) == before


def test_backup_during_a_load_holds_all_of_it_or_none(store, tmp_path):
    """A backup taken while a large write runs holds that write whole or not at all."""
    n = 20_000 if store.name == "sqlite" else 4_000
    store.write(_chain())
    started = threading.Event()

    def records():
        started.set()
        for i in range(n):
            yield Lot(id=f"bulk-{i}", product_id="p", lot_number=str(i))

    writer = threading.Thread(target=lambda: store.write(records()))
    writer.start()
    started.wait()
    seen = []
    for k in range(3):
        info = make_backup(store, tmp_path / f"b{k}.tar", None)["store_info"]
        seen.append(info["counts"]["lot"] - 1)
    writer.join()
    assert all(c in (0, n) for c in seen), seen
    assert store.counts()["lot"] == n + 1


def test_cli_backup_dir_with_retention_and_restore_with_service_db(tmp_path):
    db = str(tmp_path / "s.db")
    service = str(tmp_path / "svc.db")
    with open_store(db) as s:
        s.write(_chain())
    ServiceDB(service).create_key("admin", name="甲")
    run = CliRunner()
    r = run.invoke(cli, ["backup", "--dir", str(tmp_path / "backups"), "--store", db, "--service-db", service])
    assert r.exit_code == 0, r.output
    (made,) = (tmp_path / "backups").glob("foodtrace-*.tar.gz")
    ServiceDB(service).create_key("admin", name="乙")  # made after the backup: gone with --with-service-db
    r = run.invoke(cli, ["restore", str(made), "--yes", "--with-service-db", "--store", db, "--service-db", service])
    assert r.exit_code == 0, r.output
    assert [k.name for k in ServiceDB(service).keys()] == ["甲"]
    r = run.invoke(cli, ["backup", "--store", db])
    assert r.exit_code == 2 and "--out FILE or --dir DIR" in r.output


def test_prune_keeps_the_newest_and_one_per_month(tmp_path):
    names = [f"foodtrace-2026{m:02d}{d:02d}T020000.tar.gz" for m in (1, 2, 3) for d in (1, 10, 20)]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    gone = prune_backups(tmp_path, keep_daily=2, keep_monthly=2)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["foodtrace-20260210T020000.tar.gz".replace("10T", "20T"), "foodtrace-20260310T020000.tar.gz",
                    "foodtrace-20260320T020000.tar.gz"] and len(gone) == 6
    assert not any(Path(tmp_path / n).exists() for n in names[:6] if n not in left)
