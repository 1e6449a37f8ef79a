"""The public read model stays current: answers served twice are the same as computed live, and a
write to the store (from another process, as `foodtrace load` would) shows in the next lookup."""

from __future__ import annotations

from urllib.parse import quote

from graph.store import open_store
from graph.view import ReadView
from ontology.records import Operator, Sample, TestResult
from reasoning.lookup import public_code, public_lot

from . import dataset as D

PORK = f"/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}"


def _json(c, path):
    r = c.get(path, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


def _strip(body):
    return {k: v for k, v in body.items() if k not in ("digital_link", "attributes", "links")}


def test_served_twice_equals_live(writable_server):
    with open_store(writable_server.store) as s:
        live_lot = public_lot(ReadView(s), D.PORK_LOT)
        live_code = public_code(ReadView(s), D.PORK_TRACE_CODE)
    with writable_server.client() as c:
        first, second = _json(c, PORK), _json(c, PORK)
        code1, code2 = _json(c, "/t/" + quote(D.PORK_TRACE_CODE)), _json(c, "/t/" + quote(D.PORK_TRACE_CODE))
    assert _strip(first) == _strip(second) == live_lot
    assert _strip(code1) == _strip(code2) == live_code
    assert code1["chain"] != first["chain"]  # the code's answer is stored apart from the lot's


def test_upstream_write_from_another_process_shows_next_time(writable_server):
    with writable_server.client() as c:
        assert _json(c, PORK)["notices"] == []
        # a rapid test of the pig lot fails: the pork lot made from it must now carry the notice
        with open_store(writable_server.store) as s:
            s.write([Sample(id="urn:foodtrace:sample:rapid-pig", plan="rapid", sampled_id=D.SLAUGHTER,
                            product_name="生猪", lot_id=D.PIG_LOT, sampled_at="2026-11-01",
                            conclusion="nonconforming"),
                     TestResult(id="urn:foodtrace:test_result:rapid-pig:1", sample_id="urn:foodtrace:sample:rapid-pig",
                                item="莱克多巴胺", hazard_class="illegal_additive", conclusion="nonconforming")])
        notices = _json(c, PORK)["notices"]
        assert [(n["lot_id"], n["items"]) for n in notices] == [(D.PIG_LOT, ["莱克多巴胺"])]
        # the greens lot is not made from the pig lot: its answer stays as it was
        greens = _json(c, f"/01/{D.GREENS_GTIN}/10/CX-1105")
        assert [n["items"] for n in greens["notices"]] == [["毒死蜱"]]


def test_operator_change_refreshes_every_answer(writable_server):
    html = {"Accept": "text/html"}
    with writable_server.client() as c:
        before = _json(c, PORK)
        assert "南通肉联厂有限公司" in str(before["chain"])
        page = c.get(PORK, headers=html).text
        assert "南通肉联厂有限公司" in page and c.get(PORK, headers=html).text == page  # stored, served again
        with open_store(writable_server.store) as s:
            s.write([Operator(id=D.SLAUGHTER, kind="Slaughterhouse", name="南通市肉类联合加工厂")])
        after = _json(c, PORK)
        page_after = c.get(PORK, headers=html).text
    assert "南通市肉类联合加工厂" in str(after["chain"]) and "南通肉联厂有限公司" not in str(after["chain"])
    # the certificate's issuer is text written on it, so the old name stays there only
    assert "南通市肉类联合加工厂" in page_after and "南通市肉类联合加工厂" not in page


def test_public_cache_cli_warm_and_stats(writable_server):
    import json
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "api.cli", "public-cache", *a, "--store",  # noqa: E731
                                     writable_server.store, "--service-db", writable_server.service_db],
                                    capture_output=True, text=True)
    r = run("warm", "--pages", "zh")
    assert r.returncode == 0, r.stderr
    stats = json.loads(run("stats").stdout)
    # 3 lots, 2 trace codes, each with its Chinese page
    assert stats["views"] == 5 and stats["pages"] == 5 and stats["bytes"] > 0
    assert run("warm").stdout.strip().startswith("0 ")  # all current: nothing computed again
    assert run("clear").returncode == 0 and json.loads(run("stats").stdout)["views"] == 0


def test_a_pruned_change_log_never_leaves_an_answer_stale(tmp_path, monkeypatch):
    """The read model prunes the change log it has followed; a reader that lagged past pruned rows sees the
    gap and treats everything as changed, so its stored answer is recomputed."""
    from api.service import projection
    from ontology.records import Lot, Product

    monkeypatch.setattr(projection, "PRUNE_EVERY", 0.0)
    monkeypatch.setattr(projection, "CHANGE_KEEP", 1)
    with open_store(str(tmp_path / "s.db")) as s:
        s.write([Product(id="p", name="青菜"), Lot(id="l", product_id="p", lot_number="L1"),
                 Lot(id="other", product_id="p")])
        lagging = projection.PublicViews(str(tmp_path / "lagging.db"), s)
        compute = lambda: {"id": "l", "n": s.get("lot", "l").lot_number}  # noqa: E731
        assert lagging.get("l", None, compute)["n"] == "L1"
        follower = projection.PublicViews(str(tmp_path / "follower.db"), s)
        s.write([Lot(id="l", product_id="p", lot_number="L2")])  # the change the lagging reader must not miss
        for i in range(5):
            s.write([Lot(id="other", product_id="p", lot_number=str(i))])
            follower.poll()  # follows and prunes what it followed
        rows = s.changes_since(0)
        assert len(rows) <= 2 and rows[-1][0] == s.change_seq()  # pruned; the numbers went on
        assert lagging.get("l", None, compute)["n"] == "L2"  # the gap: recomputed, not the stale L1
        lagging.close()
        follower.close()


def test_the_change_log_is_kept_for_the_slowest_reader_of_the_service_database(tmp_path, monkeypatch):
    """The read model prunes only below the oldest position a reader of its service database still needs: the
    school-alert checker lagging behind keeps the rows it has not followed (exactly those); once it has
    followed them, they go."""
    from api.service import projection
    from api.webhooks import Webhooks
    from ontology.records import Lot, Product

    monkeypatch.setattr(projection, "PRUNE_EVERY", 0.0)
    monkeypatch.setattr(projection, "CHANGE_KEEP", 1)
    service = str(tmp_path / "service.db")
    with open_store(str(tmp_path / "s.db")) as s:
        s.write([Product(id="p", name="青菜"), Lot(id="l", product_id="p", lot_number="L1")])
        hooks = Webhooks(service)
        behind = s.change_seq()
        hooks.note_position(behind)  # the alert checker has followed the log up to here
        views = projection.PublicViews(service, s)
        for i in range(5):
            s.write([Lot(id="l", product_id="p", lot_number=str(i))])
            views.poll()
        assert [seq for seq, _ in s.changes_since(behind)] == list(range(behind + 1, s.change_seq() + 1))
        hooks.note_position(s.change_seq())  # it caught up
        s.write([Lot(id="l", product_id="p", lot_number="last")])
        views.poll()
        assert len(s.changes_since(0)) <= 2
        views.close()
        hooks.close()


def test_public_cache_warm_since_a_day_warms_only_the_lots_delivered_from_it(writable_server):
    """`--since`: the lots with a delivery on or after the day (Beijing time) and their trace codes; the pig lot,
    delivered on 31 October at 20:00 Beijing time only, is left to its first lookup."""
    import json
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "api.cli", "public-cache", *a, "--store",  # noqa: E731
                                     writable_server.store, "--service-db", writable_server.service_db],
                                    capture_output=True, text=True)
    with open_store(writable_server.store) as s:
        codes = [c.lot_id for c in s.scan("trace_code")]  # the lot of each trace code
    r = run("warm", "--since", "2026-11-03")
    assert r.returncode == 0, r.stderr
    assert json.loads(run("stats").stdout)["views"] == 1 + codes.count(D.GREENS_LOT)
    r = run("warm", "--since", "2026-11-01")  # pork (delivered 1 and 2 November) too; not the pig lot
    expected = 2 + sum(c in (D.PORK_LOT, D.GREENS_LOT) for c in codes)
    assert json.loads(run("stats").stdout)["views"] == expected
    assert run("warm", "--since", "1 November").returncode == 2  # not a date
    assert "--since" in run("warm", "--since", "1 November").stderr
