"""Placeholders, batches, versions, corrections, deletion, unload and erasure: the same answers on every backend."""

from __future__ import annotations

import itertools

import pytest

from graph.store import Correction, WriteContext
from graph.versions import erased_id
from graph.view import ReadView
from ontology.errors import InvalidRecord, NotFound
from ontology.records import (ERASED_NAME, Alias, Delivery, Lot, Operator, Product, TraceCode, record_fields,
                              with_placeholders)
from reasoning.trace import trace

OP = "https://id.gs1.org/414/6901234000016"


def _known() -> Operator:
    return Operator(id=OP, kind="Stall", name="南通某某摊位", gln="6901234000016", region_id="urn:foodtrace:region:320602",
                    category="pork")


def _stub() -> Operator:
    """What an EPCIS document's master data without a kind (and without a district) makes of the same location."""
    return with_placeholders(Operator(id=OP, kind="Operator", name="6901234000016", gln="6901234000016",
                                      region_id="南京市", category="other"), "kind", "name", "region_id", "category")


# -- placeholders -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["known first", "stub first", "one write, known first", "one write, stub first"])
def test_a_placeholder_never_replaces_a_known_value(store, order):
    if order == "known first":
        store.write([_known()])
        store.write([_stub()])
    elif order == "stub first":
        store.write([_stub()])
        store.write([_known()])
    elif order == "one write, known first":
        store.write([_known(), _stub()])
    else:
        store.write([_stub(), _known()])
    got = store.get("operator", OP)
    assert (got.kind, got.name, got.region_id, got.category) == ("Stall", "南通某某摊位", "urn:foodtrace:region:320602", "pork")
    assert got.placeholders is None and got.gln == "6901234000016"


def test_placeholders_fill_empty_fields_and_stay_marked(store):
    store.write([_stub()])
    got = store.get("operator", OP)
    assert got.kind == "Operator" and got.placeholders == "kind name region_id category"
    # a second stub with other placeholder values changes nothing
    assert store.write([with_placeholders(Operator(id=OP, kind="Operator", name="x"), "kind", "name")]).total_changed == 0
    # a known value for one field replaces that placeholder only
    store.write([Operator(id=OP, kind="Farm", name=None)])
    got = store.get("operator", OP)
    assert got.kind == "Farm" and got.placeholders == "name region_id category"
    # a product stub named by its GTIN, then its real name and category
    store.write([with_placeholders(Product(id="p", name="06901234567892", gtin="06901234567892"), "name")])
    store.write([Product(id="p", name="冷鲜猪肉", category="pork")])
    store.write([with_placeholders(Product(id="p", name="06901234567892", category="other"), "name", "category")])
    p = store.get("product", "p")
    assert (p.name, p.category, p.placeholders) == ("冷鲜猪肉", "pork", None)


# -- batches and versions -----------------------------------------------------------------------------------

def test_every_write_is_a_batch_and_a_change_keeps_the_previous_version(store):
    ctx = WriteContext(kind="load", actor="张科员", source="operators.csv", digest="aaa")
    first = store.write([_known()], context=ctx)
    b = store.batches([first.batch])[first.batch]
    assert (b.kind, b.actor, b.source, b.digest, b.tag, b.received, b.changed) == \
        ("load", "张科员", "operators.csv", "aaa", first.batch, 1, 1)
    assert store.versions([OP]) == []  # a new record has no previous version
    second = store.write([Operator(id=OP, kind="Supermarket", name="南通某某超市")],
                         context=WriteContext(kind="load", actor="李科员", source="fix.csv", digest="bbb"))
    (v,) = store.versions([OP])
    assert (v.table, v.id, v.op, v.batch) == ("operator", OP, "update", second.batch)
    assert v.values["kind"] == "Stall" and v.values["name"] == "南通某某摊位"
    assert store.sources("operator", [OP]) == {OP: [first.batch, second.batch]}
    # the same content again: the same source, nothing changes, no version
    again = store.write([_known()], context=WriteContext(kind="load", source="operators.csv", digest="aaa"))
    assert store.batches([again.batch])[again.batch].tag == first.batch
    assert len(store.versions([OP])) == 2  # it did change the record back: one more version
    assert store.sources("operator", [OP]) == {OP: [first.batch, second.batch]}


def test_history_and_value_as_of_a_past_time(store):
    store.write([_known()], context=WriteContext(kind="load", source="a.csv", digest="a"))
    t0 = store.batches()[max(store.batches())].time
    store.correct([Correction("operator", OP, "name", "南通某某鲜肉摊", "营业执照名称有误")],
                  WriteContext(kind="correction", actor="王审核", source="corrections.csv"))
    h = store.history("6901234000016")  # any identifier form
    assert h["table"] == "operator" and h["id"] == OP and h["current"]["name"] == "南通某某鲜肉摊"
    (change,) = h["versions"]
    assert change["changes"] == {"name": ["南通某某摊位", "南通某某鲜肉摊"]}
    assert change["reason"] == "营业执照名称有误" and change["batch"]["actor"] == "王审核"
    assert change["batch"]["kind"] == "correction" and [s["source"] for s in h["sources"]] == ["a.csv"]
    assert store.record_as_of("operator", OP, t0).name == "南通某某摊位"
    assert store.record_as_of("operator", OP, "2999-01-01").name == "南通某某鲜肉摊"
    assert store.record_as_of("operator", OP, "2000-01-01") is None  # not loaded yet


# -- corrections ----------------------------------------------------------------------------------------------

def test_corrections_round_trip_with_reasons_all_or_nothing(store):
    store.write([_stub(), Lot(id="l", product_id="p", lot_number="L1", quantity=5.0)])
    ctx = WriteContext(kind="correction", actor="王审核", source="corrections.csv")
    done = store.correct([Correction("operator", OP, "kind", "Farm", "实地核实为养殖场"),
                          Correction("lot", "l", "quantity", 50.0, "少录一个零"),
                          Correction("lot", "l", "lot_number", "L1", "no change")], ctx)
    assert [(c.field, old) for c, old in done] == [("kind", "Operator"), ("quantity", 5.0)]
    assert store.get("operator", OP).placeholders == "name region_id category"  # corrected: no longer a placeholder
    assert store.get("lot", "l").quantity == 50.0
    reasons = {(v.id, v.reason) for v in store.versions([OP, "l"])}
    assert reasons == {(OP, "实地核实为养殖场"), ("l", "少录一个零")}
    with pytest.raises(NotFound):  # one bad row: nothing of the file is applied
        store.correct([Correction("lot", "l", "quantity", 7.0, "x"), Correction("lot", "nope", "quantity", 1.0, "x")], ctx)
    assert store.get("lot", "l").quantity == 50.0
    with pytest.raises(InvalidRecord, match="append-only"):
        store.correct([Correction("event", "e", "type", "ObjectEvent", "x")], ctx)
    with pytest.raises(InvalidRecord, match="required"):
        store.correct([Correction("lot", "l", "product_id", None, "x")], ctx)
    with pytest.raises(InvalidRecord, match="reason"):
        store.correct([Correction("lot", "l", "quantity", 1.0, " ")], ctx)


# -- deletion and unload --------------------------------------------------------------------------------------

def _chain(tag: str) -> list:
    return [Operator(id="f", kind="Farm", name="甲农场"), Operator(id="m", kind="Supermarket", name="乙超市"),
            Lot(id=f"l{tag}", product_id="p", lot_number=tag),
            Delivery(id=f"d{tag}", lot_id=f"l{tag}", sender_id="f", receiver_id="m", time="2026-03-01T08:00:00+08:00",
                     quantity=1.0, unit="KGM"),
            Alias(id=f"alias-{tag}", canonical_id=f"l{tag}", entity="lot", scheme="local")]


def test_delete_a_record_with_its_aliases_refused_while_referred_to(store):
    store.write(_chain("1"))
    ctx = WriteContext(kind="delete", actor="管理员", reason="测试数据")
    with pytest.raises(InvalidRecord, match="refer to l1.*delivery d1"):
        store.delete("lot", ["l1"], ctx)
    assert store.delete("delivery", ["d1"], ctx) == 1
    assert store.delete("lot", ["l1"], ctx) == 1
    assert store.get("lot", "l1") is None and store.resolve("alias-1") is None
    deleted = {(v.table, v.id, v.op, v.reason) for v in store.versions(["d1", "l1", "alias-1"])}
    assert deleted == {("delivery", "d1", "delete", "测试数据"), ("lot", "l1", "delete", "测试数据"),
                       ("alias", "alias-1", "delete", "测试数据")}
    b = store.batches()[max(store.batches())]
    assert (b.kind, b.actor, b.reason, b.changed) == ("delete", "管理员", "测试数据", 2)  # the lot and its alias
    h = store.history("l1")
    assert h["current"] is None and h["versions"][-1]["op"] == "delete"


def test_unload_takes_back_what_only_that_file_loaded(store):
    a = store.write(_chain("1"), context=WriteContext(kind="load", source="a.csv", digest="A"))
    store.write(_chain("2"), context=WriteContext(kind="load", source="b.csv", digest="B"))
    # file c corrects the farm's name (and adds nothing else); unloading it puts the old name back
    c = store.write([Operator(id="f", kind="Farm", name="甲家庭农场")], context=WriteContext(kind="load", source="c.csv",
                                                                                           digest="C"))
    before = store.counts()
    st = store.unload([store.batches([a.batch])[a.batch].tag], WriteContext(kind="unload", actor="管理员",
                                                                             reason="测试文件"))
    assert st.deleted == {"lot": 1, "delivery": 1, "alias": 1} and st.kept == {"operator": 2}
    after = store.counts()
    assert after["lot"] == before["lot"] - 1 and after["operator"] == before["operator"]
    assert store.get("lot", "l1") is None and store.get("lot", "l2") is not None
    assert store.sources("operator", ["f"])["f"] == sorted(store.sources("operator", ["f"])["f"])
    assert store.get("operator", "f").name == "甲家庭农场"  # c's change is not a's
    store.unload([c.batch], WriteContext(kind="unload", reason="撤回"))
    assert store.get("operator", "f").name == "甲农场" and store.get("operator", "f") is not None


# -- erasure --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("keyed_by_name", [False, True])
def test_erasure_leaves_a_tombstone_the_trace_passes_through(store, keyed_by_name):
    person = "urn:foodtrace:operator:张三" if keyed_by_name else "urn:foodtrace:operator:stall-0007"
    store.write([Operator(id=person, kind="Stall", name="张三", individual=True, phone="13700001111", contact="张三",
                          address="南通市崇川区某路1号", region_id="urn:foodtrace:region:320602", uscc="92320602MA1XXXXX0X"),
                 Operator(id="farm", kind="Farm", name="甲农场"), Operator(id="shop", kind="Restaurant", name="丙饭店"),
                 Alias(id="张三的摊", canonical_id=person, entity="operator", scheme="name"),
                 Alias(id="STALL-7", canonical_id=person, entity="operator", scheme="local"),
                 Lot(id="l", product_id="p"),
                 Delivery(id="d1", lot_id="l", sender_id="farm", receiver_id=person, time="2026-03-01T06:00:00+08:00"),
                 Delivery(id="d2", lot_id="l", sender_id=person, receiver_id="shop", time="2026-03-01T09:00:00+08:00")])
    store.correct([Correction("operator", person, "phone", "13800002222", "换号")], WriteContext(kind="correction"))
    before = {d.id for d in trace(ReadView(store), "l", "down").deliveries}
    new_id = store.erase(person, WriteContext(kind="erase", actor="隐私专员", reason="本人申请删除"))
    assert new_id == (erased_id(person) if keyed_by_name else person)
    got = store.get("operator", new_id)
    assert got.name == ERASED_NAME and got.erased_by == "隐私专员" and got.erased
    assert (got.phone, got.contact, got.address, got.uscc) == (None, None, None, None)
    assert got.kind == "Stall" and got.region_id == "urn:foodtrace:region:320602"
    assert {d.id for d in trace(ReadView(store), "l", "down").deliveries} == before  # the trace still passes through
    assert store.get("delivery", "d2").sender_id == new_id
    assert store.resolve("张三的摊") is None and store.resolve("STALL-7") == new_id
    every = []
    for i in (person, new_id, "d1", "d2", "张三的摊", "STALL-7"):
        every += [v.values for v in store.versions([i])]
    text = repr(every) + repr(store.history(new_id))
    for secret in ("张三", "13700001111", "13800002222", "92320602MA1XXXXX0X", "某路1号"):
        assert secret not in text
    if keyed_by_name:
        assert store.get("operator", person) is None
    b = store.batches()[max(store.batches())]
    assert (b.kind, b.actor, b.reason) == ("erase", "隐私专员", "本人申请删除")
    store.correct([Correction("operator", "farm", "individual", False, "企业")], WriteContext(kind="correction"))
    with pytest.raises(InvalidRecord, match="business"):
        store.erase("farm", WriteContext(kind="erase"))


def test_a_failed_edit_changes_nothing(store):
    store.write(_chain("1"))
    counts, batches = store.counts(), len(store.batches())
    with pytest.raises(RuntimeError):
        with store.edit(WriteContext(kind="delete")) as ed:
            ed.delete("delivery", ["d1"], "x")
            raise RuntimeError("crash mid-edit")
    assert store.counts() == counts and len(store.batches()) == batches and store.versions(["d1"]) == []


def test_change_log_sees_deletions_and_is_pruned_without_going_back(store):
    store.write(_chain("1") + [TraceCode(id="tc", code="c1", lot_id="l1")])
    seq = store.change_seq()
    store.delete("trace_code", ["tc"], WriteContext(kind="delete"))
    assert "l1" in {lot for _, lot in store.changes_since(seq)}
    for i in range(5):
        store.write([Lot(id=f"x{i}", product_id="p")])
    top = store.change_seq()
    assert store.prune_changes(keep=2) > 0
    rows = store.changes_since(0)
    assert [q for q, _ in rows] == [top - 1, top] and store.change_seq() == top
    store.write([Lot(id="x9", product_id="p")])
    assert store.change_seq() == top + 1


def test_fields_of_every_type_survive_a_version(store):
    """A version keeps every field with its type (floats, booleans, JSON text)."""
    op = Operator(id="o", kind="Farm", name="甲", haccp=True, lat=32.5, individual=False)
    store.write([op])
    store.write([Operator(id="o", kind="Farm", name="乙")])
    (v,) = store.versions(["o"])
    assert v.record() == op
    assert list(v.values) == [f.name for f in record_fields(Operator)]


def test_batch_numbers_only_grow(store):
    ids = [store.write([Lot(id=f"n{i}", product_id="p")]).batch for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(isinstance(i, int) for i in itertools.chain(ids))


def test_every_record_of_a_write_remembers_its_source_new_changed_unchanged_or_repeated(store):
    """The source tags of a write's records whatever mix a batch holds: records new to the store (which the
    embedded store does not probe for when a whole batch is new), stored ones changed or unchanged, an id twice."""
    a = store.write([Lot(id="x", product_id="p"), Lot(id="y", product_id="p"), Lot(id="u", product_id="p")],
                    context=WriteContext(kind="load", source="a.csv", digest="A"))
    b = store.write([Lot(id="x", product_id="p", lot_number="X1"),  # stored, changed
                     Lot(id="z", product_id="p"),  # new
                     Lot(id="u", product_id="p")],  # stored, unchanged
                    context=WriteContext(kind="load", source="b.csv", digest="B"))
    c = store.write([Lot(id="w", product_id="p"), Lot(id="w", product_id="p", lot_number="W1")],  # new, twice
                    context=WriteContext(kind="load", source="c.csv", digest="C"))
    d = store.write([Lot(id=f"n{i}", product_id="p") for i in range(3)],  # all new
                    context=WriteContext(kind="load", source="d.csv", digest="D"))
    ta, tb, tc, td = (store.batches([s.batch])[s.batch].tag for s in (a, b, c, d))
    assert store.sources("lot", ["x", "y", "u", "z", "w", "n0", "n2"]) == {
        "x": [ta, tb], "y": [ta], "u": [ta, tb], "z": [tb], "w": [tc], "n0": [td], "n2": [td]}
    assert store.get("lot", "w").lot_number == "W1" and store.get("lot", "x").lot_number == "X1"
    assert (b.total_received, b.total_changed) == (3, 2)
