"""foodtrace banquets and the banquet templates: registration, the chef register, guidance, reminders, statistics;
bad input is one line (or a reject row) and changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import json

from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from ontology.times import today


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _day(n: int) -> str:
    return str(today() + dt.timedelta(days=n))


def test_register_guide_remind_and_count_from_the_command_line(tmp_path):
    db = tmp_path / "s.db"
    res = _run("banquets", "chef", "王师傅", "--district", "海门区", "--health-cert-expiry", _day(10),
               "--health-cert-no", "JK-1", "--store", db)
    assert res.exit_code == 0, res.output
    chef = res.output.strip()
    res = _run("banquets", "register", "JC-1", "--host", "张某", "--date", _day(5), "--place", "海门区某村",
               "--district", "海门区", "--guests", 260, "--chef", chef, "--kind", "婚宴", "--store", db)
    assert res.exit_code == 0, res.output
    rem = json.loads(_run("banquets", "reminders", "--store", db, "--format", "json").output)
    assert [r["kind"] for r in rem] == ["large_banquet_unguided", "chef_certificate_expiring"]
    res = _run("banquets", "guide", "JC-1", "--date", _day(5), "--by", "李四", "--rectified", "--store", db)
    assert res.exit_code == 0, res.output
    rem = json.loads(_run("banquets", "reminders", "--store", db, "--format", "json").output)
    assert [r["kind"] for r in rem] == ["chef_certificate_expiring"]
    stats = json.loads(_run("banquets", "stats", "--from", _day(0), "--to", _day(30), "--format", "json",
                            "--store", db).output)
    assert [(s["district_id"], s["registered"], s["large"], s["large_guided"]) for s in stats] == [
        ("urn:foodtrace:region:320614", 1, 1, 1)]
    listing = _run("banquets", "list", "--store", db).output
    assert "JC-1" in listing and "张某" not in listing       # hosts are personal data


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    db = tmp_path / "s.db"
    res = _run("banquets", "chef", "李师傅", "--district", "海门区", "--store", db)
    assert res.exit_code == 2 and "健康证有效期至" in res.output
    res = _run("banquets", "register", "JC-2", "--host", "张某", "--date", _day(-1), "--place", "某村",
               "--district", "海门区", "--guests", 50, "--store", db)
    assert res.exit_code == 2 and "before it is registered" in res.output
    with open_store(str(db)) as s:
        assert s.counts().get("banquet", 0) == 0 and s.counts().get("chef", 0) == 0 and s.counts()["operator"] == 0


def test_banquet_templates_load_and_reject_bad_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "s.db"
    (tmp_path / "chefs.csv").write_text(
        "姓名,所属区县,健康证编号,健康证有效期至\n王师傅,海门区,JK-1,2027-03-31\n李师傅,海门区,JK-2,\n", encoding="utf-8")
    (tmp_path / "banquets.csv").write_text(
        "报备编号,举办者,聚餐日期,聚餐地点,所属区县,就餐人数,厨师,报备时间\n"
        "HM-1,张某,2026-10-01,海门区某村,海门区,240,JK-1,2026-09-20 09:00\n"
        "HM-2,赵某,2026-09-01,海门区某村,海门区,80,,2026-09-20 09:00\n"
        "HM-3,钱某,2026-10-02,海门区某村,海门区,0,,2026-09-20\n", encoding="utf-8")
    (tmp_path / "guidance.csv").write_text("报备编号,指导日期,指导人员,当场整改\nHM-1,2026-10-01,李四,是\nHM-9,2026-10-01,李四,否\n",
                                           encoding="utf-8")
    (tmp_path / "census.csv").write_text("所属区县,月份,摸底数\n海门区,2026-10,40\n海门区,2026年13月,3\n", encoding="utf-8")
    res = _run("load", *(tmp_path / f for f in ("chefs.csv", "banquets.csv", "guidance.csv", "census.csv")),
               "--store", db, "--rejects", tmp_path / "rejects.csv")
    assert res.exit_code == 1, res.output      # loaded, with rejects
    rejects = list(csv.DictReader(open(tmp_path / "rejects.csv", encoding="utf-8-sig")))
    reasons = sorted(next(v for k, v in r.items() if k and ("reason" in k or "原因" in k)) for r in rejects)
    assert len(reasons) == 5, rejects
    assert any("健康证有效期至" in x or "required" in x for x in reasons)
    assert any("before it is registered" in x for x in reasons)
    assert any("at least 1" in x for x in reasons)
    assert any("HM-9" in x for x in reasons) and any("YYYY-MM" in x for x in reasons)
    with open_store(str(db)) as s:
        assert [b.number for b in s.scan("banquet")] == ["HM-1"]
        assert s.get("operator", "urn:foodtrace:operator:banquet:HM-1").kind == "RuralBanquet"
        assert len(list(s.scan("banquet_guidance"))) == 1 and len(list(s.scan("chef"))) == 1
        assert [(c.month, c.expected) for c in s.scan("banquet_census")] == [("2026-10", 40)]
