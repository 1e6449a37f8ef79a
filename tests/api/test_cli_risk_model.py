"""foodtrace risk evaluate / risk scores on a small hand-made sampling history."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api.cli import cli
from graph.store import open_store
from ontology.records import Inspection, Operator, Sample

KEYS = {"roc_auc", "pr_auc", "precision_at_10pct", "lift_vs_random", "lift_vs_grade", "brier", "n_train", "n_test"}


@pytest.fixture
def db(tmp_path):
    """Twelve stalls sampled every month of 2025 and the first half of 2026; the first three keep failing."""
    path = str(tmp_path / "h.db")
    recs = []
    for i in range(12):
        oid = f"op{i:02d}"
        recs.append(Operator(id=oid, kind="Stall" if i % 2 else "Restaurant", name=f"主体{i:02d}"))
        if i < 3:
            recs.append(Inspection(id=f"in{i}", operator_id=oid, date="2025-01-05", result="fail"))
        for m in range(18):
            y, mm = 2025 + m // 12, m % 12 + 1
            bad = (i < 3 and m % 3 != 1) or (i == 7 and m == 4)
            recs.append(Sample(id=f"s{i}-{m}", plan="rapid", sampled_id=oid, product_name="芹菜",
                               sampled_at=f"{y}-{mm:02d}-{10 + i:02d}",
                               conclusion="nonconforming" if bad else "conforming"))
    with open_store(path) as s:
        s.write(recs)
    return path


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_evaluate_json_and_table(db, tmp_path):
    r = run("risk", "evaluate", "--train-until", "2026-01-01", "--format", "json", "--store", db)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert KEYS <= set(out)
    assert out["n_test"] == 12 and out["n_test_positive"] == 3
    assert out["precision_at_10pct"] == 1.0 and out["lift_vs_random"] == 4.0 and out["roc_auc"] == 1.0
    assert out["train_until"] == "2026-01-01"
    t = run("risk", "evaluate", "--train-until", "2026-01-01", "--store", db)
    assert t.exit_code == 0, t.output
    assert "相对随机抽查提升(双随机) / lift over random inspection" in t.output
    assert "校准/reliability" in t.output and "ROC曲线下面积 / ROC-AUC" in t.output
    truth = tmp_path / "latent_risk.csv"
    truth.write_text("operator_id,latent_risk,exposure\n" + "".join(
        f"op{i:02d},{0.3 if i < 3 else 0.01},{0.1}\n" for i in range(12)), encoding="utf-8")
    j = json.loads(run("risk", "evaluate", "--train-until", "2026-01-01", "--format", "json", "--truth", str(truth),
                       "--store", db).output)
    assert j["n_latent"] == 12 and j["spearman_latent"] > 0.5 and j["spearman_exposure"] is None


def test_evaluate_bad_input(db, tmp_path):
    r = run("risk", "evaluate", "--train-until", "1 May", "--store", db)
    assert r.exit_code == 2 and "is not a date (YYYY-MM-DD)" in r.output
    r = run("risk", "evaluate", "--store", db)
    assert r.exit_code == 2 and "--train-until" in r.output
    r = run("risk", "evaluate", "--train-until", "2024-01-01", "--store", db)
    assert r.exit_code == 2 and r.output.strip() == "foodtrace: no operator was sampled before 2024-01-01: nothing to learn from"
    bad = tmp_path / "t.csv"
    bad.write_text("id,risk\nop00,1\n", encoding="utf-8")
    r = run("risk", "evaluate", "--train-until", "2026-01-01", "--truth", str(bad), "--store", db)
    assert r.exit_code == 2 and "needs the columns operator_id and latent_risk" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_scores_formats(db, tmp_path):
    r = run("risk", "scores", "--as-of", "2026-07-01", "--top", "3", "--store", db)
    assert r.exit_code == 0, r.output
    assert r.stderr.strip() == "基准日/as of 2026-07-01"
    lines = r.stdout.splitlines()
    assert lines[0].startswith("排名/rank") and "主要风险因素/top features" in lines[0]
    assert len(lines) == 2 + 3
    assert {ln.split()[2] for ln in lines[2:]} == {"主体00", "主体01", "主体02"}   # the three that keep failing
    assert "不合格" in r.output
    j = json.loads(run("risk", "scores", "--as-of", "2026-07-01", "--format", "json", "--store", db).stdout)
    assert len(j) == 12 and j[0]["rank"] == 1 and 0 <= j[-1]["probability"] <= j[0]["probability"] <= 1
    assert {"feature", "zh", "en", "contribution", "value"} <= set(j[0]["top_features"][0])
    out = tmp_path / "scores.csv"
    r = run("risk", "scores", "--format", "csv", "--out", str(out), "--store", db)
    assert r.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert out.read_text(encoding="utf-8-sig").splitlines()[0] == "排名,主体标识,名称,主体类型,不合格概率,主要风险因素"
    en = run("risk", "scores", "--format", "csv", "--lang", "en", "--top", "1", "--store", db).stdout
    assert en.lstrip("\ufeff").splitlines()[0] == "rank,operator,name,kind,probability,top features"
    assert len(en.strip().splitlines()) == 2


def test_scores_without_history_is_one_line(tmp_path):
    path = str(tmp_path / "e.db")
    with open_store(path) as s:
        s.write([Operator(id="a", kind="Stall", name="摊")])
    r = run("risk", "scores", "--store", path)
    assert r.exit_code == 2 and r.output.startswith("foodtrace: ") and len(r.output.strip().splitlines()) == 1


def test_grade_and_scores_default_to_the_same_as_of_day(db):
    """`risk grade` and `risk scores` read the default as-of day from one place (ontology.times.default_as_of):
    the day after the latest dated record, a delivery included. They once disagreed: grading looked at samples,
    inspections, cases, complaints and credit only, the features at deliveries too."""
    from ontology.records import Delivery

    with open_store(db) as s:
        s.write([Delivery(id="late", lot_id="l", sender_id="op00", receiver_id="op01",
                          time="2026-08-31T20:00:00")])      # no offset: Beijing time, on 2026-08-31
    grade = CliRunner().invoke(cli, ["risk", "grade", "--no-model", "--store", db])
    scores = CliRunner().invoke(cli, ["risk", "scores", "--format", "json", "--store", db])
    assert grade.exit_code == 0 and scores.exit_code == 0, grade.output + scores.output
    assert "基准日/as of 2026-09-01" in grade.output
    assert "基准日/as of 2026-09-01" in scores.stderr
