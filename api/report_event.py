"""The major-event reports (重大活动食品安全保障): each one self-contained Chinese page and a workbook.

* the vetting report (before and during), from :func:`reasoning.events.vet_suppliers`,
  :func:`reasoning.events.event_deliveries` and :func:`reasoning.events.sampling_list`: the event, the vetting of
  each designated supplier (grade, failed samples with their items, cases, failed inspections, listing,
  certificates, chain gaps, verdict and reasons), the deliveries into its kitchens in its period, and the
  sampling list ordered by the planned-sample risk model (风险抽检清单);
* the after report (保障总结报告), from :func:`reasoning.events.after_report`: deliveries, samples with their
  results and disposal cases, complaints and school alerts, and the verdict (零事故 or what happened).
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from graph.view import ReadView
from ontology.errors import InsufficientData
from ontology.times import display
from reasoning.events import LEVELS, VERDICTS, event_deliveries, sampling_list, vet_suppliers

from .plan_cli import reason_text

__all__ = ["event_report", "render_html", "write_workbook", "SAMPLING_COLUMNS", "sampling_data", "sampling_table",
           "write_sampling_workbook",
           "render_after_html", "write_after_workbook"]

#: the sampling list's columns: key -> (Chinese, English)
SAMPLING_COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("风险排名", "rank"), "lot_id": ("批次", "lot"), "lot_number": ("批号", "lot number"),
    "product": ("产品", "product"), "supplier_name": ("供应商", "supplier"), "supplier_id": ("供应商标识", "supplier id"),
    "supplier_grade": ("供应商风险等级", "supplier grade"), "designated": ("定点供应商", "designated"),
    "sample_at_name": ("抽样地点", "sample at"), "delivered": ("进货时间", "delivered"),
    "probability": ("不合格概率", "probability"), "reasons": ("主要风险因素", "reasons"),
}

_CSS = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #bbb;padding:4px 8px;vertical-align:top}
th{background:#eef}.reject{color:#b00;font-weight:bold}.watch{color:#b60}.pass{color:#070}h1{font-size:22px}
@media (max-width:640px){body{margin:1em}table{display:block;overflow-x:auto;max-width:100%}td,th{min-width:5em}}"""


def sampling_data(view: ReadView, event: Any, *, as_of: dt.date, top: int = 3) -> dict[str, Any]:
    """The sampling list as plain data: ``rows`` (riskiest first), or none and a ``note`` where the store's
    samples cannot train the risk model."""
    try:
        rows = [r.to_dict() for r in sampling_list(view, event, as_of=as_of, top=top)]
    except InsufficientData as e:
        return {"as_of": str(as_of), "rows": [], "note": f"抽检历史不足，无法按风险排序 / the risk model cannot be trained: {e}"}
    return {"as_of": str(as_of), "rows": rows, "note": None}


def sampling_table(rows: list[dict[str, Any]], lang: str = "zh") -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the sampling list in ``lang`` (zh or en)."""
    i = 1 if lang == "en" else 0
    yes, no = ("yes", "no") if lang == "en" else ("是", "否")
    out = []
    for r in rows:
        cells = {**r, "designated": yes if r["designated"] else no, "reasons": reason_text(r["reasons"], lang),
                 "sample_at_name": r["sample_at_name"] or r["sample_at"], "supplier_grade": r["supplier_grade"] or ""}
        out.append([cells[k] for k in SAMPLING_COLUMNS])
    return [v[i] for v in SAMPLING_COLUMNS.values()], out


def write_sampling_workbook(rows: list[dict[str, Any]], path: Path, lang: str = "zh") -> None:
    """The sampling list alone as a workbook (one sheet, 风险抽检清单)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "sampling list" if lang == "en" else "风险抽检清单"
    head, body = sampling_table(rows, lang)
    ws.append(head)
    for row in body:
        ws.append(row)
    _save(wb, path)


def event_report(view: ReadView, event: Any, *, as_of: dt.date) -> dict[str, Any]:
    """The report's data: the event, the vetting, the deliveries and the sampling list (plain data, JSON-ready)."""
    names = {k: v.name for k, v in view.get_many("operator", (event.kitchen_ids or "").split()).items()}
    return {"event": {"id": event.id, "name": event.name, "level": event.level, "start": event.start, "end": event.end,
                      "venues": event.venues, "organiser": event.organiser, "kitchens": names},
            "as_of": str(as_of),
            "vetting": [v.to_dict() for v in vet_suppliers(view, event, as_of=as_of)],
            "deliveries": [d.to_dict() for d in event_deliveries(view, event)],
            "sampling": sampling_data(view, event, as_of=as_of)}


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page (inline style, no script), in Chinese."""
    ev = report["event"]
    rows = []
    for v in report["vetting"]:
        failed = "<br>".join(f"{_e(s['date'])} {_e(s['product'])}：{_e('、'.join(s['failed_items']) or '不合格')}"
                             f"（{_e(s['id'])}）" for s in v["failed_samples"]) or "无"
        rows.append(f"<tr><td>{_e(v['name'] or v['supplier_id'])}</td><td>{_e(v['grade'] or '未评级')}</td>"
                    f"<td>{len(v['samples'])}</td><td>{failed}</td><td>{len(v['cases'])}</td>"
                    f"<td>{len(v['failed_inspections'])}</td><td>{'是' if v['listed'] else '否'}</td>"
                    f"<td>{len(v['certificates'])}</td><td>{v['without_ticket']} / {v['without_certificate']}"
                    f"（共{v['deliveries']}次）</td><td class=\"{v['verdict']}\">{VERDICTS[v['verdict']]}</td>"
                    f"<td>{_e('；'.join(v['reasons']))}</td></tr>")
    suppliers = {v["supplier_id"]: v["name"] or v["supplier_id"] for v in report["vetting"]}
    dels = [f"<tr><td>{_e(display(d['time']))}</td><td>{_e(ev['kitchens'].get(d['kitchen_id'], d['kitchen_id']))}</td>"
            f"<td>{_e(suppliers.get(d['supplier_id'], d['supplier_id']))}</td><td>{'是' if d['designated'] else '<b>否</b>'}</td>"
            f"<td>{_e(d['product'])}</td>"
            f"<td>{_e(d['lot_id'])}</td><td>{_e(d['ticket_id'] or '缺')}</td>"
            f"<td>{_e(d['certificate_id'] or '缺')}</td></tr>"
            for d in report["deliveries"]]
    head, body = sampling_table(report["sampling"]["rows"])
    sampling = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in body)
    note = report["sampling"]["note"] or "活动期间无进货批次"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(ev['name'])} 食品安全保障报告</title><style>{_CSS}</style></head>
<body><h1>{_e(ev['name'])} 食品安全保障报告</h1>
<p>保障级别：{_e(LEVELS.get(ev['level'], ev['level']))}；活动日期：{_e(ev['start'])} 至 {_e(ev['end'])}；
场馆：{_e(ev['venues'] or '—')}；主办单位：{_e(ev['organiser'] or '—')}；审查基准日：{_e(report['as_of'])}</p>
<p>保障厨房：{_e('、'.join(ev['kitchens'].values()) or '—')}</p>
<h2>一、定点供应商审查（近12个月）</h2>
<table tabindex="0"><tr><th>供应商</th><th>风险等级</th><th>抽检批次</th><th>不合格样品</th><th>稽查案件</th><th>检查不符合</th>
<th>失信名单</th><th>有效合格证明</th><th>近90天无票/无证</th><th>结论</th><th>理由</th></tr>
{''.join(rows) or '<tr><td colspan="11">无定点供应商</td></tr>'}</table>
<h2>二、活动期间保障厨房进货</h2>
<table tabindex="0"><tr><th>时间</th><th>厨房</th><th>供应商</th><th>定点</th><th>产品</th><th>批次</th><th>票据</th><th>合格证明</th></tr>
{''.join(dels) or '<tr><td colspan="8">活动期间无进货记录</td></tr>'}</table>
<h2>三、风险抽检清单（按不合格概率排序，截至{_e(report['sampling']['as_of'])}）</h2>
<p>活动期间进入保障厨房的批次（在厨房抽样）及定点供应商发出的其他批次（在供应商处抽样），按抽检计划风险模型
（与 risk rank-plan 相同）排序；不合格概率为内部研判用，不得公开。</p>
<table tabindex="0"><tr>{''.join(f"<th>{_e(h)}</th>" for h in head)}</tr>
{sampling or f'<tr><td colspan="{len(head)}">{_e(note)}</td></tr>'}</table>
</body></html>
"""


def write_workbook(report: dict[str, Any], path: Path) -> None:
    """The same report as a workbook: 供应商审查, 不合格样品, 进货明细, 风险抽检清单."""
    wb = Workbook()
    ws = wb.active
    ws.title = "供应商审查"
    ws.append(["供应商", "标识", "风险等级", "抽检批次", "不合格批次", "稽查案件", "检查不符合", "失信名单", "有效合格证明",
               "近90天发货", "无票据", "无合格证明", "结论", "理由"])
    for v in report["vetting"]:
        ws.append([v["name"], v["supplier_id"], v["grade"], len(v["samples"]), len(v["failed_samples"]),
                   len(v["cases"]), len(v["failed_inspections"]), "是" if v["listed"] else "否",
                   len(v["certificates"]), v["deliveries"], v["without_ticket"], v["without_certificate"],
                   VERDICTS[v["verdict"]], "；".join(v["reasons"])])
    ws2 = wb.create_sheet("不合格样品")
    ws2.append(["供应商", "样品", "抽样日期", "产品", "不合格项目", "公告号"])
    for v in report["vetting"]:
        for s in v["failed_samples"]:
            ws2.append([v["name"], s["id"], s["date"], s["product"], "、".join(s["failed_items"]), s["announcement"]])
    ws3 = wb.create_sheet("进货明细")
    ws3.append(["时间", "厨房", "供应商", "定点供应商", "产品", "批次", "票据", "合格证明"])
    for d in report["deliveries"]:
        ws3.append([display(d["time"]), d["kitchen_id"], d["supplier_id"], "是" if d["designated"] else "否", d["product"],
                    d["lot_id"], d["ticket_id"], d["certificate_id"]])
    ws4 = wb.create_sheet("风险抽检清单")
    head, body = sampling_table(report["sampling"]["rows"])
    ws4.append(head)
    for row in body:
        ws4.append(row)
    _save(wb, path)


def _save(wb: Workbook, path: Path) -> None:
    for sheet in wb.worksheets:
        for c in sheet[1]:
            c.font = Font(bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


# -- after the event --------------------------------------------------------------------------------------------

_VERDICT_ZH = {"zero": "零事故", "incidents": "发生食品安全问题"}
_CONCLUSION_ZH = {"nonconforming": "不合格", "conforming": "合格"}


def _after_rows(report: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The after report's tables: sheet name -> (headers, rows); the page and the workbook show the same."""
    ev = report["event"]
    names = {**ev["suppliers"], **ev["kitchens"]}
    return {
        "进货明细": (["时间", "厨房", "供应商", "定点供应商", "产品", "批次", "票据", "合格证明"],
                 [[display(d["time"]), names.get(d["kitchen_id"]) or d["kitchen_id"],
                   names.get(d["supplier_id"]) or d["supplier_id"], "是" if d["designated"] else "否", d["product"],
                   d["lot_id"], d["ticket_id"] or "缺", d["certificate_id"] or "缺"] for d in report["deliveries"]]),
        "抽检结果": (["抽样日期", "样品", "抽样地点", "产品", "批次", "结论", "不合格项目", "核查处置"],
                 [[s["date"], s["id"], s["sampled_name"] or s["sampled_id"], s["product"], s["lot_id"],
                   _CONCLUSION_ZH.get(s["conclusion"], s["conclusion"]), "、".join(s["failed_items"]),
                   "、".join(s["cases"])] for s in report["samples"]]),
        "核查处置": (["处置编号", "当事单位", "样品", "启动日期", "办结期限", "状态", "控制措施"],
                 [[c["number"], names.get(c["operator_id"]) or c["operator_id"], c["sample_id"], c["opened"], c["due"],
                   c["status"], "、".join(c["measures"])] for c in report["cases"]]),
        "投诉举报": (["受理日期", "被投诉单位", "问题类别", "内容", "查证属实", "涉及身体不适"],
                 [[c["date"], c["operator_name"] or c["operator_id"], c["topic"], c["description"],
                   {True: "是", False: "否"}.get(c["substantiated"], ""), "是" if c["illness"] else "否"]
                  for c in report["complaints"]]),
        "校园预警": (["预警时间", "类型", "食堂", "批次", "样品", "预警内容"],
                 [[a["raised"], a["kind"], names.get(a["school_id"]) or a["school_id"], a["lot_id"], a["sample_id"],
                   a["message"]] for a in report["alerts"]]),
    }


def render_after_html(report: dict[str, Any]) -> str:
    """The after report as one self-contained page (inline style, no script), in Chinese."""
    ev = report["event"]
    verdict = _VERDICT_ZH[report["verdict"]]
    cls = "pass" if report["verdict"] == "zero" else "reject"
    findings = "".join(f"<li>{_e(f)}</li>" for f in report["findings"])
    sections = []
    for i, (title, (head, rows)) in enumerate(_after_rows(report).items()):
        body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
        sections.append(f"<h2>{'二三四五六'[i]}、{_e(title)}（{len(rows)}）</h2><table tabindex=\"0\"><tr>"
                        + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"
                        + (body or f'<tr><td colspan="{len(head)}">无</td></tr>') + "</table>")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(ev['name'])} 食品安全保障总结报告</title><style>{_CSS}</style></head>
<body><h1>{_e(ev['name'])} 食品安全保障总结报告</h1>
<p>保障级别：{_e(LEVELS.get(ev['level'], ev['level']))}；活动日期：{_e(ev['start'])} 至 {_e(ev['end'])}；
场馆：{_e(ev['venues'] or '—')}；主办单位：{_e(ev['organiser'] or '—')}；统计至：{_e(report['until'])}；
报告基准日：{_e(report['as_of'])}</p>
<p>保障厨房：{_e('、'.join(v or k for k, v in ev['kitchens'].items()) or '—')}</p>
<p>定点供应商：{_e('、'.join(v or k for k, v in ev['suppliers'].items()) or '—')}</p>
<h2>一、结论：<span class="{cls}">{verdict}</span></h2>
{f'<ul>{findings}</ul>' if findings else '<p>活动期间保障厨房及定点供应商抽检全部合格，未启动核查处置，未收到食用后身体不适的投诉。</p>'}
{''.join(sections)}
</body></html>
"""


def write_after_workbook(report: dict[str, Any], path: Path) -> None:
    """The after report as a workbook: 结论, then one sheet per table of the page."""
    wb = Workbook()
    ws = wb.active
    ws.title = "结论"
    ev = report["event"]
    ws.append(["项目", "内容"])
    for k, v in (("活动名称", ev["name"]), ("保障级别", LEVELS.get(ev["level"], ev["level"])),
                 ("活动日期", f"{ev['start']} 至 {ev['end']}"), ("统计至", report["until"]),
                 ("结论", _VERDICT_ZH[report["verdict"]]), *(("情况", f) for f in report["findings"])):
        ws.append([k, v])
    for title, (head, rows) in _after_rows(report).items():
        sheet = wb.create_sheet(title)
        sheet.append(head)
        for row in rows:
            sheet.append(row)
    _save(wb, path)
