"""The operators, products and trading relations of the synthetic Nantong network.

:func:`build` makes every kind of operator in every district (farms, crop
and aquatic farms, pig and poultry slaughterhouses, producers, workshops,
wholesale markets, wet markets with their stalls, supermarkets, restaurants,
school canteens, distributors and cold stores) with Chinese names built from
name parts, valid 统一社会信用代码 (GB 32100-2015 check character, GB 11714
organisation code inside), GS1 company prefixes and GLNs for some, products
with GTINs where the maker has a prefix, each operator's latent risk, and each
sender's customers per route class.

>>> uscc_for("9", "1", "320602", "MA1MXXXX")
'91320602MA1MXXXX9U'
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from ontology.identifiers import USCC_ALPHABET, gs1_check_digit, operator_id, org_code_check_char, uscc_check_char

__all__ = ["KINDS", "CLASSES", "Network", "build", "uscc_for", "load_data"]

KINDS = ("Farm", "CropFarm", "AquaFarm", "Slaughterhouse", "Producer", "Workshop", "WholesaleMarket",
         "FarmersMarket", "Stall", "Supermarket", "Restaurant", "SchoolCanteen", "Distributor", "ColdStore")
K = {k: i for i, k in enumerate(KINDS)}
KIND_ZH = {"Farm": "养殖场", "CropFarm": "种植基地", "AquaFarm": "水产养殖场", "Slaughterhouse": "屠宰场",
           "Producer": "食品生产企业", "Workshop": "小作坊", "WholesaleMarket": "批发市场", "FarmersMarket": "农贸市场",
           "Stall": "摊位", "Supermarket": "超市", "Restaurant": "餐饮", "SchoolCanteen": "学校食堂",
           "Distributor": "配送单位", "ColdStore": "冷库"}

#: route classes: what a node of a product is shipped as (frozen goods go to cold stores)
CLASSES = ("live_pig", "live_poultry", "pork", "poultry", "veg", "aquatic", "packaged", "frozen")
C = {c: i for i, c in enumerate(CLASSES)}
STALL_GROUPS = ("pork", "poultry", "veg", "aquatic", "packaged")
GROUP_ZH = {"pork": "猪肉", "poultry": "禽肉", "veg": "蔬菜", "aquatic": "水产", "packaged": "副食品"}

# share of operators by kind (per district, at least MIN), and caps per district
_SHARE = {"Farm": 0.08, "CropFarm": 0.10, "AquaFarm": 0.05, "Slaughterhouse": 0.006, "Producer": 0.04,
          "Workshop": 0.03, "WholesaleMarket": 0.004, "FarmersMarket": 0.02, "Stall": 0.30, "Supermarket": 0.05,
          "Restaurant": 0.19, "SchoolCanteen": 0.06, "Distributor": 0.03, "ColdStore": 0.01}
_MIN = {"Farm": 3, "Slaughterhouse": 2, "Stall": 5, "Producer": 2}
_CAP = {"Slaughterhouse": 6, "WholesaleMarket": 4}
# share with a GS1 company prefix (GLN; GTINs for what they make)
_GS1 = {"Farm": 0.8, "CropFarm": 0.5, "AquaFarm": 0.6, "Slaughterhouse": 1.0, "Producer": 1.0, "Workshop": 0.0,
        "WholesaleMarket": 1.0, "FarmersMarket": 0.5, "Stall": 0.03, "Supermarket": 0.95, "Restaurant": 0.15,
        "SchoolCanteen": 0.5, "Distributor": 0.85, "ColdStore": 0.9}

# sender kind, route class -> [((receiver kind, line or None), weight)]; line "=" means the stall group equal to the class
_R: dict[tuple[str, str], list[tuple[tuple[str, str | None], float]]] = {
    ("Farm", "live_pig"): [(("Slaughterhouse", "pig"), 1.0)],
    ("Farm", "live_poultry"): [(("Slaughterhouse", "poultry"), 1.0)],
    ("Farm", "packaged"): [(("WholesaleMarket", None), .4), (("Supermarket", None), .3), (("Stall", "packaged"), .2),
                           (("Distributor", None), .1)],
    ("CropFarm", "veg"): [(("WholesaleMarket", None), .5), (("Distributor", None), .2), (("Supermarket", None), .15),
                          (("Stall", "veg"), .15)],
    ("AquaFarm", "aquatic"): [(("WholesaleMarket", None), .6), (("Stall", "aquatic"), .2), (("Supermarket", None), .1),
                              (("Restaurant", None), .1)],
    ("Slaughterhouse", "pork"): [(("WholesaleMarket", None), .25), (("Stall", "pork"), .35), (("Supermarket", None), .15),
                                 (("Distributor", None), .15), (("Producer", "meat"), .1)],
    ("Slaughterhouse", "poultry"): [(("WholesaleMarket", None), .25), (("Stall", "poultry"), .35),
                                    (("Supermarket", None), .2), (("Distributor", None), .2)],
    ("Slaughterhouse", "frozen"): [(("ColdStore", None), .6), (("Distributor", None), .2), (("Producer", "meat"), .2)],
    ("Producer", "packaged"): [(("Distributor", None), .35), (("Supermarket", None), .4), (("Stall", "packaged"), .1),
                               (("Restaurant", None), .15)],
    ("Producer", "frozen"): [(("ColdStore", None), .4), (("Supermarket", None), .3), (("Distributor", None), .3)],
    ("Workshop", "packaged"): [(("Stall", "packaged"), .3), (("Restaurant", None), .3), (("Supermarket", None), .4)],
    ("ColdStore", "frozen"): [(("Distributor", None), .4), (("Supermarket", None), .3), (("Restaurant", None), .2),
                              (("Producer", "meat"), .1)],
}
for _c in STALL_GROUPS:
    _R[("WholesaleMarket", _c)] = [(("Stall", "="), .45), (("Supermarket", None), .15), (("Distributor", None), .2),
                                   (("Restaurant", None), .2)]
    _R[("Stall", _c)] = [(("Restaurant", None), .75), (("SchoolCanteen", None), .25)]
for _c in STALL_GROUPS + ("frozen",):
    _R[("Distributor", _c)] = [(("SchoolCanteen", None), .5), (("Restaurant", None), .5)]

# customers per (sender, class): (min, max, share in the same district)
_NCUST = {"Farm": (2, 4, .8), "CropFarm": (3, 6, .7), "AquaFarm": (3, 6, .7), "Slaughterhouse": (20, 40, .5),
          "Producer": (10, 25, .5), "Workshop": (4, 8, .85), "WholesaleMarket": (20, 50, .6), "ColdStore": (5, 10, .5),
          "Distributor": (6, 15, .75), "Stall": (2, 4, .9)}

# product lines per kind: (line, weight)
_LINES = {"Farm": (("pig", .5), ("poultry", .3), ("layer", .2)),
          "CropFarm": (("leafy", .45), ("veg", .4), ("fruit", .15)),
          "AquaFarm": (("aqua", 1.0),),
          "Slaughterhouse": (("pig", .5), ("poultry", .5)),
          "Producer": (("meat", .3), ("milk", .1), ("soy_sauce", .1), ("rice", .15), ("rapeseed_oil", .1),
                       ("bread", .15), ("water", .1)),
          "Workshop": (("pastry", .4), ("braised_dishes", .35), ("tofu", .25))}
# line -> catalogue makers
_MAKERS = {("Farm", "pig"): ("pigfarm",), ("Farm", "poultry"): ("poultryfarm",), ("Farm", "layer"): ("layerfarm",),
           ("CropFarm", "leafy"): ("crop_leafy",), ("CropFarm", "veg"): ("crop_veg",),
           ("CropFarm", "fruit"): ("crop_fruit",), ("AquaFarm", "aqua"): ("aquafarm",),
           ("Slaughterhouse", "pig"): ("sh_pig_carcass", "sh_pig_cut"), ("Slaughterhouse", "poultry"): ("sh_poultry",),
           ("Producer", "meat"): ("producer_meat",)}
_LINE_CATEGORY = {"pig": "live_pig", "poultry": "live_poultry", "layer": "egg", "leafy": "leafy_vegetable",
                  "veg": "vegetable", "fruit": "fruit", "aqua": "aquatic", "meat": "processed_meat"}
_SCALES = ("large", "medium", "small", "micro")


def load_data(name: str) -> Any:
    """A JSON table shipped in ``generator/data`` (``names``, ``products``, ``hazards``)."""
    return json.loads(resources.files("generator").joinpath("data", name + ".json").read_text(encoding="utf-8"))


def uscc_for(authority: str, entity: str, division: str, org8: str) -> str:
    """A 统一社会信用代码: authority, entity type, division code, organisation code body (8 chars).

    The organisation code gets its GB 11714 check character, the whole code its
    GB 32100-2015 check character.
    """
    body = authority + entity + division + org8 + org_code_check_char(org8)
    return body + uscc_check_char(body)


@dataclass
class Network:
    """All operators and products, as parallel lists / arrays indexed by operator or product number."""

    districts: list[dict]
    kind: np.ndarray                  # int8, index into KINDS
    district: np.ndarray              # int8, index into districts
    line: list[str]                   # product line (Farm: pig/poultry/layer, Stall: its group ...)
    name: list[str]
    address: list[str]
    uscc: list[str]
    gln: list[str]                    # "" without
    prefix: list[str]                 # GS1 company prefix, "" without
    loc_ref: list[str]
    local: list[str]                  # own number (OP-00001)
    contact: list[str]
    phone: list[str]
    scale: list[str]
    haccp: list[bool | None]
    individual: list[bool]
    licence_no: list[str]
    licence_date: list[str]
    category: list[str]
    lat: np.ndarray
    lon: np.ndarray
    parent: np.ndarray                # int32, -1 none (a stall's market)
    latent: np.ndarray                # latent risk (probability-like)
    nolink: np.ndarray                # bool: ships under own lot without recording inputs
    repack: np.ndarray                # bool: distributor records repacking
    mix: np.ndarray                   # bool: distributor records mixing
    violator: np.ndarray              # bool: ships more than it received
    illegal: np.ndarray               # bool: slaughterhouse slaughtering unrecorded pigs
    canon: list[str]                  # canonical operator id
    catalogue: list[dict]
    key_index: dict[str, int]
    prod_key: np.ndarray              # product -> catalogue index
    prod_maker: np.ndarray            # product -> operator (-1 shared generic)
    prod_gtin: list[str]              # GTIN-14 or ""
    prod_local: list[str]             # own product number
    prod_of: np.ndarray               # (operator, catalogue index) -> product, -1
    generic: dict[str, int]           # catalogue key -> shared product
    cust_offs: np.ndarray             # CSR of customers by operator * len(CLASSES) + class
    cust_cnt: np.ndarray
    cust_flat: np.ndarray
    names: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.name)


def _counts(scale: int, nd: int) -> dict[str, int]:
    total = max(200, scale // 100)
    per = {}
    for k in KINDS:
        c = max(_MIN.get(k, 1), int(round(_SHARE[k] * total / nd)))
        if k in _CAP:
            c = min(c, _CAP[k])
        per[k] = c
    return per


def build(rng: np.random.Generator, scale: int, rates: dict[str, float]) -> Network:
    """Build the network for ``scale`` deliveries (about scale/100 operators, at least ~200)."""
    names = load_data("names")
    cat = load_data("products")["products"]
    key_index = {p["key"]: i for i, p in enumerate(cat)}
    dists = names["districts"]
    nd = len(dists)
    per = _counts(scale, nd)
    pr = random.Random(int(rng.integers(2**63)))

    kind: list[int] = []
    district: list[int] = []
    line: list[str] = []
    for d in range(nd):
        for k in KINDS:
            c = per[k]
            lines = _LINES.get(k)
            for j in range(c):
                kind.append(K[k])
                district.append(d)
                if lines:
                    if j < len(lines) and k in ("Farm", "Slaughterhouse"):
                        line.append(lines[j][0])           # every line in every district
                    else:
                        line.append(pr.choices([x for x, _ in lines], [w for _, w in lines])[0])
                elif k == "Stall":
                    line.append(STALL_GROUPS[j] if j < len(STALL_GROUPS)
                                else pr.choices(STALL_GROUPS, (.25, .12, .35, .15, .13))[0])
                else:
                    line.append("")
    n = len(kind)
    kind_a = np.array(kind, dtype=np.int8)
    dist_a = np.array(district, dtype=np.int8)

    # stalls belong to a wet market of their district
    parent = np.full(n, -1, dtype=np.int32)
    markets = {d: [i for i in range(n) if kind[i] == K["FarmersMarket"] and district[i] == d] for d in range(nd)}
    stall_no: dict[int, int] = {}
    for i in range(n):
        if kind[i] == K["Stall"]:
            parent[i] = pr.choice(markets[district[i]])

    # names, addresses, people
    sur, giv, roots, vil, schools = (names["surnames"], names["given"], names["firm_roots"], names["villages"],
                                     names["schools"])
    person = lambda: pr.choice(sur) + pr.choice(giv) + (pr.choice(giv) if pr.random() < .6 else "")  # noqa: E731
    used: set[str] = set()
    nm: list[str] = []
    addr: list[str] = []
    contact: list[str] = []
    phone: list[str] = []
    individual: list[bool] = []
    entity: list[str] = []
    auth: list[str] = []
    for i in range(n):
        k, d, ln = KINDS[kind[i]], dists[district[i]], line[i]
        dn = d["name"]
        for _attempt in range(40):
            base, ind, ent, au = _name(pr, k, d, ln, roots, vil, sur, giv, schools)
            if base not in used:
                break
        name = base if base not in used else f"{base[:-2]}{len(used)}{base[-2:]}"
        used.add(name)
        nm.append(name)
        road = pr.choice(d["roads"])
        v = pr.choice(vil)
        if k == "Stall":
            m = int(parent[i])
            stall_no[m] = stall_no.get(m, 0) + 1
            addr.append(f"南通市{dn}{nm[m].removeprefix(dn)}{stall_no[m]}号摊位")
        elif k in ("Farm", "CropFarm", "AquaFarm"):
            addr.append(f"南通市{dn}{pr.choice(d['towns'])}{v}村{pr.randint(1, 30)}组")
        else:
            addr.append(f"南通市{dn}{road}{pr.randint(1, 400)}号")
        contact.append(person())
        phone.append(f"1{pr.choice('3589')}{pr.randint(0, 999999999):09d}" if ind or pr.random() < .5
                     else f"0513-{pr.randint(80000000, 89999999)}")
        individual.append(ind)
        entity.append(ent)
        auth.append(au)
    # identifiers
    usccs: list[str] = []
    seen_u: set[str] = set()
    for i in range(n):
        while True:
            org = "".join(pr.choice(USCC_ALPHABET) for _ in range(8))
            if entity[i] in ("1", "2") and auth[i] == "9" and pr.random() < .7:
                org = "MA" + org[2:]          # codes issued since 2015 start with MA
            u = uscc_for(auth[i], entity[i], dists[district[i]]["code"], org)
            if u not in seen_u:
                seen_u.add(u)
                usccs.append(u)
                break
    prefixes: list[str] = []
    glns: list[str] = []
    refs: list[str] = []
    seen_p: set[str] = set()
    for i in range(n):
        if pr.random() < _GS1[KINDS[kind[i]]] or (KINDS[kind[i]] in ("Slaughterhouse", "Producer", "WholesaleMarket")):
            plen = 9 if pr.random() < .6 else 7
            while True:
                p = "69" + "".join(str(pr.randint(0, 9)) for _ in range(plen - 2))
                if p not in seen_p:
                    seen_p.add(p)
                    break
            ref = "0" * (12 - plen - 1) + "1"
            prefixes.append(p)
            refs.append(ref)
            glns.append(p + ref + str(gs1_check_digit(p + ref)))
        else:
            prefixes.append("")
            refs.append("")
            glns.append("")

    # scale, licences, HACCP, coordinates
    scl: list[str] = []
    haccp: list[bool | None] = []
    lic: list[str] = []
    lic_d: list[str] = []
    category: list[str] = []
    for i in range(n):
        k = KINDS[kind[i]]
        if individual[i] or k == "Stall":
            s = "micro"
        elif k in ("Slaughterhouse", "WholesaleMarket"):
            s = pr.choice(("large", "medium"))
        else:
            s = pr.choices(_SCALES, (.08, .27, .45, .2))[0]
        scl.append(s)
        haccp.append(pr.random() < (.6 if s in ("large", "medium") else .15) if k in ("Producer", "Slaughterhouse")
                     else None)
        code = dists[district[i]]["code"]
        y = pr.randint(2018, 2024)
        if k in ("Producer", "Workshop"):
            lic.append(f"SC{pr.choice(('104', '101', '103', '106', '107', '111'))}{code}{pr.randint(0, 99999):05d}")
        elif k == "Slaughterhouse":
            lic.append(f"A{code[2:4]}{code[4:]}{pr.randint(1, 99):02d}")
        elif k in ("Farm", "CropFarm", "AquaFarm", "FarmersMarket", "WholesaleMarket"):
            lic.append(f"{code}{pr.randint(100000, 999999)}" if k == "Farm" else "")
        else:
            lic.append(f"JY{'2' if k in ('Restaurant', 'SchoolCanteen') else '1'}{code}{pr.randint(0, 9999999):07d}")
        lic_d.append(f"{y}-{pr.randint(1, 12):02d}-{pr.randint(1, 28):02d}" if lic[-1] else "")
        ln = line[i]
        category.append(_LINE_CATEGORY.get(ln, "") or
                        {"pig": "pork"}.get(ln, "") or
                        ({"pork": "pork", "poultry": "poultry", "veg": "vegetable", "aquatic": "aquatic",
                          "packaged": "other"}.get(ln, "") if k == "Stall" else "") or
                        {"milk": "dairy", "soy_sauce": "condiment", "rice": "grain", "rapeseed_oil": "edible_oil",
                         "bread": "bakery", "water": "beverage", "pastry": "bakery", "braised_dishes": "prepared_food",
                         "tofu": "other"}.get(ln, ""))
        if k == "Slaughterhouse":
            category[-1] = "pork" if ln == "pig" else "poultry"
    lat = np.array([dists[d]["lat"] for d in district]) + rng.normal(0, .05, n)
    lon = np.array([dists[d]["lon"] for d in district]) + rng.normal(0, .05, n)

    # behaviour: latent risk and flags
    latent = np.clip(rng.lognormal(np.log(0.008), 1.0, n), 0.0002, 0.4)
    u = rng.random((4, n))
    nolink = ((kind_a == K["Stall"]) | (kind_a == K["Distributor"])) & (u[0] < rates["nolink_station"])
    repack = (kind_a == K["Distributor"]) & ~nolink & (u[1] < .3)
    mix = (kind_a == K["Distributor"]) & ~nolink & ~repack & (u[1] < .45)
    trader = np.isin(kind_a, [K["WholesaleMarket"], K["Stall"], K["Distributor"]])
    violator = trader & ~nolink & ~repack & ~mix & (u[2] < rates["mass_balance_station"])
    sh_pig = (kind_a == K["Slaughterhouse"]) & np.array([ln == "pig" for ln in line])
    illegal = sh_pig & (u[3] < rates["illegal_slaughter"])
    if not illegal.any():
        illegal[np.flatnonzero(sh_pig)[int(rng.integers(sh_pig.sum()))]] = True
    if not violator.any():
        violator[np.flatnonzero(trader & ~nolink & ~repack & ~mix)[0]] = True
    latent[violator | illegal] = np.minimum(0.4, latent[violator | illegal] * 5)
    canon = [operator_id(gln=glns[i] or None, uscc=usccs[i]) for i in range(n)]

    # products
    prod_key: list[int] = []
    prod_maker: list[int] = []
    prod_gtin: list[str] = []
    prod_local: list[str] = []
    prod_of = np.full((n, len(cat)), -1, dtype=np.int32)
    by_maker: dict[str, list[int]] = {}
    for ci, p in enumerate(cat):
        by_maker.setdefault(p["maker"], []).append(ci)
    for i in range(n):
        k = KINDS[kind[i]]
        makers = _MAKERS.get((k, line[i]))
        keys = [ci for m in makers for ci in by_maker[m]] if makers else \
            [key_index[line[i]]] if k in ("Producer", "Workshop") else []
        for j, ci in enumerate(keys):
            pid = len(prod_key)
            prod_key.append(ci)
            prod_maker.append(i)
            if prefixes[i]:
                body = prefixes[i] + f"{j + 1:0{12 - len(prefixes[i])}d}"
                prod_gtin.append("0" + body + str(gs1_check_digit(body)))
            else:
                prod_gtin.append("")
            prod_local.append(f"SP{i:06d}{j:02d}")
            prod_of[i, ci] = pid
    generic: dict[str, int] = {}
    for ci, p in enumerate(cat):
        if p["maker"] in ("generic", "distributor"):
            generic[p["key"]] = len(prod_key)
            prod_key.append(ci)
            prod_maker.append(-1)
            prod_gtin.append("")
            prod_local.append("GEN-" + p["key"].upper())

    # customers: per sender and route class
    pools: dict[tuple[str, str | None, int], list[int]] = {}
    for i in range(n):
        k = KINDS[kind[i]]
        ln = line[i] if k in ("Stall", "Slaughterhouse") else ("meat" if k == "Producer" and line[i] == "meat" else None)
        pools.setdefault((k, ln, int(district[i])), []).append(i)
        if ln is not None:
            pools.setdefault((k, None, int(district[i])), []).append(i)
    any_d: dict[tuple[str, str | None], list[int]] = {}
    for (k, ln, d), v in sorted(pools.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2])):
        any_d.setdefault((k, ln), []).extend(v)
    ncls = len(CLASSES)
    cust: list[list[int]] = [[] for _ in range(n * ncls)]
    for i in range(n):
        k = KINDS[kind[i]]
        if k not in _NCUST:
            continue
        lo, hi, same = _NCUST[k]
        for c in CLASSES:
            routes = _R.get((k, c))
            if not routes or not _ships(k, line[i], c):
                continue
            m = pr.randint(lo, hi)
            chosen: list[int] = []
            for _ in range(m):
                (rk, rl), = pr.choices([r for r, _ in routes], [w for _, w in routes])
                rl = c if rl == "=" else rl
                d = int(district[i]) if pr.random() < same else pr.randrange(nd)
                pool = pools.get((rk, rl, d)) or any_d.get((rk, rl))
                if pool:
                    chosen.append(pr.choice(pool))
            cust[i * ncls + C[c]] = sorted(set(chosen) - {i})
    cnt = np.array([len(x) for x in cust], dtype=np.int32)
    offs = np.zeros(len(cust), dtype=np.int64)
    offs[1:] = np.cumsum(cnt)[:-1]
    flat = np.array([j for x in cust for j in x], dtype=np.int32)

    return Network(
        districts=dists, kind=kind_a, district=dist_a, line=line, name=nm, address=addr, uscc=usccs, gln=glns,
        prefix=prefixes, loc_ref=refs, local=[f"OP-{i + 1:06d}" for i in range(n)], contact=contact, phone=phone,
        scale=scl, haccp=haccp, individual=individual, licence_no=lic, licence_date=lic_d, category=category,
        lat=np.round(lat, 5), lon=np.round(lon, 5), parent=parent, latent=latent, nolink=nolink, repack=repack,
        mix=mix, violator=violator, illegal=illegal, canon=canon, catalogue=cat, key_index=key_index,
        prod_key=np.array(prod_key, dtype=np.int32), prod_maker=np.array(prod_maker, dtype=np.int32),
        prod_gtin=prod_gtin, prod_local=prod_local, prod_of=prod_of, generic=generic,
        cust_offs=offs, cust_cnt=cnt, cust_flat=flat, names=names)


def _ships(kind: str, line: str, cls: str) -> bool:
    """Whether an operator of ``kind`` and ``line`` ships goods of route class ``cls``."""
    if kind == "Farm":
        return cls == {"pig": "live_pig", "poultry": "live_poultry", "layer": "packaged"}[line]
    if kind == "Slaughterhouse":
        return cls in (("pork", "frozen") if line == "pig" else ("poultry", "frozen"))
    if kind == "Producer":
        return cls in (("packaged", "frozen") if line == "meat" else ("packaged",))
    if kind == "Stall":
        return cls == line
    return True


def _name(pr: random.Random, k: str, d: dict, ln: str, roots: list[str], vil: list[str], sur: list[str],
          giv: list[str], schools: list[str]) -> tuple[str, bool, str, str]:
    """A Chinese name for an operator of kind ``k``: (name, individual, USCC entity type, USCC authority)."""
    dn, root, v = d["name"], pr.choice(roots), pr.choice(vil)
    ind, ent, au = False, "1", "9"
    if k == "Farm":
        t = {"pig": "生猪养殖专业合作社", "poultry": "家禽养殖专业合作社", "layer": "蛋鸡养殖场"}[ln]
        if pr.random() < .5:
            base = f"{dn}{root}{t}"
        else:
            base = f"{dn}{v}{pr.choice(sur)}{pr.choice(giv)}{t.replace('专业合作社', '场')}"
            ind = True
        ent = "3" if "合作社" in base else ("2" if ind else "1")
    elif k == "CropFarm":
        t = {"leafy": "蔬菜种植基地", "veg": "果蔬专业合作社", "fruit": "家庭农场"}[ln]
        base = f"{dn}{v}{root}{t}"
        ent = "3" if "合作社" in base else "1"
        ent = "2" if ln == "fruit" else ent
    elif k == "AquaFarm":
        base = f"{dn}{v}{root}水产养殖场" if pr.random() < .6 else f"{dn}{root}水产专业合作社"
        ent = "3" if "合作社" in base else "1"
    elif k == "Slaughterhouse":
        base = f"南通{root}肉类食品有限公司" if ln == "pig" else f"南通{root}禽业有限公司"
    elif k == "Producer":
        t = {"meat": "肉制品有限公司", "milk": "乳业有限公司", "soy_sauce": "酿造有限公司", "rice": "米业有限公司",
             "rapeseed_oil": "粮油有限公司", "bread": "食品有限公司", "water": "饮品有限公司"}[ln]
        base = f"{'南通' if pr.random() < .7 else '江苏'}{root}{t}"
    elif k == "Workshop":
        t = {"pastry": "糕点加工坊", "braised_dishes": "卤菜加工坊", "tofu": "豆制品加工坊"}[ln]
        base = f"{dn}{v}{pr.choice(sur)}记{t}"
        ind, ent = True, "2"
    elif k == "WholesaleMarket":
        base = f"南通{root}农副产品批发市场" if pr.random() < .5 else f"{dn}{root}农产品批发市场"
    elif k == "FarmersMarket":
        base = f"{dn}{pr.choice(d['roads'])}农贸市场" if pr.random() < .5 else f"{dn}{v}农贸市场"
    elif k == "Stall":
        base = f"{dn}{pr.choice(sur)}{pr.choice(giv)}{GROUP_ZH[ln]}摊"
        ind, ent = True, "2"
    elif k == "Supermarket":
        base = f"南通{root}超市有限公司{pr.choice(d['towns'])}店" if pr.random() < .5 else f"{dn}{v}{root}生鲜超市"
    elif k == "Restaurant":
        r = pr.random()
        if r < .4:
            base = f"{dn}{v}{pr.choice(sur)}记饭店"
            ind, ent = True, "2"
        elif r < .8:
            base = f"{dn}{root}{pr.choice(('餐饮店', '小吃店', '面馆', '快餐店'))}"
            ent = "2"                      # 个体工商户 under a trade name: no personal name to mask
        else:
            base = f"南通{root}{pr.choice(('酒店', '餐饮', '饮食服务'))}有限公司"
    elif k == "SchoolCanteen":
        base = f"{dn}{pr.choice(schools + vil)}{pr.choice(('小学', '初级中学', '幼儿园', '高级中学'))}食堂"
        au, ent = "1", "2"
    elif k == "Distributor":
        base = f"南通{root}食材配送有限公司" if pr.random() < .6 else f"{dn}{root}农产品配送中心"
    else:
        base = f"南通{root}冷链物流有限公司"
    return base, ind, ent, au
