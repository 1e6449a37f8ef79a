"""The store contract for disposal cases, handling steps, evidence files and the complaint's new fields
(run once per backend)."""

from __future__ import annotations

import sqlite3

from graph.store import open_store
from ontology.records import Complaint, DisposalCase, EvidenceFile, HandlingStep, Operator

OP = "urn:foodtrace:operator:91320602MA1MXXXX0Y"
CASE = "urn:foodtrace:disposal_case:HC-2026-0001"


def records():
    return [
        Operator(id=OP, kind="Supermarket", name="南通某某超市", region_id="urn:foodtrace:region:320602"),
        DisposalCase(id=CASE, number="HC-2026-0001", trigger="supervisory_sample", operator_id=OP,
                     district_id="urn:foodtrace:region:320602", sample_id="urn:foodtrace:sample:s1",
                     opened="2026-02-12", due="2026-05-13", rules_version="2026.1", opened_by="foodtrace"),
        HandlingStep(id=f"{CASE}/1", subject_id=CASE, seq=1, kind="served", date="2026-02-13", by="张三",
                     recorded="2026-02-13T10:00:00+08:00", party_id=OP, evidence_ids="urn:foodtrace:evidence:sha256:"
                     + "ab" * 32),
        HandlingStep(id=f"{CASE}/2", subject_id=CASE, seq=2, kind="recall", date="2026-02-14", by="张三",
                     recorded="2026-02-14T10:00:00+08:00",
                     recall_list='{"receivers": [{"id": "r1", "deliveries": ["d1"]}]}'),
        EvidenceFile(id="urn:foodtrace:evidence:sha256:" + "ab" * 32, sha256="ab" * 32, name="送达回证.pdf",
                     media_type="application/pdf", size=12, content="JVBERi0xLjQKJcfs", by="张三",
                     uploaded="2026-02-13T10:00:00+08:00"),
        Complaint(id="urn:foodtrace:complaint:TS1", operator_id=OP, date="2026-02-10", kind="report", rural=True,
                  real_name=False, lot_id="urn:foodtrace:lot:x", sample_id="urn:foodtrace:sample:s1"),
    ]


def test_round_trip_every_field(store):
    recs = records()
    store.write(recs)
    for rec in recs:
        assert store.get(rec.table, rec.id) == rec
    assert store.write(recs).total_changed == 0


def test_steps_of_a_case_by_scan(store):
    store.write(records())
    steps = sorted(store.scan("handling_step", {"subject_id": CASE}), key=lambda s: s.seq)
    assert [(s.seq, s.kind) for s in steps] == [(1, "served"), (2, "recall")]
    assert [c.id for c in store.scan("disposal_case", {"sample_id": "urn:foodtrace:sample:s1"})] == [CASE]
    assert store.resolve(CASE) == CASE


def test_a_store_made_before_the_new_complaint_fields_gains_their_columns(tmp_path):
    path = tmp_path / "old.db"
    with open_store(str(path)) as s:
        s.write([Complaint(id="c0", operator_id=OP, date="2026-01-01")])
    db = sqlite3.connect(path)  # as a file of the release before: no kind / rural / ... columns
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'complaint'"):
        db.execute(f'DROP TRIGGER "{name}"')  # that release had no version triggers naming these columns
    for col in ("kind", "lot_id", "sample_id"):
        db.execute(f'DROP INDEX "ix_complaint_{col}"')
    for col in ("kind", "rural", "real_name", "lot_id", "sample_id"):
        db.execute(f'ALTER TABLE complaint DROP COLUMN "{col}"')
    db.commit()
    db.close()
    with open_store(str(path)) as s:
        s.write([Complaint(id="c1", operator_id=OP, date="2026-01-02", kind="complaint", rural=False)])
        assert s.get("complaint", "c1").kind == "complaint" and s.get("complaint", "c0").date == "2026-01-01"
