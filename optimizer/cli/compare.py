"""``equalize compare``: one instance under several objectives, one table."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli import instance_argument, reported_errors
from optimizer.studies.compare import (SCENARIO_COLUMNS, compare, compare_csv, compare_scenarios_table, compare_text, levels_png, lorenz_png, parse_objectives, parse_scenario_names)
from optimizer.io.load import load_instance
from optimizer.cli.objective_flags import objective_flags, objective_options_from
from optimizer.engine.solve import SolveOptions
from optimizer.core.budget import parse_budget
from optimizer.io.writers import allocation_csv, atomic_write_bytes, atomic_write_text


@click.command("compare")
@instance_argument
@click.option("--objectives", help="Comma-separated objective names, or 'all' (default). With "
              "--scenarios: one objective for every scenario (default: each scenario's own).")
@click.option("--scenarios", "scenarios", help="Compare scenarios instead of objectives: 'all' or "
              "a,b (the base instance always comes first).")
@click.option("--budget", "-b", help="Budget in the instance unit, or a multiple such as 1.2x.")
@click.option("--threshold", "-t", type=float, help="Default service-level threshold.")
@click.option("--output", "-O", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for compare.csv and allocation-<objective>.csv (allocation-<scenario>.csv "
                   "with --scenarios).")
@click.option("--plot", is_flag=True, help="Also write lorenz.png and levels.png (needs --output).")
@click.option("--time-limit", type=float, help="HiGHS time limit per LP, seconds.")
@objective_flags
def compare_cmd(instance: Path, objectives, scenarios, budget, threshold, output, plot, time_limit, thresholds, alpha,
                weights, breakpoints, gini_form, no_price_of_fairness):
    """Solve INSTANCE under each objective and print one row of metrics per objective.

    \b
    Example:
      equalize compare instances/korea-17 --objectives all
      equalize compare instances/korea-17 --objectives maxmin,leximin,min-gini --output out/cmp --plot
      equalize compare instances/korea-17 --scenarios all --output out/scen
      equalize compare instances/korea-17 --scenarios busan-gyeongnam-merger,both-mergers --objectives maxmin
    An objective (or scenario) that is infeasible shows as a row with status 'infeasible'.
    """
    with reported_errors():
        if scenarios is not None:
            return _compare_scenarios(instance, scenarios, objectives, budget, threshold, output, plot,
                                      time_limit, objective_options_from(thresholds, alpha, weights,
                                                                         breakpoints, gini_form),
                                      no_price_of_fairness)
        names = parse_objectives(objectives or "all")
        if plot and output is None:
            raise click.UsageError("--plot needs --output")
        inst = load_instance(instance)
        for notice in inst.notices:
            click.echo(f"notice: {notice}", err=True)
        opts = SolveOptions(budget=parse_budget(budget, inst.budget), threshold=threshold,
                            time_limit=time_limit,
                            objective_options=objective_options_from(thresholds, alpha, weights,
                                                                     breakpoints, gini_form))
        c = compare(inst, names, opts)
        if no_price_of_fairness:
            c.table["price_of_fairness"] = float("nan")
        if output is not None:
            atomic_write_text(output / "compare.csv", compare_csv(c.table))
            for name, alloc in c.allocations.items():
                atomic_write_text(output / f"allocation-{name}.csv", allocation_csv(alloc))
            if plot:
                ids = [str(x) for x in inst.regions["region_id"]]
                atomic_write_bytes(output / "lorenz.png", lorenz_png(c, inst.name))
                atomic_write_bytes(output / "levels.png", levels_png(c, inst.name, ids))
        click.echo(compare_text(c.table, inst.unit))


def _compare_scenarios(instance: Path, scenarios: str, objectives, budget, threshold, output, plot,
                       time_limit, objective_options, no_price_of_fairness) -> None:
    """``--scenarios``: one row per scenario (base first), same metric columns."""
    if plot:
        raise click.UsageError("--plot is not available with --scenarios (scenarios with merges have "
                               "different regions)")
    objective = None
    if objectives is not None:
        names = parse_objectives(objectives)
        if len(names) != 1:
            raise click.UsageError("with --scenarios give at most one objective (--objectives NAME); "
                                   "default: each scenario's own")
        objective = names[0]
    inst = load_instance(instance)
    for notice in inst.notices:
        click.echo(f"notice: {notice}", err=True)
    chosen = parse_scenario_names(scenarios, list(inst.scenarios))
    opts = SolveOptions(objective=objective, budget=parse_budget(budget, inst.budget), threshold=threshold,
                        time_limit=time_limit, objective_options=objective_options,
                        price_of_fairness=not no_price_of_fairness)
    c = compare_scenarios_table(inst, chosen, opts)
    if output is not None:
        atomic_write_text(output / "compare.csv", compare_csv(c.table))
        for name, alloc in c.allocations.items():
            atomic_write_text(output / f"allocation-{name}.csv", allocation_csv(alloc))
    click.echo(compare_text(c.table, inst.unit, SCENARIO_COLUMNS))
