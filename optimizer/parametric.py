"""Max-min with policy rows, without the dense column.

The max-min LP has z in every floor row, which makes simplex slow (0.3n iterations of
O(n)). Fix z instead: the least budget-row activity that lifts every region to z under
all the other rows (policies included),

    S(z) = min { a_B x : all rows but the budget, floor rows at level z },

is an LP without the dense column, convex and piecewise linear in z, with dS/dz the
reduced cost of the fixed z column. The max-min level is the largest z with S(z) <= B.
A safeguarded Newton iteration from above converges in a few warm-started solves
(bisection when a point is infeasible). At z* the least-spending split is the same LP
with the tie-break cost and the budget row restored. The max-min LP of record is then
solved by HiGHS from the basis found (z basic, the budget row at its bound), so the
reported duals are HiGHS's own for that LP. Any surprise returns None and the caller
solves the plain LP.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable

import highspy
import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.fairness_solve import Run
from optimizer.highs import LPSolution, _read, make_highs, to_highs_lp
from optimizer.waterfill import water_fill

MAX_STEPS = 60


def _layout(lp: LinearProgram) -> dict[str, slice]:
    return {b.name: b.slice for b in lp.col_blocks} | {"rows:" + b.name: b.slice for b in lp.row_blocks}


def parametric_maxmin_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram],
                          tie_cols: Callable[[LinearProgram], Any], time_limit: float | None = None) -> Run | None:
    t0 = time.perf_counter()
    lp = build(replace(data, options={**data.options, "soft_thresholds": False}), "maxmin")
    build_seconds = time.perf_counter() - t0
    lay = _layout(lp)
    if "floor" not in lay or "rows:budget" not in lay:
        return None
    zc = lay["floor"].start
    brow = lay["rows:budget"].start
    budget = float(lp.row_upper[brow])
    a_budget = np.asarray(lp.A[[brow], :].todense()).ravel()

    h = make_highs("simplex", 1, time_limit)
    spend = lp.cost.copy()
    spend[:] = a_budget
    model = to_highs_lp(lp)
    h.passModel(model)
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(lp.num_col, np.arange(lp.num_col, dtype=np.int32), spend)
    h.changeObjectiveOffset(0.0)
    h.changeRowBounds(brow, float(lp.row_lower[brow]), highspy.kHighsInf)
    t1 = time.perf_counter()

    def S(z: float) -> tuple[float, float] | None:
        h.changeColBounds(zc, z, z)
        h.run()
        sol = _read(h, 0.0, "simplex")
        if sol.status != "optimal":
            h.clearSolver()
            return None
        return sol.objective, float(sol.col_dual[zc])

    # bracket: lo is feasible with S(lo) <= B; start hi at the core water-filling level
    lo = float(np.min(data.own / data.need))
    s_lo = S(lo)
    if s_lo is None or s_lo[0] > budget * (1 + 1e-9) + 1e-9:
        return None   # the caller's diagnosis handles an infeasible round
    z = water_fill(data.own, data.need, data.threshold, data.t_min, data.t_max, data.budget).level
    hi, steps = None, 0
    while steps < MAX_STEPS:
        steps += 1
        val = S(z)
        if val is not None and abs(val[0] - budget) <= 1e-9 * max(1.0, abs(budget)):
            lo = z
            break                                # S(z) = B (to the solver's precision): the root
        if val is None or val[0] > budget:        # above the root (or beyond what policies allow)
            hi = z
            if val is not None and val[1] > 1e-12:
                z_new = z - (val[0] - budget) / val[1]   # Newton from above: stays >= the root
                z = max(z_new, lo) if z_new < z else 0.5 * (lo + z)
            else:
                z = 0.5 * (lo + z)
        else:
            lo = z
            if hi is None:
                z = z + max(1.0, abs(z))         # not yet bracketed: step up
            else:
                z = 0.5 * (z + hi)
        if hi is not None and hi - lo <= 1e-12 * max(1.0, abs(hi)):
            z = lo
            break
    else:
        return None
    z_star = lo
    if S(z_star) is None:   # feasible only to the solver's tolerance: step back inside
        z_star = lo - 1e-7 * max(1.0, abs(lo))
        if S(z_star) is None:
            return None
    basis = h.getBasis()
    newton_seconds = time.perf_counter() - t1

    # the max-min LP of record, warm-started: z basic, the budget row at its bound
    t2 = time.perf_counter()
    hm = make_highs("simplex", 1, time_limit)
    hm.passModel(model)
    basis.col_status[zc] = highspy.HighsBasisStatus.kBasic
    basis.row_status[brow] = highspy.HighsBasisStatus.kUpper
    hm.setBasis(basis)
    hm.run()
    first = _read(hm, time.perf_counter() - t2, "simplex")
    if first.status != "optimal" or abs(first.objective - z_star) > 1e-7 * max(1.0, abs(z_star)):
        return None
    first.iterations += steps

    # phase 2: least tie-break cost with z held at z* and the budget restored
    tc = tie_cols(lp)
    cost2 = np.zeros(lp.num_col)
    if isinstance(tc, np.ndarray) and tc.dtype.kind == "f":
        cost2[:] = tc
    else:
        cost2[tc] = 1.0
    h.changeRowBounds(brow, float(lp.row_lower[brow]), budget)
    h.changeColsCost(lp.num_col, np.arange(lp.num_col, dtype=np.int32), cost2)
    h.changeColBounds(zc, first.objective, first.objective)
    t3 = time.perf_counter()
    h.run()
    second = _read(h, time.perf_counter() - t3, "simplex")
    if second.status != "optimal":
        second = None
    info = {"solved_by": f"parametric max-min: {steps} fixed-level LPs without the dense column "
                         f"({newton_seconds:.2f} s), then HiGHS on the LP of record from that basis "
                         f"({first.iterations - steps} iterations) (optimizer/parametric.py)"}
    return Run(first, second, lay, build_seconds, info)
