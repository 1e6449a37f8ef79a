"""The indicators' renderings: a text table, a workbook, and each district's 述职 pack (照单述职).

The figures are :func:`reasoning.indicators.indicators`'; this module lays them out. The 述职 pack of a
district is one workbook (指标总览: months x indicators with value, target and a red / amber / green fill;
明细: the records behind each figure that falls short; 说明: definitions, targets, sources, populations) and
one self-contained HTML page (Chinese first, English below each heading) with charts drawn by matplotlib in
the project's CJK font (:mod:`api.fonts`) and a subset of that font embedded, so the Chinese renders offline
on any machine.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ontology.handling import CITY, districts
from ontology.indicators import ORDER

from .fonts import cjk_font_face, use_cjk_font

if TYPE_CHECKING:
    from reasoning.indicators import IndicatorReport, IndicatorValue

__all__ = ["text_report", "write_workbook", "render_pack_html", "write_packs", "district_name", "format_value"]

_STATUS_ZH = {"green": "达标", "amber": "预警", "red": "未达标", None: "—"}
_FILL = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
_CSS_COLOR = {"green": "#1e7b34", "amber": "#a36b00", "red": "#b3261e", None: "#666"}


def district_name(d: str, lang: str = "zh") -> str:
    """崇川区 / Chongchuan District; 全市 / Nantong (city)."""
    if d == CITY:
        return "全市" if lang == "zh" else "Nantong (city)"
    zh, en = districts().get(d, (d, d))
    return zh if lang == "zh" else en


def format_value(v: "IndicatorValue") -> str:
    """``95.0%``, ``0.31/千人`` (per 1,000), ``0`` (a count), ``—`` without a value."""
    x = v.value
    if x is None:
        return "—"
    if v.indicator == "red_lines":
        return str(int(x))
    if v.indicator == "sampling_per_1000":
        return f"{x:.3f}"
    return f"{x * 100:.1f}%"


def target_text(rep: "IndicatorReport", ind: str) -> str:
    i = rep.table.indicators[ind]
    if ind == "red_lines":
        return "0"
    if ind == "sampling_per_1000":
        return f"≥{i.target:.3f}"
    return f"≥{i.target * 100:.0f}%"


def _values(rep: "IndicatorReport", district: str) -> dict[tuple[str, str], "IndicatorValue"]:
    return {(v.month, v.indicator): v for v in rep.values if v.district == district}


def text_report(rep: "IndicatorReport") -> str:
    """One table per district (and the city): a row per indicator, a column per month, the status marked."""
    mark = {"green": "", "amber": " !", "red": " ✗", None: ""}
    parts = [f"长效动态管理指标 / demonstration-city indicators {rep.start} – {rep.end} (as of {rep.as_of}, "
             f"table {rep.table.version}); ! 预警 amber, ✗ 未达标 red"]
    from . import render

    for d in rep.districts:
        vals = _values(rep, d)
        rows = []
        for ind in ORDER:
            i = rep.table.indicators[ind]
            rows.append([i.zh, target_text(rep, ind)] + [format_value(vals[(m, ind)]) + mark[vals[(m, ind)].status(rep.table)]
                                                     if (m, ind) in vals else "" for m in rep.months])
        parts.append(f"\n{district_name(d)} / {district_name(d, 'en')}")
        parts.append(render.text_table(rows, ["指标/indicator", "目标/target", *rep.months]))
    parts.extend(f"\n{n}" for n in rep.notes)
    return "\n".join(parts)


# -- the workbook --------------------------------------------------------------------------------------------


def _sheet_overview(ws: Any, rep: "IndicatorReport", scope: Iterable[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    ws.append(["区县 / district", "指标 / indicator", "目标 / target", *rep.months])
    for c in ws[1]:
        c.font = Font(bold=True)
    for d in scope:
        vals = _values(rep, d)
        for ind in ORDER:
            i = rep.table.indicators[ind]
            row = [district_name(d), f"{i.zh}\n{i.en}", target_text(rep, ind)]
            statuses = []
            for m in rep.months:
                v = vals.get((m, ind))
                row.append(v.value if v is not None else None)
                statuses.append(v.status(rep.table) if v is not None else None)
            ws.append(row)
            r = ws.max_row
            ws.cell(r, 2).alignment = Alignment(wrap_text=True)
            for j, st in enumerate(statuses):
                cell = ws.cell(r, 4 + j)
                if ind not in ("red_lines", "sampling_per_1000"):
                    cell.number_format = "0.0%"
                elif ind == "sampling_per_1000":
                    cell.number_format = "0.000"
                if st in _FILL:
                    cell.fill = PatternFill("solid", fgColor=_FILL[st])
    ws.freeze_panes = "D2"
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 40
    ws.auto_filter.ref = ws.dimensions


def _sheet_detail(ws: Any, rep: "IndicatorReport", scope: Iterable[str]) -> None:
    from openpyxl.styles import Font

    ws.append(["区县 / district", "月份 / month", "指标 / indicator", "分子 / numerator", "分母 / denominator",
               "数值 / value", "状态 / status", "记录 / record (gaps, overdue, nonconforming ...)"])
    for c in ws[1]:
        c.font = Font(bold=True)
    scope = set(scope)
    for v in rep.values:
        if v.district not in scope or v.district == CITY:
            continue
        i = rep.table.indicators[v.indicator]
        st = v.status(rep.table)
        for rid in v.evidence or [""]:
            if rid or v.numerator or v.denominator:
                ws.append([district_name(v.district), v.month, i.zh, v.numerator, v.denominator, v.value,
                           _STATUS_ZH[st], rid])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _sheet_notes(ws: Any, rep: "IndicatorReport") -> None:
    from openpyxl.styles import Alignment, Font

    ws.append(["指标 / indicator", "定义", "definition", "目标 / target", "预警线 / amber", "来源 / source"])
    for c in ws[1]:
        c.font = Font(bold=True)
    for ind in ORDER:
        i = rep.table.indicators[ind]
        ws.append([f"{i.zh} / {i.en}", i.definition_zh, i.definition_en, target_text(rep, ind), i.amber,
                   "本系统设定 / designed here" if i.designed else (i.source or "")])
        for c in ws[ws.max_row]:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    ws.append(["期间 / period", f"{rep.start} – {rep.end}", f"as of {rep.as_of}", f"指标表版本 {rep.table.version}"])
    ws.append(["常住人口（2020年第七次全国人口普查）/ population (2020 census)"])
    for d, n in sorted(rep.table.population.items()):
        ws.append([district_name(d), n])
    for n in rep.notes:
        ws.append([n])
    for col, w in zip("ABCDEF", (36, 60, 60, 12, 12, 24)):
        ws.column_dimensions[col].width = w


def write_workbook(rep: "IndicatorReport", path: Path | str, *, district: str | None = None) -> Path:
    """The indicators as a workbook (the district's and the city's where ``district`` is given)."""
    from openpyxl import Workbook

    scope = [d for d in rep.districts if district is None or d in (district, CITY)]
    wb = Workbook()
    ws = wb.active
    ws.title = "指标总览"
    _sheet_overview(ws, rep, scope)
    _sheet_detail(wb.create_sheet("明细"), rep, scope)
    _sheet_notes(wb.create_sheet("说明"), rep)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# -- the page -----------------------------------------------------------------------------------------------


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _chart(rep: "IndicatorReport", district: str, inds: tuple[str, ...], title: str, percent: bool = True) -> str:
    from matplotlib.figure import Figure

    use_cjk_font()
    fig = Figure(figsize=(8.4, 3.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    vals = _values(rep, district)
    xs = list(range(len(rep.months)))
    for ind in inds:
        i = rep.table.indicators[ind]
        ys = [vals[(m, ind)].value if (m, ind) in vals else None for m in rep.months]
        ys = [float("nan") if y is None else (y * 100 if percent else y) for y in ys]
        ax.plot(xs, ys, marker="o", markersize=3, label=i.zh)
        ax.axhline(i.target * 100 if percent else i.target, linestyle=":", linewidth=1, color="#999")
    ax.set_xticks(xs[::max(1, len(xs) // 12)], rep.months[::max(1, len(xs) // 12)], rotation=45, fontsize=7)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("%" if percent else "", fontsize=8)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    return _png(fig)


def _bar(rep: "IndicatorReport", district: str) -> str:
    from matplotlib.figure import Figure

    use_cjk_font()
    fig = Figure(figsize=(8.4, 2.8), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    vals = _values(rep, district)
    ys = [(vals[(m, "sampling_per_1000")].value or 0.0) if (m, "sampling_per_1000") in vals else 0.0
          for m in rep.months]
    target = rep.table.indicators["sampling_per_1000"].target
    ax.bar(range(len(ys)), ys, color=["#3b7dd8" if y >= target else "#d8893b" for y in ys])
    ax.axhline(target, linestyle=":", color="#999")
    ax.set_xticks(range(len(ys))[::max(1, len(ys) // 12)], rep.months[::max(1, len(ys) // 12)], rotation=45,
                  fontsize=7)
    ax.set_title("食品抽检量（批次/千人，虚线为月度目标）", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def _esc(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def render_pack_html(rep: "IndicatorReport", district: str) -> str:
    """The 述职 page of a district: the last month's indicators against their targets, the charts, the
    monthly table and the definitions (one string; nothing loaded from outside)."""
    name, name_en = district_name(district), district_name(district, "en")
    vals = _values(rep, district)
    last = rep.months[-1]
    cards = []
    for ind in ORDER:
        i = rep.table.indicators[ind]
        v = vals.get((last, ind))
        st = v.status(rep.table) if v is not None else None
        cards.append(f'<div class="card {st or "none"}"><div class="k">{_esc(i.zh)}</div>'
                     f'<div class="en">{_esc(i.en)}</div><div class="v">{format_value(v) if v else "—"}</div>'
                     f'<div class="t">目标 {target_text(rep, ind)} · {_STATUS_ZH[st]}</div>'
                     f'<div class="n">{v.numerator if v else 0} / {v.denominator if v and v.denominator is not None else "—"}'
                     f'</div></div>')
    charts = [
        ("核查处置与投诉举报", "Disposal and complaints",
         _chart(rep, district, ("disposal_completion", "disposal_on_time", "complaints_on_time",
                                "complaints_on_time_rural"), "核查处置完成率、按时完成率与投诉举报按时办结率（%）")),
        ("一证一票一码衔接", "Certificate, ticket, trace code",
         _chart(rep, district, ("chain_certificate", "chain_ticket", "chain_trace_code"),
                "一证一票一码衔接（%）")),
        ("抽检", "Sampling", _bar(rep, district)),
    ]
    head = "".join(f"<th>{_esc(m)}</th>" for m in rep.months)
    rows = []
    for ind in ORDER:
        i = rep.table.indicators[ind]
        tds = []
        for m in rep.months:
            v = vals.get((m, ind))
            st = v.status(rep.table) if v is not None else None
            tds.append(f'<td class="{st or "none"}">{format_value(v) if v else "—"}</td>')
        rows.append(f"<tr><th>{_esc(i.zh)}<br><small>{_esc(i.en)}</small></th><td>{target_text(rep, ind)}</td>"
                    f"{''.join(tds)}</tr>")
    defs = "".join(f"<dt>{_esc(i.zh)} / {_esc(i.en)}</dt><dd>{_esc(i.definition_zh)}<br><small>"
                   f"{_esc(i.definition_en)}</small><br><small>目标 target {target_text(rep, k)}；"
                   f"{'本系统设定 designed here' if i.designed else '依据 ' + _esc(i.source)}</small></dd>"
                   for k, i in rep.table.indicators.items())
    overdue = [v for v in rep.values if v.district == district and v.indicator == "disposal_completion"
               and v.evidence]
    overdue_ids = sorted({e for v in overdue for e in v.evidence})
    title = f"{name}食品安全长效动态管理照单述职 {rep.start} 至 {rep.end}"
    body = f"""<header><h1>{_esc(name)}食品安全长效动态管理照单述职</h1>
<p class="en">{_esc(name_en)}: demonstration-city indicators (long-term dynamic management), {rep.start} – {rep.end};
as of {rep.as_of}; indicator table {rep.table.version}</p></header>
<section><h2>一、{_esc(last)} 指标与目标 <small>Indicators of {_esc(last)} against their targets</small></h2>
<div class="cards">{''.join(cards)}</div></section>
<section><h2>二、趋势 <small>Trends</small></h2>
{''.join(f'<h3>{_esc(zh)} <small>{_esc(en)}</small></h3><img class="chart" alt="{_esc(zh)}" src="data:image/png;base64,{png}">' for zh, en, png in charts)}
</section>
<section><h2>三、逐月指标 <small>Month by month</small></h2><div class="scroll"><table>
<tr><th>指标 indicator</th><th>目标 target</th>{head}</tr>{''.join(rows)}</table></div></section>
<section><h2>四、逾期未结的核查处置 <small>Disposal cases overdue</small></h2>
<p>{len(overdue_ids)} 件 / cases: {_esc('、'.join(overdue_ids[:50]))}{'…' if len(overdue_ids) > 50 else ''}</p></section>
<section><h2>五、指标说明 <small>Definitions</small></h2><dl>{defs}</dl>
<p class="sub">{''.join(_esc(n) for n in rep.notes)}</p></section>"""
    face = cjk_font_face(title + body) or ""
    css = """
body { font-family: "FoodtraceCJK", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0; color: #222; }
main { max-width: 1100px; margin: auto; padding: 16px; }
h1 { font-size: 24px; margin: 8px 0; } h2 { font-size: 18px; border-bottom: 2px solid #2b5b9a; padding-bottom: 4px; }
h2 small, h3 small { color: #666; font-weight: normal; font-size: 12px; } .en, small { color: #555; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px; }
.card { border-radius: 6px; padding: 8px; border-left: 6px solid #999; background: #f6f6f6; }
.card.green { border-color: #1e7b34; } .card.amber { border-color: #d8a000; } .card.red { border-color: #b3261e; }
.card .k { font-weight: bold; font-size: 14px; } .card .en { font-size: 11px; } .card .v { font-size: 26px; }
.card .t, .card .n { font-size: 12px; color: #555; }
.chart { max-width: 100%; } .scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; } th, td { border: 1px solid #ccc; padding: 3px 5px; }
td.green { background: #c6efce; } td.amber { background: #ffeb9c; } td.red { background: #ffc7ce; }
dt { font-weight: bold; margin-top: 6px; }
"""
    return (f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_esc(title)}</title>\n'
            f'<style>\n{face}\n{css}</style>\n</head>\n<body><main>{body}</main></body>\n</html>\n')


def write_packs(rep: "IndicatorReport", folder: Path | str) -> list[Path]:
    """Each district's 述职 pack (``{district}-述职-{start}-{end}.xlsx`` and ``.html``) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for d in rep.districts:
        if d == CITY:
            continue
        stem = f"{district_name(d)}-述职-{rep.start}-{rep.end}"
        out.append(write_workbook(rep, folder / f"{stem}.xlsx", district=d))
        page = folder / f"{stem}.html"
        page.write_text(render_pack_html(rep, d), encoding="utf-8")
        out.append(page)
    return out
