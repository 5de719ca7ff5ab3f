"""The one gateway to HiGHS: the only module of ``optimizer`` that imports highspy.

The compact idiom: pass the CSC matrix straight to ``passModel``, run, read the
solution arrays. ``HighsModel`` wraps one HiGHS model with the incremental operations
the drivers and the sweep re-solve with (bounds, coefficients, rows, costs, basis).
``hold_and_minimise`` is the one tie-break: hold the objective at its optimum and
minimise the total transfer (or a given cost vector), so an analyst never sees money
handed out that changes nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

import highspy
import numpy as np

from models.lp import LinearProgram
from optimizer.core.solution import LPSolution

INF = highspy.kHighsInf
# HiGHS's model status -> ours; every other member (errors, limits other than time,
# not set) is "error". Read from the enum, never from its display string.
STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
}
STATUSES = ("optimal", "infeasible", "unbounded", "time_limit", "error")
TieCols = slice | np.ndarray   # columns whose sum the tie-break minimises, or a float cost vector


def status_of(model_status: highspy.HighsModelStatus) -> str:
    return STATUS.get(model_status, "error")


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


# HiGHS drops matrix entries below small_matrix_value (default 1e-9) as it takes a model:
# a threshold row's only coefficient 1/need is 1e-10 for a need of 1e10 solver units (needs
# over 13 orders of magnitude, one money scale), and the row became 0 >= 0.3: "infeasible".
# 1e-12 is the least HiGHS accepts (an entry below it is under 1e-12 of the others in its row
# in the LPs seen: min-mad's mean over needs spanning 13 orders of magnitude). HiGHS also uses
# the value inside its solve: on a matrix with no entry below it but entries 3e-4 to 3e7 (seed
# 14's min-gini chain LP) the default gave a Gini of 0.807 for 0.0604. Lowered only for an LP
# with an entry below HiGHS's default or entries over more than 9 orders of magnitude: at
# 1e-12 on every LP, a 400-region leximin stage (entries 0.012 to 14) stopped with status 'error'.
SMALL_MATRIX_VALUE = 1e-12
HIGHS_SMALL_MATRIX_VALUE = 1e-9
WIDE_MATRIX_SPAN = 1e9


def keep_small_entries(h: highspy.Highs, lp: LinearProgram) -> None:
    """Lower HiGHS's small_matrix_value to SMALL_MATRIX_VALUE where ``lp`` has an entry HiGHS
    would drop, or entries more than WIDE_MATRIX_SPAN apart (HiGHS's default then misleads it).
    Where an entry is below HiGHS's default, presolve is off too: on such an LP (a 230-column
    owa round, entries 4.5e-10 to 5.7e3) HiGHS's presolve had not returned after 30 s, while the
    simplex without it answers in 0.04 s; only rounds with needs near 1e-9 have such entries."""
    v = np.abs(lp.A.data)
    v = v[v > 0.0]
    if v.size and (v.min() < HIGHS_SMALL_MATRIX_VALUE or v.max() > WIDE_MATRIX_SPAN * v.min()):
        h.setOptionValue("small_matrix_value", SMALL_MATRIX_VALUE)
    if v.size and v.min() < HIGHS_SMALL_MATRIX_VALUE:
        h.setOptionValue("presolve", "off")


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
    model.sense_ = _sense(lp.maximize)
    return model


def _sense(maximize: bool) -> highspy.ObjSense:
    return highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize


def _idx(cols) -> np.ndarray:
    return np.asarray(cols, dtype=np.int32)


class HighsModel:
    """One LP held in HiGHS, changed in place and re-run (warm) between solves.

    ``cost_scale`` multiplies the costs and the offset (the chain LPs scale to max |c| = 1:
    HiGHS's dual tolerance is absolute); ``tolerance`` sets both feasibility tolerances."""

    def __init__(self, lp: LinearProgram, algorithm: str = "simplex", threads: int = 1,
                 time_limit: float | None = None, cost_scale: float = 1.0, tolerance: float | None = None):
        self.lp, self.algorithm = lp, algorithm
        self.h = make_highs(algorithm, threads, time_limit)
        if tolerance is not None:
            for key in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
                self.h.setOptionValue(key, tolerance)
        keep_small_entries(self.h, lp)
        self.presolve = str(self.h.getOptionValue("presolve"))   # what a retry restores
        model = to_highs_lp(lp)
        if cost_scale != 1.0:
            model.col_cost_ = lp.cost * cost_scale
            model.offset_ = lp.offset * cost_scale
        self.h.passModel(model)

    # --- solving ---
    def run(self, algorithm: str | None = None) -> LPSolution:
        t0 = time.perf_counter()
        if self.h.run() == highspy.HighsStatus.kError and \
                self.h.getModelStatus() == highspy.HighsModelStatus.kNotset:
            # HiGHS refuses to start when its process-wide scheduler was started with another
            # thread count, by a Highs object made elsewhere in this process (a notebook, a
            # caller's own model, a test): start the scheduler again for our threads
            highspy.Highs.resetGlobalScheduler(True)
            self.h.run()
        return self.read(time.perf_counter() - t0, algorithm or self.algorithm)

    def read(self, seconds: float, algorithm: str) -> LPSolution:
        h = self.h
        status = status_of(h.getModelStatus())
        info = h.getInfo()
        iters = int(info.simplex_iteration_count) + int(info.ipm_iteration_count)
        if status != "optimal":
            empty = np.zeros(0)
            return LPSolution(status, float("nan"), empty, empty, empty, empty, seconds, iters, algorithm)
        sol = h.getSolution()
        return LPSolution(
            status=status, objective=float(info.objective_function_value),
            x=np.array(sol.col_value), row_activity=np.array(sol.row_value),
            row_dual=np.array(sol.row_dual), col_dual=np.array(sol.col_dual),
            seconds=seconds, iterations=iters, algorithm=algorithm)

    def set_option(self, key: str, value: Any) -> None:
        self.h.setOptionValue(key, value)

    def clear_solver(self) -> None:
        self.h.clearSolver()

    # --- incremental changes ---
    def set_col_bounds(self, col: int, lo: float, hi: float) -> None:
        self.h.changeColBounds(int(col), float(lo), float(hi))

    def set_cols_bounds(self, cols, lo, hi) -> None:
        cols = _idx(cols)
        self.h.changeColsBounds(len(cols), cols, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))

    def set_row_bounds(self, row: int, lo: float, hi: float) -> None:
        self.h.changeRowBounds(int(row), float(lo), float(hi))

    def set_rows_bounds(self, rows, lo, hi) -> None:
        rows = _idx(rows)
        self.h.changeRowsBounds(len(rows), rows, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))

    def set_coeff(self, row: int, col: int, value: float) -> None:
        self.h.changeCoeff(int(row), int(col), float(value))

    def add_row(self, lo: float, hi: float, cols, values) -> None:
        cols = _idx(cols)
        self.h.addRow(lo, hi, len(cols), cols, np.asarray(values, dtype=float))

    def add_rows(self, lo: np.ndarray, hi: np.ndarray, rows: Any) -> None:
        """Append the rows of ``rows`` (a scipy sparse matrix over the model's columns)."""
        csr = rows.tocsr()
        self.h.addRows(csr.shape[0], np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), csr.nnz,
                       csr.indptr[:-1].astype(np.int32), csr.indices.astype(np.int32), csr.data.astype(float))

    def delete_row(self, row: int) -> None:
        self.h.deleteRows(1, np.array([row], dtype=np.int32))

    def set_objective(self, cost: np.ndarray, maximize: bool = False, offset: float = 0.0) -> None:
        """Replace the whole objective: sense, every cost, offset."""
        n = len(cost)
        self.h.changeObjectiveSense(_sense(maximize))
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(cost, dtype=float))
        self.h.changeObjectiveOffset(offset)

    def restore_objective(self) -> None:
        """Back to the LP's own objective (unscaled)."""
        self.set_objective(self.lp.cost, self.lp.maximize, self.lp.offset)

    # --- basis ---
    def get_basis(self) -> highspy.HighsBasis:
        return self.h.getBasis()

    def set_basis(self, basis: highspy.HighsBasis) -> None:
        self.h.setBasis(basis)

    def set_basis_with(self, basis: highspy.HighsBasis, basic_col: int, upper_row: int) -> None:
        """``basis`` with one column made basic and one row nonbasic at its upper bound."""
        basis.col_status[basic_col] = highspy.HighsBasisStatus.kBasic
        basis.row_status[upper_row] = highspy.HighsBasisStatus.kUpper
        self.h.setBasis(basis)


def tie_cost(tie: TieCols, n_col: int) -> np.ndarray:
    """The phase-2 cost: a float array is the cost itself, else 1 on the given columns."""
    if isinstance(tie, np.ndarray) and tie.dtype.kind == "f":
        return tie.astype(float)
    cost = np.zeros(n_col)
    cost[tie] = 1.0
    return cost


def hold_and_minimise(model: HighsModel, cost: np.ndarray, value: float, maximize: bool, tie: TieCols,
                      col_lower: np.ndarray | None = None) -> bool:
    """Tie-break set-up: hold ``cost @ x`` (no offset) at ``value`` (>= for a maximisation,
    <= else), then minimise ``tie_cost(tie)``. Returns True when a hold row was added.

    With ``col_lower`` given, a minimisation held at value <= 0 whose held columns all have
    c > 0 and a lower bound 0 fixes those columns at 0 instead of adding a dense row:
    c'x <= 0 with c > 0, x >= 0 holds iff every such x is 0, the same feasible set. A fresh
    solve then lets presolve remove them (min-shortfall with no shortfall left: warm
    starting on the dense row took 3.7 s at 1e5 regions, 0.14 s this way; over 300 s at
    1e6, bench/results.md)."""
    cols = np.flatnonzero(cost)
    added = True
    if (col_lower is not None and not maximize and value <= 0.0 and np.all(cost[cols] > 0)
            and np.all(col_lower[cols] == 0.0)):
        model.set_cols_bounds(cols, col_lower[cols], col_lower[cols])
        model.clear_solver()
        added = False
    else:
        lo, hi = (value, INF) if maximize else (-INF, value)
        model.add_row(lo, hi, cols, cost[cols])
    model.set_objective(tie_cost(tie, len(cost)))
    return added


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
             threads: int = 1, time_limit: float | None = None,
             tolerance: float | None = None) -> tuple[LPSolution, LPSolution | None]:
    """Solve; if ``tie_break_cols`` is given and phase 1 is optimal, re-solve for the least
    sum of those columns with the phase-1 objective held (a float array of length num_col
    gives the phase-2 cost vector instead). Returns (phase 1, phase 2); phase 2 is phase 1
    itself when the budget binds for every optimum (no re-solve needed). ``tolerance``
    tightens HiGHS's feasibility tolerances (the retry after a failed post-solve check)."""
    model = HighsModel(lp, algorithm, threads, time_limit, tolerance=tolerance)
    first = model.run()
    if first.status in ("infeasible", "unbounded"):
        # Presolve can declare a box narrower than its tolerances infeasible (a change limit
        # of 1e-7, say); confirm on the original LP before telling a user "infeasible".
        model.set_option("presolve", "off")
        model.clear_solver()
        first = model.run()
        model.set_option("presolve", model.presolve)
    if first.status == "infeasible" and lp.has_row_block("budget"):
        first = _budget_rounding_retry(model, lp, first)
    if first.status != "optimal" or tie_break_cols is None:
        return first, None
    if budget_binds_for_every_optimum(lp, first, tie_break_cols):
        return first, first   # phase 1's split is already the least-spending optimum
    # HiGHS's feasibility tolerance already absorbs the phase-1 rounding: hold with no slack
    hold_and_minimise(model, lp.cost, first.objective - lp.offset, lp.maximize, tie_break_cols, lp.col_lower)
    if algorithm == "ipm":
        model.set_option("solver", "simplex")  # warm start from the crossover basis
    return first, model.run("simplex")


BUDGET_ULPS = 16.0   # the budget row's slack on the retry: float rounding of a sum, in ulps of the budget


def _budget_rounding_retry(model: HighsModel, lp: LinearProgram, first: LPSolution) -> LPSolution:
    """An infeasible verdict where the budget is exactly the least spending, retried with the
    budget row's bound BUDGET_ULPS ulps up: a budget of 3e9 solver units has an ulp of 4.8e-7,
    above HiGHS's absolute tolerance (1e-7), so the least transfers, rounded, "miss" it by an
    ulp (seed 144). Kept for the tie-break when the retry solves (the same LP to rounding);
    the engine's cleaning takes any overspend (at most those ulps) off on the original data
    (engine/finish.py ``clean_transfers``) and the post-solve check verifies the answer."""
    row = lp.row_block("budget").start
    bound = float(lp.row_upper[row])
    if not np.isfinite(bound) or BUDGET_ULPS * float(np.spacing(abs(bound))) < 1e-10:
        return first      # (below the tightest tolerance used: rounding cannot be the cause)
    model.set_row_bounds(row, lp.row_lower[row], bound + BUDGET_ULPS * float(np.spacing(abs(bound))))
    model.clear_solver()
    retry = model.run()
    if retry.status != "optimal":
        model.set_row_bounds(row, lp.row_lower[row], bound)
        return first
    return retry


def lp_text(lp: LinearProgram, col_names: list[str], row_names: list[str], fmt: str) -> str:
    """``lp`` with these column and row names as HiGHS writes it (``fmt`` "lp" or "mps"),
    for ``equalize export``: HiGHS writes files only, so through a private temporary one."""
    h = make_highs()
    keep_small_entries(h, lp)
    h.passModel(to_highs_lp(lp))
    for j, name in enumerate(col_names):
        h.passColName(j, name)
    for i, name in enumerate(row_names):
        h.passRowName(i, name)
    with tempfile.TemporaryDirectory(prefix="equalize-export-") as tmp:
        target = os.path.join(tmp, f"model.{fmt}")
        if h.writeModel(target) != highspy.HighsStatus.kOk:
            raise RuntimeError(f"HiGHS could not write the {fmt} file")
        with open(target, encoding="utf-8") as fh:
            return fh.read()
