"""The exact vertex of a simplex basis (for the group leximin's small LPs,
optimizer/fast/group_leximin.py).

HiGHS returns a basis it accepts as optimal when its point meets every row to its tolerance
(1e-9 on the small LPs); the point itself is that tolerance off the vertex the basis names. On
the group-floor small LP a member the basis puts on a kink of a segment's cost (two tangent rows
nonbasic) comes back 1.7e-9 off it, and the segment's slope (up to 3e3) turns that into 1e-6 of
spending: at 1e5 stage 7 no region was provable from such a point (notes-grouplex3).

Given the statuses (HiGHS's codes: 0 at lower, 1 basic, 2 at upper, 3 free at zero, 4
nonbasic), the vertex is: each nonbasic column at its bound, each nonbasic row at its side,
and the basic columns solving A_N' x_B = side - A_N x_N on the nonbasic rows (square when the
basis is one: as many nonbasic rows as basic columns). ``swap`` makes one column basic and one
row nonbasic at its upper side first (the least-spending pass holds z by its bounds; with z basic
and the budget row on its side the vertex spends exactly the budget). One step of iterative
refinement with the residual summed in extended precision. The vertex is a candidate: the
caller certifies the point derived from it, so a singular or infeasible basis only costs the
attempt (None when the system is not square or not solved, or the vertex breaks a row or bound
by more than ``tol``, relative).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from models.lp import LinearProgram

LOWER, BASIC, UPPER, ZERO = 0, 1, 2, 3


def vertex(lp: LinearProgram, cols: np.ndarray, rows: np.ndarray, swap: tuple[int, int] | None = None,
           tol: float = 1e-9) -> np.ndarray | None:
    """The vertex of the basis (``cols``, ``rows``) of ``lp`` (module docstring), or None."""
    cols, rows = cols.copy(), rows.copy()
    if swap is not None:
        cols[swap[0]], rows[swap[1]] = BASIC, UPPER
    basic = np.flatnonzero(cols == BASIC)
    active = np.flatnonzero(rows != BASIC)
    if basic.shape[0] != active.shape[0]:
        return None
    x = np.where(cols == UPPER, lp.col_upper, np.where(cols == ZERO, 0.0, lp.col_lower))
    x[basic] = 0.0
    if not np.all(np.isfinite(np.delete(x, basic))):
        return None
    side = np.where(rows[active] == UPPER, lp.row_upper[active], lp.row_lower[active])
    if not np.all(np.isfinite(side)):
        return None
    A = sp.csr_array(lp.A)[active]
    AB = sp.csc_array(A[:, basic])
    try:
        lu = splu(AB)
    except RuntimeError:         # singular
        return None
    rhs = side - A @ x
    xb = lu.solve(rhs)
    res = rhs.astype(np.longdouble) - AB.astype(np.longdouble) @ xb.astype(np.longdouble)
    xb = xb + lu.solve(res.astype(float))
    x[basic] = xb
    return x if feasible(lp, x, tol) else None


def feasible(lp: LinearProgram, x: np.ndarray, tol: float) -> bool:
    ax = lp.A @ x
    scale = lambda v: tol * np.maximum(1.0, np.abs(np.where(np.isfinite(v), v, 0.0)))   # noqa: E731
    return bool(np.all(ax >= lp.row_lower - scale(lp.row_lower)) and np.all(ax <= lp.row_upper + scale(lp.row_upper))
                and np.all(x >= lp.col_lower - scale(lp.col_lower)) and np.all(x <= lp.col_upper + scale(lp.col_upper)))
