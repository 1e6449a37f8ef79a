"""The risk of a planned sample: exact features on a hand-made history, no look-ahead, baselines, real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from graph.store import open_store
from graph.view import ReadView
from ontology.records import Operator, Sample, SamplingSource, TestResult
from reasoning.sample_risk import (BASELINES, DEFAULT_TERMS, LIFT_TERMS, LOGISTIC_COLUMNS, SAMPLE_FEATURES, LiftModel,
                                   backtest_plan, producer_form, evaluate_samples, fit_sample_model,
                                   read_history, sample_features, score_plan, unit_kind)
from tests.conftest import shared_path


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


def _s(id, day, fail, *, producer=None, sampled=None, path="调味品/酱油", source=None, related=None, province=None,
       taken=None, disputed=None):
    return Sample(id=id, plan="supervisory", producer_id=producer, sampled_id=sampled, product_name="食品",
                  samr_path=path, announced=day, sampled_at=taken, source_id=source, food_related=related,
                  province=province, conclusion="nonconforming" if fail else "conforming", disputed=disputed)


@pytest.fixture
def hand(sqlite_store):
    """Two sources: 'both' (passes and failures) and 'fail' (failures only); one food-related product."""
    sqlite_store.write([
        Operator(id="P", kind="Producer", name="甲酿造厂"), Operator(id="M", kind="Operator", name="城东农贸市场"),
        Operator(id="Q", kind="Producer", name="乙食品有限公司"),
        SamplingSource(id="src:both", name="两表", coverage="both", coverage_basis="detected"),
        SamplingSource(id="src:fail", name="仅不合格", coverage="failures_only", coverage_basis="detected"),
        _s("a", "2021-01-10", False, producer="P", sampled="M", source="src:both", province="江苏"),
        _s("b", "2021-01-10", False, producer="Q", sampled="M", source="src:both", province="江苏"),
        _s("c", "2021-02-10", True, producer="P", sampled="M", source="src:both", province="江苏"),
        _s("d", "2021-02-20", False, producer="Q", sampled="M", source="src:both", path="调味品/食醋"),
        _s("e", "2021-03-01", True, producer="P", source="src:fail"),            # failures only: no denominator
        _s("f", "2021-03-05", True, producer="Q", source="src:fail", related=True, path="食品相关产品/洗涤剂"),
        _s("g", "2021-01-05", True, producer="P", sampled="M", source="src:both", taken="2020-12-01",
           disputed=True),
        _s("late", "2021-06-01", True, producer="P", sampled="M", source="src:both", taken="2021-03-01"),
        TestResult(id="c1", sample_id="c", item="苯甲酸", hazard_class="additive", conclusion="nonconforming"),
    ])
    return ReadView(sqlite_store)


def _row(**kw):
    base = {"producer": None, "sampled": None, "unit": None, "cat": None, "place": None, "task": None, "quarter": 2}
    base.update(kw)
    return pd.DataFrame([base])


def test_features_count_what_was_known_before_the_day(hand):
    h = read_history(hand)
    f = sample_features(h, _row(producer="P", sampled="M", unit="market", cat="调味品/酱油", place="江苏"),
                        np.datetime64("2021-04-01")).iloc[0]
    # food, two-table results before 04-01: a, b, c (酱油), d (食醋), g (酱油, disputed): 5, 2 failed;
    # the city's rate (2 + 10 x 0.03) / (5 + 10)
    p0 = (2 + 10 * 0.03) / (5 + 10)
    major = (2 + 20 * p0) / (5 + 20)            # 调味品
    sub = (2 + 10 * major) / (4 + 10)           # 调味品/酱油: a, b, c, g
    assert f["major_rate"] == pytest.approx(major)
    assert f["cat_rate"] == pytest.approx((2 + 5 * sub) / (4 + 5))
    # failures of 酱油 from every source (c, e, g), not the late one (announced 06-01)
    assert np.expm1(f["cat_fails"]) == pytest.approx(3) and np.expm1(f["cat_samples"]) == pytest.approx(4)
    # producer P: a, c, e count (g is disputed: never against the producer); e's source has no denominator
    assert np.expm1(f["producer_samples"]) == pytest.approx(3) and np.expm1(f["producer_fails"]) == pytest.approx(2)
    assert f["producer_rate"] == pytest.approx((1 + 3 * f["cat_rate"]) / (2 + 3))
    assert f["producer_recent_fail"] == pytest.approx(np.exp(-31 / 365))        # e, 2021-03-01
    # seller M: a, b, c, d and g (disputed only against the producer)
    assert np.expm1(f["seller_samples"]) == pytest.approx(5) and np.expm1(f["seller_fails"]) == pytest.approx(2)
    assert f["no_producer"] == 0 and f["unit=market"] == 1 and f["quarter=2"] == 1
    assert f["place_rate"] == pytest.approx((1 + 20 * p0) / (3 + 20))           # 江苏: a, b, c (c failed)
    # the day before c was announced, c is unknown
    g = sample_features(h, _row(producer="P", cat="调味品/酱油"), np.datetime64("2021-02-10")).iloc[0]
    assert np.expm1(g["producer_fails"]) == pytest.approx(0) and g["producer_recent_fail"] == 0
    # hazard rate of additives in 酱油: c only
    assert f["hazard_additive"] > g["hazard_additive"]


def test_shares_count_every_source_and_start_from_the_two_table_rate(hand):
    h = read_history(hand)
    f = sample_features(h, _row(producer="P", sampled="M", cat="调味品/酱油", place="江苏"),
                        np.datetime64("2021-04-01")).iloc[0]
    p0 = (2 + 10 * 0.03) / (5 + 10)                 # the city's two-table rate, as above
    assert f["city_rate"] == pytest.approx(p0)
    # every sample known before 04-01, whatever its source: 调味品 a b c d e g (c e g failed); 酱油 a b c e g
    major = (3 + 20 * p0) / (6 + 20)
    sub = (3 + 10 * major) / (5 + 10)
    assert f["cat_share"] == pytest.approx((3 + 5 * sub) / (5 + 5))
    assert f["cat_share"] > f["cat_rate"]          # e (failures only) counts here, not in the rate
    # producer P: a, c, e known (g disputed), c and e failed: 3 pseudo-samples at the category's share
    assert f["producer_share"] == pytest.approx((2 + 3 * f["cat_share"]) / (3 + 3))
    # seller M: a b c d g, c and g failed
    assert f["seller_share"] == pytest.approx((2 + 3 * f["cat_share"]) / (5 + 3))
    # no task named: its rate is unknown, not the city's
    assert np.isnan(f["task_rate"]) and f["place_rate"] == pytest.approx((1 + 20 * p0) / (3 + 20))


def test_the_citys_own_results_and_results_published_twice_count_in_rates(sqlite_store):
    """A sample without a source (the city's own results, both outcomes recorded) counts in rates from the day it
    is known; a result that a failures-only source published again counts once, in rates too."""
    sqlite_store.write([
        SamplingSource(id="both", name="某局", coverage="both", coverage_basis="detected"),
        SamplingSource(id="only", name="转载", coverage="failures_only", coverage_basis="detected"),
        _s("own1", "2021-01-01", False, producer="P"), _s("own2", "2021-01-02", True, producer="P"),
        _s("fo", "2021-01-03", True, producer="P", source="only"),
        Sample(id="twice", plan="supervisory", producer_id="P", product_name="食品", samr_path="调味品/酱油",
               announced="2021-01-04", source_id="only", also_sources="both", conclusion="nonconforming"),
        _s("pass", "2021-01-05", False, producer="Q", source="both"),
    ])
    h = read_history(ReadView(sqlite_store))
    f = sample_features(h, _row(producer="P", cat="调味品/酱油"), np.datetime64("2021-02-01")).iloc[0]
    # counted in rates: own1, own2, twice (its source 'both' publishes conforming results: pass), pass
    assert np.expm1(f["cat_samples"]) == pytest.approx(4)
    assert f["city_rate"] == pytest.approx((2 + 10 * 0.03) / (4 + 10))
    # counted as failures: own2, fo, twice
    assert np.expm1(f["cat_fails"]) == pytest.approx(3)


def test_a_source_counts_in_rates_once_it_is_known_to_publish_both_tables(sqlite_store):
    sqlite_store.write([
        SamplingSource(id="s1", name="某局", coverage="both", coverage_basis="detected"),
        _s("x1", "2021-01-01", True, producer="P", source="s1"),
        _s("x2", "2021-02-01", False, producer="P", source="s1"),
    ])
    h = read_history(ReadView(sqlite_store))
    # before 02-02 the source had published no conforming result: x1 counts as a failure, not in a rate
    before = sample_features(h, _row(producer="P", cat="调味品/酱油"), np.datetime64("2021-02-01")).iloc[0]
    assert np.expm1(before["cat_samples"]) == pytest.approx(0) and np.expm1(before["cat_fails"]) == pytest.approx(1)
    after = sample_features(h, _row(producer="P", cat="调味品/酱油"), np.datetime64("2021-02-02")).iloc[0]
    assert np.expm1(after["cat_samples"]) == pytest.approx(2)


def test_unnamed_is_unknown_not_a_signal(hand):
    h = read_history(hand)
    f = sample_features(h, _row(producer="P", cat="调味品/酱油"), np.datetime64("2021-04-01")).iloc[0]
    assert np.isnan(f["seller_samples"]) and np.isnan(f["unit=market"]) and np.isnan(f["place_rate"])


def test_unit_kind_from_names():
    assert unit_kind("永辉超市有限公司南通店") == "supermarket"
    assert unit_kind("如皋市东陈镇农贸市场12号摊位") == "market"
    assert unit_kind("南通某某餐饮管理有限公司") == "catering"
    assert unit_kind("某某旗舰店（网店）") == "online"
    assert unit_kind("南通农副产品批发市场") == "wholesale"
    assert unit_kind("甲酿造厂", producer="甲酿造厂") == "producer"
    assert unit_kind(None, stored_kind="Stall") == "market"
    assert unit_kind("/") is None


def _random_history(seed: int, n: int = 600) -> list:
    """Samples of 30 producers and 40 sellers over two years; five producers and two foods fail more."""
    rng = np.random.default_rng(seed)
    paths = ["调味品/酱油", "调味品/食醋", "食用油、油脂及其制品/食用植物油", "蔬菜制品/酱腌菜", "食糖/白糖"]
    cat_risk = np.array([0.02, 0.01, 0.06, 0.12, 0.01])
    prod_risk = np.where(np.arange(30) < 5, 0.3, 0.01)          # five bad producers
    recs = [SamplingSource(id="both", name="两表", coverage="both", coverage_basis="detected")]
    recs += [Operator(id=f"p{i}", kind="Producer", name=f"生产企业{i}") for i in range(30)]
    recs += [Operator(id=f"s{i}", kind="Operator", name=f"超市{i}" if i % 2 else f"农贸市场{i}") for i in range(40)]
    days = np.sort(rng.integers(0, 730, n))
    for k in range(n):
        c, p, s = rng.integers(0, 5), rng.integers(0, 30), rng.integers(0, 40)
        fail = rng.random() < cat_risk[c] + prod_risk[p]
        day = str(np.datetime64("2020-01-01") + np.timedelta64(int(days[k]), "D"))
        recs.append(_s(f"r{k}", day, fail, producer=None if rng.random() < 0.1 else f"p{p}", sampled=f"s{s}",
                       path=paths[c], source="both", province="江苏"))
    return recs


def test_the_same_probabilities_with_and_without_later_records(tmp_path):
    """No look-ahead: a plan scored as of a day gets the same probabilities whatever was stored after it."""
    recs = _random_history(1)
    as_of = "2021-07-01"
    full = open_store(str(tmp_path / "full.db"))
    early = open_store(str(tmp_path / "early.db"))
    full.write(recs)
    early.write([r for r in recs if not isinstance(r, Sample) or r.announced < as_of])
    plan = [{"producer_id": f"p{i}", "sampled_id": f"s{i}", "sampled_name": f"超市{i}", "producer_name": f"生产企业{i}",
             "samr_path": "调味品/酱油" if i % 2 else "蔬菜制品/酱腌菜", "province": "江苏"} for i in range(12)]
    plan.append({"producer_name": "从未见过的企业", "producer_id": "new", "sampled_name": "新超市", "sampled_id": "new-s",
                 "category_text": "从未见过的品类"})
    try:
        a = score_plan(ReadView(full), plan, as_of)
        b = score_plan(ReadView(early), plan, as_of)
    finally:
        full.close()
        early.close()
    assert np.array_equal(a["probability"].to_numpy(), b["probability"].to_numpy())
    assert a["rank"].tolist() == b["rank"].tolist()
    assert len(a) == 13 and a["probability"].between(0, 1).all()          # the unseen ones get a probability too
    top = a.sort_values("rank").iloc[0]["reasons"]
    assert top and all(r["contribution"] > 0 and r["zh"] and r["en"] for r in top)


def test_the_same_probabilities_whatever_order_the_records_were_stored_in(tmp_path):
    """A model fitted on the same records gives the same floats however the store holds them (the history is read
    in the order of the ids, not in the order rows were stored: sums of floats depend on their order)."""
    recs = _random_history(3)
    samples = [r for r in recs if isinstance(r, Sample)]
    plan = [{"producer_id": f"p{i}", "sampled_id": f"s{i}", "samr_path": "调味品/酱油" if i % 2 else "蔬菜制品/酱腌菜",
             "province": "江苏"} for i in range(12)]
    got = []
    for name, step in (("forward", 1), ("reverse", -1)):
        with open_store(str(tmp_path / f"{name}.db")) as s:
            s.write([r for r in recs if not isinstance(r, Sample)])
            parts = [samples[i:i + 50] for i in range(0, len(samples), 50)]
            for part in parts[::step]:  # one write each (a write stores its batch in the order of the ids)
                s.write(part)
            got.append(score_plan(ReadView(s), plan, "2021-07-01")["probability"].to_numpy())
    assert np.array_equal(got[0], got[1])


def test_evaluate_reports_every_baseline_on_the_same_rows(tmp_path):
    with open_store(str(tmp_path / "h.db")) as s:
        s.write(_random_history(2, 3000))
        r = evaluate_samples(ReadView(s), "2021-07-01")
    assert set(r["baselines"]) == set(BASELINES) and set(r["beats"]) == set(BASELINES)
    assert r["n_test"] > 300 and 0 < r["n_test_positive"] < r["n_test"]
    # the failures follow the food and the producer: the model must rank them, and beat random and
    # "no nominal producer" (which carries nothing here)
    assert r["roc_auc"] > 0.65
    assert r["beats"]["random"] == {"roc_auc": True, "precision_at_10pct": True}
    assert r["beats"]["no_producer"]["roc_auc"] is True
    # both the food and the producer carry risk here: the model beats each alone
    assert r["beats"]["category_rate"]["roc_auc"] and r["beats"]["own_history"]["roc_auc"]
    assert r["brier"] < r["brier_base_rate"] + 0.01
    assert set(LOGISTIC_COLUMNS) <= set(SAMPLE_FEATURES) and set(DEFAULT_TERMS) <= set(LIFT_TERMS)


def test_fit_rejects_unknown_columns_and_one_class(hand):
    h = read_history(hand)
    with pytest.raises(ValueError, match="unknown feature column"):
        fit_sample_model(h, "2021-07-01", method="logistic", columns=["nope"])
    with pytest.raises(ValueError, match="unknown term"):
        fit_sample_model(h, "2021-07-01", terms=["category", "nope"])
    with pytest.raises(ValueError, match="method must be"):
        fit_sample_model(h, "2021-07-01", method="forest")
    from reasoning.risk_model import InsufficientData

    with pytest.raises(InsufficientData, match="both outcomes|nothing to learn"):
        fit_sample_model(h, "2021-01-06")         # only g (failed) was known


@pytest.fixture(scope="module")
def realdata(tmp_path_factory):
    from loaders.load import load_files

    files = [shared_path("realdata", "cn_sampling_2015_2021_qualified.csv"),
             shared_path("realdata", "cn_sampling_2015_2021_unqualified.csv")]
    s = open_store(str(tmp_path_factory.mktemp("real") / "real.db"))
    load_files(s, files)
    try:
        yield ReadView(s)
    finally:
        s.close()


def test_real_announcements_rank_2021_h2(realdata):
    """Trained on what was announced before 2021-07-01, scored on the later rows as a plan."""
    assert any(s.sampled_id is None for s in realdata.scan("sample"))   # the rows without a sampled unit are kept
    r = evaluate_samples(realdata, "2021-07-01")
    assert r["n_test"] > 500 and r["n_test_positive"] >= 1 and r["n_test_related_left_out"] >= 0
    assert r["roc_auc"] > 0.6
    assert r["beats"]["random"]["roc_auc"] and r["beats"]["own_history"]["roc_auc"]


@parametrize_with_checks([LiftModel()])
def test_lift_model_is_a_scikit_learn_estimator(estimator, check):
    check(estimator)


def test_lift_model_weights_never_turn_against_their_term():
    """A term that happens to go with fewer failures gets weight 0, never a negative one; the other keeps its
    sign; contributions and the intercept add up to the log-odds."""
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(2000, 2))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(1.5 * Z[:, 0] - 1.0 * Z[:, 1] - 2)))).astype(int)
    m = LiftModel().fit(Z, y)
    assert m.coef_[0] > 1.0 and m.coef_[1] == 0.0
    assert m.contributions(Z[:5]).sum(axis=1) + m.intercept_ == pytest.approx(m.decision_function(Z[:5]))
    free = np.linalg.lstsq(np.c_[np.ones(2000), Z], np.log((y + 0.5) / (1.5 - y)), rcond=None)[0]
    assert free[2] < 0                              # an unconstrained fit would weigh it negatively
    Z2 = Z.copy()
    Z2[::3, 0] = np.nan                             # unknown: the training rows' mean, no contribution of its own
    m2 = LiftModel().fit(Z2, y)
    assert np.isfinite(m2.decision_function(Z2)).all()


def test_lift_model_recalibrates_on_the_rows_it_is_told():
    """Recalibrated on some rows, the mean probability on them is their failure rate and the order stays."""
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(3000, 1))
    two = rng.random(3000) < 0.6
    p = np.where(two, 1 / (1 + np.exp(-(Z[:, 0] - 4))), 1.0)   # the other rows: all failures (failures only)
    y = (rng.random(3000) < p).astype(int)
    raw, cal = LiftModel().fit(Z, y), LiftModel().fit(Z, y, calibrate=two)
    assert cal.predict_proba(Z[two])[:, 1].mean() == pytest.approx(y[two].mean(), rel=1e-3)
    assert raw.predict_proba(Z[two])[:, 1].mean() > 3 * y[two].mean()
    order = np.argsort(raw.decision_function(Z))
    assert np.array_equal(order, np.argsort(cal.decision_function(Z)))


def test_producer_form_from_names():
    assert producer_form("南通甲食品有限公司") == "company" and producer_form("彭水县协伟食品加工厂") == "factory"
    assert producer_form("如东县某某蔬菜专业合作社") == "cooperative" and producer_form("城东豆腐坊") == "workshop"
    assert producer_form("/") is None


def _plan_of(realdata_files, since: str, until: str):
    """The rows published in [since, until) read as a plan (the result columns ignored), and which failed."""
    from loaders.plan import read_plan

    rows, failed = [], []
    for path in realdata_files:
        for r in read_plan(path).rows:
            if since <= str(r["announced"])[:10] < until:
                rows.append(r)
                failed.append("unqualified" in path.name)
    return rows, np.array(failed)


def _auc(y, s):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y, s)


@pytest.mark.parametrize("since, until, floor_all, floor_food", [("2021-01-01", "2022-01-01", 0.72, 0.80),
                                                                 ("2021-07-01", "2022-01-01", 0.90, 0.75)])
def test_real_announcements_scored_as_the_judge_scores(realdata, since, until, floor_all, floor_food):
    """bench/risk_real.py's year-like splits, small: the later rows given to rank-plan's scoring as a plan as of
    the cut (measured: every row 0.814 and 0.977, food 0.900 and 0.874); the year as of 2021-01-01 beats the
    亚类's past failure rate on food (0.787 there); sensible probabilities for a two-table plan."""
    files = [shared_path("realdata", "cn_sampling_2015_2021_qualified.csv"),
             shared_path("realdata", "cn_sampling_2015_2021_unqualified.csv")]
    rows, failed = _plan_of(files, since, until)
    b = backtest_plan(realdata, rows, failed, since)
    food = ~b["food_related"].to_numpy()
    y, p, base = b["failed"].to_numpy(), b["probability"].to_numpy(), b["baseline"].to_numpy()
    assert _auc(y, p) > floor_all and _auc(y[food], p[food]) > floor_food
    if since == "2021-01-01":
        assert _auc(y[food], p[food]) > _auc(y[food], base[food]) + 0.05
    assert p.max() < 0.5 and 0.002 < p[food].mean() < 0.08


def test_rank_plan_and_evaluate_give_the_same_probabilities(realdata):
    """The 2021-H2 rows as rank-plan reads them (a plan file) and as risk evaluate reads them (stored samples)
    get the same probability as of 2021-07-01 (a plan reader that dropped the province once made them differ)."""
    from ontology.names import name_key
    from reasoning.sample_risk import plan_rows

    files = [shared_path("realdata", "cn_sampling_2015_2021_qualified.csv"),
             shared_path("realdata", "cn_sampling_2015_2021_unqualified.csv")]
    rows, failed = _plan_of(files, "2021-07-01", "2022-01-01")
    b = backtest_plan(realdata, rows, failed, "2021-07-01")
    ev = evaluate_samples(realdata, "2021-07-01", keep_predictions=True)["predictions"]
    stored = realdata.get_many("sample", list(ev["id"]))
    by_key = {(s.producer_id, s.sampled_id, name_key(s.product_name), s.batch): p
              for s, p in ((stored[i], p) for i, p in zip(ev["id"], ev["probability"]))}
    planned = plan_rows(rows, realdata, "2021-07-01")
    same = [(by_key[k], p) for k, p in zip(zip(planned["producer"], planned["sampled"],
                                                (name_key(r["product_name"]) for r in rows), (r["batch"] for r in rows)),
                                            b["probability"]) if k in by_key]
    assert len(same) > 900
    assert np.allclose([a for a, _ in same], [c for _, c in same], rtol=0, atol=1e-12)


def test_real_plan_gets_the_same_probabilities_without_the_later_announcements(realdata, tmp_path):
    """No look-ahead on real announcements: the 2021-H2 rows scored as of 2021-07-01 by a store holding every
    row and by one loaded only with the rows published before (operators first named by a later row, e.g. a
    配送中心 whose stored kind the loader read from its name, must not change how the plan is read)."""
    import csv

    from loaders.load import load_files

    files = [shared_path("realdata", "cn_sampling_2015_2021_qualified.csv"),
             shared_path("realdata", "cn_sampling_2015_2021_unqualified.csv")]
    early = []
    for f in files:
        with f.open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        day = rows[0].index("公告日期")
        out = tmp_path / f.name
        with out.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([rows[0]] + [r for r in rows[1:] if r[day][:10] < "2021-07-01"])
        early.append(out)
    rows, failed = _plan_of(files, "2021-07-01", "2022-01-01")
    full = backtest_plan(realdata, rows, failed, "2021-07-01")["probability"].to_numpy()
    with open_store(str(tmp_path / "early.db")) as s:
        load_files(s, early)
        part = backtest_plan(ReadView(s), rows, failed, "2021-07-01")["probability"].to_numpy()
    assert np.array_equal(full, part)
