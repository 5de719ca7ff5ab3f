"""Max-min LPs without the dense column: fixed-level LPs and a Newton iteration.

The max-min LP (max z s.t. L_r >= z, budget, policies ...) has z in every floor row,
which makes simplex slow (0.3n iterations of O(n)). Fix z instead: the least budget-row
activity that lifts every (free) region to z under all the other rows,

    S(z) = min { a_B x : all rows but the budget, z fixed },

is an LP without the dense column, convex and piecewise linear in z, with dS/dz the
reduced cost of the fixed z column. The optimum is the largest z with S(z) <= B. A
safeguarded Newton iteration from above (bisection when a point is infeasible) finds it
in a few warm-started solves. The LP of record is then solved by HiGHS from the basis
found (z basic, the budget row at its bound), so the answer and the duals are HiGHS's
own for that LP; the iteration only buys the starting basis. Used for max-min with
policy rows (``parametric_maxmin_run``); ``solve_level_lp`` works on any max-z model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import LPSolution, Run
from optimizer.engine.growing_lp import GrowingLP
from optimizer.engine.highs import INF, HighsModel, tie_cost
from optimizer.fast.group_paths import group_floor_solution
from optimizer.fast.waterfill import water_fill

MAX_STEPS = 60
Budget = Callable[[float], "tuple[float, float] | None"]   # z -> (S(z), dS/dz), None if infeasible


def _newton(S: Budget, lo: float, z0: float, budget: float) -> tuple[float | None, int]:
    """(the largest z with S(z) <= budget, or None if unsettled; the LPs it took), from
    above, ``lo`` feasible."""
    z, hi, steps = max(z0, lo), None, 0
    while steps < MAX_STEPS:
        steps += 1
        val = S(z)
        if val is not None and abs(val[0] - budget) <= 1e-9 * max(1.0, abs(budget)):
            return z, steps                           # S(z) = B to the solver's precision
        if val is None or val[0] > budget:         # above the root, or beyond what the rows allow
            hi = z
            if val is not None and val[1] > 1e-12:
                z_new = z - (val[0] - budget) / val[1]    # Newton from above stays >= the root
                z = max(z_new, lo) if z_new < z else 0.5 * (lo + z)
            else:
                z = 0.5 * (lo + z)
        else:
            lo = z
            z = z + max(1e-3, abs(z)) if hi is None else 0.5 * (z + hi)
        if hi is not None and hi - lo <= 1e-12 * max(1.0, abs(hi)):
            return lo, steps
    return None, steps


def solve_level_lp(model: HighsModel, lp: LinearProgram, zc: int, brow: int, lo: float, z0: float
                   ) -> tuple[LPSolution, int] | None:
    """Solve the max-z LP held in ``model`` (``lp`` gives its costs, sense and budget row;
    the matrix in the model may differ) via fixed-level LPs.

    ``lo`` must be a level every free region can reach within the budget; ``z0`` is a
    first guess. Returns (HiGHS's solution of the LP in the model, number of fixed-level
    LPs), or None with the model restored when the iteration does not settle."""
    budget, b_lo = float(lp.row_upper[brow]), float(lp.row_lower[brow])

    def restore() -> None:
        model.set_objective(lp.cost, lp.maximize, lp.offset)
        model.set_row_bounds(brow, b_lo, budget)
        model.set_col_bounds(zc, lp.col_lower[zc], lp.col_upper[zc])

    def S(z: float) -> tuple[float, float] | None:
        model.set_col_bounds(zc, z, z)
        sol = model.run("simplex")
        if sol.status != "optimal":
            model.clear_solver()
            return None
        return sol.objective, float(sol.col_dual[zc])

    model.set_objective(np.asarray(lp.A[[brow], :].todense()).ravel())
    model.set_row_bounds(brow, b_lo, INF)
    s_lo = S(lo)
    z_star, steps = None, 0
    if s_lo is not None and s_lo[0] <= budget * (1 + 1e-9) + 1e-9:
        z_star, steps = _newton(S, lo, z0, budget)
    if z_star is not None and S(z_star) is None:   # feasible only to the solver's tolerance: step back
        z_star = z_star - 1e-7 * max(1.0, abs(z_star))
        if S(z_star) is None:
            z_star = None
    if z_star is None:
        restore()
        return None
    basis = model.get_basis()
    restore()
    model.set_basis_with(basis, basic_col=zc, upper_row=brow)
    return model.run("simplex"), steps


def parametric_maxmin_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram],
                          tie_cols: Callable[[LinearProgram], Any], time_limit: float | None = None) -> Run | None:
    """max-min with policy rows: the fixed-level iteration buys the basis, HiGHS solves the
    LP of record from it; then the tie-break with z fixed at its optimum. None when the
    LP has no floor or budget, or the iteration does not settle (solve the LP instead)."""
    t0 = time.perf_counter()
    lp = build(replace(data, options={**data.options, "soft_thresholds": False}), "maxmin")
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    if "floor" not in lay or "rows:budget" not in lay:
        return None
    fast = group_floor_solution(lp, lay, data, GrowingLP())
    if fast is not None:     # binding group rows: the small LP over the members, certified
        return Run(fast[0], None, lay, build_seconds, fast[1])
    zc = lay["floor"].start
    model = HighsModel(lp, "simplex", 1, time_limit)
    t1 = time.perf_counter()
    z0 = water_fill(data.own, data.need, data.threshold, data.t_min, data.t_max, data.budget).level
    out = solve_level_lp(model, lp, zc, lay["rows:budget"].start, float(np.min(data.own / data.need)), z0)
    if out is None or out[0].status != "optimal":
        return None
    first, steps = out
    first.iterations += steps
    newton_seconds = time.perf_counter() - t1
    # phase 2: least tie-break cost with z held at its optimum (the budget row is in place)
    model.set_objective(tie_cost(tie_cols(lp), lp.num_col))
    model.set_col_bounds(zc, first.objective, first.objective)
    second = model.run("simplex")
    if second.status != "optimal":
        second = None
    info = {"solved_by": f"parametric max-min: {steps} fixed-level LPs without the dense column, then "
                         f"HiGHS on the LP of record from that basis ({newton_seconds:.2f} s in all) "
                         "(optimizer/engine/drivers/parametric.py)"}
    return Run(first, second, lay, build_seconds, info)
