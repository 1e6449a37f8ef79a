"""The investigator's commands: ``foodtrace trace``, ``mass-balance`` and ``outbreak``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from . import render
from .cli_common import emit, open_cli_store, store_option
from .trace_params import HAZARD_CHOICES

__all__ = ["COMMANDS"]


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


@click.command("trace")
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
    from .trace_params import kept_passes, trace_options

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE.xlsx")
    if graph is not None and graph.suffix.lower() not in (".html", ".htm", ".png"):
        raise click.BadParameter(f"{graph}: the file must end in .html or .png", param_hint="--graph")
    with open_cli_store(store_url) as store:
        view = ReadView(store)
        try:
            opts = trace_options(view, since=since, until=until, windows=windows, hazard=hazard, kills=kills,
                                 explicit_only=explicit_only, min_likelihood=min_likelihood,
                                 max_inferred=max_inferred, fixed_windows=fixed_windows)
        except InvalidRecord as e:
            raise click.BadParameter(str(e), param_hint="--max-inferred") from None
        result = trace(view, identifier, direction, opts, passes=kept_passes(store, view, opts))
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


@click.command("mass-balance")
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

    with open_cli_store(store_url) as store:
        lot_ids = store.require_many(lots, "lot") if lots else None
        station_ids = store.require_many(stations, "operator", what="station") if stations else None
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
    emit(text, out, fmt)


# -- outbreak ---------------------------------------------------------------------------------

@click.command("outbreak")
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
    from reasoning.trace import TraceOptions, Tracer

    from .outbreak import load_cases, ranking_table
    from .trace_params import kept_passes

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        cases = load_cases(cases_file, view)
        opts = TraceOptions(windows=windows, infer=not explicit_only)
        result = rank_sources(view, cases, kill=kills, hazard=hazard, priors=priors, options=opts,
                              tracer=Tracer(view, passes=kept_passes(store, view, opts)))
    if fmt == "json":
        data = result.to_dict()
        if top:
            data["stations"], data["lots"] = data["stations"][:top], data["lots"][:top]
        click.echo(render.json_text(data))
    else:
        click.echo(ranking_table(result, 20 if top is None else top))


#: the commands of this module, added to the root group by :mod:`api.cli`
COMMANDS = (trace_cmd, mass_balance_cmd, outbreak_cmd)
