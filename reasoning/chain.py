"""Chain completeness: 一证一票一码 and the linkage of 产地准出 with 市场准入.

A pure function over plain tables. It measures, per market, per district and
per product category:

* **certificate (证)**: the share of lots entering a market (a delivery received
  by a wholesale or farmers' market or by one of its stalls) that arrive with a
  certificate: one on the delivery itself or any certificate issued for the lot;
* **ticket (票)**: the share of deliveries that carry a ticket (invoice / voucher);
* **trace code (码)**: the share of retail lots (lots received by a stall,
  supermarket, farmers' market or vendor) that have a trace code.

Every gap is listed by id so that an inspector can follow it up.

Examples
--------
>>> ops = [dict(id="f", kind="Farm", name="农场", region_id="r1", parent_id=None),
...        dict(id="m", kind="FarmersMarket", name="农贸市场", region_id="r1", parent_id=None),
...        dict(id="s", kind="Stall", name="摊位", region_id="r1", parent_id="m")]
>>> lots = [dict(id="l1", product_id="p"), dict(id="l2", product_id="p")]
>>> prods = [dict(id="p", category="leafy_vegetable")]
>>> dels = [dict(id="d1", lot_id="l1", sender_id="f", receiver_id="s", ticket_id="t", certificate_id="c"),
...         dict(id="d2", lot_id="l2", sender_id="f", receiver_id="s", ticket_id=None, certificate_id=None)]
>>> rep = chain_completeness(operators=ops, lots=lots, products=prods, deliveries=dels,
...                          certified_lots=[], coded_lots=["l1"])
>>> [(r.dimension, r.key, r.certificate_share, r.ticket_share, r.trace_code_share) for r in rep.rows
...  if r.dimension == "market"]
[('market', 'm', 0.5, 0.5, 0.5)]
>>> sorted((g.kind, g.id) for g in rep.gaps)
[('certificate', 'd2'), ('ticket', 'd2'), ('trace_code', 'l2')]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

import pandas as pd

from graph.store import COLUMN_PAGE

__all__ = ["MARKET_KINDS", "RETAIL_KINDS", "ChainRow", "ChainGap", "ChainReport", "chain_completeness", "chain_report"]

#: operators whose inbound deliveries are 市场准入 (market entry)
MARKET_KINDS = frozenset({"WholesaleMarket", "FarmersMarket"})
#: operators whose lots are retail lots (a trace code is expected)
RETAIL_KINDS = frozenset({"Stall", "Supermarket", "FarmersMarket", "Vendor"})
DIMENSIONS = ("market", "district", "category")


@dataclass(frozen=True)
class ChainRow:
    """Completeness figures for one market, district or category (``dimension`` / ``key``)."""

    dimension: str
    key: str
    name: str
    market_entries: int
    with_certificate: int
    deliveries: int
    with_ticket: int
    retail_lots: int
    with_trace_code: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def certificate_share(self) -> float | None:
        return self._share(self.with_certificate, self.market_entries)

    @property
    def ticket_share(self) -> float | None:
        return self._share(self.with_ticket, self.deliveries)

    @property
    def trace_code_share(self) -> float | None:
        return self._share(self.with_trace_code, self.retail_lots)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(certificate_share=self.certificate_share, ticket_share=self.ticket_share,
                 trace_code_share=self.trace_code_share)
        return d


@dataclass(frozen=True)
class ChainGap:
    """One missing link: ``kind`` is certificate, ticket or trace_code; ``id`` the delivery or lot."""

    kind: str
    id: str
    lot_id: str
    market: str | None
    district: str | None
    category: str | None


@dataclass
class ChainReport:
    rows: list[ChainRow] = field(default_factory=list)
    gaps: list[ChainGap] = field(default_factory=list)
    totals: ChainRow | None = None


def _frame(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(list(rows), columns=columns)
    return df.astype(object).where(df.notna(), None)


def chain_completeness(*, operators: Iterable[Mapping[str, Any]], lots: Iterable[Mapping[str, Any]],
                       products: Iterable[Mapping[str, Any]], deliveries: Iterable[Mapping[str, Any]],
                       certified_lots: Iterable[str], coded_lots: Iterable[str]) -> ChainReport:
    """Compute chain completeness.

    Parameters
    ----------
    operators : mappings with ``id``, ``kind``, ``name``, ``region_id``, ``parent_id``
    lots : mappings with ``id``, ``product_id``
    products : mappings with ``id``, ``category``
    deliveries : mappings with ``id``, ``lot_id``, ``sender_id``, ``receiver_id``, ``ticket_id``,
        ``certificate_id`` (retracted deliveries already left out)
    certified_lots : ids of lots that have a certificate of their own
    coded_lots : ids of lots that have a trace code (a TraceCode record or a code on a delivery)

    Returns
    -------
    ChainReport
        rows per market, district and category (sorted by dimension then key), the
        city-wide totals, and every gap.
    """
    tally = ChainTally(operators=operators, lots=((x["id"], x["product_id"]) for x in lots),
                       products=((p["id"], p["category"]) for p in products), certified_lots=certified_lots)
    tally.add(_frame(deliveries, list(DELIVERY_FIELDS)))
    return tally.report(coded_lots)


#: the delivery fields chain completeness reads, in the order :meth:`ChainTally.add` takes them
DELIVERY_FIELDS = ("id", "lot_id", "sender_id", "receiver_id", "ticket_id", "certificate_id")


class ChainTally:
    """Chain completeness counted part by part: deliveries are added in pages (a frame with the columns of
    :data:`DELIVERY_FIELDS`, in the store's order), each reduced to counts, gaps and the retail lots before
    the next, so ten million deliveries need not be held at once; :meth:`report` gives what
    :func:`chain_completeness` gives for all of them together."""

    def __init__(self, *, operators: Iterable[Mapping[str, Any]], lots: Iterable[tuple[str, str | None]],
                 products: Iterable[tuple[str, str | None]], certified_lots: Iterable[str]) -> None:
        ops = {o["id"]: o for o in operators}
        kind = {k: o.get("kind") for k, o in ops.items()}
        parent = {k: o.get("parent_id") for k, o in ops.items()}
        region = {k: o.get("region_id") for k, o in ops.items()}

        def market_of(op: str) -> str | None:
            if kind.get(op) in MARKET_KINDS:
                return op
            p = parent.get(op)
            if p is not None and kind.get(p) in MARKET_KINDS:
                return p
            return None

        def district_of(op: str) -> str | None:
            r = region.get(op)
            if r is None and parent.get(op) is not None:
                r = region.get(parent[op])
            return r

        self._market = {op: market_of(op) for op in ops}
        self._district = {op: district_of(op) for op in ops}
        self._retail = {op for op in ops if kind.get(op) in RETAIL_KINDS}
        self._names = {k: o.get("name") for k, o in ops.items()}
        category = dict(products)
        self._lot_category = {x: category.get(p) for x, p in lots}
        self._certified = set(certified_lots)
        self._counts: dict[tuple[str, Any], list[int]] = {}   # (dim, key) -> [entries, cert, deliveries, ticket]
        self._totals = [0, 0, 0, 0]
        self._cert_gaps: list[ChainGap] = []
        self._ticket_gaps: list[ChainGap] = []
        self._seen_retail: set[tuple[str, str]] = set()
        self._retail_rows: list[tuple[str, Any, Any, Any]] = []       # (lot, market, district, category)

    def add(self, d: pd.DataFrame) -> None:
        """Count one page of deliveries (columns :data:`DELIVERY_FIELDS`, missing values None)."""
        if not len(d):
            return
        d = d.copy()
        recv = d["receiver_id"]
        d["market"] = recv.map(self._market)
        d["district"] = recv.map(self._district)
        d["category"] = d["lot_id"].map(self._lot_category)
        d["has_ticket"] = d["ticket_id"].notna()
        d["has_cert"] = d["certificate_id"].notna() | d["lot_id"].isin(self._certified)
        d["entry"] = d["market"].notna()
        for dim in DIMENSIONS:
            g_all = d.groupby(dim)
            g_entry = d[d["entry"]].groupby(dim)
            for k, n in g_all.size().items():
                self._count(dim, k)[2] += int(n)
            for k, n in g_all["has_ticket"].sum().items():
                self._count(dim, k)[3] += int(n)
            for k, n in g_entry.size().items():
                self._count(dim, k)[0] += int(n)
            for k, n in g_entry["has_cert"].sum().items():
                self._count(dim, k)[1] += int(n)
        t = self._totals
        t[0] += int(d["entry"].sum())
        t[1] += int((d["entry"] & d["has_cert"]).sum())
        t[2] += len(d)
        t[3] += int(d["has_ticket"].sum())
        cols = ["id", "lot_id", "market", "district", "category"]
        for r in d.loc[d["entry"] & ~d["has_cert"], cols].itertuples(index=False):
            self._cert_gaps.append(ChainGap("certificate", r.id, r.lot_id, *_none(r.market, r.district, r.category)))
        for r in d.loc[~d["has_ticket"], cols].itertuples(index=False):
            self._ticket_gaps.append(ChainGap("ticket", r.id, r.lot_id, *_none(r.market, r.district, r.category)))
        retail = d[recv.isin(self._retail)]
        seen = self._seen_retail
        for lot, rcv, m, dist, cat in zip(retail["lot_id"].tolist(), retail["receiver_id"].tolist(),
                                          retail["market"].tolist(), retail["district"].tolist(),
                                          retail["category"].tolist()):
            if (lot, rcv) not in seen:
                seen.add((lot, rcv))
                self._retail_rows.append((lot, *_none(m, dist, cat)))

    def _count(self, dim: str, key: Any) -> list[int]:
        c = self._counts.get((dim, key))
        if c is None:
            c = self._counts[(dim, key)] = [0, 0, 0, 0]
        return c

    def report(self, coded_lots: Iterable[str]) -> ChainReport:
        """The report of every delivery added, given the lots that have a trace code."""
        coded = set(coded_lots)
        retail_counts: dict[tuple[str, Any], list[int]] = {}
        gaps_code: list[ChainGap] = []
        gapped: set[str] = set()
        with_code = 0
        for lot, m, dist, cat in self._retail_rows:
            has = lot in coded
            with_code += has
            for dim, k in zip(DIMENSIONS, (m, dist, cat)):
                if k is not None:
                    c = retail_counts.setdefault((dim, k), [0, 0])
                    c[0] += 1
                    c[1] += has
            if not has and lot not in gapped:
                gapped.add(lot)
                gaps_code.append(ChainGap("trace_code", lot, lot, m, dist, cat))
        rows: list[ChainRow] = []
        for dim in DIMENSIONS:
            keys = sorted({k for (dm, k) in self._counts if dm == dim and k is not None}
                          | {k for (dm, k) in retail_counts if dm == dim})
            for k in keys:
                e, c, n, t = self._counts.get((dim, k), (0, 0, 0, 0))
                rn, rc = retail_counts.get((dim, k), (0, 0))
                rows.append(ChainRow(dimension=dim, key=k, name=self._names.get(k, k) if dim == "market" else k,
                                     market_entries=e, with_certificate=c, deliveries=n, with_ticket=t,
                                     retail_lots=rn, with_trace_code=rc))
        e, c, n, t = self._totals
        totals = ChainRow(dimension="city", key="all", name="全市", market_entries=e, with_certificate=c,
                          deliveries=n, with_ticket=t, retail_lots=len(self._retail_rows), with_trace_code=with_code)
        return ChainReport(rows=rows, gaps=[*self._cert_gaps, *self._ticket_gaps, *gaps_code], totals=totals)


def _none(*values: Any) -> tuple[Any, ...]:
    """pandas' missing values (NaN) as None."""
    return tuple(None if v is None or (isinstance(v, float) and v != v) else v for v in values)


def chain_report(view: Any, page: int = COLUMN_PAGE) -> ChainReport:
    """:func:`chain_completeness` over everything a store holds (``view``: a :class:`graph.view.ReadView`;
    deliveries read from retracted events left out), reading the deliveries page by page."""
    tally = ChainTally(
        operators=({"id": o.id, "kind": o.kind, "name": o.name, "region_id": o.region_id, "parent_id": o.parent_id}
                   for o in view.scan("operator")),
        lots=view.columns("lot", ["id", "product_id"]), products=view.columns("product", ["id", "category"]),
        certified_lots={x for (x,) in view.columns("certificate", ["lot_id"]) if x})
    coded = {x for (x,) in view.columns("trace_code", ["lot_id"])}
    for rows in view.live_column_pages("delivery", [*DELIVERY_FIELDS, "trace_code"], page):
        df = pd.DataFrame(rows, columns=[*DELIVERY_FIELDS, "trace_code"])
        del rows
        coded.update(df.loc[df["trace_code"].notna() & (df["trace_code"] != ""), "lot_id"].tolist())
        tally.add(df.drop(columns="trace_code"))
    return tally.report(coded)
