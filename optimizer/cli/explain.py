"""``equalize explain INSTANCE --region ID``: why one region gets what it gets, in words."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli.common import instance_argument, reported_errors
from optimizer.cli.round_flags import round_flags, round_from_flags, solver_flags
from optimizer.explain.paragraph import region_paragraph, region_rows


@click.command("explain")
@instance_argument
@click.option("--region", "-r", required=True, help="The region_id to explain (as in regions.csv).")
@round_flags
@solver_flags
def explain_cmd(instance: Path, region, **flags):
    """Solve INSTANCE with the solve options given and explain one region: the arithmetic of
    its transfer, the constraints that bind, and what raising its threshold or the budget
    would change (from the duals).

    \b
    Example:
      equalize explain instances/korea-17 --region gangwon
      equalize explain instances/korea-17 --region busan -o min-shortfall --budget 0.9x
    Exit codes: 0 explained, 1 infeasible, 2 bad input (an unknown region names the nearest).
    """
    with reported_errors():
        rnd = round_from_flags(instance, flags)
        region_rows(rnd.inst.regions, region)   # an unknown region: exit 2 before solving
        result = rnd.solve()
        click.echo(region_paragraph(result.allocation, result.summary, region, rnd.inst.unit))
