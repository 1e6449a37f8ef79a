"""Small pieces the command modules share: the date option callback and writing a command's text out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

__all__ = ["date_option", "emit"]


def date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback reading an ISO date (YYYY-MM-DD); a bad one is a usage error naming the option."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD), e.g. 2026-03-01", ctx, param) from None


def emit(text: str, out: Path | None, fmt: str) -> None:
    """Write ``text`` to ``out`` (its folder made; CSV with a BOM so that Excel reads the Chinese) and say so on
    standard error, or print it (CSV with the BOM too)."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"written to {out}", err=True)
    elif fmt == "csv":
        click.echo("\ufeff" + text, nl=False)
    else:
        click.echo(text)
