"""Read-only views: the same snapshot from every backend, and no way to write through them."""

from graph.view import LotGraph, ReadView
from ontology.records import Delivery, Retraction, Transformation, TransformationItem

T = "2026-03-0{}T08:00:00+08:00"


def network():
    return [
        Delivery(id="d1", lot_id="pig", sender_id="farm", receiver_id="ab", time=T.format(1), quantity=10.0,
                 unit="H87"),
        Transformation(id="t1", station_id="ab", time=T.format(2), kind="slaughter"),
        TransformationItem(id="i1", transformation_id="t1", lot_id="pig", role="input"),
        TransformationItem(id="o1", transformation_id="t1", lot_id="c1", role="output"),
        TransformationItem(id="o2", transformation_id="t1", lot_id="c2", role="output"),
        Delivery(id="d2", lot_id="c1", sender_id="ab", receiver_id="mk", time=T.format(3), quantity=400.0,
                 unit="KGM"),
        Delivery(id="d3", lot_id="c2", sender_id="ab", receiver_id="mk", time=T.format(3), quantity=380.0,
                 unit="KGM", event_id="bad"),
        Retraction(id="r", event_id="bad", declared=T.format(4)),
    ]


def test_lot_graph_snapshot(store):
    store.write(network())
    g = LotGraph.from_store(store)
    assert sorted(g.deliveries) == ["d1", "d2"]  # d3 came from a retracted event
    assert g.outputs_of("pig") == ["c1", "c2"] and g.inputs_of("c2") == ["pig"]
    assert g.transformation_station == {"t1": "ab"}
    assert [d.id for d in g.deliveries_of("c1")] == ["d2"]
    nxg = g.to_networkx()
    assert sorted(nxg.edges(keys=True)) == [("ab", "mk", "d2"), ("farm", "ab", "d1")]


def test_read_view_has_no_write(store):
    store.write(network())
    view = ReadView(store)
    assert not hasattr(view, "write") and not hasattr(view, "clear")
    assert [d.id for d in view.deliveries(receiver_ids=["mk"])] == ["d2"]
    assert sorted(i.id for i in view.transformation_items(lot_ids=["pig"])) == ["i1"]
