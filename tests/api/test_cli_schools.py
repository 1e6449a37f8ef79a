"""foodtrace schools: supply list, alerts, check, subscriptions and the delivery log from the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from tests.reasoning.schools_net import FARM, PIG, SCHOOL1, failing, network, standing


def _run(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res


def test_check_alerts_supply_and_subscriptions(tmp_path):
    db, service = tmp_path / "s.db", tmp_path / "svc.db"
    with open_store(str(db)) as s:
        s.write(network() + standing() + failing("s-farm", PIG, FARM, "2026-03-01"))
    sub = _run("schools", "subscribe", "https://example.org/hook", "--kind", "failed_sample", "--service-db", service)
    assert sub.exit_code == 0, sub.output
    sub_id, secret = sub.stdout.split("\n")[0].split("\t")
    assert secret.startswith("whsec_")
    res = _run("schools", "check", "--store", db, "--service-db", service)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["raised"] == 3            # the failing pork, the D-graded and the listed supplier
    res = _run("schools", "alerts", "--store", db, "--kind", "failed_sample", "--format", "json")
    [alert] = json.loads(res.output)
    assert alert["school_id"] == SCHOOL1 and alert["relation"] == "upstream"
    res = _run("schools", "alerts", "--store", db)
    assert "预警内容" in res.output and "南通市第一小学食堂" in res.output
    res = _run("schools", "supply", "--store", db, "--district", "通州区", "--from", "2026-03-01", "--to", "2026-03-31")
    assert res.exit_code == 0, res.output
    assert "无票据、无合格证明、供应商列入严重违法失信名单" in res.output
    listing = _run("schools", "subscriptions", "--service-db", service).output
    assert sub_id in listing and secret not in listing
    assert _run("schools", "deliveries", "--service-db", service, "--format", "json").output.strip() == "[]"


def test_bad_input_is_one_line_and_changes_nothing(tmp_path):
    service = tmp_path / "svc.db"
    res = _run("schools", "subscribe", "ftp://example.org/x", "--service-db", service)
    assert res.exit_code == 2 and "http:// or https://" in res.output
    assert "wh_" not in _run("schools", "subscriptions", "--service-db", service).output
    res = _run("schools", "supply", "--store", tmp_path / "s.db", "--from", "2026-03-31", "--to", "2026-03-01")
    assert res.exit_code == 2 and "--to is before --from" in res.output


def test_kitchen_rates_from_the_command_line(tmp_path):
    from ontology.records import KitchenCamera, KitchenDay

    db = tmp_path / "s.db"
    with open_store(str(db)) as s:
        s.write(network() + [KitchenCamera(id="kc1", canteen_id=SCHOOL1, connected="2026-02-01"),
                             KitchenDay(id="kd1", canteen_id=SCHOOL1, date="2026-03-02", online_hours=8,
                                        expected_hours=8, tickets_uploaded=True, menu_uploaded=False)])
    res = _run("schools", "kitchens", "--store", db, "--from", "2026-03-01", "--to", "2026-03-31", "--scope", "city")
    assert res.exit_code == 0, res.output
    assert "接入率（目标100.0%）" in res.output and "上传率（目标95.0%）" in res.output
    assert "50.0%" in res.output and "接入率、上传率" in res.output    # 1 of 2 schools connected; no upload complete
    [city] = json.loads(_run("schools", "kitchens", "--store", db, "--from", "2026-03-01", "--to", "2026-03-31",
                             "--scope", "city", "--format", "json").output)
    assert city["rates"] == {"connection": 0.5, "online": 1.0, "upload": 0.0, "rectification": None}
