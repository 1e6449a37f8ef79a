"""One meaning of time (ontology/times.py), and the modules that once read it differently now agree."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

from graph.view import ReadView
from ontology.errors import InvalidRecord
from ontology.records import Delivery, GradeOverride, Inspection, Sample
from ontology.times import (BEIJING, day_of, days_of, default_as_of, epoch, format_instant, parse_day, parse_instant,
                            utc_key)
from reasoning.assessments import override_in_force
from reasoning.trace import TraceOptions, trace

NAIVE = "2026-03-01T09:00:00"          # Beijing time: 01:00 UTC


def test_a_time_without_an_offset_is_beijing_time():
    assert parse_instant(NAIVE) == datetime(2026, 3, 1, 1, 0, tzinfo=timezone.utc)
    assert epoch(NAIVE) == epoch("2026-03-01T01:00:00Z") == epoch("2026-03-01T09:00:00+08:00")
    assert utc_key(NAIVE) == utc_key("2026-03-01T01:00:00.000Z")
    assert format_instant(epoch(NAIVE)) == "2026-03-01T09:00:00+08:00"
    assert parse_instant("2026-03-01").isoformat() == "2026-03-01T00:00:00+08:00"
    assert parse_instant(datetime(2026, 3, 1, 9)).tzinfo == BEIJING


def test_a_records_day_is_its_beijing_day():
    assert day_of("2026-03-01T16:30:00Z") == "2026-03-02"          # 00:30 on 2 March in Nantong
    assert day_of("2026-03-01T23:59:59+08:00") == "2026-03-01"
    assert day_of("2026-03-01T20:00:00") == "2026-03-01"
    assert day_of("2026-02-30") is None and day_of("") is None
    got = days_of(["2026-03-01T16:30:00Z", "2026-03-01", None, "bad", datetime(2026, 3, 1, 20, tzinfo=timezone.utc)])
    assert [None if np.isnat(d) else str(d) for d in got] == ["2026-03-02", "2026-03-01", None, None, "2026-03-02"]
    assert parse_day("2026-03-01T16:30:00Z") == date(2026, 3, 2)
    with pytest.raises(InvalidRecord, match="--to: 'soon' is not a date"):
        parse_day("soon", "--to")


def test_trace_and_grade_overrides_read_a_naive_time_alike(sqlite_store):
    """A time without an offset, once read as Beijing time by the trace and as UTC by the grade overrides
    (8 hours apart), means the same instant to both."""
    sqlite_store.write([Delivery(id="d", lot_id="L", sender_id="farm", receiver_id="shop", time=NAIVE)])
    view = ReadView(sqlite_store)
    reached = {d.id for d in trace(view, "L", "down", TraceOptions(until=epoch("2026-03-01T01:30:00Z"))).deliveries}
    missed = {d.id for d in trace(view, "L", "down", TraceOptions(until=epoch("2026-03-01T00:30:00Z"))).deliveries}
    assert (reached, missed) == ({"d"}, set())
    o = GradeOverride(id="o", operator_id="shop", grade="D", reason="约谈", by="王", created=NAIVE)
    assert override_in_force([o], "2026-03-01T01:30:00Z") is not None
    assert override_in_force([o], "2026-03-01T00:30:00Z") is None


def test_default_as_of_is_the_day_after_the_latest_dated_record(store):
    """One default for every command, on both backends: the day after the latest day any dated record names."""
    assert default_as_of(ReadView(store)) == datetime.now(BEIJING).date()      # nothing dated: today in Beijing
    store.write([Sample(id="s", plan="rapid", sampled_id="shop", product_name="芹菜", sampled_at="2026-03-01",
                        announced="2026-03-20", conclusion="conforming"),
                 Inspection(id="i", operator_id="shop", date="2026-03-25", result="pass")])
    assert default_as_of(ReadView(store)) == date(2026, 3, 26)
    store.write([Delivery(id="d", lot_id="L", sender_id="farm", receiver_id="shop", time="2026-03-30T17:00:00Z")])
    assert default_as_of(ReadView(store)) == date(2026, 4, 1)        # 31 March, 01:00 in Nantong
