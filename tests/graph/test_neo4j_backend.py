"""Neo4j-specific behaviour of graph.neo4j (the shared contract lives in test_store_contract.py).

These tests need the local test server (`make neo4j-start`, or scripts/neo4j/start.sh); NEO4J_URI names
it (default bolt://127.0.0.1:7687). They skip only where no Java/Maven is available, and fail under CI.
"""

from __future__ import annotations

import os
import socket

import pytest

from graph.neo4j import SCHEMES, Neo4jStore, parse_url
from graph.store import known_schemes, open_store
from ontology.errors import StoreError, StoreUnavailable
from ontology.records import Case, Delivery, Event, Lot, Operator, Retraction, TestResult
from tests.conftest import _neo4j_uri_or_skip



def test_every_neo4j_scheme_is_registered():
    assert set(SCHEMES) <= set(known_schemes())


@pytest.fixture
def neo():
    s = open_store(_neo4j_uri_or_skip())
    s.clear()
    try:
        yield s
    finally:
        s.clear()
        s.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- URLs and connection errors (no server needed) -----------------------------------------------

def test_url_parts_and_masked_password():
    u = parse_url("bolt+s://reader:p%3Ass@graph.example.org:7688/?database=nantong")
    assert (u.driver_uri, u.user, u.password, u.database) == ("bolt+s://graph.example.org:7688", "reader", "p:ss",
                                                             "nantong")
    assert "p%3Ass" not in u.shown and "p:ss" not in u.shown and "reader:***@graph.example.org" in u.shown
    bare = parse_url("neo4j://127.0.0.1")
    assert (bare.driver_uri, bare.user, bare.password, bare.database) == ("neo4j://127.0.0.1", None, None, None)


def test_credentials_and_database_from_the_settings(monkeypatch):
    from api.settings import get_settings

    monkeypatch.setenv("NEO4J_USER", "ft")
    monkeypatch.setenv("NEO4J_PASSWORD", "secret")
    monkeypatch.setenv("NEO4J_DATABASE", "trace")
    options = get_settings().store_options()
    u = parse_url("neo4j+ssc://db:7687", options)
    assert (u.user, u.password, u.database) == ("ft", "secret", "trace")
    assert parse_url("bolt://db:7687?database=other", options).database == "other"
    mine = parse_url("bolt://me:pw@db:7687", options)
    assert (mine.user, mine.password) == ("me", "pw")
    assert parse_url("neo4j+ssc://db:7687").user is None  # library code reads no environment


@pytest.mark.parametrize("scheme", ["bolt", "neo4j"])
def test_unreachable_server_names_the_url(scheme):
    url = f"{scheme}://admin:hunter2@127.0.0.1:{_free_port()}"
    with pytest.raises(StoreUnavailable) as err:
        open_store(url)
    msg = str(err.value)
    assert f"{scheme}://admin:***@127.0.0.1:" in msg and "hunter2" not in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_not_a_neo4j_url():
    with pytest.raises(StoreUnavailable, match="not a Neo4j URL"):
        Neo4jStore("http://127.0.0.1:7474")


# -- against the server ------------------------------------------------------------------------------

def test_constraints_and_indexes_created_on_first_write(neo):
    neo.write([Lot(id="urn:foodtrace:lot:x:1", product_id="p")])
    with neo._driver.session(database=neo.database) as s:
        constraints = {r["name"]: (r["labelsOrTypes"], r["properties"], r["type"])
                       for r in s.run("SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties, type")}
        indexes = {r["name"]: (r["labelsOrTypes"], r["properties"], r["state"])
                   for r in s.run("SHOW INDEXES YIELD name, labelsOrTypes, properties, state")}
    assert constraints["ft_delivery_id"] == (["Delivery"], ["id"], "UNIQUENESS")
    assert constraints["ft_event_hash"] == (["Event"], ["hash"], "UNIQUENESS")
    for name, label, prop in [("ft_delivery_lot_id", "Delivery", "lot_id"),
                              ("ft_delivery_sender_id", "Delivery", "sender_id"),
                              ("ft_delivery_receiver_id", "Delivery", "receiver_id"),
                              ("ft_transformation_item_lot_id", "TransformationItem", "lot_id"),
                              ("ft_transformation_item_transformation_id", "TransformationItem", "transformation_id"),
                              ("ft_alias_canonical_id", "Alias", "canonical_id"),
                              ("ft_retraction_event_id", "Retraction", "event_id"), ("ft_lot__seq", "Lot", "_seq"),
                              ("ft_delivery_time", "Delivery", "time"), ("ft_trace_code_code", "TraceCode", "code"),
                              ("ft_operator_uscc", "Operator", "uscc"), ("ft_product_gtin", "Product", "gtin")]:
        assert indexes[name] == ([label], [prop], "ONLINE")
    # only reads, identifiers, dates and codes are indexed: every index slows the writes down
    for name in ("ft_delivery_quantity", "ft_delivery_event_id", "ft_delivery_ticket_id"):
        assert name not in indexes


def test_indexes_no_read_uses_are_dropped(neo):
    with neo._driver.session(database=neo.database) as s:
        s.run("CREATE INDEX ft_delivery_unit IF NOT EXISTS FOR (n:Delivery) ON (n.unit)").consume()
        s.run("CREATE INDEX other_delivery_quantity IF NOT EXISTS FOR (n:Delivery) ON (n.quantity)").consume()
    try:
        again = Neo4jStore(neo.url)
        try:
            again.ensure_schema()
        finally:
            again.close()
        with neo._driver.session(database=neo.database) as s:
            names = {r["name"] for r in s.run("SHOW INDEXES YIELD name")}
        assert "ft_delivery_unit" not in names and "ft_delivery_lot_id" in names
        assert "other_delivery_quantity" in names  # not ours: left alone
    finally:
        with neo._driver.session(database=neo.database) as s:
            s.run("DROP INDEX other_delivery_quantity IF EXISTS").consume()


def test_values_round_trip_with_sqlite_types(neo):
    op = Operator(id="o'1\" }) MATCH (n) DETACH DELETE n //", kind="Farm", name="如皋`养殖场`", haccp=True,
                  individual=False, lat=32.0, lon=120.5)
    case = Case(id="c1", operator_id=op.id, opened="2026-03-01", fine=0.0, transferred_to_police=False)
    tr = TestResult(id="tr1", sample_id="s1", item="恩诺沙星", value=12, limit=0, conclusion="nonconforming")
    neo.write([op, case, tr])
    got = neo.get("operator", op.id)
    assert got == op
    assert type(got.haccp) is bool and type(got.lat) is float
    assert neo.get("case", "c1") == case
    got_tr = neo.get("test_result", "tr1")
    assert (got_tr.value, got_tr.limit) == (12.0, 0.0) and type(got_tr.value) is float  # as SQLite's REAL gives
    # user text is always a parameter: the hostile id above was stored, not executed
    assert neo.counts()["case"] == 1
    assert list(neo.scan("operator", {"name": "如皋`养殖场`"})) == [op]
    assert list(neo.scan("operator", {"haccp": 1})) == [op]


def test_scan_rejects_unknown_field_and_keeps_insertion_order(neo):
    with pytest.raises(StoreError, match="no field"):
        list(neo.scan("lot", {"id) DETACH DELETE (n": 1}))
    lots = [Lot(id=f"urn:foodtrace:lot:z:{i:05d}"[::-1], product_id="p") for i in range(12000)]
    neo.write(lots[:7000])
    neo.write(lots[7000:] + [Lot(id=lots[0].id, lot_number="again")])  # an update keeps its place
    assert [lot.id for lot in neo.scan("lot")] == [lot.id for lot in lots]


def test_repeated_ids_in_one_batch_merge_in_order(neo):
    st = neo.write([Operator(id="op", kind="Farm", name="甲"), Operator(id="op", name="乙"),
                    Operator(id="op", name="乙")])
    assert st.changed == {"operator": 2} and st.received == {"operator": 3}
    assert neo.get("operator", "op") == Operator(id="op", kind="Farm", name="乙")


def test_same_hash_twice_in_one_batch_keeps_the_first(neo):
    a = Event(id="urn:uuid:a", type="ObjectEvent", time="2026-03-01T08:00:00+08:00", hash="h")
    b = Event(id="urn:uuid:b", type="ObjectEvent", time="2026-03-01T08:00:00+08:00", hash="h")
    st = neo.write([a, b])
    assert st.changed == {"event": 1}
    assert neo.get_many("event", ["urn:uuid:a", "urn:uuid:b"]) == {"urn:uuid:a": a}


def test_frontier_reads_are_one_query_per_call(neo, monkeypatch):
    ds = [Delivery(id=f"d{i}", lot_id=f"lot{i % 50}", sender_id=f"op{i % 7}", receiver_id=f"op{(i + 1) % 7}",
                   time="2026-03-01T08:00:00+08:00", quantity=1.0, unit="KGM", event_id=f"e{i % 3}")
          for i in range(500)]
    neo.write(ds + [Retraction(id="r", event_id="e0", declared="2026-03-02T00:00:00+08:00")])
    queries = []
    real = Neo4jStore._rows

    def counting(self, query, **params):
        queries.append((query, params))
        return real(self, query, **params)

    monkeypatch.setattr(Neo4jStore, "_rows", counting)
    got = neo.deliveries(lot_ids=[f"lot{i}" for i in range(25)], sender_ids=["op1", "op2", "op3"])
    want = sorted((d for d in ds if int(d.lot_id[3:]) < 25 and d.sender_id in ("op1", "op2", "op3")
                   and d.event_id != "e0"), key=lambda d: d.id)
    assert got == want
    assert len(queries) == 1
    query, params = queries[0]
    assert "lot0" not in query and params["first"][0] == "lot0"  # values travel as parameters


def test_progress_and_empty_write(neo):
    seen = []
    st = neo.write([], progress=seen.append)
    assert (st.total_received, st.total_changed, seen) == (0, 0, [0])
    neo.write([Lot(id=f"l{i}", product_id="p") for i in range(12001)], progress=seen.append)
    assert seen[-1] == 12001 and seen[1:] == sorted(seen[1:])


def test_database_that_does_not_exist(monkeypatch):
    uri = _neo4j_uri_or_skip()
    sep = "&" if "?" in uri else "?"
    with pytest.raises(StoreUnavailable, match="no database 'nosuchdb'"):
        open_store(f"{uri}{sep}database=nosuchdb")


def test_every_scheme_is_accepted_by_the_driver():
    # the secure schemes need TLS on the server; here only their parsing and driver set-up are checked
    for scheme in SCHEMES:
        assert parse_url(f"{scheme}://127.0.0.1:7687").driver_uri == f"{scheme}://127.0.0.1:7687"
    assert os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687").split("://")[0] in SCHEMES


def test_transient_failure_is_retried_and_the_batch_written_once(neo, monkeypatch):
    from neo4j.exceptions import ServiceUnavailable

    real = Neo4jStore._write_chunk
    calls = []

    def flaky(tx, lab, chunk, seq, **kw):
        calls.append(len(chunk))
        if len(calls) == 2:  # the connection drops in the middle of the transaction
            raise ServiceUnavailable("connection reset by peer")
        return real(tx, lab, chunk, seq, **kw)

    monkeypatch.setattr(Neo4jStore, "_write_chunk", staticmethod(flaky))
    lots = [Lot(id=f"l{i}", product_id="p") for i in range(3)]
    ops = [Operator(id=f"o{i}", kind="Farm", name=f"场{i}") for i in range(2)]
    st = neo.write(lots + ops)
    assert calls == [3, 2, 3, 2]  # the first attempt died at its 2nd chunk; the retry wrote both again
    assert st.changed == {"lot": 3, "operator": 2}
    assert (neo.counts()["lot"], neo.counts()["operator"]) == (3, 2)
    assert [r.id for r in neo.scan("lot")] == ["l0", "l1", "l2"]


def test_records_are_written_block_by_block_in_one_transaction(neo, monkeypatch):
    import graph.neo4j as backend

    monkeypatch.setattr(backend, "_BLOCK", 2)  # every 2 records read are stored before the next are read

    def failing():
        yield Lot(id="l0", product_id="p")
        yield Lot(id="l1", product_id="p")
        yield Lot(id="l2", product_id="p")
        raise ValueError("bad file")

    with pytest.raises(ValueError, match="bad file"):
        neo.write(failing())
    assert neo.counts()["lot"] == 0  # the blocks already sent were rolled back

    # an id repeated in later blocks merges in order; changed counts as one batch would
    recs = [Lot(id="l0", product_id="p"), Lot(id="l1", product_id="p"), Lot(id="l0", lot_number="A"),
            Lot(id="l0", lot_number="A"), Lot(id="l0", product_id="q"), Lot(id="l2")]
    st = neo.write(iter(recs))
    assert (st.received, st.changed) == ({"lot": 6}, {"lot": 5})
    assert neo.get_many("lot", ["l0"])["l0"] == Lot(id="l0", product_id="q", lot_number="A")
    assert [r.id for r in neo.scan("lot")] == ["l0", "l1", "l2"]
    assert neo.write(iter(recs)).changed == {"lot": 2}  # l0: p again, then q again (as SQLite counts)


def test_a_retried_transaction_replays_the_records_already_read(neo, monkeypatch):
    import graph.neo4j as backend
    from neo4j.exceptions import ServiceUnavailable

    monkeypatch.setattr(backend, "_BLOCK", 2)
    real = Neo4jStore._write_chunk
    calls = []

    def flaky(tx, lab, chunk, seq, **kw):
        calls.append(len(chunk))
        if len(calls) == 2:  # the connection drops after the first block
            raise ServiceUnavailable("connection reset by peer")
        return real(tx, lab, chunk, seq, **kw)

    monkeypatch.setattr(Neo4jStore, "_write_chunk", staticmethod(flaky))
    st = neo.write(Lot(id=f"l{i}", product_id="p") for i in range(5))  # a generator: read once
    assert st.changed == {"lot": 5} and st.received == {"lot": 5}
    assert [r.id for r in neo.scan("lot")] == ["l0", "l1", "l2", "l3", "l4"]


def _event_writes(rng, writes: int) -> list[list[Event]]:
    """Writes of events whose ids and hashes come from small pools: ids and hashes met again, hashes taken by
    other events, stored and in the same write, events changing their hash (and a few without one)."""
    out = []
    for _ in range(writes):
        out.append([Event(id=f"urn:uuid:{rng.randrange(6)}", type="ObjectEvent", time="2026-03-01T08:00:00+08:00",
                          hash=None if rng.random() < 0.05 else f"h{rng.randrange(6)}",
                          body=f'{{"n": {rng.randrange(3)}}}')
                    for _ in range(rng.randrange(1, 7))])
    return out


@pytest.mark.parametrize("seed", range(25))
def test_events_sharing_hashes_stored_as_the_embedded_store_stores_them(neo, tmp_path, seed):
    """Random oracle: the same writes of events (ids and hashes from small pools) leave the same events in Neo4j
    as in SQLite (whose row-by-row upsert is the reference), with the same counts of changed records."""
    import random

    writes = _event_writes(random.Random(seed), 4)
    with open_store(str(tmp_path / "ref.db")) as ref:
        want = [ref.write(w).changed.get("event", 0) for w in writes]
        stored = {e.id: e for e in ref.scan("event")}
    got = [neo.write(w).changed.get("event", 0) for w in writes]
    assert {e.id: e for e in neo.scan("event")} == stored
    assert got == want
