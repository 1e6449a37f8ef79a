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
    ops = _frame(operators, ["id", "kind", "name", "region_id", "parent_id"]).set_index("id")
    lot_df = _frame(lots, ["id", "product_id"]).set_index("id")
    prod = _frame(products, ["id", "category"]).set_index("id")
    d = _frame(deliveries, ["id", "lot_id", "sender_id", "receiver_id", "ticket_id", "certificate_id"])
    certified = set(certified_lots)
    coded = set(coded_lots)

    kind = ops["kind"].to_dict()
    parent = ops["parent_id"].to_dict()
    region = ops["region_id"].to_dict()

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

    lot_product = lot_df["product_id"].to_dict()
    category = prod["category"].to_dict()
    recv = d["receiver_id"]
    d["market"] = recv.map(market_of)
    d["district"] = recv.map(district_of)
    d["category"] = d["lot_id"].map(lambda lot: category.get(lot_product.get(lot)))
    d["has_ticket"] = d["ticket_id"].notna()
    d["has_cert"] = d["certificate_id"].notna() | d["lot_id"].isin(certified)
    d["entry"] = d["market"].notna()
    d["retail"] = recv.map(lambda op: kind.get(op) in RETAIL_KINDS).astype(bool)
    d["entry"] = d["entry"].astype(bool)

    # retail lots: one per (lot, receiving retail station's market/district/category)
    retail = d[d["retail"]].drop_duplicates(subset=["lot_id", "receiver_id"]).copy()
    retail["has_code"] = retail["lot_id"].isin(coded).astype(bool)

    rows: list[ChainRow] = []
    names = ops["name"].to_dict()
    for dim in DIMENSIONS:
        keys = sorted(set(d[dim].dropna()) | set(retail[dim].dropna()))
        g_all = d.groupby(dim)
        g_entry = d[d["entry"]].groupby(dim)
        g_retail = retail.groupby(dim)
        n_all, n_ticket = g_all.size(), g_all["has_ticket"].sum()
        n_entry, n_cert = g_entry.size(), g_entry["has_cert"].sum()
        n_retail, n_code = g_retail.size(), g_retail["has_code"].sum()
        for k in keys:
            rows.append(ChainRow(
                dimension=dim, key=k, name=names.get(k, k) if dim == "market" else k,
                market_entries=int(n_entry.get(k, 0)), with_certificate=int(n_cert.get(k, 0)),
                deliveries=int(n_all.get(k, 0)), with_ticket=int(n_ticket.get(k, 0)),
                retail_lots=int(n_retail.get(k, 0)), with_trace_code=int(n_code.get(k, 0))))

    totals = ChainRow(dimension="city", key="all", name="全市",
                      market_entries=int(d["entry"].sum()), with_certificate=int((d["entry"] & d["has_cert"]).sum()),
                      deliveries=len(d), with_ticket=int(d["has_ticket"].sum()),
                      retail_lots=len(retail), with_trace_code=int(retail["has_code"].sum()))

    gaps: list[ChainGap] = []
    for r in d[d["entry"] & ~d["has_cert"]].itertuples(index=False):
        gaps.append(ChainGap("certificate", r.id, r.lot_id, r.market, r.district, r.category))
    for r in d[~d["has_ticket"]].itertuples(index=False):
        gaps.append(ChainGap("ticket", r.id, r.lot_id, r.market, r.district, r.category))
    for r in retail[~retail["has_code"]].drop_duplicates(subset=["lot_id"]).itertuples(index=False):
        gaps.append(ChainGap("trace_code", r.lot_id, r.lot_id, r.market, r.district, r.category))
    return ChainReport(rows=rows, gaps=gaps, totals=totals)


def chain_report(view: Any) -> ChainReport:
    """:func:`chain_completeness` over everything a store holds (``view``: a :class:`graph.view.ReadView`;
    deliveries read from retracted events left out)."""
    deliveries, coded = [], set()
    for d in view.scan_live("delivery"):
        deliveries.append({"id": d.id, "lot_id": d.lot_id, "sender_id": d.sender_id, "receiver_id": d.receiver_id,
                           "ticket_id": d.ticket_id, "certificate_id": d.certificate_id})
        if d.trace_code:
            coded.add(d.lot_id)
    coded.update(tc.lot_id for tc in view.scan("trace_code"))
    certified = {c.lot_id for c in view.scan("certificate") if c.lot_id}
    return chain_completeness(
        operators=({"id": o.id, "kind": o.kind, "name": o.name, "region_id": o.region_id, "parent_id": o.parent_id}
                   for o in view.scan("operator")),
        lots=({"id": lot.id, "product_id": lot.product_id} for lot in view.scan("lot")),
        products=({"id": p.id, "category": p.category} for p in view.scan("product")),
        deliveries=deliveries, certified_lots=certified, coded_lots=coded)
