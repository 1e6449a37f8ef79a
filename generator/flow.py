"""How lots flow through the synthetic network, in time.

A *node* is a quantity of one lot held at one station from a time on. Origin
lots appear at farms, producers and workshops; every node is either
transformed at its station (slaughter, cutting, processing, repacking,
mixing, or shipping under an own lot without a record) or shipped in one or
more deliveries after a holding time typical of its product (leafy
vegetables hours to a day per station, chilled meat up to two days, frozen
goods weeks to months in cold stores); a delivery makes a node at its
receiver. Children are always later than their parents, so every delivery
respects time. The whole flow is vectorised over the frontier of nodes.

:func:`run` aims at exactly ``scale`` deliveries: it estimates deliveries per
origin lot with a pilot, generates with a margin and trims leaf deliveries
(whose goods went nowhere recorded) down to ``scale``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .network import CLASSES, KINDS, Network

__all__ = ["Flow", "run", "TRANSFORM_KINDS", "LOT_ORIGINS"]

K = {k: i for i, k in enumerate(KINDS)}
C = {c: i for i, c in enumerate(CLASSES)}
#: transformation kinds by code; ``nolink`` is a station shipping under its own lot without any record
TRANSFORM_KINDS = ("slaughter", "cutting", "processing", "repacking", "mixing", "nolink")
T = {k: i for i, k in enumerate(TRANSFORM_KINDS)}
#: how a lot came to be, by code
LOT_ORIGINS = ("origin", "slaughter", "cutting", "processing", "repacking", "mixing", "nolink")
O = {k: i for i, k in enumerate(LOT_ORIGINS)}

# shipping per station kind: deliveries per node (lo, hi), share of the node shipped (lo, hi)
_SHIP = {"Farm": (1, 1, 1.0, 1.0), "CropFarm": (1, 3, .9, 1.0), "AquaFarm": (1, 3, .9, 1.0),
         "Slaughterhouse": (1, 4, .95, 1.0), "Producer": (3, 10, .85, 1.0), "Workshop": (2, 5, .6, .9),
         "WholesaleMarket": (2, 5, .85, 1.0), "ColdStore": (1, 4, .9, 1.0), "Distributor": (1, 3, .9, 1.0),
         "Stall": (1, 2, .2, .5)}
_STALL_SHIP_P = 0.12
# holding time in days by hold class: live, leafy, chilled, frozen, ambient; frozen at cold stores apart
_HOLD = np.array([[0.02, 0.5], [0.05, 1.0], [0.1, 2.0], [1.0, 20.0], [0.5, 30.0]])
_HOLD_COLD = (5.0, 150.0)
_HOLD_CLASS = {"live": 0, "chilled": 2, "frozen": 3, "ambient": 4}
# origin lots by maker kind: share of origin lots, quantity range
_ORIGIN = (("Farm/pig", .09, 10, 60), ("Farm/poultry", .05, 300, 3000), ("Farm/layer", .04, 200, 1500),
           ("CropFarm", .34, 200, 3000), ("AquaFarm", .12, 100, 1500), ("Producer", .25, 500, 20000),
           ("Workshop", .11, 20, 300))
_HANDLING = 0.3  # share of a station's latent risk that it adds to what it holds


class _Grow:
    """Append-only columns kept as lists of numpy chunks."""

    def __init__(self, **dtypes: type) -> None:
        self.dtypes = dtypes
        self.chunks: dict[str, list[np.ndarray]] = {k: [] for k in dtypes}
        self.n = 0

    def add(self, **cols: np.ndarray) -> np.ndarray:
        m = len(next(iter(cols.values())))
        for k, dt in self.dtypes.items():
            self.chunks[k].append(np.asarray(cols[k], dtype=dt))
        idx = np.arange(self.n, self.n + m)
        self.n += m
        return idx

    def col(self, k: str) -> np.ndarray:
        ch = self.chunks[k]
        if len(ch) > 1:
            self.chunks[k] = [np.concatenate(ch)]
        return self.chunks[k][0] if ch else np.zeros(0, dtype=self.dtypes[k])


@dataclass
class Flow:
    """Nodes, lots, deliveries and transformations of a generated flow (all numpy arrays).

    Times are days since the start of the window (float).
    """

    days: float
    node_station: np.ndarray
    node_lot: np.ndarray
    node_qty: np.ndarray
    node_t: np.ndarray
    node_risk: np.ndarray
    node_delivery: np.ndarray     # delivery that made the node, -1 otherwise
    lot_product: np.ndarray
    lot_producer: np.ndarray
    lot_t: np.ndarray
    lot_qty: np.ndarray
    lot_origin: np.ndarray        # index into LOT_ORIGINS
    lot_node: np.ndarray          # node where the lot was created
    d_from: np.ndarray
    d_to: np.ndarray
    d_lot: np.ndarray
    d_sender: np.ndarray
    d_receiver: np.ndarray
    d_ship: np.ndarray
    d_recv: np.ndarray
    d_qty: np.ndarray
    tr_station: np.ndarray
    tr_time: np.ndarray
    tr_kind: np.ndarray
    ti_tr: np.ndarray
    ti_node: np.ndarray
    ti_role: np.ndarray           # 0 input, 1 output
    ti_qty: np.ndarray
    lot_number: list[str] = field(default_factory=list)

    @property
    def n_deliveries(self) -> int:
        return len(self.d_lot)


class _Sim:
    def __init__(self, net: Network, rng: np.random.Generator, days: float, holding_scale: float = 1.0) -> None:
        self.net, self.rng, self.days = net, rng, days
        self.holding_scale = holding_scale
        cat = net.catalogue
        self.cls_of_key = np.array([C["frozen"] if p["storage"] == "frozen" else C[p["group"]] for p in cat])
        self.hold_of_key = np.array([1 if p["category"] == "leafy_vegetable" else _HOLD_CLASS[p["storage"]]
                                     for p in cat])
        self.h87_key = np.array([p["unit"] == "H87" for p in cat])
        self.kg_unit = np.array([p.get("kg_per_unit", 1.0) for p in cat])
        self.ki = net.key_index
        self.nodes = _Grow(station=np.int32, lot=np.int32, qty=np.float64, t=np.float64, risk=np.float64,
                           delivery=np.int64)
        self.lots = _Grow(product=np.int32, producer=np.int32, t=np.float64, qty=np.float64, origin=np.int8,
                          node=np.int64)
        self.dl = _Grow(frm=np.int64, to=np.int64, lot=np.int32, sender=np.int32, receiver=np.int32,
                        ship=np.float64, recv=np.float64, qty=np.float64)
        self.tr = _Grow(station=np.int32, time=np.float64, kind=np.int8)
        self.ti = _Grow(tr=np.int64, node=np.int64, role=np.int8, qty=np.float64)
        k = net.kind
        self.ship_lo = np.zeros(len(KINDS), dtype=np.int64)
        self.ship_hi = np.zeros(len(KINDS), dtype=np.int64)
        self.frac_lo = np.zeros(len(KINDS))
        self.frac_hi = np.zeros(len(KINDS))
        for name, (lo, hi, flo, fhi) in _SHIP.items():
            self.ship_lo[K[name]], self.ship_hi[K[name]] = lo, hi
            self.frac_lo[K[name]], self.frac_hi[K[name]] = flo, fhi
        self.kind = k
        # the node columns as arrays, refreshed per step
        self._cache: dict[str, np.ndarray] = {}

    # -- helpers -------------------------------------------------------------------------------

    def _new_lots(self, product: np.ndarray, producer: np.ndarray, t: np.ndarray, qty: np.ndarray, origin: int,
                  risk: np.ndarray) -> np.ndarray:
        """New lots with their creation nodes at the producer; returns the node ids."""
        m = len(product)
        lot_ids = np.arange(self.lots.n, self.lots.n + m)
        node_ids = self.nodes.add(station=producer, lot=lot_ids, qty=qty, t=t, risk=risk,
                                  delivery=np.full(m, -1))
        self.lots.add(product=product, producer=producer, t=t, qty=qty, origin=np.full(m, origin), node=node_ids)
        return node_ids

    def _trans(self, station: np.ndarray, t: np.ndarray, kind: int, in_nodes: list[np.ndarray],
               in_qty: list[np.ndarray], out_tr: np.ndarray, out_nodes: np.ndarray, out_qty: np.ndarray) -> np.ndarray:
        """Record transformations (one per row of station/t); items given with their transformation row."""
        tids = self.tr.add(station=station, time=t, kind=np.full(len(station), kind))
        for nodes, q in zip(in_nodes, in_qty):
            self.ti.add(tr=tids, node=nodes, role=np.zeros(len(nodes)), qty=q)
        self.ti.add(tr=tids[out_tr], node=out_nodes, role=np.ones(len(out_nodes)), qty=out_qty)
        return tids

    def _col(self, name: str) -> np.ndarray:
        return self.nodes.col(name)

    # -- origins -------------------------------------------------------------------------------

    def origins(self, n_origin: int) -> np.ndarray:
        net, rng = self.net, self.rng
        kind = net.kind
        line = np.array(net.line)
        out = []
        for spec, share, qlo, qhi in _ORIGIN:
            kname, _, ln = spec.partition("/")
            mask = kind == K[kname]
            if ln:
                mask &= line == ln
            ops = np.flatnonzero(mask)
            m = int(round(n_origin * share))
            if m == 0 or len(ops) == 0:
                continue
            wt = np.array([{"large": 4.0, "medium": 2.0, "small": 1.0, "micro": .5}[net.scale[i]] for i in ops])
            op = ops[rng.choice(len(ops), size=m, p=wt / wt.sum())]
            prods = net.prod_of[op]                              # (m, keys)
            have = prods >= 0
            # pick one of each operator's own products (processing lines make theirs from inputs too)
            r = rng.random(prods.shape) * have
            prod = prods[np.arange(m), np.argmax(r, axis=1)]
            keys = net.prod_key[prod]
            qty = rng.uniform(qlo, qhi, m)
            qty = np.where(self.h87_key[keys], np.floor(qty), np.floor(qty * 10) / 10)
            t = np.floor(rng.uniform(0, self.days, m)) + rng.uniform(0.2, 0.45, m)
            out.append(self._new_lots(prod, op, t, qty, O["origin"], net.latent[op]))
        return np.concatenate(out)

    # -- one step: transform what must be transformed, then ship ------------------------------

    def step(self, frontier: np.ndarray, p_nolink_ship: float = 1.0) -> np.ndarray:
        net, rng = self.net, self.rng
        st = self._col("station")[frontier]
        kd = self.kind[st]
        lot = self._col("lot")[frontier]
        key = net.prod_key[self.lots.col("product")[lot]]
        cls = self.cls_of_key[key]
        # terminal stations keep what they receive
        ships = np.isin(kd, [K[k] for k in _SHIP]) | (kd == K["Slaughterhouse"])
        stall = kd == K["Stall"]
        ships &= ~stall | (rng.random(len(frontier)) < _STALL_SHIP_P)
        frontier, st, kd, lot, key, cls = (a[ships] for a in (frontier, st, kd, lot, key, cls))
        to_ship = [frontier]
        keep = np.ones(len(frontier), dtype=bool)

        # slaughter of live pigs and poultry
        live = (kd == K["Slaughterhouse"]) & np.isin(cls, [C["live_pig"], C["live_poultry"]])
        keep &= ~live
        if live.any():
            to_ship.append(self._slaughter(frontier[live], st[live], key[live]))
        # processing of meat at meat producers
        proc = (kd == K["Producer"]) & np.isin(cls, [C["pork"], C["poultry"], C["frozen"]]) & \
            (self._col("delivery")[frontier] >= 0)
        keep &= ~proc
        if proc.any():
            to_ship.append(self._process(frontier[proc], st[proc]))
        fresh = np.isin(cls, [C["pork"], C["poultry"], C["veg"], C["aquatic"]])
        nol = (np.isin(kd, [K["Stall"], K["Distributor"]]) & net.nolink[st] & fresh)
        keep &= ~nol
        if nol.any():
            to_ship.append(self._nolink(frontier[nol], st[nol], cls[nol]))
        rep = (kd == K["Distributor"]) & net.repack[st] & np.isin(cls, [C["pork"], C["veg"]])
        keep &= ~rep
        if rep.any():
            to_ship.append(self._repack(frontier[rep], st[rep], cls[rep]))
        mix = (kd == K["Distributor"]) & net.mix[st] & (cls == C["veg"])
        keep &= ~mix
        if mix.any():
            to_ship.append(self._mix(frontier[mix], st[mix]))
        to_ship[0] = frontier[keep]
        return self._ship(np.concatenate(to_ship))

    def _slaughter(self, nodes: np.ndarray, st: np.ndarray, key: np.ndarray) -> np.ndarray:
        net, rng, ki = self.net, self.rng, self.ki
        heads = self._col("qty")[nodes]
        t0 = self._col("t")[nodes]
        risk = self._col("risk")[nodes]
        out = []
        pig = key == ki["live_pig"]
        # pigs: carcass lot, then for most a cutting into 2-4 cut lots
        if pig.any():
            n, s, h = nodes[pig], st[pig], heads[pig]
            ts = t0[pig] + rng.uniform(0.1, 0.6, len(n))
            ok = ts <= self.days
            n, s, h, ts, rk = n[ok], s[ok], h[ok], ts[ok], risk[pig][ok]
            kg = h * rng.uniform(85, 95, len(n))
            inflate = np.where(net.illegal[s] & (rng.random(len(n)) < 0.5), rng.uniform(1.2, 1.5, len(n)), 1.0)
            kg = np.floor(kg * inflate * 10) / 10
            prod = net.prod_of[s, ki["pork_carcass"]]
            rk2 = 1 - (1 - rk) * (1 - _HANDLING * net.latent[s])
            carc = self._new_lots(prod, s, ts, kg, O["slaughter"], rk2)
            self._trans(s, ts, T["slaughter"], [n], [h], np.arange(len(n)), carc, kg)
            cut = rng.random(len(n)) < 0.6
            tc = ts + rng.uniform(0.1, 0.4, len(n))
            cut &= tc <= self.days
            out.append(carc[~cut])
            if cut.any():
                c_n, c_s, c_kg, c_t, c_r = carc[cut], s[cut], kg[cut], tc[cut], rk2[cut]
                k = rng.integers(2, 5, len(c_n))
                rep = np.repeat(np.arange(len(c_n)), k)
                j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
                cuts = np.array([ki[x] for x in ("pork_foreleg", "pork_hindleg", "pork_belly", "pork_ribs",
                                                 "pork_frozen")])
                start = rng.integers(0, 5, len(c_n))
                ck = cuts[(start[rep] + j) % 5]
                w = rng.gamma(2.0, size=len(rep))
                ws = np.bincount(rep, w)
                q = np.floor(c_kg[rep] * 0.95 * w / ws[rep] * 10) / 10
                good = q > 0
                prod = net.prod_of[c_s[rep], ck]
                outs = self._new_lots(prod[good], c_s[rep][good], c_t[rep][good], q[good], O["cutting"],
                                      c_r[rep][good])
                self._trans(c_s, c_t, T["cutting"], [c_n], [c_kg], rep[good], outs, q[good])
                out.append(outs)
        if (~pig).any():
            n, s, h = nodes[~pig], st[~pig], heads[~pig]
            ts = t0[~pig] + rng.uniform(0.05, 0.4, len(n))
            ok = ts <= self.days
            n, s, h, ts, rk, kk = n[ok], s[ok], h[ok], ts[ok], risk[~pig][ok], key[~pig][ok]
            kg = np.floor(h * rng.uniform(1.0, 1.3, len(n)) * 10) / 10
            duck = kk == ki["live_duck"]
            k = np.where(duck, 1, rng.integers(1, 4, len(n)))
            rep = np.repeat(np.arange(len(n)), k)
            j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
            chick = np.array([ki[x] for x in ("chicken_whole", "chicken_leg", "chicken_breast", "chicken_wing_frozen")])
            start = rng.integers(0, 4, len(n))
            ck = np.where(duck[rep], ki["duck_whole"], chick[(start[rep] + j) % 4])
            w = rng.gamma(2.0, size=len(rep))
            ws = np.bincount(rep, w)
            q = np.floor(kg[rep] * w / ws[rep] * 10) / 10
            good = q > 0
            rk2 = 1 - (1 - rk) * (1 - _HANDLING * net.latent[s])
            prod = net.prod_of[s[rep], ck]
            outs = self._new_lots(prod[good], s[rep][good], ts[rep][good], q[good], O["slaughter"], rk2[rep][good])
            self._trans(s, ts, T["slaughter"], [n], [h], rep[good], outs, q[good])
            out.append(outs)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def _one_to_one(self, nodes: np.ndarray, st: np.ndarray, prod: np.ndarray, qty: np.ndarray, dt: np.ndarray,
                    origin: int, tkind: int) -> np.ndarray:
        t = self._col("t")[nodes] + dt
        ok = t <= self.days
        nodes, st, prod, qty, t = nodes[ok], st[ok], prod[ok], qty[ok], t[ok]
        rk = 1 - (1 - self._col("risk")[nodes]) * (1 - _HANDLING * self.net.latent[st])
        outs = self._new_lots(prod, st, t, qty, origin, rk)
        self._trans(st, t, tkind, [nodes], [self._col("qty")[nodes]], np.arange(len(nodes)), outs, qty)
        return outs

    def _process(self, nodes: np.ndarray, st: np.ndarray) -> np.ndarray:
        net, rng = self.net, self.rng
        prods = net.prod_of[st]
        r = rng.random(prods.shape) * (prods >= 0)
        prod = prods[np.arange(len(st)), np.argmax(r, axis=1)]
        key = net.prod_key[prod]
        kg = self._col("qty")[nodes]
        units = np.floor(kg * rng.uniform(1.1, 1.4, len(st)) / self.kg_unit[key])
        ok = units > 0
        return self._one_to_one(nodes[ok], st[ok], prod[ok], units[ok], rng.uniform(0.3, 2.0, ok.sum()),
                                O["processing"], T["processing"])

    def _nolink(self, nodes: np.ndarray, st: np.ndarray, cls: np.ndarray) -> np.ndarray:
        g = self.net.generic
        prod = np.select([cls == C["pork"], cls == C["poultry"], cls == C["veg"]],
                         [g["generic_pork"], g["generic_poultry"], g["generic_veg"]], g["generic_aquatic"])
        return self._one_to_one(nodes, st, prod, self._col("qty")[nodes], np.full(len(nodes), 0.01),
                                O["nolink"], T["nolink"])

    def _repack(self, nodes: np.ndarray, st: np.ndarray, cls: np.ndarray) -> np.ndarray:
        g = self.net.generic
        prod = np.where(cls == C["pork"], g["pork_repack"], g["veg_mix"])
        q = np.floor(self._col("qty")[nodes] * self.rng.uniform(0.97, 1.0, len(nodes)) * 10) / 10
        return self._one_to_one(nodes, st, prod, q, self.rng.uniform(0.02, 0.3, len(nodes)),
                                O["repacking"], T["repacking"])

    def _mix(self, nodes: np.ndarray, st: np.ndarray) -> np.ndarray:
        """Vegetables received by a mixing distributor on one day become one mixed lot."""
        t = self._col("t")[nodes]
        day = np.floor(t).astype(np.int64)
        gkey = st.astype(np.int64) * 10_000 + day
        uk, grp = np.unique(gkey, return_inverse=True)
        tmax = np.zeros(len(uk))
        np.maximum.at(tmax, grp, t)
        tout = tmax + 0.05
        qin = self._col("qty")[nodes]
        qout = np.floor(np.bincount(grp, qin) * 0.98 * 10) / 10
        rmax = np.zeros(len(uk))
        np.maximum.at(rmax, grp, self._col("risk")[nodes])
        gst = (uk // 10_000).astype(np.int32)
        ok = (tout <= self.days) & (qout > 0)
        rk = 1 - (1 - rmax) * (1 - _HANDLING * self.net.latent[gst])
        sel = np.flatnonzero(ok)
        prod = np.full(len(sel), self.net.generic["veg_mix"])
        outs = self._new_lots(prod, gst[sel], tout[sel], qout[sel], O["mixing"], rk[sel])
        remap = np.full(len(uk), -1)
        remap[sel] = np.arange(len(sel))
        inm = remap[grp] >= 0
        tids = self.tr.add(station=gst[sel], time=tout[sel], kind=np.full(len(sel), T["mixing"]))
        self.ti.add(tr=tids[remap[grp][inm]], node=nodes[inm], role=np.zeros(inm.sum()), qty=qin[inm])
        self.ti.add(tr=tids, node=outs, role=np.ones(len(outs)), qty=qout[sel])
        return outs

    def _ship(self, nodes: np.ndarray) -> np.ndarray:
        net, rng = self.net, self.rng
        if len(nodes) == 0:
            return nodes
        st = self._col("station")[nodes]
        kd = self.kind[st]
        lot = self._col("lot")[nodes]
        key = net.prod_key[self.lots.col("product")[lot]]
        cls = self.cls_of_key[key]
        ck = st.astype(np.int64) * len(CLASSES) + cls
        cnt = net.cust_cnt[ck]
        k = rng.integers(self.ship_lo[kd], self.ship_hi[kd] + 1)
        k[cnt == 0] = 0
        frac = rng.uniform(self.frac_lo[kd], self.frac_hi[kd])
        received = self._col("delivery")[nodes] >= 0
        frac = np.where(net.violator[st] & received, rng.uniform(1.2, 1.6, len(nodes)), frac)
        rep = np.repeat(np.arange(len(nodes)), k)
        w = rng.gamma(1.5, size=len(rep))
        ws = np.bincount(rep, w, minlength=len(nodes))
        qty = self._col("qty")[nodes]
        q = qty[rep] * frac[rep] * w / ws[rep]
        h87 = self.h87_key[key[rep]]
        q = np.where(h87, np.floor(q), np.floor(q * 10) / 10)
        hc = self.hold_of_key[key[rep]]
        lo, hi = _HOLD[hc, 0], _HOLD[hc, 1]
        cold = (kd[rep] == K["ColdStore"]) & (hc == 3)
        lo = np.where(cold, _HOLD_COLD[0], lo)
        hi = np.where(cold, _HOLD_COLD[1], hi)
        hold = lo + (hi - lo) * rng.random(len(rep)) ** 2
        if self.holding_scale != 1.0:
            hold = hold * self.holding_scale
        t_ship = self._col("t")[nodes][rep] + hold
        recv = net.cust_flat[net.cust_offs[ck[rep]] + (rng.random(len(rep)) * cnt[rep]).astype(np.int64)]
        ok = (q > 0) & (t_ship <= self.days)
        rep, q, t_ship, recv = rep[ok], q[ok], t_ship[ok], recv[ok]
        t_recv = t_ship + rng.uniform(0.02, 0.25, len(rep))
        src = nodes[rep]
        d_ids = np.arange(self.dl.n, self.dl.n + len(rep))
        risk = 1 - (1 - self._col("risk")[src]) * (1 - _HANDLING * net.latent[recv])
        new = self.nodes.add(station=recv, lot=lot[rep], qty=q, t=t_recv, risk=risk, delivery=d_ids)
        self.dl.add(frm=src, to=new, lot=lot[rep], sender=st[rep], receiver=recv, ship=t_ship, recv=t_recv, qty=q)
        return new[t_recv <= self.days]

    def run(self, n_origin: int) -> None:
        frontier = self.origins(n_origin)
        while len(frontier):
            frontier = self.step(frontier)


def _simulate(net: Network, rng: np.random.Generator, days: float, n_origin: int, holding_scale: float = 1.0) -> _Sim:
    sim = _Sim(net, rng, days, holding_scale)
    sim.run(n_origin)
    return sim


def run(net: Network, rng: np.random.Generator, scale: int, *, days: float, rates: dict[str, float],
        holding_scale: float = 1.0) -> Flow:
    """Generate the flow of lots with exactly ``scale`` deliveries (holding times times ``holding_scale``)."""
    pilot_rng, main_rng, trim_rng = (np.random.default_rng(s) for s in rng.bit_generator.seed_seq.spawn(3))
    pilot = _simulate(net, pilot_rng, days, 2000, holding_scale)
    per_origin = max(pilot.dl.n, 1) / 2000
    factor = 1.06
    for _ in range(6):
        sim = _simulate(net, np.random.default_rng(main_rng.integers(2**63)), days,
                        int(np.ceil(scale / per_origin * factor)) + 10, holding_scale)
        if sim.dl.n >= scale:
            break
        factor *= 1.1 * scale / max(sim.dl.n, 1)
    return _finish(sim, trim_rng, scale)


def _finish(sim: _Sim, rng: np.random.Generator, scale: int) -> Flow:
    """Trim leaf deliveries down to ``scale``, compact and sort deliveries by time."""
    nodes, lots, dl, tr, ti = sim.nodes, sim.lots, sim.dl, sim.tr, sim.ti
    d_from, d_to = dl.col("frm"), dl.col("to")
    n_nodes = nodes.n
    d_keep = np.ones(dl.n, dtype=bool)
    while d_keep.sum() > scale:
        has_out = np.zeros(n_nodes, dtype=bool)
        has_out[d_from[d_keep]] = True
        has_out[ti.col("node")[ti.col("role") == 0]] = True
        leaves = np.flatnonzero(d_keep & ~has_out[d_to])
        excess = int(d_keep.sum() - scale)
        drop = rng.choice(leaves, size=min(excess, len(leaves)), replace=False)
        d_keep[drop] = False
    node_keep = np.ones(n_nodes, dtype=bool)
    node_keep[d_to[~d_keep]] = False
    # compact nodes
    nmap = np.cumsum(node_keep) - 1
    # deliveries sorted by ship time
    di = np.flatnonzero(d_keep)
    di = di[np.argsort(dl.col("ship")[di], kind="stable")]
    dmap = np.full(dl.n, -1, dtype=np.int64)
    dmap[di] = np.arange(len(di))
    nd = nodes.col("delivery")[node_keep]
    nd = np.where(nd >= 0, dmap[np.maximum(nd, 0)], -1)
    return Flow(
        days=sim.days,
        node_station=nodes.col("station")[node_keep], node_lot=nodes.col("lot")[node_keep],
        node_qty=nodes.col("qty")[node_keep], node_t=nodes.col("t")[node_keep],
        node_risk=nodes.col("risk")[node_keep], node_delivery=nd,
        lot_product=lots.col("product"), lot_producer=lots.col("producer"), lot_t=lots.col("t"),
        lot_qty=lots.col("qty"), lot_origin=lots.col("origin"), lot_node=nmap[lots.col("node")],
        d_from=nmap[d_from[di]], d_to=nmap[d_to[di]], d_lot=dl.col("lot")[di], d_sender=dl.col("sender")[di],
        d_receiver=dl.col("receiver")[di], d_ship=dl.col("ship")[di], d_recv=dl.col("recv")[di],
        d_qty=dl.col("qty")[di],
        tr_station=tr.col("station"), tr_time=tr.col("time"), tr_kind=tr.col("kind"),
        ti_tr=ti.col("tr"), ti_node=nmap[ti.col("node")], ti_role=ti.col("role"), ti_qty=ti.col("qty"),
    )
