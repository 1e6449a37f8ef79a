"""Public lot lookups: what a shopper scanning a QR code may see about a lot, and nothing private.

:func:`public_lot` gathers, for one lot, a JSON-ready dict: the product, the lot, its origin, the
certificates (证) of the lot and of the lots it was explicitly made from, the chain of custody
(explicit links only: the lot's deliveries and, through recorded transformations, its input lots'
deliveries and the transformations themselves), the latest public sampling results and
nonconformity notices. :func:`public_code` resolves a local trace code (码) to its lot first.

What is public
--------------
* **Samples**: supervisory samples (监督抽检) once announced (an announcement date is set) and rapid
  tests (快检, posted on the market's board the same day). Risk monitoring (风险监测) results are
  internal: never shown and never a notice. A sample counts for a lot when it names the lot
  (``Sample.lot_id``), or (for the scanned lot itself: announcements name goods found on sale) when
  it names no lot but its batch (批号) equals the lot number and either
  its named producer (or brand owner) is the lot's producer or it was taken at a station that
  received the lot. A batch given as a date is not matched (too loose to accuse a lot publicly).
* **Notices**: a nonconformity notice (不合格通报) for every public, nonconforming and *undisputed*
  sample of the lot or of one of its upstream lots, with its disposal status (核查处置). A disputed
  sample (the named producer denies it) is listed among the results with its dispute flag but gives
  no notice.
* **Buyers**: who bought the lot is a business's customer list. Scanned through a trace code, the chain
  shows the way to the shop whose delivery carried the code; looked up without one, the way up to the
  retail level (shops, markets, stalls, restaurants, canteens: :func:`is_retail_level`). Every other
  delivery of the lot is only counted, by the kind of its buyer (``sold_on``); a sample taken at a retail
  business that the chain does not name shows its kind only.
* **Parties**: registered businesses by name and kind. Individuals (``Operator.individual``; where it
  is not recorded, a stall, a vendor or a business whose USCC starts with ``92``, 个体工商户) are
  masked: surname + ``**`` (the surname of the contact person where one is recorded) and a kind
  label such as 个体养殖户; their id, address, phone, contact, USCC and licence never appear, and a
  certificate issuer naming an individual is masked the same way. No party's address, phone,
  contact, licence or coordinates are shown; no risk assessment, grade, score, inspection, case,
  complaint or credit record is read at all.

Reads
-----
A lookup reads the store a bounded number of times, each read a whole frontier: the lot, the
transformation links level by level (two reads per upstream level, at most :data:`MAX_DEPTH`
levels and :data:`MAX_LOTS` lots), all deliveries of all these lots in one read, their
transformations, lots and products, operators (plus the markets of stalls), and per lot its
certificates and samples (indexed columns), then the test results of the samples shown.

Example
-------
>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Lot, Product, Operator, Delivery
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "l.db"))
>>> _ = s.write([Product(id="p", name="青菜", category="leafy_vegetable"),
...     Operator(id="f", kind="Farm", name="张三蔬菜基地", individual=True, contact="张三", phone="13700001111"),
...     Operator(id="m", kind="Supermarket", name="文峰超市"),
...     Lot(id="l", product_id="p", lot_number="L1", producer_id="f"),
...     Delivery(id="d", lot_id="l", sender_id="f", receiver_id="m", time="2026-03-01T06:00:00+08:00",
...              quantity=5, unit="KGM")])
>>> out = public_lot(ReadView(s), "l")
>>> out["product"]["name"], out["origin"]["producer"]["name"], out["origin"]["producer"]["kind_zh"]
('青菜', '张**', '个体种植户')
>>> out["chain"], [(k["kind_zh"], k["count"]) for k in out["sold_on"]["by_kind"]]  # the shop: counted, not named
([], [('超市', 1)])
>>> "13700001111" in str(out) or "张三" in str(out)
False
>>> s.close()
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

from graph.view import ReadView
from ontology import vocab
from ontology.errors import InvalidRecord, LotNotFound, NotFound
from ontology.records import Certificate, Delivery, Lot, Operator, Sample, Transformation
from ontology.times import day_of, local_naive

__all__ = [
    "PUBLIC_PLANS",
    "MAX_DEPTH",
    "MAX_LOTS",
    "MAX_STEPS",
    "MAX_SAMPLES",
    "dependent_lots",
    "public_lot",
    "public_code",
    "find_lot",
    "code_lot",
    "is_individual",
    "is_retail_level",
    "masked_name",
    "is_public_sample",
]

#: sampling plans whose results may be shown publicly (supervisory only once announced)
PUBLIC_PLANS = ("supervisory", "rapid")
#: upstream levels followed through recorded transformations
MAX_DEPTH = 4
#: lots (the lot and its upstream lots) read at most
MAX_LOTS = 16
#: chain steps shown at most (the earliest are kept: the way from the origin; the rest are counted in ``chain_omitted``)
MAX_STEPS = 40
#: sampling results shown at most (the latest)
MAX_SAMPLES = 6
#: a trace code longer than this is no code
MAX_CODE = 200

_FARM_KINDS = frozenset({"Farm", "CropFarm", "AquaFarm"})
_PLANT = frozenset({"vegetable", "leafy_vegetable", "fruit", "grain"})
#: where food reaches consumers: shops and markets, and kitchens (restaurants, canteens)
_RETAIL = frozenset({"Stall", "Supermarket", "FarmersMarket", "Vendor", "Restaurant"})
_INDIVIDUAL_KINDS = frozenset({"Stall", "Vendor"})
_CJK = re.compile(r"[\u4e00-\u9fff]{2,4}")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "夏侯", "司徒", "令狐",
                      "宇文", "长孙", "端木", "独孤", "南宫", "西门", "轩辕", "呼延")

#: (step code, Chinese, English) of a delivery by the sender's kind
_SENDER_STEP = {
    "Slaughterhouse": ("dispatch", "出厂", "Dispatched from the plant"),
    "Producer": ("dispatch", "出厂", "Dispatched from the plant"),
    "Workshop": ("dispatch", "出厂", "Dispatched from the workshop"),
    "WholesaleMarket": ("wholesale", "批发", "Wholesale"),
    "Distributor": ("distribution", "配送", "Distribution"),
    "ColdStore": ("cold_store", "冷库出库", "Out of cold storage"),
    "Stall": ("retail", "零售", "Retail"),
    "Supermarket": ("retail", "零售", "Retail"),
    "FarmersMarket": ("retail", "零售", "Retail"),
    "Vendor": ("retail", "零售", "Retail"),
}
_TRANSFER = ("transfer", "流通", "Transfer")

#: kind labels of masked individuals: (Chinese, English)
_INDIVIDUAL_LABEL = {
    "Farm": ("个体养殖户", "Individual livestock farmer"),
    "CropFarm": ("个体种植户", "Individual grower"),
    "AquaFarm": ("个体水产养殖户", "Individual fish farmer"),
    "Stall": ("个体摊主", "Individual stall keeper"),
    "Vendor": ("个体摊贩", "Individual vendor"),
    "Workshop": ("个体小作坊", "Individual small workshop"),
}
_INDIVIDUAL_DEFAULT = ("个体经营户", "Individual business")
_UNKNOWN_PARTY = ("未登记主体", "Unregistered operator")


@lru_cache(maxsize=None)
def _labels(scheme: str) -> dict[str, tuple[str, str]]:
    return vocab.labels(scheme)


def _label(scheme: str, code: str | None) -> tuple[str | None, str | None]:
    if not code:
        return None, None
    return _labels(scheme).get(code, (code, code))


@lru_cache(maxsize=4096)
def _region(value: str | None) -> dict[str, str] | None:
    """A region (id or name as written) as ``{"zh", "en"}``; an unknown region id is left out."""
    if not value:
        return None
    names = _labels("region")
    if value in names:
        zh, en = names[value]
        return {"zh": zh, "en": en}
    if value.startswith("urn:") or "://" in value:
        return None
    found = vocab.lookup("region", value)
    if found and found in names:
        zh, en = names[found]
        return {"zh": zh, "en": en}
    return {"zh": value, "en": value}


@lru_cache(maxsize=1)
def _region_prefixes() -> tuple[str, ...]:
    names = {zh for zh, _ in _labels("region").values()}
    short = {n[:-1] for n in names if len(n) >= 3 and n[-1] in "市区县"}
    return tuple(sorted(names | short | {"江苏省", "江苏"}, key=len, reverse=True))


def _surname(text: str | None, *, strip_region: bool = False) -> str:
    if not text:
        return ""
    t = text.strip()
    if strip_region:
        for p in _region_prefixes():
            if t.startswith(p):
                return ""  # a place name first: the person's name cannot be told apart
    if not t or not ("\u4e00" <= t[0] <= "\u9fff"):
        return ""
    for c in _COMPOUND_SURNAMES:
        if t.startswith(c) and len(t) > 2:
            return c
    return t[0]


def is_individual(op: Operator | None) -> bool:
    """Whether an operator is a natural person whose name is masked publicly.

    Recorded ``individual`` wins; where it is not recorded, a stall or vendor, or a business whose
    unified social credit code has the registration type ``92`` (个体工商户), is taken as one.

    >>> is_individual(Operator(id="x", kind="Stall", name="李四鲜肉摊"))
    True
    >>> is_individual(Operator(id="x", kind="Stall", name="某摊", individual=False))
    False
    >>> is_individual(Operator(id="x", kind="Farm", name="某养殖场", uscc="92320602MA1234567X"))
    True
    """
    if op is None:
        return False
    if op.individual is not None:
        return bool(op.individual)
    return op.kind in _INDIVIDUAL_KINDS or bool(op.uscc and op.uscc.startswith("92"))


def masked_name(op: Operator) -> str:
    """Surname + ``**``: the contact person's surname where recorded, else the name's first character
    (unless the name starts with a place name); ``***`` when neither gives one.

    >>> masked_name(Operator(id="x", kind="Farm", name="王大伯生猪养殖场", contact="王大伯"))
    '王**'
    >>> masked_name(Operator(id="x", kind="Farm", name="欧阳明养殖场"))
    '欧阳**'
    >>> masked_name(Operator(id="x", kind="Farm", name="崇川区五甲谢英蛋鸡养殖场"))
    '***'
    """
    contact = op.contact.strip() if op.contact else ""
    s = _surname(contact) if _CJK.fullmatch(contact) else ""
    if not s:
        s = _surname(op.name, strip_region=True)
    return f"{s}**" if s else "***"


def _individual_label(op: Operator, category: str | None) -> tuple[str, str]:
    kind = op.kind or ""
    cat = op.category or category
    if kind == "Farm" and cat in _PLANT:
        kind = "CropFarm"
    elif kind == "Farm" and cat == "aquatic":
        kind = "AquaFarm"
    return _INDIVIDUAL_LABEL.get(kind, _INDIVIDUAL_DEFAULT)


class _Parties:
    """Public descriptions of operators (masked individuals), with the markets stalls belong to."""

    def __init__(self, ops: dict[str, Operator]):
        self.ops = ops
        self._cache: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        self.individuals = [o for o in ops.values() if is_individual(o)]

    def __call__(self, op_id: str | None, category: str | None = None) -> dict[str, Any]:
        key = (op_id, category)
        if key not in self._cache:
            self._cache[key] = self._describe(op_id, category)
        return self._cache[key]

    def _describe(self, op_id: str | None, category: str | None) -> dict[str, Any]:
        op = self.ops.get(op_id) if op_id else None
        if op is None:
            zh, en = _UNKNOWN_PARTY
            return {"name": None, "name_en": None, "kind": None, "kind_zh": zh, "kind_en": en,
                    "individual": None, "region": None, "within": None}
        parent = self.ops.get(op.parent_id) if op.parent_id else None
        within = None
        if parent is not None and not is_individual(parent):
            within = {"name": parent.name, "name_en": parent.name_en}
        region = _region(op.region_id) or (_region(parent.region_id) if parent is not None else None)
        if is_individual(op):
            zh, en = _individual_label(op, category)
            masked = masked_name(op)
            return {"name": masked, "name_en": masked, "kind": op.kind, "kind_zh": zh, "kind_en": en,
                    "individual": True, "region": region, "within": within}
        zh, en = _label("operator_kind", op.kind or "Operator")
        return {"id": op.id, "name": op.name, "name_en": op.name_en, "kind": op.kind, "kind_zh": zh,
                "kind_en": en, "individual": False, "region": region, "within": within}

    def scrub(self, text: str | None) -> str | None:
        """``text``, or the masked name of the individual it names (a certificate's issuer)."""
        if not text:
            return text
        for op in self.individuals:
            for part in (op.name, op.contact):
                if part and len(part.strip()) >= 2 and part.strip() in text:
                    return masked_name(op)
        return text


@lru_cache(maxsize=1 << 14)
def _instant(t: str | None) -> str:
    """A sortable Beijing-time form of an ISO time (as written if it cannot be parsed)."""
    if not t:
        return ""
    if len(t) >= 25 and t.endswith("+08:00"):
        return t[:19]
    try:
        d = local_naive(t)
    except InvalidRecord:
        return t[:19]
    return d.strftime("%Y-%m-%dT%H:%M:%S") if d is not None else ""


def _path_to(deliveries: Iterable[Delivery], targets: dict[str, str | None]) -> list[Delivery]:
    """Deliveries on a time-respecting path into one of ``targets`` (station -> latest time, None = any)."""
    need: dict[str, str | None] = {s: (_instant(t) if t else None) for s, t in targets.items()}
    kept = []
    for d in sorted(deliveries, key=lambda d: _instant(d.time), reverse=True):
        if d.receiver_id not in need:
            continue
        limit, t = need[d.receiver_id], _instant(d.time)
        if limit is not None and t > limit:
            continue
        kept.append(d)
        if d.sender_id not in need:
            need[d.sender_id] = t
        elif need[d.sender_id] is not None and t > need[d.sender_id]:  # type: ignore[operator]
            need[d.sender_id] = t
    return kept


def is_retail_level(kind: str | None) -> bool:
    """Whether an operator kind sells to consumers (shops, markets, stalls, kitchens and canteens): a
    delivery into one names a buyer, shown publicly only as the scanned shop.

    >>> is_retail_level("SchoolCanteen"), is_retail_level("Stall"), is_retail_level("WholesaleMarket")
    (True, True, False)
    """
    if not kind:
        return False
    try:
        return any(k in _RETAIL for k in vocab.kind_ancestors(kind))
    except KeyError:
        return False


def _point_of_sale(op: Operator | None) -> dict[str, Any]:
    """A retail business that is not on the public chain: its kind only, no name."""
    kind = op.kind if op is not None else None
    zh, en = _label("operator_kind", kind or "Operator")
    return {"name": None, "name_en": None, "kind": kind, "kind_zh": f"其他{zh}", "kind_en": f"another {en.lower()}",
            "individual": None, "region": None, "within": None}


def is_public_sample(s: Sample) -> bool:
    """Rapid tests, and supervisory samples once announced; never risk monitoring.

    >>> is_public_sample(Sample(id="s", plan="monitoring", sampled_id="o", product_name="x", conclusion="conforming"))
    False
    >>> is_public_sample(Sample(id="s", plan="supervisory", sampled_id="o", product_name="x",
    ...                         conclusion="conforming", announced="2026-01-05"))
    True
    """
    if s.plan == "rapid":
        return True
    return s.plan == "supervisory" and bool(s.announced)


def _disposal(s: Sample) -> dict[str, Any]:
    if s.disposal_done:
        return {"status": "done", "due": s.disposal_due, "done": s.disposal_done,
                "zh": f"已完成核查处置（{s.disposal_done}）", "en": f"Verified and dealt with ({s.disposal_done})"}
    if s.disposal_due:
        return {"status": "in_progress", "due": s.disposal_due, "done": None,
                "zh": f"核查处置中（期限 {s.disposal_due}）", "en": f"Being verified and dealt with (due {s.disposal_due})"}
    return {"status": "in_progress", "due": None, "done": None, "zh": "核查处置中",
            "en": "Being verified and dealt with"}


def _certificate(c: Certificate, parties: _Parties, products: dict[str, str | None], main: str) -> dict[str, Any]:
    zh, en = _label("certificate_kind", c.kind)
    return {"kind": c.kind, "kind_zh": zh, "kind_en": en, "number": c.number, "issuer": parties.scrub(c.issuer),
            "issued": c.issued, "valid_until": c.valid_until, "lot_id": c.lot_id,
            "product": products.get(c.lot_id or ""), "upstream": c.lot_id != main}


def public_lot(view: ReadView, lot_id: str, *, code: str | None = None, serial: str | None = None) -> dict[str, Any]:
    """Everything a shopper may see about the lot ``lot_id`` (canonical id or any known alias).

    ``code``: the trace code scanned, if any; where a delivery of the lot carries it, the chain shows
    only the way the lot took to that delivery's receiver (the shop). ``serial`` is echoed.
    Raises :class:`LotNotFound` for an unknown lot.
    """
    lot = find_lot(view, lot_id)
    main = lot.id
    lots: dict[str, Any] = {main: lot}

    # upstream lots through recorded transformations, level by level
    order = [main]
    seen = {main}
    consumed: dict[str, list[str]] = {}  # input lot -> transformations that used it
    trans_io: dict[str, dict[str, list[str]]] = {}
    frontier = [main]
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        fset = set(frontier)
        tids = sorted({it.transformation_id for it in view.transformation_items(lot_ids=frontier)
                       if it.role == "output" and it.lot_id in fset and it.transformation_id not in trans_io})
        if not tids:
            break
        nxt = []
        for it in view.transformation_items(transformation_ids=tids):
            io = trans_io.setdefault(it.transformation_id, {"input": [], "output": []})
            if it.role in io and it.lot_id not in io[it.role]:
                io[it.role].append(it.lot_id)
            if it.role == "input":
                if it.lot_id not in seen and len(seen) < MAX_LOTS:
                    seen.add(it.lot_id)
                    order.append(it.lot_id)
                    nxt.append(it.lot_id)
                if it.lot_id in seen:
                    consumed.setdefault(it.lot_id, []).append(it.transformation_id)
        frontier = nxt

    deliveries = view.deliveries(lot_ids=order)
    transformations: dict[str, Transformation] = (
        view.get_many("transformation", trans_io) if trans_io else {})  # type: ignore[assignment]
    if len(order) > 1:
        lots.update(view.get_many("lot", order[1:]))
    lot_recs: dict[str, Lot] = {i: lots[i] for i in order if i in lots}  # type: ignore[misc]
    lot_recs[main] = lot

    # the chain: the main lot's deliveries (the way to the shop holding the scanned code, if known),
    # the transformations that made it, and the input lots' deliveries into those transformations
    by_lot: dict[str, list[Delivery]] = {}
    for d in deliveries:
        by_lot.setdefault(d.lot_id, []).append(d)
    holder = None
    if code:
        coded = [d for d in by_lot.get(main, ()) if d.trace_code == code]
        if coded:
            holder = max(coded, key=lambda d: _instant(d.time)).receiver_id
    # who the lot went to is a business's customer list: with the scanned shop known, only the way to it
    # is shown; without, the way up to the retail level. Every other delivery of the lot is only counted.
    own = list(by_lot.get(main, ()))
    if holder:
        kept: list[Delivery] = _path_to(own, {holder: None})
    else:
        kinds = {o.id: o.kind for o in view.get_many("operator", {x for d in own for x in (d.sender_id, d.receiver_id)
                                                                   if x}).values()}  # type: ignore[attr-defined]
        kept = [d for d in own if not is_retail_level(kinds.get(d.sender_id))
                and not is_retail_level(kinds.get(d.receiver_id))]
    shown_ids = {d.id for d in kept}
    hidden = [d for d in own if d.id not in shown_ids]
    for lid in order[1:]:
        targets: dict[str, str | None] = {}
        for tid in consumed.get(lid, ()):
            t = transformations.get(tid)
            if t is not None and t.station_id:
                prev = targets.get(t.station_id)
                targets[t.station_id] = t.time if prev is None or _instant(t.time) > _instant(prev) else prev
        if targets:
            kept.extend(_path_to(by_lot.get(lid, ()), targets))

    # certificates and samples of every lot (indexed look-ups), and delivery certificates not among them
    certs: dict[str, Certificate] = {}
    samples: dict[str, Sample] = {}
    receivers: dict[str, set[str]] = {}
    for d in deliveries:
        receivers.setdefault(d.lot_id, set()).add(d.receiver_id)
    for lid in order:
        for c in view.scan("certificate", {"lot_id": lid}):
            certs[c.id] = c  # type: ignore[assignment]
        for s in view.scan("sample", {"lot_id": lid}):
            samples[s.id] = s  # type: ignore[assignment]
        rec = lot_recs.get(lid)
        if lid == main and rec is not None and rec.lot_number:  # announcements name goods on sale: the lot itself
            for s in view.scan("sample", {"batch": rec.lot_number}):
                if s.id in samples or s.lot_id not in (None, "", lid):  # type: ignore[attr-defined]
                    continue
                if (rec.producer_id and rec.producer_id in (s.producer_id, s.brand_owner_id)) or \
                        s.sampled_id in receivers.get(lid, ()):  # type: ignore[attr-defined]
                    samples[s.id] = s  # type: ignore[assignment]
    sample_lot = {sid: (s.lot_id if s.lot_id in lot_recs else next(
        (lid for lid in order if lot_recs.get(lid) is not None and lot_recs[lid].lot_number == s.batch), main))
        for sid, s in samples.items()}
    # the chain keeps its first MAX_STEPS steps in time order (the way from the farm matters most to a
    # shopper; a lot sold on to hundreds of shops lists its first buyers and counts the rest), so only the
    # operators of the steps shown are read
    used_trans = {t for t, io in trans_io.items() if t in transformations}
    order_keys = sorted([(_instant(d.time), d.id, "d") for d in kept] +
                        [(_instant(transformations[t].time), t, "t") for t in used_trans])
    omitted = max(0, len(order_keys) - MAX_STEPS)
    if omitted:
        shown_ids = {k[1] for k in order_keys[:MAX_STEPS]}
        kept = [d for d in kept if d.id in shown_ids]
        used_trans = {t for t in used_trans if t in shown_ids}
    extra_certs = {d.certificate_id for d in kept if d.certificate_id} - certs.keys()
    if extra_certs:
        certs.update(view.get_many("certificate", extra_certs))  # type: ignore[arg-type]
    public = sorted((s for s in samples.values() if is_public_sample(s)),
                    key=lambda s: (s.sampled_at or s.announced or "", s.id), reverse=True)

    # products and operators, one read each (plus the markets stalls belong to)
    products = view.get_many("product", {r.product_id for r in lot_recs.values() if r.product_id})
    op_ids = {r.producer_id for r in lot_recs.values() if r.producer_id}
    for d in kept:
        op_ids.update((d.sender_id, d.receiver_id))
    op_ids.update(t.station_id for t in transformations.values() if t.station_id)
    op_ids.update(c.holder_id for c in certs.values() if c.holder_id)
    op_ids.update(s.sampled_id for s in public[:MAX_SAMPLES] if s.sampled_id)
    for r in products.values():
        if r.producer_id:  # type: ignore[attr-defined]
            op_ids.add(r.producer_id)  # type: ignore[attr-defined]
    op_ids.discard(None)  # type: ignore[arg-type]
    ops: dict[str, Operator] = view.get_many("operator", op_ids) if op_ids else {}  # type: ignore[assignment]
    parents = {o.parent_id for o in ops.values() if o.parent_id} - ops.keys()
    if parents:
        ops.update(view.get_many("operator", parents))  # type: ignore[arg-type]
    parties = _Parties(ops)

    def product_of(lid: str | None) -> Any:
        r = lot_recs.get(lid or "")
        return products.get(r.product_id) if r is not None and r.product_id else None

    def category_of(lid: str | None) -> str | None:
        p = product_of(lid)
        return p.category if p is not None else None

    names = {lid: (product_of(lid).name if product_of(lid) is not None else None) for lid in lot_recs}

    # the buyers not shown, counted by kind (no name, no id)
    hidden_ops = view.get_many("operator", {d.receiver_id for d in hidden if d.receiver_id} - ops.keys()) \
        if hidden else {}
    by_kind: dict[str, set[str]] = {}
    for d in hidden:
        o = ops.get(d.receiver_id) or hidden_ops.get(d.receiver_id)
        by_kind.setdefault(getattr(o, "kind", None) or "Operator", set()).add(d.receiver_id)
    sold_on = {"deliveries": len(hidden), "buyers": len({d.receiver_id for d in hidden}),
               "by_kind": [{"kind": k, "kind_zh": _label("operator_kind", k)[0], "kind_en": _label("operator_kind", k)[1],
                            "count": len(v)} for k, v in sorted(by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0]))]}
    named = {x for d in kept for x in (d.sender_id, d.receiver_id)} | {t.station_id for t in transformations.values()}
    named |= {r.producer_id for r in lot_recs.values() if r.producer_id}
    if holder:
        named.add(holder)

    # product and lot
    prod = product_of(main)
    product = None
    if prod is not None:
        czh, cen = _label("category", prod.category)
        product = {"id": prod.id, "name": prod.name, "name_en": prod.name_en, "gtin": prod.gtin,
                   "category": ({"code": prod.category, "zh": czh, "en": cen} if prod.category else None),
                   "brand": prod.brand, "spec": prod.spec}
    lot_out = {"id": main, "lot_number": lot.lot_number, "production_date": lot.production_date,
               "expiry_date": lot.expiry_date}

    # origin: the nearest recorded region (the lot's, then its inputs', then its producer's)
    region = None
    for lid in order:
        r = lot_recs.get(lid)
        if r is not None and _region(r.origin_id):
            region = _region(r.origin_id)
            break
    producer_id = lot.producer_id or (prod.producer_id if prod is not None else None)
    if region is None and producer_id and producer_id in ops:
        region = _region(ops[producer_id].region_id)
    inputs_of: set[str] = {lid for io in trans_io.values() for lid in io["input"]}
    made: set[str] = {lid for io in trans_io.values() for lid in io["output"]}
    sources = []
    for lid in order[1:]:
        r = lot_recs.get(lid)
        if lid in inputs_of and lid not in made and r is not None and r.producer_id and r.producer_id != producer_id:
            p = parties(r.producer_id, category_of(lid))
            if p not in sources:
                sources.append(p)
    origin = {"region": region, "producer": parties(producer_id, category_of(main)) if producer_id else None,
              "sources": sources}

    # the chain in time order
    steps: list[tuple[str, str, dict[str, Any]]] = []
    for d in kept:
        sender = ops.get(d.sender_id)
        kind = sender.kind if sender is not None else None
        cat = category_of(d.lot_id)
        if kind in _FARM_KINDS:
            if kind == "CropFarm" or cat in _PLANT:
                step = ("harvest", "采收", "Harvest")
            elif kind == "AquaFarm" or cat == "aquatic":
                step = ("harvest", "捕捞出塘", "Harvest")
            else:
                step = ("farm_dispatch", "出栏", "Leaves the farm")
        else:
            step = _SENDER_STEP.get(kind or "", _TRANSFER)
        steps.append((_instant(d.time), d.id, {
            "type": "delivery", "step": step[0], "label_zh": step[1], "label_en": step[2], "time": d.time,
            "date": day_of(d.time) or "", "lot_id": d.lot_id, "product": names.get(d.lot_id),
            "upstream": d.lot_id != main, "from": parties(d.sender_id, cat), "to": parties(d.receiver_id, cat),
            "certificate": bool(d.certificate_id), "ticket": bool(d.ticket_id)}))
    for tid in sorted(used_trans):
        t = transformations[tid]
        zh, en = _label("transformation_kind", t.kind)
        io = trans_io[tid]
        steps.append((_instant(t.time), tid, {
            "type": "transformation", "step": t.kind, "label_zh": zh, "label_en": en, "time": t.time,
            "date": day_of(t.time) or "", "at": parties(t.station_id, category_of(io["output"][0] if io["output"]
                                                                             else None)),
            "inputs": [names.get(i) for i in io["input"] if i in lot_recs],
            "outputs": [names.get(o) for o in io["output"] if o in lot_recs]}))
    steps.sort(key=lambda s: (s[0], s[1]))
    chain = [s[2] for s in steps]

    # certificates: the lot's first, then upstream ones
    cert_list = sorted(certs.values(), key=lambda c: (c.lot_id != main, c.issued or "", c.id))
    certificates = [_certificate(c, parties, names, main) for c in cert_list]

    # the latest public results, and notices for nonconforming undisputed ones
    shown = public[:MAX_SAMPLES]
    results = {s.id: list(view.scan("test_result", {"sample_id": s.id})) for s in shown}
    for s in public[MAX_SAMPLES:]:
        if s.conclusion == "nonconforming" and not s.disputed:
            results[s.id] = list(view.scan("test_result", {"sample_id": s.id}))

    def items_of(sid: str) -> list[dict[str, Any]]:
        out = []
        for r in sorted(results.get(sid, ()), key=lambda r: r.id):
            hzh, hen = _label("hazard_class", r.hazard_class)  # type: ignore[attr-defined]
            kzh, ken = _label("conclusion", r.conclusion)  # type: ignore[attr-defined]
            out.append({"item": r.item, "hazard_class": r.hazard_class, "hazard_zh": hzh, "hazard_en": hen,  # type: ignore[attr-defined]
                        "value": r.value, "value_text": r.value_text, "unit": r.unit, "limit": r.limit,  # type: ignore[attr-defined]
                        "limit_text": r.limit_text, "conclusion": r.conclusion,  # type: ignore[attr-defined]
                        "conclusion_zh": kzh, "conclusion_en": ken})
        return out

    sample_out = []
    for s in shown:
        pzh, pen = _label("sample_plan", s.plan)
        kzh, ken = _label("conclusion", s.conclusion)
        lid = sample_lot[s.id]
        sample_out.append({
            "plan": s.plan, "plan_zh": pzh, "plan_en": pen, "product": s.product_name, "lot_id": lid,
            "upstream": lid != main, "sampled_at": s.sampled_at,
            "sampled_from": (parties(s.sampled_id, s.category) if s.sampled_id in named
                             or not is_retail_level(getattr(ops.get(s.sampled_id or ""), "kind", None))
                             else _point_of_sale(ops.get(s.sampled_id or ""))),
            "conclusion": s.conclusion, "conclusion_zh": kzh, "conclusion_en": ken,
            "announcement": s.announcement if s.plan == "supervisory" else None,
            "announced": s.announced if s.plan == "supervisory" else None, "lab": s.lab,
            "disputed": bool(s.disputed), "items": items_of(s.id)})
    notices = []
    for s in public:
        if s.conclusion != "nonconforming" or s.disputed:
            continue
        pzh, pen = _label("sample_plan", s.plan)
        lid = sample_lot[s.id]
        bad = [i["item"] for i in items_of(s.id) if i["conclusion"] == "nonconforming"]
        notices.append({
            "kind": "nonconformity", "title_zh": "不合格通报", "title_en": "Nonconformity notice",
            "plan": s.plan, "plan_zh": pzh, "plan_en": pen, "lot_id": lid, "product": names.get(lid) or s.product_name,
            "upstream": lid != main, "sampled_at": s.sampled_at,
            "announcement": s.announcement if s.plan == "supervisory" else None,
            "announced": s.announced if s.plan == "supervisory" else None, "items": bad, "disposal": _disposal(s)})

    return {"id": main, "code": code, "serial": serial, "product": product, "lot": lot_out, "origin": origin,
            "certificates": certificates, "chain": chain, "chain_omitted": omitted, "sold_on": sold_on,
            "samples": sample_out, "notices": notices}


def find_lot(view: ReadView, lot_id: str) -> Lot:
    """The lot with this canonical id or alias (one read; a second only for an alias); LotNotFound otherwise."""
    lot = view.get_many("lot", [lot_id]).get(lot_id) if lot_id else None
    if lot is None and lot_id:
        canonical = view.resolve_many([lot_id]).get(lot_id)
        if canonical and canonical != lot_id:
            lot = view.get_many("lot", [canonical]).get(canonical)
    if lot is None:
        raise LotNotFound(f"no lot has the identifier {lot_id!r}")
    return lot  # type: ignore[return-value]


def public_code(view: ReadView, code: str) -> dict[str, Any]:
    """:func:`public_lot` of the lot a local trace code (or any known alias of a lot) names.

    Raises :class:`NotFound` for an unknown code.
    """
    text = (code or "").strip()
    try:
        return public_lot(view, code_lot(view, text), code=text)
    except LotNotFound:
        raise NotFound(f"trace code {text!r} names a lot that is not recorded") from None


def code_lot(view: ReadView, code: str) -> str:
    """The lot id a trace code (a TraceCode's code, or any alias of a lot or trace code) names; NotFound otherwise."""
    text = (code or "").strip()
    if not text or len(text) > MAX_CODE:
        raise NotFound(f"no trace code {text[:MAX_CODE]!r} is known")
    lot_id = None
    for tc in view.scan("trace_code", {"code": text}):
        lot_id = tc.lot_id  # type: ignore[attr-defined]
        break
    if lot_id is None:
        canonical = view.resolve_many([text]).get(text)
        if canonical:
            if view.get_many("lot", [canonical]):
                lot_id = canonical
            else:
                tc = view.get_many("trace_code", [canonical]).get(canonical)
                lot_id = tc.lot_id if tc is not None else None  # type: ignore[attr-defined]
    if not lot_id:
        raise NotFound(f"no trace code {text!r} is known")
    return lot_id


def dependent_lots(view: ReadView, lot_ids: Iterable[str], *, limit: int | None = None) -> set[str] | None:
    """The lots whose public view may show something of these lots: the lots themselves and the lots
    made from them through recorded transformations, :data:`MAX_DEPTH` levels down (the depth a
    lookup reads upstream). None when more than ``limit`` lots are found (the caller then treats
    every lot as changed).

    >>> import tempfile, os
    >>> from graph.store import open_store
    >>> from ontology.records import Transformation, TransformationItem
    >>> s = open_store(os.path.join(tempfile.mkdtemp(), "d.db"))
    >>> _ = s.write([Transformation(id="t", station_id="x", time="2026-03-01T06:00:00+08:00", kind="cutting"),
    ...     TransformationItem(id="i", transformation_id="t", lot_id="pig", role="input"),
    ...     TransformationItem(id="o", transformation_id="t", lot_id="pork", role="output")])
    >>> sorted(dependent_lots(ReadView(s), ["pig"])), sorted(dependent_lots(ReadView(s), ["pork"]))
    (['pig', 'pork'], ['pork'])
    >>> s.close()
    """
    out = set(lot_ids)
    frontier = set(out)
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        tids = {it.transformation_id for it in view.transformation_items(lot_ids=frontier)
                if it.role == "input" and it.lot_id in frontier}
        if not tids:
            break
        made = {it.lot_id for it in view.transformation_items(transformation_ids=tids) if it.role == "output"}
        frontier = made - out
        out |= frontier
        if limit is not None and len(out) > limit:
            return None
    return out
