"""The store contract for stored risk assessments and grade overrides (run once per backend)."""

from __future__ import annotations

import json
import sqlite3

from graph.store import open_store
from ontology.records import GradeOverride, Operator, RiskAssessment

OP = "urn:foodtrace:operator:91320602MA1MXXXX0Y"


def assessment(i: int, **changes) -> RiskAssessment:
    fields = dict(
        id=f"urn:foodtrace:risk_assessment:run{i}:op", operator_id=OP, run=f"run{i}", grade="C", computed_grade="C",
        score=47.5, static_points=30.0, dynamic_points=12.5, credit_points=5.0, credit_class="B",
        as_of="2026-03-01", created=f"2026-03-0{i}T09:00:00+08:00", config_version="2026.1", model_version="none",
        probability=0.125, method="SAMR-2022 producer",
        explanation=json.dumps({"factors": [{"code": "S1", "points": 30, "evidence": ["s1", "s2"]}]},
                               ensure_ascii=False),
        differs=False, published=False)
    fields.update(changes)
    return RiskAssessment(**fields)


def override(**changes) -> GradeOverride:
    fields = dict(id="urn:foodtrace:grade_override:1", operator_id=OP, grade="D", reason="约谈后仍未整改",
                  by="王科长", created="2026-03-02T10:00:00+08:00", computed_grade="C",
                  assessment_id="urn:foodtrace:risk_assessment:run1:op")
    fields.update(changes)
    return GradeOverride(**fields)


def test_round_trip_every_field(store):
    recs = [Operator(id=OP, kind="Producer", name="南通某某食品有限公司"), assessment(1),
            assessment(2, grade="D", differs=True, override_id="urn:foodtrace:grade_override:1", probability=None),
            override()]
    st = store.write(recs)
    assert st.changed == {"operator": 1, "risk_assessment": 2, "grade_override": 1}
    for rec in recs:
        assert store.get(rec.table, rec.id) == rec
    counts = store.counts()
    assert counts["risk_assessment"] == 2 and counts["grade_override"] == 1


def test_scan_by_operator_in_insertion_order(store):
    store.write([assessment(1), assessment(2), override()])
    store.write([assessment(3, operator_id="urn:foodtrace:operator:other")])
    got = [r.id for r in store.scan("risk_assessment", {"operator_id": OP})]
    assert got == ["urn:foodtrace:risk_assessment:run1:op", "urn:foodtrace:risk_assessment:run2:op"]
    assert [r.id for r in store.scan("grade_override", {"operator_id": OP})] == ["urn:foodtrace:grade_override:1"]


def test_lifting_and_publishing_fill_empty_fields_and_keep_the_rest(store):
    store.write([override(), assessment(1)])
    lifted = GradeOverride(id="urn:foodtrace:grade_override:1", lifted="2026-04-01T08:00:00+08:00", lifted_by="李处长",
                           lift_reason="复查合格")
    assert store.write([lifted]).changed == {"grade_override": 1}
    got = store.get("grade_override", "urn:foodtrace:grade_override:1")
    assert (got.grade, got.reason, got.by, got.created) == ("D", "约谈后仍未整改", "王科长", "2026-03-02T10:00:00+08:00")
    assert (got.lifted, got.lifted_by, got.lift_reason) == ("2026-04-01T08:00:00+08:00", "李处长", "复查合格")
    stamp = RiskAssessment(id="urn:foodtrace:risk_assessment:run1:op", published=True,
                           published_at="2026-04-02T08:00:00+08:00", published_by="李处长")
    store.write([stamp])
    ra = store.get("risk_assessment", "urn:foodtrace:risk_assessment:run1:op")
    assert ra == assessment(1, published=True, published_at="2026-04-02T08:00:00+08:00", published_by="李处长")
    assert store.write([stamp]).total_changed == 0


def test_an_older_embedded_store_gets_the_new_tables(tmp_path):
    """A file made before these record types existed opens, gains their tables and keeps its data."""
    path = tmp_path / "old.db"
    with open_store(str(path)) as s:
        s.write([Operator(id=OP, kind="Producer", name="南通某某食品有限公司")])
    db = sqlite3.connect(path)
    db.execute("DROP TABLE risk_assessment")
    db.execute("DROP TABLE grade_override")
    db.commit()
    db.close()
    with open_store(str(path)) as s:
        assert s.counts()["risk_assessment"] == 0 and s.counts()["operator"] == 1
        s.write([assessment(1), override()])
        assert s.counts()["risk_assessment"] == 1 and s.counts()["grade_override"] == 1
