"""Risk features per operator: own history, enforcement, credit and the trade network.

:func:`operator_features` returns one row per operator (index ``operator_id``):
every Operator record, plus the ids seen only as a sampled business, a named
producer, a sender or a receiver. :data:`FEATURES` documents every column in
Chinese and English. Everything respects ``as_of``: a record counts when it was
*known* before ``as_of``: a sample's result from the day it was announced
(:func:`ontology.times.known_day`: ``announced``; where a store has no
announcement date, as for rapid tests and the city's own results, from its
``sampled_at``), never from its sampling day alone (a sample taken before
``as_of`` but announced after it is not yet known; samples of food-related
products are left out, :func:`ontology.records.is_food`);
deliveries by the local date of their ship time, and a delivery retracted by an
EPCIS errorDeclaration stops counting from the day the retraction was declared
(before that it counts); inspections by ``date``; cases by ``opened``;
complaints by ``date``; credit records by ``start``. Records without a date are
left out. Days are Beijing calendar days and the default
``as_of`` is :func:`ontology.times.default_as_of` (the day after the latest
dated record), so that everything counts.

**Whose sample is it.** A sample counts for the business where it was taken
(``sampled_id``) and for its named producer (``producer_id``), unless the sample
is *disputed* (the producer denies making it, or the cause lay elsewhere: then
it never counts against the producer). A sample taken at its own producer counts
once.

**Smoothed failure rate.** ``fail_rate = (nonconforming + k * p0) / (samples + k)``
with ``k = PRIOR_WEIGHT = 2`` and ``p0`` the failure rate of all samples known
before ``as_of`` (a Beta prior: a business never sampled gets the city's rate).

**The network** has one edge weight per (supplier, buyer) pair: the number of
deliveries between them before ``as_of`` (retracted EPCIS events left out,
deliveries to oneself ignored) plus the number of undisputed samples that name
a producer other than the sampled business (the product went from the producer
to the seller). On a store holding only official sampling announcements (no
deliveries, as a city has in its first weeks) the network is therefore the
producer -> sampled-seller network.

* ``supplier_fail_rate``: the edge-weighted mean of the suppliers' smoothed
  failure rates; ``buyer_fail_rate`` the same over buyers (NaN without any).
* ``propagated_risk``: personalised PageRank along the flow of goods from the
  holders of recent nonconforming lots. Each nonconforming sample of the last
  ``recent_days`` (180) before ``as_of`` puts a seed mass of 1, shared equally
  among the holders of its lot: the sampled business, the named producer
  (undisputed) and every station that sent or received the lot before
  ``as_of``. Then ``x = (1 - a) s + a P^T x`` (``a = 0.85``, ``P`` the
  row-normalised edge weights) is iterated to convergence (scipy.sparse power
  iteration). Mass reaching a station that ships nothing stays there (no
  teleport), so the total never exceeds the seed mass and values are comparable
  between dates and networks of different size.
* ``pagerank``: ordinary PageRank (damping 0.85, uniform teleport, dangling mass
  spread uniformly) times the number of operators (mean 1).

Examples
--------
>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Delivery, Operator, Sample
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "f.db"))
>>> _ = s.write([
...     Operator(id="farm", kind="Farm", name="农场"), Operator(id="stall", kind="Stall", name="摊位"),
...     Delivery(id="d1", lot_id="l1", sender_id="farm", receiver_id="stall",
...              time="2026-03-01T08:00:00+08:00", quantity=10, unit="KGM", ticket_id="t1"),
...     Sample(id="s1", plan="supervisory", sampled_id="stall", producer_id="farm", product_name="芹菜",
...            lot_id="l1", sampled_at="2026-03-02", conclusion="nonconforming")])
>>> f = operator_features(ReadView(s))
>>> f.loc["stall", ["samples", "nonconforming", "inbound_deliveries", "inbound_no_certificate_share"]].tolist()
[1.0, 1.0, 1.0, 1.0]
>>> round(float(f.loc["farm", "fail_rate"]), 4)   # (1 + 2 * 1.0) / (1 + 2)
1.0
>>> operator_features(ReadView(s), as_of="2026-03-02").loc["stall", "samples"]  # the sample is not yet known
np.float64(0.0)
>>> s.close()
"""

from __future__ import annotations

import operator as _op
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graph.store import COLUMN_PAGE
from ontology.records import is_food
from ontology.times import days_of, default_as_of, parse_day
from ontology.vocab import labels

__all__ = ["FEATURES", "HAZARD_CLASSES", "PRIOR_WEIGHT", "Frames", "read_frames", "operator_features",
           "parse_as_of", "live_deliveries"]

#: weight of the city-wide failure rate in the smoothed failure rate (pseudo-samples)
PRIOR_WEIGHT = 2.0
#: hazard classes with a count column ``hazard_<class>``
HAZARD_CLASSES: tuple[str, ...] = tuple(sorted(labels("hazard_class")))
_HZ = labels("hazard_class")
_CREDIT_CLASS_ORDINAL = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0}

#: column -> (Chinese name, English name, what it is)
FEATURES: dict[str, tuple[str, str, str]] = {
    "kind": ("主体类型", "kind", "operator kind (ontology subclass, e.g. Stall, Producer)"),
    "category": ("主营类别", "category", "main food category: the operator's own, else the most frequent category "
                 "of its samples known before as_of"),
    "scale": ("规模", "scale", "large, medium, small or micro"),
    "district": ("所属区县", "district", "district (Region id)"),
    "licence_age_days": ("许可证年限(天)", "licence age (days)", "days from the licence issue date to as_of"),
    "haccp": ("HACCP认证", "HACCP certified", "1 if the operator holds a HACCP certification, else 0"),
    "individual": ("个体经营", "individual", "1 if a natural person (farmer, stall keeper), else 0"),
    "samples": ("抽检批次", "samples", "samples taken at the operator or naming it as undisputed producer"),
    "nonconforming": ("不合格批次", "nonconforming samples", "of those, nonconforming"),
    "fail_rate": ("不合格率(平滑)", "failure rate (smoothed)",
                  "(nonconforming + 2 x city rate) / (samples + 2): a never-sampled operator gets the city rate"),
    "samples_365": ("近一年抽检批次", "samples, last 365 days", "samples in the 365 days before as_of"),
    "nonconforming_365": ("近一年不合格批次", "nonconforming, last 365 days",
                          "nonconforming samples in the 365 days before as_of"),
    "days_since_last_sample": ("距上次抽检天数", "days since last sample", "NaN if never sampled"),
    "days_since_last_fail": ("距上次不合格天数", "days since last failure", "NaN if it never failed"),
    **{f"hazard_{h}": (f"不合格项:{_HZ[h][0]}", f"failures: {_HZ[h][1].lower()}",
                       f"nonconforming samples with a nonconforming result of hazard class {h}")
       for h in HAZARD_CLASSES},
    "category_fail_rate": ("品类不合格率", "category failure rate",
                           "smoothed failure rate of all samples of the operator's category (else of the product "
                           "it is most often sampled with) before as_of"),
    "inspections": ("监督检查次数", "inspections", "inspections before as_of"),
    "inspection_fail": ("检查不符合次数", "failed inspections", "inspections with result fail"),
    "inspection_remarks": ("检查基本符合次数", "inspections passed with remarks",
                           "inspections with result pass_with_remarks (基本符合)"),
    "cases": ("立案次数", "cases", "enforcement cases opened before as_of"),
    "case_fines": ("罚没金额(元)", "fines (yuan)", "sum of fines and confiscations of those cases"),
    "cases_police": ("移送公安次数", "cases transferred to police", "cases transferred to the police (行刑衔接)"),
    "complaints": ("投诉举报次数", "complaints", "complaints received before as_of"),
    "complaints_substantiated": ("查证属实投诉", "substantiated complaints", "complaints found to be true"),
    "credit_penalties_active": ("在公示期行政处罚", "active penalties",
                                "penalty records whose publicity period runs at as_of and that were not repaired"),
    "serious_dishonest_active": ("严重违法失信名单", "on the serious dishonesty list",
                                 "active 严重违法失信名单 records (not ended, not repaired)"),
    "abnormal_active": ("经营异常名录", "abnormal operation", "active 经营异常 records"),
    "commendations_active": ("表彰", "commendations", "active commendation records"),
    "credit_class_official": ("官方信用等级", "official credit class",
                              "latest unexpired official general credit class, A=1 ... D=4; NaN where none"),
    "supplier_fail_rate": ("供货方不合格率", "suppliers' failure rate",
                           "edge-weighted mean smoothed failure rate of the operator's suppliers"),
    "buyer_fail_rate": ("购货方不合格率", "buyers' failure rate",
                        "edge-weighted mean smoothed failure rate of the operator's buyers"),
    "inbound_deliveries": ("进货次数", "inbound deliveries", "deliveries received before as_of"),
    "inbound_no_certificate_share": ("进货无合格证明比例", "inbound share without certificate",
                                     "share of inbound deliveries without a certificate (证); NaN without any"),
    "inbound_no_ticket_share": ("进货无票据比例", "inbound share without ticket",
                                "share of inbound deliveries without a ticket (票); NaN without any"),
    "propagated_risk": ("传导风险", "propagated risk",
                        "personalised PageRank along deliveries from the holders of lots that failed in the "
                        "last 180 days"),
    "degree_in": ("供货方数", "suppliers", "distinct suppliers (in-degree)"),
    "degree_out": ("购货方数", "buyers", "distinct buyers (out-degree)"),
    "pagerank": ("网络中心度", "PageRank centrality", "PageRank times the number of operators (mean 1)"),
}
_NUMERIC = [c for c in FEATURES if c not in ("kind", "category", "scale", "district")]


# -- reading --------------------------------------------------------------------------------------

def _columns(records: Iterable[Any], names: tuple[str, ...]) -> dict[str, list[Any]]:
    get = _op.attrgetter(*names)
    rows = [get(r) for r in records]
    if len(names) == 1:
        rows = [(r,) for r in rows]
    cols = list(zip(*rows)) if rows else [() for _ in names]
    return {n: list(c) for n, c in zip(names, cols)}


@dataclass
class Frames:
    """Everything the features need, read from a store once (see :func:`read_frames`).

    Ids are coded against ``ids`` (a pandas Index); dates are datetime64[D].
    """

    ids: pd.Index
    operators: pd.DataFrame      # index: operator id; kind, category, scale, district, licence_date, haccp, individual, name
    samples: pd.DataFrame        # id, sampled, producer (codes, -1), disputed, fail, date (sampled, else announced),
    #                              known (announced, else sampled), category_key, lot_id, lot (code, -1 if
    #                              none), hazard_<c>
    incidence: pd.DataFrame      # sample (row of samples), op (code): who each sample counts for
    inspections: pd.DataFrame    # op, date, result
    cases: pd.DataFrame          # op, date, fine, police
    complaints: pd.DataFrame     # op, date, substantiated
    credit: pd.DataFrame         # op, kind, start, end, repaired, credit_class
    deliveries: pd.DataFrame     # sender, receiver (codes), lot (the sampled lot it is: samples' "lot" code, else -1),
    #                              date, no_cert, no_ticket, retracted (day the retraction was declared, NaT if
    #                              none); sorted by date
    as_of_default: np.datetime64  # ontology.times.default_as_of of the store read

    def default_as_of(self) -> np.datetime64:
        """The store's default as-of day (:func:`ontology.times.default_as_of`) when it was read."""
        return self.as_of_default


#: the delivery fields the features read
DELIVERY_FIELDS = ("sender_id", "receiver_id", "lot_id", "time", "certificate_id", "ticket_id", "event_id")


def read_frames(view: Any, page: int = COLUMN_PAGE) -> Frames:
    """Read operators, samples, results, enforcement, credit records and deliveries once (one scan per table;
    the deliveries in pages of ``page``, each reduced to codes, days and flags before the next is read)."""
    op_cols = ("id", "kind", "category", "scale", "region_id", "licence_date", "haccp", "individual", "name")
    o = _columns(view.scan("operator"), op_cols)
    ops = pd.DataFrame({"kind": o["kind"], "category": o["category"], "scale": o["scale"],
                        "district": o["region_id"], "licence_date": days_of(o["licence_date"]),
                        "haccp": [1.0 if v else 0.0 for v in o["haccp"]],
                        "individual": [1.0 if v else 0.0 for v in o["individual"]], "name": o["name"]},
                       index=pd.Index(o["id"], name="operator_id", dtype=object))

    sm = _columns((s for s in view.scan("sample") if is_food(s)),
                  ("id", "sampled_id", "producer_id", "disputed", "conclusion", "sampled_at", "announced", "category",
                   "product_id", "product_name", "lot_id"))
    tr = _columns(view.scan("test_result"), ("sample_id", "hazard_class", "conclusion"))

    declared = {e: np.datetime64(d or "1970-01-01", "D") for e, d in view.retraction_days().items()}
    # the deliveries page by page, each reduced to numbers at once: senders and receivers coded in the order
    # they first appear (recoded against ``ids`` below), lots only as the sampled lot they are (else -1)
    sample_lots = {x: i for i, x in enumerate(dict.fromkeys(x for x in sm["lot_id"] if x is not None))}
    station: dict[Any, int] = {}
    senders: dict[Any, None] = {}
    receivers: dict[Any, None] = {}
    parts: list[tuple[np.ndarray, ...]] = []
    nat = np.datetime64("NaT")
    for rows in view.column_pages("delivery", DELIVERY_FIELDS, page):
        snd, rcv, lot, when, cert, ticket, event = (list(c) for c in zip(*rows))
        del rows
        senders.update(dict.fromkeys(snd))
        receivers.update(dict.fromkeys(rcv))
        parts.append((np.fromiter((station.setdefault(x, len(station)) for x in snd), dtype=np.int64, count=len(snd)),
                      np.fromiter((station.setdefault(x, len(station)) for x in rcv), dtype=np.int64, count=len(rcv)),
                      np.fromiter((sample_lots.get(x, -1) for x in lot), dtype=np.int64, count=len(lot)),
                      days_of(when), np.array([x is None for x in cert], dtype=bool),
                      np.array([x is None for x in ticket], dtype=bool),
                      np.array([declared.get(e, nat) if e is not None else nat for e in event], dtype="datetime64[D]")))

    ids = pd.Index(pd.unique(pd.Series(
        list(o["id"]) + sm["sampled_id"] + sm["producer_id"] + list(senders) + list(receivers), dtype=object
    ).dropna()), name="operator_id")

    def code(values: Iterable[Any]) -> np.ndarray:
        return ids.get_indexer(pd.Index(list(values), dtype=object))

    # samples
    taken = days_of(sm["sampled_at"])
    ann = days_of(sm["announced"])
    sdate = np.where(np.isnat(taken), ann, taken)
    known = np.where(np.isnat(ann), taken, ann)
    prod_cat: dict[str, str] = {}
    need = {p for c, p in zip(sm["category"], sm["product_id"]) if not c and p}
    if need:
        prod_cat = {k: r.category for k, r in view.get_many("product", need).items() if r.category}
    cat_key = [c or prod_cat.get(p) or (f"name:{n}" if n else None)
               for c, p, n in zip(sm["category"], sm["product_id"], sm["product_name"])]
    samples = pd.DataFrame({
        "id": sm["id"], "sampled": code(sm["sampled_id"]), "producer": code(sm["producer_id"]),
        "disputed": np.array([bool(d) for d in sm["disputed"]], dtype=bool),
        "fail": np.array([c == "nonconforming" for c in sm["conclusion"]], dtype=bool),
        "date": sdate, "known": known, "category_key": pd.Series(cat_key, dtype=object), "lot_id": sm["lot_id"],
        "lot": np.array([sample_lots.get(x, -1) for x in sm["lot_id"]], dtype=np.int64)})
    hz = pd.DataFrame({"sample_id": tr["sample_id"], "h": tr["hazard_class"],
                       "bad": np.array([c == "nonconforming" for c in tr["conclusion"]], dtype=bool)})
    hz = hz[hz["bad"].to_numpy(dtype=bool)]
    hz["h"] = hz["h"].where(hz["h"].isin(HAZARD_CLASSES), "other")
    pos = pd.Index(samples["id"]).get_indexer(hz["sample_id"])
    for h in HAZARD_CLASSES:
        col = np.zeros(len(samples), dtype=bool)
        col[pos[(pos >= 0) & (hz["h"].to_numpy() == h)]] = True
        samples[f"hazard_{h}"] = col & samples["fail"].to_numpy()
    # who each sample counts for: the sampled business, and the producer unless disputed
    rows = np.arange(len(samples))
    s_ok = samples["sampled"].to_numpy() >= 0
    p = samples["producer"].to_numpy()
    p_ok = (p >= 0) & ~samples["disputed"].to_numpy() & (p != samples["sampled"].to_numpy())
    incidence = pd.DataFrame({"sample": np.concatenate([rows[s_ok], rows[p_ok]]),
                              "op": np.concatenate([samples["sampled"].to_numpy()[s_ok], p[p_ok]])})

    def table(name: str, fields: tuple[str, ...]) -> dict[str, list[Any]]:
        return _columns(view.scan(name), fields)

    i = table("inspection", ("operator_id", "date", "result"))
    inspections = pd.DataFrame({"op": code(i["operator_id"]), "date": days_of(i["date"]), "result": i["result"]})
    c = table("case", ("operator_id", "opened", "fine", "transferred_to_police"))
    cases = pd.DataFrame({"op": code(c["operator_id"]), "date": days_of(c["opened"]),
                          "fine": pd.to_numeric(pd.Series(c["fine"], dtype=object), errors="coerce").fillna(0.0)
                          .to_numpy(dtype=float),
                          "police": np.array([bool(x) for x in c["transferred_to_police"]], dtype=bool)})
    q = table("complaint", ("operator_id", "date", "substantiated"))
    complaints = pd.DataFrame({"op": code(q["operator_id"]), "date": days_of(q["date"]),
                               "substantiated": np.array([bool(x) for x in q["substantiated"]], dtype=bool)})
    cr = table("credit_record", ("operator_id", "kind", "start", "end", "repaired", "credit_class"))
    credit = pd.DataFrame({"op": code(cr["operator_id"]), "kind": cr["kind"], "start": days_of(cr["start"]),
                           "end": days_of(cr["end"]), "repaired": days_of(cr["repaired"]),
                           "credit_class": cr["credit_class"]})

    recode = code(station) if station else np.zeros(0, dtype=np.int64)   # provisional station code -> ids
    cat = (lambda i: np.concatenate([p[i] for p in parts])) if parts else (lambda i: np.zeros(0, dtype=np.int64))
    deliveries = pd.DataFrame({"sender": recode[cat(0)], "receiver": recode[cat(1)], "lot": cat(2),
                               "date": cat(3).astype("datetime64[D]"), "no_cert": cat(4).astype(bool),
                               "no_ticket": cat(5).astype(bool), "retracted": cat(6).astype("datetime64[D]")})
    deliveries = deliveries[~np.isnat(deliveries["date"].to_numpy())]
    deliveries = deliveries.sort_values("date", kind="stable").reset_index(drop=True)

    return Frames(ids=ids, operators=ops, samples=samples, incidence=incidence, inspections=inspections,
                  cases=cases, complaints=complaints, credit=credit, deliveries=deliveries,
                  as_of_default=np.datetime64(default_as_of(view), "D"))


def parse_as_of(as_of: Any) -> np.datetime64 | None:
    """``as_of`` as datetime64[D]: a date, a datetime, an ISO string or None.

    >>> import datetime as dt
    >>> parse_as_of("2026-03-01"), parse_as_of(dt.date(2026, 3, 1)), parse_as_of(None)
    (np.datetime64('2026-03-01'), np.datetime64('2026-03-01'), None)
    >>> parse_as_of("March")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidRecord: as_of: 'March' is not a date (YYYY-MM-DD)
    """
    if as_of is None:
        return None
    return np.datetime64(parse_day(as_of), "D")


# -- computing --------------------------------------------------------------------------------------

def _count(codes: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    ok = codes >= 0
    w = None if weights is None else np.asarray(weights, dtype=float)[ok]
    return np.bincount(codes[ok], weights=w, minlength=n).astype(float)


def _days(as_of: np.datetime64, d: np.ndarray) -> np.ndarray:
    return (as_of - d).astype("timedelta64[D]").astype(float)


def _ppr(P_t: sp.csr_matrix, seed: np.ndarray, damping: float, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    """Personalised PageRank ``x = (1 - a) s + a P^T x`` by power iteration (no teleport of dangling mass)."""
    x = (1 - damping) * seed
    base = x.copy()
    total = max(float(seed.sum()), 1e-300)
    for _ in range(max_iter):
        nxt = base + damping * (P_t @ x)
        if np.abs(nxt - x).sum() <= tol * total:
            return nxt
        x = nxt
    return x


def _pagerank(P_t: sp.csr_matrix, dangling: np.ndarray, damping: float = 0.85, tol: float = 1e-10,
              max_iter: int = 200) -> np.ndarray:
    n = P_t.shape[0]
    if n == 0:
        return np.zeros(0)
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        nxt = damping * (P_t @ x) + (damping * x[dangling].sum() + 1 - damping) / n
        if np.abs(nxt - x).sum() <= tol:
            x = nxt
            break
        x = nxt
    return x * n


def operator_features(view: Any, *, as_of: Any = None, operator_ids: Iterable[str] | None = None,
                      recent_days: int = 180, damping: float = 0.85) -> pd.DataFrame:
    """One row per operator (index ``operator_id``), the columns of :data:`FEATURES`.

    ``view`` is a :class:`graph.view.ReadView` (anything with ``scan``) or the
    :class:`Frames` already read from it (to compute features at many dates from
    one read). ``operator_ids`` limits the rows returned (every operator still
    counts for the network features).
    """
    fr = view if isinstance(view, Frames) else read_frames(view)
    day = parse_as_of(as_of)
    if day is None:
        day = fr.default_as_of()
    n = len(fr.ids)
    out: dict[str, np.ndarray] = {}

    # static
    ops = fr.operators.reindex(fr.ids)
    lic = ops["licence_date"].to_numpy(dtype="datetime64[D]")
    age = _days(day, lic)
    age[~(lic < day)] = np.nan
    out["licence_age_days"] = age
    out["haccp"] = ops["haccp"].fillna(0.0).to_numpy(dtype=float)
    out["individual"] = ops["individual"].fillna(0.0).to_numpy(dtype=float)

    # own samples
    S = fr.samples
    s_date = S["known"].to_numpy(dtype="datetime64[D]")
    s_known = s_date < day
    s_fail = S["fail"].to_numpy()
    n_known = int(s_known.sum())
    p0 = float(s_fail[s_known].mean()) if n_known else 0.0
    inc = fr.incidence
    inc_s = inc["sample"].to_numpy()
    inc = inc[s_known[inc_s]]
    inc_s, inc_o = inc["sample"].to_numpy(), inc["op"].to_numpy()
    f_inc = s_fail[inc_s]
    d_inc = s_date[inc_s]
    out["samples"] = _count(inc_o, n)
    out["nonconforming"] = _count(inc_o, n, f_inc)
    out["fail_rate"] = (out["nonconforming"] + PRIOR_WEIGHT * p0) / (out["samples"] + PRIOR_WEIGHT)
    last_year = d_inc >= day - np.timedelta64(365, "D")
    out["samples_365"] = _count(inc_o[last_year], n)
    out["nonconforming_365"] = _count(inc_o[last_year], n, f_inc[last_year])
    age_inc = _days(day, d_inc)
    since = np.full(n, np.inf)
    np.minimum.at(since, inc_o, age_inc)
    out["days_since_last_sample"] = np.where(np.isinf(since), np.nan, since)
    since = np.full(n, np.inf)
    np.minimum.at(since, inc_o[f_inc], age_inc[f_inc])
    out["days_since_last_fail"] = np.where(np.isinf(since), np.nan, since)
    for h in HAZARD_CLASSES:
        out[f"hazard_{h}"] = _count(inc_o, n, S[f"hazard_{h}"].to_numpy()[inc_s])

    # category: own, else the most frequent category of its known samples; its smoothed failure rate
    # (a sample's category key is its category, else its product's, else "name:" + the product name)
    cat = ops["category"].astype(object).to_numpy()
    keys = S["category_key"].to_numpy(dtype=object)
    cat_key = cat.copy()
    if len(inc):
        kc = pd.DataFrame({"op": inc_o, "key": keys[inc_s]}).dropna()
        if len(kc):
            top = kc.groupby(["op", "key"]).size().reset_index(name="n").sort_values(
                ["op", "n", "key"], ascending=[True, False, True]).drop_duplicates("op")
            fill = np.full(n, None, dtype=object)
            fill[top["op"].to_numpy()] = top["key"].to_numpy()
            missing = pd.isna(cat)
            cat_key = np.where(missing, fill, cat)
            named = np.array([isinstance(x, str) and x.startswith("name:") for x in cat_key], dtype=bool)
            cat = np.where(named, None, cat_key)
    known = pd.DataFrame({"key": keys[s_known], "fail": s_fail[s_known]}).dropna()
    rates = known.groupby("key")["fail"].agg(["sum", "size"])
    rate = (rates["sum"] + PRIOR_WEIGHT * p0) / (rates["size"] + PRIOR_WEIGHT)
    out["category_fail_rate"] = pd.Series(cat_key, dtype=object).map(rate).fillna(p0).to_numpy(dtype=float)

    # enforcement
    I = fr.inspections[fr.inspections["date"].to_numpy(dtype="datetime64[D]") < day]
    io, res = I["op"].to_numpy(), I["result"].to_numpy(dtype=object)
    out["inspections"] = _count(io, n)
    out["inspection_fail"] = _count(io, n, res == "fail")
    out["inspection_remarks"] = _count(io, n, res == "pass_with_remarks")
    C = fr.cases[fr.cases["date"].to_numpy(dtype="datetime64[D]") < day]
    out["cases"] = _count(C["op"].to_numpy(), n)
    out["case_fines"] = _count(C["op"].to_numpy(), n, C["fine"].to_numpy())
    out["cases_police"] = _count(C["op"].to_numpy(), n, C["police"].to_numpy())
    Q = fr.complaints[fr.complaints["date"].to_numpy(dtype="datetime64[D]") < day]
    out["complaints"] = _count(Q["op"].to_numpy(), n)
    out["complaints_substantiated"] = _count(Q["op"].to_numpy(), n, Q["substantiated"].to_numpy())

    # credit records active at as_of
    R = fr.credit
    start, end, rep = (R[c].to_numpy(dtype="datetime64[D]") for c in ("start", "end", "repaired"))
    active = (start < day) & (np.isnat(end) | (end >= day)) & (np.isnat(rep) | (rep >= day))
    kind = R["kind"].to_numpy(dtype=object)
    ro = R["op"].to_numpy()
    for k, col in (("penalty", "credit_penalties_active"), ("serious_dishonest", "serious_dishonest_active"),
                   ("abnormal", "abnormal_active"), ("commendation", "commendations_active")):
        m = active & (kind == k)
        out[col] = _count(ro[m], n, None) if m.any() else np.zeros(n)
    cls = np.full(n, np.nan)
    m = active & (kind == "credit_class") & (ro >= 0)
    if m.any():
        cc = pd.DataFrame({"op": ro[m], "start": start[m], "cls": R["credit_class"].to_numpy(dtype=object)[m]})
        cc["v"] = cc["cls"].map(_CREDIT_CLASS_ORDINAL)
        cc = cc.dropna(subset=["v"]).sort_values(["op", "start"]).drop_duplicates("op", keep="last")
        cls[cc["op"].to_numpy()] = cc["v"].to_numpy()
    out["credit_class_official"] = cls

    # network
    D, k = live_deliveries(fr, day)
    snd, rcv = D["sender"].to_numpy(), D["receiver"].to_numpy()
    inbound = _count(rcv, n)
    out["inbound_deliveries"] = inbound
    with np.errstate(invalid="ignore", divide="ignore"):
        out["inbound_no_certificate_share"] = np.where(inbound > 0, _count(rcv, n, D["no_cert"].to_numpy()) / inbound,
                                                       np.nan)
        out["inbound_no_ticket_share"] = np.where(inbound > 0, _count(rcv, n, D["no_ticket"].to_numpy()) / inbound,
                                                  np.nan)
    ok = (snd >= 0) & (rcv >= 0) & (snd != rcv)
    known_s = S[s_known]
    sp_ok = ((known_s["producer"].to_numpy() >= 0) & (known_s["sampled"].to_numpy() >= 0)
             & ~known_s["disputed"].to_numpy() & (known_s["producer"].to_numpy() != known_s["sampled"].to_numpy()))
    src = np.concatenate([snd[ok], known_s["producer"].to_numpy()[sp_ok]])
    dst = np.concatenate([rcv[ok], known_s["sampled"].to_numpy()[sp_ok]])
    W = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    W.sum_duplicates()
    w_out = np.asarray(W.sum(axis=1)).ravel()
    w_in = np.asarray(W.sum(axis=0)).ravel()
    fr_rate = out["fail_rate"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["supplier_fail_rate"] = np.where(w_in > 0, (W.T @ fr_rate) / w_in, np.nan)
        out["buyer_fail_rate"] = np.where(w_out > 0, (W @ fr_rate) / w_out, np.nan)
    B = (W > 0).astype(float)
    out["degree_in"] = np.asarray(B.sum(axis=0)).ravel()
    out["degree_out"] = np.asarray(B.sum(axis=1)).ravel()
    inv = np.zeros(n)
    inv[w_out > 0] = 1.0 / w_out[w_out > 0]
    P_t = (sp.diags(inv) @ W).T.tocsr()
    out["pagerank"] = _pagerank(P_t, w_out == 0, damping)
    out["propagated_risk"] = _ppr(P_t, _seeds(fr, day, k, recent_days, s_known, n), damping)

    frame = pd.DataFrame({"kind": ops["kind"].to_numpy(dtype=object), "category": cat,
                          "scale": ops["scale"].to_numpy(dtype=object),
                          "district": ops["district"].to_numpy(dtype=object),
                          **{c: out[c] for c in _NUMERIC}}, index=fr.ids.copy())
    frame.index.name = "operator_id"
    for c in ("kind", "category", "scale", "district"):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    if operator_ids is not None:
        want = pd.Index(list(operator_ids), dtype=object)
        frame = frame.loc[want[want.isin(frame.index)]]
    return frame


def live_deliveries(fr: Frames, day: np.datetime64) -> tuple[pd.DataFrame, int]:
    """The deliveries shipped before ``day`` and not retracted by then (the rule of
    :meth:`graph.store.Store.live` with ``as_of``), and how many shipped before ``day``."""
    D = fr.deliveries
    k = int(np.searchsorted(D["date"].to_numpy(dtype="datetime64[D]"), day, side="left"))
    D = D.iloc[:k]
    r = D["retracted"].to_numpy(dtype="datetime64[D]")
    gone = ~np.isnat(r) & (r < day)
    return (D[~gone] if gone.any() else D), k


def _seeds(fr: Frames, day: np.datetime64, k: int, recent_days: int, s_known: np.ndarray, n: int) -> np.ndarray:
    """Seed mass per operator: each recent nonconforming sample shares 1 among the holders of its lot."""
    S = fr.samples
    s_date = S["known"].to_numpy(dtype="datetime64[D]")
    recent = s_known & S["fail"].to_numpy() & (s_date >= day - np.timedelta64(recent_days, "D"))
    seed = np.zeros(n)
    if not recent.any():
        return seed
    rows = np.flatnonzero(recent)
    parts = [pd.DataFrame({"sample": rows, "op": S["sampled"].to_numpy()[rows]})]
    prod = S["producer"].to_numpy()[rows]
    pok = ~S["disputed"].to_numpy()[rows]
    parts.append(pd.DataFrame({"sample": rows[pok], "op": prod[pok]}))
    lots = pd.DataFrame({"sample": rows, "lot": S["lot"].to_numpy()[rows]})
    lots = lots[lots["lot"] >= 0]
    if len(lots) and k:
        D, _ = live_deliveries(fr, day)
        D = D[np.isin(D["lot"].to_numpy(), lots["lot"].to_numpy())]
        if len(D):
            m = lots.merge(D[["lot", "sender", "receiver"]], on="lot")
            parts.append(pd.DataFrame({"sample": m["sample"].to_numpy(), "op": m["sender"].to_numpy()}))
            parts.append(pd.DataFrame({"sample": m["sample"].to_numpy(), "op": m["receiver"].to_numpy()}))
    h = pd.concat(parts, ignore_index=True)
    h = h[h["op"] >= 0].drop_duplicates()
    share = 1.0 / h.groupby("sample")["op"].transform("size").to_numpy()
    np.add.at(seed, h["op"].to_numpy(), share)
    return seed
