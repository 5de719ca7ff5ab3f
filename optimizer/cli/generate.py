"""``equalize generate``: a synthetic, realistic instance."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli.common import reported_errors
from optimizer.io.generate import generate
from optimizer.io.writers import GENERATE_OUTPUTS, write_run


@click.command("generate")
@click.option("--regions", "-n", type=click.IntRange(min=1), required=True, help="Number of regions.")
@click.option("--seed", "-s", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--threshold", type=click.FloatRange(min=0), default=0.9, show_default=True)
@click.option("--budget-share", type=click.FloatRange(min=0), default=1.1, show_default=True,
              help="Budget as a multiple of the least budget meeting the threshold.")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def generate_cmd(regions: int, seed: int, threshold: float, budget_share: float, folder: Path):
    """Write a synthetic, realistic instance with N regions into FOLDER.

    \b
    Example:
      equalize generate --regions 1000 --seed 7 /tmp/gen-1000
    """
    with reported_errors():
        g = generate(regions, seed, threshold, budget_share)
        write_run(folder, {"regions.csv": g.regions.to_csv(index=False, lineterminator="\n").encode(),
                           "instance.toml": g.toml.encode()}, GENERATE_OUTPUTS)
        click.echo(f"wrote {folder} ({regions} regions, budget {g.budget:,.6g} KRW billion)")
