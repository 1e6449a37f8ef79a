"""The failure-risk model: scikit-learn's estimator checks, calibration, contributions, labels, training set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from graph.view import ReadView
from ontology.errors import FoodtraceError
from ontology.records import Operator, Sample
from reasoning.features import FEATURES, read_frames
from ontology.errors import InsufficientData
from reasoning.risk_model import (FailureRiskModel, design_labels, design_matrix, evaluate,
                                  fit_model, next_sample_labels, precision_at, training_set)


@pytest.fixture(autouse=True)
def _one_thread():
    # many tiny fits: one BLAS thread is faster, above all on a busy machine
    with threadpool_limits(1):
        yield


@parametrize_with_checks([FailureRiskModel()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_probabilities_are_calibrated():
    """On data with known probabilities the predictions match the observed rates bin by bin."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6000, 4))
    truth = 1 / (1 + np.exp(-(-2.2 + 1.4 * X[:, 0] - 0.7 * X[:, 1])))
    y = (rng.random(6000) < truth).astype(int)
    m = FailureRiskModel().fit(X[:4000], y[:4000])
    p = m.predict_proba(X[4000:])[:, 1]
    yt, pt = y[4000:], truth[4000:]
    order = np.argsort(p)
    for chunk in np.array_split(order, 5):          # reliability: predicted vs observed per quintile
        assert abs(p[chunk].mean() - yt[chunk].mean()) < 0.05
    brier = np.mean((p - yt) ** 2)
    assert brier < np.mean((pt - yt) ** 2) + 0.005 # about as good as the true probabilities
    assert brier < np.mean((yt.mean() - yt) ** 2)  # better than the base rate


def test_logistic_contributions_add_up_to_the_log_odds():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 3))
    X[rng.random((500, 3)) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 2]) + rng.normal(size=500) > 0.8).astype(int)
    m = FailureRiskModel().fit(X, y)
    c = m.contributions(X[:20])
    lr = m.explainer_[-1]
    assert np.allclose(c.sum(axis=1) + lr.intercept_[0], m.explainer_.decision_function(X[:20]))
    assert np.argmax(np.abs(c).mean(axis=0)) == 2


def test_boosting_variant_fits_and_explains():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = (X[:, 1] + rng.normal(size=400) > 1).astype(int)
    m = FailureRiskModel(method="boosting", max_iter=30).fit(X, y)
    assert m.predict_proba(X).shape == (400, 2)
    assert np.argmax(np.abs(m.contributions(X[:50])).mean(axis=0)) == 1


def test_bad_method_and_one_class():
    with pytest.raises(ValueError, match="method must be"):
        FailureRiskModel(method="forest").fit(np.zeros((6, 2)), [0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="one class only"):
        FailureRiskModel().fit(np.zeros((4, 2)), [1, 1, 1, 1])


def test_precision_at_counts_ties_at_their_expected_share():
    assert precision_at(np.array([5, 4, 3, 2, 1.0]), np.array([1, 0, 1, 0, 0]), 0.4) == 0.5
    assert precision_at(np.ones(10), np.array([1] * 3 + [0] * 7), 0.1) == pytest.approx(0.3)
    assert precision_at(np.array([2, 1.0]), np.array([0, 1]), 0.1) == 0.0       # top 10 % of 2 is 1 row


def test_design_matrix_has_fixed_columns_and_labels():
    f = pd.DataFrame({c: [1.0, np.nan] for c in FEATURES}, index=["a", "b"])
    f[["kind", "category", "scale", "district"]] = [["Stall", "pork", "large", None], [None, None, None, None]]
    m = design_matrix(f)
    assert m.loc["a", "kind=Stall"] == 1 and m.loc["b"].filter(like="kind=").sum() == 0
    assert m.loc["a", "scale"] == 3 and np.isnan(m.loc["b", "scale"])
    assert m.loc["a", "samples"] == pytest.approx(np.log(2))                    # counts on a log scale
    assert m.loc["a", "fail_rate"] == 1.0
    assert all(design_labels(c)[0] for c in m.columns)
    assert design_labels("category=pork") == ("主营类别=猪肉", "category=pork")


@pytest.fixture
def history(sqlite_store):
    sqlite_store.write([
        Operator(id="S", kind="Stall", name="摊位"), Operator(id="R", kind="Restaurant", name="饭店"),
        Sample(id="a", plan="rapid", sampled_id="S", product_name="芹菜", sampled_at="2026-01-10",
               conclusion="conforming"),
        Sample(id="b", plan="rapid", sampled_id="S", product_name="芹菜", sampled_at="2026-02-10",
               conclusion="nonconforming"),
        Sample(id="c", plan="rapid", sampled_id="S", product_name="韭菜", sampled_at="2026-02-10",
               conclusion="conforming"),
        Sample(id="d", plan="rapid", sampled_id="R", product_name="猪肉", sampled_at="2026-03-05",
               conclusion="conforming"),
    ])
    return ReadView(sqlite_store)


def test_next_sample_labels(history):
    fr = read_frames(history)
    assert next_sample_labels(fr, np.datetime64("2026-01-01")).to_dict() == {"S": False, "R": False}
    # the next sample day of S after 01-10 has two samples, one failed
    assert next_sample_labels(fr, np.datetime64("2026-01-11")).to_dict() == {"S": True, "R": False}
    assert next_sample_labels(fr, np.datetime64("2026-01-11"), np.datetime64("2026-03-01")).to_dict() == {"S": True}
    assert next_sample_labels(fr, np.datetime64("2026-04-01")).empty


def test_training_set_uses_only_what_was_known(history):
    fr = read_frames(history)
    X, y = training_set(fr, "2026-03-01", step_days=30, min_history_days=0)
    # one cut (2026-01-30); R's sample on 03-05 is after the training period
    assert list(X.index) == [(pd.Timestamp("2026-01-30"), "S")]
    assert y.tolist() == [True]
    assert X.loc[(pd.Timestamp("2026-01-30"), "S"), "samples"] == 1          # as of the cut: sample a only
    with pytest.raises(InsufficientData, match="no conforming next sample"):
        fit_model(fr, "2026-03-01", step_days=30)


def test_evaluate_without_history_is_a_clear_error(tmp_path, history):
    from graph.store import open_store

    with open_store(str(tmp_path / "empty.db")) as empty:
        with pytest.raises(InsufficientData, match="no dated samples"):
            evaluate(ReadView(empty), "2026-01-01")
    with pytest.raises(FoodtraceError, match="nothing to learn from|both outcomes"):
        evaluate(history, "2026-01-05")
