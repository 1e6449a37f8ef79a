"""The store contract: every backend gives the same answers (run once per backend)."""

from __future__ import annotations

import pytest

from ontology.errors import StoreError, UnknownStoreScheme
from ontology.records import (
    RECORD_TYPES, Alias, Certificate, Delivery, Event, Lot, Operator, Retraction, Sample, SamplingSource,
    TestResult, Transformation, TransformationItem,
)
from graph.store import open_store

LOT = "https://id.gs1.org/01/06901234567892/10/L1"
LOT2 = "https://id.gs1.org/01/06901234567892/10/L2"


def chain():
    return [
        Operator(id="urn:foodtrace:operator:farm", kind="Farm", name="如皋某某养殖场", haccp=False, lat=32.1),
        Operator(id="urn:foodtrace:operator:sh", kind="Slaughterhouse", name="南通某某屠宰场", haccp=True),
        Operator(id="urn:foodtrace:operator:mk", kind="WholesaleMarket", name="南通某某批发市场"),
        Lot(id=LOT, product_id="https://id.gs1.org/01/06901234567892", lot_number="L1"),
        Lot(id=LOT2, product_id="https://id.gs1.org/01/06901234567892", lot_number="L2"),
        Delivery(id="d1", lot_id=LOT, sender_id="urn:foodtrace:operator:farm", receiver_id="urn:foodtrace:operator:sh",
                 time="2026-03-01T08:00:00+08:00", quantity=10.0, unit="H87", event_id="e1"),
        Delivery(id="d2", lot_id=LOT2, sender_id="urn:foodtrace:operator:sh", receiver_id="urn:foodtrace:operator:mk",
                 time="2026-03-02T08:00:00+08:00", quantity=850.5, unit="KGM", event_id="e2"),
        Delivery(id="d3", lot_id=LOT2, sender_id="urn:foodtrace:operator:mk", receiver_id="urn:foodtrace:operator:farm",
                 time="2026-03-03T08:00:00+08:00", quantity=1.0, unit="KGM"),
        Transformation(id="t1", station_id="urn:foodtrace:operator:sh", time="2026-03-01T12:00:00+08:00",
                       kind="slaughter", event_id="e3"),
        TransformationItem(id="t1-in", transformation_id="t1", lot_id=LOT, role="input", quantity=10.0, unit="H87"),
        TransformationItem(id="t1-out", transformation_id="t1", lot_id=LOT2, role="output"),
        Alias(id="urn:epc:class:lgtin:6901234.056789.L1", canonical_id=LOT, entity="lot", scheme="epc_urn"),
        Alias(id="91320602MA1MXXXX0Y", canonical_id="urn:foodtrace:operator:sh", entity="operator", scheme="uscc"),
    ]


def test_round_trip_every_field(store):
    recs = chain()
    store.write(recs)
    for rec in recs:
        assert store.get(rec.table, rec.id) == rec


def test_announcement_fields_round_trip(store):
    """What real announcements carry (issue 17): a sample may lack its sampled unit; source, coverage, task,
    province, SAMR category, food-related flag and what was missing are kept on both backends."""
    src = SamplingSource(id="urn:foodtrace:sampling_source:x", name="国内监督抽查()", coverage="failures_only",
                         coverage_basis="detected")
    s = Sample(id="s-real", plan="supervisory", producer_id="urn:foodtrace:operator:farm", product_name="手洗餐具用洗涤剂",
               conclusion="nonconforming", announced="2021-01-22", task="国内监督抽查(重庆市场监管局)",
               task_kind="provincial", source_id=src.id, province="重庆", samr_category="90.01",
               samr_path="食品相关产品/洗涤剂", category_text="食品相关产品/洗涤剂/消毒剂", food_related=True,
               missing="sampled batch result limit", also_sources="urn:a urn:b")
    t = TestResult(id="t-real", sample_id=s.id, item="菌落总数﹙CFU/g﹚", hazard_class="food_contact", value_text="/",
                   limit_text="/", conclusion="nonconforming")
    store.write([src, s, t])
    assert store.get("sampling_source", src.id) == src
    assert store.get("sample", s.id) == s and store.get("test_result", t.id) == t
    assert [x.id for x in store.scan("sample", {"source_id": src.id})] == [s.id]
    store.write([SamplingSource(id=src.id, coverage="both")])
    assert store.get("sampling_source", src.id).coverage == "both"
    assert store.get("sampling_source", src.id).name == "国内监督抽查()"


def test_counts_cover_every_table(store):
    store.write(chain())
    counts = store.counts()
    assert set(counts) == {t.table for t in RECORD_TYPES}
    assert counts["operator"] == 3 and counts["delivery"] == 3 and counts["alias"] == 2 and counts["sample"] == 0


def test_second_write_changes_nothing(store):
    first = store.write(chain())
    assert first.total_changed == len(chain())
    again = store.write(chain())
    assert again.total_changed == 0
    assert again.total_received == len(chain())


def test_merge_keeps_known_fields_and_replaces_given_ones(store):
    store.write([Operator(id="op", kind="Operator", name="某某", uscc="91320602MA1MXXXX0Y")])
    st = store.write([Operator(id="op", kind="Supermarket", name="某某超市")])
    assert st.changed == {"operator": 1}
    got = store.get("operator", "op")
    assert (got.kind, got.name, got.uscc) == ("Supermarket", "某某超市", "91320602MA1MXXXX0Y")


def test_batch_is_all_or_nothing(store):
    def broken():
        yield from chain()
        raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        store.write(broken())
    assert sum(store.counts().values()) == 0


def test_last_batch_moves_with_every_write_of_any_table(store):
    """What a process caching derived answers compares: every write (a grade override too, which the change log
    of lots does not see) moves it; a failed write leaves it."""
    from ontology.records import GradeOverride

    start = store.last_batch()
    store.write([Operator(id="op", kind="Supermarket", name="某某超市")])
    first = store.last_batch()
    assert first > start
    store.write([GradeOverride(id="ov", operator_id="op", grade="D", reason="测试", by="测试",
                               created="2026-03-01T08:00:00+08:00")])
    second = store.last_batch()
    assert second > first

    def broken():
        yield Operator(id="op2", kind="Supermarket", name="乙")
        raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        store.write(broken())
    assert store.last_batch() >= second and store.get("operator", "op2") is None


def test_event_with_known_hash_is_not_stored_twice(store):
    e = Event(id="urn:uuid:1", type="ObjectEvent", time="2026-03-01T08:00:00+08:00", hash="ni:///sha-256;ab")
    store.write([e])
    store.write([Event(id="urn:uuid:2", type="ObjectEvent", time="2026-03-01T08:00:00+08:00",
                       hash="ni:///sha-256;ab")])
    assert store.counts()["event"] == 1
    assert store.get("event", "urn:uuid:2") is None


def _event(eid, h, body):
    return Event(id=eid, type="ObjectEvent", time="2026-03-01T08:00:00+08:00", hash=h, body=body)


def test_stored_event_sent_again_with_another_events_hash_is_skipped_not_a_failed_write(store):
    # an event re-sent under its id with the content (so the hash) of another stored event would make two stored
    # events the same: its update is skipped as a new event's insert is, and the rest of the write goes on
    e1, e2 = _event("urn:uuid:1", "h-a", '{"a": 1}'), _event("urn:uuid:2", "h-b", '{"b": 1}')
    store.write([e1, e2])
    st = store.write([_event("urn:uuid:1", "h-b", '{"b": 1}'), Operator(id="op", kind="Farm", name="甲"),
                      _event("urn:uuid:2", "h-b", '{"b": 2}')])
    assert store.get_many("event", ["urn:uuid:1", "urn:uuid:2"]) == {
        "urn:uuid:1": e1, "urn:uuid:2": _event("urn:uuid:2", "h-b", '{"b": 2}')}
    assert store.get("operator", "op") == Operator(id="op", kind="Farm", name="甲")
    assert st.changed.get("event", 0) == 1 and st.changed["operator"] == 1
    assert [v.op for v in store.versions(["urn:uuid:1"])] == []  # nothing changed: no previous version kept
    # the same within one write: a record of the write took the hash first
    st = store.write([_event("urn:uuid:3", "h-c", "{}"), _event("urn:uuid:4", "h-d", "{}"),
                      _event("urn:uuid:3", "h-d", '{"d": 1}')])
    assert store.get_many("event", ["urn:uuid:3", "urn:uuid:4"]) == {
        "urn:uuid:3": _event("urn:uuid:3", "h-c", "{}"), "urn:uuid:4": _event("urn:uuid:4", "h-d", "{}")}
    assert st.changed.get("event", 0) == 2 and store.counts()["event"] == 4
    # an event changing its own hash to a value nobody holds is an ordinary update
    store.write([_event("urn:uuid:4", "h-e", '{"e": 1}')])
    assert store.get("event", "urn:uuid:4") == _event("urn:uuid:4", "h-e", '{"e": 1}')


def test_resolve_by_alias_id_and_unknown(store):
    store.write(chain())
    assert store.resolve("urn:epc:class:lgtin:6901234.056789.L1") == LOT
    assert store.resolve(LOT2) == LOT2
    assert store.resolve("91320602MA1MXXXX0Y") == "urn:foodtrace:operator:sh"
    assert store.resolve("nothing-like-this") is None
    assert store.resolve_many([LOT, "nope"]) == {LOT: LOT}
    assert store.aliases_of([LOT, LOT2]) == {LOT: ["urn:epc:class:lgtin:6901234.056789.L1"]}


def ids(records):
    return sorted(r.id for r in records)


def test_delivery_filters(store):
    store.write(chain())
    assert ids(store.deliveries(lot_ids=[LOT2])) == ["d2", "d3"]
    assert ids(store.deliveries(sender_ids=["urn:foodtrace:operator:sh", "urn:foodtrace:operator:mk"])) == ["d2", "d3"]
    assert ids(store.deliveries(receiver_ids=["urn:foodtrace:operator:farm"])) == ["d3"]
    assert ids(store.deliveries(lot_ids=[LOT2], sender_ids=["urn:foodtrace:operator:mk"])) == ["d3"]
    assert store.deliveries(lot_ids=[]) == []
    assert ids(store.deliveries()) == ["d1", "d2", "d3"]


def test_retracted_events_leave_traversals(store):
    store.write(chain() + [Retraction(id="r1", event_id="e2", declared="2026-03-04T00:00:00+08:00"),
                           Retraction(id="r2", event_id="e3", declared="2026-03-04T00:00:00+08:00")])
    assert store.retracted_events() == {"e2", "e3"}
    assert ids(store.deliveries(lot_ids=[LOT, LOT2])) == ["d1", "d3"]
    assert ids(store.deliveries(lot_ids=[LOT2], include_retracted=True)) == ["d2", "d3"]
    assert store.transformation_items(lot_ids=[LOT]) == []
    assert ids(store.transformation_items(lot_ids=[LOT], include_retracted=True)) == ["t1-in"]


def test_retraction_days_and_live_as_of(store):
    """A retraction is known from the day it was declared (Beijing day), the earliest one counting."""
    store.write(chain() + [Retraction(id="r1", event_id="e2", declared="2026-03-04T01:00:00+08:00"),
                           Retraction(id="r1b", event_id="e2", declared="2026-03-02T23:30:00Z"),
                           Retraction(id="r2", event_id="e3", declared="2026-03-05T00:00:00+08:00")])
    assert store.retraction_days() == {"e2": "2026-03-03", "e3": "2026-03-05"}
    assert ids(store.scan_live("delivery", as_of="2026-03-03")) == ["d1", "d2", "d3"]
    assert ids(store.scan_live("delivery", as_of="2026-03-04")) == ["d1", "d3"]
    assert ids(store.scan_live("transformation", as_of="2026-03-05")) != ids(store.scan_live("transformation", as_of="2026-03-06"))


def test_transformation_items(store):
    store.write(chain())
    assert ids(store.transformation_items(lot_ids=[LOT])) == ["t1-in"]
    assert ids(store.transformation_items(transformation_ids=["t1"])) == ["t1-in", "t1-out"]


def test_scan_with_filter(store):
    store.write(chain())
    assert ids(store.scan("operator", {"kind": "Farm"})) == ["urn:foodtrace:operator:farm"]
    assert ids(store.scan("delivery", {"event_id": None})) == ["d3"]
    assert len(list(store.scan("lot"))) == 2


def test_columns_of_a_whole_table(store):
    """The named fields of every record, in insertion order, as the records carry them (types included)."""
    store.write(chain())
    assert store.columns("delivery", ["id", "quantity", "event_id"]) == [
        (d.id, d.quantity, d.event_id) for d in store.scan("delivery")]
    assert store.columns("operator", ["id", "haccp", "lat"]) == [(o.id, o.haccp, o.lat) for o in store.scan("operator")]
    assert store.columns("retraction", ["id"]) == []
    with pytest.raises(StoreError, match="no field 'nope'"):
        store.columns("delivery", ["id", "nope"])


def test_column_pages_of_a_whole_table(store):
    """Page by page, the same tuples in the same order as in one read; no page larger than asked, none empty."""
    store.write(chain())
    store.write([Lot(id=f"urn:foodtrace:lot:p:{i}", product_id="p", lot_number=str(i)) for i in range(7)])
    whole = store.columns("lot", ["id", "lot_number"])
    pages = list(store.column_pages("lot", ["id", "lot_number"], page=3))
    assert [r for p in pages for r in p] == whole and len(whole) > 7
    assert [len(p) for p in pages] == [3] * (len(whole) // 3) + ([len(whole) % 3] if len(whole) % 3 else [])
    assert [r for p in store.column_pages("operator", ["id", "haccp"], page=2) for r in p] == store.columns(
        "operator", ["id", "haccp"])
    assert list(store.column_pages("retraction", ["id"], page=5)) == []
    with pytest.raises(StoreError, match="no field 'nope'"):
        list(store.column_pages("delivery", ["id", "nope"]))


def test_scan_with_one_of_many_values(store):
    """A list, tuple or set value matches any of its members; many values are read in chunks."""
    store.write(chain())
    assert ids(store.scan("delivery", {"lot_id": [LOT, "none"]})) == ids(store.scan("delivery", {"lot_id": LOT}))
    assert ids(store.scan("operator", {"kind": ("Farm", "WholesaleMarket")})) == ids(
        [*store.scan("operator", {"kind": "Farm"}), *store.scan("operator", {"kind": "WholesaleMarket"})])
    assert list(store.scan("delivery", {"lot_id": set()})) == []
    lots = [Lot(id=f"urn:foodtrace:lot:x:{i}", product_id="p", lot_number=str(i % 7)) for i in range(2500)]
    store.write(lots)
    got = ids(store.scan("lot", {"id": [x.id for x in lots], "lot_number": "3"}))
    assert got == sorted(x.id for x in lots if x.lot_number == "3")


def test_resolve_many_across_tables_aliases_and_unknown_in_one_call(store):
    """One call mixing ids of the first tables looked in (lots, operators), of later ones (deliveries,
    transformations), aliases and identifiers found nowhere, more of them than one statement takes: each answered
    as alone."""
    store.write(chain())
    lots = [Lot(id=f"urn:foodtrace:lot:y:{i}", product_id="p") for i in range(1200)]
    store.write(lots)
    unknown = [f"FZ{i:013d}" for i in range(1200)]
    wanted = ["d2", "t1", "urn:foodtrace:operator:mk", "urn:epc:class:lgtin:6901234.056789.L1",
              "91320602MA1MXXXX0Y", *unknown, *(lot.id for lot in lots)]
    expected = {"d2": "d2", "t1": "t1", "urn:foodtrace:operator:mk": "urn:foodtrace:operator:mk",
                "urn:epc:class:lgtin:6901234.056789.L1": LOT, "91320602MA1MXXXX0Y": "urn:foodtrace:operator:sh",
                **{lot.id: lot.id for lot in lots}}
    assert store.resolve_many(wanted) == expected
    singles = wanted[:25] + wanted[-20:]
    assert {w: store.resolve(w) for w in singles} == {w: expected.get(w) for w in singles}


def test_stored_ids_are_what_get_many_finds(store):
    store.write(chain())
    lots = [Lot(id=f"urn:foodtrace:lot:s:{i}", product_id="p") for i in range(1200)]
    store.write(lots)
    wanted = [lot.id for lot in lots[::2]] + [LOT, "urn:epc:class:lgtin:6901234.056789.L1", "missing", "d2"]
    assert store.stored_ids("lot", wanted) == set(store.get_many("lot", wanted)) == {LOT, *(x.id for x in lots[::2])}
    assert store.stored_ids("delivery", ["d2", "d9"]) == {"d2"}
    assert store.stored_ids("lot", []) == set()


def test_look_ups_while_writing_see_every_earlier_write(store):
    """What a write's records iterator looks up (a loader resolving references) sees what the writes before it
    committed, write after write (no snapshot outlives its write), and not its own records yet."""
    seen: list[tuple[set[str], str | None]] = []

    def records(i: int):
        before = [f"urn:foodtrace:lot:w:{j}" for j in range(i + 1)]
        seen.append((store.stored_ids("lot", before), store.resolve(f"urn:foodtrace:lot:w:{i - 1}")))
        yield Lot(id=f"urn:foodtrace:lot:w:{i}", product_id="p")
        seen.append((store.stored_ids("lot", before), None))

    for i in range(3):
        store.write(records(i))
    lot = [f"urn:foodtrace:lot:w:{j}" for j in range(3)]
    assert seen == [(set(), None), (set(), None),
                    ({lot[0]}, lot[0]), ({lot[0]}, None),
                    ({lot[0], lot[1]}, lot[1]), ({lot[0], lot[1]}, None)]


def test_many_ids_in_one_call(store):
    lots = [Lot(id=f"urn:foodtrace:lot:x:{i}", product_id="p") for i in range(2500)]
    store.write(lots)
    got = store.get_many("lot", [lot.id for lot in lots] + ["missing"])
    assert len(got) == 2500
    assert store.resolve_many([lot.id for lot in lots[:1500]]) == {lot.id: lot.id for lot in lots[:1500]}


def test_clear(store):
    store.write(chain())
    store.clear()
    assert sum(store.counts().values()) == 0


def test_unknown_scheme_lists_known_ones():
    with pytest.raises(UnknownStoreScheme, match=r"known schemes: .*sqlite"):
        open_store("ftp://example.org/x")


def test_sqlite_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel.db") as s:
        s.write([Sample(id="s", plan="rapid", sampled_id="op", product_name="青菜", conclusion="conforming")])
    assert (tmp_path / "rel.db").exists()
    with open_store(f"sqlite:///{tmp_path}/abs.db") as s:
        assert s.counts()["sample"] == 0
    assert (tmp_path / "abs.db").exists()


def test_readers_see_committed_snapshot_while_writer_writes(tmp_path):
    path = str(tmp_path / "c.db")
    writer, reader = open_store(path), open_store(path)
    writer.write([Certificate(id="c0", kind="other")])
    seen_inside = []

    def slow():
        for i in range(1, 20001):
            yield Certificate(id=f"c{i}", kind="other")
            if i == 10000:
                seen_inside.append(reader.counts()["certificate"])

    writer.write(slow())
    assert seen_inside == [1]
    assert reader.counts()["certificate"] == 20001
    writer.close()
    reader.close()
