"""The ``foodtrace`` command line: the root group, and every command module's commands added to it.

Every command takes ``--store URL`` (default: the ``FOODTRACE_STORE`` setting). Domain errors are printed
as one line on standard error with exit code 2, never as a traceback.

Where a command goes: a command module ``api/<topic>_cli.py`` defines it with the options of
:mod:`api.cli_common` (``--store``, ``--as-of``, ``--out``, ``--lang``, ``--format``) and calls one function
of ``reasoning/`` or ``loaders/`` (the same one the service and the console call); a top-level command is
listed in the module's ``COMMANDS`` and added below, a ``risk``/``report`` subcommand registers itself on
the group of :mod:`api.risk_cli`.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ontology.errors import FoodtraceError

from . import (backup_cli, banquets_cli, data_cli, disposal_cli, events_cli, grading_cli, operators_cli, plan_cli,
               records_cli, report_consult, risk_model_cli, schools_cli, service_cli, trace_cli, users_cli,
               workflow_cli)
from .risk_cli import report, risk

__all__ = ["main", "cli"]

# the modules whose commands register themselves on the risk and report groups when imported
_REGISTERING = (grading_cli, workflow_cli, risk_model_cli, plan_cli, report_consult)


class _Group(click.Group):
    """Turns domain errors into one-line messages (exit code 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FoodtraceError as e:
            click.echo(f"foodtrace: {e}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """foodtrace: lot-level food traceability and risk reasoning (一证一票一码)."""


for _command in (*data_cli.COMMANDS, *trace_cli.COMMANDS, *operators_cli.COMMANDS, risk, report,
                 *service_cli.COMMANDS, *disposal_cli.COMMANDS, *users_cli.COMMANDS, *records_cli.COMMANDS,
                 *backup_cli.COMMANDS, *schools_cli.COMMANDS, *banquets_cli.COMMANDS, *events_cli.COMMANDS):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``foodtrace`` command."""
    cli(prog_name="foodtrace")


if __name__ == "__main__":
    main()
