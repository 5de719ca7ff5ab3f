"""Solve a ``LinearProgram`` with HiGHS through highspy (no external executable).

The compact idiom: pass the CSC matrix straight to ``passModel``, run, read the
solution arrays. An optional second phase breaks ties deterministically: it holds the
first objective at its optimum and minimises the total transfer, so an analyst never
sees money handed out that changes nothing.
"""

from __future__ import annotations

import os
import sys
import time

import highspy
import numpy as np

from models.lp import LinearProgram
from optimizer.core.solution import LPSolution

_STATUS = {
    "Optimal": "optimal",
    "Infeasible": "infeasible",
    "Unbounded": "unbounded",
    "Primal infeasible or unbounded": "infeasible",
    "Time limit reached": "time_limit",
}


def highs_version() -> str:
    return f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"


def new_highs() -> highspy.Highs:
    """A Highs object, without the banner HiGHS writes to fd 1 on its first construction
    (it would corrupt CSV or JSON written to standard output)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        return highspy.Highs()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def make_highs(algorithm: str = "simplex", threads: int = 1, time_limit: float | None = None) -> highspy.Highs:
    h = new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("solver", "ipm" if algorithm == "ipm" else "simplex")
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    return h


def to_highs_lp(lp: LinearProgram) -> highspy.HighsLp:
    model = highspy.HighsLp()
    model.num_col_ = lp.num_col
    model.num_row_ = lp.num_row
    model.col_cost_ = lp.cost
    model.col_lower_ = lp.col_lower
    model.col_upper_ = lp.col_upper
    model.row_lower_ = lp.row_lower
    model.row_upper_ = lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = lp.A.indptr
    model.a_matrix_.index_ = lp.A.indices
    model.a_matrix_.value_ = lp.A.data
    model.offset_ = lp.offset
    model.sense_ = highspy.ObjSense.kMaximize if lp.maximize else highspy.ObjSense.kMinimize
    return model


def _read(h: highspy.Highs, seconds: float, algorithm: str) -> LPSolution:
    status = _STATUS.get(h.modelStatusToString(h.getModelStatus()), "error")
    sol = h.getSolution()
    info = h.getInfo()
    iters = int(info.simplex_iteration_count) + int(info.ipm_iteration_count)
    has = status == "optimal"
    return LPSolution(
        status=status,
        objective=float(info.objective_function_value) if has else float("nan"),
        x=np.array(sol.col_value) if has else np.zeros(0),
        row_activity=np.array(sol.row_value) if has else np.zeros(0),
        row_dual=np.array(sol.row_dual) if has else np.zeros(0),
        col_dual=np.array(sol.col_dual) if has else np.zeros(0),
        seconds=seconds, iterations=iters, algorithm=algorithm)


def budget_binds_for_every_optimum(lp: LinearProgram, first: LPSolution, cols) -> bool:
    """True when phase 2 cannot change the total: the budget row is sum_{tie cols} x <= B
    and has a nonzero dual at the phase-1 optimum. By complementary slackness every
    optimal solution then spends exactly B, so every optimum is a least-spending one and
    the phase-1 split already is the tie-break's answer (min-shortfall with a short
    budget: the dense hold row made phase 2 the slowest part at 1e6 regions)."""
    if not isinstance(cols, slice) or not lp.has_row_block("budget"):
        return False
    row = lp.row_block("budget").start
    dual = float(first.row_dual[row])
    if abs(dual) <= 1e-9 or not np.isfinite(lp.row_upper[row]):
        return False
    if abs(first.row_activity[row] - lp.row_upper[row]) > 1e-9 * max(1.0, abs(lp.row_upper[row])):
        return False
    budget_row = lp.A[[row], :].tocoo()
    want = np.arange(cols.start or 0, cols.stop)
    return bool(np.array_equal(np.sort(budget_row.col), want) and np.all(budget_row.data == 1.0))


def solve_lp(lp: LinearProgram, algorithm: str = "simplex", tie_break_cols: slice | np.ndarray | None = None,
             threads: int = 1, time_limit: float | None = None) -> tuple[LPSolution, LPSolution | None]:
    """Solve; if ``tie_break_cols`` is given and phase 1 is optimal, re-solve for the least
    sum of those columns with the phase-1 objective held (a float array of length num_col
    gives the phase-2 cost vector instead). Returns (phase 1, phase 2); phase 2 is phase 1
    itself when the budget binds for every optimum (no re-solve needed)."""
    h = make_highs(algorithm, threads, time_limit)
    h.passModel(to_highs_lp(lp))
    t0 = time.perf_counter()
    h.run()
    first = _read(h, time.perf_counter() - t0, algorithm)
    if first.status in ("infeasible", "unbounded"):
        # Presolve can declare a box narrower than its tolerances infeasible (a change limit
        # of 1e-7, say); confirm on the original LP before telling a user "infeasible".
        h.setOptionValue("presolve", "off")
        h.clearSolver()
        t0 = time.perf_counter()
        h.run()
        first = _read(h, time.perf_counter() - t0, algorithm)
        h.setOptionValue("presolve", "choose")
    if first.status != "optimal" or tie_break_cols is None:
        return first, None
    if budget_binds_for_every_optimum(lp, first, tie_break_cols):
        return first, first   # phase 1's split is already the least-spending optimum
    # Phase 2: hold the phase-1 objective at its optimum and minimise the sum of T.
    cols = np.flatnonzero(lp.cost)
    tol = 0.0  # HiGHS feasibility tolerance already absorbs the phase-1 rounding
    value = first.objective - lp.offset
    lo, hi = (value - tol, np.inf) if lp.maximize else (-np.inf, value + tol)
    if (not lp.maximize and value <= 0.0 and np.all(lp.cost[cols] > 0)
            and np.all(lp.col_lower[cols] == 0.0)):
        # Held at zero (min-shortfall with no shortfall left): c'x <= 0 with c > 0, x >= 0
        # holds iff every such x is 0, so fix those columns at 0 instead of adding a dense
        # row: the same feasible set. A fresh solve then lets presolve remove them; warm
        # starting on the dense row took 3.7 s at 1e5 regions (0.14 s this way) and over
        # 300 s at 1e6 (bench/results.md).
        h.changeColsBounds(len(cols), cols.astype(np.int32), lp.col_lower[cols], lp.col_lower[cols])
        h.clearSolver()
    else:
        h.addRow(lo, hi, len(cols), cols.astype(np.int32), lp.cost[cols])
    if isinstance(tie_break_cols, np.ndarray) and tie_break_cols.dtype.kind == "f":
        new_cost = tie_break_cols.astype(float)
    else:
        new_cost = np.zeros(lp.num_col)
        new_cost[tie_break_cols] = 1.0
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(lp.num_col, np.arange(lp.num_col, dtype=np.int32), new_cost)
    h.changeObjectiveOffset(0.0)
    if algorithm == "ipm":
        h.setOptionValue("solver", "simplex")  # warm start from the crossover basis
    t0 = time.perf_counter()
    h.run()
    second = _read(h, time.perf_counter() - t0, "simplex")
    return first, second
