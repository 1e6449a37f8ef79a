"""foodtrace events: create (a period ending before it starts is refused), vet (the page and the workbook list a
supplier's failed sample)."""

from __future__ import annotations

import openpyxl
from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from tests.reasoning.schools_net import (DIST, FARM, PIG, PORK, PORK2, SCHOOL1, SCHOOL2, SLAUGHTER, VEG, VFARM,
                                        failing, network, standing)
from tests.reasoning.test_events import history


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_create_and_vet(tmp_path):
    db = tmp_path / "s.db"
    with open_store(str(db)) as s:
        s.write(network() + standing() + failing("s-farm", PIG, FARM, "2026-01-10", item="克伦特罗"))
    bad = _run("events", "create", "运动会", "--level", "municipal", "--start", "2026-03-04", "--end", "2026-03-02",
               "--store", db)
    assert bad.exit_code == 2 and "before it starts" in bad.output
    res = _run("events", "create", "2026南通国际会议", "--level", "municipal", "--start", "2026-03-02", "--end",
               "2026-03-04", "--kitchen", SCHOOL1, "--supplier", FARM, "--supplier", DIST, "--venue", "南通国际会议中心",
               "--store", db)
    assert res.exit_code == 0, res.output
    event = res.output.strip()
    with open_store(str(db)) as s:
        assert [e.id for e in s.scan("major_event")] == [event]
    res = _run("events", "vet", event, "--as-of", "2026-02-20", "--out", tmp_path / "r.html", "--xlsx",
               tmp_path / "r.xlsx", "--store", db)
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "2026南通国际会议 食品安全保障报告" in page and "s-farm" in page and "克伦特罗" in page
    assert "不建议入选" in page and "<script" not in page
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == ["供应商审查", "不合格样品", "进货明细", "风险抽检清单"]
    assert [c.value for c in wb["不合格样品"][2]][1:5] == ["s-farm", "2026-01-10", "猪肉", "克伦特罗"]
    assert "2026南通国际会议" in _run("events", "list", "--store", db).output


def test_sampling_list_and_after_report(tmp_path):
    import json

    db = tmp_path / "s.db"
    with open_store(str(db)) as s:
        s.write(network() + standing() + history())
    event = _run("events", "create", "2026南通运动会", "--level", "municipal", "--start", "2026-03-02", "--end",
                 "2026-03-04", "--kitchen", SCHOOL1, "--kitchen", SCHOOL2, "--supplier", DIST, "--supplier", VFARM,
                 "--supplier", SLAUGHTER, "--store", db).output.strip()
    res = _run("events", "sampling-list", event, "--as-of", "2026-03-05", "--format", "json", "--store", db)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["rows"]
    assert [r["lot_id"] for r in rows][-1] == VEG and {r["lot_id"] for r in rows} == {PORK, VEG, PORK2}
    table = _run("events", "sampling-list", event, "--as-of", "2026-03-05", "--store", db).output
    assert "不合格概率" in table and "南通市第一小学食堂" in table
    assert _run("events", "sampling-list", event, "--format", "xlsx", "--store", db).exit_code == 2
    res = _run("events", "after", event, "--as-of", "2026-03-20", "--out", tmp_path / "a.html", "--xlsx",
               tmp_path / "a.xlsx", "--store", db)
    assert res.exit_code == 0, res.output
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert "2026南通运动会 食品安全保障总结报告" in page and "零事故" in page
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert wb.sheetnames == ["结论", "进货明细", "抽检结果", "核查处置", "投诉举报", "校园预警"]
    assert [c.value for c in wb["结论"][6]] == ["结论", "零事故"]
    up = _run("trace", "up", PORK, "--format", "json", "--store", db)
    assert up.exit_code == 0 and FARM in up.output
