"""The failure risk of a planned sample: what a bureau plans at (one food, at one sampled unit, from one producer).

The operator model (:mod:`reasoning.risk_model`) asks "will this business's next sample fail?"; a bureau
plans samples: this food, bought at that market, made by that producer, under this task. This module
scores such rows, from what announcements carry, on an announcements-only store as well as on the full
graph.

**History.** :func:`read_history` reads every stored sample once: who (the named producer, the sampled
unit and their names), what (the SAMR category path, else the category), where (province, else the
sampled unit's district), the task kind (国抽/省抽/市抽/专项/评价性), the source and the hazard classes of
its failed items. A result is *known* from the day it was announced (``announced``; else its
``sampled_at``, for the city's own results that are known when taken), never from its sampling day.
Food-related products (食品相关产品) are kept out of every food rate, every operator's history and the
training set.

**Coverage.** A failures-only source has no denominator: a sample counts in a failure *rate* only when
its source is known to publish both tables on the day asked about (a conforming sample of the same source
was known before, or the source is declared ``both``; samples without a source, as the city's own, count).
Failure *counts* count from every source.

**Features** of a row as of a day ``t`` (:data:`SAMPLE_FEATURES`), each from what was known before ``t``
only (:func:`sample_features`):

* category: the smoothed failure rate of the row's category (empirical Bayes down the SAMR tree: the
  city's rate -> 大类 (20 pseudo-samples) -> 亚类 (10) -> the full path (5)), the 大类 rate, the number of
  failures of its 亚类 in the last 365 days and ever (all sources), how many results of its 亚类 are known,
  and per hazard class the smoothed rate of failures of that class in its 亚类;
* the named producer's and the sampled unit's own histories: results known, failures, the recency of the
  last failure (``exp(-days / 365)``) and their smoothed failure rate (3 pseudo-samples at the category's
  rate);
* no nominal producer (loose produce, ``/``);
* the kind of sampled unit read from its name (:func:`unit_kind`: 农贸市场/摊位, 超市/商场, 餐饮, 网店,
  批发市场, 商店/经营部, the producer itself), else from its stored kind;
* the place's smoothed failure rate (province, else district; 20 pseudo-samples at the city's rate);
* the task kind and the season (quarter of the sampling day; of ``t`` for a planned row);
* where deliveries exist, the sampled unit's and the producer's network features as of the latest cut at
  or before ``t`` (:func:`reasoning.features.operator_features`: propagated risk, suppliers' failure rate,
  share of inbound deliveries without a certificate).

**Model.** :func:`fit_sample_model` trains :class:`reasoning.risk_model.FailureRiskModel` (calibrated L2
logistic regression, ``C`` = 0.03, mean imputation) on :data:`DEFAULT_COLUMNS` of every food sample known
before ``until`` (from ``min_history_days`` after the first known result), each with its features as of
its own announcement day. What a row does not say (no sampled unit, place or task named) is unknown, not a
signal: such a column takes the training rows' mean, so that a re-publisher that leaves out the sampled
unit of its (failures-only) rows does not teach the model that "no sampled unit" means "failed" (a real
plan always names where the sample will be taken).
:func:`score_plan` scores planned rows as of ``as_of`` with the reasons that raise each most;
:func:`evaluate_samples` gives the rows known on or after ``train_until`` to the model as a plan and
compares it with baselines on the same rows.

Nothing published on or after ``t`` reaches a feature, a base rate or the training set, so the
probabilities of a plan are the same whether or not the store already holds its results.

Examples
--------
>>> unit_kind("城北农贸市场王记摊位"), unit_kind("沃尔玛（河北）商业零售有限公司"), unit_kind("/")
('market', 'supermarket', None)
>>> unit_kind("某某食品有限公司", producer="某某食品有限公司")
'producer'
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ontology.errors import FoodtraceError, InsufficientData
from ontology.times import days_of, default_as_of
from ontology.vocab import labels

from .features import operator_features, parse_as_of, read_frames
from .risk_model import FailureRiskModel, beats, precision_at

__all__ = ["SAMPLE_FEATURES", "DEFAULT_COLUMNS", "UNIT_KINDS", "TASK_KINDS", "History", "read_history", "plan_rows", "unit_kind",
           "sample_features", "fit_sample_model", "score_plan", "evaluate_samples", "BASELINES",
           "SAMPLE_MODEL_VERSION"]

SAMPLE_MODEL_VERSION = "sample-risk 1"

#: unit kind -> (Chinese, English); read from the sampled unit's name by :func:`unit_kind`
UNIT_KINDS: dict[str, tuple[str, str]] = {
    "producer": ("生产企业自身", "the producer itself"),
    "market": ("农贸市场/摊位", "farmers' market or stall"),
    "supermarket": ("超市/商场", "supermarket"),
    "catering": ("餐饮", "catering"),
    "online": ("网店", "online shop"),
    "wholesale": ("批发市场", "wholesale market"),
    "shop": ("商店/经营部", "shop"),
}
_UNIT_WORDS: tuple[tuple[str, str], ...] = (
    ("online", r"网店|电子商务|网络|旗舰店|专营店|淘宝|天猫|京东|拼多多|1688|电商"),
    ("catering", r"餐饮|饭店|酒店|餐厅|食堂|小吃|火锅|饭馆|酒楼|大排档|快餐|面馆|餐馆|烧烤|厨房"),
    ("wholesale", r"批发|物流园|物流城|交易市场|农产品市场|冷链"),
    ("market", r"农贸|菜市场|菜场|集贸|市场|摊|档口|菜店"),
    ("supermarket", r"超市|商场|购物|便利|百货|商城|沃尔玛|家乐福|大润发|永辉|华润万家|联华|物美|苏果|欧尚|麦德龙"),
    ("shop", r"经营部|商行|经销|门市|副食|调料|粮油|批零|商店|门店|店$|分店|食品店|贸易"),
)
_KIND_OF_OPERATOR = {"Stall": "market", "FarmersMarket": "market", "Vendor": "market", "Supermarket": "supermarket",
                     "Restaurant": "catering", "SchoolCanteen": "catering", "WholesaleMarket": "wholesale",
                     "Distributor": "wholesale"}

#: task kind -> (Chinese, English), as the loader reads it from 任务来源
TASK_KINDS: dict[str, tuple[str, str]] = {
    "national": ("国抽", "national"), "provincial": ("省抽", "provincial"), "municipal": ("市抽", "municipal"),
    "county": ("县抽", "county"), "special": ("专项", "special campaign"), "evaluation": ("评价性", "evaluation"),
}
_HZ = labels("hazard_class")
_HAZARDS = tuple(sorted(h for h in _HZ if h != "other"))
_NETWORK = ("seller_propagated_risk", "seller_supplier_fail_rate", "seller_no_certificate_share",
            "producer_propagated_risk")
_K_MAJOR, _K_SUB, _K_PATH, _K_OWN, _K_PLACE = 20.0, 10.0, 5.0, 3.0, 20.0
_YEAR = 365.0

#: column -> (Chinese, English, what it is)
SAMPLE_FEATURES: dict[str, tuple[str, str, str]] = {
    "cat_rate": ("品类不合格率", "category failure rate",
                 "smoothed failure rate of the row's category (city -> 大类 -> 亚类 -> path), two-table sources"),
    "major_rate": ("大类不合格率", "major category failure rate", "smoothed failure rate of its 大类"),
    "cat_fails_365": ("品类近一年不合格批次", "category failures, last 365 days",
                      "failures of its 亚类 known in the last 365 days, every source (log1p)"),
    "cat_fails": ("品类历史不合格批次", "category failures", "failures of its 亚类 ever known, every source (log1p)"),
    "cat_samples": ("品类历史抽检批次", "category results", "results of its 亚类 known, two-table sources (log1p)"),
    **{f"hazard_{h}": (f"品类{_HZ[h][0]}不合格率", f"category rate: {_HZ[h][1].lower()}",
                       f"smoothed rate of failures of hazard class {h} in its 亚类")
       for h in _HAZARDS},
    "producer_samples": ("生产企业抽检批次", "producer's results", "results naming the producer (log1p)"),
    "producer_fails": ("生产企业不合格批次", "producer's failures", "failures naming the producer, every source (log1p)"),
    "producer_recent_fail": ("生产企业近期不合格", "producer failed recently",
                             "exp(-days since its last failure / 365); 0 if it never failed"),
    "producer_rate": ("生产企业不合格率", "producer's failure rate",
                      "smoothed: (failures + 3 x category rate) / (results + 3), two-table sources"),
    "seller_samples": ("被抽样单位抽检批次", "sampled unit's results", "results taken at the sampled unit (log1p)"),
    "seller_fails": ("被抽样单位不合格批次", "sampled unit's failures", "failures at the sampled unit (log1p)"),
    "seller_recent_fail": ("被抽样单位近期不合格", "sampled unit failed recently",
                           "exp(-days since its last failure / 365); 0 if it never failed"),
    "seller_rate": ("被抽样单位不合格率", "sampled unit's failure rate",
                    "smoothed: (failures + 3 x category rate) / (results + 3), two-table sources"),
    "no_producer": ("无标称生产企业", "no nominal producer", "1 where no producer is named (loose produce, /)"),
    **{f"unit={k}": (f"被抽样单位类型={zh}", f"sampled unit: {en}", "kind of sampled unit read from its name")
       for k, (zh, en) in UNIT_KINDS.items()},
    "place_rate": ("地区不合格率", "place failure rate",
                   "smoothed failure rate of the province (else district) of the sampled unit"),
    **{f"task={k}": (f"任务类别={zh}", f"task: {en}", "sampling task kind") for k, (zh, en) in TASK_KINDS.items()},
    **{f"quarter={q}": (f"季度=第{q}季度", f"quarter {q}", "quarter of the sampling day") for q in (1, 2, 3, 4)},
    "seller_propagated_risk": ("被抽样单位传导风险", "sampled unit's propagated risk",
                               "personalised PageRank from recent failures along deliveries (full graph)"),
    "seller_supplier_fail_rate": ("被抽样单位供货方不合格率", "sampled unit's suppliers' failure rate",
                                  "edge-weighted mean failure rate of its suppliers"),
    "seller_no_certificate_share": ("被抽样单位进货无合格证明比例", "sampled unit's inbound share without certificate",
                                    "share of its inbound deliveries without a certificate"),
    "producer_propagated_risk": ("生产企业传导风险", "producer's propagated risk",
                                 "personalised PageRank from recent failures along deliveries (full graph)"),
}
_COLUMNS = list(SAMPLE_FEATURES)
_ONE_HOT = tuple(c for c in _COLUMNS if "=" in c)
#: the columns the model learns from by default. Chosen with forward-chaining splits inside the training
#: years of the real announcements (train before 2015-07-01, 2016-01-01, 2021-03-01, 2021-05-01; test the
#: next months): the per-hazard-class category rates and the kind of sampled unit lowered the mean ROC-AUC
#: there (0.82 -> 0.66 and 0.82 -> 0.79; they are computed, and can be given to the model by ``columns``)
DEFAULT_COLUMNS: tuple[str, ...] = tuple(c for c in _COLUMNS if not c.startswith(("hazard_", "unit=")))
DEFAULT_C = 0.03

#: baseline -> (Chinese, English): the orderings every evaluation reports beside the model
BASELINES: dict[str, tuple[str, str]] = {
    "random": ("随机抽查(双随机)", "random (double-random inspection)"),
    "grade": ("风险等级排序", "regulatory grade ordering"),
    "category_rate": ("仅品类不合格率", "category base rate only"),
    "category_rate_naive": ("仅品类历史不合格率(不分来源)", "category failure rate over every row (naive)"),
    "own_history": ("仅自身历史", "own history only"),
    "no_producer": ("仅无标称生产企业", "no nominal producer only"),
}


# -- names -----------------------------------------------------------------------------------------------

def _clean(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    s = "".join(unicodedata.normalize("NFKC", name).split())
    return None if s in ("", "/", "-", "—", "无", "未知") else s


def unit_kind(name: Any, *, producer: Any = None, stored_kind: str | None = None) -> str | None:
    """The kind of a sampled unit read from its name (a key of :data:`UNIT_KINDS`), else from its stored kind.

    ``producer``: the named producer (its name or id): a unit that is its own producer is ``producer``.
    None where the unit is not named (and no kind is stored).
    """
    s = _clean(name)
    if s is not None and producer is not None and s == _clean(producer):
        return "producer"
    if s is not None:
        for kind, pattern in _UNIT_WORDS:
            if re.search(pattern, s):
                return kind
    if stored_kind in _KIND_OF_OPERATOR:
        return _KIND_OF_OPERATOR[stored_kind]
    if stored_kind in ("Producer", "Workshop", "Slaughterhouse", "Farm", "CropFarm", "AquaFarm") and s is not None:
        return "producer" if producer is None else None
    return None


# -- reading -------------------------------------------------------------------------------------------

@dataclass
class History:
    """Every stored sample, one row each, as :func:`sample_features` needs them (see :func:`read_history`).

    ``samples`` columns: ``id, producer, sampled, unit, cat, place, task, quarter, known (datetime64[D]),
    fail, related, disputed, source, counted`` (the first day its source is known to publish both tables, NaT if
    never) and ``hz_<class>`` (a failed item of that hazard class). ``frames``: the operator features'
    frames where the store has deliveries (for the network columns), else None.
    """

    samples: pd.DataFrame
    frames: Any
    as_of_default: np.datetime64


def _get(r: Any, name: str) -> Any:
    return getattr(r, name, None)


def _path(samr_path: Any, category: Any, text: Any) -> str | None:
    for v in (samr_path, category, text):
        if isinstance(v, str) and v.strip():
            return "/".join(p.strip() for p in re.split(r"/|-->|－－>|>", unicodedata.normalize("NFKC", v))
                            if p.strip())
    return None


def _levels(paths: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(大类, 大类/亚类, full path) of each category path (None stays None)."""
    parts = paths.str.split("/")
    major = parts.str[0]
    sub = parts.str[:2].str.join("/")
    return major, sub.where(paths.notna()), paths


def read_history(view: Any, *, frames: Any = None) -> History:
    """Every sample of the store with its features' raw material, read once (one scan per table).

    ``frames``: the operator features' :class:`reasoning.features.Frames` of the same store where they
    were read already (the network columns use them); else they are read here when the store has
    deliveries.
    """
    recs = list(view.scan("sample"))
    ids = [r.id for r in recs]
    prod = [_get(r, "producer_id") for r in recs]
    samp = [_get(r, "sampled_id") for r in recs]
    ops = view.get_many("operator", {x for x in prod + samp if x})
    name = {k: o.name for k, o in ops.items()}
    kind = {k: o.kind for k, o in ops.items()}
    region = {k: o.region_id for k, o in ops.items()}
    unit = [unit_kind(name.get(s), producer=(p if p == s else name.get(p)) if p else None, stored_kind=kind.get(s))
            if s else None for s, p in zip(samp, prod)]
    unit = ["producer" if s and p and s == p else u for s, p, u in zip(samp, prod, unit)]
    taken = days_of([_get(r, "sampled_at") for r in recs])
    ann = days_of([_get(r, "announced") for r in recs])
    known = np.where(np.isnat(ann), taken, ann)
    when = np.where(np.isnat(taken), ann, taken)
    month = pd.DatetimeIndex(when).month.to_numpy()
    df = pd.DataFrame({
        "id": ids, "producer": prod, "sampled": samp, "unit": unit,
        "cat": [_path(_get(r, "samr_path"), _get(r, "category"), _get(r, "category_text")) for r in recs],
        "place": [_get(r, "province") or region.get(s) for r, s in zip(recs, samp)],
        "task": [_get(r, "task_kind") for r in recs],
        "quarter": np.where(np.isnan(month), 0, (np.nan_to_num(month, nan=1) - 1) // 3 + 1).astype(int),
        "known": known,
        "fail": np.array([_get(r, "conclusion") == "nonconforming" for r in recs], dtype=bool),
        "related": np.array([bool(_get(r, "food_related")) for r in recs], dtype=bool),
        "disputed": np.array([bool(_get(r, "disputed")) for r in recs], dtype=bool),
        "source": [_get(r, "source_id") for r in recs],
    })
    df = df.astype({c: object for c in ("producer", "sampled", "unit", "cat", "place", "task", "source")})
    df = df.where(df.notna(), None) if len(df) else df
    # hazard classes of the failed items
    bad: dict[str, set[str]] = {}
    for t in view.scan("test_result"):
        if t.conclusion == "nonconforming" and t.hazard_class:
            bad.setdefault(t.sample_id, set()).add(t.hazard_class)
    for h in _HAZARDS:
        df[f"hz_{h}"] = np.array([h in bad.get(i, ()) for i in ids], dtype=bool) & df["fail"].to_numpy()
    df["counted"] = _counted_from(view, df)
    if frames is None and next(iter(view.scan("delivery")), None) is not None:
        frames = read_frames(view)
    if frames is not None and not len(frames.deliveries):
        frames = None
    return History(samples=df, frames=frames, as_of_default=np.datetime64(default_as_of(view), "D"))


def _counted_from(view: Any, df: pd.DataFrame) -> np.ndarray:
    """The first day each sample may count in a failure rate: when its source is known to publish both tables.

    A sample without a source (the city's own results: both outcomes recorded), or of a source declared
    ``both``, counts from the day it is known; of a source declared ``failures_only`` never; of any other
    source from the day after the first conforming sample of that source is known (so a failures-only
    source never counts, and no coverage detected from a later file reaches back). Returned as the day
    ``d`` such that the sample counts in a rate asked about a day ``t`` exactly when ``d < t``.
    """
    declared: dict[str, str] = {}
    try:
        for s in view.scan("sampling_source"):
            if _get(s, "coverage_basis") == "declared":
                declared[s.id] = _get(s, "coverage")
    except (FoodtraceError, KeyError, ValueError):
        pass
    known = df["known"].to_numpy(dtype="datetime64[D]")
    src = df["source"].to_numpy(dtype=object)
    has = pd.notna(src)
    passes = pd.DataFrame({"s": src[has & ~df["fail"].to_numpy()], "d": known[has & ~df["fail"].to_numpy()]})
    first = passes.dropna().groupby("s")["d"].min()
    out = known.copy()
    said = pd.Series(src, dtype=object).map(declared).to_numpy(dtype=object)
    out[said == "failures_only"] = np.datetime64("NaT")
    tied = has & pd.isna(said)
    if tied.any():
        fp = pd.Series(src[tied]).map(first).to_numpy(dtype="datetime64[D]")
        # counted before a day when both it and its source's first conforming result were known before it
        out[tied] = np.where(np.isnat(fp), np.datetime64("NaT"), np.maximum(known[tied], fp))
        out[tied] = np.where(np.isnat(known[tied]), np.datetime64("NaT"), out[tied])
    return out


# -- the counting engine --------------------------------------------------------------------------------

_BASE = np.datetime64("1900-01-01", "D").astype(np.int64)
_SPAN = np.int64(1 << 20)


class _Timeline:
    """Weighted events per key; sums of those strictly before a day (optionally within a window), last day."""

    def __init__(self, keys: Iterable[Any], days: np.ndarray, weights: np.ndarray | None = None):
        keys = pd.Series(list(keys) if not isinstance(keys, pd.Series) else keys.to_numpy(), dtype=object)
        days = np.asarray(days, dtype="datetime64[D]")
        ok = keys.notna().to_numpy() & ~np.isnat(days)
        self.index = pd.Index(pd.unique(keys[ok]), dtype=object)
        code = self.index.get_indexer(keys[ok]).astype(np.int64)
        comb = code * _SPAN + (days[ok].astype(np.int64) - _BASE)
        order = np.argsort(comb, kind="stable")
        self.comb = comb[order]
        w = np.ones(int(ok.sum())) if weights is None else np.asarray(weights, dtype=float)[ok]
        self.cum = np.concatenate([[0.0], np.cumsum(w[order])])

    def _bounds(self, keys: Iterable[Any], days: np.ndarray, window: float | None) -> tuple[np.ndarray, ...]:
        keys = pd.Index(list(keys) if not isinstance(keys, pd.Series) else keys.to_numpy(), dtype=object)
        code = self.index.get_indexer(keys).astype(np.int64)
        d = np.asarray(days, dtype="datetime64[D]").astype(np.int64) - _BASE
        hi = np.searchsorted(self.comb, code * _SPAN + d, side="left")
        start = code * _SPAN if window is None else code * _SPAN + np.maximum(d - int(window), 0)
        lo = np.searchsorted(self.comb, start, side="left")
        return code, hi, lo

    def before(self, keys: Iterable[Any], days: np.ndarray, window: float | None = None) -> np.ndarray:
        code, hi, lo = self._bounds(keys, days, window)
        return np.where(code >= 0, self.cum[hi] - self.cum[lo], 0.0)

    def last_before(self, keys: Iterable[Any], days: np.ndarray) -> np.ndarray:
        """Days from the latest event before each day to that day (NaN where none)."""
        code, hi, lo = self._bounds(keys, days, None)
        idx = hi - 1
        ok = (code >= 0) & (idx >= lo)
        last = np.where(ok, self.comb[np.clip(idx, 0, None)] - code * _SPAN, 0) if len(self.comb) else np.zeros(len(code))
        d = np.asarray(days, dtype="datetime64[D]").astype(np.int64) - _BASE
        return np.where(ok, d - last, np.nan).astype(float)


def _smooth(fails: np.ndarray, n: np.ndarray, prior: np.ndarray | float, k: float) -> np.ndarray:
    return (fails + k * prior) / (n + k)


# -- features -----------------------------------------------------------------------------------------

def _food(h: pd.DataFrame) -> pd.DataFrame:
    return h[~h["related"].to_numpy(dtype=bool)]


class _Engine:
    """The timelines of a history, built once, answering the features of any rows at any days."""

    def __init__(self, history: History):
        h = history.samples
        self.history = history
        food = _food(h)
        fk, fc = food["known"].to_numpy(dtype="datetime64[D]"), food["counted"].to_numpy(dtype="datetime64[D]")
        ff = food["fail"].to_numpy(dtype=float)
        one = pd.Series(np.zeros(len(food)), dtype=object)
        self.city_n = _Timeline(one, fc)
        self.city_f = _Timeline(one, fc, ff)
        self.city_hz = {hz: _Timeline(one, fc, food[f"hz_{hz}"].to_numpy(dtype=float)) for hz in _HAZARDS}
        # categories: every sample (food-related ones have their own keys)
        major, sub, path = _levels(h["cat"])
        hk, hc = h["known"].to_numpy(dtype="datetime64[D]"), h["counted"].to_numpy(dtype="datetime64[D]")
        hf = h["fail"].to_numpy(dtype=float)
        self.cat = {}
        for name, keys in (("major", major), ("sub", sub), ("path", path)):
            self.cat[name] = (_Timeline(keys, hc), _Timeline(keys, hc, hf))
        self.sub_all_f = _Timeline(sub, np.where(hf > 0, hk, np.datetime64("NaT")))
        self.sub_hz = {hz: _Timeline(sub, hc, h[f"hz_{hz}"].to_numpy(dtype=float)) for hz in _HAZARDS}
        self.place = (_Timeline(food["place"], fc), _Timeline(food["place"], fc, ff))

        # own histories (food only): every source for counts, two-table for rates
        self.own = {}
        for who in ("producer", "sampled"):
            keys = food[who]
            if who == "producer":          # a disputed result never counts against the named producer
                keys = keys.where(~food["disputed"].to_numpy(dtype=bool), None)
            self.own[who] = {"n": _Timeline(keys, fk), "f": _Timeline(keys, np.where(ff > 0, fk, np.datetime64("NaT"))),
                             "n2": _Timeline(keys, fc), "f2": _Timeline(keys, fc, ff)}
        self._snapshots: dict[np.datetime64, pd.DataFrame] = {}

    def features(self, rows: pd.DataFrame, days: np.ndarray, *, network_cuts: Iterable[np.datetime64] = ()
                 ) -> pd.DataFrame:
        days = np.asarray(days, dtype="datetime64[D]")
        n = len(rows)
        out: dict[str, np.ndarray] = {}
        zero = pd.Series(np.zeros(n), dtype=object)
        cn, cf = self.city_n.before(zero, days), self.city_f.before(zero, days)
        p0 = _smooth(cf, cn, 0.03, 10.0)          # a store with no history starts at 3 % (realdata, README)
        major, sub, path = _levels(rows["cat"].astype(object))
        r = p0
        rates = {}
        for name, keys, k in (("major", major, _K_MAJOR), ("sub", sub, _K_SUB), ("path", path, _K_PATH)):
            tn, tf = self.cat[name]
            r = _smooth(tf.before(keys, days), tn.before(keys, days), r, k)
            rates[name] = r
        out["cat_rate"] = rates["path"]
        out["major_rate"] = rates["major"]
        out["cat_fails_365"] = np.log1p(self.sub_all_f.before(sub, days, _YEAR))
        out["cat_fails"] = np.log1p(self.sub_all_f.before(sub, days))
        sub_n = self.cat["sub"][0].before(sub, days)
        out["cat_samples"] = np.log1p(sub_n)
        for hz in _HAZARDS:
            p_h = _smooth(self.city_hz[hz].before(zero, days), cn, 0.0, 10.0)
            out[f"hazard_{hz}"] = _smooth(self.sub_hz[hz].before(sub, days), sub_n, p_h, _K_SUB)
        for who, col in (("producer", "producer"), ("sampled", "seller")):
            keys = rows[who].astype(object)
            t = self.own[who]
            out[f"{col}_samples"] = np.log1p(t["n"].before(keys, days))
            out[f"{col}_fails"] = np.log1p(t["f"].before(keys, days))
            since = t["f"].last_before(keys, days)
            out[f"{col}_recent_fail"] = np.where(np.isnan(since), 0.0, np.exp(-np.nan_to_num(since) / _YEAR))
            out[f"{col}_rate"] = _smooth(t["f2"].before(keys, days), t["n2"].before(keys, days), out["cat_rate"], _K_OWN)
        out["no_producer"] = rows["producer"].isna().to_numpy(dtype=float)
        unit = rows["unit"].to_numpy(dtype=object)
        for k in UNIT_KINDS:
            out[f"unit={k}"] = (unit == k).astype(float)
        pn, pf = self.place
        out["place_rate"] = _smooth(pf.before(rows["place"], days), pn.before(rows["place"], days), p0, _K_PLACE)
        task = rows["task"].to_numpy(dtype=object)
        for k in TASK_KINDS:
            out[f"task={k}"] = (task == k).astype(float)
        q = rows["quarter"].to_numpy(dtype=int)
        for i in (1, 2, 3, 4):
            out[f"quarter={i}"] = (q == i).astype(float)
        # what a row does not say is unknown, not a signal: a sampled unit, place or task not named gets
        # the training rows' mean (the model's imputer), never "a new seller" or "no kind"
        unnamed = rows["sampled"].isna().to_numpy() & pd.isna(unit)
        for c in ("seller_samples", "seller_fails", "seller_recent_fail", "seller_rate",
                  *(f"unit={k}" for k in UNIT_KINDS)):
            out[c] = np.where(unnamed, np.nan, out[c])
        out["place_rate"] = np.where(rows["place"].isna().to_numpy(), np.nan, out["place_rate"])
        for k in TASK_KINDS:
            out[f"task={k}"] = np.where(pd.isna(task), np.nan, out[f"task={k}"])
        for c in _NETWORK:
            out[c] = np.full(n, np.nan)
        cuts = sorted(set(np.asarray(list(network_cuts), dtype="datetime64[D]").tolist()))
        if self.history.frames is not None and cuts and n:
            self._network(rows, days, [np.datetime64(c, "D") for c in cuts], out)
        return pd.DataFrame({c: out[c] for c in _COLUMNS}, index=rows.index)

    def _network(self, rows: pd.DataFrame, days: np.ndarray, cuts: list[np.datetime64],
                 out: dict[str, np.ndarray]) -> None:
        """Network columns of each row from the operator features as of the latest cut at or before its day."""
        cut_arr = np.array(cuts, dtype="datetime64[D]")
        which = np.searchsorted(cut_arr, days, side="right") - 1
        for i, c in enumerate(cut_arr):
            m = which == i
            if not m.any():
                continue
            if c not in self._snapshots:
                self._snapshots[c] = operator_features(self.history.frames, as_of=c)
            f = self._snapshots[c]
            for col, who, src in (("seller_propagated_risk", "sampled", "propagated_risk"),
                                  ("seller_supplier_fail_rate", "sampled", "supplier_fail_rate"),
                                  ("seller_no_certificate_share", "sampled", "inbound_no_certificate_share"),
                                  ("producer_propagated_risk", "producer", "propagated_risk")):
                ids = rows[who].to_numpy(dtype=object)[m]
                out[col][m] = f[src].reindex(pd.Index(ids, dtype=object)).to_numpy(dtype=float)


def sample_features(history: History, rows: pd.DataFrame, days: Any, *,
                    network_cuts: Iterable[Any] = ()) -> pd.DataFrame:
    """The :data:`SAMPLE_FEATURES` of each row as of its day (one day for all, or one per row).

    ``rows``: the columns of :attr:`History.samples` that describe a sample (``producer, sampled, unit, cat,
    place, task, quarter``; see :func:`plan_rows`). Only what was known before each row's day counts.
    """
    days = np.broadcast_to(np.asarray(days, dtype="datetime64[D]"), (len(rows),))
    return _Engine(history).features(rows, days, network_cuts=[np.datetime64(c, "D") for c in network_cuts])


def plan_rows(rows: Iterable[Mapping[str, Any]], view: Any, as_of: Any) -> pd.DataFrame:
    """Planned samples (plain mappings, see :func:`loaders.plan.read_plan`) as rows :func:`sample_features` reads.

    Keys used: ``producer_id``, ``sampled_id`` (resolved through the store's aliases), ``producer_name``,
    ``sampled_name``, ``samr_path``/``category``/``category_text``, ``province``, ``task_kind``,
    ``food_related``. A planned row's season is the quarter of ``as_of``.
    """
    rows = list(rows)
    day = parse_as_of(as_of)
    ids = {x for r in rows for x in (r.get("producer_id"), r.get("sampled_id")) if x}
    resolved = view.resolve_many(ids) if ids else {}
    ops = view.get_many("operator", set(resolved.values()) | ids) if ids else {}

    def res(x: Any) -> Any:
        return resolved.get(x, x) if x else None

    out = []
    for r in rows:
        p, s = res(r.get("producer_id")), res(r.get("sampled_id"))
        sop = ops.get(s) if s else None
        kind = unit_kind(r.get("sampled_name"), producer=r.get("producer_name"),
                         stored_kind=sop.kind if sop is not None else None)
        if s and p and s == p:
            kind = "producer"
        out.append({"producer": p, "sampled": s, "unit": kind if s or r.get("sampled_name") else None,
                    "cat": _path(r.get("samr_path"), r.get("category"), r.get("category_text")),
                    "place": r.get("province") or (sop.region_id if sop is not None else None),
                    "task": r.get("task_kind"), "quarter": int((int(str(day)[5:7]) - 1) // 3 + 1),
                    "related": bool(r.get("food_related"))})
    df = pd.DataFrame(out, columns=["producer", "sampled", "unit", "cat", "place", "task", "quarter", "related"])
    return df.astype({c: object for c in ("producer", "sampled", "unit", "cat", "place", "task")})


# -- the model ------------------------------------------------------------------------------------------

def _network_cuts(history: History, start: np.datetime64, end: np.datetime64, step_days: int) -> list[np.datetime64]:
    if history.frames is None:
        return []
    cuts, c = [], end
    while c > start:
        cuts.append(c)
        c = c - np.timedelta64(step_days, "D")
    cuts.append(c)
    return sorted(cuts)


def training_rows(history: History, until: Any, *, min_history_days: int = 60,
                  window_days: int | None = None, learn_from: str = "named") -> pd.DataFrame:
    """The food samples known before ``until`` that the model learns from: those of sources known by then
    to publish both tables (a failures-only source's rows are all failures: learning from them would
    divide by a denominator it does not have), known from ``min_history_days`` after the first known
    result on and at most ``window_days`` back."""
    end = parse_as_of(until)
    h = _food(history.samples)
    k = h["known"].to_numpy(dtype="datetime64[D]")
    c = h["counted"].to_numpy(dtype="datetime64[D]")
    ok = ~np.isnat(k) & (k < end)
    if learn_from == "two_table":
        ok &= ~np.isnat(c) & (c < end)
    elif learn_from == "named":
        ok &= h["sampled"].notna().to_numpy()
    elif learn_from != "all":
        raise ValueError(f"learn_from must be 'all', 'named' or 'two_table', not {learn_from!r}")
    if not ok.any():
        raise InsufficientData(f"no food sample was known before {end}: nothing to learn from")
    start = k[ok].min() + np.timedelta64(min_history_days, "D")
    if window_days is not None:
        start = max(start, end - np.timedelta64(window_days, "D"))
    sel = ok & (k >= start)
    if not sel.any():
        sel = ok
    return h[sel]


def fit_sample_model(history: History, until: Any, *, C: float = DEFAULT_C, min_history_days: int = 60,
                     window_days: int | None = None, network_step_days: int = 91, learn_from: str = "all",
                     columns: Iterable[str] = DEFAULT_COLUMNS,
                     engine: _Engine | None = None) -> tuple["SampleModel", dict[str, Any]]:
    """Train on the food samples known before ``until``, each with its features as of its announcement day.

    ``learn_from``: ``all`` food samples (default), ``named`` (those naming the sampled unit) or
    ``two_table`` (those of sources known to publish both tables); ``columns``: the features the model
    sees (default :data:`DEFAULT_COLUMNS`).
    """
    columns = list(columns)
    unknown = [c for c in columns if c not in SAMPLE_FEATURES]
    if unknown:
        raise ValueError(f"unknown feature column(s): {', '.join(unknown)}")
    end = parse_as_of(until)
    rows = training_rows(history, end, min_history_days=min_history_days, window_days=window_days,
                         learn_from=learn_from)
    y = rows["fail"].to_numpy(dtype=int)
    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        what = "nonconforming" if pos == 0 else "conforming"
        raise InsufficientData(f"no {what} food sample among the {len(y)} known before {end}: "
                               "the model needs both outcomes")
    eng = engine or _Engine(history)
    days = rows["known"].to_numpy(dtype="datetime64[D]")
    cuts = _network_cuts(history, days.min(), end, network_step_days)
    X = eng.features(rows, days, network_cuts=cuts)[columns]
    model = SampleModel(FailureRiskModel(method="logistic", C=C, impute="mean").fit(X.to_numpy(), y), columns)
    return model, {"n_train": int(len(y)), "n_train_positive": pos, "train_from": str(days.min()),
                   "network_cuts": len(cuts)}


@dataclass
class SampleModel:
    """A fitted :class:`reasoning.risk_model.FailureRiskModel` and the feature columns it reads."""

    estimator: FailureRiskModel
    columns: list[str]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The probability of failing of each row of a :func:`sample_features` frame."""
        if not len(X):
            return np.zeros(0)
        return self.estimator.predict_proba(X[self.columns].to_numpy())[:, 1]

    def reasons(self, X: pd.DataFrame, top: int = 3) -> list[list[dict[str, Any]]]:
        """The ``top`` features raising each row's log-odds most (see :func:`score_plan`)."""
        return _reasons(self.estimator, X[self.columns], top)


def _reasons(model: FailureRiskModel, X: pd.DataFrame, top: int) -> list[list[dict[str, Any]]]:
    """The ``top`` positive contributions of each row (one-hot columns only where the row has them)."""
    if not len(X):
        return []
    contrib = model.contributions(X.to_numpy())
    vals = X.to_numpy(dtype=float)
    hot = np.array([c in _ONE_HOT for c in X.columns])
    contrib = np.where(hot[None, :] & (vals != 1.0), -np.inf, contrib)
    order = np.argsort(-contrib, axis=1)[:, :top]
    out = []
    for i in range(len(X)):
        row = []
        for j in order[i]:
            if not contrib[i, j] > 0:
                break
            col = X.columns[j]
            zh, en, _ = SAMPLE_FEATURES[col]
            v = vals[i, j]
            row.append({"feature": col, "zh": zh, "en": en, "contribution": round(float(contrib[i, j]), 4),
                        "value": None if col in _ONE_HOT or math.isnan(v) else round(_shown(col, v), 4)})
        out.append(row)
    return out


def _shown(col: str, v: float) -> float:
    """A feature's value as a person reads it: counts back from their log scale."""
    if col.endswith(("_samples", "_fails", "_fails_365")):
        return float(np.expm1(v))
    return float(v)


def score_plan(view: Any, plan: Iterable[Mapping[str, Any]], as_of: Any, *, history: History | None = None,
               model: SampleModel | None = None, top: int = 3, **fit: Any) -> pd.DataFrame:
    """The probability that each planned sample fails, as of ``as_of``, with its rank and reasons.

    Trains on what was known before ``as_of`` (unless ``model`` is given). Returns one row per planned
    row, in the plan's order: ``probability``, ``rank`` (1 = riskiest; ties share the best rank),
    ``reasons`` (list of dicts: ``feature``, ``zh``, ``en``, ``contribution`` in log-odds, ``value``),
    ``food_related``: a food-related product's probability is its category's smoothed failure rate
    (the food model does not speak for it; it is never part of food rates or training), its reason that
    rate (contribution None).
    """
    day = parse_as_of(as_of)
    if day is None:
        raise InsufficientData("rank-plan needs an as-of date")
    h = history if history is not None else read_history(view)
    eng = _Engine(h)
    if model is None:
        model, _ = fit_sample_model(h, day, engine=eng, **fit)
    rows = plan_rows(plan, view, day)
    X = eng.features(rows, np.full(len(rows), day), network_cuts=[day] if h.frames is not None else [])
    p = model.predict(X)
    reasons = model.reasons(X, top)
    # a food-related product is no food: the food model does not speak for it; its category's own
    # smoothed failure rate does (two-table sources, as every rate)
    related = rows["related"].to_numpy(dtype=bool)
    zh, en, _ = SAMPLE_FEATURES["cat_rate"]
    for i in np.flatnonzero(related):
        p[i] = X["cat_rate"].iat[i]
        reasons[i] = [{"feature": "cat_rate", "zh": zh, "en": en, "contribution": None,
                       "value": round(float(p[i]), 4)}]
    out = pd.DataFrame({"probability": p}, index=rows.index)
    out["rank"] = out["probability"].rank(ascending=False, method="min").astype(int) if len(out) else []
    out["reasons"] = reasons
    out["food_related"] = related
    return out


# -- evaluation -----------------------------------------------------------------------------------------

def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, s)), 4) if 0 < y.sum() < len(y) else None


def _sample_grades(view: Any, rows: pd.DataFrame, day: np.datetime64, grades: Any) -> np.ndarray:
    """The grade key (D first, then points) of each row's sampled unit, else its producer; 0 where ungraded."""
    from .risk_model import _GRADE_RANK, _grades_from

    if view is None:
        return np.zeros(len(rows))
    g, _ = _grades_from(view, read_frames(view), day, grades)
    key = g["grade"].map(_GRADE_RANK).fillna(0).astype(float) * 1000 + g["score"].fillna(0).astype(float)
    s = rows["sampled"].map(key)
    s = s.where(s.notna(), rows["producer"].map(key))
    return s.fillna(0).to_numpy(dtype=float)


def evaluate_samples(view: Any, train_until: Any, *, horizon_days: int | None = None, grades: Any = None,
                     history: History | None = None, **fit: Any) -> dict[str, Any]:
    """Give the food samples known on or after ``train_until`` to the model as a plan; compare with baselines.

    The model trains on what was known before ``train_until``; each test sample is scored with its
    features as of ``train_until`` (as :func:`score_plan` would score it in a plan). On the same rows:
    ``random`` (ROC-AUC 0.5 and precision = the failure rate, in expectation), ``grade`` (the sampled
    unit's regulatory grade as of ``train_until``, else the producer's), ``category_rate`` (the smoothed
    two-table category rate alone), ``category_rate_naive`` (failures / results of the category over
    every row, whatever the source: the figure a reader computes from the tables), ``own_history`` (the
    producer's and sampled unit's pooled smoothed rate, ties by their failures) and ``no_producer``.
    ``with_history``: the same on the rows whose 亚类 had known results; ``two_table_sources``: on the rows
    of sources that publish both tables (a failures-only source's rows are all failures). ``beats``: where the model beats
    each baseline on ROC-AUC and on precision in the top 10 %.
    """
    day = parse_as_of(train_until)
    if day is None:
        raise InsufficientData("evaluate needs a train_until date")
    h = history if history is not None else read_history(view)
    eng = _Engine(h)
    model, info = fit_sample_model(h, day, engine=eng, **fit)
    food = _food(h.samples)
    k = food["known"].to_numpy(dtype="datetime64[D]")
    sel = ~np.isnat(k) & (k >= day)
    if horizon_days:
        sel &= k < day + np.timedelta64(horizon_days, "D")
    test = food[sel]
    if not len(test):
        raise InsufficientData(f"no food sample was known on or after {day}: nothing to evaluate on")
    rows = test.assign(quarter=(int(str(day)[5:7]) - 1) // 3 + 1)
    X = eng.features(rows, np.full(len(rows), day), network_cuts=[day] if h.frames is not None else [])
    y = test["fail"].to_numpy(dtype=int)
    p = model.predict(X)
    base = float(y.mean())
    # baselines
    hist = food[~np.isnat(k) & (k < day)]
    _, sub_hist, _ = _levels(hist["cat"])
    naive = hist.assign(sub=sub_hist).groupby("sub")["fail"].mean()
    _, sub_test, _ = _levels(test["cat"])
    naive_s = sub_test.map(naive).fillna(float(hist["fail"].mean()) if len(hist) else 0.0).to_numpy(dtype=float)
    own = {}
    for who in ("producer", "sampled"):
        t = eng.own[who]
        keys = test[who]
        d = np.full(len(test), day)
        own[who] = (t["f2"].before(keys, d), t["n2"].before(keys, d), t["f"].before(keys, d))
    p0 = float(hist["fail"].mean()) if len(hist) else 0.0
    own_s = ((own["producer"][0] + own["sampled"][0] + 2 * p0) / (own["producer"][1] + own["sampled"][1] + 2)
             + 1e-6 * np.log1p(own["producer"][2] + own["sampled"][2]))
    scores = {"model": p, "grade": _sample_grades(view, test, day, grades),
              "category_rate": X["cat_rate"].to_numpy(), "category_rate_naive": naive_s,
              "own_history": own_s, "no_producer": X["no_producer"].to_numpy()}
    seen = sub_test.isin(naive.index).to_numpy()

    def figures(mask: np.ndarray) -> dict[str, dict[str, Any]]:
        yy = y[mask]
        res = {"random": {"roc_auc": 0.5 if 0 < yy.sum() < len(yy) else None,
                          "precision_at_10pct": round(float(yy.mean()), 4) if len(yy) else None}}
        for name, s in scores.items():
            res[name] = {"roc_auc": _auc(yy, s[mask]),
                         "precision_at_10pct": round(precision_at(s[mask], yy, 0.1), 4) if len(yy) else None}
        return res

    allf = figures(np.ones(len(y), dtype=bool))
    # rows of sources that publish both tables (judged with everything stored: a label-side split, no feature)
    src = test["source"].to_numpy(dtype=object)
    both_src = set(h.samples.loc[~h.samples["fail"].to_numpy(dtype=bool), "source"].dropna())
    two = pd.isna(src) | pd.Series(src, dtype=object).isin(both_src).to_numpy()
    out: dict[str, Any] = {
        "level": "sample", "train_until": str(day), "model_version": SAMPLE_MODEL_VERSION,
        "roc_auc": allf["model"]["roc_auc"], "precision_at_10pct": allf["model"]["precision_at_10pct"],
        "pr_auc": _pr_auc(y, p), "brier": round(float(np.mean((p - y) ** 2)), 4),
        "brier_base_rate": round(float(np.mean((p0 - y) ** 2)), 4),
        "base_rate": round(base, 4), "n_test": int(len(y)), "n_test_positive": int(y.sum()),
        "n_test_related_left_out": int((h.samples["related"].to_numpy(dtype=bool)
                                        & (h.samples["known"].to_numpy(dtype="datetime64[D]") >= day)).sum()),
        **info,
        "baselines": {k: v for k, v in allf.items() if k != "model"},
        "with_history": {"n": int(seen.sum()), "positive": int(y[seen].sum()), **figures(seen)},
        "two_table_sources": {"n": int(two.sum()), "positive": int(y[two].sum()), **figures(two)},
    }
    out["lift_vs_random"] = (round(out["precision_at_10pct"] / base, 4) if base > 0 and
                             out["precision_at_10pct"] is not None else None)
    out["beats"] = beats(allf)
    return out


def _pr_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import average_precision_score

    return round(float(average_precision_score(y, p)), 4) if 0 < y.sum() < len(y) else None
