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
policy rows (``parametric_maxmin_run``) and for each stage of leximin with policy rows
(``solve_level_lp`` on the stage's model).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable

import highspy
import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import Run
from optimizer.core.solution import LPSolution
from optimizer.engine.highs import _read, make_highs, to_highs_lp
from optimizer.fast.waterfill import water_fill

MAX_STEPS = 60



def solve_level_lp(h: highspy.Highs, lp: LinearProgram, zc: int, brow: int, lo: float, z0: float
                   ) -> tuple[LPSolution, int] | None:
    """Solve the max-z LP held in ``h`` (``lp`` gives its costs, sense and budget row; the
    matrix in ``h`` may differ, e.g. leximin's fixed rows) via fixed-level LPs.

    ``lo`` must be a level every free region can reach within the budget; ``z0`` is a
    first guess. Returns (HiGHS's solution of the LP in ``h``, number of fixed-level LPs),
    or None with ``h`` restored when the iteration does not settle."""
    n_col = lp.num_col
    cols = np.arange(n_col, dtype=np.int32)
    budget, b_lo = float(lp.row_upper[brow]), float(lp.row_lower[brow])
    a_budget = np.asarray(lp.A[[brow], :].todense()).ravel()

    def restore() -> None:
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if lp.maximize else highspy.ObjSense.kMinimize)
        h.changeColsCost(n_col, cols, lp.cost)
        h.changeObjectiveOffset(lp.offset)
        h.changeRowBounds(brow, b_lo, budget)
        h.changeColBounds(zc, float(lp.col_lower[zc]), float(lp.col_upper[zc]))

    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(n_col, cols, a_budget)
    h.changeObjectiveOffset(0.0)
    h.changeRowBounds(brow, b_lo, highspy.kHighsInf)

    def S(z: float) -> tuple[float, float] | None:
        h.changeColBounds(zc, z, z)
        h.run()
        sol = _read(h, 0.0, "simplex")
        if sol.status != "optimal":
            h.clearSolver()
            return None
        return sol.objective, float(sol.col_dual[zc])

    s_lo = S(lo)
    if s_lo is None or s_lo[0] > budget * (1 + 1e-9) + 1e-9:
        restore()
        return None
    z, hi, steps = max(z0, lo), None, 0
    while steps < MAX_STEPS:
        steps += 1
        val = S(z)
        if val is not None and abs(val[0] - budget) <= 1e-9 * max(1.0, abs(budget)):
            lo = z
            break                                 # S(z) = B to the solver's precision
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
            break
    else:
        restore()
        return None
    z_star = lo
    if S(z_star) is None:   # feasible only to the solver's tolerance: step back inside
        z_star = lo - 1e-7 * max(1.0, abs(lo))
        if S(z_star) is None:
            restore()
            return None
    basis = h.getBasis()
    restore()
    basis.col_status[zc] = highspy.HighsBasisStatus.kBasic
    basis.row_status[brow] = highspy.HighsBasisStatus.kUpper
    h.setBasis(basis)
    t0 = time.perf_counter()
    h.run()
    return _read(h, time.perf_counter() - t0, "simplex"), steps


def parametric_maxmin_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram],
                          tie_cols: Callable[[LinearProgram], Any], time_limit: float | None = None) -> Run | None:
    t0 = time.perf_counter()
    lp = build(replace(data, options={**data.options, "soft_thresholds": False}), "maxmin")
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    if "floor" not in lay or "rows:budget" not in lay:
        return None
    zc, brow = lay["floor"].start, lay["rows:budget"].start
    h = make_highs("simplex", 1, time_limit)
    h.passModel(to_highs_lp(lp))
    t1 = time.perf_counter()
    lo = float(np.min(data.own / data.need))
    z0 = water_fill(data.own, data.need, data.threshold, data.t_min, data.t_max, data.budget).level
    out = solve_level_lp(h, lp, zc, brow, lo, z0)
    if out is None:
        return None
    first, steps = out
    if first.status != "optimal":
        return None
    first.iterations += steps
    newton_seconds = time.perf_counter() - t1

    # phase 2: least tie-break cost with z held at its optimum (the budget row is in place)
    tc = tie_cols(lp)
    cost2 = np.zeros(lp.num_col)
    if isinstance(tc, np.ndarray) and tc.dtype.kind == "f":
        cost2[:] = tc
    else:
        cost2[tc] = 1.0
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(lp.num_col, np.arange(lp.num_col, dtype=np.int32), cost2)
    h.changeObjectiveOffset(0.0)
    h.changeColBounds(zc, first.objective, first.objective)
    t3 = time.perf_counter()
    h.run()
    second = _read(h, time.perf_counter() - t3, "simplex")
    if second.status != "optimal":
        second = None
    info = {"solved_by": f"parametric max-min: {steps} fixed-level LPs without the dense column, then "
                         f"HiGHS on the LP of record from that basis ({newton_seconds:.2f} s in all) "
                         "(optimizer/parametric.py)"}
    return Run(first, second, lay, build_seconds, info)
