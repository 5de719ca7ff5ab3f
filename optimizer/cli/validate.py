"""``equalize validate``: check an instance and report every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli.common import echo_notices, instance_argument, reported_errors
from optimizer.io.load import load_instance


@click.command("validate")
@instance_argument
def validate_cmd(instance: Path):
    """Check INSTANCE and report every problem at once (exit 2 if any).

    \b
    Example:
      equalize validate instances/korea-17
    """
    with reported_errors():
        inst = load_instance(instance)
        echo_notices(inst)
        click.echo(f"ok: {inst.name}: {inst.n} regions, budget {inst.budget:,.6g} {inst.unit}, "
                   f"threshold {inst.threshold:g}")
