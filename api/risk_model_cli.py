"""``foodtrace risk evaluate`` and ``foodtrace risk scores``: the failure-risk model on the command line.

``evaluate`` trains on what was known before ``--train-until`` and measures how well the model ranks
the operators' next samples after it (see :mod:`reasoning.risk_model`); ``scores`` gives every
operator's probability that its next sample fails, with the features that raise it most.

>>> print(metric_rows({"roc_auc": 0.71, "lift_vs_grade": None}, "en")[0])
['ROC-AUC', 0.71]
>>> top_text([{"feature": "fail_rate", "zh": "不合格率(平滑)", "en": "failure rate (smoothed)",
...            "contribution": 0.8, "value": 0.25}], "zh")
'不合格率(平滑) 0.25 (+0.80)'
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import click

from ontology.errors import UnreadableFile

from . import render
from .cli_common import date_option, emit, open_cli_store, store_option
from .risk_cli import risk

__all__ = ["METRICS", "metric_rows", "top_text", "score_headers", "score_rows", "read_truth", "baseline_rows",
           "BASELINE_HEADERS"]

#: JSON key -> (Chinese, English)
METRICS: dict[str, tuple[str, str]] = {
    "roc_auc": ("ROC曲线下面积", "ROC-AUC"),
    "pr_auc": ("PR曲线下面积", "PR-AUC"),
    "precision_at_10pct": ("前10%命中率", "precision in the top 10%"),
    "lift_vs_random": ("相对随机抽查提升(双随机)", "lift over random inspection"),
    "lift_vs_grade": ("相对风险等级排序提升", "lift over the grade ordering"),
    "precision_at_10pct_grade": ("按等级排序前10%命中率", "precision in the top 10% by grade"),
    "brier": ("Brier评分(越低越好)", "Brier score (lower is better)"),
    "base_rate": ("测试期不合格率", "failure rate in the test period"),
    "n_train": ("训练样本数", "training rows"),
    "n_train_positive": ("训练样本中不合格", "failed training rows"),
    "n_test": ("测试数(主体或样品)", "tested (operators, or samples with --level sample)"),
    "n_test_positive": ("测试中不合格", "failed in the test"),
    "spearman_latent": ("与潜在风险秩相关", "Spearman with the latent risk"),
    "spearman_exposure": ("与暴露风险秩相关", "Spearman with the exposure"),
}



def metric_rows(result: dict[str, Any], lang: str = "both") -> list[list[Any]]:
    """(name, value) rows of the metrics present in ``result``."""
    rows = []
    for key, (zh, en) in METRICS.items():
        if key in result:
            name = {"zh": zh, "en": en}.get(lang, f"{zh} / {en}")
            rows.append([name, result[key]])
    return rows


def read_truth(path: Path) -> tuple[dict[str, float], dict[str, float] | None]:
    """``operator_id -> latent_risk`` (and ``exposure`` where the file has it) from a truth CSV."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            cols = reader.fieldnames or []
            if "operator_id" not in cols or "latent_risk" not in cols:
                raise UnreadableFile(str(path), "a truth file needs the columns operator_id and latent_risk "
                                                f"(found: {', '.join(cols) or 'none'})")
            latent: dict[str, float] = {}
            exposure: dict[str, float] | None = {} if "exposure" in cols else None
            for i, row in enumerate(reader, start=2):
                try:
                    latent[row["operator_id"]] = float(row["latent_risk"])
                    if exposure is not None:
                        exposure[row["operator_id"]] = float(row["exposure"])
                except (TypeError, ValueError):
                    raise UnreadableFile(str(path), f"row {i}: latent_risk/exposure is not a number") from None
    except OSError as e:
        raise UnreadableFile(str(path), e.strerror or str(e)) from None
    return latent, exposure


@risk.command("evaluate")
@click.option("--train-until", "train_until", required=True, callback=date_option, metavar="DATE",
              help="Train on what was known before this day; evaluate on the samples from this day on")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--truth", "truth", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="The synthetic truth (truth/latent_risk.csv): adds the rank correlation with the latent risk")
@click.option("--method", type=click.Choice(["logistic", "boosting"]), default="logistic", show_default=True,
              help="The classifier: logistic regression or gradient boosting (both calibrated)")
@click.option("--horizon", "horizon", type=click.IntRange(min=1), default=None, metavar="DAYS",
              help="Only test on samples within DAYS after --train-until (default: every later sample)")
@click.option("--level", type=click.Choice(["operator", "sample"]), default="operator", show_default=True,
              help="operator: each operator's next sample; sample: every later sample scored as a planned sample "
                   "(as rank-plan scores a plan)")
@store_option
def evaluate_command(train_until: date, fmt: str, truth: Path | None, method: str, horizon: int | None,
                     level: str, store_url: str | None) -> None:
    """Train the failure-risk model before --train-until and measure it on what came after.

    --level operator: for each operator sampled on or after --train-until, did its next sample fail?
    --level sample: every food sample known on or after --train-until, given to the model as a plan.
    Beside the model, on the same test rows: random inspection (双随机), the regulatory grade ordering, the
    category base rate alone, the own history alone and "no nominal producer" alone.
    """
    from graph.view import ReadView

    latent, exposure = read_truth(truth) if truth else (None, None)
    with open_cli_store(store_url) as store:
        if level == "sample":
            from reasoning.sample_risk import evaluate_samples

            result = evaluate_samples(ReadView(store), train_until, horizon_days=horizon)
        else:
            from reasoning.risk_model import evaluate

            result = evaluate(ReadView(store), train_until, latent=latent, exposure=exposure, method=method,
                              horizon_days=horizon)
    if fmt == "json":
        click.echo(render.json_text(result))
        return
    what = (f"模型/model {result['method']}；切点/cuts {result['cuts']}" if level == "operator"
            else f"按计划样品/per planned sample；训练样本/training rows {result['n_train']}")
    click.echo(f"失败风险模型评估 / failure-risk model evaluation（训练截至/trained before {result['train_until']}；"
               f"{what}）")
    click.echo(render.text_table(metric_rows(result), ["指标/metric", "值/value"]))
    click.echo("")
    click.echo("与基线比较（同一测试集）/ against the baselines (same test rows)")
    click.echo(render.text_table(baseline_rows(result), BASELINE_HEADERS))
    for key, title in (("with_history", "有品类历史的样品/rows whose category has history"),
                       ("two_table_sources", "公布合格与不合格两表的来源/rows of sources publishing both tables")):
        if key in result:
            sub = result[key]
            click.echo("")
            click.echo(f"{title}: n={sub['n']}, 不合格/failed {sub['positive']}")
            click.echo(render.text_table(baseline_rows({"roc_auc": sub["model"]["roc_auc"],
                                                        "precision_at_10pct": sub["model"]["precision_at_10pct"],
                                                        "baselines": {k: v for k, v in sub.items()
                                                                      if k not in ("n", "positive", "model")}}),
                                         BASELINE_HEADERS))
    if level == "operator":
        click.echo(f"等级来源/grades from: {result['grade_source']}")
        click.echo("")
        click.echo("校准/reliability（按预测概率五等分/quintiles of the prediction）")
        click.echo(render.text_table([[b["n"], b["predicted"], b["observed"]] for b in result["reliability"]],
                                     ["主体数/n", "预测/predicted", "实际/observed"]))


#: headers of the baseline table
BASELINE_HEADERS = ["排序/ordering", "ROC-AUC", "前10%命中率/precision top 10%", "模型更优/model beats (AUC, top 10%)"]


def baseline_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The model and each baseline: ROC-AUC, precision in the top 10 % and whether the model beats it.

    >>> baseline_rows({"roc_auc": 0.7, "precision_at_10pct": 0.2,
    ...                "baselines": {"random": {"roc_auc": 0.5, "precision_at_10pct": 0.25}}})[1]
    ['随机抽查(双随机) / random (double-random inspection)', 0.5, 0.25, '是/yes, 否/no']
    """
    from reasoning.risk_model import beats
    from reasoning.sample_risk import BASELINES

    model = {"roc_auc": result["roc_auc"], "precision_at_10pct": result["precision_at_10pct"]}
    won = beats({"model": model, **result["baselines"]})

    def yes(v: bool | None) -> str:
        return "–" if v is None else "是/yes" if v else "否/no"

    rows: list[list[Any]] = [["模型 / model", model["roc_auc"], model["precision_at_10pct"], ""]]
    for name, fig in result["baselines"].items():
        zh, en = BASELINES.get(name, (name, name))
        rows.append([f"{zh} / {en}", fig["roc_auc"], fig["precision_at_10pct"],
                     f"{yes(won[name]['roc_auc'])}, {yes(won[name]['precision_at_10pct'])}"])
    return rows


def top_text(top: list[dict[str, Any]], lang: str = "zh") -> str:
    """The top contributing features as one cell: name, the operator's value, (+log-odds)."""
    sep = "；" if lang == "zh" else "; "
    parts = []
    for t in top:
        name = t["zh" if lang == "zh" else "en"]
        v = t.get("value")
        shown = "" if v is None or "=" in t.get("feature", "=") else f" {v:.4g}" if isinstance(v, float) else f" {v}"
        parts.append(f"{name}{shown} (+{t['contribution']:.2f})")
    return sep.join(parts)


def score_headers(lang: str) -> list[str]:
    zh = ["排名", "主体标识", "名称", "主体类型", "不合格概率", "主要风险因素"]
    en = ["rank", "operator", "name", "kind", "probability", "top features"]
    if lang == "both":
        return [f"{a}/{b}" for a, b in zip(zh, en)]
    return zh if lang == "zh" else en


def score_rows(scores: Any, lang: str = "zh") -> list[list[Any]]:
    from ontology.vocab import labels

    kinds = {k: v[1 if lang == "en" else 0] for k, v in labels("operator_kind").items()}
    return [[int(r["rank"]), oid, r["name"], kinds.get(r.kind, r.kind), round(float(r.probability), 4),
             top_text(r.top_features, "en" if lang == "en" else "zh")]
            for oid, r in scores.iterrows()]


@risk.command("scores")
@click.option("--as-of", "as_of", callback=date_option, metavar="DATE",
              help="Train and score on what was known before this day (default: the day after the latest date)")
@click.option("--top", "top", type=click.IntRange(min=1), default=None, metavar="N",
              help="Only the N riskiest operators")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write to this file instead of stdout")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of kinds, features and CSV headers (the table headers show both)")
@click.option("--method", type=click.Choice(["logistic", "boosting"]), default="logistic", show_default=True)
@store_option
def scores_command(as_of: date | None, top: int | None, fmt: str, out: Path | None, lang: str, method: str,
                   store_url: str | None) -> None:
    """Each operator's probability that its next sample fails, riskiest first, with the features that raise it.

    The model is trained on the store's history before --as-of (contributions: coefficient x standardised
    value of each feature, in log-odds). Internal to the regulator: never publish these scores.
    """
    from graph.view import ReadView
    from reasoning.risk_model import score_operators

    with open_cli_store(store_url) as store:
        scores = score_operators(ReadView(store), as_of=as_of, method=method)
    click.echo(f"基准日/as of {scores.attrs['as_of']}", err=True)
    if top is not None:
        scores = scores.head(top)
    if fmt == "json":
        text = render.json_text([{"operator_id": oid, "rank": int(r["rank"]), "name": r["name"], "kind": r.kind,
                                  "probability": round(float(r.probability), 6), "top_features": r.top_features}
                                 for oid, r in scores.iterrows()])
    elif fmt == "csv":
        text = render.csv_text(score_rows(scores, lang), score_headers(lang))
    else:
        text = render.text_table(score_rows(scores, lang), score_headers("both"))
    emit(text, out, fmt)

