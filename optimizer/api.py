"""The Python face of equalize: what the CLI does, as functions a notebook can call.

    from optimizer import load_instance, solve, compare, sweep
    result = solve("instances/korea-17", objective="min-gini", budget="0.9x", hold_harmless=0.5)
    result.allocation          # pandas DataFrame, the columns of allocation.csv
    result.summary             # dict, the content of summary.json
    result.status              # "optimal"

Every argument left at None takes the instance's own value, as on the command line. Keyword
options are the CLI's long options with underscores: policy options (``hold_harmless``,
``no_overtaking``, ...; docs/policies.md), objective options (``thresholds``, ``alpha``,
``weights``, ``breakpoints``, ``gini_form``) and round options (``years``, ``earmarked``,
``fairness_over``). Bad input raises ``BadInputError`` (``InputError`` for files, ``UsageError``
for arguments) with the CLI's message; an infeasible round raises ``InfeasibleError``.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from models.objectives import OBJECTIVES
from optimizer.core.budget import parse_budget
from optimizer.core.errors import Problem, UsageError, nearest
from optimizer.core.instance import Instance
from optimizer.core.policy import FIELDS as POLICY_FIELDS
from optimizer.core.policy import PolicyConfig
from optimizer.core.result import Result
from optimizer.engine.formula_round import FORMULA_OPTIONS_KEY
from optimizer.engine.options import OBJECTIVE_OPTION_KEYS
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions
from optimizer.formulas import unknown_objective
from optimizer.io.load import load_instance
from optimizer.io.policy import parse_policy
from optimizer.prepare.merge import parse_merge
from optimizer.prepare.scenarios import prepare
from optimizer.studies.compare import Comparison
from optimizer.studies.compare import compare as compare_objectives
from optimizer.studies.sweep import Sweep, parse_values
from optimizer.studies.sweep import sweep as sweep_budgets

ROUND_KEYS = ("years", "earmarked", "fairness_over")
RUN_KEYS = tuple(f.name for f in fields(SolveOptions)
                 if f.name not in ("objective", "budget", "threshold", "policy", "objective_options",
                                   "extra_terms"))


def _instance(instance: Instance | str | Path) -> Instance:
    return instance if isinstance(instance, Instance) else load_instance(instance)


def _split_options(options: dict[str, Any]) -> tuple[dict, dict, dict, dict]:
    """Keyword options -> (policy, objective options, round options, run options); an
    unknown key is a UsageError naming the nearest known one."""
    known = {*POLICY_FIELDS, *OBJECTIVE_OPTION_KEYS, *ROUND_KEYS, *RUN_KEYS, "formula_options"}
    policy, objective, rounds, run = {}, {}, {}, {}
    for key, value in options.items():
        if key == "formula_options":   # a formula's parameters: {"revenue_share": 0.7} (docs/objectives.md)
            objective[FORMULA_OPTIONS_KEY] = dict(value or {})
        elif key in POLICY_FIELDS:
            policy[key] = value
        elif key in OBJECTIVE_OPTION_KEYS:
            objective[key] = value
        elif key in ROUND_KEYS:
            rounds[key] = value
        elif key in RUN_KEYS:
            run[key] = value
        else:
            near = nearest(key, sorted(known))
            hint = f"; did you mean '{near}'?" if near else ""
            raise UsageError(f"unknown option '{key}'{hint}")
    return policy, objective, rounds, run


def _policy(values: dict[str, Any]) -> PolicyConfig | None:
    """Policy keyword options, checked by the validator of ``[policy]`` (one rule set)."""
    if not values:
        return None
    problems: list[Problem] = []
    # each value checked here; the "needs both" rules run at solve time on the policy merged
    # with the instance's [policy] and the scenario (io/checks.py), as for the CLI's flags
    cfg = parse_policy(values, "solve()", problems, where="options", consistent=False)
    if problems:
        raise UsageError("; ".join(p.message for p in problems))
    return cfg


def prepared(instance: Instance | str | Path, scenario: str | None = None,
             merges: list[str] | tuple[str, ...] = (), merge_groups: tuple[str, ...] = ()) -> Instance:
    """The instance a solve sees: loaded if a path, with the scenario and merges applied."""
    inst = prepare(_instance(instance), scenario)
    if merges or merge_groups:
        inst = prepare(inst, None, [parse_merge(m) for m in merges], list(merge_groups))
    return inst


def solve_options(inst: Instance, objective: str | None = None, budget: float | str | None = None,
                  threshold: float | None = None, **options: Any) -> tuple[SolveOptions, dict]:
    """(SolveOptions, round options) from the API's (and the CLI's) arguments."""
    unknown = None if objective is None else unknown_objective(objective, OBJECTIVES)
    if unknown:
        raise UsageError(unknown)
    policy, objective_options, rounds, run = _split_options(options)
    opts = SolveOptions(objective=objective, budget=parse_budget(budget, inst.budget), threshold=threshold,
                        policy=_policy(policy), objective_options=objective_options or None, **run)
    return opts, rounds


def solve(instance: Instance | str | Path, objective: str | None = None, budget: float | str | None = None,
          threshold: float | None = None, scenario: str | None = None, *,
          merges: list[str] | tuple[str, ...] = (), **options: Any) -> Result:
    """Solve one allocation round; ``budget`` is a number (instance unit) or "0.9x"."""
    inst = prepared(instance, scenario, merges)
    opts, rounds = solve_options(inst, objective, budget, threshold, **options)
    return solve_round(inst, opts, **rounds)


def compare(instance: Instance | str | Path, objectives: list[str] | tuple[str, ...] | None = None,
            budget: float | str | None = None, threshold: float | None = None, scenario: str | None = None,
            **options: Any) -> Comparison:
    """Every objective named (default: all) on the same round; ``.table`` is compare.csv."""
    inst = prepared(instance, scenario)
    names = list(objectives) if objectives is not None else list(OBJECTIVES)
    unknown = [message for n in names if (message := unknown_objective(n, OBJECTIVES))]
    if unknown:
        raise UsageError(unknown[0])
    opts, _ = solve_options(inst, None, budget, threshold, **options)
    return compare_objectives(inst, names, opts)


def sweep(instance: Instance | str | Path, budgets: str | list[float | str] = "0.5x:1.5x:11",
          objective: str | None = None, thresholds: str | list[float] | None = None,
          scenario: str | None = None, **objective_options: Any) -> Sweep:
    """The budget frontier: ``budgets`` as on the CLI ("0.5x:2x:20") or a list of budgets;
    ``.frontier`` is frontier.csv."""
    inst = prepared(instance, scenario)
    if isinstance(budgets, str):
        values = parse_values(budgets, inst.budget, "budget")
    else:
        values = [parse_budget(b, inst.budget) for b in budgets]
    if isinstance(thresholds, str):
        levels = parse_values(thresholds, None, "threshold")
    else:
        levels = list(thresholds) if thresholds is not None else None
    _, objective_only, _, _ = _split_options(objective_options)
    return sweep_budgets(inst, values, levels, objective=objective, objective_options=objective_only or None)
