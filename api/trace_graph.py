"""Pictures of a traced chain: an interactive, self-contained HTML page and a PNG.

Stations are nodes (by Chinese name), deliveries are arrows labelled with product, lot and ship date;
certain links are solid red, possible (inferred) ones dashed orange; the start is ringed in gold.
Upstream traces are drawn left to right too (sources on the left, the start on the right).

* HTML: vis-network (the copy the ``pyvis`` package ships, inlined, so the page works offline and
  loads nothing from the web); zoom, pan, drag nodes, hover for details, click for a details panel.
  pyvis' own page template still loads Bootstrap from a CDN even with ``cdn_resources="in_line"``
  (pyvis issue 229), so the page is written from this module's template.
* PNG: matplotlib, with the CJK font of :mod:`api.fonts` so Chinese renders as characters.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections import defaultdict, deque
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .fonts import WEB_FAMILY, cjk_font_face
from .trace_render import DIRECTION, START_KIND, TIER, TraceContext, _count_text, _unit, _vocab, short_time

if TYPE_CHECKING:
    from reasoning.trace import Trace

__all__ = ["GraphNode", "GraphEdge", "ChainGraph", "chain_graph", "write_graph", "write_html", "write_png",
           "COLOURS"]

#: colours by tier (edge/border, fill)
COLOURS = {"certain": ("#C00000", "#F8D7DA"), "possible": ("#ED7D31", "#FDE9D9"), None: ("#808080", "#EEEEEE"),
           "start": ("#D4A017", "#FFF2CC")}


@dataclass
class GraphNode:
    id: str
    name: str
    kind: str | None
    tier: str | None          # None: an endpoint the trace does not list (e.g. where the start came from)
    time: str | None
    start: bool = False
    level: int = 0
    details: list[str] = field(default_factory=list)


@dataclass
class GraphEdge:
    id: str
    source: str
    target: str
    tier: str                 # certain, possible or start (the start delivery itself)
    label: str
    details: list[str] = field(default_factory=list)


@dataclass
class ChainGraph:
    title: str
    subtitle: str
    nodes: dict[str, GraphNode]
    edges: list[GraphEdge]


def _start_nodes(trace: "Trace", ctx: TraceContext) -> set[str]:
    st = trace.start
    down = trace.direction == "down"
    if st.kind == "delivery" and ctx.start_delivery is not None:
        return {ctx.start_delivery.sender_id, ctx.start_delivery.receiver_id}
    if st.kind in ("sample", "station") and st.station_id:
        return {st.station_id}
    out: set[str] = set()
    lot = ctx.lots.get(st.lot_id) if st.lot_id else None
    if lot is not None and lot.producer_id:
        out.add(lot.producer_id)
    for d in trace.deliveries:
        if len(d.evidence) == 1:
            if down and d.lot_id == st.lot_id:
                out.add(d.sender_id)
            elif not down:
                out.add(d.receiver_id)
    return out


def _levels(nodes: set[str], edges: list[tuple[str, str]], starts: set[str], down: bool) -> dict[str, int]:
    """Columns of the picture: hops from the start (downstream right of it, upstream left of it)."""
    nxt: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        if down:
            nxt[a].append(b)
        else:
            nxt[b].append(a)
    level: dict[str, int] = {}
    has_in = {b if down else a for a, b in edges}
    roots = sorted(starts & nodes) + sorted(n for n in nodes if n not in has_in and n not in starts)
    for root in roots:
        if root in level:
            continue
        level[root] = 0
        queue = deque([root])
        while queue:
            u = queue.popleft()
            for v in nxt.get(u, ()):
                if v not in level:
                    level[v] = level[u] + 1
                    queue.append(v)
    for n in nodes:  # cycles with no root
        level.setdefault(n, 0)
    return level if down else {n: -x for n, x in level.items()}


def chain_graph(trace: "Trace", ctx: TraceContext, lang: str = "zh") -> ChainGraph:
    """The nodes and arrows to draw, with their hover details."""
    en = lang == "en"
    kinds = _vocab("operator_kind", lang)
    tier_word = {k: v[1 if en else 0] for k, v in TIER.items()}
    st = trace.start
    stations = {s.id: s for s in trace.stations}
    deliveries = list(trace.deliveries)
    ids = set(stations)
    for d in deliveries:
        ids.update((d.sender_id, d.receiver_id))
    if ctx.start_delivery is not None:
        ids.update((ctx.start_delivery.sender_id, ctx.start_delivery.receiver_id))
    starts = _start_nodes(trace, ctx)
    ids |= starts
    if st.station_id:
        ids.add(st.station_id)

    def lot_text(lot_id: str) -> str:
        prod = ctx.product_name(lot_id)
        return f"{prod} {ctx.lot_label(lot_id)}" if prod else ctx.lot_label(lot_id)

    edges: list[GraphEdge] = []
    if ctx.start_delivery is not None:
        d = ctx.start_delivery
        edges.append(GraphEdge(d.id, d.sender_id, d.receiver_id, "start",
                               f"{'start' if en else '起点'}: {lot_text(d.lot_id)} {short_time(d.time)[5:10]}",
                               [f"{'start delivery' if en else '起点交付'}", lot_text(d.lot_id), short_time(d.time),
                                d.id]))
    for d in deliveries:
        qty = "" if d.quantity is None else f"{d.quantity:g} {_unit(d.unit, lang) or ''}".strip()
        lines = [
            f"{'product' if en else '产品'}: {ctx.product_name(d.lot_id) or '-'}",
            f"{'lot' if en else '批次'}: {ctx.lot_label(d.lot_id)}",
            f"{'quantity' if en else '数量'}: {qty or '-'}",
            f"{'from' if en else '发货方'}: {ctx.name(d.sender_id)}",
            f"{'to' if en else '收货方'}: {ctx.name(d.receiver_id)}",
            f"{'shipped' if en else '发货时间'}: {short_time(d.ship_time)}",
            f"{'received' if en else '收货时间'}: {short_time(d.received_time)}",
            f"{'ticket' if en else '票据'}: {ctx.ticket_number(d.ticket_id) or '-'}",
            f"{'certificate' if en else '合格证明'}: {ctx.certificate_number(d.certificate_id) or '-'}",
            f"{'tier' if en else '层级'}: {tier_word[d.tier]}" + ((" (inferred link)" if en else "（推断链接）")
                                                               if d.inferred else ""),
        ]
        if d.max_quantity is not None and d.max_quantity != d.quantity:
            lines.append(f"{'at most' if en else '最多含量'}: {d.max_quantity:g}")
        lines.append(f"{'evidence' if en else '证据链'}: {len(d.evidence)} {'deliveries' if en else '次交付'}")
        lines.append(f"id: {d.id}")
        edges.append(GraphEdge(d.id, d.sender_id, d.receiver_id, d.tier,
                               f"{lot_text(d.lot_id)} {short_time(d.ship_time)[5:10]}", lines))

    level = _levels(ids, [(e.source, e.target) for e in edges], starts, trace.direction == "down")
    nodes: dict[str, GraphNode] = {}
    time_word = ("earliest reached" if en else "最早到达") if trace.direction == "down" else (
        "latest contributed" if en else "最晚来源")
    for i in sorted(ids):
        s = stations.get(i)
        op = ctx.operators.get(i)
        kind = (s.kind if s is not None else None) or getattr(op, "kind", None)
        name = (s.name if s is not None else None) or ctx.name(i)
        details = [name, f"{'kind' if en else '类型'}: {kinds.get(kind or '', kind or '-')}"]
        if s is not None:
            details += [f"{'tier' if en else '层级'}: {tier_word[s.tier]}", f"{time_word}: {short_time(s.time)}"]
        else:
            details.append("not listed by the trace" if en else "不在追溯结果中（起点所在或来源）")
        if i in starts:
            details.append("start" if en else "追溯起点")
        if op is not None and (op.contact or op.phone):
            details.append(f"{'contact' if en else '联系人'}: {op.contact or '-'} {op.phone or ''}".rstrip())
        details.append(f"id: {i}")
        nodes[i] = GraphNode(i, name, kind, s.tier if s is not None else None, s.time if s is not None else None,
                             i in starts, level[i], details)

    kind_word = START_KIND.get(st.kind, (st.kind, st.kind))[1 if en else 0]
    what = ctx.lot_label(st.lot_id) if st.kind in ("lot", "trace_code") and st.lot_id else st.input
    prod = ctx.product_name(st.lot_id) if st.lot_id else None
    title = (f"{'Trace' if en else '追溯'} {DIRECTION[trace.direction][1 if en else 0]}: "
             f"{kind_word} {what}" + (f" ({prod})" if prod else ""))
    return ChainGraph(title, _count_text(trace, lang), nodes, edges)


def write_graph(trace: "Trace", ctx: TraceContext, path: Path | str, lang: str = "zh") -> Path:
    """Draw the chain as ``.html`` (interactive) or ``.png`` by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".html", ".htm"):
        write_html(trace, ctx, path, lang)
    elif suffix == ".png":
        write_png(trace, ctx, path, lang)
    else:
        from ontology.errors import InvalidRecord

        raise InvalidRecord(f"--graph {path}: the file must end in .html or .png")
    return path


# -- HTML ------------------------------------------------------------------------------------------

def _vis_assets() -> tuple[str, str]:
    """vis-network's JavaScript and CSS as shipped inside the pyvis package."""
    lib = resources.files("pyvis") / "templates" / "lib" / "vis-9.1.2"
    return (lib / "vis-network.min.js").read_text(encoding="utf-8"), (lib / "vis-network.css").read_text(encoding="utf-8")


def _wrap(name: str, width: int = 10) -> str:
    return "\n".join(textwrap.wrap(name, width)) or name


_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{vis_css}</style>
<script>{vis_js}</script>
<style>{font_face}</style>
<style>
  body {{ margin: 0; font-family: "{family}", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
         "WenQuanYi Zen Hei", sans-serif; color: #222; }}
  header {{ padding: 10px 16px; border-bottom: 1px solid #ddd; }}
  h1 {{ font-size: 18px; margin: 0 0 4px 0; }}
  .sub {{ font-size: 13px; color: #555; }}
  .legend {{ font-size: 13px; margin-top: 6px; }}
  .legend span {{ margin-right: 18px; white-space: nowrap; }}
  .line {{ display: inline-block; width: 34px; vertical-align: middle; margin-right: 4px; }}
  .box {{ display: inline-block; width: 16px; height: 12px; vertical-align: middle; margin-right: 4px; }}
  #wrap {{ display: flex; height: calc(100vh - 96px); }}
  #net {{ flex: 1; }}
  #details {{ width: 300px; border-left: 1px solid #ddd; padding: 10px; font-size: 13px; white-space: pre-line;
             overflow: auto; }}
  div.vis-tooltip {{ white-space: pre-line; font-family: inherit; }}
  @media (max-width: 700px) {{
    /* a phone: the chain above, the details below it, each the full width */
    #wrap {{ flex-direction: column; height: auto; }}
    #net {{ flex: none; height: 70vh; }}
    #details {{ width: auto; border-left: none; border-top: 1px solid #ddd; }}
  }}
</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <div class="sub">{subtitle}</div>
  <div class="legend">{legend}</div>
</header>
<div id="wrap"><div id="net"></div><aside id="details">{hint}</aside></div>
<script>
  var nodes = new vis.DataSet({nodes});
  var edges = new vis.DataSet({edges});
  var network;
  function draw() {{
    network = new vis.Network(document.getElementById("net"), {{nodes: nodes, edges: edges}}, {options});
    network.fit();
    var panel = document.getElementById("details");
    network.on("click", function (p) {{
      if (p.nodes.length) {{ panel.textContent = nodes.get(p.nodes[0]).title; }}
      else if (p.edges.length) {{ panel.textContent = edges.get(p.edges[0]).title; }}
    }});
  }}
  // the canvas draws labels once: wait for the embedded font (it is inline, so this is quick)
  if (document.fonts && document.fonts.load) {{
    document.fonts.load('14px "{family}"').then(draw, draw);
  }} else {{ draw(); }}
</script>
</body>
</html>
"""


#: the canvas font of labels: the embedded subset first, then common CJK system fonts
_FACE = f"{WEB_FAMILY}, Noto Sans CJK SC, Microsoft YaHei, PingFang SC, WenQuanYi Zen Hei, sans-serif"


def _js(value: Any) -> str:
    """JSON safe to put inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def write_html(trace: "Trace", ctx: TraceContext, path: Path | str, lang: str = "zh") -> None:
    """The interactive page (:func:`html_page`) written to ``path``."""
    Path(path).write_text(html_page(trace, ctx, lang), encoding="utf-8")


def html_page(trace: "Trace", ctx: TraceContext, lang: str = "zh") -> str:
    """The interactive page: every script and style inline, nothing fetched from the web."""
    from pyvis.network import Network

    g = chain_graph(trace, ctx, lang)
    en = lang == "en"
    net = Network(directed=True, cdn_resources="in_line")
    for n in g.nodes.values():
        line, fill = COLOURS[n.tier]
        border = COLOURS["start"][0] if n.start else line
        net.add_node(n.id, label=("★ " if n.start else "") + _wrap(n.name), title="\n".join(n.details),
                     shape="box", level=n.level, borderWidth=4 if n.start else 1.5,
                     color={"background": COLOURS["start"][1] if n.start else fill, "border": border,
                            "highlight": {"background": fill, "border": border}},
                     font={"size": 14, "face": _FACE})
    parallel: dict[tuple[str, str], int] = defaultdict(int)
    for e in g.edges:
        k = parallel[(e.source, e.target)]
        parallel[(e.source, e.target)] += 1
        colour = COLOURS[e.tier][0]
        net.add_edge(e.source, e.target, id=e.id, label=e.label, title="\n".join(e.details),
                     color={"color": colour, "highlight": colour, "hover": colour},
                     dashes=e.tier == "possible", width=3 if e.tier == "start" else 2, arrows="to",
                     font={"size": 11, "align": "top", "strokeWidth": 3, "face": _FACE},
                     smooth={"enabled": True, "type": "curvedCW", "roundness": 0.18 * k})
    net.set_options(json.dumps({
        "layout": {"hierarchical": {"enabled": True, "direction": "LR", "sortMethod": "directed",
                                    "levelSeparation": 260, "nodeSpacing": 110}},
        "physics": {"enabled": False},
        "interaction": {"hover": True, "navigationButtons": True, "keyboard": True, "tooltipDelay": 120,
                        "dragNodes": True, "zoomView": True, "dragView": True},
        "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.8}}},
    }))
    nodes, edges, _heading, _h, _w, options = net.get_network_data()
    vis_js, vis_css = _vis_assets()

    def chip(colour: str, dashed: bool) -> str:
        style = "dashed" if dashed else "solid"
        return f'<span class="line" style="border-top: 3px {style} {colour}"></span>'

    def box(border: str, fill: str, width: int = 2) -> str:
        return f'<span class="box" style="border: {width}px solid {border}; background: {fill}"></span>'

    legend = "".join([
        f'<span>{chip(COLOURS["certain"][0], False)}{"certain (recorded links)" if en else "确定（记录链接）"}</span>',
        f'<span>{chip(COLOURS["possible"][0], True)}{"possible (inferred link)" if en else "可能（推断链接）"}</span>',
        f'<span>{box(COLOURS["start"][0], COLOURS["start"][1], 3)}{"start" if en else "追溯起点"}</span>',
        f'<span>{box(*COLOURS["certain"])}{"station, certain" if en else "主体（确定）"}</span>',
        f'<span>{box(*COLOURS["possible"])}{"station, possible" if en else "主体（可能）"}</span>',
        f'<span>{box(*COLOURS[None])}{"not listed" if en else "未列入"}</span>',
    ])
    hint = ("Hover over a station or an arrow for details, click to keep them here. Scroll to zoom, drag to move."
            if en else "鼠标悬停于主体或箭头查看详情，点击后在此显示。滚轮缩放，拖动移动。")
    texts = [g.title, g.subtitle, legend, hint] + [str(n.get("label", "")) + str(n.get("title", "")) for n in nodes]
    texts += [str(e.get("label", "")) + str(e.get("title", "")) for e in edges]
    face = cjk_font_face("".join(texts)) or ""
    return _PAGE.format(lang="en" if en else "zh-CN", font_face=face, family=WEB_FAMILY, title=html.escape(g.title), subtitle=html.escape(g.subtitle),
                        legend=legend, hint=html.escape(hint), vis_js=vis_js.replace("</script", "<\\/script"),
                        vis_css=vis_css, nodes=_js(nodes), edges=_js(edges), options=options.replace("</", "<\\/"))


# -- PNG -------------------------------------------------------------------------------------------

def _layered_positions(g: ChainGraph) -> dict[str, tuple[float, float]]:
    """x: the node's column; y: its place in the column, ordered to keep arrows short (barycentre sweeps)."""
    cols: dict[int, list[GraphNode]] = defaultdict(list)
    for n in g.nodes.values():
        cols[n.level].append(n)
    levels = sorted(cols)
    order = {lv: sorted(cols[lv], key=lambda n: (not n.start, n.time or "", n.name)) for lv in levels}
    nbrs: dict[str, set[str]] = defaultdict(set)
    for e in g.edges:
        nbrs[e.source].add(e.target)
        nbrs[e.target].add(e.source)

    def ys(lv: int) -> dict[str, float]:
        col = order[lv]
        return {n.id: (len(col) - 1) / 2.0 - i for i, n in enumerate(col)}

    for sweep in (levels[1:], levels[-2::-1], levels[1:]):
        for lv in sweep:
            placed: dict[str, float] = {}
            for other in levels:
                if other != lv:
                    placed.update(ys(other))
            current = ys(lv)

            def centre(n: GraphNode) -> float:
                near = [placed[m] for m in nbrs[n.id] if m in placed]
                return sum(near) / len(near) if near else current[n.id]

            order[lv] = sorted(order[lv], key=lambda n: -centre(n))
    pos = {}
    for x, lv in enumerate(levels):
        for node_id, y in ys(lv).items():
            pos[node_id] = (float(x), y)
    return pos


def write_png(trace: "Trace", ctx: TraceContext, path: Path | str, lang: str = "zh", dpi: int = 120) -> None:
    """The chain as a picture (matplotlib, no display needed); Chinese drawn with the CJK font."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    from .fonts import use_cjk_font

    use_cjk_font()
    g = chain_graph(trace, ctx, lang)
    en = lang == "en"
    pos = _layered_positions(g)
    levels = sorted({n.level for n in g.nodes.values()})
    tallest = max((sum(1 for n in g.nodes.values() if n.level == lv) for lv in levels), default=1)
    width = min(40.0, max(8.0, 3.4 * len(levels)))
    height = min(40.0, max(4.5, 1.5 * tallest + 2.0))
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    top, bottom = 1.0 / height, 0.6 / height  # title and legend bands, in inches
    ax = fig.add_axes((0.02, bottom, 0.96, 1.0 - top - bottom))
    ax.set_axis_off()
    ax.set_xlim(-0.6, max(len(levels) - 1, 0) + 0.6)
    ax.set_ylim(-(tallest - 1) / 2.0 - 0.7, (tallest - 1) / 2.0 + 0.7)
    fig.text(0.5, 1.0 - 0.3 / height, g.title, ha="center", va="center", fontsize=14)
    fig.text(0.5, 1.0 - 0.62 / height, g.subtitle, ha="center", va="center", fontsize=9, color="#444444")

    node_size = 22.0  # points (marker diameter)
    # arrows: one per (sender, receiver, tier); parallel deliveries share it and list their labels
    groups: dict[tuple[str, str, str], list[GraphEdge]] = defaultdict(list)
    for e in g.edges:
        groups[(e.source, e.target, e.tier)].append(e)
    pair_count: dict[frozenset, int] = defaultdict(int)
    show_labels = len(groups) <= 80
    for (a, b, tier), es in groups.items():
        k = pair_count[frozenset((a, b))]
        pair_count[frozenset((a, b))] += 1
        rad = 0.12 * k + (0.15 if a != b and (b, a, tier) in groups else 0.0)
        colour = COLOURS[tier][0]
        arrow = FancyArrowPatch(pos[a], pos[b], connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                mutation_scale=14, color=colour, linewidth=2.2 if tier == "start" else 1.6,
                                linestyle=(0, (5, 3)) if tier == "possible" else "-",
                                shrinkA=node_size / 2 + 2, shrinkB=node_size / 2 + 2, zorder=1)
        ax.add_patch(arrow)
        if show_labels:
            labels = [e.label for e in es[:3]]
            if len(es) > 3:
                labels.append(f"+{len(es) - 3} {'more' if en else '条'}")
            # the middle of the arc, computed in display space as matplotlib draws arc3
            t = ax.transData
            p1, p2 = t.transform(pos[a]), t.transform(pos[b])
            mid = (p1 + p2) / 2.0
            ctrl = mid + rad * np.array([p2[1] - p1[1], -(p2[0] - p1[0])])
            u = 0.6  # past the middle: arrows fanning out of one station keep their labels apart
            at = t.inverted().transform((1 - u) ** 2 * p1 + 2 * (1 - u) * u * ctrl + u ** 2 * p2)
            ax.text(at[0], at[1], "\n".join(labels), fontsize=7.5, ha="center", va="center", color=colour,
                    zorder=3, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})
    for n in g.nodes.values():
        line, fill = COLOURS[n.tier]
        x, y = pos[n.id]
        if n.start:
            ax.scatter([x], [y], s=(node_size + 12) ** 2, c=COLOURS["start"][1], edgecolors=COLOURS["start"][0],
                       linewidths=3, zorder=4)
        ax.scatter([x], [y], s=node_size ** 2, c=fill, edgecolors=line, linewidths=2, zorder=5)
        ax.annotate(("★ " if n.start else "") + _wrap(n.name, 12), (x, y), xytext=(0, -node_size / 2 - 5),
                    textcoords="offset points", ha="center", va="top", fontsize=9, zorder=6)
    handles = [
        Line2D([], [], color=COLOURS["certain"][0], lw=2, label="certain" if en else "确定（记录链接）"),
        Line2D([], [], color=COLOURS["possible"][0], lw=2, ls=(0, (5, 3)),
               label="possible" if en else "可能（推断链接）"),
        Line2D([], [], ls="", marker="o", ms=11, mfc=COLOURS["start"][1], mec=COLOURS["start"][0], mew=3,
               label="start" if en else "追溯起点"),
        Line2D([], [], ls="", marker="o", ms=9, mfc=COLOURS["certain"][1], mec=COLOURS["certain"][0],
               label="station, certain" if en else "主体（确定）"),
        Line2D([], [], ls="", marker="o", ms=9, mfc=COLOURS["possible"][1], mec=COLOURS["possible"][0],
               label="station, possible" if en else "主体（可能）"),
        Line2D([], [], ls="", marker="o", ms=9, mfc=COLOURS[None][1], mec=COLOURS[None][0],
               label="not listed" if en else "未列入"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=9, frameon=False)
    if not show_labels:
        fig.text(0.99, 0.01, "arrow labels left out (too many)" if en else "箭头标签过多，已省略",
                 ha="right", fontsize=8, color="#666666")
    fig.savefig(str(path), format="png", dpi=dpi)
