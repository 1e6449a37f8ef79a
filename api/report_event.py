"""The major-event report (重大活动食品安全保障报告): one self-contained Chinese page and a workbook.

Both come from :func:`reasoning.events.vet_suppliers` and :func:`reasoning.events.event_deliveries`: the event,
the vetting of each designated supplier (grade, failed samples with their items, cases, failed inspections,
listing, certificates, chain gaps, verdict and reasons), and the deliveries into its kitchens in its period.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from graph.view import ReadView
from reasoning.events import LEVELS, VERDICTS, event_deliveries, vet_suppliers

__all__ = ["event_report", "render_html", "write_workbook"]

_CSS = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #bbb;padding:4px 8px;vertical-align:top}
th{background:#eef}.reject{color:#b00;font-weight:bold}.watch{color:#b60}.pass{color:#070}h1{font-size:22px}
@media (max-width:640px){body{margin:1em}table{display:block;overflow-x:auto;max-width:100%}td,th{min-width:5em}}"""


def event_report(view: ReadView, event: Any, *, as_of: dt.date) -> dict[str, Any]:
    """The report's data: the event, the vetting and the deliveries (plain data, JSON-ready)."""
    names = {k: v.name for k, v in view.get_many("operator", (event.kitchen_ids or "").split()).items()}
    return {"event": {"id": event.id, "name": event.name, "level": event.level, "start": event.start, "end": event.end,
                      "venues": event.venues, "organiser": event.organiser, "kitchens": names},
            "as_of": str(as_of),
            "vetting": [v.to_dict() for v in vet_suppliers(view, event, as_of=as_of)],
            "deliveries": [d.to_dict() for d in event_deliveries(view, event)]}


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
    dels = [f"<tr><td>{_e(d['time'])}</td><td>{_e(ev['kitchens'].get(d['kitchen_id'], d['kitchen_id']))}</td>"
            f"<td>{_e(suppliers.get(d['supplier_id'], d['supplier_id']))}</td><td>{'是' if d['designated'] else '<b>否</b>'}</td>"
            f"<td>{_e(d['product'])}</td>"
            f"<td>{_e(d['lot_id'])}</td><td>{_e(d['ticket_id'] or '缺')}</td>"
            f"<td>{_e(d['certificate_id'] or '缺')}</td></tr>"
            for d in report["deliveries"]]
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
</body></html>
"""


def write_workbook(report: dict[str, Any], path: Path) -> None:
    """The same report as a workbook: 供应商审查, 不合格样品, 进货明细."""
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
        ws3.append([d["time"], d["kitchen_id"], d["supplier_id"], "是" if d["designated"] else "否", d["product"],
                    d["lot_id"], d["ticket_id"], d["certificate_id"]])
    for sheet in wb.worksheets:
        for c in sheet[1]:
            c.font = Font(bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
