"""Warm re-solves of growing LPs (the group-floor cut loops) on one HiGHS model."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.lp import LinearProgram
from optimizer.core.solution import LPSolution
from optimizer.engine.highs import HighsModel, solve_lp


class GrowingLP:
    """A solve callable (LinearProgram -> LPSolution) for the small LPs of the group-floor cut
    loops (optimizer/fast/group_floors.py, group_leximin.py): an LP that is the previous one
    with rows appended (new cuts), and perhaps other costs and column bounds (the
    least-spending pass, the next leximin stage's holds), is re-solved on the same HiGHS
    model from the previous basis (dual simplex, a few pivots) instead of from scratch; any
    other LP starts a new model, with presolve off (it took 0.75 s on LPs the simplex solves
    in 0.01 s). A warm or fresh run that is not optimal is repeated cold by ``solve_lp``
    (presolve on, its presolve-off retry), so the answer never depends on the warm start."""

    def __init__(self, tolerance: float | None = None) -> None:
        self.tolerance = tolerance
        self.model: HighsModel | None = None
        self.last: LinearProgram | None = None

    def __call__(self, lp: LinearProgram) -> LPSolution:
        if self.model is not None and self.last is not None and _extends(lp, self.last):
            self._grow(self.model, self.last, lp)
        else:
            self.model = HighsModel(lp, "simplex", 1, tolerance=self.tolerance)
            self.model.set_option("presolve", "off")
        self.last = lp
        sol = self.model.run()
        if sol.status != "optimal":
            self.model = self.last = None
            sol = solve_lp(lp, tolerance=self.tolerance)[0]
        return sol

    @staticmethod
    def _grow(model: HighsModel, last: LinearProgram, lp: LinearProgram) -> None:
        if not np.array_equal(lp.cost, last.cost) or lp.maximize != last.maximize:
            model.set_objective(lp.cost, lp.maximize, lp.offset)
        moved = np.flatnonzero((lp.col_lower != last.col_lower) | (lp.col_upper != last.col_upper))
        if moved.shape[0]:
            model.set_cols_bounds(moved, lp.col_lower[moved], lp.col_upper[moved])
        if lp.num_row > last.num_row:
            k = last.num_row
            model.add_rows(lp.row_lower[k:], lp.row_upper[k:], sp.csr_array(lp.A)[k:])


def _extends(lp: LinearProgram, last: LinearProgram) -> bool:
    """``lp`` has ``last``'s columns and first rows (costs and column bounds may differ)."""
    k = last.num_row
    if lp.num_col != last.num_col or lp.num_row < k:
        return False
    same = np.array_equal(lp.row_lower[:k], last.row_lower) and np.array_equal(lp.row_upper[:k], last.row_upper)
    return same and (abs(sp.csr_array(lp.A)[:k] - sp.csr_array(last.A)).sum() == 0)
