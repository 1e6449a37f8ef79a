"""The console's per-process answers (Memo) and the service's grade table are dropped by any write to the store,
also by writes that concern no lot (a disposal case, a grade override: the change log of lots does not move)."""

from __future__ import annotations

from api.console.web import Memo
from api.grades import grade_table, graded_operators
from graph.store import open_store
from graph.view import ReadView
from ontology.records import DisposalCase, GradeOverride, Operator, RiskAssessment


def test_memo_and_grade_table_see_a_write_that_concerns_no_lot(tmp_path):
    with open_store(str(tmp_path / "s.db")) as s:
        s.write([Operator(id="op", kind="Supermarket", name="甲超市", region_id="urn:foodtrace:region:320602")])
        memo = Memo(size=4)
        count = lambda: sum(1 for _ in s.scan("disposal_case"))  # noqa: E731
        assert memo.get(s, ("cases",), count) == 0
        seq = s.change_seq()
        s.write([DisposalCase(id="urn:foodtrace:disposal_case:HC-1", number="HC-1", trigger="supervisory_sample",
                              operator_id="op", opened="2026-10-12", due="2027-01-10")])
        assert s.change_seq() == seq  # the write the lot change log does not see ...
        assert memo.get(s, ("cases",), count) == 1  # ... is seen
        assert memo.get(s, ("cases",), lambda: -1) == 1  # and the answer kept until the next write

        view = ReadView(s)
        s.write([RiskAssessment(id="ra1", operator_id="op", grade="B", computed_grade="B", as_of="2026-10-01",
                                created="2026-10-01T08:00:00+08:00", config_version="test")])
        table = grade_table()
        eff = {e.operator_id: e for e in graded_operators(view, table=table)[0]}
        assert eff["op"].grade == "B"
        s.write([GradeOverride(id="ov", operator_id="op", grade="D", reason="约谈", by="测试",
                               created="2026-10-02T08:00:00+08:00")])
        eff = {e.operator_id: e for e in graded_operators(view, table=table)[0]}
        assert (eff["op"].grade, eff["op"].source) == ("D", "override")
