"""``equalize export``: the LP of record of one run as an .lp or .mps file (engine/export.py)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from optimizer.cli.common import (
    apply_growth,
    echo_notices,
    growth_options,
    instance_argument,
    objective_flags,
    objective_options_from,
    policy_from_flags,
    policy_options,
    reported_errors,
    scenario_options,
)
from optimizer.core.budget import parse_budget
from optimizer.core.errors import UsageError
from optimizer.engine.export import export_lp
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.prepare.merge import parse_merge
from optimizer.prepare.scenarios import prepare
from optimizer.prepare.services import services_frame


@click.command("export")
@instance_argument
@click.option("--objective", "-o", help="Objective name (see 'equalize objectives'); default: the "
              "instance's [objective] name, else maxmin.")
@click.option("--budget", "-b", help="Budget in the instance unit, or a multiple such as 1.2x.")
@click.option("--threshold", "-t", type=float, help="Default service-level threshold.")
@click.option("--no-tie-break", is_flag=True, help="Solve without the tie-break (as equalize solve).")
@click.option("--lp", "lp_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the LP in CPLEX LP format to this file.")
@click.option("--mps", "mps_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the LP in (free) MPS format to this file.")
@scenario_options
@policy_options
@growth_options
@objective_flags
def export_cmd(instance: Path, objective, budget, threshold, no_tie_break, lp_file, mps_file, scenario,
               merges, merge_groups, thresholds, alpha, weights, breakpoints, gini_form,
               no_price_of_fairness, **policy_flags):
    """Write the LP of record of the run the same options give 'equalize solve', in the
    instance unit, with names carrying the region ids (transfer_busan, ...). Solving the
    file with HiGHS alone gives the solve's objective_value (sequences of LPs: the final
    stage, said in the header comment).

    \b
    Example:
      equalize export instances/korea-17 -o maxmin --lp korea-maxmin.lp
      equalize export instances/korea-17 -o min-cost --hold-harmless 0.9 --mps korea.mps
    Exit codes: 0 written, 1 infeasible, 2 bad input.
    """
    with reported_errors():
        if (lp_file is None) == (mps_file is None):
            raise UsageError("equalize export: give exactly one of --lp FILE or --mps FILE")
        inst = apply_growth(load_instance(instance), policy_flags, None)
        echo_notices(inst)
        if inst.phasing is not None or services_frame(inst) is not None:
            raise UsageError("equalize export writes single-round LPs; this instance has [phasing] or "
                             "services.csv (multi-LP rounds)")
        inst = prepare(prepare(inst, scenario), None, [parse_merge(m) for m in merges], list(merge_groups))
        opts = SolveOptions(objective=objective, budget=parse_budget(budget, inst.budget), threshold=threshold,
                            tie_break=not no_tie_break, policy=policy_from_flags(policy_flags),
                            objective_options=objective_options_from(thresholds, alpha, weights,
                                                                     breakpoints, gini_form),
                            price_of_fairness=not no_price_of_fairness)
        path, fmt = (lp_file, "lp") if lp_file is not None else (mps_file, "mps")
        out = export_lp(inst, opts, path, fmt, "equalize " + shlex.join(sys.argv[1:]))
        click.echo(f"wrote {path} ({out.lp.num_col} columns, {out.lp.num_row} rows; "
                   f"optimum {out.expected:.12g})")
