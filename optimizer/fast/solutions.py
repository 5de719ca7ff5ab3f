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


def core_solution(t: np.ndarray, need: np.ndarray, objective: float, budget_dual: float, seconds: float,
                  shortfall: np.ndarray | None = None) -> tuple[LPSolution, dict[str, slice]]:
    """A certified decomposition point checked on the LP of record's rows without building
    it (optimizer/fast/record_check.py), reported on the core's columns and rows only
    (transfers and, soft, the least shortfalls; budget, thresholds): all the report reads.
    The budget's dual is the exact d objective / d budget; threshold (and reduced-cost)
    duals are not unique inside tied blocks and are not computed (NaN, empty in
    allocation.csv); the threshold rows' activity is T_r / need_r (+ s_r)."""
    n = t.size
    y = np.concatenate([[budget_dual], np.full(n, np.nan)])
    layout = {"transfer": slice(0, n), "rows:budget": slice(0, 1), "rows:threshold": slice(1, n + 1)}
    act = np.concatenate([[float(t.sum())], t / need])
    x = t
    if shortfall is not None:
        layout["shortfall"] = slice(n, 2 * n)
        x, act[1:] = np.concatenate([t, shortfall]), act[1:] + shortfall
    return LPSolution(status="optimal", objective=objective, x=x, row_activity=act, row_dual=y,
                      col_dual=np.full(x.size, np.nan), seconds=seconds, iterations=0,
                      algorithm="threshold decomposition"), layout
