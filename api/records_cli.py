"""``foodtrace history``, ``correct``, ``delete``, ``unload``, ``erase`` and ``batches``: the records' story and
the changes a bureau makes by hand, each kept with who, when and why (:mod:`graph.versions`).

Corrections in bulk come as a corrections template through ``foodtrace load`` (:mod:`loaders.corrections`);
``foodtrace correct`` corrects one field from the console. The service offers the same through
:mod:`api.service.records`; both call the same store methods.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ontology.errors import InvalidRecord, NotFound
from ontology.records import PLACEHOLDERS, record_type

from .cli_common import cli_context, format_option, open_cli_store, store_option
from .render import text_table

__all__ = ["COMMANDS", "history", "correct", "delete", "unload", "erase", "batches", "history_rows"]

_by_option = click.option("--by", default=None, help="Who decides it (default: the account running the command)")


def _shown(v: Any) -> str:
    if v is None:
        return "—"
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def history_rows(h: dict[str, Any]) -> list[list[Any]]:
    """One row per changed field of every version: time, batch, kind, who, source, reason, field, before, after."""
    rows = []
    for v in h["versions"]:
        b = v["batch"] or {}
        for field, (before, after) in v["changes"].items():
            if field == PLACEHOLDERS:
                continue
            rows.append([(b.get("time") or "")[:19], b.get("id", ""), v["op"] if v["op"] == "delete" else b.get("kind", ""),
                         b.get("actor") or "", b.get("source") or "", v["reason"] or b.get("reason") or "", field,
                         _shown(before), _shown(after)])
    return rows


@click.command("history")
@click.argument("identifier")
@click.option("--as-of", "as_of", default=None, metavar="TIME",
              help="Also show the record as it was at this time (ISO time, or a day: its end)")
@format_option("table", "json")
@store_option
def history(identifier: str, as_of: str | None, fmt: str, store_url: str | None) -> None:
    """Where a record came from and every change made to it: who, when, from which file or request, why."""
    with open_cli_store(store_url) as store:
        h = store.history(identifier)
        then = store.record_as_of(h["table"], h["id"], as_of) if as_of else None
    if as_of:
        h["as_of"] = {"time": as_of, "values": _values(then)}
    if fmt == "json":
        click.echo(json.dumps(h, ensure_ascii=False, indent=1))
        return
    rtype = record_type(h["table"])
    click.echo(f"{rtype.zh}/{h['table']} {h['id']}" + ("" if h["current"] else "  （已删除/deleted）"))
    for s in h["sources"]:
        click.echo(f"  来源/source: #{s['id']} {s['time'][:19]} {s['kind']} {s['source'] or ''} "
                   f"({s['actor'] or '-'})")
    if h["current"]:
        fields = [[k, _shown(v)] for k, v in h["current"].items() if v is not None and k != "id"]
        click.echo(text_table(fields, ["字段/field", "当前值/current"]))
    rows = history_rows(h)
    if rows:
        click.echo(text_table(rows, ["时间/time", "批次/batch", "类型/kind", "操作人/by", "来源/source", "原因/reason",
                                     "字段/field", "原值/before", "新值/after"]))
    else:
        click.echo("无变更/no change since it was loaded")
    if as_of:
        values = h["as_of"]["values"]
        click.echo(f"{as_of} 时/as of {as_of}: " + ("不存在/did not exist" if values is None else ""))
        if values:
            click.echo(text_table([[k, _shown(v)] for k, v in values.items() if v is not None and k != "id"],
                                  ["字段/field", "当时值/then"]))


def _values(rec: Any) -> dict[str, Any] | None:
    from graph.versions import record_values

    return None if rec is None else record_values(rec)


@click.command("correct")
@click.argument("identifier")
@click.argument("field")
@click.argument("value")
@click.option("--reason", required=True, help="Why (kept with the previous value)")
@click.option("--table", default=None, help="Record type where the id names several (operator, lot ...)")
@_by_option
@store_option
def correct(identifier: str, field: str, value: str, reason: str, table: str | None, by: str | None,
            store_url: str | None) -> None:
    """Correct one field of a record (VALUE as in the templates; "" clears it). Many at once: load a
    corrections template (`foodtrace templates`) with `foodtrace load`."""
    from loaders.corrections import correction_of

    with open_cli_store(store_url) as store:
        c = correction_of(store, {"id": identifier, "table": table or "", "field": field, "value": value,
                                  "reason": reason})
        done = store.correct([c], cli_context("correction", by=by, reason=reason, source="foodtrace correct"))
    if not done:
        click.echo(f"{c.table} {c.id}: {c.field} already is {_shown(c.value)}; nothing changed")
        return
    (_, old), = done
    click.echo(f"已更正/corrected {c.table} {c.id}: {c.field} {_shown(old)} → {_shown(c.value)}")


@click.command("delete")
@click.argument("identifier")
@click.option("--reason", required=True, help="Why (kept with the deleted values)")
@click.option("--table", default=None, help="Record type where the id names several")
@_by_option
@store_option
def delete(identifier: str, reason: str, table: str | None, by: str | None, store_url: str | None) -> None:
    """Delete one record and its aliases (its last values are kept in its history); refused while other
    records refer to it."""
    from loaders.corrections import record_of

    with open_cli_store(store_url) as store:
        rid, t = record_of(store, identifier, table, option="--table")
        store.delete(t, [rid], cli_context("delete", by=by, reason=reason, source="foodtrace delete"))
    click.echo(f"已删除/deleted {t} {rid}")



@click.command("unload")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--batch", "batch_ids", type=int, multiple=True, help="A batch number (see `foodtrace batches`) "
              "instead of a file: what that load, capture or upload wrote")
@click.option("--reason", required=True, help="Why (kept with every deleted record)")
@_by_option
@store_option
def unload(files: tuple[Path, ...], batch_ids: tuple[int, ...], reason: str, by: str | None,
           store_url: str | None) -> None:
    """Take back everything FILE loaded (found by its content's SHA-256): what only it loaded is deleted,
    what another source also loaded stays, and values it changed go back where it made the latest change."""
    from loaders.load import file_digest

    if not files and not batch_ids:
        raise click.UsageError("name the FILE(s) to unload, or --batch N")
    with open_cli_store(store_url) as store:
        tags: set[int] = set()
        for f in files:
            if not f.is_file():
                raise click.BadParameter(f"{f}: no such file (the file's content identifies what it loaded)")
            found = {b.tag for b in store.batches(digest=file_digest(f)).values() if b.tag is not None}
            if not found:
                raise NotFound(f"{f} was never loaded into this store (no load has its SHA-256)")
            tags |= found
        if batch_ids:
            known = store.batches(batch_ids)
            for b in batch_ids:
                if b not in known:
                    raise NotFound(f"no batch {b} (see `foodtrace batches`)")
                if known[b].tag is None:
                    raise InvalidRecord(f"batch {b} is a {known[b].kind}, not a load, capture or upload: "
                                        "it has nothing to unload")
                tags.add(known[b].tag)  # type: ignore[arg-type]
        what = ", ".join([str(f) for f in files] + [f"batch {b}" for b in batch_ids])
        st = store.unload(tags, cli_context("unload", by=by, reason=reason, source=f"foodtrace unload {what}"))
    rows = [[t, st.deleted.get(t, 0), st.kept.get(t, 0), st.reverted.get(t, 0)]
            for t in sorted(set(st.deleted) | set(st.kept) | set(st.reverted))]
    click.echo(text_table(rows, ["表/table", "删除/deleted", "保留(另有来源)/kept", "恢复原值/reverted"]))
    click.echo(f"批次/batch {st.batch}: {sum(st.deleted.values())} 条记录已删除/records deleted")


@click.command("erase")
@click.argument("identifier")
@click.option("--reason", required=True, help="The request (e.g. 本人申请删除个人信息, its registration number)")
@click.option("--by", required=True, help="Who erases it (recorded on the tombstone)")
@store_option
def erase(identifier: str, reason: str, by: str, store_url: str | None) -> None:
    """Erase a natural person's personal data (个人信息保护法): the operator stays as a tombstone saying when
    and by whom, so traces still pass through the station; name, phone, ID and address are gone, also
    from its history."""
    with open_cli_store(store_url) as store:
        oid = store.require(identifier, "operator")
        new_id = store.erase(oid, cli_context("erase", by=by, reason=reason, source="foodtrace erase"))
    click.echo(f"已删除个人信息/personal data erased: {new_id}" + ("" if new_id == oid else f" (was {oid})"))


@click.command("batches")
@click.option("--kind", default=None, help="Only batches of this kind (load, capture, upload, correction ...)")
@click.option("--last", type=int, default=50, show_default=True, help="The latest N batches (0: all)")
@format_option("table", "json")
@store_option
def batches(kind: str | None, last: int, fmt: str, store_url: str | None) -> None:
    """The writes the store recorded: each load, capture, upload, correction, deletion and erasure, with
    who, when, from which file or request, why, and how many records it received and changed."""
    with open_cli_store(store_url) as store:
        found = [b for b in store.batches().values() if kind is None or b.kind == kind]
    found = found[-last:] if last else found
    if fmt == "json":
        click.echo(json.dumps([b.as_dict() for b in found], ensure_ascii=False, indent=1))
        return
    click.echo(text_table([[b.id, b.time[:19], b.kind, b.actor or "", _shown(b.source), b.reason or "", b.received,
                            b.changed, b.tag or ""] for b in found],
                          ["批次/batch", "时间/time", "类型/kind", "操作人/by", "来源/source", "原因/reason",
                           "收到/received", "变更/changed", "来源标记/tag"]))


#: the commands of this module, added to the root group by :mod:`api.cli`
COMMANDS = (history, correct, delete, unload, erase, batches)
