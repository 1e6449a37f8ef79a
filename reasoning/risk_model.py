"""The failure-risk model: the probability that an operator's next sample fails.

**Training set.** For each cut date ``c`` (every ``step_days`` back from the end of
the training period, the earliest at least ``min_history_days`` after the first
record) and each operator that has a sample at or after ``c`` (and before the end
of the training period): the features of :func:`reasoning.features.operator_features`
as of ``c`` and the label "its next sample failed" (its first sample day on or
after ``c``; several samples on that day fail if any does). Samples count for the
business where they were taken and for their undisputed named producer, as in
the features.

**The estimator.** :class:`FailureRiskModel` is a scikit-learn classifier on the
numeric design matrix of :func:`design_matrix` (counts on a log scale, kind and
category one-hot, scale as an ordinal; missing values allowed). ``method=
"logistic"`` (the default): median imputation (``impute="mean"`` for the mean),
standardisation and an L2
logistic regression; ``method="boosting"``: a histogram gradient-boosting
classifier (missing values handled natively). Probabilities are calibrated by
:class:`sklearn.calibration.CalibratedClassifierCV` on out-of-fold predictions
(sigmoid by default, 3 folds when every class has at least 3 members, fewer
otherwise, none when a class has a single member), then one model is refitted on
all rows.

**Contributions** (why an operator scores high), in log-odds of the model fitted
on all training rows (before calibration, which is monotone):

* logistic: coefficient x standardised value of each design column: the exact
  additive decomposition of the log-odds around the average operator;
* boosting: for each column, the log-odds minus the log-odds with that column
  set to the training median (an occlusion difference, SHAP-like, not additive).

**Evaluation** (:func:`evaluate`): train on what was known before ``train_until``
(cuts and labels before it), then take each operator's features as of
``train_until`` and its next sample on or after ``train_until`` as the truth:
ROC-AUC, PR-AUC (average precision), precision in the top 10 % (ties at the
boundary counted at their expected share), lift over random inspection (双随机:
the base rate), lift over the ordering by regulatory grade (D first, then by
points), the Brier score, a reliability table and, when a latent-risk mapping is
given (the synthetic truth), the Spearman rank correlation of every operator's
score with it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from ontology.errors import InsufficientData
from ontology.vocab import labels, operator_kinds

from .features import FEATURES, Frames, operator_features, parse_as_of, read_frames

__all__ = ["FailureRiskModel", "design_matrix", "design_labels", "training_set",
           "next_sample_labels", "fit_model", "score_operators", "evaluate", "precision_at", "proxy_grades",
           "beats", "MODEL_VERSION"]

MODEL_VERSION = "failure-risk 1"
_KINDS = tuple(sorted(operator_kinds()))
_CATEGORIES = tuple(sorted(labels("category")))
_SCALES = {"micro": 0.0, "small": 1.0, "medium": 2.0, "large": 3.0}
#: count-like columns taken on a log scale (log1p) in the design matrix
_LOG = ("samples", "nonconforming", "samples_365", "nonconforming_365", "inspections", "inspection_fail",
        "inspection_remarks", "cases", "case_fines", "cases_police", "complaints", "complaints_substantiated",
        "credit_penalties_active", "serious_dishonest_active", "abnormal_active", "commendations_active",
        "inbound_deliveries", "degree_in", "degree_out", "pagerank", "licence_age_days", "days_since_last_sample",
        "days_since_last_fail") + tuple(c for c in FEATURES if c.startswith("hazard_"))
_NUMERIC = [c for c in FEATURES if c not in ("kind", "category", "scale", "district")]




# -- the design matrix ---------------------------------------------------------------------------

def design_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """The numeric matrix the model sees, with fixed columns (the same for every store).

    >>> f = pd.DataFrame({c: [0.0] for c in FEATURES}, index=["op"])
    >>> f[["kind", "category", "scale", "district"]] = ["Stall", "pork", "small", None]
    >>> m = design_matrix(f)
    >>> m.loc["op", ["kind=Stall", "kind=Farm", "category=pork", "scale"]].tolist()
    [1.0, 0.0, 1.0, 1.0]
    """
    out = {}
    for c in _NUMERIC:
        v = features[c].to_numpy(dtype=float)
        out[c] = np.log1p(np.clip(v, 0, None)) if c in _LOG else v
    out["scale"] = features["scale"].map(_SCALES).to_numpy(dtype=float)
    kind = features["kind"].to_numpy(dtype=object)
    for k in _KINDS:
        out[f"kind={k}"] = (kind == k).astype(float)
    cat = features["category"].to_numpy(dtype=object)
    for k in _CATEGORIES:
        out[f"category={k}"] = (cat == k).astype(float)
    return pd.DataFrame(out, index=features.index)


def design_labels(column: str) -> tuple[str, str]:
    """(Chinese, English) name of a design-matrix column.

    >>> design_labels("kind=Stall")
    ('主体类型=摊位', 'kind=Stall')
    >>> design_labels("fail_rate")
    ('不合格率(平滑)', 'failure rate (smoothed)')
    """
    if "=" in column:
        base, value = column.split("=", 1)
        scheme = "operator_kind" if base == "kind" else base
        zh_base = FEATURES[base][0]
        zh_value = labels(scheme).get(value, (value, value))[0]
        return f"{zh_base}={zh_value}", column
    if column == "scale":
        return FEATURES["scale"][0], FEATURES["scale"][1]
    zh, en, _ = FEATURES[column]
    return zh, en


# -- the estimator -----------------------------------------------------------------------------------

class _EmptyColumnsToZero(TransformerMixin, BaseEstimator):
    """Sets columns that are missing in every training row to 0 (HistGradientBoosting fails on them)."""

    def fit(self, X, y=None):
        self.empty_ = np.isnan(np.asarray(X, dtype=float)).all(axis=0)
        return self

    def transform(self, X):
        X = np.array(X, dtype=float)
        X[:, self.empty_] = 0.0
        return X


class FailureRiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated classifier of "the next sample fails" (see the module docstring).

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] + rng.normal(size=200) > 1).astype(int)
    >>> m = FailureRiskModel().fit(X, y)
    >>> p = m.predict_proba(X)[:, 1]
    >>> bool(p[X[:, 0] > 1].mean() > p[X[:, 0] < 0].mean())
    True
    >>> int(np.argmax(np.abs(m.contributions(X[:5])).mean(axis=0)))
    0
    """

    def __init__(self, method: str = "logistic", C: float = 0.1, calibration: str = "sigmoid", cv: int = 3,
                 learning_rate: float = 0.05, max_iter: int = 200, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 40, l2_regularization: float = 1.0, random_state: int = 0,
                 impute: str = "median"):
        self.method = method
        self.impute = impute
        self.C = C
        self.calibration = calibration
        self.cv = cv
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _base(self):
        if self.method == "logistic":
            return Pipeline([("impute", SimpleImputer(strategy=self.impute, keep_empty_features=True)),
                             ("scale", StandardScaler()),
                             ("model", LogisticRegression(C=self.C, max_iter=2000))])
        if self.method == "boosting":
            return Pipeline([("empty", _EmptyColumnsToZero()), ("model", HistGradientBoostingClassifier(
                learning_rate=self.learning_rate, max_iter=self.max_iter, max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
                random_state=self.random_state))])
        raise ValueError(f"method must be 'logistic' or 'boosting', not {self.method!r}")

    def fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_ = unique_labels(y)
        if len(self.classes_) < 2:
            raise ValueError(f"the training data has one class only ({self.classes_[0]!r}): need at least 2 classes")
        # one BLAS/OpenMP thread: the problems are small, and more threads only contend (2x slower measured)
        with threadpool_limits(1):
            self._fit(X, y)
        return self

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        base = self._base()
        smallest = int(np.min(np.unique(y, return_counts=True)[1]))
        folds = min(int(self.cv), smallest)
        if folds >= 2:
            # ensemble=False: calibrated on out-of-fold predictions, one model refitted on all rows
            self.calibrated_ = CalibratedClassifierCV(
                clone(base), method=self.calibration, ensemble=False,
                cv=StratifiedKFold(folds, shuffle=True, random_state=self.random_state)).fit(X, y)
            self.explainer_ = self.calibrated_.calibrated_classifiers_[0].estimator
        else:
            self.calibrated_ = self.explainer_ = clone(base).fit(X, y)
        last = self.explainer_[-1] if isinstance(self.explainer_, Pipeline) else self.explainer_
        self.n_iter_ = np.atleast_1d(last.n_iter_).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN columns
            med = np.nanmedian(X, axis=0)
        self.median_ = np.where(np.isnan(med), 0.0, med)

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return self.calibrated_.predict_proba(X)

    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def contributions(self, X) -> np.ndarray:
        """Per-row, per-column contribution to the log-odds of the positive class (binary models)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        if len(self.classes_) != 2:
            raise ValueError("contributions are defined for binary models")
        if self.method == "logistic":
            pipe = self.explainer_
            z = pipe[:-1].transform(X)
            return z * pipe[-1].coef_[0]
        base = self._log_odds(X)
        out = np.empty(X.shape, dtype=float)
        for j in range(X.shape[1]):
            Xj = X.copy()
            Xj[:, j] = self.median_[j]
            out[:, j] = base - self._log_odds(Xj)
        return out

    def _log_odds(self, X: np.ndarray) -> np.ndarray:
        p = np.clip(self.explainer_.predict_proba(X)[:, 1], 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))


# -- labels and the training set -------------------------------------------------------------------

def next_sample_labels(frames: Frames, start: np.datetime64, end: np.datetime64 | None = None, *,
                       known_before: np.datetime64 | None = None) -> pd.Series:
    """For each operator with a sample dated in [start, end): did its first such sample day fail (bool)?

    ``known_before``: only samples whose result was known (announced) before that day count (a training
    label must be known at the end of the training period). Index: operator ids, in the order of
    ``frames.ids``.
    """
    S = frames.samples
    inc = frames.incidence
    d = S["date"].to_numpy(dtype="datetime64[D]")[inc["sample"].to_numpy()]
    ok = d >= start
    if end is not None:
        ok &= d < end
    if known_before is not None:
        ok &= S["known"].to_numpy(dtype="datetime64[D]")[inc["sample"].to_numpy()] < known_before
    t = pd.DataFrame({"op": inc["op"].to_numpy()[ok], "date": d[ok],
                      "fail": S["fail"].to_numpy()[inc["sample"].to_numpy()[ok]]})
    if t.empty:
        return pd.Series([], index=pd.Index([], dtype=object, name="operator_id"), dtype=bool)
    first = t.groupby("op")["date"].transform("min")
    lab = t[t["date"] == first].groupby("op")["fail"].any()
    lab.index = frames.ids[lab.index.to_numpy()]
    lab.index.name = "operator_id"
    return lab.astype(bool)


def _first_date(frames: Frames) -> np.datetime64 | None:
    d = frames.samples["date"].to_numpy(dtype="datetime64[D]")
    d = d[~np.isnat(d)]
    return d.min() if len(d) else None


def training_set(frames: Frames, until: Any, *, step_days: int = 30, min_history_days: int = 60,
                 max_cuts: int = 24) -> tuple[pd.DataFrame, pd.Series]:
    """(features, labels) of every (cut, operator) before ``until``; index (cut date, operator id)."""
    end = parse_as_of(until)
    if end is None:
        end = frames.default_as_of()
    first = _first_date(frames)
    if first is None:
        raise InsufficientData("the store has no dated samples: nothing to learn from")
    cuts = []
    c = end - np.timedelta64(step_days, "D")
    while c >= first + np.timedelta64(min_history_days, "D") and len(cuts) < max_cuts:
        cuts.append(c)
        c = c - np.timedelta64(step_days, "D")
    if not cuts:
        cuts = [first + (end - first) // 2] if end - first >= np.timedelta64(2, "D") else []
    xs, ys = [], []
    for c in sorted(cuts):
        lab = next_sample_labels(frames, c, end, known_before=end)
        if lab.empty:
            continue
        f = operator_features(frames, as_of=c, operator_ids=lab.index)
        f.index = pd.MultiIndex.from_arrays([np.repeat(pd.Timestamp(c), len(f)), f.index],
                                            names=["cut", "operator_id"])
        xs.append(f)
        ys.append(pd.Series(lab.to_numpy(), index=f.index, name="failed"))
    if not xs:
        raise InsufficientData(f"no operator was sampled before {end}: nothing to learn from")
    return pd.concat(xs), pd.concat(ys)


def fit_model(frames: Frames, until: Any, *, method: str = "logistic", step_days: int = 30,
              **params: Any) -> tuple[FailureRiskModel, dict[str, Any]]:
    """Train on what was known before ``until``; returns the model and figures of its training set."""
    X, y = training_set(frames, until, step_days=step_days)
    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        what = "nonconforming" if pos == 0 else "conforming"
        raise InsufficientData(f"no {what} next sample among {len(y)} training rows before {parse_as_of(until) or 'the end'}: "
                               "the model needs both outcomes")
    model = FailureRiskModel(method=method, **params).fit(design_matrix(X).to_numpy(), y.to_numpy().astype(int))
    return model, {"n_train": int(len(y)), "n_train_positive": pos,
                   "cuts": int(X.index.get_level_values("cut").nunique())}


def _top_contributions(model: FailureRiskModel, M: pd.DataFrame, features: pd.DataFrame,
                       top: int) -> list[list[dict[str, Any]]]:
    """The ``top`` positive contributions of each row, with the feature's own value (not its log)."""
    contrib = model.contributions(M.to_numpy())
    cols = list(M.columns)
    order = np.argsort(-contrib, axis=1)[:, :top]
    out = []
    for i in range(len(M)):
        row = []
        for j in order[i]:
            if contrib[i, j] <= 0:
                break
            zh, en = design_labels(cols[j])
            value = features.iat[i, features.columns.get_loc(cols[j].split("=", 1)[0])]
            if isinstance(value, (float, np.floating)):
                value = None if math.isnan(value) else round(float(value), 4)
            row.append({"feature": cols[j], "zh": zh, "en": en, "contribution": round(float(contrib[i, j]), 4),
                        "value": value})
        out.append(row)
    return out


def score_operators(view: Any, *, as_of: Any = None, method: str = "logistic", top_features: int = 3,
                    operator_ids: Iterable[str] | None = None, model: FailureRiskModel | None = None,
                    step_days: int = 30, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Probability that each operator's next sample fails, with its top contributing features.

    Trains on everything known before ``as_of`` (unless a fitted ``model`` is
    given), then scores the features as of ``as_of`` (or the ``features`` given,
    computed by :func:`reasoning.features.operator_features` as of that day). Index ``operator_id``;
    columns ``probability`` (calibrated), ``rank`` (1 = riskiest),
    ``top_features`` (a list of dicts: the design column ``feature``, its ``zh``
    and ``en`` names, its ``contribution`` to the log-odds and the operator's own
    ``value`` of the feature, e.g. 3 failed inspections or the kind), and
    ``kind``, ``name``.
    """
    frames = view if isinstance(view, Frames) else read_frames(view)
    day = parse_as_of(as_of) or frames.default_as_of()
    if model is None:
        model, _ = fit_model(frames, day, method=method, step_days=step_days)
    f = features if features is not None else operator_features(frames, as_of=day, operator_ids=operator_ids)
    M = design_matrix(f)
    p = model.predict_proba(M.to_numpy())[:, 1] if len(M) else np.zeros(0)
    out = pd.DataFrame({"probability": p}, index=f.index)
    out["rank"] = out["probability"].rank(ascending=False, method="min").astype(int) if len(out) else []
    out["kind"] = f["kind"]
    out["name"] = frames.operators["name"].reindex(f.index).to_numpy(dtype=object)
    out["top_features"] = _top_contributions(model, M, f, top_features) if len(M) else []
    out = out.sort_values(["rank"], kind="stable")
    out.attrs["as_of"] = str(day)
    return out


# -- evaluation --------------------------------------------------------------------------------------

def precision_at(scores: np.ndarray, labels_: np.ndarray, share: float = 0.1) -> float:
    """Precision of the top ``share`` by score; ties at the boundary count at their expected share.

    >>> precision_at(np.array([3, 2, 2, 1.0]), np.array([1, 1, 0, 0]), 0.5)  # top 2: one sure, one of a tie
    0.75
    """
    n = len(scores)
    if n == 0:
        return float("nan")
    k = max(1, int(math.ceil(share * n)))
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels_, dtype=float)
    order = np.argsort(-s, kind="stable")
    threshold = s[order[k - 1]]
    above = s > threshold
    tie = s == threshold
    taken_tie = k - int(above.sum())
    hits = y[above].sum() + (y[tie].mean() * taken_tie if tie.any() else 0.0)
    return float(hits / k)


_GRADE_RANK = {"A": 1, "B": 2, "C": 3, "D": 4}
_HIGH = {"infant_food", "special_food", "dairy", "pork", "beef_mutton", "poultry", "processed_meat", "live_pig",
         "live_poultry", "aquatic", "prepared_food"}
_MEDIUM = {"egg", "leafy_vegetable", "vegetable", "bakery", "frozen_food", "edible_oil", "condiment", "beverage"}


def proxy_grades(features: pd.DataFrame) -> pd.DataFrame:
    """A simple points proxy of the regulatory grade (used only where :mod:`reasoning.grading` is absent).

    Static: category tier (high 15, medium 10, other 5) + scale (large 10, medium 7,
    small 4, micro or unknown 2); dynamic: 10 per nonconforming sample (at most 3),
    5 per failed inspection (at most 3), 2 per inspection with remarks (at most 5),
    8 per case (at most 3), 3 per substantiated complaint (at most 3); credit: 10 for
    an active penalty, 5 for abnormal operation; bands A <= 30 < B <= 45 < C <= 60 < D;
    on the serious dishonesty list: D. Columns ``grade``, ``score``.
    """
    cat = features["category"]
    static = np.where(cat.isin(_HIGH), 15.0, np.where(cat.isin(_MEDIUM), 10.0, 5.0))
    static += features["scale"].map({"large": 10.0, "medium": 7.0, "small": 4.0}).fillna(2.0).to_numpy()
    f = features
    dyn = (10 * np.minimum(f["nonconforming"], 3) + 5 * np.minimum(f["inspection_fail"], 3)
           + 2 * np.minimum(f["inspection_remarks"], 5) + 8 * np.minimum(f["cases"], 3)
           + 3 * np.minimum(f["complaints_substantiated"], 3)).to_numpy(dtype=float)
    cred = 10 * (f["credit_penalties_active"] > 0).to_numpy() + 5 * (f["abnormal_active"] > 0).to_numpy()
    score = static + dyn + cred
    grade = np.select([score <= 30, score <= 45, score <= 60], ["A", "B", "C"], "D").astype(object)
    grade[(f["serious_dishonest_active"] > 0).to_numpy()] = "D"
    return pd.DataFrame({"grade": grade, "score": score}, index=features.index)


def _grades_from(view: Any, frames: Frames, day: np.datetime64, grades: Any) -> tuple[pd.DataFrame, str]:
    """Grades as a frame (grade, score) and where they came from."""
    if grades is not None:
        if isinstance(grades, pd.DataFrame):
            return grades[["grade", "score"]], "given"
        rows = {}
        for k, v in (grades.items() if isinstance(grades, Mapping) else ((a.operator_id, a) for a in grades)):
            if isinstance(v, str):
                rows[k] = (v, 0.0)
            else:
                rows[k] = (v.grade, float(getattr(v, "score", 0.0) or 0.0))
        return pd.DataFrame.from_dict(rows, orient="index", columns=["grade", "score"]), "given"
    try:
        from .grading import grade_operators
    except ImportError:
        grade_operators = None
    if grade_operators is not None and not isinstance(view, Frames):
        day_iso = str(day)
        assessments = grade_operators(view, as_of=day_iso)
        df = pd.DataFrame([(a.operator_id, a.grade, float(a.score)) for a in assessments],
                          columns=["operator_id", "grade", "score"]).set_index("operator_id")
        return df, "reasoning.grading.grade_operators"
    return proxy_grades(operator_features(frames, as_of=day)), "points proxy (reasoning.risk_model.proxy_grades)"


def _reliability(p: np.ndarray, y: np.ndarray, bins: int = 5) -> list[dict[str, Any]]:
    """Mean predicted vs observed failure rate per quantile bin of the prediction."""
    if len(p) == 0:
        return []
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, min(bins, len(p))):
        if len(chunk):
            out.append({"n": int(len(chunk)), "predicted": round(float(p[chunk].mean()), 4),
                        "observed": round(float(y[chunk].mean()), 4)})
    return out


def evaluate(view: Any, train_until: Any, *, grades: Any = None, latent: Mapping[str, float] | None = None,
             exposure: Mapping[str, float] | None = None, method: str = "logistic", step_days: int = 30, horizon_days: int | None = None,
             frames: Frames | None = None) -> dict[str, Any]:
    """Train on what was known before ``train_until``, evaluate on each operator's next sample after it.

    ``grades``: the regulatory grades to compare with (a mapping operator id ->
    grade letter or Assessment, a list of Assessments, or a frame with ``grade``
    and ``score``); by default :func:`reasoning.grading.grade_operators` as of
    ``train_until`` where that module exists, else :func:`proxy_grades`.
    ``latent``: operator id -> latent risk (the synthetic truth) for
    ``spearman_latent``; ``exposure``: operator id -> the synthetic risk of what it
    held (``exposure`` in ``truth/latent_risk.csv``) for ``spearman_exposure``. ``horizon_days`` limits the test to samples within that
    many days after ``train_until``.

    Keys: ``roc_auc, pr_auc, precision_at_10pct, lift_vs_random, lift_vs_grade,
    brier, n_train, n_test`` (None where undefined, e.g. an AUC when every test
    label is the same), plus ``base_rate, n_train_positive, n_test_positive,
    precision_at_10pct_grade, grade_source, reliability, method, train_until,
    cuts`` and ``spearman_latent`` when ``latent`` is given; ``baselines``: ROC-AUC and precision in the
    top 10 % on the same test rows of ``random`` (0.5 and the failure rate, in expectation), ``grade`` (the
    regulatory grade ordering), ``category_rate`` (the category's smoothed failure rate alone),
    ``own_history`` (the operator's own smoothed failure rate alone) and ``no_producer`` (the share of its
    results naming no producer); ``beats``: where the model beats each (see :func:`beats`);
    ``brier_base_rate``: the Brier score of predicting the training rows' failure rate for everyone.
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    fr = frames if frames is not None else (view if isinstance(view, Frames) else read_frames(view))
    day = parse_as_of(train_until)
    if day is None:
        raise InsufficientData("evaluate needs a train_until date")
    model, info = fit_model(fr, day, method=method, step_days=step_days)
    end = day + np.timedelta64(horizon_days, "D") if horizon_days else None
    truth = next_sample_labels(fr, day, end)
    if truth.empty:
        raise InsufficientData(f"no operator was sampled on or after {day}: nothing to evaluate on")
    f_all = operator_features(fr, as_of=day)
    p_all = pd.Series(model.predict_proba(design_matrix(f_all).to_numpy())[:, 1], index=f_all.index)
    p = p_all.loc[truth.index].to_numpy()
    y = truth.to_numpy().astype(int)
    both = 0 < y.sum() < len(y)
    base = float(y.mean())
    prec = precision_at(p, y, 0.1)
    g, source = _grades_from(view, fr, day, grades)
    g = g.reindex(truth.index)
    g_key = g["grade"].map(_GRADE_RANK).fillna(0).to_numpy(dtype=float) * 1000 + g["score"].fillna(0).to_numpy(float)
    prec_grade = precision_at(g_key, y, 0.1)

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 4) if b > 0 else None

    f_test = f_all.loc[truth.index]
    scores = {"model": p, "grade": g_key, "category_rate": f_test["category_fail_rate"].to_numpy(dtype=float),
              "own_history": f_test["fail_rate"].to_numpy(dtype=float),
              "no_producer": _no_producer_share(fr, day).reindex(truth.index).fillna(0.0).to_numpy(dtype=float)}
    figures = {"random": {"roc_auc": 0.5 if both else None, "precision_at_10pct": round(base, 4)}}
    for name, s in scores.items():
        figures[name] = {"roc_auc": round(float(roc_auc_score(y, s)), 4) if both else None,
                         "precision_at_10pct": round(precision_at(s, y, 0.1), 4)}

    out: dict[str, Any] = {
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "pr_auc": round(float(average_precision_score(y, p)), 4) if both else None,
        "precision_at_10pct": round(prec, 4),
        "lift_vs_random": ratio(prec, base),
        "lift_vs_grade": ratio(prec, prec_grade),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "brier_base_rate": round(float(np.mean((info["n_train_positive"] / info["n_train"] - y) ** 2)), 4),
        "n_train": info["n_train"],
        "n_test": int(len(y)),
        "base_rate": round(base, 4),
        "n_train_positive": info["n_train_positive"],
        "n_test_positive": int(y.sum()),
        "precision_at_10pct_grade": round(prec_grade, 4),
        "grade_source": source,
        "reliability": _reliability(p, y),
        "method": method,
        "train_until": str(day),
        "cuts": info["cuts"],
        "level": "operator",
        "baselines": {k: v for k, v in figures.items() if k != "model"},
        "beats": beats(figures),
    }
    for name, truth_map in (("latent", latent), ("exposure", exposure)):
        if truth_map is not None:
            out[f"spearman_{name}"], out[f"n_{name}"] = _spearman(p_all, truth_map)
    return out


def _no_producer_share(fr: Frames, day: np.datetime64) -> pd.Series:
    """Per operator: the share of its results known before ``day`` that name no producer (loose produce)."""
    S = fr.samples
    inc = fr.incidence
    rows = inc["sample"].to_numpy()
    known = S["known"].to_numpy(dtype="datetime64[D]")[rows] < day
    nop = (S["producer"].to_numpy()[rows] < 0).astype(float)
    t = pd.DataFrame({"op": inc["op"].to_numpy()[known], "nop": nop[known]})
    share = t.groupby("op")["nop"].mean()
    share.index = fr.ids[share.index.to_numpy()]
    return share


def beats(figures: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, bool | None]]:
    """For each baseline of ``figures`` (name -> {roc_auc, precision_at_10pct}), whether ``figures["model"]``
    beats it strictly on each (None where a figure is undefined).

    >>> beats({"model": {"roc_auc": 0.7, "precision_at_10pct": 0.1}, "random": {"roc_auc": 0.5,
    ...        "precision_at_10pct": 0.1}})
    {'random': {'roc_auc': True, 'precision_at_10pct': False}}
    """
    m = figures["model"]
    return {name: {key: (None if m.get(key) is None or b.get(key) is None else bool(m[key] > b[key]))
                   for key in ("roc_auc", "precision_at_10pct")}
            for name, b in figures.items() if name != "model"}


def _spearman(scores: pd.Series, truth: Mapping[str, float]) -> tuple[float | None, int]:
    from scipy.stats import spearmanr

    t = pd.Series(truth, dtype=float)
    common = scores.index.intersection(t.index)
    if len(common) < 3 or t.loc[common].nunique() < 2 or scores.loc[common].nunique() < 2:
        return None, int(len(common))
    return round(float(spearmanr(scores.loc[common], t.loc[common]).statistic), 4), int(len(common))
