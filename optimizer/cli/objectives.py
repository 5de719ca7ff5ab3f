"""``equalize objectives``: the objectives, one line each."""

from __future__ import annotations

import click

from models.objectives import OBJECTIVES


@click.command("objectives")
def objectives_cmd():
    """List the objectives, one line each.

    \b
    Example:
      equalize objectives
    """
    width = max(len(n) for n in OBJECTIVES)
    for name, spec in OBJECTIVES.items():
        click.echo(f"{name:<{width}}  {spec.summary}")
