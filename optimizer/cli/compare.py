"""``equalize compare``: one instance under several objectives (or scenarios), one table."""

from __future__ import annotations

from pathlib import Path

import click

from optimizer.cli.common import (
    echo_notices,
    excel_options,
    instance_argument,
    objective_flags,
    objective_options_from,
    policy_from_flags,
    policy_options,
    reported_errors,
    scenario_options,
    spend_options,
)
from optimizer.cli.round_flags import TIME_LIMIT_TYPE, check_surplus, scenario_and_merges
from optimizer.core.budget import parse_budget
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.io.writers import COMPARE_OUTPUTS, allocation_csv, atomic_write_bytes, is_xlsx, with_bom, write_run
from optimizer.report.plots import levels_png, lorenz_png
from optimizer.report.workbook import compare_workbook
from optimizer.studies.against_formula import against_formula, against_formula_text, formula_of, on_formula_budget
from optimizer.studies.compare import (
    SCENARIO_TEXT_COLUMNS,
    Comparison,
    compare,
    compare_csv,
    compare_scenarios_table,
    compare_text,
    parse_objectives,
    parse_scenario_names,
)


@click.command("compare")
@instance_argument
@click.option("--objectives", help="Comma-separated objective names, or 'all' (default). With "
              "--scenarios: one objective for every scenario (default: each scenario's own).")
@click.option("--scenarios", "scenarios", help="Compare scenarios instead of objectives: 'all' or "
              "a,b (the base instance always comes first).")
@click.option("--budget", "-b", help="Budget in the instance unit, or a multiple such as 1.2x.")
@click.option("--threshold", "-t", type=float, help="Default service-level threshold.")
@click.option("--output", "-O", type=click.Path(path_type=Path),
              help="Folder for compare.csv and allocation-<objective>.csv (allocation-<scenario>.csv "
                   "with --scenarios); a name ending in .xlsx writes one Excel workbook instead.")
@click.option("--plot", is_flag=True, help="Also write lorenz.png and levels.png (needs --output).")
@click.option("--time-limit", type=TIME_LIMIT_TYPE, help="HiGHS time limit per LP, seconds.")
@spend_options
@objective_flags
@excel_options
@policy_options
@scenario_options
def compare_cmd(instance: Path, objectives, scenarios, budget, threshold, output, plot, time_limit, thresholds, alpha,
                weights, breakpoints, gini_form, no_price_of_fairness, csv_bom, lang, spend, surplus, scenario,
                merges, merge_groups, **flags):
    """Solve INSTANCE under each objective and print one row of metrics per objective.

    \b
    Example:
      equalize compare instances/korea-17 --objectives all
      equalize compare instances/korea-17 --objectives maxmin,leximin,min-gini --output out/cmp --plot
      equalize compare instances/korea-17 --scenarios all --output out/scen
      equalize compare instances/korea-17 --scenarios busan-gyeongnam-merger,both-mergers --objectives maxmin
      equalize compare instances/korea-17 --objectives maxmin,leximin --hold-harmless 0.95 -S both-mergers
    An objective (or scenario) that is infeasible shows as a row with status 'infeasible'.
    The policy flags apply to every row (over each scenario's own [policy]); --scenario and
    --merge prepare the instance the objectives are compared on.
    """
    with reported_errors():
        objective_options = objective_options_from(thresholds, alpha, weights, breakpoints, gini_form)
        policy = policy_from_flags(flags)
        if scenarios is not None:
            if scenario is not None or merges or merge_groups:
                raise click.UsageError("--scenarios compares scenarios of the instance as loaded; "
                                       "--scenario, --merge and --merge-group do not combine with it")
            return _compare_scenarios(instance, scenarios, objectives, budget, threshold, output, plot,
                                      time_limit, objective_options, no_price_of_fairness, (csv_bom, lang),
                                      (spend, surplus), policy)
        names = parse_objectives(objectives or "all")
        if plot and (output is None or is_xlsx(output)):
            raise click.UsageError("--plot needs an --output folder")
        inst = load_instance(instance)
        echo_notices(inst)
        inst = scenario_and_merges(inst, scenario, merges, merge_groups)
        check_surplus(inst, spend, surplus)
        opts = SolveOptions(budget=parse_budget(budget, inst.budget), threshold=threshold,
                            time_limit=time_limit, objective_options=objective_options,
                            price_of_fairness=not no_price_of_fairness, spend=spend, surplus=surplus,
                            policy=policy)
        opts = on_formula_budget(inst, names, opts)   # a formula in the list: everyone on its budget
        c = compare(inst, names, opts)
        if is_xlsx(output):
            atomic_write_bytes(output, compare_workbook(c.table, c.allocations, inst, lang))
        elif output is not None:  # files first: a closed stdout (| head) must not lose them
            files = with_bom(comparison_files(c), csv_bom)
            if plot:
                ids = [str(x) for x in inst.regions["region_id"]]
                files["lorenz.png"] = lorenz_png(c.level_before, c.weights, c.allocations, inst.name)
                files["levels.png"] = levels_png(c.level_before, c.allocations, inst.name, ids)
            write_run(output, files, COMPARE_OUTPUTS)
        click.echo(compare_text(c.table, inst.unit))
        formula = formula_of(names)
        if formula is not None and formula in c.allocations:
            click.echo("")
            click.echo(against_formula_text(against_formula(c.allocations, formula), formula, inst.unit,
                                            opts.budget))


def comparison_files(c: Comparison) -> dict[str, bytes]:
    """compare.csv and one allocation-<objective or scenario>.csv each."""
    files = {"compare.csv": compare_csv(c.table).encode()}
    for name, alloc in c.allocations.items():
        files[f"allocation-{name}.csv"] = allocation_csv(alloc).encode()
    return files


def _compare_scenarios(instance: Path, scenarios: str, objectives, budget, threshold, output, plot,
                       time_limit, objective_options, no_price_of_fairness, excel: tuple[bool, str],
                       spending=(None, None), policy=None) -> None:
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
    echo_notices(inst)
    check_surplus(inst, *spending)
    chosen = parse_scenario_names(scenarios, list(inst.scenarios))
    opts = SolveOptions(objective=objective, budget=parse_budget(budget, inst.budget), threshold=threshold,
                        time_limit=time_limit, objective_options=objective_options,
                        price_of_fairness=not no_price_of_fairness, spend=spending[0], surplus=spending[1],
                        policy=policy)
    c = compare_scenarios_table(inst, chosen, opts)
    if is_xlsx(output):
        atomic_write_bytes(output, compare_workbook(c.table, c.allocations, inst, excel[1]))
    elif output is not None:
        write_run(output, with_bom(comparison_files(c), excel[0]), COMPARE_OUTPUTS)
    click.echo(compare_text(c.table, inst.unit, SCENARIO_TEXT_COLUMNS))
