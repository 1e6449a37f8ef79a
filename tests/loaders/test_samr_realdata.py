"""The real announcements of ../shared/realdata (2015-2021, both official layouts): every row stored, or rejected
because it names no one; warnings by kind; sources' coverage; food-related products kept apart."""

from __future__ import annotations

from collections import Counter

import pytest

from graph.store import open_store
from loaders.load import load_files
from reasoning.merges import operator_merges
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    files = [shared_path("realdata", "cn_sampling_2015_2021_qualified.csv"),
             shared_path("realdata", "cn_sampling_2015_2021_unqualified.csv")]
    store = open_store(str(tmp_path_factory.mktemp("real") / "r.db"))
    try:
        yield store, files, load_files(store, files)
    finally:
        store.close()


def test_every_row_stored_or_rejected_for_naming_no_one(real):
    store, _, (q, u) = real
    assert (q.exit_code, u.exit_code) == (0, 1)
    assert q.rejects == []
    assert len(u.rejects) == 67
    assert {r.reason for r in u.rejects} == {"the row names neither a producer (标称生产企业) nor a sampled unit "
                                             "(被抽样单位): it concerns no one"}
    counts = store.counts()
    # 4,041 合格 rows: one sample each, two of them the same sample as a 不合格 row (same day, producer, sampled
    # unit, food and batch); 1,079 不合格 rows - 67 rejected = 1,012 rows: 1,006 samples, 6 rows continue one
    by_conclusion = Counter(s.conclusion for s in store.scan("sample"))
    assert by_conclusion == {"conforming": 4039, "nonconforming": 1006}
    assert counts["test_result"] == 1012
    assert sum(1 for s in store.scan("sample") if s.sampled_id is None) == 921


def test_warnings_by_kind(real):
    _, _, (q, u) = real
    assert Counter(w.kind for w in q.warnings) == {"no_producer": 106, "no_sampled_unit": 13}
    assert Counter(w.kind for w in u.warnings) == {"limit_not_numeric": 954, "no_sampled_unit": 910,
                                                   "result_not_numeric": 453, "food_related": 62, "no_producer": 9,
                                                   "category_unknown": 4}


def test_sources_and_coverage(real):
    store, _, _ = real
    sources = {s.id: s for s in store.scan("sampling_source")}
    cov = Counter(s.coverage for s in sources.values())
    assert cov == {"both": 30, "failures_only": 73}
    by_source = Counter((s.source_id, s.conclusion) for s in store.scan("sample"))
    for sid, src in sources.items():
        if src.coverage == "failures_only":  # no 合格 row of a failures-only source: no denominator
            assert by_source[(sid, "conforming")] == 0, src.name
        else:
            assert by_source[(sid, "conforming")] > 0, src.name
    names = {s.name: s.coverage for s in sources.values()}
    assert names["国内监督抽查()"] == "failures_only" and names["山东市场监管局"] == "both"
    assert names["山东省食药监局"] == "failures_only"


def test_fields_the_model_reads(real):
    store, _, _ = real
    samples = list(store.scan("sample"))
    assert all(s.announced and s.source_id and s.task for s in samples)
    assert Counter(s.task_kind for s in samples) == {"provincial": 3974, "national": 699, None: 270, "municipal": 102}
    assert sum(1 for s in samples if s.samr_category) == len(samples) - 4
    assert sum(1 for s in samples if s.province) == 3443  # 被抽样单位所在省份 is empty in 1,673 rows
    related = [s for s in samples if s.food_related]
    assert len(related) == 62 and all(s.category is None and s.samr_category.startswith("90") for s in related)
    ids = {s.id for s in related}
    assert {t.hazard_class for t in store.scan("test_result") if t.sample_id in ids} == {"food_contact"}


def test_names_merged_and_explained(real):
    store, _, _ = real
    merges = operator_merges(store)
    assert len(merges["merged"]) == 60 and sum(len(m["forms"]) for m in merges["merged"]) == 125
    assert merges["ambiguous"] == []
    assert all(f["reasons"] for m in merges["merged"] for f in m["forms"][1:])


def test_loading_again_changes_nothing(real):
    store, files, _ = real
    assert all(o.stats.total_changed == 0 for o in load_files(store, files))
