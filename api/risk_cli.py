"""Command groups of the risk and credit work: ``foodtrace risk ...`` and ``foodtrace report ...``.

The groups live here; their commands live in their own modules, registered by importing them in
:mod:`api.cli`.
"""

from __future__ import annotations

import click

__all__ = ["risk", "report"]


@click.group("risk")
def risk() -> None:
    """Risk and credit grades, the supervision plan, the failure-risk model and early warnings."""


@click.group("report")
def report() -> None:
    """Reports for analysts (风险会商)."""
