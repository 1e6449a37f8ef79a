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

* category: its **failure share** (``cat_share``: failures / results over every source, failures-only ones
  included, i.e. how often the category is published as failed; empirical Bayes down the SAMR tree from
  the city's two-table failure rate: 大类 (20 pseudo-samples) -> 亚类 (10) -> the full path (5)), its
  failure *rate* over two-table sources only (``cat_rate``, the same tree), the 大类 rate, the failures of
  its 亚类 in the last 365 days and ever (all sources), how many results of its 亚类 are known, and per
  hazard class the smoothed rate of failures of that class in its 亚类;
* the food name's failure share (the mean over its character pairs of their smoothed share, shrunk to the
  category's: a food the tree does not place still says something by its words);
* the named producer's and the sampled unit's own histories: results known, failures, the recency of the
  last failure (``exp(-days / 365)``), their smoothed failure rate (two-table) and failure share (every
  source; 3 pseudo-samples at the category's);
* no nominal producer (loose produce, ``/``); the producer's form read from its name
  (:func:`producer_form`: 公司, 厂, 合作社, 小作坊, 经营部/商行, 个人);
* the kind of sampled unit read from its name (:func:`unit_kind`: 农贸市场/摊位, 超市/商场, 餐饮, 网店,
  批发市场, 商店/经营部, the producer itself), else from its stored kind;
* the two-table failure rates (20 pseudo-samples at the city's rate) of the place (province, else
  district), the task kind, the kind of sampled unit, the producer form and the season (the quarter of
  the sampling day; of ``t`` for a planned row), and the one-hot task kind and quarter;
* where deliveries exist, the sampled unit's and the producer's network features as of the latest cut at
  or before ``t`` (:func:`reasoning.features.operator_features`: propagated risk, suppliers' failure rate,
  share of inbound deliveries without a certificate).

**Model** (``sample-risk 2``). :func:`fit_sample_model` trains a :class:`LiftModel` on every food sample
known before ``until`` (from ``min_history_days`` after the first known result), each with its features as
of its own announcement day. Its terms (:data:`LIFT_TERMS`, default :data:`DEFAULT_TERMS`) are log-odds
*lifts*: the category's failure share over the city's rate, the producer's and the sampled unit's share
over their category's, the task kind's and the kind of sampled unit's rates over the city's, and the
network features; their weights are
never negative (a term can only raise the risk it measures: with few failures a free logistic
regression turned the category's weight negative at some cuts), and the probabilities are recalibrated
on the training rows of two-table sources, so that they are what a bureau's own plan sees (a
failures-only source's rows are all failures: trained on them alone, a category published mostly as
failed got 0.998). What a row does not say (no sampled unit, place or task named) is unknown, not a
signal: its term takes the training rows' mean, so that a re-publisher that leaves out the sampled unit
of its (failures-only) rows does not teach the model that "no sampled unit" means "failed" (a real plan
always names where the sample will be taken). ``method="logistic"`` or ``"boosting"`` trains
sample-risk 1's :class:`reasoning.risk_model.FailureRiskModel` on :data:`LOGISTIC_COLUMNS` instead.
:func:`score_plan` scores planned rows as of ``as_of`` with the reasons that raise each most;
:func:`evaluate_samples` gives the rows known on or after ``train_until`` to the model as a plan and
compares it with baselines on the same rows; :func:`backtest_plan` does the same for a plan whose outcomes
are known (``bench/risk_real.py``).

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
from operator import attrgetter
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ontology.errors import FoodtraceError, InsufficientData
from ontology.times import days_of, default_as_of
from ontology.vocab import labels

from .features import operator_features, parse_as_of, read_frames
from .risk_model import FailureRiskModel, beats, precision_at

__all__ = ["SAMPLE_FEATURES", "LOGISTIC_COLUMNS", "LIFT_TERMS", "DEFAULT_TERMS", "LiftModel", "lift_terms",
           "producer_form", "PRODUCER_FORMS", "food_grams", "UNIT_KINDS", "TASK_KINDS", "History", "read_history",
           "plan_rows", "unit_kind", "sample_features", "fit_sample_model", "score_plan", "evaluate_samples", "BASELINES",
           "naive_category_rate", "backtest_plan", "SAMPLE_MODEL_VERSION"]

SAMPLE_MODEL_VERSION = "sample-risk 2"

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
    ("catering", r"餐饮|饭店|酒店|餐厅|食堂|小吃|火锅|饭馆|饭庄|酒楼|大排档|快餐|面馆|餐馆|烧烤|厨房|学校|幼儿园|中学|小学"),
    ("wholesale", r"批发|物流园|物流城|交易市场|农产品市场|冷链|冷库|配送"),
    ("market", r"农贸|菜市场|菜场|集贸|市场|摊|档口|菜店"),
    ("supermarket", r"超市|商场|购物|便利|百货|商城|沃尔玛|家乐福|大润发|永辉|华润万家|联华|物美|苏果|欧尚|麦德龙|山姆"),
    ("shop", r"经营部|商行|经销|门市|副食|调料|粮油|批零|商店|门店|店$|分店|食品店|贸易"),
    ("producer", r"屠宰|养殖|农场|牧场|合作社|种植|基地"),
)
_KIND_OF_OPERATOR = {"Stall": "market", "FarmersMarket": "market", "Vendor": "market", "Supermarket": "supermarket",
                     "Restaurant": "catering", "SchoolCanteen": "catering", "WholesaleMarket": "wholesale",
                     "Distributor": "wholesale", "ColdStore": "wholesale", "Slaughterhouse": "producer",
                     "Farm": "producer", "CropFarm": "producer", "AquaFarm": "producer", "Workshop": "producer"}

#: producer form -> (Chinese, English); read from the named producer's name by :func:`producer_form`
PRODUCER_FORMS: dict[str, tuple[str, str]] = {
    "company": ("公司", "company"),
    "factory": ("厂", "factory"),
    "cooperative": ("合作社", "cooperative"),
    "workshop": ("小作坊/加工点", "small workshop"),
    "trader": ("经营部/商行/店", "trader or shop"),
    "person": ("个人", "individual"),
}
_FORM_WORDS: tuple[tuple[str, str], ...] = (
    ("cooperative", r"合作社"),
    ("workshop", r"作坊|加工坊|加工点|加工户|加工部|豆腐坊|油坊|磨坊|粉坊|小吃部"),
    ("company", r"公司|集团"),
    ("factory", r"厂"),
    ("trader", r"经营部|商行|商店|店|门市|批发部|经销处|超市|市场|摊"),
)


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
    "city_rate": ("全市不合格率", "city failure rate",
                  "failures / results of every food sample of two-table sources (10 pseudo-samples at 3 %)"),
    "cat_share": ("品类不合格占比", "category failure share",
                  "smoothed failures / results of its category over every source, failures-only ones included (how "
                  "often the category is published as failed), down the SAMR tree (大类 20, 亚类 10, path 5 "
                  "pseudo-samples) from the city's two-table failure rate"),
    "name_share": ("食品名称不合格占比", "food name's failure share",
                   "mean over the character pairs of the food name of their smoothed failure share, every source "
                   "(10 pseudo-samples at the category's share)"),
    "producer_share": ("生产企业不合格占比", "producer's failure share",
                       "(its failures + 3 x category share) / (its results + 3), every source"),
    "seller_share": ("被抽样单位不合格占比", "sampled unit's failure share",
                     "(its failures + 3 x category share) / (its results + 3), every source"),
    "task_rate": ("任务类别不合格率", "task kind's failure rate",
                  "smoothed failure rate of the task kind, two-table sources (20 pseudo-samples at the city's rate)"),
    "unit_rate": ("被抽样单位类型不合格率", "sampled unit kind's failure rate",
                  "smoothed failure rate of the kind of sampled unit, two-table sources"),
    "form_rate": ("生产者类型不合格率", "producer form's failure rate",
                  "smoothed failure rate of the producer's form (公司, 厂, 合作社, 小作坊, 经营部, 个人), two-table sources"),
    "season_rate": ("季度不合格率", "season's failure rate",
                    "smoothed failure rate of the quarter of the sampling day, two-table sources"),
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
#: the columns :class:`reasoning.risk_model.FailureRiskModel` reads with ``method="logistic"`` or ``"boosting"``
#: (sample-risk 1's model): every feature of sample-risk 1 but the per-hazard-class category rates and the
#: kind of sampled unit, which lowered its scores on real announcements
LOGISTIC_COLUMNS: tuple[str, ...] = tuple(
    c for c in _COLUMNS if not c.startswith(("hazard_", "unit="))
    and c not in ("city_rate", "cat_share", "name_share", "producer_share", "seller_share", "task_rate", "unit_rate",
                  "form_rate", "season_rate"))
DEFAULT_C = 0.03

#: the lift model's terms (``method="lift"``): term -> (Chinese, English, what, the feature shown as its value).
#: A term is the log-odds of a smoothed rate over the rate it refines (what the rows sharing it add to what is
#: known already), or a network feature as it is.
LIFT_TERMS: dict[str, tuple[str, str, str, str]] = {
    "category": ("品类不合格占比", "category failure share",
                 "log-odds of the category's failure share (every source) over the city's two-table rate", "cat_share"),
    "producer": ("生产企业历史不合格", "producer's own history",
                 "log-odds of the producer's failure share over its category's", "producer_share"),
    "seller": ("被抽样单位历史不合格", "sampled unit's own history",
               "log-odds of the sampled unit's failure share over its category's", "seller_share"),
    "task": ("任务类别不合格率", "task kind's failure rate",
             "log-odds of the task kind's two-table failure rate over the city's", "task_rate"),
    "name": ("食品名称不合格占比", "food name's failure share",
             "log-odds of the food name's failure share over its category's", "name_share"),
    "place": ("地区不合格率", "place failure rate",
              "log-odds of the province's (else district's) two-table failure rate over the city's", "place_rate"),
    "unit": ("被抽样单位类型不合格率", "sampled unit kind's failure rate",
             "log-odds of the kind of sampled unit's two-table failure rate over the city's", "unit_rate"),
    "form": ("生产者类型不合格率", "producer form's failure rate",
             "log-odds of the producer form's two-table failure rate over the city's", "form_rate"),
    "season": ("季度不合格率", "season's failure rate",
               "log-odds of the quarter's two-table failure rate over the city's", "season_rate"),
    **{c: (SAMPLE_FEATURES[c][0], SAMPLE_FEATURES[c][1], SAMPLE_FEATURES[c][2], c) for c in _NETWORK},
}
_LIFT_OF = {"category": ("cat_share", "city_rate"), "producer": ("producer_share", "cat_share"),
            "seller": ("seller_share", "cat_share"), "task": ("task_rate", "city_rate"),
            "name": ("name_share", "cat_share"), "place": ("place_rate", "city_rate"),
            "unit": ("unit_rate", "city_rate"), "form": ("form_rate", "city_rate"),
            "season": ("season_rate", "city_rate")}
#: the terms the model learns from by default, chosen with bench/risk_real.py (README, Risk of a planned
#: sample): the food name, place, producer form and season added nothing there within the noise or lowered
#: the scores (they are computed, and ``fit_sample_model(terms=...)`` takes them); the kind of sampled unit
#: changed nothing there (+0.001, interval [+0.000, +0.003]) and ranks the synthetic city's samples better
DEFAULT_TERMS: tuple[str, ...] = ("category", "producer", "seller", "task", "unit", *_NETWORK)
DEFAULT_ALPHA = 1.0

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
    None where the unit is not named (and no kind is stored). The words cover every word by which the
    announcement loader gives an operator its kind, so that the stored kind decides only for operators of
    the city's register: an operator a later announcement created must not change how a plan is read
    (no look-ahead); for the same reason a stored ``Producer`` (the loader's default for a producer first
    named in an announcement) says nothing.
    """
    s = _clean(name)
    if s is not None and producer is not None and s == _clean(producer):
        return "producer"
    if s is not None:
        for kind, pattern in _UNIT_WORDS:
            if re.search(pattern, s):
                return kind
    return _KIND_OF_OPERATOR.get(stored_kind) if stored_kind else None


def producer_form(name: Any) -> str | None:
    """The form of a named producer (a key of :data:`PRODUCER_FORMS`) read from its name; None if none is named.

    >>> [producer_form(n) for n in ("乙食品有限公司", "南安市哒哒乐食品厂", "喀什市启顺农副产品农民专业合作社",
    ...                             "张记豆腐加工坊", "渝北区余强食品经营部", "王小明", "/")]
    ['company', 'factory', 'cooperative', 'workshop', 'trader', 'person', None]
    """
    s = _clean(name)
    if s is None:
        return None
    for form, pattern in _FORM_WORDS:
        if re.search(pattern, s):
            return form
    return "person" if len(s) <= 4 else "company"


_CJK = re.compile(r"[\u4e00-\u9fff]+")


def food_grams(name: Any) -> tuple[str, ...]:
    """The character pairs of a food name's Chinese words (brand and words alike: what the name says).

    >>> food_grams("纯芝麻油（小磨）")
    ('纯芝', '芝麻', '麻油', '小磨')
    """
    if not isinstance(name, str):
        return ()
    seen: dict[str, None] = {}
    for w in _CJK.findall(unicodedata.normalize("NFKC", name)):
        for i in range(len(w) - 1):
            seen.setdefault(w[i:i + 2], None)
    return tuple(seen)


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
    # in the order of the ids, not the stored order: the model's sums of floats then do not depend on how (in which
    # writes, which batches) the samples were stored
    recs = sorted(view.scan("sample"), key=attrgetter("id"))
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
        "food": [_get(r, "product_name") for r in recs],
        "pform": [producer_form(name.get(p)) if p else None for p in prod],
        "cat": [_path(_get(r, "samr_path"), _get(r, "category"), _get(r, "category_text")) for r in recs],
        "place": [_get(r, "province") or region.get(s) for r, s in zip(recs, samp)],
        "task": [_get(r, "task_kind") for r in recs],
        "quarter": np.where(np.isnan(month), 0, (np.nan_to_num(month, nan=1) - 1) // 3 + 1).astype(int),
        "known": known,
        "fail": np.array([_get(r, "conclusion") == "nonconforming" for r in recs], dtype=bool),
        "related": np.array([bool(_get(r, "food_related")) for r in recs], dtype=bool),
        "disputed": np.array([bool(_get(r, "disputed")) for r in recs], dtype=bool),
        "source": [_get(r, "source_id") for r in recs],
        "also": [_get(r, "also_sources") for r in recs],
    })
    df = df.astype({c: object for c in ("producer", "sampled", "unit", "food", "pform", "cat", "place", "task",
                                        "source")})
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
    """The first day each sample may count in a failure rate: when a source of it is known to publish both tables.

    A sample without a source (the city's own results: both outcomes recorded), or of a source declared
    ``both``, counts from the day it is known; of a source declared ``failures_only`` never; of any other
    source from the day after the first conforming sample of that source is known (so a failures-only
    source never counts, and no coverage detected from a later file reaches back). A result published by
    several sources (``Sample.also_sources``) counts from the earliest day any of them allows. Returned as
    the day ``d`` such that the sample counts in a rate asked about a day ``t`` exactly when ``d < t``.
    """
    declared: dict[str, str] = {}
    try:
        for s in view.scan("sampling_source"):
            if _get(s, "coverage_basis") == "declared":
                declared[s.id] = _get(s, "coverage")
    except (FoodtraceError, KeyError, ValueError):
        pass
    known = df["known"].to_numpy(dtype="datetime64[D]")
    fail = df["fail"].to_numpy(dtype=bool)
    sources = [([x] if pd.notna(x) else []) + (a.split() if isinstance(a, str) else [])
               for x, a in zip(df["source"], df["also"] if "also" in df else [None] * len(df))]
    passes = pd.DataFrame([(x, d) for srcs, d, f in zip(sources, known, fail) if not f and not np.isnat(d)
                           for x in srcs], columns=["s", "d"])
    first = passes.groupby("s")["d"].min().to_dict() if len(passes) else {}
    nat = np.datetime64("NaT", "D")
    out = np.full(len(df), nat, dtype="datetime64[D]")
    for i, (srcs, k) in enumerate(zip(sources, known)):
        if np.isnat(k):
            continue
        days = []
        for x in srcs or [None]:
            said = declared.get(x) if x is not None else "both"
            if said == "both":
                days.append(k)
            elif said is None and x in first:
                # counted before a day when both it and its source's first conforming result were known before it
                days.append(max(k, np.datetime64(first[x], "D")))
        if days:
            out[i] = min(days)
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
        # every source (failures-only ones too): failures / results as published
        self.cat_all = {name: (_Timeline(keys, hk), _Timeline(keys, hk, hf))
                        for name, keys in (("major", major), ("sub", sub), ("path", path))}
        # the character pairs of food names, every source
        grams = [food_grams(x) for x in food["food"]]
        rep = np.array([len(g) for g in grams], dtype=int)
        gk = pd.Series([g for gs in grams for g in gs], dtype=object)
        self.grams = (_Timeline(gk, np.repeat(fk, rep)), _Timeline(gk, np.repeat(fk, rep), np.repeat(ff, rep)))
        # two-table rates of the place and of the row's context: task kind, kind of sampled unit, producer
        # form, season (a quarter of 0 is an unknown day)
        self.groups = {}
        for g in ("place", "task", "unit", "pform", "quarter"):
            keys = food[g].astype(object).where(food[g] != 0, None) if g == "quarter" else food[g]
            self.groups[g] = (_Timeline(keys, fc), _Timeline(keys, fc, ff))

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
        out["city_rate"] = p0
        share = p0
        for name, keys, k in (("major", major, _K_MAJOR), ("sub", sub, _K_SUB), ("path", path, _K_PATH)):
            tn, tf = self.cat_all[name]
            share = _smooth(tf.before(keys, days), tn.before(keys, days), share, k)
        out["cat_share"] = share
        grams = [food_grams(x) for x in rows["food"]] if "food" in rows else [()] * n
        rep = np.array([len(g) for g in grams], dtype=int)
        gk = pd.Series([g for gs in grams for g in gs], dtype=object)
        gd = np.repeat(days, rep)
        tn, tf = self.grams
        r_g = _smooth(tf.before(gk, gd), tn.before(gk, gd), np.repeat(share, rep), _K_SUB)
        total = np.bincount(np.repeat(np.arange(n), rep), weights=r_g, minlength=n)
        out["name_share"] = np.where(rep > 0, total / np.maximum(rep, 1), share)
        for g, col in (("place", "place_rate"), ("task", "task_rate"), ("unit", "unit_rate"), ("pform", "form_rate"),
                       ("quarter", "season_rate")):
            keys = rows[g].astype(object) if g in rows else pd.Series([None] * n, dtype=object, index=rows.index)
            keys = keys.where(keys != 0, None) if g == "quarter" else keys
            tn, tf = self.groups[g]
            out[col] = np.where(keys.isna().to_numpy(), np.nan, _smooth(tf.before(keys, days), tn.before(keys, days),
                                                                        p0, _K_PLACE))
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
            out[f"{col}_share"] = _smooth(t["f"].before(keys, days), t["n"].before(keys, days), share, _K_OWN)
        out["no_producer"] = rows["producer"].isna().to_numpy(dtype=float)
        unit = rows["unit"].to_numpy(dtype=object)
        for k in UNIT_KINDS:
            out[f"unit={k}"] = (unit == k).astype(float)
        task = rows["task"].to_numpy(dtype=object)
        for k in TASK_KINDS:
            out[f"task={k}"] = (task == k).astype(float)
        q = rows["quarter"].to_numpy(dtype=int)
        for i in (1, 2, 3, 4):
            out[f"quarter={i}"] = (q == i).astype(float)
        # what a row does not say is unknown, not a signal: a sampled unit, place or task not named gets
        # the training rows' mean (the model's imputer), never "a new seller" or "no kind"
        unnamed = rows["sampled"].isna().to_numpy() & pd.isna(unit)
        for c in ("seller_samples", "seller_fails", "seller_recent_fail", "seller_rate", "seller_share",
                  *(f"unit={k}" for k in UNIT_KINDS)):
            out[c] = np.where(unnamed, np.nan, out[c])
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
        pop = ops.get(p) if p else None
        out.append({"producer": p, "sampled": s, "unit": kind if s or r.get("sampled_name") else None,
                    "food": r.get("product_name"),
                    "pform": producer_form(r.get("producer_name") or (pop.name if pop is not None else None)),
                    "cat": _path(r.get("samr_path"), r.get("category"), r.get("category_text")),
                    "place": r.get("province") or (sop.region_id if sop is not None else None),
                    "task": r.get("task_kind"), "quarter": int((int(str(day)[5:7]) - 1) // 3 + 1),
                    "related": bool(r.get("food_related"))})
    cols = ["producer", "sampled", "unit", "food", "pform", "cat", "place", "task", "quarter", "related"]
    df = pd.DataFrame(out, columns=cols)
    return df.astype({c: object for c in ("producer", "sampled", "unit", "food", "pform", "cat", "place", "task")})


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


def fit_sample_model(history: History, until: Any, *, method: str = "lift", terms: Iterable[str] = DEFAULT_TERMS,
                     alpha: float = DEFAULT_ALPHA, columns: Iterable[str] = LOGISTIC_COLUMNS, C: float = DEFAULT_C,
                     min_history_days: int = 60, window_days: int | None = None, network_step_days: int = 91,
                     learn_from: str = "all", engine: _Engine | None = None) -> tuple["SampleModel", dict[str, Any]]:
    """Train on the food samples known before ``until``, each with its features as of its announcement day.

    ``method``: ``lift`` (default: :class:`LiftModel` on ``terms``, :data:`DEFAULT_TERMS`), or ``logistic`` /
    ``boosting`` (:class:`reasoning.risk_model.FailureRiskModel` on ``columns``, :data:`LOGISTIC_COLUMNS`: the
    model of sample-risk 1). ``learn_from``: ``all`` food samples (default), ``named`` (those naming the
    sampled unit) or ``two_table`` (those of sources known to publish both tables). The lift model's
    probabilities are calibrated on the training rows of two-table sources (what a bureau's own plan sees:
    a failures-only source's rows are all failures).
    """
    if method not in ("lift", "logistic", "boosting"):
        raise ValueError(f"method must be 'lift', 'logistic' or 'boosting', not {method!r}")
    terms, columns = list(terms), list(columns)
    unknown = ([t for t in terms if t not in LIFT_TERMS] if method == "lift"
               else [c for c in columns if c not in SAMPLE_FEATURES])
    if unknown:
        what = "term" if method == "lift" else "feature column"
        raise ValueError(f"unknown {what}(s): {', '.join(unknown)}")
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
    X = eng.features(rows, days, network_cuts=cuts)
    if method == "lift":
        counted = rows["counted"].to_numpy(dtype="datetime64[D]")
        two = ~np.isnat(counted) & (counted < end)
        est = LiftModel(alpha=alpha).fit(lift_terms(X, terms).to_numpy(), y, calibrate=two)
        model = SampleModel(est, columns=[], terms=terms)
    else:
        est = FailureRiskModel(method=method, C=C, impute="mean").fit(X[columns].to_numpy(), y)
        model = SampleModel(est, columns=columns)
    return model, {"n_train": int(len(y)), "n_train_positive": pos, "train_from": str(days.min()),
                   "network_cuts": len(cuts), "method": method}


def _logit(p: Any) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def lift_terms(X: pd.DataFrame, terms: Iterable[str] = DEFAULT_TERMS) -> pd.DataFrame:
    """The :data:`LIFT_TERMS` of each row of a :func:`sample_features` frame (NaN where the row does not say).

    >>> X = pd.DataFrame({"cat_share": [0.2], "city_rate": [0.2], "task_rate": [np.nan]})
    >>> lift_terms(X, ["category", "task"]).round(6).to_dict("records")
    [{'category': 0.0, 'task': nan}]
    """
    out = {}
    for t in terms:
        if t in _LIFT_OF:
            a, b = _LIFT_OF[t]
            out[t] = _logit(X[a]) - _logit(X[b])
        else:
            out[t] = X[t].to_numpy(dtype=float)
    return pd.DataFrame(out, index=X.index)


class LiftModel(ClassifierMixin, BaseEstimator):
    """A logistic regression whose weights are never negative, recalibrated on chosen rows.

    ``logit p = b + w . z`` with ``w >= 0``: every column is a term that raises the risk when it grows (a
    lift of a smoothed rate over the rate it refines, a network risk), so that no term can turn against
    its meaning when the training rows are few; an L2 penalty ``alpha`` on every weight but the first
    (the category's, the model's backbone). A value not known (NaN) is the training rows' mean; columns
    after the first are scaled by their spread. ``fit(..., calibrate=mask)`` then refits an intercept and
    a non-negative slope of the linear score on the rows of ``mask`` (the rows of two-table sources), so
    that the probabilities are those such rows see while the ranking stays that of every row.

    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(400, 2)); y = (rng.random(400) < 1 / (1 + np.exp(-(Z[:, 0] - 2)))).astype(int)
    >>> m = LiftModel().fit(Z, y)
    >>> bool(m.coef_[0] > 0.5), bool(m.coef_[1] >= 0), m.predict_proba(Z[:2]).shape
    (True, True, (2, 2))
    """

    def __init__(self, alpha: float = DEFAULT_ALPHA):
        self.alpha = alpha

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = True   # no negative weight: it cannot fit a feature that lowers risk
        return tags

    def fit(self, X: Any, y: Any, calibrate: Any = None) -> "LiftModel":
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            kind = type_of_target(y)
            raise ValueError(f"Only binary classification is supported; the target is {kind} with "
                             f"{len(self.classes_)} class(es)")
        t = (y == self.classes_[1]).astype(float)
        known = ~np.isnan(X)
        self.fill_ = np.where(known, X, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
        Z = np.where(np.isnan(X), self.fill_, X)
        scale = Z.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        self.scale_[:1] = 1.0
        Z = Z / self.scale_
        b, w = _fit_nonnegative(Z, t, self.alpha)
        if calibrate is not None:
            m = np.asarray(calibrate, dtype=bool)
            if 0 < t[m].sum() < m.sum():
                a, s = _fit_nonnegative((Z[m] @ w + b)[:, None], t[m], 0.0)
                b, w = a + s[0] * b, s[0] * w
        self.intercept_, self.coef_ = float(b), w
        return self

    def _z(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return np.where(np.isnan(X), self.fill_, X) / self.scale_

    def decision_function(self, X: Any) -> np.ndarray:
        return self._z(X) @ self.coef_ + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        from scipy.special import expit

        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def contributions(self, X: Any) -> np.ndarray:
        """Per-row, per-column term ``w_j z_j``: with the intercept they add up to the log-odds."""
        return self._z(X) * self.coef_


def _fit_nonnegative(Z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """(intercept, weights >= 0) minimising the logistic loss + alpha/2 |w[1:]|^2 (L-BFGS-B)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    k = Z.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + Z @ theta[1:]
        g = expit(z) - y
        pen = theta[2:]
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + alpha * pen @ pen / 2)
        grad = np.concatenate([[g.sum()], Z.T @ g])
        grad[2:] += alpha * pen
        return value, grad

    start = np.zeros(k + 1)
    start[0] = _logit(y.mean())
    r = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(None, None)] + [(0.0, None)] * k)
    return float(r.x[0]), r.x[1:]


@dataclass
class SampleModel:
    """A fitted model and what it reads: :data:`LIFT_TERMS` (``terms``) or feature columns (``columns``)."""

    estimator: Any
    columns: list[str]
    terms: list[str] | None = None

    def design(self, X: pd.DataFrame) -> pd.DataFrame:
        return lift_terms(X, self.terms) if self.terms is not None else X[self.columns]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The probability of failing of each row of a :func:`sample_features` frame."""
        if not len(X):
            return np.zeros(0)
        return self.estimator.predict_proba(self.design(X).to_numpy())[:, 1]

    def by_category(self, X: pd.DataFrame, top: int = 3) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
        """Probabilities and reasons of rows from their category alone (food-related products, see
        :func:`score_plan`): the lift model with every other term unknown, else the category's smoothed rate."""
        if self.terms is None or "category" not in self.terms:
            zh, en, _ = SAMPLE_FEATURES["cat_rate"]
            p = X["cat_rate"].to_numpy(dtype=float)
            return p, [[{"feature": "cat_rate", "zh": zh, "en": en, "contribution": None, "value": round(float(v), 4)}]
                       for v in p]
        T = self.design(X)
        T.loc[:, [t for t in T.columns if t != "category"]] = np.nan
        return self.estimator.predict_proba(T.to_numpy())[:, 1], _lift_reasons(self.estimator, T, X, top)

    def reasons(self, X: pd.DataFrame, top: int = 3) -> list[list[dict[str, Any]]]:
        """The ``top`` terms or features raising each row's log-odds most (see :func:`score_plan`)."""
        if self.terms is None:
            return _reasons(self.estimator, X[self.columns], top)
        return _lift_reasons(self.estimator, self.design(X), X, top)


def _lift_reasons(model: LiftModel, T: pd.DataFrame, X: pd.DataFrame, top: int) -> list[list[dict[str, Any]]]:
    """The ``top`` positive terms of each row (terms the row does not say are no reason)."""
    if not len(T):
        return []
    vals = T.to_numpy(dtype=float)
    contrib = np.where(np.isnan(vals), -np.inf, model.contributions(vals))
    order = np.argsort(-contrib, axis=1)[:, :top]
    out = []
    for i in range(len(T)):
        row = []
        for j in order[i]:
            if not contrib[i, j] > 0:
                break
            term = T.columns[j]
            zh, en, _, shown = LIFT_TERMS[term]
            row.append({"feature": term, "zh": zh, "en": en, "contribution": round(float(contrib[i, j]), 4),
                        "value": round(float(X[shown].iat[i]), 4)})
        out.append(row)
    return out


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
    ``food_related``: a food-related product (never part of food rates or training) is scored from its
    own category alone: by the lift model with every term but the category's unknown (what food's
    producers, sellers and tasks taught the model does not speak for it), by the other models as its
    category's smoothed failure rate (reason: that rate, contribution None).
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
    related = rows["related"].to_numpy(dtype=bool)
    if related.any():
        at = np.flatnonzero(related)
        pr, rr = model.by_category(X.iloc[at], top)
        p[at] = pr
        for i, r in zip(at, rr):
            reasons[i] = r
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
                     history: History | None = None, keep_predictions: bool = False, **fit: Any) -> dict[str, Any]:
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
    each baseline on ROC-AUC and on precision in the top 10 %. ``keep_predictions``: also ``predictions``, a
    frame of the test samples' ``id``, ``probability`` and ``failed``.
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
    naive_s, seen = naive_category_rate(h, test["cat"], day)
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
    if keep_predictions:
        out["predictions"] = pd.DataFrame({"id": test["id"].to_numpy(), "probability": p, "failed": y.astype(bool)})
    return out


def _pr_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import average_precision_score

    return round(float(average_precision_score(y, p)), 4) if 0 < y.sum() < len(y) else None


def naive_category_rate(history: History, cats: Iterable[Any], day: Any) -> tuple[np.ndarray, np.ndarray]:
    """The failure rate of each row's 亚类 (大类/亚类 of its category path) over every sample known before ``day``,
    whatever its source: failures / results as a reader of the published tables computes it (the baseline
    issue 17 judges against), and whether that 亚类 had any known result. A 亚类 never seen gets the rate of
    every sample known (food-related products by their own categories, as the tables list them).
    """
    day = parse_as_of(day)
    h = history.samples
    k = h["known"].to_numpy(dtype="datetime64[D]")
    hist = h[~np.isnat(k) & (k < day)]
    _, sub_hist, _ = _levels(hist["cat"])
    naive = hist.assign(sub=sub_hist).groupby("sub")["fail"].mean()
    _, sub, _ = _levels(pd.Series(list(cats), dtype=object))
    overall = float(hist["fail"].mean()) if len(hist) else 0.0
    return (sub.map(naive).fillna(overall).to_numpy(dtype=float), sub.isin(naive.index).to_numpy())


def backtest_plan(view: Any, plan: Iterable[Mapping[str, Any]], failed: Iterable[bool], as_of: Any, *,
                  history: History | None = None, model: SampleModel | None = None, **fit: Any) -> pd.DataFrame:
    """A plan whose outcomes are known, scored as :func:`score_plan` scores it as of ``as_of``, beside the
    baseline and the outcome: how rank-plan would have served that plan.

    ``plan``: planned rows as :func:`plan_rows` reads them (e.g. announcement rows read by
    :func:`loaders.plan.read_plan`, published on or after ``as_of``); ``failed``: whether each failed.
    One row per planned row: ``probability`` (the model's), ``baseline`` (:func:`naive_category_rate` of
    its 亚类), ``with_history`` (its 亚类 had known results), ``food_related`` and ``failed``.
    """
    plan = list(plan)
    h = history if history is not None else read_history(view)
    scored = score_plan(view, plan, as_of, history=h, model=model, top=1, **fit)
    base, seen = naive_category_rate(h, plan_rows(plan, view, as_of)["cat"], as_of)
    return pd.DataFrame({"probability": scored["probability"].to_numpy(), "baseline": base, "with_history": seen,
                         "food_related": scored["food_related"].to_numpy(dtype=bool),
                         "failed": np.asarray(list(failed), dtype=bool)})
