"""Optimality certificate for a primal-dual pair of a ``LinearProgram``.

For  min c'x  s.t.  L <= Ax <= U,  l <= x <= u  (a max problem is checked as min -c'x),
a pair (x, y) is optimal when x is primal feasible, the reduced costs d = c - A'y have the
right signs at each bound (d_j > 0 only at l_j, d_j < 0 only at u_j, 0 for free or interior
columns) and each row dual is consistent with the active side (y_i > 0 only at L_i, y_i < 0
only at U_i). Checked with tolerances relative to the data. Used to accept a closed-form
answer as the LP's optimum without running the simplex method.

A wrong sign of d_j is accepted up to tol * max(1, max|c|) (absolute, in the cost's units) or
up to RELATIVE * m_j with m_j = |c_j| + sum_i |A_ij| |y_i|, the magnitude of the terms whose
sum d_j is (relative to the column). Why the second is still a certificate: with
|d_j error| <= RELATIVE m_j, the pair is exactly optimal for the LP whose column j entries
A_ij are multiplied by (1 + theta_ij), |theta_ij| <= RELATIVE (choose theta_ij with the sign
of y_i d_j to absorb d_j); that perturbation moves each row activity by at most RELATIVE
|A||x|, far inside the primal tolerance, and the objective bound by at most
sum_j |d_j| |x_j - x'_j| over feasible x'. So the answer is optimal for data that differ from
the record's by one part in 10^9, below the precision the amounts are given in. The absolute
test alone fails on long chains (no-overtaking rows have coefficients 1/need and their duals
are running sums of need: a reduced cost of order 1 is the difference of terms of order
sum(need)/need, and float64 rounding of those terms is of order 1e-16 times that, 4.3e-6
at 1e6 regions), while a genuinely wrong dual leaves a violation of the order of the terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.lp import LinearProgram


@dataclass(frozen=True)
class Certificate:
    ok: bool
    primal_violation: float
    dual_violation: float


RELATIVE = 1e-9
TOL = 1e-7       # certify's default tolerance (primal, relative to max(1, |x|); dual, to max(1, |c|))


def certify(lp: LinearProgram, x: np.ndarray, y: np.ndarray, tol: float = TOL) -> Certificate:
    sign = -1.0 if lp.maximize else 1.0
    c = sign * lp.cost
    yy = sign * y   # HiGHS reports duals of the original sense; make them those of min sign*c
    ax = lp.A @ x
    primal = primal_violation(lp, x, ax)
    d = c - lp.A.T @ yy
    # an infinite bound is never active: |x - inf| <= tol * inf would hold and accept any
    # reduced cost on a column (or dual on a row) that has no such bound
    at_lo_col = at_bound(x, lp.col_lower, tol)
    at_up_col = at_bound(x, lp.col_upper, tol)
    at_lo_row = at_bound(ax, lp.row_lower, tol)
    at_up_row = at_bound(ax, lp.row_upper, tol)
    scale_d = max(1.0, float(np.max(np.abs(c), initial=0.0)))
    # a positive reduced cost needs x at its lower bound, a negative one at its upper bound
    dual_col = np.where(d > 0, np.where(at_lo_col, 0.0, d), np.where(at_up_col, 0.0, -d))
    dual_row = np.where(yy > 0, np.where(at_lo_row, 0.0, yy), np.where(at_up_row, 0.0, -yy))
    # per column, the violation over max(scale_d, (RELATIVE / tol) m_j): <= tol exactly when it
    # is within tol scale_d or within RELATIVE m_j (the module docstring)
    magnitude = np.abs(c) + abs(lp.A).T @ np.abs(yy)
    col_scale = np.maximum(scale_d, (RELATIVE / tol) * magnitude)
    dual = max(float(np.max(dual_col / col_scale, initial=0.0)),
               float(np.max(dual_row, initial=0.0)) / scale_d)
    # + 0.0: a violation of -0.0 (numpy's max of -0.0 terms) is reported as 0.0
    ok = primal <= tol and dual <= tol and row_violation(lp, x, ax) <= tol
    return Certificate(ok, primal + 0.0, dual + 0.0)


def primal_violation(lp: LinearProgram, x: np.ndarray, ax: np.ndarray | None = None) -> float:
    """The most ``x`` breaks a row or column bound, over max(1, |x|_inf): certify's primal
    part, alone (a point that fails it fails every dual: no need to build one)."""
    ax = lp.A @ x if ax is None else ax
    scale_x = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    return max(
        float(np.max(lp.row_lower - ax, initial=0.0)),
        float(np.max(ax - lp.row_upper, initial=0.0)),
        float(np.max(lp.col_lower - x, initial=0.0)),
        float(np.max(x - lp.col_upper, initial=0.0)),
    ) / scale_x


def row_violation(lp: LinearProgram, x: np.ndarray, ax: np.ndarray) -> float:
    """The most ``x`` breaks a row, each over max(1, min(|x|_inf, sum_j |A_ij x_j|)): a row in
    level units (a group floor, 1/N_g per transfer) broken by 0.23 in level is 6e-8 of
    transfers of 4e8 solver units, within the primal measure (edge seed 2105); over its own
    terms (the scale of its rounding) it is 0.23. Part of the verdict, not of the number."""
    scale_x = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    scale = np.maximum(1.0, np.minimum(scale_x, abs(lp.A) @ np.abs(x)))
    return float(np.max(np.maximum(lp.row_lower - ax, ax - lp.row_upper) / scale, initial=0.0))


def at_bound(value: np.ndarray, bound: np.ndarray, tol: float) -> np.ndarray:
    """Where ``value`` sits at a finite ``bound``, within tol relative to the bound."""
    finite = np.isfinite(bound)
    if not finite.any():   # no bound at all (max_transfer, as a rule): nothing sits at one
        return np.zeros(np.broadcast_shapes(np.shape(value), finite.shape), dtype=bool)
    safe = np.where(finite, bound, 0.0)
    return finite & (np.abs(value - safe) <= tol * np.maximum(1.0, np.abs(safe)))
