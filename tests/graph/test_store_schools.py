"""The store contract for school alerts (run once per backend)."""

from __future__ import annotations

from ontology.records import Operator, SchoolAlert

SCHOOL = "urn:foodtrace:operator:school1"
ALERT = "urn:foodtrace:school_alert:abc"


def records():
    return [
        Operator(id=SCHOOL, kind="SchoolCanteen", name="南通市某某小学食堂", region_id="urn:foodtrace:region:320602"),
        SchoolAlert(id=ALERT, kind="failed_sample", school_id=SCHOOL, district_id="urn:foodtrace:region:320602",
                    raised="2026-03-02T10:00:00.123+08:00", sample_id="urn:foodtrace:sample:s1",
                    lot_id="urn:foodtrace:lot:a", sample_lot_id="urn:foodtrace:lot:farm",
                    delivery_id="urn:foodtrace:delivery:d9", relation="upstream", tier="certain",
                    supplier_id="urn:foodtrace:operator:dist", grade="B", message="到校批次检验不合格"),
        SchoolAlert(id=ALERT + "2", kind="supplier_listed", school_id=SCHOOL, raised="2026-03-02T10:00:00+08:00",
                    supplier_id="urn:foodtrace:operator:dist", credit_record_id="urn:foodtrace:credit:1",
                    message="供应商列入严重违法失信名单"),
    ]


def test_round_trip_every_field(store):
    recs = records()
    store.write(recs)
    for rec in recs:
        assert store.get(rec.table, rec.id) == rec
    assert store.write(recs).total_changed == 0


def test_alerts_of_a_school_and_of_a_sample_by_scan(store):
    store.write(records())
    assert sorted(a.id for a in store.scan("school_alert", {"school_id": SCHOOL})) == [ALERT, ALERT + "2"]
    assert [a.id for a in store.scan("school_alert", {"sample_id": "urn:foodtrace:sample:s1"})] == [ALERT]
    assert store.resolve(ALERT) == ALERT
