"""``equalize sweep``: the frontier of one objective over budgets / thresholds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pandas as pd

from optimizer.cli.common import (
    echo_notices,
    excel_options,
    instance_argument,
    objective_option_flags,
    objective_options_from,
    policy_from_flags,
    policy_options,
    reported_errors,
    scenario_options,
    spend_options,
)
from optimizer.cli.round_flags import check_surplus, scenario_and_merges
from optimizer.core.errors import EqualizeError, UsageError
from optimizer.core.result import SOLVED_STATUSES
from optimizer.engine.options import parse_objective_options
from optimizer.io.load import load_instance
from optimizer.io.writers import atomic_write_bytes, is_xlsx
from optimizer.report.workbook import sweep_workbook
from optimizer.studies.sweep import FAILED_STATUSES, Sweep, parse_values, sweep, write_sweep

SHORT_NAMES = {"regions_below_threshold": "below", "budget_shadow_price": "shadow_price",
               "weighted_shortfall": "w_shortfall"}


@click.command("sweep")
@instance_argument
@click.option("--budget", "-b", help="FROM:TO:POINTS (e.g. 0.5x:2x:20) or one value; multiples of the "
              "instance budget end in x. Default: the instance budget.")
@click.option("--threshold", "-t", help="FROM:TO:POINTS (e.g. 0.8:0.95:4) or one level. Default: the "
              "instance threshold.")
@click.option("--objective", "-o", help="Objective name (see 'equalize objectives'); default: the "
              "instance's, else maxmin.")
@click.option("--no-fast-path", is_flag=True, help="maxmin/leximin: solve the LP instead of the "
              "certified water-filling.")
@click.option("--output", "-O", type=click.Path(path_type=Path),
              help="Folder for frontier.csv and allocations.parquet (a 'point' column); a name ending "
                   "in .xlsx writes one Excel workbook instead (sheets frontier, allocations, sources).")
@click.option("--plot", is_flag=True, help="Also write frontier.png (needs --output).")
@excel_options
@spend_options
@objective_option_flags
@policy_options
@scenario_options
def sweep_cmd(instance: Path, budget, threshold, objective, no_fast_path: bool, output, plot: bool, csv_bom: bool,
              lang: str, spend, surplus, thresholds, alpha, weights, breakpoints, gini_form, scenario, merges,
              merge_groups, **flags):
    """Solve one objective at every budget (and threshold) point of INSTANCE.

    \b
    Single-LP objectives on the core re-solve one built model (mode: persistent);
    maxmin/leximin use the certified water-filling per point (mode: fast-path);
    sequences of LPs (leximin LP route, min-gini), log-welfare and policy terms
    solve each point independently (mode: rebuild). Infeasible points are rows.
    \b
    Examples:
      equalize sweep instances/korea-17 --budget 0.5x:2x:20 --objective min-shortfall
      equalize sweep instances/korea-17 --budget 0.8x:1.5x:8 --threshold 0.85:0.95:3 -O out/sw --plot
      equalize sweep instances/korea-17 --budget 0.9x:1.2x:4 --objective leximin --hold-harmless 0.95
    The policy flags, --scenario and --merge apply at every point, as in 'equalize solve'.
    """
    with reported_errors():
        if plot and (output is None or is_xlsx(output)):
            raise UsageError("--plot writes frontier.png into the --output folder; give --output FOLDER")
        policy = policy_from_flags(flags)
        options = objective_options_from(thresholds, alpha, weights, breakpoints, gini_form)
        inst = load_instance(instance)
        echo_notices(inst)
        parse_objective_options({**inst.objective_options, **options})   # a bad value names its flag
        inst = scenario_and_merges(inst, scenario, merges, merge_groups)
        check_surplus(inst, spend, surplus)
        # --spend all: every point is paid out by the surplus stage (engine/surplus.py)
        inst = dataclasses.replace(inst, spend=spend or inst.spend, surplus=surplus or inst.surplus)
        budgets = parse_values(budget, inst.budget, "budget")
        levels = parse_values(threshold, None, "threshold")
        sw = sweep(inst, budgets, levels, objective=objective, fast_path=not no_fast_path,
                   objective_options=options, policy=policy)
        failed = sw.frontier.status.isin(FAILED_STATUSES).all()
        if failed and (sw.frontier.status == "bad_input").all():   # bad input: exit 2, nothing written
            raise UsageError(f"every point failed on bad input: {sw.frontier.message.iloc[0]}")
        # files first: a closed stdout (| head) must not lose them
        try:
            if is_xlsx(output):
                atomic_write_bytes(output, sweep_workbook(sw.frontier, sw.allocations, inst, lang))
                written = [output]
            else:
                written = write_sweep(sw, output, plot, csv_bom, inst=inst) if output is not None else []
        except OSError as exc:   # a failed write: exit 1, the previous files intact (atomic)
            raise EqualizeError(f"cannot write the sweep into {output}: {exc.strerror or exc}") from None
        _print_sweep(sw, inst.name)
        for p in written:
            click.echo(f"wrote {p}")
        if failed:
            raise EqualizeError(f"all {len(sw.frontier)} points failed (none solved or was infeasible)")


def _print_sweep(sw: Sweep, name: str) -> None:
    f = sw.frontier
    click.echo(f"{name}: {sw.objective}, {len(f)} points, mode: {sw.mode}, {sw.seconds:.2f}s")
    shown = f.drop(columns=["message"]).rename(columns=SHORT_NAMES)
    # every point infeasible leaves object columns of None, which na_rep does not reach
    numeric = [c for c in shown.columns if c != "status"]
    shown[numeric] = shown[numeric].apply(pd.to_numeric, errors="coerce")
    click.echo(shown.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.6g}"))
    for _, r in f[~f.status.isin(SOLVED_STATUSES)].iterrows():
        click.echo(f"point {r['point']}: {r['status']}: {r['message']}")
