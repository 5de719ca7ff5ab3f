"""``equalize scenarios``: list the [scenarios.NAME] of an instance, or compare them."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli.common import instance_argument, reported_errors
from optimizer.core.result import SOLVED_STATUSES
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.io.writers import SCENARIOS_OUTPUTS, allocation_csv, write_run
from optimizer.studies.compare import compare_scenarios_table

# the columns of `scenarios --compare` (a headline view of the scenario comparison)
LIST_COLUMNS = ["scenario", "regions", "status", "objective", "objective_value", "budget", "budget_used",
                "required_budget", "min_level", "gini", "regions_below_threshold", "diagnosis"]


@click.command("scenarios")
@instance_argument
@click.option("--compare", is_flag=True, help="Solve the base instance and every scenario and print "
              "one line each.")
@click.option("--objective", "-o", help="Objective for --compare (default: each scenario's own).")
@click.option("--output", "-O", type=click.Path(path_type=Path, file_okay=False),
              help="With --compare: write scenarios.csv there.")
def scenarios_cmd(instance: Path, compare: bool, objective, output):
    """List the [scenarios.NAME] of INSTANCE, or compare them (--compare).

    \b
    Example:
      equalize scenarios instances/korea-17
      equalize scenarios instances/korea-17 --compare
      equalize solve instances/korea-17 --scenario busan-gyeongnam-merger
    """
    with reported_errors():
        inst = load_instance(instance)
        found = inst.scenarios
        if not compare:
            width = max([len(n) for n in found] + [4])
            for name, sc in found.items():
                click.echo(f"{name:<{width}}  {sc.description}")
            if not found:
                click.echo("no scenarios in instance.toml ([scenarios.NAME] tables)")
            return
        frame = compare_scenarios_table(inst, list(found), SolveOptions(objective=objective)).table[LIST_COLUMNS]
        for col in ("regions", "regions_below_threshold"):
            frame[col] = frame[col].astype("Int64")
        if output is not None:
            write_run(output, {"scenarios.csv": allocation_csv(frame).encode()}, SCENARIOS_OUTPUTS)
        shown = frame.drop(columns=["diagnosis"]).to_string(index=False, float_format=lambda x: f"{x:,.4f}")
        click.echo(shown)
        for _, r in frame.iterrows():
            if r["status"] not in SOLVED_STATUSES:
                click.echo(f"{r['scenario']}: {r['status']}: {r['diagnosis']}")
