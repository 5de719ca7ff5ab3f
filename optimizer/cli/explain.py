"""``equalize explain INSTANCE --region ID``: why one region gets what it gets, in words."""

from __future__ import annotations

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
    round_args,
    round_inputs,
    round_options,
    scenario_options,
    spend_options,
)
from optimizer.core.budget import parse_budget
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions
from optimizer.explain.paragraph import region_paragraph, region_rows
from optimizer.io.load import load_instance
from optimizer.prepare.merge import parse_merge
from optimizer.prepare.scenarios import prepare


@click.command("explain")
@instance_argument
@click.option("--region", "-r", required=True, help="The region_id to explain (as in regions.csv).")
@round_inputs
@scenario_options
@policy_options
@round_options
@growth_options
@spend_options
@objective_flags
def explain_cmd(instance: Path, region, objective, budget, threshold, scenario, merges, merge_groups, thresholds,
                alpha, weights, breakpoints, gini_form, no_price_of_fairness, spend, surplus, **policy_flags):
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
        rargs = round_args(policy_flags)
        inst = apply_growth(load_instance(instance), policy_flags, rargs.get("years"))
        echo_notices(inst)
        inst = prepare(prepare(inst, scenario), None, [parse_merge(m) for m in merges], list(merge_groups))
        region_rows(inst.regions, region)   # an unknown region: exit 2 before solving
        opts = SolveOptions(objective=objective, budget=parse_budget(budget, inst.budget), threshold=threshold,
                            policy=policy_from_flags(policy_flags),
                            objective_options=objective_options_from(thresholds, alpha, weights, breakpoints,
                                                                     gini_form),
                            price_of_fairness=not no_price_of_fairness, spend=spend, surplus=surplus)
        result = solve_round(inst, opts, **rargs)
        click.echo(region_paragraph(result.allocation, result.summary, region, inst.unit))
