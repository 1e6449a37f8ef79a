"""The demo and the reporting commands, run as a user runs them (real processes, a real SQLite file)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib

FOODTRACE = str(Path(sys.executable).parent / "foodtrace")


def run(*args: str, cwd: Path, store: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "FOODTRACE_PROGRESS": "false"}
    if store is not None:
        env["FOODTRACE_STORE"] = str(store)
    return subprocess.run([FOODTRACE, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo run shared by the tests of this module."""
    work = tmp_path_factory.mktemp("demo")
    out = run("demo", "--scale", "3000", "--seed", "2026", "--out", str(work / "d"), cwd=work)
    return work, out


def test_demo_runs_every_step_and_conforms(demo):
    work, out = demo
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for heading in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5."):
        assert heading in out.stdout
    assert "SHACL conforms" in out.stdout
    assert "崇川区" in out.stdout and "全市" in out.stdout
    assert "Traceback" not in out.stderr
    assert (work / "d" / "demo.db").exists() and (work / "d" / "demo.ttl").exists()


def test_demo_again_changes_nothing(demo):
    work, _ = demo
    store = work / "d" / "demo.db"
    before = json.loads(run("stats", "--format", "json", cwd=work, store=store).stdout)
    again = run("demo", "--scale", "3000", "--seed", "2026", "--out", str(work / "d"), cwd=work)
    assert again.returncode == 0
    after = json.loads(run("stats", "--format", "json", cwd=work, store=store).stdout)
    assert after == before
    rows = [line.split() for line in again.stdout.splitlines() if line.endswith("成功/ok")]
    assert rows and all(r[3] == "0" for r in rows), "a second load of the same files changed records"


def test_stats_json(demo):
    work, _ = demo
    data = json.loads(run("stats", "--format", "json", cwd=work, store=work / "d" / "demo.db").stdout)
    assert data["counts"]["delivery"] == 3000
    assert set(data["districts"]) >= {"崇川区", "通州区", "海门区", "如东县", "启东市", "如皋市", "海安市"}
    assert sum(d["deliveries_received"] for d in data["districts"].values()) == 3000


def test_chain_check_formats(demo, tmp_path):
    work, _ = demo
    store = work / "d" / "demo.db"
    js = json.loads(run("chain-check", "--format", "json", cwd=work, store=store).stdout)
    totals = js["totals"]
    assert totals["deliveries"] == 3000
    assert 0 < totals["ticket_share"] < 1 and 0 < totals["certificate_share"] < 1
    gaps = js["gaps"]
    assert len([g for g in gaps if g["kind"] == "ticket"]) == totals["deliveries"] - totals["with_ticket"]
    out = tmp_path / "chain.csv"
    res = run("chain-check", "--format", "csv", "--out", str(out), cwd=work, store=store)
    assert res.returncode == 0
    text = out.read_text(encoding="utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == "维度/dimension" and "有票率/ticket %" in header
    assert "缺失/missing" in text


def test_export_rdf_both_formats(demo, tmp_path):
    work, _ = demo
    store = work / "d" / "demo.db"
    ttl, jsonld = tmp_path / "x.ttl", tmp_path / "x.jsonld"
    assert run("export", "rdf", "--format", "turtle", "--out", str(ttl), cwd=work, store=store).returncode == 0
    assert run("export", "rdf", "--format", "json-ld", "--out", str(jsonld), cwd=work, store=store).returncode == 0
    g1 = rdflib.Graph().parse(ttl, format="turtle")
    g2 = rdflib.Graph().parse(jsonld, format="json-ld")
    assert len(g1) == len(g2) > 10000


def test_blank_templates_load_cleanly(tmp_path):
    res = run("templates", "--out", str(tmp_path / "t"), cwd=tmp_path)
    assert res.returncode == 0
    written = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert "deliveries.xlsx" in written and "operators.csv" in written
    csvs = sorted(str(p) for p in (tmp_path / "t").glob("*.csv"))
    load = run("load", *csvs, cwd=tmp_path, store=tmp_path / "t.db")
    assert load.returncode == 0, load.stdout + load.stderr
