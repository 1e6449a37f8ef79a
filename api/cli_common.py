"""What every command module of the ``foodtrace`` command line shares: options, opening the store, writing out.

A command module (``api/*_cli.py``) imports from here and from nothing else of the command line; the
root group in :mod:`api.cli` imports the command modules. Where a command's text goes is decided once,
by :func:`emit`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import socket
from pathlib import Path
from typing import Any, Callable

import click

from graph.store import Store, WriteContext, open_store
from ontology.errors import InvalidRecord
from ontology.times import parse_day

from .settings import get_settings

__all__ = ["store_option", "open_cli_store", "date_option", "as_of_option", "out_option", "lang_option",
           "format_option", "emit", "cli_actor", "cli_context"]

#: ``--store URL`` on every command that reads or writes the store
store_option = click.option("--store", "store_url", default=None, metavar="URL",
                            help="Store URL (file path, sqlite:///x.db); default: $FOODTRACE_STORE or foodtrace.db")


def open_cli_store(url: str | None) -> Store:
    """The store of ``--store URL``, else of the ``FOODTRACE_STORE`` setting."""
    settings = get_settings()
    return open_store(url or settings.store, settings.store_options())


def cli_actor(by: str | None = None) -> str:
    """Who a command acts for, as the store's batches and versions record it: ``--by`` where given, else the
    account running it (user@host)."""
    if by and by.strip():
        return by.strip()
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment (a container)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def cli_context(kind: str, *, by: str | None = None, reason: str | None = None,
                source: str | None = None) -> WriteContext:
    """The :class:`graph.store.WriteContext` of a command's write."""
    return WriteContext(kind=kind, actor=cli_actor(by), reason=reason, source=source)


def date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback reading a day (YYYY-MM-DD, :func:`ontology.times.parse_day`); a bad one is a usage
    error naming the option."""
    if value is None:
        return None
    try:
        return parse_day(value.strip(), param.name or "date")
    except InvalidRecord:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD), e.g. 2026-03-01", ctx, param) from None


def as_of_option(help: str = "As of this day: records dated before it count (default: the day after the latest "
                             "dated record in the store)") -> Callable[[Any], Any]:
    """``--as-of DATE`` (a day; the default is :func:`ontology.times.default_as_of`, applied by the command)."""
    return click.option("--as-of", "as_of", callback=date_option, metavar="DATE", help=help)


def out_option(help: str = "Write to this file instead of stdout", **kwargs: Any) -> Callable[[Any], Any]:
    """``--out FILE``."""
    return click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help=help, **kwargs)


def lang_option(help: str = "Language of names and headers") -> Callable[[Any], Any]:
    """``--lang zh|en`` (Chinese by default)."""
    return click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help=help)


def format_option(*choices: str, help: str | None = None) -> Callable[[Any], Any]:
    """``--format`` with these choices, the first being the default."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=choices[0], show_default=True,
                        help=help)


def emit(text: str, out: Path | None, fmt: str) -> None:
    """Write ``text`` to ``out`` (its folder made; CSV with a BOM so that Excel reads the Chinese) and say so on
    standard error, or print it (CSV with the BOM too)."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"written to {out}", err=True)
    elif fmt == "csv":
        click.echo("\ufeff" + text, nl=False)
    else:
        click.echo(text)
