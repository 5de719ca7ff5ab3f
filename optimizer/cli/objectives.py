"""``equalize objectives``: the objectives and the formulas, one line each with its kind."""

from __future__ import annotations

import click

from models.objectives import OBJECTIVES
from optimizer.formulas import FORMULAS, KIND

OBJECTIVE_KIND = "lp"


def catalogue() -> list[tuple[str, str, str]]:
    """(name, kind, summary): the LP objectives, then the formulas (kind "formula")."""
    return [(name, OBJECTIVE_KIND, spec.summary) for name, spec in OBJECTIVES.items()] + \
        [(name, KIND, spec.summary) for name, spec in FORMULAS.items()]


@click.command("objectives")
def objectives_cmd():
    """List the objectives (kind lp) and the formulas (kind formula), one line each.

    \b
    Example:
      equalize objectives
      equalize solve instances/korea-17 --objective korea-lst
    A formula is today's rule of a country (docs/objectives.md, Formulas): usable wherever an
    objective is; its parameters are options (--formula-option NAME=VALUE).
    """
    rows = catalogue()
    width = max(len(n) for n, _, _ in rows)
    for name, kind, summary in rows:
        click.echo(f"{name:<{width}}  {kind:<7}  {summary}")
