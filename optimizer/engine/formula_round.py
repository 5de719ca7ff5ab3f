"""A formula's round as a normal Result: the same allocation.csv and summary.json fields as an
LP solve, so that every command that reports an objective reports a formula.

What differs, and why: ``status`` is "computed" (no optimisation happened); the
``objective_value`` is the formula's own figure (Korea: the adjustment coefficient;
Australia: GST per relativity-weighted head; ...), named in ``formula.figure_name``;
thresholds are reported (regions below, shortfall), never enforced; there are no duals
(threshold_dual empty, budget_shadow_price null); a system with payers (Germany) has
negative transfers. The formula's intermediate quantities are ``formula_<name>`` columns.
The post-solve check is the formula recomputed (explain/formula_check.py).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from optimizer.core.errors import SolverError
from optimizer.core.instance import Instance, unit_per_capita
from optimizer.core.levels import required_transfer
from optimizer.core.metrics import level_metrics, total_shortfall
from optimizer.core.policy import PolicyConfig
from optimizer.core.result import Result
from optimizer.core.scaling import money_scale, round_data
from optimizer.core.text_columns import STR_DTYPE
from optimizer.core.version import SCHEMA_VERSION, __version__
from optimizer.engine.finish import allocation_frame
from optimizer.engine.lastyear import change_summary
from optimizer.explain.formula_check import check_formula
from optimizer.formulas import KIND, FormulaRun, run_formula

FORMULA_OPTIONS_KEY = "formula"     # SolveOptions.objective_options["formula"] = {parameter: value}


def formula_options(objective_options: dict | None) -> dict:
    return dict((objective_options or {}).get(FORMULA_OPTIONS_KEY) or {})


def solve_formula(inst: Instance, name: str, budget: float | None = None, threshold: float | None = None,
                  objective_options: dict | None = None, policy: PolicyConfig | None = None) -> Result:
    """Apply formula ``name`` to the round and return the checked Result. Policies ([policy],
    flags, a scenario's) are LP rows, not law: they are not applied, and the summary says so."""
    t0 = time.perf_counter()
    rd = round_data(inst, budget, threshold)
    run = run_formula(inst, name, formula_options(objective_options), rd.budget, threshold)
    t = run.outcome.transfer.astype(float) + 0.0
    # the post-solve check of every round: here the rule recomputed, the budget or own total kept
    again = check_formula(inst, name, t, formula_options(objective_options), rd.budget, threshold)
    if not again.ok:   # a formula that does not reproduce itself is a defect: never report it
        raise SolverError(again.message(inst.unit))
    seconds = time.perf_counter() - t0
    alloc = allocation_frame(inst, rd.threshold, t, np.full(inst.n, np.nan), [""] * inst.n)
    if run.outcome.reason is not None:   # the rule's own arithmetic, not an optimiser's words
        alloc["reason"] = pd.array(run.outcome.reason, dtype=STR_DTYPE)
    for col, values in run.outcome.columns.items():
        alloc[f"formula_{col}"] = np.asarray(values, dtype=float)
    ignored = sorted(inst.policy.merged(policy or PolicyConfig()).as_dict())
    if ignored:
        run.outcome.notes.append(f"policies not applied to a formula (the law is the rule): {', '.join(ignored)}")
    return Result(alloc, _summary(inst, run, rd, t, alloc, again, seconds))


def _summary(inst: Instance, run: FormulaRun, rd, t: np.ndarray, alloc, check, seconds: float) -> dict:
    own, need = alloc["own_revenue"].to_numpy(dtype=float), alloc["fiscal_need"].to_numpy(dtype=float)
    pop = alloc["population"].to_numpy(dtype=float)
    w = pop / pop.sum()
    before = level_metrics(own / need, w, rd.threshold) | {"total_shortfall": total_shortfall(own / need,
                                                                                             rd.threshold, need)}
    after_levels = alloc["level_after"].to_numpy(dtype=float)
    after = level_metrics(after_levels, w, rd.threshold) | {"total_shortfall": total_shortfall(
        after_levels, rd.threshold, need)}
    required = math.fsum(required_transfer(rd.threshold, own, need, rd.t_min))
    used = math.fsum(t)
    summary = {
        "schema_version": SCHEMA_VERSION, "status": "computed", "objective": run.spec.name,
        "objective_value": float(run.outcome.figure), "objective_unit": run.outcome.figure_name,
        "budget": rd.budget, "budget_used": used, "required_budget": required,
        "missing_budget": max(0.0, required - rd.budget),
        "threshold_default": float(np.median(rd.threshold)), "unit": inst.unit,
        "instance": {"name": inst.name, "sha256": inst.sha256, "regions": inst.n},
        "solver": {"name": KIND, "version": __version__, "interface": "optimizer.formulas",
                   "algorithm": f"closed form: {run.system.law}"},
        "equalize_version": __version__,
        "min_level": after["min_level"], "max_level": after["max_level"],
        "regions_below_threshold": after["regions_below_threshold"],
        "budget_shadow_price": None, "budget_binding": bool(rd.budget - used <= 1e-9 * max(1.0, abs(rd.budget))),
        "per_capita_unit": unit_per_capita(inst.unit)[0],
        "metrics_before": before, "metrics_after": after,
        "tie_break": "none", "build_seconds": 0.0, "solve_seconds": seconds, "iterations": 0,
        "scale": money_scale(need), "thresholds": "reported, not enforced (a formula)",
        "checks": {"formula_recomputed_max_difference": check.max_difference},
        "verified": {"ok": True, "check": "formula recomputed", "tolerance": check.tolerance,
                     "max_difference": check.max_difference},
        "formula": run.summary(),
    }
    change = change_summary(alloc["region_id"], t, alloc["prior_transfer"])
    if change is not None:
        summary["change_vs_prior"] = change
    return summary
