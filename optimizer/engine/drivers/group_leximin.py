"""Leximin with binding group rows by certified stages (optimizer/fast/group_leximin.py):
the engine side, which supplies HiGHS for the small LPs (fast/ cannot import highs)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import LPSolution, Run
from optimizer.engine.highs import HighsModel, solve_lp
from optimizer.fast.group_leximin import group_leximin


class WarmSmallLP:
    """Solves the small LPs of the group-floor cut loops (optimizer/fast/group_floors.py)
    on one HighsModel: an LP that is the previous one with rows appended (the new cuts)
    and perhaps other costs and column bounds (the least-spending pass) is re-solved from
    the previous basis (dual simplex, a few pivots) instead of from scratch; any other LP
    starts a new model. A warm run that is not optimal is repeated cold by ``solve_lp``
    (with its presolve-off retry), so the answer never depends on the warm start."""

    def __init__(self) -> None:
        self.model: HighsModel | None = None
        self.lp: LinearProgram | None = None

    def extends(self, small: LinearProgram) -> bool:
        held = self.lp
        if held is None or small.num_col != held.num_col or small.num_row < held.num_row:
            return False
        m = held.num_row
        return bool(np.array_equal(small.row_lower[:m], held.row_lower)
                    and np.array_equal(small.row_upper[:m], held.row_upper)
                    and (small.A.tocsr()[:m] != held.A.tocsr()).nnz == 0)

    def __call__(self, small: LinearProgram) -> LPSolution:
        if self.model is not None and self.lp is not None and self.extends(small):
            held, model = self.lp, self.model
            if not np.array_equal(small.cost, held.cost) or small.maximize != held.maximize:
                model.set_objective(small.cost, small.maximize, small.offset)
            moved = np.flatnonzero((small.col_lower != held.col_lower) | (small.col_upper != held.col_upper))
            if moved.shape[0]:
                model.set_cols_bounds(moved, small.col_lower[moved], small.col_upper[moved])
            if small.num_row > held.num_row:
                m = held.num_row
                model.add_rows(small.row_lower[m:], small.row_upper[m:], small.A.tocsr()[m:])
        else:
            self.model = HighsModel(small, "simplex", 1)
            # HiGHS's presolve took 0.75 s on small LPs the simplex solves in 0.01 s (1e4 regions:
            # 2,000 rows, cuts that share columns); a refused answer is re-solved cold with it
            self.model.set_option("presolve", "off")
        self.lp = small
        sol = self.model.run()
        if sol.status != "optimal":
            self.model = self.lp = None
            sol = solve_lp(small)[0]
        return sol


def group_leximin_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram]) -> Run | None:
    """The leximin Run of a hard round with policy and group rows, or None (the LP stages)."""
    t0 = time.perf_counter()
    lp = build(data, "leximin")
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    found = group_leximin(lp, lay, data, WarmSmallLP())
    if found is None:
        return None
    first, second, info = found
    return Run(first, second, lay, build_seconds, info)
