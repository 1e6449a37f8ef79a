"""The store's pass-throughs kept in the service database (api.service.holding): read from the store once per
write, read back identical, never served after a write or for another store, and a trace never fails for it."""

from __future__ import annotations

import json
import random
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from api.cli import cli
from api.service.holding import FORMAT, TABLE, KeptPassThroughs, store_key
from api.service.servicedb import ServiceDB
from graph.store import open_store, write_mark
from graph.view import ReadView
from ontology.records import Delivery, Lot, Operator, Product, Transformation, TransformationItem
from reasoning.holding import PassThroughs, pass_throughs

KINDS = ["Farm", "Stall", "Supermarket", "WholesaleMarket", None]
CATS = ["pork", "leafy_vegetable", "prepared_food", None]


def random_network(rng: random.Random, n: int = 300) -> list:
    ops = [Operator(id=f"op{i}", kind=rng.choice(KINDS) or "Other", name=f"主体{i}") for i in range(12)]
    prods = [Product(id=f"p{i}", name=f"产品{i}", category=c) for i, c in enumerate(CATS)]
    lots = [Lot(id=f"lot{i}", product_id=f"p{rng.randrange(len(CATS))}") for i in range(30)]
    dels = [Delivery(id=f"d{i}", lot_id=f"lot{rng.randrange(30)}", sender_id=f"op{rng.randrange(12)}",
                     receiver_id=f"op{rng.randrange(12)}",
                     time=f"2026-03-{1 + rng.randrange(20):02d}T{rng.randrange(24):02d}:00:00+08:00",
                     received_time=(f"2026-03-{1 + rng.randrange(20):02d}T08:30:00+08:00" if rng.random() < .3 else None))
            for i in range(n)]
    trans = [Transformation(id="t1", station_id="op1", time="2026-03-05T10:00:00+08:00", kind="processing"),
             TransformationItem(id="t1:in", transformation_id="t1", lot_id="lot1", role="input"),
             TransformationItem(id="t1:out", transformation_id="t1", lot_id="lot2", role="output")]
    return [*ops, *prods, *lots, *dels, *trans]


def same(a: PassThroughs, b: PassThroughs) -> None:
    ka, kb = np.lexsort((a.seconds, a.shipped)), np.lexsort((b.seconds, b.shipped))
    assert a.category[ka].tolist() == b.category[kb].tolist()
    assert a.kind[ka].tolist() == b.kind[kb].tolist()
    assert a.seconds[ka].tolist() == b.seconds[kb].tolist() and a.shipped[ka].tolist() == b.shipped[kb].tolist()
    for f in ("made_in", "made_out", "made_at"):
        assert sorted(map(str, getattr(a, f).tolist())) == sorted(map(str, getattr(b, f).tolist())), f
    assert a.present == b.present


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_pass_throughs_are_what_the_store_gives_until_a_write(tmp_path, seed):
    rng = random.Random(seed)
    s = open_store(str(tmp_path / "s.db"))
    s.write(random_network(rng))
    kept = KeptPassThroughs(str(tmp_path / "service.db"))
    first, second = kept.get(s), kept.get(s)
    assert kept.reads == 1 and len(first) > 0
    same(first, pass_throughs(ReadView(s)))
    same(second, first)
    with sqlite3.connect(tmp_path / "service.db") as db:
        assert db.execute(f"SELECT seq, batch, format FROM {TABLE}").fetchall() == [(*write_mark(s), FORMAT)]
    s.write([Delivery(id="late", lot_id="lot3", sender_id="op4", receiver_id="op5", time="2026-03-28T08:00:00+08:00")])
    third = kept.get(s)
    assert kept.reads == 2
    same(third, pass_throughs(ReadView(s)))
    s.close()


def test_another_store_or_another_format_is_read_from_its_store(tmp_path):
    a, b = open_store(str(tmp_path / "a.db")), open_store(str(tmp_path / "b.db"))
    a.write(random_network(random.Random(5)))
    b.write(random_network(random.Random(6)))
    assert write_mark(a) == write_mark(b)      # the same write mark: only the store's key tells them apart
    kept = KeptPassThroughs(str(tmp_path / "service.db"))
    same(kept.get(a), pass_throughs(ReadView(a)))
    same(kept.get(b), pass_throughs(ReadView(b)))
    assert kept.reads == 2 and store_key(a) != store_key(b)
    with sqlite3.connect(tmp_path / "service.db") as db:
        db.execute(f"UPDATE {TABLE} SET format = format + 1")   # kept by another version of foodtrace
    same(kept.get(a), pass_throughs(ReadView(a)))
    assert kept.reads == 3
    a.close(); b.close()


def test_an_unusable_service_database_only_costs_the_read(tmp_path, caplog):
    s = open_store(str(tmp_path / "s.db"))
    s.write(random_network(random.Random(7)))
    kept = KeptPassThroughs(str(tmp_path / "no-such-folder" / "service.db"))
    same(kept.get(s), pass_throughs(ReadView(s)))
    same(kept.get(s), pass_throughs(ReadView(s)))
    assert kept.reads == 2 and "not kept" in caplog.text
    s.close()


def test_a_backup_of_the_service_database_leaves_them_out(tmp_path):
    s = open_store(str(tmp_path / "s.db"))
    s.write(random_network(random.Random(8)))
    path = str(tmp_path / "service.db")
    KeptPassThroughs(path).get(s)
    ServiceDB(path).backup_to(str(tmp_path / "copy.db"))
    with sqlite3.connect(tmp_path / "copy.db") as db:
        assert TABLE not in {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    s.close()


def test_foodtrace_trace_keeps_them_and_answers_the_same(tmp_path, monkeypatch):
    """Two traces and one after a write: the second reads the kept pass-throughs (the service database's row
    carries the store's write mark), every answer equals the one traced without a usable service database."""
    store_path = str(tmp_path / "store.db")
    s = open_store(store_path)
    s.write(random_network(random.Random(9), n=400))
    mark = write_mark(s)
    s.close()
    service = tmp_path / "service.db"

    def traced(service_db: str) -> dict:
        monkeypatch.setenv("FOODTRACE_SERVICE_DB", service_db)
        r = CliRunner().invoke(cli, ["trace", "down", "lot1", "--format", "json", "--store", store_path],
                               catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return json.loads(r.output)

    live = traced(str(tmp_path / "nowhere" / "x.db"))
    assert any(w["source"].startswith("learned") for w in live["windows_used"])  # learned from the records
    assert traced(str(service)) == live
    with sqlite3.connect(service) as db:
        assert db.execute(f"SELECT seq, batch FROM {TABLE}").fetchall() == [mark]
    assert traced(str(service)) == live
    s = open_store(store_path)
    s.write([Delivery(id="late", lot_id="lot1", sender_id="op2", receiver_id="op3", time="2026-03-29T08:00:00+08:00")])
    mark2 = write_mark(s)
    s.close()
    assert traced(str(service)) == traced(str(tmp_path / "nowhere" / "x.db"))
    with sqlite3.connect(service) as db:
        assert db.execute(f"SELECT seq, batch FROM {TABLE}").fetchall() == [mark2] != [mark]
