"""The ``foodtrace`` command line.

Every command takes ``--store URL`` (default: the ``FOODTRACE_STORE`` setting).
Domain errors are printed as one line on standard error with exit code 2,
never as a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from graph.store import Store, open_store
from ontology.errors import FoodtraceError

from . import render
from .cli_common import emit
from .trace_params import HAZARD_CHOICES
from .settings import get_settings

__all__ = ["main", "cli"]


class _Progress:
    """A byte-weighted progress bar over files, with records per second; silent when not on a terminal."""

    def __init__(self, total_bytes: int, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None
        self.records = 0
        self.file_records = 0
        self.start = time.perf_counter()
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total_bytes, unit="B", unit_scale=True, file=sys.stderr, leave=False,
                            dynamic_ncols=True)

    def file_start(self, path: Path, kind: str) -> None:
        self.file_records = 0
        if self.bar is not None:
            self.bar.set_description(path.name[:30])

    def on_records(self, n: int) -> None:
        self.file_records = n
        if self.bar is not None:
            rate = (self.records + n) / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix_str(f"{rate:,.0f} records/s", refresh=False)
            self.bar.refresh()

    def file_done(self, size: int) -> None:
        self.records += self.file_records
        if self.bar is not None:
            self.bar.update(size)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _store(url: str | None) -> Store:
    return open_store(url or get_settings().store)


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"foodtrace: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns domain errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FoodtraceError as e:
            _fail(str(e))


store_option = click.option("--store", "store_url", default=None, metavar="URL",
                            help="Store URL (file path, sqlite:///x.db); default: $FOODTRACE_STORE or foodtrace.db")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """foodtrace: lot-level food traceability and risk reasoning (一证一票一码)."""


# -- load -------------------------------------------------------------------------------------

def run_load(store: Store, files: list[Path], kind: str, rejects_path: Path, *, echo: Callable[[str], None],
             progress: bool = True) -> int:
    """Load files, print a summary, write the rejects CSV; return the exit code."""
    from loaders.base import write_rejects
    from loaders.load import load_files

    sizes = {p: (p.stat().st_size if p.is_file() else 0) for p in files}
    bar = _Progress(sum(sizes.values()), progress)
    t0 = time.perf_counter()
    try:
        outcomes = load_files(store, files, kind, on_file_start=bar.file_start, on_records=bar.on_records,
                              on_file_done=lambda o: bar.file_done(sizes.get(o.path, 0)))
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    rows, all_rejects = [], []
    for o in outcomes:
        status = "无法读取/unreadable" if o.error else ("部分拒收/rejects" if o.rejects else "成功/ok")
        rows.append([o.path.name, o.template or o.kind, o.stats.total_received, o.stats.total_changed,
                     len(o.rejects), status])
        all_rejects.extend(o.rejects)
    echo(render.text_table(rows, ["文件/file", "类型/kind", "记录/records", "新增或变更/changed",
                                  "拒收/rejected", "状态/status"]))
    for o in outcomes:
        if o.error:
            echo(f"错误/error: {o.error}")
    received = sum(o.stats.total_received for o in outcomes)
    echo(f"{len(outcomes)} file(s), {received:,} records in {elapsed:.1f} s "
         f"({received / max(elapsed, 1e-9):,.0f} records/s)")
    if all_rejects:
        n = write_rejects(all_rejects, rejects_path)
        echo(f"{n} rejected record(s) written to {rejects_path.resolve()}")
    return max((o.exit_code for o in outcomes), default=0)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["auto", "epcis", "template", "samr"]), default="auto", show_default=True,
              help="Loader to use; auto picks by file type and headers")
@click.option("--rejects", "rejects_path", type=click.Path(path_type=Path), default=None,
              help="Rejects CSV (default: rejects.csv in the working directory)")
@store_option
def load(files: tuple[Path, ...], kind: str, rejects_path: Path | None, store_url: str | None) -> None:
    """Load EPCIS documents, CSV/Excel templates and sampling announcements.

    Exit code 0 when everything loaded, 1 when records were rejected (see the
    rejects CSV), 2 when a file could not be read at all.
    """
    settings = get_settings()
    expanded: list[Path] = []
    for f in files:
        if f.is_dir():
            expanded.extend(sorted(p for p in f.rglob("*") if p.is_file() and not p.name.startswith(".")))
        else:
            expanded.append(f)
    with _store(store_url) as store:
        code = run_load(store, expanded, kind, rejects_path or Path(settings.rejects), echo=click.echo,
                        progress=settings.progress)
    sys.exit(code)


# -- stats ------------------------------------------------------------------------------------

def gather_stats(store: Store) -> dict[str, Any]:
    """Counts per entity type, and operators and deliveries per district."""
    from collections import Counter

    from ontology.vocab import labels

    counts = store.counts()
    region_names = {f"urn:foodtrace:region:{k}" if not k.startswith("urn:") else k: v[0]
                    for k, v in labels("region").items()}
    op_region: dict[str, str | None] = {}
    parents: dict[str, str | None] = {}
    by_kind: Counter[tuple[str, str]] = Counter()
    for op in store.scan("operator"):
        op_region[op.id] = op.region_id
        parents[op.id] = op.parent_id
    for oid, reg in list(op_region.items()):
        if reg is None and parents.get(oid):
            op_region[oid] = op_region.get(parents[oid])
    for op in store.scan("operator"):
        by_kind[(region_names.get(op_region[op.id] or "", op_region[op.id] or "未知/unknown"), op.kind)] += 1
    deliveries: Counter[str] = Counter()
    for d in store.scan("delivery"):
        reg = op_region.get(d.receiver_id)
        deliveries[region_names.get(reg or "", reg or "未知/unknown")] += 1
    districts: dict[str, dict[str, Any]] = {}
    for (district, kind), n in sorted(by_kind.items()):
        entry = districts.setdefault(district, {"operators": 0, "deliveries_received": 0, "by_kind": {}})
        entry["operators"] += n
        entry["by_kind"][kind] = n
    for district, n in deliveries.items():
        districts.setdefault(district, {"operators": 0, "deliveries_received": 0, "by_kind": {}})
        districts[district]["deliveries_received"] = n
    return {"counts": counts, "retracted_events": len(store.retracted_events()), "districts": districts}


def print_stats(stats: dict[str, Any], echo: Callable[[str], None]) -> None:
    from ontology.records import record_type

    rows = [[f"{record_type(t).zh}/{record_type(t).cls}", n] for t, n in stats["counts"].items()]
    echo(render.text_table(rows, ["实体类型/entity type", "数量/count"]))
    echo("")
    kinds = sorted({k for d in stats["districts"].values() for k in d["by_kind"]})
    rows = [[name, d["operators"], d["deliveries_received"]] + [d["by_kind"].get(k, 0) for k in kinds]
            for name, d in sorted(stats["districts"].items())]
    echo(render.text_table(rows, ["区县/district", "主体/operators", "收货/deliveries in"] + kinds))


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@store_option
def stats(fmt: str, store_url: str | None) -> None:
    """Counts per entity type and per district."""
    with _store(store_url) as store:
        data = gather_stats(store)
    if fmt == "json":
        click.echo(render.json_text(data))
    else:
        print_stats(data, click.echo)


# -- chain-check ------------------------------------------------------------------------------

def chain_report(store: Store):
    """Run the chain-completeness check over a store's contents."""
    from reasoning.chain import chain_completeness

    retracted = store.retracted_events()
    deliveries, coded = [], set()
    for d in store.scan("delivery"):
        if d.event_id is not None and d.event_id in retracted:
            continue
        deliveries.append({"id": d.id, "lot_id": d.lot_id, "sender_id": d.sender_id, "receiver_id": d.receiver_id,
                           "ticket_id": d.ticket_id, "certificate_id": d.certificate_id})
        if d.trace_code:
            coded.add(d.lot_id)
    coded.update(tc.lot_id for tc in store.scan("trace_code"))
    certified = {c.lot_id for c in store.scan("certificate") if c.lot_id}
    return chain_completeness(
        operators=({"id": o.id, "kind": o.kind, "name": o.name, "region_id": o.region_id, "parent_id": o.parent_id}
                   for o in store.scan("operator")),
        lots=({"id": lot.id, "product_id": lot.product_id} for lot in store.scan("lot")),
        products=({"id": p.id, "category": p.category} for p in store.scan("product")),
        deliveries=deliveries, certified_lots=certified, coded_lots=coded)


_DIM_ZH = {"market": "市场/market", "district": "区县/district", "category": "类别/category", "city": "全市/city"}
_CHAIN_HEADERS = ["维度/dimension", "名称/name", "入市批次/market entries", "有证/certified", "有证率/cert %",
                  "交付/deliveries", "有票/ticketed", "有票率/ticket %", "零售批次/retail lots", "有码/coded",
                  "有码率/code %"]


def _chain_rows(report, names: dict[str, str]) -> list[list[Any]]:
    rows = []
    for r in report.rows + ([report.totals] if report.totals else []):
        rows.append([_DIM_ZH[r.dimension], names.get(r.key, r.name), r.market_entries, r.with_certificate,
                     render.fmt_share(r.certificate_share), r.deliveries, r.with_ticket,
                     render.fmt_share(r.ticket_share), r.retail_lots, r.with_trace_code,
                     render.fmt_share(r.trace_code_share)])
    return rows


def _term_names() -> dict[str, str]:
    from ontology.vocab import labels

    names = {k: v[0] for k, v in labels("category").items()}
    names.update({(k if k.startswith("urn:") else f"urn:foodtrace:region:{k}"): v[0]
                  for k, v in labels("region").items()})
    return names


@cli.command("chain-check")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write to this file instead of stdout")
@click.option("--gaps/--no-gaps", default=True, show_default=True, help="List every gap by id")
@store_option
def chain_check(fmt: str, out: Path | None, gaps: bool, store_url: str | None) -> None:
    """一证一票一码: certificate, ticket and trace-code completeness per market, district and category."""
    with _store(store_url) as store:
        report = chain_report(store)
    names = _term_names()
    if fmt == "json":
        text = render.json_text({
            "totals": report.totals.as_dict() if report.totals else None,
            "rows": [r.as_dict() for r in report.rows],
            "gaps": [g.__dict__ for g in report.gaps] if gaps else [],
        })
    elif fmt == "csv":
        text = render.csv_text(_chain_rows(report, names), _CHAIN_HEADERS)
        if gaps:
            text += "\n" + render.csv_text(
                [[g.kind, g.id, g.lot_id, g.market, names.get(g.district or "", g.district),
                  names.get(g.category or "", g.category)] for g in report.gaps],
                ["缺失/missing", "标识/id", "批次/lot", "市场/market", "区县/district", "类别/category"])
    else:
        text = render.text_table(_chain_rows(report, names), _CHAIN_HEADERS)
        if gaps:
            by_kind: dict[str, int] = {}
            for g in report.gaps:
                by_kind[g.kind] = by_kind.get(g.kind, 0) + 1
            text += "\n\n" + "缺口/gaps: " + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
            text += "\n" + "\n".join(f"  {g.kind}\t{g.id}" for g in report.gaps[:50])
            if len(report.gaps) > 50:
                text += f"\n  ... {len(report.gaps) - 50} more (use --format csv or json for the full list)"
    if out:
        out.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"written to {out}")
    else:
        click.echo(text)


# -- trace ------------------------------------------------------------------------------------

def _trace_window(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, float]:
    """``--window CATEGORY=DAYS`` values as {category: days}; the category may be its key or its label."""
    from ontology.errors import InvalidRecord

    from .trace_params import parse_windows

    try:
        return parse_windows(values)
    except InvalidRecord as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _trace_time(end_of_day: bool) -> Callable[[click.Context, click.Parameter, str | None], float | None]:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
        from ontology.errors import InvalidRecord

        from .trace_params import parse_bound

        try:
            return parse_bound(value, end_of_day=end_of_day)
        except InvalidRecord as e:
            raise click.BadParameter(str(e), ctx, param) from None
    return parse


@cli.command("trace")
@click.argument("direction", type=click.Choice(["down", "up"]))
@click.argument("identifier", metavar="ID")
@click.option("--since", callback=_trace_time(False), metavar="DATE",
              help="Ignore deliveries before this date or ISO date-time (Beijing time without an offset)")
@click.option("--until", callback=_trace_time(True), metavar="DATE",
              help="Ignore deliveries after this date (a bare date means the end of that day) or date-time")
@click.option("--window", "windows", multiple=True, metavar="CATEGORY=DAYS", callback=_trace_window,
              help="Holding window of a food category in days (repeatable), e.g. --window pork=5")
@click.option("--hazard", type=click.Choice(HAZARD_CHOICES), default=None,
              help="Kind of hazard traced (default: a failed sample's hazard class, else unknown); "
                   "kill steps cut only pathogens")
@click.option("--kill", "kills", multiple=True, metavar="ID",
              help="A station or lot whose processing kills the hazard (any identifier form; repeatable)")
@click.option("--explicit-only", is_flag=True, help="Follow recorded links only (no inferred, possible links)")
@click.option("--min-likelihood", type=click.FloatRange(0, 1), default=None, metavar="P",
              help="Do not follow possible paths less likely than P (default 0.05)")
@click.option("--max-inferred", default=None, metavar="N",
              help="Most inferred links on a path, or 'none' (default 2)")
@click.option("--fixed-windows", is_flag=True,
              help="Use the hand-set holding windows instead of windows learned from the records")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]), default="table",
              show_default=True, help="table: summary; json: the full trace; csv/xlsx: the recall list (召回清单)")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of stdout (required for xlsx)")
@click.option("--graph", type=click.Path(path_type=Path), default=None, metavar="FILE.html|FILE.png",
              help="Also draw the traced chain: interactive HTML page or PNG picture")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the recall list's headers and the graph's legend")
@store_option
def trace_cmd(direction: str, identifier: str, since: float | None, until: float | None, windows: dict[str, float],
              hazard: str | None, kills: tuple[str, ...], explicit_only: bool, min_likelihood: float | None,
              max_inferred: str | None, fixed_windows: bool, fmt: str, out: Path | None,
              graph: Path | None, lang: str, store_url: str | None) -> None:
    """Trace a lot, delivery, sample, trace code or station downstream (down) or upstream (up).

    ID is any identifier form the store knows: canonical id, EPC URN, GS1 Digital Link, trace code,
    USCC/GLN. Every reached lot, delivery and station is `certain` (recorded links all the way) or
    `possible` (an inferred link on the way), with a likelihood (1 when certain), most likely first.
    Holding windows are learned from the records (the trace lists those it used). csv and xlsx write
    the recall list (召回清单) with the receivers' contacts: an investigator's export, not for publication.
    """
    from graph.view import ReadView
    from ontology.errors import InvalidRecord
    from reasoning.trace import trace

    from . import trace_render
    from .trace_params import trace_options

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE.xlsx")
    if graph is not None and graph.suffix.lower() not in (".html", ".htm", ".png"):
        raise click.BadParameter(f"{graph}: the file must end in .html or .png", param_hint="--graph")
    with _store(store_url) as store:
        view = ReadView(store)
        try:
            opts = trace_options(view, since=since, until=until, windows=windows, hazard=hazard, kills=kills,
                                 explicit_only=explicit_only, min_likelihood=min_likelihood,
                                 max_inferred=max_inferred, fixed_windows=fixed_windows)
        except InvalidRecord as e:
            raise click.BadParameter(str(e), param_hint="--max-inferred") from None
        result = trace(view, identifier, direction, opts)
        context = trace_render.gather_context(view, result)
    if graph is not None:
        from .trace_graph import write_graph

        click.echo(f"graph written to {write_graph(result, context, graph, lang)}", err=True)
    if fmt == "xlsx":
        trace_render.write_recall_xlsx(result, context, out, lang)  # type: ignore[arg-type]
        click.echo(f"written to {out}", err=True)
        return
    if fmt == "json":
        text = render.json_text(result.to_dict())
    elif fmt == "csv":
        text = trace_render.recall_csv(result, context, lang)
    else:
        text = trace_render.trace_table(result, context, limit=None if out else 50)
    emit(text, out, fmt)


# -- mass-balance -----------------------------------------------------------------------------

_MB_KIND = {"shipped_more_than_received": "超量发货/shipped more than received",
            "illegal_slaughter": "私屠滥宰嫌疑/illegal slaughter", "incomplete": "数量缺失/incomplete",
            "unit_mismatch": "单位不一致/unit mismatch", "no_source": "来源不明/no source"}
_MB_HEADERS = ["类型/kind", "主体/station", "主体名称/station name", "批次/lot", "产品/product", "产品名称/product name",
               "单位/unit", "收货/received", "生产/produced", "发货/shipped", "投入加工/used", "超出/excess",
               "超出比例/excess ratio", "峰值超出/peak excess", "峰值时间/peak time", "投入头数/heads in",
               "产出千克/kg out", "最大合理千克/max plausible kg", "入库交付/deliveries in", "出库交付/deliveries out",
               "加工转化/transformations", "说明/note"]


def _resolve_ids(store: Store, idents: tuple[str, ...], table: str, what: str) -> list[str]:
    """Canonical ids of identifiers given in any form; an unknown one is a NotFound error."""
    from ontology.errors import NotFound

    found = store.resolve_many(idents)
    for ident in idents:
        if ident not in found:
            raise NotFound(f"no {what} has the identifier {ident!r}")
    ids = [found[i] for i in idents]
    known = store.get_many(table, ids)
    for ident, cid in zip(idents, ids):
        if cid not in known:
            raise NotFound(f"{ident!r} is not a {what} (it names {cid})")
    return ids


class _Qty(float):
    """A quantity shown in full by render.text_table (which shows other floats with 4 significant digits)."""

    def __format__(self, spec: str) -> str:
        return f"{float(self):,.3f}".rstrip("0").rstrip(".")


def _qty(x: float | None) -> _Qty | None:
    return None if x is None else _Qty(x)


def _mb_rows(report, op_names: dict[str, str], prod_names: dict[str, str]) -> list[list[Any]]:
    """Every finding as one row under _MB_HEADERS (violations and slaughter first, then what could not be judged)."""
    rows: list[list[Any]] = []
    for f in list(report.findings) + list(report.incomplete) + list(report.unit_mismatch) + list(report.no_source):
        common = [_MB_KIND[f.kind], f.station_id, op_names.get(f.station_id)]
        if f.kind == "illegal_slaughter":
            note = f.note + "; input lots: " + ";".join(f.input_lot_ids)
            rows.append(common + [";".join(f.output_lot_ids), f.product_id, prod_names.get(f.product_id or ""),
                                  "KGM", None, None, None, None, f.excess, f.excess_ratio, None, f.time, f.heads_in,
                                  f.kg_out, f.max_plausible_kg, "", "", f.transformation_id, note])
        else:
            rows.append(common + [f.lot_id, f.product_id, prod_names.get(f.product_id or ""), f.unit, f.received,
                                  f.produced, f.shipped, f.used, f.excess, f.excess_ratio, f.peak_excess, f.peak_time,
                                  None, None, None, ";".join(f.deliveries_in), ";".join(f.deliveries_out),
                                  ";".join(f.transformations), f.note])
    return rows


@cli.command("mass-balance")
@click.option("--lot", "lots", multiple=True, metavar="ID", help="Only this lot (any identifier form; repeatable)")
@click.option("--station", "stations", multiple=True, metavar="ID",
              help="Only this station (any identifier form; repeatable)")
@click.option("--tolerance", type=click.FloatRange(min=0), default=0.01, show_default=True,
              help="Relative tolerance (0.01 = 1 %); 0.5 units are always tolerated")
@click.option("--include-unsourced", is_flag=True, help="Also list lots shipped by a station with no recorded source")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write to this file instead of stdout")
@store_option
def mass_balance_cmd(lots: tuple[str, ...], stations: tuple[str, ...], tolerance: float, include_unsourced: bool,
                     fmt: str, out: Path | None, store_url: str | None) -> None:
    """Stations that shipped more of a lot than they received or produced, and implausible slaughter yields (私屠滥宰)."""
    from dataclasses import asdict

    from graph.view import ReadView
    from reasoning.mass_balance import Tolerance, mass_balance

    with _store(store_url) as store:
        lot_ids = _resolve_ids(store, lots, "lot", "lot") if lots else None
        station_ids = _resolve_ids(store, stations, "operator", "station") if stations else None
        report = mass_balance(ReadView(store), lot_ids=lot_ids, station_ids=station_ids,
                              tolerance=Tolerance(relative=tolerance), include_unsourced=include_unsourced)
        every = list(report.findings) + list(report.incomplete) + list(report.unit_mismatch) + list(report.no_source)
        op_names = {k: v.name for k, v in store.get_many("operator", {f.station_id for f in every}).items()}
        prod_names = {k: v.name for k, v in store.get_many("product", {f.product_id for f in every
                                                                       if f.product_id}).items()}
    tol = report.tolerance
    if fmt == "json":
        def obj(f: Any) -> dict[str, Any]:
            return {**asdict(f), "station_name": op_names.get(f.station_id),
                    "product_name": prod_names.get(f.product_id or "")}

        text = render.json_text({
            "tolerance": {"relative": tol.relative, "absolute": tol.absolute},
            "pairs_checked": report.pairs_checked, "slaughters_checked": report.slaughters_checked,
            "violations": [obj(f) for f in report.violations],
            "illegal_slaughter": [obj(f) for f in report.slaughter],
            "incomplete": [obj(f) for f in report.incomplete],
            "unit_mismatch": [obj(f) for f in report.unit_mismatch],
            "no_source": [obj(f) for f in report.no_source],
        })
    elif fmt == "csv":
        text = render.csv_text(_mb_rows(report, op_names, prod_names), _MB_HEADERS)
    else:
        lines = [f"检查/checked: {report.pairs_checked:,} 主体-批次/station-lot pairs, {report.slaughters_checked:,} "
                 f"屠宰/slaughters; 容差/tolerance {tol.relative:.4g} (相对/relative), {tol.absolute:g} (绝对/absolute)"]
        if report.violations:
            lines += ["", _MB_KIND["shipped_more_than_received"], render.text_table(
                [[op_names.get(f.station_id, f.station_id), f.lot_id, prod_names.get(f.product_id or "", f.product_id),
                  f.unit, *map(_qty, (f.received, f.produced, f.shipped, f.used, f.excess)),
                  render.fmt_share(f.excess_ratio), _qty(f.peak_excess)] for f in report.violations],
                ["主体名称/station", "批次/lot", "产品名称/product", "单位/unit", "收货/received", "生产/produced",
                 "发货/shipped", "投入加工/used", "超出/excess", "超出比例/ratio", "峰值超出/peak"])]
        if report.slaughter:
            lines += ["", _MB_KIND["illegal_slaughter"], render.text_table(
                [[op_names.get(f.station_id, f.station_id), f.transformation_id, f.time,
                  *map(_qty, (f.heads_in, f.kg_out, f.max_plausible_kg, f.excess)), render.fmt_share(f.excess_ratio)]
                 for f in report.slaughter],
                ["主体名称/station", "加工转化/transformation", "时间/time", "投入头数/heads in", "产出千克/kg out",
                 "最大合理千克/max plausible kg", "超出/excess", "超出比例/ratio"])]
        counts = [("shipped_more_than_received", len(report.violations)), ("illegal_slaughter", len(report.slaughter)),
                  ("incomplete", len(report.incomplete)), ("unit_mismatch", len(report.unit_mismatch))]
        if include_unsourced:
            counts.append(("no_source", len(report.no_source)))
        lines += ["", "合计/totals: " + ", ".join(f"{_MB_KIND[k]} {n}" for k, n in counts)
                  + "  (--format csv or json lists each, with delivery ids)"]
        text = "\n".join(lines)
    if out:
        out.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"written to {out}")
    else:
        click.echo(text)


# -- outbreak ---------------------------------------------------------------------------------

@cli.command("outbreak")
@click.argument("cases_file", metavar="CASES.csv", type=click.Path(path_type=Path))
@click.option("--kill", "kills", multiple=True, metavar="ID",
              help="A station or lot whose processing kills the hazard (any identifier form; repeatable)")
@click.option("--hazard", type=click.Choice(HAZARD_CHOICES), default="unknown",
              show_default=True, help="Kind of hazard traced; kill steps cut only pathogens (microbial, unknown)")
@click.option("--priors", is_flag=True, help="Order tied candidates by product-risk priors (scores unchanged)")
@click.option("--window", "windows", multiple=True, metavar="CATEGORY=DAYS", callback=_trace_window,
              help="Holding window of a food category in days (repeatable), e.g. --window pork=5")
@click.option("--explicit-only", is_flag=True, help="Follow recorded links only (no inferred, possible links)")
@click.option("--top", type=click.IntRange(min=0), default=None,
              help="Show the N best stations and lots (default: 20 in a table, all in JSON; 0: all)")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@store_option
def outbreak_cmd(cases_file: Path, kills: tuple[str, ...], hazard: str, priors: bool, windows: dict[str, float],
                 explicit_only: bool, top: int | None, fmt: str, store_url: str | None) -> None:
    """Rank stations and lots by the share of case weight they explain (1 = common link): one upstream
    trace per case, as `foodtrace trace up` traces.

    CASES.csv has the columns id (编号: a station or lot), weight (权重, default 1, negative for a
    confirmed non-case) and date (日期, optional). Any bad row is an error: no ranking on part of the cases.
    """
    from graph.view import ReadView
    from reasoning.outbreak import rank_sources
    from reasoning.trace import TraceOptions

    from .outbreak import load_cases, ranking_table

    with _store(store_url) as store:
        view = ReadView(store)
        cases = load_cases(cases_file, view)
        result = rank_sources(view, cases, kill=kills, hazard=hazard, priors=priors,
                              options=TraceOptions(windows=windows, infer=not explicit_only))
    if fmt == "json":
        data = result.to_dict()
        if top:
            data["stations"], data["lots"] = data["stations"][:top], data["lots"][:top]
        click.echo(render.json_text(data))
    else:
        click.echo(ranking_table(result, 20 if top is None else top))


# -- generate, templates, export ----------------------------------------------------------------

@cli.command()
@click.option("--scale", type=click.IntRange(min=100), default=10000, show_default=True,
              help="Number of deliveries")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder")
@click.option("--holding-scale", type=click.FloatRange(min=0.01, max=10), default=1.0, show_default=True,
              help="Multiply every holding time (how long stations keep goods before shipping them on)")
def generate(scale: int, seed: int, out: Path, holding_scale: float) -> None:
    """Generate a seeded synthetic Nantong food network as the files a user would load."""
    manifest = run_generate(out, scale, seed, echo=click.echo, progress=get_settings().progress,
                            holding_scale=holding_scale)
    click.echo(f"wrote {out} ({manifest_summary(manifest)})")


def run_generate(out: Path, scale: int, seed: int, *, echo: Callable[[str], None], progress: bool = True,
                 holding_scale: float = 1.0) -> Any:
    from generator import generate as gen

    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=scale, unit="deliveries", file=sys.stderr, leave=False, dynamic_ncols=True)

    def tick(done: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    try:
        return gen(out, scale=scale, seed=seed, progress=tick, holding_scale=holding_scale)
    finally:
        if bar is not None:
            bar.close()


def manifest_summary(manifest: Any) -> str:
    counts = getattr(manifest, "counts", None) or (manifest.get("counts") if isinstance(manifest, dict) else None)
    if not counts:
        return "done"
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int))


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the blank templates")
def templates(out: Path) -> None:
    """Write every blank CSV/Excel template with one example row."""
    from loaders.templates import write_blank_templates

    paths = write_blank_templates(out)
    for p in paths:
        click.echo(str(p))


@cli.group()
def export() -> None:
    """Export the store's contents."""


@export.command("rdf")
@click.option("--format", "fmt", type=click.Choice(["turtle", "json-ld"]), default="turtle", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="File to write (default: stdout)")
@click.option("--validate/--no-validate", default=False, help="Check the export against the SHACL shapes")
@store_option
def export_rdf(fmt: str, out: Path | None, validate: bool, store_url: str | None) -> None:
    """Write the store as RDF (Turtle or JSON-LD) following the foodtrace ontology."""
    with _store(store_url) as store:
        conforms, report, n = run_export(store, fmt, out, validate)
    if out:
        click.echo(f"{n:,} triples written to {out}", err=True)
    if validate:
        click.echo(("SHACL: conforms" if conforms else "SHACL: does NOT conform\n" + report), err=True)
        if not conforms:
            sys.exit(1)


def run_export(store: Store, fmt: str, out: Path | None, validate: bool) -> tuple[bool, str, int]:
    """Export every record of ``store``; returns (conforms, SHACL report, triples)."""
    from ontology.rdf import serialise, to_graph, validate as shacl_validate
    from ontology.records import RECORD_TYPES

    def everything():
        for rtype in RECORD_TYPES:
            yield from store.scan(rtype.table)

    graph = to_graph(everything())
    data = serialise(graph, fmt)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        (out.write_bytes if isinstance(data, bytes) else lambda t: out.write_text(t, encoding="utf-8"))(data)
    else:
        click.echo(data.decode("utf-8") if isinstance(data, bytes) else data)
    conforms, report = (True, "")
    if validate:
        conforms, report = shacl_validate(graph)
    return conforms, report, len(graph)


# -- demo -------------------------------------------------------------------------------------

@cli.command()
@click.option("--scale", type=click.IntRange(min=100), default=None, help="Deliveries to generate (default 3000)")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder for files and store (default demo-out)")
@store_option
def demo(scale: int | None, seed: int, out: Path | None, store_url: str | None) -> None:
    """Generate a small Nantong network, load it, report counts and chain gaps, export RDF that passes the shapes."""
    settings = get_settings()
    out = out or Path(settings.demo_dir)
    scale = scale or settings.demo_scale
    url = store_url or str(out / "demo.db")
    example = None
    t0 = time.perf_counter()
    click.echo(f"== 1. 生成南通模拟数据 / generating a synthetic Nantong network ({scale:,} deliveries, seed {seed})")
    data_dir = out / "data"
    run_generate(data_dir, scale, seed, echo=click.echo, progress=settings.progress)
    click.echo(f"== 2. 导入 / loading {data_dir} into {url}")
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.parent.name != "truth"
                   and p.name != "manifest.json")
    with open_store(url) as store:
        code = run_load(store, files, "auto", out / "rejects.csv", echo=click.echo, progress=settings.progress)
        click.echo("== 3. 统计 / counts per entity type and district")
        print_stats(gather_stats(store), click.echo)
        click.echo("== 4. 一证一票一码 / chain completeness")
        report = chain_report(store)
        names = _term_names()
        click.echo(render.text_table([r for r in _chain_rows(report, names)], _CHAIN_HEADERS))
        by_kind: dict[str, int] = {}
        for g in report.gaps:
            by_kind[g.kind] = by_kind.get(g.kind, 0) + 1
        click.echo("缺口/gaps: " + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
                   + "  (foodtrace chain-check --format csv lists each)")
        click.echo("== 5. RDF 导出与 SHACL 校验 / RDF export checked against the SHACL shapes")
        rdf_path = out / "demo.ttl"
        conforms, report_text, n = run_export(store, "turtle", rdf_path, True)
        click.echo(f"{n:,} triples in {rdf_path}: " + ("SHACL conforms" if conforms else "SHACL does NOT conform"))
        if not conforms:
            click.echo(report_text[:4000])
        example = next((r.id for r in store.scan("lot") if r.id.startswith("https://id.gs1.org/01/")), None)
    click.echo(f"demo finished in {time.perf_counter() - t0:.1f} s (store: {url})")
    if example:
        click.echo(f"扫码查询 / the QR lookup service: foodtrace serve --store {url}  then open "
                   f"http://127.0.0.1:8000{example.removeprefix('https://id.gs1.org')}")
    if code == 2 or not conforms:
        sys.exit(1)


# -- risk and report groups (their commands register themselves on import) -----------------------

from .risk_cli import report as _report_group, risk as _risk_group  # noqa: E402

cli.add_command(_risk_group)
cli.add_command(_report_group)
from . import report_consult  # noqa: E402,F401
from . import grading_cli  # noqa: E402,F401
from . import workflow_cli  # noqa: E402,F401
from . import risk_model_cli  # noqa: E402,F401
from .service_cli import audit as _audit_cmd, keys as _keys_group, public_cache as _public_cache  # noqa: E402
from .service_cli import serve as _serve_cmd  # noqa: E402

cli.add_command(_serve_cmd)
cli.add_command(_keys_group)
cli.add_command(_audit_cmd)
cli.add_command(_public_cache)


def main() -> None:
    """Entry point of the ``foodtrace`` command."""
    cli(prog_name="foodtrace")


if __name__ == "__main__":
    main()
