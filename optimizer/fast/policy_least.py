"""Objectives whose answer with policy rows is the round's least point: min-cost, and
min-shortfall when that point fits the budget.

The least point (optimizer/fast/policy_path.py ``least_point``) is T_r = n_r M_r - o_r with
M the lower envelope of the hard thresholds and the single-region policy rows, carried up
the no-overtaking chain; it is the unique minimiser of sum_r T_r over those rows and is
certified on the hard LP by its chain duals.

- min-cost (hard thresholds): min sum_r T_r subject to the same rows and the budget, so the
  least point is its optimum when it spends at most B (the budget row's dual is then 0),
  and the only one; no tie-break.
- min-shortfall: min sum_r w_r s_r, s_r >= theta_r - L_r, s_r >= 0, w_r > 0. When the least
  point spends at most B it meets every threshold, so s = 0 and the objective 0 is the
  least possible: the pair (x, y = 0) certifies phase 1 on its LP of record (reduced costs
  are the costs, w_r >= 0 on s at 0 and 0 on T). Phase 2 (the least spending among the
  optima, engine/highs.py ``solve_lp``) holds sum_r w_r s_r <= 0, i.e. s = 0 because every
  w_r > 0: the hard thresholds again, whose least-spending point is the least point. With
  a zero weight that argument fails (s_r is then free) and the LP decides.
Anything else (a least point over the budget, a group row it violates, a row family not
folded into the envelopes) returns None: the LP of record solves the round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import Run
from optimizer.fast.certify import certify
from optimizer.fast.policy_path import least_point
from optimizer.fast.solutions import closed_form_solution

Build = Callable[[RegionData, str], LinearProgram]
LEAST_POINT_BY = ("least point of the envelopes (policy rows as transfer bounds, no-overtaking as a chain), "
                  "certified optimal for the LP of record (optimizer/fast/policy_least.py)")
LEAST_POINT_OBJECTIVES = ("min-cost", "min-shortfall")


def hard_of(data: RegionData) -> RegionData:
    return replace(data, options={**data.options, "soft_thresholds": False})


def min_cost_run(data: RegionData, build: Build) -> Run | None:
    """min-cost with policy rows: the least point, certified on the min-cost LP of record."""
    t0 = time.perf_counter()
    lp = build(hard_of(data), "min-cost")
    build_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    found = least_point(lp, data)
    if found is None:
        return None
    _, x, y = found
    sol = closed_form_solution(lp, x, y, float(lp.cost @ x + lp.offset), time.perf_counter() - t1)
    sol.algorithm = "least point"
    return Run(sol, None, lp.layout(), build_seconds, {"solved_by": LEAST_POINT_BY})


def min_shortfall_run(data: RegionData, build: Build) -> Run | None:
    """min-shortfall with policy rows and every threshold within reach of the budget: the
    least point with no shortfall, phase 1 certified with y = 0, phase 2 by the module's
    argument (every weight > 0) and the hard LP's certificate of the least point."""
    if np.any(data.weight <= 0) or data.options.get("shortfall_cap") is not None:
        return None
    t0 = time.perf_counter()
    lp = build(data, "min-shortfall")
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    if {k for k in lay if not k.startswith("rows:")} != {"transfer", "shortfall"}:
        return None
    t1 = time.perf_counter()
    found = least_point(build(hard_of(data), "min-cost"), data)
    if found is None:
        return None
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = found[0]
    cert = certify(lp, x, np.zeros(lp.num_row))
    if not cert.ok:
        return None
    sol = closed_form_solution(lp, x, np.zeros(lp.num_row), 0.0, time.perf_counter() - t1)
    sol.algorithm = "least point"
    info = {"solved_by": LEAST_POINT_BY,
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(sol, sol, lay, build_seconds, info)


def least_point_run(data: RegionData, objective: str, build: Build, hard: bool) -> Run | None:
    """The certified least-point Run of ``objective`` with policy rows, or None."""
    if data.options.get("threshold_caps"):
        return None           # scarcity: thresholds are caps, the least point is not the answer
    if objective == "min-cost" and hard:
        return min_cost_run(data, build)
    if objective == "min-shortfall":
        return min_shortfall_run(data, build)
    return None
