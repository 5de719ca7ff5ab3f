"""Budget / threshold sweeps on one instance: the frontier of an objective.

Nothing here prints. Three modes, chosen per objective:

    persistent   one LP built once and kept in a highspy model; each point changes the
                 budget row's upper bound and the threshold rows' lower bounds
                 (changeRowBounds / changeRowsBounds) and re-runs dual simplex from the
                 previous point's phase-1 basis. The tie-break (phase 2) adds the hold row
                 and swaps the costs, then both are undone and the phase-1 basis restored,
                 so every point gives the answer of an independent ``solve``.
                 Used for single-LP objectives on the bare core (no policy terms, fixed
                 hard/soft threshold mode): min-cost, max-mean, min-mad, and with fast_path
                 off maxmin, min-shortfall, min-range, owa, cvar.
    fast-path    maxmin, leximin, min-shortfall, min-gini, owa, cvar, min-range on the core
                 with fast_path on (hard thresholds): the certified closed form or threshold
                 decomposition (optimizer/fastpath.py) per point, through ``solve``.
    rebuild      everything else (leximin and min-gini LP routes, log-welfare whose tangent grid
                 depends on the budget, policy terms, thresholds = soft/auto): an independent
                 ``solve`` per point.

Infeasible points are rows with status "infeasible" and the diagnosis of ``solve``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from models.build import build_lp
from models.objectives import get_objective
from optimizer.core.budget import parse_budget
from optimizer.core.errors import BadInputError, EqualizeError, InfeasibleError, SolverError, UsageError
from optimizer.core.instance import Instance
from optimizer.core.policy import PolicyConfig
from optimizer.core.result import Result
from optimizer.core.scaling import money_scale, round_data, to_region_data
from optimizer.engine.finish import base_summary, build_result, check_status, raise_infeasible
from optimizer.engine.options import parse_objective_options, resolve_thresholds
from optimizer.engine.persistent import PersistentModel
from optimizer.engine.price_of_fairness import add_fairness_summary
from optimizer.engine.rounds import pay_out
from optimizer.engine.solve import DEFAULT_OBJECTIVE, SolveOptions, solve
from optimizer.explain.diagnose import diagnose
from optimizer.explain.verify import VerifyExtras
from optimizer.fast.fastpath import BARE_CORE_FAST
from optimizer.formulas import is_formula
from optimizer.io.checks import check_round
from optimizer.io.writers import SWEEP_OUTPUTS, with_bom, write_run
from optimizer.prepare.policy_round import policy_round
from optimizer.report.plot_frontier import frontier_context, frontier_png
from optimizer.studies.ranges import MAX_POINTS, RangeError, parse_cli

FRONTIER_COLUMNS = ["point", "budget", "threshold", "status", "objective_value", "min_level", "gini",
                    "weighted_shortfall", "regions_below_threshold", "budget_used", "budget_shadow_price",
                    "seconds", "message"]
ALLOC_COLUMNS = ["point", "region_id", "transfer", "level_before", "level_after", "shortfall"]
REBUILD_ONLY = ("log-welfare",)   # its LP (tangent grid) depends on the budget
FAILED_STATUSES = ("bad_input", "error")   # neither solved nor a (legitimate) infeasible answer


@dataclass
class Sweep:
    objective: str
    mode: str                     # persistent | fast-path | rebuild
    frontier: pd.DataFrame
    allocations: pd.DataFrame
    results: list[Result | None] = field(default_factory=list)
    seconds: float = 0.0


def parse_values(text: str | None, base: float | None, what: str) -> list[float | None]:
    """'0.5x:2x:20' (a range) or one value ('1.2x', '1000', '0.9') -> floats; the rules of
    optimizer/studies/ranges.py, errors as UsageError naming the option."""
    if text is None:
        return [None]
    option = f"--{what}"
    try:
        items = parse_cli(str(text), what)
    except RangeError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if what == "budget":
        return [parse_budget(s, base, option) for s in items]
    return items


def choose_mode(inst: Instance, objective: str, fast_path: bool = True,
                objective_options: dict | None = None, policy: PolicyConfig | None = None) -> str:
    spec = get_objective(objective)
    pr = policy_round(inst, policy)
    fopts = parse_objective_options({**inst.objective_options, **(objective_options or {})})
    closed_form = (objective in BARE_CORE_FAST and fopts.get("thresholds", "hard") == "hard"
                   or objective == "min-shortfall")
    if closed_form and fast_path and not pr.active:
        return "fast-path"
    if (spec.driver != "lp" or objective in REBUILD_ONLY or pr.active or inst.applied
            or (not spec.soft_thresholds and fopts.get("thresholds", "hard") != "hard")):
        return "rebuild"
    return "persistent"


def _row(point: int, budget: float, threshold: float | None, status: str, seconds: float,
         result: Result | None = None, message: str = "") -> dict[str, Any]:
    row = {"point": point, "budget": budget, "threshold": threshold, "status": status,
           "objective_value": None, "min_level": None, "gini": None, "weighted_shortfall": None,
           "regions_below_threshold": None, "budget_used": None, "budget_shadow_price": None,
           "seconds": seconds, "message": message}
    if result is not None:
        s, m = result.summary, result.summary["metrics_after"]
        row.update(objective_value=s["objective_value"], min_level=m["min_level"], gini=m["gini"],
                   weighted_shortfall=m["weighted_shortfall"],
                   regions_below_threshold=m["regions_below_threshold"], budget_used=s["budget_used"],
                   budget_shadow_price=s["budget_shadow_price"])
    return row


def _infeasible_message(exc: InfeasibleError) -> str:
    return str(exc.summary.get("diagnosis") or exc)




def sweep(inst: Instance, budgets: list[float | None], thresholds: list[float | None] | None = None,
          objective: str | None = None, fast_path: bool = True, objective_options: dict | None = None,
          mode: str | None = None, keep_results: bool = False, policy: PolicyConfig | None = None) -> Sweep:
    """Solve ``objective`` at every (threshold, budget) point (budget varying fastest).
    ``mode`` forces "rebuild" (independent solves, the reference); default: choose_mode.
    ``policy``: overrides of the instance's [policy] (the CLI's policy flags), at every point."""
    name = objective or inst.objective or DEFAULT_OBJECTIVE
    try:
        spec = None if is_formula(name) else get_objective(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    thresholds = thresholds or [None]
    if len(budgets) * len(thresholds) > MAX_POINTS:
        raise UsageError(f"the sweep has {len(budgets) * len(thresholds):,} points; at most {MAX_POINTS:,}")
    # a formula (optimizer/formulas): applied afresh at every point, no LP to keep
    chosen = "rebuild" if spec is None else choose_mode(inst, name, fast_path, objective_options, policy)
    mode = mode or chosen
    if mode == "persistent" and chosen != "persistent":
        raise UsageError(f"'{name}' cannot be swept on a persistent model here (mode {chosen})")
    t_all = time.perf_counter()
    rows, allocs, results = [], [], []
    persistent: PersistentModel | None = None
    point = 0
    for thr in thresholds:
        for bud in budgets:
            t0 = time.perf_counter()
            b_val = inst.budget if bud is None else float(bud)
            t_val = thr
            result: Result | None = None
            try:
                opts = SolveOptions(objective=name, budget=b_val, threshold=thr, fast_path=fast_path,
                                    objective_options=objective_options, price_of_fairness=False, policy=policy)
                if mode == "persistent":
                    result, persistent = _persistent_point(inst, spec, b_val, thr, persistent, objective_options)
                    result = pay_out(inst, opts, result)
                else:
                    result = solve(inst, opts)
                row = _row(point, b_val, t_val, result.status, time.perf_counter() - t0, result)
            except InfeasibleError as exc:
                row = _row(point, b_val, t_val, "infeasible", time.perf_counter() - t0,
                           message=_infeasible_message(exc))
            except BadInputError as exc:
                row = _row(point, b_val, t_val, "bad_input", time.perf_counter() - t0, message=str(exc))
            except (SolverError, EqualizeError) as exc:
                row = _row(point, b_val, t_val, "error", time.perf_counter() - t0, message=str(exc))
            if row["threshold"] is None:
                row["threshold"] = float(inst.threshold)
            rows.append(row)
            if result is not None:
                a = result.allocation[ALLOC_COLUMNS[1:]].copy()
                a.insert(0, "point", point)
                allocs.append(a)
            if keep_results:
                results.append(result)
            point += 1
    frontier = pd.DataFrame(rows, columns=FRONTIER_COLUMNS)
    allocations = pd.concat(allocs, ignore_index=True) if allocs else pd.DataFrame(columns=ALLOC_COLUMNS)
    return Sweep(name, mode, frontier, allocations, results, time.perf_counter() - t_all)


def _persistent_point(inst: Instance, spec, budget: float, threshold: float | None,
                      persistent: PersistentModel | None, objective_options: dict | None):
    """One point on the persistent model: the same checks and Result as ``solve``."""
    check_round(inst, None, budget, threshold)   # the point's budget and threshold, as solve checks them
    rd = round_data(inst, budget, threshold)
    reg = inst.regions
    own = reg["own_revenue"].to_numpy(dtype=float)
    need = reg["fiscal_need"].to_numpy(dtype=float)
    diag = diagnose(own, need, rd.threshold, rd.t_min, rd.t_max, rd.budget)
    fopts = parse_objective_options({**inst.objective_options, **(objective_options or {})})
    hard, threshold_mode = resolve_thresholds(spec, fopts.get("thresholds"), diag.feasible(True))
    base = base_summary(inst, spec, rd, diag)
    if not diag.feasible(hard):
        raise_infeasible(inst, spec, diag, base, hard)
    scale = money_scale(need)
    data = replace(to_region_data(inst, rd, scale), options={**fopts, "soft_thresholds": not hard})
    if persistent is None:
        persistent = PersistentModel(spec, data)
        build_seconds = persistent.build_seconds
    else:
        build_seconds = 0.0
    first, second = persistent.solve(data.budget, data.threshold)
    check_status(inst, spec, diag, base, hard, first)
    final = second if second is not None and second.status == "optimal" else first
    result = build_result(inst, spec, rd, base, scale, first, final, second, persistent.layout,
                          build_seconds, hard, VerifyExtras(weight=data.weight, options=dict(data.options)))
    build = lambda d, o: build_lp(d, o)  # noqa: E731
    add_fairness_summary(result, data, spec, build, {"thresholds": threshold_mode}, False, None,
                         closed_form=True)
    return result, persistent


# ---- outputs --------------------------------------------------------------------------

def write_sweep(sw: Sweep, folder: Path, plot: bool = False, csv_bom: bool = False, *,
                inst: Instance | None = None) -> list[Path]:
    """frontier.csv, allocations.parquet [, frontier.png] as one run of the folder
    (io/writers.write_run: a kill leaves the previous run or a detectably incomplete one);
    ``csv_bom``: frontier.csv with a UTF-8 byte-order mark (--csv-bom); ``inst``: the swept
    instance, for the plot's title, unit and budget marks."""
    files = {"frontier.csv": sw.frontier.to_csv(index=False, lineterminator="\n").encode(),
             "allocations.parquet": sw.allocations.to_parquet(index=False)}
    if plot:
        ctx = None if inst is None else frontier_context(inst, list(sw.frontier["threshold"]), sw.objective)
        files["frontier.png"] = frontier_png(sw.frontier, sw.objective, sw.mode, ctx)
    write_run(folder, with_bom(files, csv_bom), owned=SWEEP_OUTPUTS)
    return [folder / name for name in files]
