"""The data commands: ``foodtrace load``, ``stats``, ``chain-check``, ``generate``, ``templates``, ``export``, ``demo``."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from graph.store import Store, WriteContext, open_store
from loaders.base import ReadOptions

from . import render
from .cli_common import cli_context, emit, format_option, open_cli_store, out_option, store_option
from .settings import get_settings

__all__ = ["COMMANDS", "run_load", "run_generate", "run_export", "print_stats"]


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



# -- load -------------------------------------------------------------------------------------

def run_load(store: Store, files: list[Path], kind: str, rejects_path: Path, *, echo: Callable[[str], None],
             progress: bool = True, options: ReadOptions | None = None, coverage: str | None = None,
             source: str | None = None, context: WriteContext | None = None) -> int:
    """Load files, print a summary, write the rejects CSV (and the warnings and notes CSVs beside it); return the
    exit code."""
    from loaders.base import (NOTE_KINDS, WARNING_KINDS, notes_path, warnings_path, write_notes, write_rejects,
                              write_warnings)
    from loaders.load import load_files

    sizes = {p: (p.stat().st_size if p.is_file() else 0) for p in files}
    bar = _Progress(sum(sizes.values()), progress)
    t0 = time.perf_counter()
    try:
        outcomes = load_files(store, files, kind, on_file_start=bar.file_start, on_records=bar.on_records,
                              on_file_done=lambda o: bar.file_done(sizes.get(o.path, 0)), options=options,
                              coverage=coverage, source=source, context=context)
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
    _by_kind([w for o in outcomes for w in o.warnings], WARNING_KINDS, ["警告（已入库）/warning (stored)", "行/rows"],
             warnings_path(rejects_path), write_warnings, "warning(s) written to", echo)
    _by_kind([n for o in outcomes for n in o.notes], NOTE_KINDS,
             ["跳过（非记录）/skipped (no record)", "行或表/rows or sheets"], notes_path(rejects_path), write_notes,
             "skipped row(s) or sheet(s) listed in", echo)
    return max((o.exit_code for o in outcomes), default=0)


def _by_kind(items: list[Any], kinds: dict[str, tuple[str, str]], headers: list[str], path: Path,
             write: Callable[[list[Any], Path], int], said: str, echo: Callable[[str], None]) -> None:
    """Count warnings or notes by kind in the summary and write them beside the rejects CSV (nothing if none)."""
    if not items:
        return
    from collections import Counter

    by_kind = Counter(i.kind for i in items)
    echo(render.text_table([["/".join(kinds.get(k, (k, k))), n] for k, n in by_kind.most_common()], headers))
    n = write(items, path)
    echo(f"{n} {said} {path.resolve()}")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["auto", "epcis", "template", "samr"]), default="auto", show_default=True,
              help="Loader to use; auto picks by file type and headers")
@click.option("--rejects", "rejects_path", type=click.Path(path_type=Path), default=None,
              help="Rejects CSV (default: rejects.csv in the working directory); warnings and the rows skipped as "
                   "no records go beside it (rejects-warnings.csv, rejects-notes.csv)")
@click.option("--sheet", "sheets", multiple=True, metavar="NAME",
              help="Read this sheet of a workbook as data even if its name says 说明 (instructions); repeatable")
@click.option("--coverage", type=click.Choice(["auto", "both", "failures-only"]), default="auto", show_default=True,
              help="What the sampling announcements' sources publish: both tables (合格 and 不合格) or failures only; "
                   "auto detects it (a source with no 合格 row loaded is failures-only)")
@click.option("--source", "source", default=None, metavar="NAME",
              help="The publisher of the sampling announcements (default: read from 任务来源/项目名称)")
@store_option
def load(files: tuple[Path, ...], kind: str, rejects_path: Path | None, sheets: tuple[str, ...], coverage: str,
         source: str | None, store_url: str | None) -> None:
    """Load EPCIS documents, CSV/Excel templates and sampling announcements.

    Exit code 0 when everything loaded, 1 when records were rejected (see the
    rejects CSV), 2 when a file could not be read at all. Rows stored with
    something missing (an announcement naming no sampled unit ...) are warnings:
    counted by kind and listed beside the rejects CSV; they do not change the exit
    code. Rows and sheets that are no records (合计 and 注 rows, footers, 说明
    sheets) are skipped and listed beside it too (notes); nor do they. A folder
    loads every data file in it (CSV, Excel, JSON, XML).
    """
    from loaders.base import DATA_SUFFIXES

    settings = get_settings()
    expanded: list[Path] = []
    for f in files:
        if f.is_dir():
            expanded.extend(sorted(p for p in f.rglob("*") if p.is_file() and not p.name.startswith(".")
                                   and p.suffix.lower() in DATA_SUFFIXES))
        else:
            expanded.append(f)
    with open_cli_store(store_url) as store:
        code = run_load(store, expanded, kind, rejects_path or Path(settings.rejects), echo=click.echo,
                        progress=settings.progress,
                        options=dataclasses.replace(settings.read_options(), sheets=sheets),
                        coverage=None if coverage == "auto" else coverage.replace("-", "_"), source=source,
                        context=cli_context("load"))
    sys.exit(code)


# -- stats ------------------------------------------------------------------------------------

def print_stats(stats: dict[str, Any], echo: Callable[[str], None]) -> None:
    from ontology.records import record_type

    rows = [[f"{record_type(t).zh}/{record_type(t).cls}", n] for t, n in stats["counts"].items()]
    echo(render.text_table(rows, ["实体类型/entity type", "数量/count"]))
    echo("")
    kinds = sorted({k for d in stats["districts"].values() for k in d["by_kind"]})
    rows = [[name, d["operators"], d["deliveries_received"]] + [d["by_kind"].get(k, 0) for k in kinds]
            for name, d in sorted(stats["districts"].items())]
    echo(render.text_table(rows, ["区县/district", "主体/operators", "收货/deliveries in"] + kinds))


@click.command()
@format_option("table", "json")
@store_option
def stats(fmt: str, store_url: str | None) -> None:
    """Counts per entity type and per district."""
    from graph.view import ReadView
    from reasoning.stats import store_stats

    with open_cli_store(store_url) as store:
        data = store_stats(ReadView(store))
    if fmt == "json":
        click.echo(render.json_text(data))
    else:
        print_stats(data, click.echo)


# -- chain-check ------------------------------------------------------------------------------

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


@click.command("chain-check")
@format_option("table", "json", "csv")
@out_option()
@click.option("--gaps/--no-gaps", default=True, show_default=True, help="List every gap by id")
@store_option
def chain_check(fmt: str, out: Path | None, gaps: bool, store_url: str | None) -> None:
    """一证一票一码: certificate, ticket and trace-code completeness per market, district and category."""
    from graph.view import ReadView
    from reasoning.chain import chain_report

    with open_cli_store(store_url) as store:
        report = chain_report(ReadView(store))
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
    emit(text, out, fmt)


# -- generate, templates, export ----------------------------------------------------------------

@click.command()
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


@click.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the blank templates")
def templates(out: Path) -> None:
    """Write every blank CSV/Excel template with one example row."""
    from loaders.templates import write_blank_templates

    paths = write_blank_templates(out)
    for p in paths:
        click.echo(str(p))


@click.group()
def export() -> None:
    """Export the store's contents."""


@export.command("rdf")
@format_option("turtle", "json-ld")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="File to write (default: stdout)")
@click.option("--validate/--no-validate", default=False,
              help="Check the export against the SHACL shapes (builds the whole graph in memory: for stores of "
                   "up to about a million records; without it the export is streamed)")
@store_option
def export_rdf(fmt: str, out: Path | None, validate: bool, store_url: str | None) -> None:
    """Write the store as RDF (Turtle or JSON-LD) following the foodtrace ontology."""
    with open_cli_store(store_url) as store:
        conforms, report, n = run_export(store, fmt, out, validate)
    if out:
        click.echo(f"{n:,} triples written to {out}", err=True)
    if validate:
        click.echo(("SHACL: conforms" if conforms else "SHACL: does NOT conform\n" + report), err=True)
        if not conforms:
            sys.exit(1)


@export.command("neo4j-import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@store_option
@click.option("--gzip", "compress", is_flag=True,
              help="Gzip the data files (.csv.gz, read by the importer as they are): about a tenth of the disk")
def export_neo4j_import(folder: Path, store_url: str | None, compress: bool) -> None:
    """Write the store as the CSV and header files of `neo4j-admin database import full` (a first load or a
    rebuild of a Neo4j store); `bash scripts/neo4j/import.sh FOLDER` imports them into the local server."""
    from graph.neo4j_import import write_import

    def shown(label: str, n: int) -> None:
        click.echo(f"{label}: {n:,}", err=True)

    with open_cli_store(store_url) as store:
        summary = write_import(store, folder, progress=shown, compress=compress)
    click.echo(f"{summary.total:,} nodes in {len(summary.files)} files written to {folder} "
               f"(arguments of neo4j-admin in {folder / 'import.args'})", err=True)


def run_export(store: Store, fmt: str, out: Path | None, validate: bool) -> tuple[bool, str, int]:
    """Export every record of ``store``; returns (conforms, SHACL report, triples).

    Without ``validate`` the records are written while they are read (:func:`ontology.rdf.write_rdf`), so
    memory does not grow with the store; SHACL needs the whole graph, so ``validate`` builds it.
    """
    from ontology.rdf import serialise, to_graph, validate as shacl_validate, write_rdf
    from ontology.records import RECORD_TYPES

    def everything():
        for rtype in RECORD_TYPES:
            yield from store.scan(rtype.table)

    if not validate:
        if out is None:
            return True, "", write_rdf(everything(), click.get_text_stream("stdout"), fmt)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8", newline="\n") as fh:
            return True, "", write_rdf(everything(), fh, fmt)
    graph = to_graph(everything())
    data = serialise(graph, fmt)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        (out.write_bytes if isinstance(data, bytes) else lambda t: out.write_text(t, encoding="utf-8"))(data)
    else:
        click.echo(data.decode("utf-8") if isinstance(data, bytes) else data)
    conforms, report = shacl_validate(graph)
    return conforms, report, len(graph)


# -- demo -------------------------------------------------------------------------------------

@click.command()
@click.option("--scale", type=click.IntRange(min=100), default=None, help="Deliveries to generate (default 3000)")
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder for files and store (default demo-out)")
@store_option
def demo(scale: int | None, seed: int, out: Path | None, store_url: str | None) -> None:
    """Generate a small Nantong network, load it, report counts and chain gaps, export RDF that passes the shapes."""
    from graph.view import ReadView
    from reasoning.chain import chain_report
    from reasoning.stats import store_stats

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
    with open_store(url, settings.store_options()) as store:
        code = run_load(store, files, "auto", out / "rejects.csv", echo=click.echo, progress=settings.progress,
                        options=settings.read_options())
        click.echo("== 3. 统计 / counts per entity type and district")
        print_stats(store_stats(ReadView(store)), click.echo)
        click.echo("== 4. 一证一票一码 / chain completeness")
        report = chain_report(ReadView(store))
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


#: the commands of this module, added to the root group by :mod:`api.cli`
COMMANDS = (load, stats, chain_check, generate, templates, export, demo)
