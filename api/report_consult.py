"""``foodtrace report consult``: the risk consultation report (风险会商报告) as one self-contained HTML file.

The figures come from :func:`reasoning.consult.consultation`; this module draws the charts (matplotlib PNGs
with the project's CJK font, embedded as base64) and writes the page. The page loads nothing: styles,
pictures and a subset of the CJK font (:func:`api.fonts.cjk_font_face`) are inline, so Chinese renders on a
machine without Chinese fonts and without a network, and the file can be mailed or put on a USB stick for
the meeting.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import click

from ontology import vocab
from ontology.times import now

from .cli_common import date_option, lang_option, open_cli_store, store_option
from .fonts import WEB_FAMILY, cjk_font_face, use_cjk_font
from .risk_cli import report

if TYPE_CHECKING:
    import pandas as pd

    from reasoning.consult import Consultation

__all__ = ["render_html", "write_report", "trend_chart", "grade_chart", "consult_command", "label"]

#: colours of the grades A-D (green to red) and of the two periods
GRADE_COLOURS = {"A": "#2E7D32", "B": "#9CCC65", "C": "#FFB300", "D": "#C62828"}
PERIOD_COLOURS = ("#C62828", "#B0BEC5")
#: stacked bars: at most this many groups by name, the rest as "other"
MAX_GROUPS = 7
_PALETTE = ("#C62828", "#EF6C00", "#F9A825", "#2E7D32", "#1565C0", "#6A1B9A", "#00838F", "#9E9E9E")

_UNKNOWN = ("未注明", "not recorded")


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def label(scheme: str, value: str | None, lang: str = "zh") -> str:
    """The Chinese (or English) label of a vocabulary term; the value itself where it is not one.

    >>> label("category", "pork"), label("hazard_class", "vet_drug", "en"), label("region", "unknown")
    ('猪肉', 'Veterinary drug residues', '未注明')
    """
    if value is None or value == "unknown":
        return _t(lang, *_UNKNOWN)
    pair = vocab.labels(scheme).get(value)
    if pair is None:
        return str(value)
    return pair[1] if lang == "en" else pair[0]


_SCHEME = {"category": "category", "hazard": "hazard_class", "district": "region", "kind": "operator_kind",
           "plan": "sample_plan"}


def _pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.{digits}f}%"


def _pp(x: float | None, lang: str) -> str:
    """A change of a rate in percentage points."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    v = 100 * x
    sign = "+" if v > 0.05 else ("" if v > -0.05 else "−")
    return f"{sign}{abs(v):.1f} {_t(lang, '个百分点', 'pp')}" if abs(v) >= 0.05 else _t(lang, "持平", "no change")


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else (f"−{-n}" if n < 0 else "0")


def _esc(x: Any) -> str:
    return html.escape("" if x is None else str(x))


# -- charts --------------------------------------------------------------------------------------------

def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    use_cjk_font()
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def trend_chart(c: "Consultation", by: str, lang: str = "zh") -> str:
    """Base64 PNG: nonconforming samples per month stacked by group (left) and per group, this period
    against the previous one (right)."""
    trend, comp = c.trends[by], c.comparisons[by]
    scheme = _SCHEME[by]
    fig = _figure(11, 3.8)
    left, right = fig.subplots(1, 2, width_ratios=[1.4, 1])
    months = list(dict.fromkeys(trend["month"])) or c.period.months()
    totals = trend.groupby("group")["nonconforming"].sum().sort_values(ascending=False)
    shown = [g for g in totals.index if totals[g] > 0][:MAX_GROUPS]
    bottom = [0] * len(months)
    x = list(range(len(months)))
    for i, g in enumerate(shown):
        vals = (trend[trend["group"] == g].set_index("month")["nonconforming"].reindex(months, fill_value=0)
                .tolist())
        colour = "#9E9E9E" if g == "unknown" else _PALETTE[i % (len(_PALETTE) - 1)]
        left.bar(x, vals, bottom=bottom, color=colour, label=label(scheme, g, lang))
        bottom = [b + v for b, v in zip(bottom, vals)]
    rest = trend[~trend["group"].isin(shown)].groupby("month")["nonconforming"].sum().reindex(months, fill_value=0)
    if rest.sum() > 0:
        left.bar(x, rest.tolist(), bottom=bottom, color="#CFD8DC", label=_t(lang, "其他", "others"))
    left.set_xticks(x, [m[2:] for m in months], rotation=45 if len(months) > 8 else 0, fontsize=8)
    left.set_title(_t(lang, "各月不合格样品数", "Nonconforming samples per month"), fontsize=11)
    left.set_ylabel(_t(lang, "不合格样品（批次）", "nonconforming samples"))
    left.yaxis.get_major_locator().set_params(integer=True)
    if shown:
        left.legend(fontsize=8, loc="upper left", frameon=False)
    else:
        left.text(0.5, 0.5, _t(lang, "本期无不合格样品", "no nonconforming samples in the period"),
                  ha="center", va="center", transform=left.transAxes, color="#555555")
    top = comp[(comp["nonconforming"] > 0) | (comp["prev_nonconforming"] > 0)].head(10)
    names = [label(scheme, g, lang) for g in top.index][::-1]
    y = list(range(len(names)))
    right.barh([v + 0.2 for v in y], top["nonconforming"].tolist()[::-1], height=0.4, color=PERIOD_COLOURS[0],
               label=_t(lang, "本期", "this period"))
    right.barh([v - 0.2 for v in y], top["prev_nonconforming"].tolist()[::-1], height=0.4,
               color=PERIOD_COLOURS[1], label=_t(lang, "上期", "previous period"))
    right.set_yticks(y, names, fontsize=9)
    right.xaxis.get_major_locator().set_params(integer=True)
    right.set_title(_t(lang, "本期与上期对比（不合格样品数）", "This period vs the previous one"), fontsize=11)
    if names:
        right.legend(fontsize=8, loc="lower right", frameon=False)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def grade_chart(table: "pd.DataFrame", scheme: str, title: str, lang: str = "zh") -> str:
    """Base64 PNG: operators per grade, stacked A-D, one bar per group (the ``total`` row left out)."""
    body = table.drop(index="total", errors="ignore")
    body = body[body["total"] > 0]
    fig = _figure(5.4, 0.42 * max(len(body), 3) + 1.2)
    ax = fig.subplots()
    names = [label(scheme, g, lang) for g in body.index][::-1]
    left = [0] * len(names)
    for g in ("A", "B", "C", "D"):
        vals = body[g].tolist()[::-1]
        ax.barh(names, vals, left=left, color=GRADE_COLOURS[g], label=g)
        left = [a + b for a, b in zip(left, vals)]
    ax.set_title(title, fontsize=11)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(*ax.get_legend_handles_labels(), ncols=4, fontsize=8, loc="outside lower center", frameon=False)
    return _png(fig)


# -- tables ---------------------------------------------------------------------------------------------

def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Sequence[int] = (),
           cls: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = []
    for r in rows:
        cells = "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f'<p class="empty">{"–"}</p>'
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _comparison_table(comp: "pd.DataFrame", scheme: str, lang: str, dim_name: str) -> str:
    hazard = scheme == "hazard_class"
    headers = [dim_name, _t(lang, "本期抽检", "samples"), _t(lang, "本期不合格", "nonconforming"),
               _t(lang, "本期不合格率", "rate") if not hazard else _t(lang, "占抽检比例", "share of samples"),
               _t(lang, "上期抽检", "prev. samples"), _t(lang, "上期不合格", "prev. nonconforming"),
               _t(lang, "上期不合格率", "prev. rate") if not hazard else _t(lang, "上期占比", "prev. share"),
               _t(lang, "不合格数变化", "change"), _t(lang, "比率变化", "rate change")]
    rows = []
    for g, r in comp.iterrows():
        up = r["change"] > 0
        rows.append([_esc(label(scheme, g, lang)), int(r["samples"]), int(r["nonconforming"]), _pct(r["rate"]),
                     int(r["prev_samples"]), int(r["prev_nonconforming"]), _pct(r["prev_rate"]),
                     f'<span class="{"up" if up else ""}">{_signed(int(r["change"]))}</span>',
                     _pp(r["rate_change"], lang)])
    return _table(headers, rows, numeric=range(1, 9))


def _monthly_table(trend: "pd.DataFrame", scheme: str, lang: str, dim_name: str) -> str:
    months = list(dict.fromkeys(trend["month"]))
    headers = [dim_name, *months]
    rows = []
    for g, sub in trend.groupby("group", sort=False):
        if sub["nonconforming"].sum() == 0 and scheme == "hazard_class":
            continue
        cells = []
        for _, r in sub.iterrows():
            if r["samples"] == 0 and r["nonconforming"] == 0:
                cells.append('<span class="dim">–</span>')
            else:
                text = f'{int(r["nonconforming"])}/{int(r["samples"])}'
                cells.append(f'<span class="hot">{text}</span> <small>{_pct(r["rate"], 0)}</small>'
                             if r["nonconforming"] > 0 else text)
        rows.append([_esc(label(scheme, g, lang)), *cells])
    return _table(headers, rows, numeric=range(1, len(headers)), cls="monthly")


def _name(c: "Consultation", operator_id: str | None) -> str:
    if not operator_id:
        return "–"
    op = c.operators.get(operator_id)
    return getattr(op, "name", None) or operator_id


def _short_id(record_id: str) -> str:
    """A record id as a reader knows it: the local part of a ``urn:foodtrace:`` id, percent-decoded.

    >>> _short_id("urn:foodtrace:case:%E9%80%9A%E5%B8%82-2025-01"), _short_id("https://id.gs1.org/414/6901")
    ('通市-2025-01', 'https://id.gs1.org/414/6901')
    """
    from urllib.parse import unquote

    if record_id.startswith("urn:foodtrace:"):
        return unquote(record_id.rsplit(":", 1)[-1])
    return record_id


def _evidence(ids: Sequence[str], lang: str, limit: int = 4) -> str:
    ids = list(ids or ())
    if not ids:
        return ""
    shown = "、".join(_esc(_short_id(i)) for i in ids[:limit])
    more = len(ids) - limit
    if more > 0:
        shown += _t(lang, f" 等 {len(ids)} 项", f" and {more} more")
    return f'<div class="evidence">{_t(lang, "依据", "evidence")}: {shown}</div>'


def _factor_name(f: Any, lang: str) -> str:
    return (getattr(f, "name_en", None) if lang == "en" else getattr(f, "name_zh", None)) or getattr(f, "code", "")


def _feature_text(feat: Any, lang: str) -> str:
    """A model's top contributing feature, whatever shape the model gives it in."""
    if isinstance(feat, str):
        return _esc(feat)
    if isinstance(feat, dict):
        name = (feat.get("en" if lang == "en" else "zh") or feat.get("name_en" if lang == "en" else "name_zh")
                or feat.get("feature") or feat.get("name"))
        val = feat.get("contribution", feat.get("value"))
        return _esc(f"{name} ({val:+.2f})" if isinstance(val, (int, float)) else name)
    if isinstance(feat, (tuple, list)) and len(feat) >= 2 and isinstance(feat[-1], (int, float)):
        return _esc(f"{feat[0]} ({feat[-1]:+.2f})")
    return _esc(feat)


def _top_risk_section(c: "Consultation", lang: str) -> str:
    if not c.top:
        return f'<p class="empty">{_t(lang, "没有评级结果。", "No grades.")}</p>'
    kinds = vocab.labels("operator_kind")
    out = []
    for t in c.top:
        a = t.assessment
        op = c.operators.get(t.operator_id)
        kind = getattr(op, "kind", None)
        kind_text = (kinds.get(kind, (kind, kind))[1 if lang == "en" else 0]) if kind else "–"
        district = label("region", getattr(op, "region_id", None), lang)
        badges = [f'<span class="grade g{_esc(t.grade)}">{_esc(t.grade)}</span>']
        head = (f'<div class="op-head">{"".join(badges)} <b>{t.rank}. {_esc(_name(c, t.operator_id))}</b> '
                f'<span class="meta">{_esc(kind_text)} · {_esc(district)} · '
                f'{_t(lang, "风险分值", "points")} {float(t.score or 0):.1f}')
        if t.probability is not None:
            head += f' · {_t(lang, "模型预测下次抽检不合格概率", "model: P(next sample fails)")} {_pct(t.probability)}'
        head += "</span></div>"
        flags = []
        method = (getattr(a, "method", None) if lang == "en" else None) or getattr(a, "method_zh", None) or getattr(
            a, "method", None)
        if method:
            flags.append(f'{_t(lang, "评定方法", "method")}: {_esc(method)}')
        if getattr(a, "credit_class", None):
            src = getattr(a, "credit_class_source", None)
            src_text = {"official": _t(lang, "官方", "official"), "computed": _t(lang, "按记录计算", "computed")}.get(
                src or "", src or "")
            flags.append(f'{_t(lang, "信用等级", "credit class")}: {_esc(a.credit_class)}'
                         + (f" ({_esc(src_text)})" if src_text else ""))
        ov = c.overrides.get(t.operator_id)
        if ov is not None:
            flags.append(f'<span class="up">{_t(lang, "人工调整为", "overridden to")} {_esc(ov.grade)} '
                         f'{_t(lang, "级", "")}（{_esc(ov.by)}，{_esc(str(ov.created)[:10])}：{_esc(ov.reason)}）</span>')
        if getattr(a, "serious_dishonest", False):
            flags.append(f'<span class="up">{_t(lang, "列入严重违法失信名单：直接定为 D 级", "on the serious dishonesty list: D")}</span>')
        if getattr(a, "haccp_applied", False):
            flags.append(_t(lang, "HACCP 认证：向 A 级调整一级", "HACCP: one grade toward A"))
        parts = []
        for label_zh, label_en, value in (("静态风险", "static", getattr(a, "static", None)),
                                          ("动态风险", "dynamic", getattr(a, "dynamic", None)),
                                          ("信用风险", "credit", getattr(a, "credit", None))):
            if value is not None:
                parts.append(f"{_t(lang, label_zh, label_en)} {float(value):.1f}")
        if parts:
            flags.append(" + ".join(parts))
        rows = []
        for f in t.factors:
            note = (getattr(f, "note_en", None) if lang == "en" else None) or getattr(f, "note", "") or ""
            rows.append([_esc(_factor_name(f, lang)),
                         f"{float(f.points):g} / {float(getattr(f, 'max_points', 0) or 0):g}",
                         _esc(note) + _evidence(getattr(f, "evidence", ()), lang)])
        factors = _table([_t(lang, "计分因素", "factor"), _t(lang, "得分/满分", "points / max"),
                          _t(lang, "说明与依据", "note and evidence")], rows, numeric=(1,), cls="factors")
        model = ""
        if t.top_features:
            model = (f'<div class="model">{_t(lang, "模型主要贡献特征", "top model features")}: '
                     + "；".join(_feature_text(x, lang) for x in t.top_features[:5]) + "</div>")
        out.append(f'<div class="operator">{head}<div class="flags">{" · ".join(flags)}</div>{factors}{model}'
                   f'<div class="id">{_esc(t.operator_id)}</div></div>')
    return "".join(out)


def _alert_text(a: Any, lang: str) -> dict[str, Any]:
    """The fields of an early warning (:class:`reasoning.alerts.Alert`) the page shows."""
    ops = tuple(getattr(a, "operator_ids", ()) or ())
    first, last = getattr(a, "first", None), getattr(a, "last", None)
    span = first if not last or last == first else f"{first} – {last}"
    message = (getattr(a, "message_en", None) if lang == "en" else None) or getattr(a, "message", "")
    return {"level": getattr(a, "level", "") or "", "kind": getattr(a, "kind", "") or "", "message": message,
            "operator": ops[0] if ops else "", "date": span or "", "evidence": list(getattr(a, "sample_ids", ()) or ())}


_LEVELS = {"red_line": ("红线", "red line"), "warning": ("预警", "warning"), "overdue": ("逾期", "overdue"),
           "cluster": ("聚集", "cluster")}
_KINDS = {"repeat_failure": ("同一企业同一产品不合格", "repeat failures of one product"),
          "overdue_disposal": ("核查处置逾期", "overdue disposal"),
          "supplier_cluster": ("供货方下游不合格聚集", "failures clustering at a supplier's buyers")}


def _alerts_section(c: "Consultation", lang: str) -> str:
    if not c.alerts:
        return f'<p class="empty">{_t(lang, "截至本期末无预警。", "No warnings as of the end of the period.")}</p>'
    counts: dict[str, int] = {}
    for a in c.alerts:
        counts[getattr(a, "level", "")] = counts.get(getattr(a, "level", ""), 0) + 1
    summary = "，".join(f"{_t(lang, *_LEVELS.get(k, (k, k)))} {n}" for k, n in counts.items())
    rows = []
    for a in c.alerts:
        x = _alert_text(a, lang)
        lv = _LEVELS.get(x["level"], (x["level"], x["level"]))
        kind = _KINDS.get(x["kind"], (x["kind"], x["kind"]))
        cls = {"red_line": "red", "warning": "warn", "overdue": "warn"}.get(x["level"], "")
        rows.append([f'<span class="lvl {cls}">{_esc(_t(lang, *lv))}</span>', _esc(_t(lang, *kind)),
                     _esc(x["message"]), _esc(_name(c, x["operator"])) if x["operator"] else "–", _esc(x["date"])])
    intro = _t(lang, f"截至 {c.as_of} 的预警：{summary}。", f"Warnings as of {c.as_of}: {summary}.")
    return f"<p>{_esc(intro)}</p>" + _table([_t(lang, "级别", "level"), _t(lang, "类型", "kind"),
                                             _t(lang, "预警内容", "warning"), _t(lang, "主体", "operator"),
                                             _t(lang, "日期", "dates")], rows, cls="alerts")


def _grade_table(table: "pd.DataFrame", scheme: str, lang: str, dim_name: str) -> str:
    rows = []
    for g, r in table.iterrows():
        name = _t(lang, "合计", "total") if g == "total" else label(scheme, g, lang)
        rows.append([_esc(name), *(int(r[x]) for x in ("A", "B", "C", "D", "total"))])
    return _table([dim_name, "A", "B", "C", "D", _t(lang, "合计", "total")], rows, numeric=range(1, 6))


def _disposal_section(c: "Consultation", lang: str) -> str:
    from reasoning.consult import DISPOSAL_STATUSES

    d = c.disposal
    rate = d.completion_rate
    ok = rate is None or rate >= 1.0
    cards = (f'<div class="cards"><div class="card {"good" if ok else "bad"}"><div class="big">{_pct(rate)}</div>'
             f'{_t(lang, f"核查处置完成率（{d.completed}/{d.due}，目标 100%）", f"completion rate ({d.completed}/{d.due}, target 100%)")}</div>'
             f'<div class="card"><div class="big">{d.nonconforming}</div>{_t(lang, "本期不合格样品", "nonconforming samples")}</div>'
             + "".join(f'<div class="card {"bad" if s in ("overdue", "no_deadline") and n else ""}"><div class="big">{n}</div>'
                       f'{_esc(_t(lang, *DISPOSAL_STATUSES[s]))}</div>' for s, n in d.counts.items()) + "</div>")
    pending = d.rows[d.rows["status"] != "done_on_time"]
    rows = [[_esc(_t(lang, *DISPOSAL_STATUSES[r["status"]])), _esc(r["date"]), _esc(_name(c, r["sampled_id"])),
             _esc(r["disposal_due"] or "–"), _esc(r["disposal_done"] or "–"),
             int(r["days_overdue"]) if r["days_overdue"] else "", _esc(_short_id(str(r["sample_id"])))]
            for _, r in pending.iterrows()]
    table = _table([_t(lang, "状态", "status"), _t(lang, "抽样日期", "sampled"), _t(lang, "被抽样单位", "sampled at"),
                    _t(lang, "处置期限", "due"), _t(lang, "完成日期", "done"), _t(lang, "逾期天数", "days overdue"),
                    _t(lang, "样品", "sample")], rows, numeric=(5,))
    rule = _t(lang, f"完成率 = 处置期限已过（{c.as_of} 之前）的不合格样品中已完成核查处置的比例；未到期的不计入，"
                    "未记录期限的单独列出。",
              f"Completion rate = share of the nonconforming samples due before {c.as_of} whose disposal is "
              "completed; samples not yet due are not counted; samples without a deadline are listed.")
    note = (_t(lang, "未按期完成或尚未完成的样品：", "Samples not disposed of on time, or not yet:") if rows else
            _t(lang, "全部按期完成。", "All done on time.") if d.nonconforming else
            _t(lang, "本期无不合格样品。", "No nonconforming samples."))
    return cards + f'<p class="sub">{_esc(rule)}</p><p>{note}</p>' + (table if rows else "")


def _overview(c: "Consultation", lang: str) -> str:
    t = c.totals
    tot = t.loc["total"]
    reds = sum(1 for a in c.alerts if getattr(a, "level", None) == "red_line")
    n_d = sum(1 for a in c.assessments if getattr(a, "grade", None) == "D")
    cards = [
        (f'{int(tot["samples"])}', _t(lang, f"抽检样品（上期 {int(tot['prev_samples'])}）",
                                      f"samples (previous {int(tot['prev_samples'])})"), ""),
        (f'{int(tot["nonconforming"])}', _t(lang, f"不合格（上期 {int(tot['prev_nonconforming'])}）",
                                            f"nonconforming (previous {int(tot['prev_nonconforming'])})"),
         "bad" if tot["change"] > 0 else ""),
        (_pct(tot["rate"]), _t(lang, f"不合格率（{_pp(tot['rate_change'], lang)}）",
                               f"nonconforming rate ({_pp(tot['rate_change'], lang)})"), ""),
        (_pct(c.disposal.completion_rate), _t(lang, "核查处置完成率", "disposal completion"),
         "good" if c.disposal.completion_rate in (None, 1.0) else "bad"),
        (f"{len(c.alerts)}", _t(lang, f"预警（红线 {reds}）", f"warnings (red line {reds})"), "bad" if reds else ""),
        (f"{n_d}", _t(lang, f"D 级主体（共 {len(c.assessments)} 家评级）", f"grade D operators (of {len(c.assessments)})"),
         ""),
    ]
    html_cards = '<div class="cards">' + "".join(
        f'<div class="card {cls}"><div class="big">{_esc(v)}</div>{_esc(text)}</div>' for v, text, cls in cards) + "</div>"
    rows = []
    for plan, r in t.iterrows():
        name = _t(lang, "合计", "total") if plan == "total" else label("sample_plan", plan, lang)
        rows.append([_esc(name), int(r["samples"]), int(r["nonconforming"]), _pct(r["rate"]), int(r["prev_samples"]),
                     int(r["prev_nonconforming"]), _pct(r["prev_rate"]), _signed(int(r["change"])),
                     _pp(r["rate_change"], lang), int(r["disputed"])])
    table = _table([_t(lang, "抽检类型", "plan"), _t(lang, "本期抽检", "samples"), _t(lang, "本期不合格", "nonconforming"),
                    _t(lang, "本期不合格率", "rate"), _t(lang, "上期抽检", "prev. samples"),
                    _t(lang, "上期不合格", "prev. nonconforming"), _t(lang, "上期不合格率", "prev. rate"),
                    _t(lang, "不合格数变化", "change"), _t(lang, "比率变化", "rate change"),
                    _t(lang, "存在异议", "disputed")], rows, numeric=range(1, 10))
    return html_cards + table


_CSS = """
body {{ font-family: {family}, "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Zen Hei", sans-serif;
  margin: 0; background: #F5F5F5; color: #212121; font-size: 14px; line-height: 1.55; }}
main {{ max-width: 1180px; margin: 0 auto; background: white; padding: 28px 40px 40px; }}
h1 {{ font-size: 26px; margin: 0 0 4px; color: #B71C1C; border-bottom: 3px solid #B71C1C; padding-bottom: 8px; }}
h2 {{ font-size: 20px; margin: 32px 0 10px; border-left: 5px solid #B71C1C; padding-left: 10px; }}
h3 {{ font-size: 16px; margin: 22px 0 8px; color: #37474F; }}
.sub {{ color: #555; margin: 6px 0 0; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }}
.card {{ flex: 1 1 140px; border: 1px solid #E0E0E0; border-radius: 6px; padding: 10px 12px; background: #FAFAFA; }}
.card .big {{ font-size: 24px; font-weight: bold; }}
.card.bad .big {{ color: #C62828; }} .card.good .big {{ color: #2E7D32; }}
table {{ border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }}
th, td {{ border: 1px solid #E0E0E0; padding: 4px 8px; vertical-align: top; }}
th {{ background: #ECEFF1; font-weight: bold; text-align: left; }}
td.num {{ text-align: right; white-space: nowrap; }}
.scroll {{ overflow-x: auto; }}
table.monthly td {{ text-align: center; white-space: nowrap; }} table.monthly td:first-child {{ text-align: left; }}
table.monthly small {{ color: #777; }}
.hot {{ color: #C62828; font-weight: bold; }} .dim {{ color: #BBB; }} .up {{ color: #C62828; font-weight: bold; }}
img.chart {{ max-width: 100%; display: block; margin: 6px 0; }}
.grades {{ display: flex; flex-wrap: wrap; gap: 24px; }} .grades > div {{ flex: 1 1 420px; }}
.operator {{ border: 1px solid #E0E0E0; border-radius: 6px; padding: 10px 14px; margin: 10px 0; }}
.op-head b {{ font-size: 15px; }} .meta {{ color: #555; margin-left: 8px; }}
.flags {{ color: #37474F; margin: 4px 0; font-size: 13px; }}
.grade {{ display: inline-block; min-width: 22px; text-align: center; color: white; border-radius: 4px;
  font-weight: bold; padding: 0 4px; }}
.gA {{ background: #2E7D32; }} .gB {{ background: #7CB342; }} .gC {{ background: #FFB300; }} .gD {{ background: #C62828; }}
table.factors {{ width: 100%; }} table.factors td:first-child {{ white-space: nowrap; }}
table.alerts td:first-child, table.alerts td:nth-child(2) {{ white-space: nowrap; }}
.evidence, .id, .model {{ color: #666; font-size: 12px; word-break: break-all; }}
.lvl {{ font-weight: bold; }} .lvl.red {{ color: white; background: #C62828; padding: 0 4px; border-radius: 3px; }}
.lvl.warn {{ color: #E65100; }}
.empty {{ color: #777; }}
.notes li {{ margin: 3px 0; color: #444; }}
@media print {{ body {{ background: white; }} main {{ padding: 0; }} .operator, table, img {{ page-break-inside: avoid; }} }}
"""


def render_html(c: "Consultation", *, lang: str = "zh", store_name: str = "") -> str:
    """The report page (one string; no external resource)."""
    en = lang == "en"
    dims = {"category": ("一", "按食品类别", "By food category"), "hazard": ("二", "按危害类别", "By hazard class"),
            "district": ("三", "按区县", "By district")}
    from reasoning.consult import DIMENSIONS

    trend_parts = []
    for i, (by, (num, zh, en_title)) in enumerate(dims.items(), 1):
        scheme = _SCHEME[by]
        dim_name = DIMENSIONS[by][1 if en else 0]
        chart = trend_chart(c, by, lang)
        alt = _t(lang, f"不合格趋势{zh}", f"Nonconformity trend {en_title.lower()}")
        trend_parts.append(
            f'<h3>2.{i} {_t(lang, zh, en_title)}</h3>'
            f'<img class="chart" alt="{_esc(alt)}" src="data:image/png;base64,{chart}">'
            f'<div class="scroll">{_comparison_table(c.comparisons[by], scheme, lang, dim_name)}</div>'
            f'<p class="sub">{_t(lang, "各月不合格/抽检（不合格率）", "Nonconforming / samples per month (rate)")}</p>'
            f'<div class="scroll">{_monthly_table(c.trends[by], scheme, lang, dim_name)}</div>')
    kind_chart = grade_chart(c.grades_by_kind, "operator_kind", _t(lang, "按主体类型", "By kind of operator"), lang)
    district_chart = grade_chart(c.grades_by_district, "region", _t(lang, "按区县", "By district"), lang)
    grades = (f'<div class="grades"><div><img class="chart" alt="{_t(lang, "风险等级分布（主体类型）", "grades by kind")}" '
              f'src="data:image/png;base64,{kind_chart}">'
              f'{_grade_table(c.grades_by_kind, "operator_kind", lang, _t(lang, "主体类型", "kind"))}</div>'
              f'<div><img class="chart" alt="{_t(lang, "风险等级分布（区县）", "grades by district")}" '
              f'src="data:image/png;base64,{district_chart}">'
              f'{_grade_table(c.grades_by_district, "region", lang, _t(lang, "区县", "district"))}</div></div>')
    if c.overrides:
        grades += "<p>" + _esc(_t(lang, f"以上为按计分表计算的等级；另有 {len(c.overrides)} 家主体的等级由信用监管人员人工调整（在用）。",
                                  f"These are the computed grades; {len(c.overrides)} operator(s) have a grade override "
                                  "in force.")) + "</p>"
    config = sorted({str(getattr(a, "config_version", "")) for a in c.assessments} - {""})
    notes = [
        _t(lang, "样品按抽样日期（无抽样日期时按公告日期）计入期间；每个样品只计一次。",
           "Samples are dated by their sampling date (else their announcement date); each sample counts once."),
        _t(lang, "不合格率 = 不合格样品数 ÷ 抽检样品数。按危害类别时，分母为全部抽检样品（公告只列出不合格项目），"
                 "一个样品有两类危害不合格时在两类中各计一次。",
           "Rate = nonconforming samples / samples. By hazard class the denominator is every sample (announcements "
           "list only the failed items); a sample failing for two hazards counts in both."),
        _t(lang, "食品类别取样品记录的类别，缺失时取产品类别；区县取被抽样单位所在区县。",
           "Category: the sample's, else its product's; district: where the sample was taken."),
        _t(lang, "存在异议的样品计入趋势（检验结论不变），但不计入同一企业同一产品的批次预警。",
           "Disputed samples are counted in the trends (the result stands) but not in the warnings."),
        _t(lang, f"上期为本期之前等长的期间（{c.previous}）。首末月份可能不完整。",
           f"The previous period is the equally long period before ({c.previous}). The first and last months may "
           "be partial."),
        _t(lang, f"风险等级、模型概率、预警和核查处置均以 {c.as_of} 之前的记录为准。",
           f"Grades, model probabilities, warnings and disposal use the records dated before {c.as_of}."),
        _t(lang, "高风险主体按风险等级（D 级在前）、风险分值、模型概率排序；分级依据为各计分因素及其证据编号。",
           "Top-risk operators are ordered by grade (D first), points, then the model's probability; every grade "
           "is explained by its factors and evidence ids."),
    ]
    if config:
        notes.append(_t(lang, f"分级计分表版本：{', '.join(config)}。", f"Points table version: {', '.join(config)}."))
    notes.extend(_esc(n) for n in c.notes)
    title = _t(lang, "风险会商报告", "Risk consultation report")
    subtitle = _t(lang, f"统计期间：{c.period.start} 至 {c.period.end}（{c.period.days} 天）；"
                        f"对比期间：{c.previous.start} 至 {c.previous.end}",
                  f"Period {c.period.start} to {c.period.end} ({c.period.days} days); compared with "
                  f"{c.previous.start} to {c.previous.end}")
    stamp = now().strftime("%Y-%m-%d %H:%M")
    generated = _t(lang, f"生成时间：{stamp}", f"Generated {stamp}")
    if store_name:
        generated += f" · {_t(lang, '数据', 'store')}: {_esc(store_name)}"
    body = f"""
<h1>{_esc(_t(lang, "南通市食品安全" + title, "Nantong food safety: " + title.lower()))}</h1>
<p class="sub">{_esc(subtitle)}</p><p class="sub">{generated}</p>
<h2>{_t(lang, "一、总体情况", "1. Overview")}</h2>
{_overview(c, lang)}
<h2>{_t(lang, "二、不合格趋势", "2. Nonconformity trends")}</h2>
{"".join(trend_parts)}
<h2>{_t(lang, "三、风险预警", "3. Early warnings")}</h2>
{_alerts_section(c, lang)}
<h2>{_t(lang, "四、高风险主体及分级说明", "4. Top-risk operators and their grades")}</h2>
{_top_risk_section(c, lang)}
<h2>{_t(lang, "五、风险等级分布", "5. Grade distribution")}</h2>
{grades}
<h2>{_t(lang, "六、核查处置完成情况", "6. Verification and disposal (核查处置)")}</h2>
{_disposal_section(c, lang)}
<h2>{_t(lang, "说明", "Notes")}</h2>
<ul class="notes">{"".join(f"<li>{n}</li>" for n in notes)}</ul>
"""
    face = cjk_font_face(title + body) or ""
    css = _CSS.format(family=f'"{WEB_FAMILY}"')
    return (f'<!DOCTYPE html>\n<html lang="{"en" if en else "zh-CN"}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_esc(title)} '
            f'{c.period.start} – {c.period.end}</title>\n<style>\n{face}\n{css}</style>\n</head>\n<body><main>'
            f'{body}</main></body>\n</html>\n')


def write_report(c: "Consultation", path: Path | str, *, lang: str = "zh", store_name: str = "") -> Path:
    """Write the report page to ``path`` (UTF-8) and return the path."""
    p = Path(path)
    p.write_text(render_html(c, lang=lang, store_name=store_name), encoding="utf-8")
    return p


# -- the command -------------------------------------------------------------------------------------

def _store_label(url: str) -> str:
    """The store as the report names it: a file's name, or a server's scheme, host and port (never a user
    or password).

    >>> _store_label("bolt://neo4j:secret@10.0.0.5:7687"), _store_label("/data/city.db")
    ('bolt://10.0.0.5:7687', 'city.db')
    """
    from urllib.parse import urlparse

    u = urlparse(url)
    if u.scheme and u.scheme != "sqlite" and u.hostname:
        return f"{u.scheme}://{u.hostname}" + (f":{u.port}" if u.port else "")
    return Path(u.path if u.scheme == "sqlite" else url).name


@report.command("consult")
@click.option("--from", "start", required=True, metavar="DATE", callback=date_option,
              help="First day of the period (YYYY-MM-DD)")
@click.option("--to", "end", required=True, metavar="DATE", callback=date_option,
              help="Last day of the period (YYYY-MM-DD), included")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write")
@click.option("--top", default=10, show_default=True, type=click.IntRange(0, 200),
              help="Number of top-risk operators to explain")
@click.option("--no-model", is_flag=True, help="Leave the failure-risk model's probabilities out")
@lang_option("Language of the report")
@store_option
def consult_command(start: dt.date, end: dt.date, out: Path, top: int, no_model: bool, lang: str,
                    store_url: str | None) -> None:
    """The risk consultation report (风险会商报告) as one self-contained HTML file.

    Nonconformity trends by food category, hazard class and district (per month, against the previous
    period of equal length) with charts, early warnings, the top-risk operators with their grade
    explanations, the grade distribution and the 核查处置 completion rate.
    """
    from graph.view import ReadView
    from reasoning.consult import consultation

    from .settings import get_settings

    if start > end:
        raise click.UsageError(f"--from {start} is after --to {end}")
    url = store_url or get_settings().store
    with open_cli_store(url) as store:
        c = consultation(ReadView(store), start, end, top=top, model=not no_model)
    path = write_report(c, out, lang=lang, store_name=_store_label(str(url)))
    tot = c.totals.loc["total"]
    click.echo(f"{_t(lang, '报告已写入', 'report written to')} {path} "
               f"({path.stat().st_size / 1024:,.0f} KB): {int(tot['samples'])} {_t(lang, '个样品', 'samples')}, "
               f"{int(tot['nonconforming'])} {_t(lang, '个不合格', 'nonconforming')}, {len(c.alerts)} "
               f"{_t(lang, '条预警', 'warnings')}, {len(c.assessments)} {_t(lang, '家主体评级', 'operators graded')}",
               err=True)
