"""The round on the command line, defined once. ``round_flags`` puts the same flags, with the
same help and validation, on every command that solves or checks one round (solve, explain,
export, report, verify): the objective, budget and threshold, the scenario and merges, the
policy flags, multi-year and service rounds, growth, --spend/--surplus and the objective's
options. ``round_from_flags`` turns them into the loaded and prepared instance and the
``SolveOptions``. ``solver_flags`` adds how a round is solved (engine, tie-break, time limit,
fast path) to the commands that solve one."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from optimizer.cli.common import (
    FiniteRange,
    apply_growth,
    echo_notices,
    growth_options,
    objective_flags,
    objective_options_from,
    policy_from_flags,
    policy_options,
    round_args,
    round_inputs,
    round_options,
    scenario_options,
    spend_options,
)
from optimizer.core.budget import parse_budget
from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.result import Result
from optimizer.engine.formula_round import FORMULA_OPTIONS_KEY
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import DEFAULT_OBJECTIVE, SolveOptions
from optimizer.formulas import is_formula
from optimizer.io.load import load_instance
from optimizer.io.objective_options import parse_objective_options
from optimizer.prepare.merge import parse_merge
from optimizer.prepare.scenarios import prepare

# the click parameters round_flags adds (policy_*, round_* and growth_* are popped by prefix)
ROUND_KEYS = ("objective", "budget", "threshold", "scenario", "merges", "merge_groups", "spend", "surplus",
              "thresholds", "alpha", "weights", "breakpoints", "gini_form", "no_price_of_fairness")
SOLVER_KEYS = ("engine", "no_tie_break", "time_limit", "no_fast_path")

TIME_LIMIT_TYPE = FiniteRange(min=0, min_open=True)
ENGINE_FLAG = click.option("--engine", type=click.Choice(["direct", "pyomo"]), default="direct", show_default=True,
                           help="direct: the vectorised LP to highspy; pyomo: the Pyomo model through "
                                "Pyomo's HiGHS interface (same LP, slower).")
NO_TIE_BREAK_FLAG = click.option("--no-tie-break", is_flag=True, help="Skip the second solve that picks the "
                                 "least total transfer among optimal splits.")
TIME_LIMIT_FLAG = click.option("--time-limit", type=TIME_LIMIT_TYPE,
                               help="HiGHS time limit in seconds (a finite number > 0).")
NO_FAST_PATH_FLAG = click.option("--no-fast-path", is_flag=True, help="maxmin/leximin/min-shortfall/min-gini: "
                                 "always solve the LP with HiGHS instead of the certified closed form / "
                                 "fixed-level LPs (same answer, slower).")


def round_flags(f=None, *, objective_help: str | None = None):
    """The round's flags (see the module docstring); ``objective_help`` only where --objective
    means something else than the objective solved (verify: the one whose optimality is checked)."""
    def apply(g):
        for deco in (objective_flags, spend_options, growth_options, round_options, policy_options, scenario_options):
            g = deco(g)
        return round_inputs(g, objective_help)
    return apply(f) if f is not None else apply


def solver_flags(f):
    """--engine, --no-tie-break, --time-limit, --no-fast-path (how the round is solved)."""
    for deco in (NO_FAST_PATH_FLAG, TIME_LIMIT_FLAG, NO_TIE_BREAK_FLAG, ENGINE_FLAG):
        f = deco(f)
    return f


@dataclass(frozen=True)
class CliRound:
    """One round as the flags give it."""
    inst: Instance             # loaded, growth applied, the scenario and the merges prepared
    without_merges: Instance   # the scenario applied, no merges: what a merger changes is against it
    opts: SolveOptions
    rargs: dict                # years, earmarked, fairness_over: solve_round's keywords
    merged: bool               # --merge or --merge-group given

    def solve(self, opts: SolveOptions | None = None) -> Result:
        return solve_round(self.inst, opts or self.opts, **self.rargs)


def round_from_flags(instance: Path, flags: dict[str, Any]) -> CliRound:
    """Pop the round's (and the solver's) flags out of a command's click ``flags`` and return
    the round: the flags checked first (UsageError naming the flag, before anything is read),
    then the instance loaded (its notices shown), grown, the scenario and merges applied."""
    f = {k: flags.pop(k, None) for k in ROUND_KEYS + SOLVER_KEYS}
    rargs = round_args(flags)
    policy = policy_from_flags(flags)
    options = objective_options_from(f["thresholds"], f["alpha"], f["weights"], f["breakpoints"], f["gini_form"])
    _check_flags(f)
    inst = apply_growth(load_instance(instance), flags, rargs.get("years"))
    echo_notices(inst)
    parse_objective_options({**inst.objective_options, **options})   # a bad value names its flag
    without_merges = prepare(inst, f["scenario"])
    merges, groups = list(f["merges"] or ()), list(f["merge_groups"] or ())
    inst = scenario_and_merges(without_merges, None, merges, groups)
    _check_spending(inst, f, options)   # after the scenario, which may name the objective
    opts = SolveOptions(objective=f["objective"], budget=parse_budget(f["budget"], inst.budget),
                        threshold=f["threshold"], engine=f["engine"] or "direct", tie_break=not f["no_tie_break"],
                        fast_path=not f["no_fast_path"], time_limit=f["time_limit"], policy=policy,
                        objective_options=options, price_of_fairness=not f["no_price_of_fairness"],
                        spend=f["spend"], surplus=f["surplus"])
    return CliRound(inst, without_merges, opts, rargs, bool(merges or groups))


def scenario_and_merges(inst: Instance, scenario: str | None, merges, merge_groups) -> Instance:
    """``inst`` with --scenario applied, then the --merge and --merge-group mergers."""
    return prepare(inst, scenario, [parse_merge(m) for m in merges or ()], list(merge_groups or ()))


def _check_flags(f: dict) -> None:
    """The values click's types cannot check, one UsageError naming the flag."""
    if f["objective"] is not None and not f["objective"].strip():
        raise UsageError("--objective: give an objective name (see 'equalize objectives')")
    t = f["threshold"]
    if t is not None and (not math.isfinite(t) or t < 0):
        raise UsageError(f"--threshold must be a finite number >= 0, got {t}")


def _check_spending(inst: Instance, f: dict, options: dict) -> None:
    """Flags that would be silently ignored: --surplus when nothing is spent past the optimum,
    --formula-option when the objective is not a formula."""
    check_surplus(inst, f["spend"], f["surplus"])
    name = f["objective"] or inst.objective or DEFAULT_OBJECTIVE
    if FORMULA_OPTIONS_KEY in options and not is_formula(name):
        raise UsageError(f"--formula-option sets a formula's parameters; the objective {name} is not a formula "
                         "(see 'equalize objectives')")


def check_surplus(inst: Instance, spend: str | None, surplus: str | None) -> None:
    """--surplus shares what --spend all leaves: without it the flag would do nothing."""
    if surplus is not None and (spend or inst.spend) != "all":
        raise UsageError("--surplus shares what --spend all leaves after the optimum; give --spend all "
                         "(or [budget] spend = \"all\" in instance.toml)")


def with_spending(inst: Instance, opts: SolveOptions) -> Instance:
    """``inst`` with --spend/--surplus as its [budget] keys: for what reads the instance, not the
    options (the points of a sweep)."""
    return dataclasses.replace(inst, spend=opts.spend or inst.spend, surplus=opts.surplus or inst.surplus)
