"""A certified closed-form or decomposition point as the ``LPSolution`` of the LP of record,
so the drivers report it exactly as they report a HiGHS solve."""

from __future__ import annotations

import numpy as np

from models.lp import LinearProgram
from optimizer.core.solution import LPSolution


def closed_form_solution(lp: LinearProgram, x: np.ndarray, y: np.ndarray, objective: float,
                         seconds: float) -> LPSolution:
    """A primal-dual pair (x, y) certified by ``optimizer.fast.certify``, with the reduced
    costs in HiGHS's convention."""
    col_dual = lp.cost - lp.A.T @ y
    return LPSolution(status="optimal", objective=objective, x=x, row_activity=lp.A @ x, row_dual=y,
                      col_dual=col_dual, seconds=seconds, iterations=0, algorithm="water-filling")


def decomposition_solution(lp: LinearProgram, lay: dict[str, slice], x: np.ndarray, objective: float,
                           budget_dual: float, seconds: float) -> LPSolution:
    """The certified point as a solution of the LP of record: the budget's dual is the exact
    d objective / d budget; threshold (and reduced-cost) duals are not unique inside tied
    blocks and are not computed (NaN, empty in allocation.csv)."""
    y = np.zeros(lp.num_row)
    y[lay["rows:budget"]] = budget_dual
    if "rows:threshold" in lay:
        y[lay["rows:threshold"]] = np.nan
    return LPSolution(status="optimal", objective=objective, x=x, row_activity=lp.A @ x, row_dual=y,
                      col_dual=np.full(lp.num_col, np.nan), seconds=seconds, iterations=0,
                      algorithm="threshold decomposition")
