"""What `foodtrace trace` prints and writes: the terminal summary, the recall list (召回清单, CSV and
Excel) and the records a trace names, read once from the store.

The recall list has one row per reached delivery with one header row: Chinese headers by default,
English ones with ``lang="en"`` (one header row keeps the sheet sortable and filterable, and the CSV
machine-readable). It is an investigator's export: it carries the receivers' contact persons and
phone numbers, which public reports must not show.

>>> [h for h, _ in RECALL_COLUMNS][:4], [e for _, e in RECALL_COLUMNS][:4]
(['批次', '产品', '数量', '单位'], ['lot', 'product', 'quantity', 'unit'])
>>> short_time("2026-03-02T04:00:00+08:00"), short_time("2026-03-01T20:00:00Z"), short_time(None)
('2026-03-02 04:00', '2026-03-02 04:00', '-')
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ontology.times import format_instant, local_naive, now

from . import render

if TYPE_CHECKING:
    from graph.view import ReadView
    from reasoning.trace import Trace

__all__ = ["TraceContext", "gather_context", "RECALL_COLUMNS", "STATION_COLUMNS", "WINDOW_SOURCE", "recall_headers",
           "recall_rows", "station_rows", "recall_csv", "write_recall_xlsx", "recall_xlsx_bytes", "recall_workbook",
           "trace_table", "short_time", "windows_used", "windows_markdown"]

TIER = {"certain": ("确定", "certain"), "possible": ("可能", "possible")}
DIRECTION = {"down": ("下游", "downstream"), "up": ("上游", "upstream")}
START_KIND = {"lot": ("批次", "lot"), "delivery": ("交付", "delivery"), "sample": ("抽检样品", "sample"),
              "trace_code": ("追溯码", "trace code"), "station": ("主体", "station")}

#: recall list columns: (Chinese header, English header)
RECALL_COLUMNS: list[tuple[str, str]] = [
    ("批次", "lot"), ("产品", "product"), ("数量", "quantity"), ("单位", "unit"), ("发货方", "from"),
    ("收货方", "to"), ("发货时间", "ship time"), ("票据", "ticket"), ("合格证明", "certificate"),
    ("联系人", "contact"), ("联系电话", "phone"), ("层级", "tier"), ("可能性", "likelihood"),
    ("最多含量", "max quantity"), ("证据链", "evidence"), ("批次标识", "lot id"), ("交付标识", "delivery id"),
]
#: stations sheet columns
STATION_COLUMNS: list[tuple[str, str]] = [
    ("主体", "station"), ("类型", "kind"), ("区县", "district"), ("层级", "tier"), ("可能性", "likelihood"),
    ("时间", "time"), ("联系人", "contact"), ("联系电话", "phone"), ("地址", "address"), ("证据链", "evidence"),
    ("主体标识", "station id"),
]


def _pick(pair: tuple[str, str], lang: str) -> str:
    """The Chinese or the English word of a pair; ``lang="both"`` gives ``中文/english`` (terminal tables)."""
    if lang == "both":
        return f"{pair[0]}/{pair[1]}"
    return pair[1] if lang == "en" else pair[0]


def short_time(value: str | None) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM`` in Beijing time (``-`` when absent)."""
    d = local_naive(value)
    return "-" if d is None else d.strftime("%Y-%m-%d %H:%M")


@dataclass
class TraceContext:
    """The records a trace's rows name: operators, lots, products, tickets, certificates, deliveries."""

    operators: dict[str, Any] = field(default_factory=dict)
    lots: dict[str, Any] = field(default_factory=dict)
    products: dict[str, Any] = field(default_factory=dict)
    tickets: dict[str, Any] = field(default_factory=dict)
    certificates: dict[str, Any] = field(default_factory=dict)
    deliveries: dict[str, Any] = field(default_factory=dict)
    start_delivery: Any = None

    def name(self, station_id: str | None) -> str:
        """A station's (Chinese) name, its id where the store has no name."""
        if not station_id:
            return "-"
        op = self.operators.get(station_id)
        return (op.name if op is not None and op.name else None) or station_id

    def lot_label(self, lot_id: str | None) -> str:
        """A lot's number as printed, its id where it has none."""
        if not lot_id:
            return "-"
        r = self.lots.get(lot_id)
        return (r.lot_number if r is not None and r.lot_number else None) or lot_id

    def product_name(self, lot_id: str | None) -> str | None:
        r = self.lots.get(lot_id) if lot_id else None
        p = self.products.get(r.product_id) if r is not None and r.product_id else None
        return p.name if p is not None else None

    def ticket_number(self, ticket_id: str | None) -> str | None:
        if not ticket_id:
            return None
        t = self.tickets.get(ticket_id)
        return (t.number if t is not None and t.number else None) or ticket_id

    def certificate_number(self, certificate_id: str | None) -> str | None:
        if not certificate_id:
            return None
        c = self.certificates.get(certificate_id)
        return (c.number if c is not None and c.number else None) or certificate_id


def gather_context(view: "ReadView", trace: "Trace") -> TraceContext:
    """Read, in a few batched queries, every record the trace's rows and pictures name."""
    ctx = TraceContext()
    st = trace.start
    ctx.deliveries = {d.id: d for d in trace.deliveries}
    if st.kind == "delivery":
        ctx.start_delivery = view.get_many("delivery", [st.id]).get(st.id)
    dels = list(trace.deliveries) + ([ctx.start_delivery] if ctx.start_delivery is not None else [])
    op_ids = {s.id for s in trace.stations}
    lot_ids = {x.id for x in trace.lots}
    for d in dels:
        op_ids.update((d.sender_id, d.receiver_id))
        lot_ids.add(d.lot_id)
    if st.station_id:
        op_ids.add(st.station_id)
    if st.lot_id:
        lot_ids.add(st.lot_id)
    op_ids.update(trace.options.kill)  # kill steps are stations or lots: ask both tables
    lot_ids.update(trace.options.kill)
    ctx.lots = view.get_many("lot", sorted(x for x in lot_ids if x))
    for r in ctx.lots.values():
        if r.producer_id:
            op_ids.add(r.producer_id)
    ctx.operators = view.get_many("operator", sorted(x for x in op_ids if x))
    prod_ids = {r.product_id for r in ctx.lots.values() if r.product_id}
    if st.product_id:
        prod_ids.add(st.product_id)
    ctx.products = view.get_many("product", sorted(prod_ids))
    ctx.tickets = view.get_many("ticket", sorted({d.ticket_id for d in dels if d.ticket_id}))
    ctx.certificates = view.get_many("certificate", sorted({d.certificate_id for d in dels if d.certificate_id}))
    return ctx


# -- labels --------------------------------------------------------------------------------------

def _vocab(scheme: str, lang: str) -> dict[str, str]:
    from ontology.vocab import labels

    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in labels(scheme).items()}


def _unit(code: str | None, lang: str) -> str | None:
    if not code:
        return None
    from ontology.units import unit_label

    return unit_label(code)[1 if lang == "en" else 0]


def _region(region_id: str | None, lang: str) -> str | None:
    if not region_id:
        return None
    names = _vocab("region", lang)
    key = region_id if region_id.startswith("urn:") else f"urn:foodtrace:region:{region_id}"
    return names.get(key, region_id)


def evidence_text(trace_evidence: Iterable[str], ctx: TraceContext, lang: str = "zh") -> str:
    """A chain of evidence as people read it: ``sender→receiver date ticket`` per delivery."""
    parts = []
    for did in trace_evidence:
        d = ctx.deliveries.get(did)
        if d is None and ctx.start_delivery is not None and ctx.start_delivery.id == did:
            d = ctx.start_delivery
        if d is None:
            parts.append(did)
            continue
        sender = getattr(d, "sender_id", None)
        receiver = getattr(d, "receiver_id", None)
        when = getattr(d, "ship_time", None) or getattr(d, "time", None)
        ticket = ctx.ticket_number(getattr(d, "ticket_id", None))
        text = f"{ctx.name(sender)}→{ctx.name(receiver)} {short_time(when)[:10]}"
        if ticket:
            text += f" {'ticket ' if lang == 'en' else '票'}{ticket}"
        if getattr(d, "inferred", False):
            text += " (inferred)" if lang == "en" else "（推断）"
        parts.append(text)
    return ("; " if lang == "en" else "；").join(parts)


#: where a holding window came from, as the recall list's notes say it
WINDOW_SOURCE = {"option": ("--window 设定", "--window"), "learned": ("记录学得（同类主体）", "learned (this kind of station)"),
                 "learned_category": ("记录学得（全部主体）", "learned (every kind of station)"),
                 "default": ("默认表", "hand-set table")}


def windows_used(trace: "Trace") -> list[tuple[str | None, str | None, float, str, int]]:
    """(category, kind of station, days, source, pass-throughs behind it) of every holding window the
    trace used."""
    return [(w.category, w.kind, w.days, w.source, w.samples) for w in trace.windows]


# -- the recall list -----------------------------------------------------------------------------

def recall_headers(lang: str = "zh") -> list[str]:
    return [_pick(c, lang) for c in RECALL_COLUMNS]


def recall_rows(trace: "Trace", ctx: TraceContext, lang: str = "zh") -> list[list[Any]]:
    """One row per reached delivery, in the trace's order; ship times as datetimes (Beijing time)."""
    rows = []
    for d in trace.deliveries:
        receiver = ctx.operators.get(d.receiver_id)
        rows.append([
            ctx.lot_label(d.lot_id), ctx.product_name(d.lot_id), d.quantity, _unit(d.unit, lang),
            ctx.name(d.sender_id), ctx.name(d.receiver_id), local_naive(d.ship_time),
            ctx.ticket_number(d.ticket_id), ctx.certificate_number(d.certificate_id),
            getattr(receiver, "contact", None), getattr(receiver, "phone", None), _pick(TIER[d.tier], lang),
            round(d.likelihood, 4), d.max_quantity, evidence_text(d.evidence, ctx, lang), d.lot_id, d.id,
        ])
    return rows


def station_rows(trace: "Trace", ctx: TraceContext, lang: str = "zh") -> list[list[Any]]:
    kinds = _vocab("operator_kind", lang)
    rows = []
    for s in trace.stations:
        op = ctx.operators.get(s.id)
        rows.append([
            s.name or ctx.name(s.id), kinds.get(s.kind or "", s.kind), _region(s.region_id, lang),
            _pick(TIER[s.tier], lang), round(s.likelihood, 4), local_naive(s.time), getattr(op, "contact", None),
            getattr(op, "phone", None), getattr(op, "address", None), evidence_text(s.evidence, ctx, lang), s.id,
        ])
    return rows


def _num(v: float | None) -> float | int | None:
    """A quantity as an int where it is whole (1200.0 prints as 1200)."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def recall_csv(trace: "Trace", ctx: TraceContext, lang: str = "zh") -> str:
    """The recall list as CSV text (write it with encoding ``utf-8-sig`` so Excel reads the Chinese)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(recall_headers(lang))
    for r in recall_rows(trace, ctx, lang):
        w.writerow([_csv_value(v) for v in r])
    return buf.getvalue()


def _start_lines(trace: "Trace", ctx: TraceContext, lang: str) -> list[tuple[str, Any]]:
    st = trace.start
    lines: list[tuple[str, Any]] = [
        (_pick(("方向", "direction"), lang), _pick(DIRECTION[trace.direction], lang)),
        (_pick(("起点", "start"), lang), f"{_pick(START_KIND.get(st.kind, (st.kind, st.kind)), lang)} {st.input}"),
        (_pick(("起点标识", "start id"), lang), st.id),
    ]
    if st.lot_id:
        prod = ctx.product_name(st.lot_id)
        lines.append((_pick(("批次", "lot"), lang), ctx.lot_label(st.lot_id) + (f" ({prod})" if prod else "")))
    if st.station_id:
        lines.append((_pick(("主体", "station"), lang), ctx.name(st.station_id)))
    if st.time is not None:
        lines.append((_pick(("时间", "time"), lang), short_time(format_instant(st.time))))
    if st.hazard:
        hz = _vocab("hazard_class", "en" if lang == "en" else "zh").get(st.hazard, st.hazard)
        lines.append((_pick(("样品危害类别", "sample hazard"), lang), f"{hz} ({st.hazard})"))
    return lines


def _kill_label(ident: str, ctx: TraceContext | None) -> str:
    if ctx is not None and ident in ctx.operators:
        return f"{ctx.name(ident)} ({ident})"
    if ctx is not None and ident in ctx.lots:
        return f"{ctx.lot_label(ident)} ({ident})"
    return ident


def _options_lines(trace: "Trace", lang: str, ctx: TraceContext | None = None) -> list[tuple[str, Any]]:
    o = trace.options
    hazards = {"unknown": "unknown" if lang == "en" else "未知",
               **_vocab("hazard_class", "en" if lang == "en" else "zh")}
    return [
        (_pick(("起始时间", "since"), lang), short_time(format_instant(o.since)) if o.since is not None else "-"),
        (_pick(("截止时间", "until"), lang), short_time(format_instant(o.until)) if o.until is not None else "-"),
        (_pick(("危害类别", "hazard"), lang), f"{hazards.get(o.hazard, o.hazard)} ({o.hazard})"),
        (_pick(("灭活/截断点", "kill steps"), lang), ", ".join(_kill_label(k, ctx) for k in sorted(o.kill)) or "-"),
        (_pick(("推断链接", "inferred links"), lang),
         _pick(("是", "yes"), lang) if o.infer else _pick(("否（仅记录链接）", "no (explicit only)"), lang)),
        (_pick(("最低可能性", "min likelihood"), lang), o.min_likelihood),
        (_pick(("路径最多推断链接", "max inferred links"), lang), "-" if o.max_inferred is None else o.max_inferred),
        (_pick(("保存期限", "holding windows"), lang),
         _pick(("由记录学得", "learned from the records"), lang) if o.learn_windows
         else _pick(("默认表", "hand-set table"), lang)),
    ]


def _count_text(trace: "Trace", lang: str = "zh") -> str:
    c = trace.counts()
    names = {"lots": ("批次", "lots"), "deliveries": ("交付", "deliveries"), "stations": ("主体", "stations")}
    parts = []
    for key in ("stations", "deliveries", "lots"):
        n = c[key]
        if lang == "en":
            parts.append(f"{names[key][1]} {n['certain'] + n['possible']} "
                         f"(certain {n['certain']}, possible {n['possible']})")
        else:
            parts.append(f"{names[key][0]}/{names[key][1]} {n['certain'] + n['possible']}"
                         f"（确定/certain {n['certain']}，可能/possible {n['possible']}）")
    return ("; " if lang == "en" else "；").join(parts)


def write_recall_xlsx(trace: "Trace", ctx: TraceContext, path: Path, lang: str = "zh") -> None:
    """The recall list as an Excel workbook: sheets 召回清单 (recall list), 主体 (stations), 说明 (notes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recall_workbook(trace, ctx, lang).save(path)


def recall_xlsx_bytes(trace: "Trace", ctx: TraceContext, lang: str = "zh") -> bytes:
    """The recall list workbook of :func:`write_recall_xlsx` as bytes (for a download)."""
    buf = io.BytesIO()
    recall_workbook(trace, ctx, lang).save(buf)
    return buf.getvalue()


def recall_workbook(trace: "Trace", ctx: TraceContext, lang: str = "zh") -> Any:
    """The recall list as an openpyxl Workbook (see :func:`write_recall_xlsx`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    en = lang == "en"
    wb = Workbook()
    head_font = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")

    def sheet(ws, headers: list[str], rows: list[list[Any]], widths: list[int], date_cols: set[int],
              tier_col: int | None) -> None:
        ws.append(headers)
        for c in ws[1]:
            c.font, c.fill = head_font, head_fill
            c.alignment = Alignment(vertical="center")
        for r in rows:
            ws.append(r)
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        for row in ws.iter_rows(min_row=2):
            for c in row:
                if c.column in date_cols and isinstance(c.value, datetime):
                    c.number_format = "yyyy-mm-dd hh:mm"
            if tier_col is not None and row[tier_col - 1].value in ("可能", "possible"):
                row[tier_col - 1].font = Font(color="C55A11")
            elif tier_col is not None:
                row[tier_col - 1].font = Font(color="C00000", bold=True)
        ws.freeze_panes = "A2"
        if rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
        else:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}1"

    ws = wb.active
    ws.title = "Recall list" if en else "召回清单"
    sheet(ws, recall_headers(lang), recall_rows(trace, ctx, lang),
          [18, 16, 10, 8, 24, 24, 17, 16, 18, 10, 14, 8, 10, 12, 60, 40, 40], {7}, 12)

    ws2 = wb.create_sheet("Stations" if en else "主体")
    headers = [_pick(c, lang) for c in STATION_COLUMNS]
    headers[5] = (("earliest reached" if trace.direction == "down" else "latest contributed") if en
                  else ("最早到达时间" if trace.direction == "down" else "最晚来源时间"))
    sheet(ws2, headers, station_rows(trace, ctx, lang), [26, 12, 10, 8, 10, 17, 10, 14, 30, 60, 40], {6}, 4)

    ws3 = wb.create_sheet("Notes" if en else "说明")
    ws3.column_dimensions["A"].width = 22
    ws3.column_dimensions["B"].width = 70
    ws3.column_dimensions["C"].width = 14
    bold = Font(bold=True)

    def section(title: str) -> None:
        ws3.append([])
        ws3.append([title])
        ws3.cell(ws3.max_row, 1).font = bold

    ws3.append(["食品追溯召回清单" if not en else "Food trace recall list"])
    ws3.cell(1, 1).font = Font(bold=True, size=14)
    ws3.append(["生成时间" if not en else "generated", now().strftime("%Y-%m-%d %H:%M")])
    section("起点" if not en else "Start")
    for k, v in _start_lines(trace, ctx, lang):
        ws3.append([k, v])
    section("统计" if not en else "Counts")
    ws3.append(["", _count_text(trace, lang)])
    section("选项" if not en else "Options")
    for k, v in _options_lines(trace, lang, ctx):
        ws3.append([k, v])
    section("层级" if not en else "Tiers")
    if en:
        ws3.append(["certain", "reached through recorded links only (deliveries, lot links)"])
        ws3.append(["possible", "an inferred link on the way: a station that records no lot links may have "
                                "made what it shipped of what it held within the holding window"])
        ws3.append(["likelihood", "1 when certain; else the share of the traced goods in what the station held "
                                  "that the shipment may be made of, multiplied along the way (rows sorted by it)"])
        ws3.append(["max quantity", "upper bound of the traced goods a delivery can hold"])
    else:
        ws3.append(["确定", "全程由记录的交付与批次关联连通"])
        ws3.append(["可能", "途中有推断链接：未记录批次关联的主体，在保存期限内发出的货物可能由其所收货物制成"])
        ws3.append(["可能性", "确定者为1；否则为被追溯货物在该主体可用于制成该批货物的存货中所占份额，沿途相乘（按此排序）"])
        ws3.append(["最多含量", "该交付最多可能含有的被追溯货物数量"])
    section("提示" if not en else "Notes")
    for n in trace.notes or ("-",):
        ws3.append(["", n])
    ws3.append(["", "本表含收货方联系人与电话，仅供核查处置使用，不得公开。" if not en else
                "This list holds receivers' contact persons and phone numbers: for investigators, not for publication."])
    section("所用保存期限（天）" if not en else "Holding windows used (days)")
    cats = _vocab("category", lang)
    kinds = _vocab("operator_kind", lang)
    ws3.append(["类别" if not en else "category", "主体类型" if not en else "kind of station",
                "天数" if not en else "days", "来源" if not en else "source",
                "记录数" if not en else "pass-throughs"])
    for c in ws3[ws3.max_row]:
        c.font = bold
    for key, kind, days, source, samples in windows_used(trace):
        ws3.append([cats.get(key or "", key or ("unknown" if en else "未记录")), kinds.get(kind or "", kind or "*"),
                    round(days, 2), _pick(WINDOW_SOURCE.get(source, (source, source)), lang), samples or None])
    return wb


# -- the terminal summary ------------------------------------------------------------------------

def trace_table(trace: "Trace", ctx: TraceContext, limit: int | None = 50) -> str:
    """The trace as a terminal summary: start, counts by tier, stations, deliveries, notes."""
    kinds = _vocab("operator_kind", "zh")
    lines = []
    for k, v in _start_lines(trace, ctx, "both"):
        lines.append(f"{k}: {v}")
    o = trace.options
    if o.since is not None or o.until is not None or o.kill or not o.infer or o.windows or o.hazard != "unknown":
        lines.append("选项/options: " + "; ".join(f"{k} {v}" for k, v in _options_lines(trace, "both", ctx)))
    lines.append("统计/counts: " + _count_text(trace, "zh"))
    for n in trace.notes:
        lines.append(f"提示/note: {n}")
    time_head = "最早到达/earliest" if trace.direction == "down" else "最晚来源/latest"

    def cut(rows: list) -> tuple[list, str]:
        if limit is None or len(rows) <= limit:
            return rows, ""
        return rows[:limit], (f"\n  ... 另有 {len(rows) - limit} 行 / {len(rows) - limit} more "
                              "(--format csv, xlsx or json lists every one)")

    srows = [[s.name or ctx.name(s.id), kinds.get(s.kind or "", s.kind), TIER[s.tier][0], f"{s.likelihood:.2f}",
              short_time(s.time), getattr(ctx.operators.get(s.id), "contact", None),
              getattr(ctx.operators.get(s.id), "phone", None)]
             for s in trace.stations]
    shown, more = cut(srows)
    lines += ["", f"主体/stations ({len(srows)})",
              render.text_table(shown, ["主体/station", "类型/kind", "层级/tier", "可能性/likelihood", time_head,
                                        "联系人/contact", "电话/phone"]) + more]
    drows = [[ctx.lot_label(d.lot_id), ctx.product_name(d.lot_id), _num(d.quantity), _unit(d.unit, "zh"),
              ctx.name(d.sender_id), ctx.name(d.receiver_id), short_time(d.ship_time),
              ctx.ticket_number(d.ticket_id), TIER[d.tier][0], f"{d.likelihood:.2f}"] for d in trace.deliveries]
    shown, more = cut(drows)
    lines += ["", f"交付/deliveries ({len(drows)})",
              render.text_table(shown, ["批次/lot", "产品/product", "数量/qty", "单位/unit", "发货方/from",
                                        "收货方/to", "发货时间/ship time", "票据/ticket", "层级/tier",
                                        "可能性/likelihood"]) + more]
    if trace.windows:
        wins = ", ".join(f"{w.category or '?'}@{w.kind or '*'} {w.days:.1f}d ({w.source})" for w in trace.windows)
        lines += ["", f"保存期限/holding windows used: {wins}"]
    return "\n".join(lines)


def windows_markdown() -> str:
    """The default holding windows as the Markdown table the README shows (a docs test compares them)."""
    from reasoning.trace import DEFAULT_WINDOW, DEFAULT_WINDOWS

    names = _vocab("category", "zh")
    names_en = _vocab("category", "en")
    lines = ["| category | 类别 | days |", "|---|---|---|"]
    for key, days in DEFAULT_WINDOWS.items():
        lines.append(f"| `{key}` | {names.get(key, key)} ({names_en.get(key, key)}) | {days:g} |")
    lines.append(f"| any other, or none recorded | 其他或未记录 | {DEFAULT_WINDOW:g} |")
    return "\n".join(lines)
