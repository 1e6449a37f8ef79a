"""Outbreak source ranking: exact scores and ranks on small hand-made networks (embedded store).

Times are days after 2026-03-01 00:00 Beijing time; case dates are whole days (the case counts when the
trace reaches it by the end of that day).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from ontology.times import BEIJING, epoch
from graph.view import ReadView
from ontology.errors import InvalidRecord, NotFound
from ontology.records import Alias, Delivery, Lot, Operator, Product
from reasoning.outbreak import Case, product_priors, rank_sources
from reasoning.trace import CERTAIN, POSSIBLE, Start, TraceOptions, trace

CN = BEIJING
T0 = datetime(2026, 3, 1, tzinfo=CN)


def at(day: float) -> str:
    return (T0 + timedelta(days=day)).isoformat()


def day(n: int) -> str:
    """The calendar date ``n`` days after 2026-03-01."""
    return (T0 + timedelta(days=n)).date().isoformat()


def dlv(i, lot, frm, to, when) -> Delivery:
    return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=at(when))


PRODUCTS = [Product(id="p:leafy", name="青菜", category="leafy_vegetable"),
            Product(id="p:salt", name="食盐", category="condiment"),
            Product(id="p:pork", name="猪肉", category="pork"),
            Product(id="p:meal", name="盒饭", category="prepared_food")]


def ops(*names: str) -> list[Operator]:
    kinds = {"F": "CropFarm", "G": "Farm", "H": "Producer", "K": "Restaurant"}
    return [Operator(id=n, kind=kinds.get(n[0], "Supermarket"), name=f"{n}号") for n in names]


def lots(**products: str) -> list[Lot]:
    return [Lot(id=k, product_id=v, lot_number=f"N-{k}") for k, v in products.items()]


def forward_scores(view, result) -> tuple[dict, dict]:
    """FoodChain-Lab's definition, straight: a forward (downstream) trace from every candidate of ``result``,
    the cases it reaches in time (a station case by a delivery into it that arrived by the end of the case date
    and within its lot's holding window before it; a lot case by reaching the lot by then; a case reaches
    itself), scored. The ranking runs one upstream trace per case instead; the two must agree."""
    cases = result.cases
    opts = TraceOptions(hazard=result.hazard, kill=frozenset(result.kill))
    dates = [c.time for c in cases]
    if all(t is not None for t in dates):
        opts = replace(opts, until=max(dates))
    total = result.total_positive_weight
    products = {p.id: p.category for p in view.scan("product")}
    category = {x.id: products.get(x.product_id) for x in view.scan("lot")}

    def score(t, kind, cid):
        got, tiers = 0.0, []
        lots = {x.id: x for x in t.lots}
        for c in cases:
            if (c.kind, c.id) == (kind, cid):
                got += c.weight
                tiers.append(CERTAIN)
                continue
            if c.kind == "lot":
                x = lots.get(c.id)
                if x is not None and (c.time is None or epoch(x.time) <= c.time):
                    got += c.weight
                    tiers.append(x.tier)
                continue
            hit = [d for d in t.deliveries if d.receiver_id == c.id and (c.time is None or (
                epoch(d.received_time or d.ship_time) <= c.time and epoch(d.received_time or d.ship_time)
                >= c.time - opts.window(category.get(d.lot_id))))]
            if hit:
                got += c.weight
                tiers.append(CERTAIN if any(d.tier == CERTAIN for d in hit) else POSSIBLE)
        return round(got / total, 9), (POSSIBLE if POSSIBLE in tiers else CERTAIN) if tiers else None

    stations = {x.id: score(trace(view, Start("station", x.id, x.id, station_id=x.id), "down", opts), "station", x.id)
                for x in result.stations}
    lots = {x.id: score(trace(view, Start("lot", x.id, x.id, lot_id=x.id), "down", opts), "lot", x.id)
            for x in result.lots}
    return stations, lots


def run(store, records, cases, **kw):
    """The ranking, checked against forward traces from every candidate (the mirror it relies on) where no
    kill step is named: a downstream trace does not leave a kill station with a lot, while a lot made there
    after cooking can still explain the cases (the ranking, from the cases' upstream traces, says so)."""
    store.write(records)
    r = rank_sources(ReadView(store), cases, **kw)
    if not kw.get("kill"):
        stations, lots = forward_scores(ReadView(store), r)
        assert {x.id: (round(x.score, 9), x.tier) for x in r.stations} == stations
        assert {x.id: (round(x.score, 9), x.tier) for x in r.lots} == lots
    return r


def table(items) -> list[tuple[str, float, int]]:
    return [(x.id, round(x.score, 6), x.rank) for x in items]


def test_a_common_supplier_scores_one(sqlite_store):
    # F ships lot A to three shops; G ships lot B to S1 only
    recs = [*ops("F", "G", "S1", "S2", "S3"), *PRODUCTS, *lots(A="p:leafy", B="p:leafy"),
            dlv("d1", "A", "F", "S1", 0.1), dlv("d2", "A", "F", "S2", 0.2), dlv("d3", "A", "F", "S3", 0.3),
            dlv("d4", "B", "G", "S1", 0.4)]
    r = run(sqlite_store, recs, [Case(s, 1, day(1)) for s in ("S1", "S2", "S3")])
    assert table(r.stations) == [("F", 1.0, 1), ("G", 0.333333, 2), ("S1", 0.333333, 2), ("S2", 0.333333, 2),
                                 ("S3", 0.333333, 2)]
    assert table(r.lots) == [("A", 1.0, 1), ("B", 0.333333, 2)]
    f = r.stations[0]
    assert [(h.id, h.tier, h.time) for h in f.cases] == [("S1", CERTAIN, at(0.1)), ("S2", CERTAIN, at(0.2)),
                                                          ("S3", CERTAIN, at(0.3))]
    assert (f.tier, f.name, f.kind) == (CERTAIN, "F号", "CropFarm")
    assert [(h.id, h.time) for h in r.stations[2].cases] == [("S1", None)]  # a case station reaches itself
    assert r.total_positive_weight == 3.0 and r.priors_version is None


def test_a_negative_case_lowers_a_score(sqlite_store):
    # F ships lot A to S1, S2 and S3; G ships lot B to S1 and S2; S3 is a confirmed non-case
    recs = [*ops("F", "G", "S1", "S2", "S3"), *PRODUCTS, *lots(A="p:leafy", B="p:pork"),
            dlv("d1", "A", "F", "S1", 0.1), dlv("d2", "A", "F", "S2", 0.1), dlv("d3", "A", "F", "S3", 0.1),
            dlv("d4", "B", "G", "S1", 0.2), dlv("d5", "B", "G", "S2", 0.2)]
    cases = [Case("S1", 1, day(1)), Case("S2", 1, day(1)), Case("S3", -1, day(1))]
    r = run(sqlite_store, recs, cases)
    assert table(r.stations) == [("G", 1.0, 1), ("F", 0.5, 2), ("S1", 0.5, 2), ("S2", 0.5, 2)]
    assert table(r.lots) == [("B", 1.0, 1), ("A", 0.5, 2)]
    assert [(h.id, h.weight) for h in r.stations[1].cases] == [("S1", 1.0), ("S2", 1.0), ("S3", -1.0)]
    assert r.total_positive_weight == 2.0


def test_ties_share_ranks_1_1_3(sqlite_store):
    recs = [*ops("F", "G", "H", "S1", "S2"), *PRODUCTS, *lots(A="p:leafy", B="p:pork", C="p:salt"),
            dlv("d1", "A", "F", "S1", 0.1), dlv("d2", "A", "F", "S2", 0.1),
            dlv("d3", "B", "G", "S1", 0.2), dlv("d4", "B", "G", "S2", 0.2),
            dlv("d5", "C", "H", "S1", 0.3)]
    r = run(sqlite_store, recs, [Case("S1", 1, day(1)), Case("S2", 1, day(1))])
    assert table(r.stations) == [("F", 1.0, 1), ("G", 1.0, 1), ("H", 0.5, 3), ("S1", 0.5, 3), ("S2", 0.5, 3)]
    assert table(r.lots) == [("A", 1.0, 1), ("B", 1.0, 1), ("C", 0.5, 3)]
    assert not any(x.tie_broken_by_prior for x in (*r.stations, *r.lots))
    assert not r.notes


def kitchen_network() -> list:
    # G ships pork lot A to kitchen K, which records no lot links and ships its own meal lot M to two canteens
    return [*ops("G", "K", "C1", "C2"), *PRODUCTS, *lots(A="p:pork", M="p:meal"),
            dlv("d1", "A", "G", "K", 0.1), dlv("d2", "M", "K", "C1", 0.5), dlv("d3", "M", "K", "C2", 0.6)]


CANTEEN_CASES = [Case("C1", 1, day(1)), Case("C2", 1, day(1))]


def test_without_a_kill_step_the_supplier_is_a_possible_common_link(sqlite_store):
    r = run(sqlite_store, kitchen_network(), CANTEEN_CASES, hazard="microbial")
    assert table(r.stations) == [("G", 1.0, 1), ("K", 1.0, 1), ("C1", 0.5, 3), ("C2", 0.5, 3)]
    assert table(r.lots) == [("A", 1.0, 1), ("M", 1.0, 1)]
    g = r.stations[0]
    assert g.tier == POSSIBLE and [(h.id, h.tier) for h in g.cases] == [("C1", POSSIBLE), ("C2", POSSIBLE)]
    assert r.stations[1].tier == CERTAIN


def test_a_kill_station_cuts_a_pathogen_trace(sqlite_store):
    r = run(sqlite_store, kitchen_network(), CANTEEN_CASES, hazard="microbial", kill=["K"])
    # beyond the boiling kitchen nothing explains the cases; the kitchen itself still can (after cooking)
    assert table(r.stations) == [("K", 1.0, 1), ("C1", 0.5, 2), ("C2", 0.5, 2)]
    assert table(r.lots) == [("M", 1.0, 1)]  # lot A lies beyond the kill step: no candidate; M was made there
    assert r.kill == ("K",) and r.kill_applied
    assert r.notes == ("traces cut at the kill steps K (microbial hazard)",)


def test_a_kill_station_does_not_cut_a_pesticide_trace(sqlite_store):
    r = run(sqlite_store, kitchen_network(), CANTEEN_CASES, hazard="pesticide", kill=["K"])
    assert table(r.stations) == [("G", 1.0, 1), ("K", 1.0, 1), ("C1", 0.5, 3), ("C2", 0.5, 3)]
    assert table(r.lots) == [("A", 1.0, 1), ("M", 1.0, 1)]
    assert not r.kill_applied
    assert r.notes == ("kill steps ignored: heat does not remove a pesticide hazard (only pathogens); "
                       "traces pass through K",)


def test_priors_reorder_a_tie_and_say_so(sqlite_store):
    # F ships a salt lot and a leafy-vegetable lot to both shops: the two lots tie at 1.0
    recs = [*ops("F", "S1", "S2"), *PRODUCTS, *lots(X="p:salt", Y="p:leafy"),
            dlv("d1", "X", "F", "S1", 0.1), dlv("d2", "X", "F", "S2", 0.1),
            dlv("d3", "Y", "F", "S1", 0.2), dlv("d4", "Y", "F", "S2", 0.2)]
    cases = [Case("S1", 1, day(1)), Case("S2", 1, day(1))]
    plain = run(sqlite_store, recs, cases)
    assert table(plain.lots) == [("X", 1.0, 1), ("Y", 1.0, 1)]
    r = rank_sources(ReadView(sqlite_store), cases, priors=True)
    version, _default, pri = product_priors()
    assert table(r.lots) == [("Y", 1.0, 1), ("X", 1.0, 2)]                      # scores unchanged
    assert [(x.prior, x.tie_broken_by_prior) for x in r.lots] == [(pri["leafy_vegetable"], True),
                                                                 (pri["condiment"], True)]
    # the shops ship nothing: equal (default) priors leave their tie alone
    assert table(r.stations) == [("F", 1.0, 1), ("S1", 0.5, 2), ("S2", 0.5, 2)]
    assert [(x.prior, x.tie_broken_by_prior) for x in r.stations] == [(0.85, False), (0.3, False), (0.3, False)]
    assert r.priors_version == version
    assert r.notes == ("lots tied at score 1 (rank 1, 2 candidates) ordered by product-risk prior: ranks 1-2",
                       f"product-risk priors {version} order candidates within ties only; scores are unchanged")
    d = r.to_dict()
    assert d["lots"][0]["prior"] == 0.85 and d["lots"][0]["tie_broken_by_prior"] is True
    assert "prior" not in plain.to_dict()["lots"][0]


def test_priors_cover_every_food_category():
    from ontology.vocab import labels

    _version, _default, pri = product_priors()
    assert set(pri) == set(labels("category"))
    assert pri["prepared_food"] > pri["pork"] > pri["condiment"]
    assert all(0 <= v <= 1 for v in pri.values())


def test_dates_exclude_a_candidate_that_reached_a_case_only_after_its_date(sqlite_store):
    # F reaches both shops on day 0.5; G reaches S1 on day 0.5 but S2 only on day 3, after S2's case date
    recs = [*ops("F", "G", "S1", "S2"), *PRODUCTS, *lots(A="p:salt", B="p:salt"),
            dlv("d1", "A", "F", "S1", 0.5), dlv("d2", "A", "F", "S2", 0.5),
            dlv("d3", "B", "G", "S1", 0.5), dlv("d4", "B", "G", "S2", 3)]
    r = run(sqlite_store, recs, [Case("S1", 1, day(1)), Case("S2", 1, day(1))])
    assert table(r.stations) == [("F", 1.0, 1), ("G", 0.5, 2), ("S1", 0.5, 2), ("S2", 0.5, 2)]
    assert table(r.lots) == [("A", 1.0, 1), ("B", 0.5, 2)]
    # without dates the late delivery counts: G and B explain both cases
    undated = rank_sources(ReadView(sqlite_store), [Case("S1"), Case("S2")])
    assert table(undated.stations) == [("F", 1.0, 1), ("G", 1.0, 1), ("S1", 0.5, 3), ("S2", 0.5, 3)]
    assert table(undated.lots) == [("A", 1.0, 1), ("B", 1.0, 1)]


def test_a_case_counts_only_within_the_holding_window_of_what_reached_it(sqlite_store):
    # lettuce (3-day window) reached S1 ten days before its case date, S2 the day before; salt (365 days) both
    recs = [*ops("F", "G", "S1", "S2"), *PRODUCTS, *lots(A="p:leafy", B="p:salt"),
            dlv("d1", "A", "F", "S1", 0.1), dlv("d2", "A", "F", "S2", 9.5),
            dlv("d3", "B", "G", "S1", 0.1), dlv("d4", "B", "G", "S2", 0.2)]
    r = run(sqlite_store, recs, [Case("S1", 1, day(10)), Case("S2", 1, day(10))])
    assert table(r.stations) == [("G", 1.0, 1), ("F", 0.5, 2), ("S1", 0.5, 2), ("S2", 0.5, 2)]
    assert table(r.lots) == [("B", 1.0, 1), ("A", 0.5, 2)]
    assert [(h.id, h.time) for h in r.stations[1].cases] == [("S2", at(9.5))]


def test_lot_cases_and_identifier_forms(sqlite_store):
    # a lot case given by an alias, a station case by its USCC alias
    recs = [*ops("F", "G", "S1"), *PRODUCTS, *lots(B="p:leafy"),
            Alias(id="https://id.gs1.org/01/06901234567892/10/A1", canonical_id="A", entity="lot"),
            Alias(id="91320600MA1RUNF001", canonical_id="S1", entity="operator"),
            Lot(id="A", product_id="p:leafy", producer_id="F", production_date=day(0)),
            dlv("d1", "A", "F", "S1", 0.1), dlv("d2", "B", "G", "S1", 0.2)]
    r = run(sqlite_store, recs, [Case("https://id.gs1.org/01/06901234567892/10/A1", 1, day(1)),
                                 Case("91320600MA1RUNF001", 1, day(1))])
    assert [(c.kind, c.id) for c in r.cases] == [("lot", "A"), ("station", "S1")]
    assert table(r.stations) == [("F", 1.0, 1), ("G", 0.5, 2), ("S1", 0.5, 2)]
    assert table(r.lots) == [("A", 1.0, 1), ("B", 0.5, 2)]


def test_bad_input_is_rejected_with_the_reason(sqlite_store):
    sqlite_store.write([*ops("F", "S1"), dlv("d1", "A", "F", "S1", 0.1)])
    v = ReadView(sqlite_store)
    with pytest.raises(NotFound, match="case 'nowhere': no station or lot has this identifier"):
        rank_sources(v, [Case("nowhere")])
    with pytest.raises(NotFound, match="case 'd1': names a delivery, not a station or lot"):
        rank_sources(v, [Case("d1")])
    with pytest.raises(InvalidRecord, match="no positive case"):
        rank_sources(v, [Case("S1", -1)])
    with pytest.raises(InvalidRecord, match="unknown hazard 'boiling'"):
        rank_sources(v, [Case("S1")], hazard="boiling")
    with pytest.raises(NotFound, match="kill step 'oven': no station or lot"):
        rank_sources(v, [Case("S1")], kill=["oven"])


def test_json_shape(sqlite_store):
    recs = [*ops("F", "S1"), *PRODUCTS, *lots(A="p:leafy"), dlv("d1", "A", "F", "S1", 0.1)]
    d = run(sqlite_store, recs, [Case("S1", 2, day(1))]).to_dict()
    assert set(d) == {"stations", "lots", "total_positive_weight", "cases", "hazard", "kill", "kill_applied",
                      "priors", "notes"}
    assert d["stations"][0] == {"id": "F", "name": "F号", "kind": "CropFarm", "district": None, "score": 1.0,
                                "rank": 1, "tier": "certain",
                                "cases": [{"id": "S1", "kind": "station", "weight": 2.0, "tier": "certain",
                                           "time": at(0.1)}]}
    assert d["lots"][0] == {"id": "A", "product": "p:leafy", "product_name": "青菜", "category": "leafy_vegetable",
                            "lot_number": "N-A", "producer": None, "score": 1.0, "rank": 1, "tier": "certain",
                            "cases": [{"id": "S1", "kind": "station", "weight": 2.0, "tier": "certain",
                                       "time": at(0.1)}]}
    assert d["total_positive_weight"] == 2.0
