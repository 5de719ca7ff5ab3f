"""The max-min LP of record on the hard bare core as vectors: its certificate checked without
building it (optimizer/fast/fastpath.py, maxmin and leximin by water-filling).

The LP (models/core.py + models/core_objectives.py ``maxmin_arrays``, hard thresholds, no
policy rows), columns T_1..T_n then z, rows budget, thresholds, floor rows:

    max z   s.t.  sum_r T_r <= B                               (budget)
                  inv_r T_r >= theta_r - own_r inv_r           (threshold r, inv_r = 1 / need_r)
                  inv_r T_r - z >= -own_r / need_r             (floor row r)
                  t_min_r <= T_r <= t_max_r,  z free

Building it costs more than the water-filling at 1e6 regions (a 2n x (n+1) CSC matrix of 4n
entries, ~0.5 s and ~200 MB). Each column of A has at most three entries and the z column is
all -1, so A x, A'y and |A|'|y| are a few vector operations. They are written to round
exactly as scipy's sparse products on the built LP do (CSC A x: each row's terms added in
column order from 0.0; CSR A'y: each column's terms in row order from 0.0; the long sums,
budget row and z column, sequential), so ``certify_floor`` returns the very numbers
``optimizer.fast.certify.certify`` returns on the built LP (summary.json keeps its bytes);
tests/test_floor_record.py checks both, bit for bit, against the built LP on random
instances and on wrong answers, so a change of the formulation that this module misses
fails there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.data import RegionData
from optimizer.core.solution import LPSolution
from optimizer.fast.certify import RELATIVE, Certificate, at_bound


def sequential_sum(v: np.ndarray) -> float:
    """0.0 + v_0 + v_1 + ... in that order (a sparse product's long row or column), not
    numpy's pairwise sum; never -0.0, as a sum started from 0.0."""
    return float(np.cumsum(v)[-1]) + 0.0 if v.size else 0.0


@dataclass(frozen=True)
class FloorRecord:
    """The hard max-min LP of record of ``d`` without its matrix."""
    d: RegionData
    inv: np.ndarray            # 1 / need: the coefficient of T_r in its threshold and floor rows
    threshold_lower: np.ndarray
    floor_lower: np.ndarray

    @property
    def n(self) -> int:
        return self.d.n

    @property
    def num_col(self) -> int:
        return self.n + 1

    @property
    def num_row(self) -> int:
        return 2 * self.n + 1

    def layout(self) -> dict[str, slice]:
        """As ``LinearProgram.layout`` of the built LP."""
        n = self.n
        return {"transfer": slice(0, n), "floor": slice(n, n + 1), "rows:budget": slice(0, 1),
                "rows:threshold": slice(1, n + 1), "rows:floor_rows": slice(n + 1, 2 * n + 1)}

    def cost(self) -> np.ndarray:
        return np.concatenate([np.zeros(self.n), [1.0]])

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(col_lower, col_upper, row_lower, row_upper) as the built LP's."""
        d = self.d
        col_lower = np.concatenate([d.t_min, [-np.inf]])
        col_upper = np.concatenate([d.t_max, [np.inf]])
        row_lower = np.concatenate([[-np.inf], self.threshold_lower, self.floor_lower])
        row_upper = np.concatenate([[float(d.budget)], np.full(2 * self.n, np.inf)])
        return col_lower, col_upper, row_lower, row_upper

    def activity(self, x: np.ndarray) -> np.ndarray:
        """A x: budget, thresholds, floor rows."""
        t, z = x[:self.n], float(x[self.n])
        tt = 0.0 + self.inv * t
        return np.concatenate([[sequential_sum(t)], tt, tt + (-1.0 * z)])

    def transpose_times(self, y: np.ndarray, absolute: bool = False) -> np.ndarray:
        """A'y (``absolute``: |A|'|y|): per transfer 1 y_budget + inv_r y_threshold_r +
        inv_r y_floor_r, for z the sum of -y_floor_r."""
        n = self.n
        if absolute:
            y = np.abs(y)
        yb, yt, yf = float(y[0]), y[1:n + 1], y[n + 1:]
        col_t = (0.0 + 1.0 * yb) + self.inv * yt + self.inv * yf
        col_z = sequential_sum(yf if absolute else -1.0 * yf)
        return np.concatenate([col_t, [col_z]])

    def col_dual(self, y: np.ndarray) -> np.ndarray:
        """The reduced costs in HiGHS's convention, cost - A'y."""
        return self.cost() - self.transpose_times(y)


def floor_record(d: RegionData) -> FloorRecord:
    """The record of ``d``'s hard max-min LP (thresholds hard whatever ``d.options`` say)."""
    inv = 1.0 / d.need
    return FloorRecord(d, inv, d.threshold - d.own * inv, -d.own / d.need)


def certify_floor(rec: FloorRecord, x: np.ndarray, y: np.ndarray, tol: float = 1e-7) -> Certificate:
    """``certify(build_lp(hard d, "maxmin"), x, y, tol)`` without the LP: the same measures
    (optimizer/fast/certify.py explains them), each row and column family on its own. Every
    measure is a maximum, so taking it family by family gives the same number; a point or a
    dual with a non-finite entry is refused (never certified on the built LP either)."""
    n, d = rec.n, rec.d
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return Certificate(False, float("nan"), float("nan"))
    t, z = x[:n], float(x[n])
    ax_b = sequential_sum(t)
    ax_t = 0.0 + rec.inv * t                 # threshold rows
    ax_f = ax_t + (-1.0 * z)                 # floor rows
    scale_x = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    primal = max(_most(rec.threshold_lower - ax_t, rec.floor_lower - ax_f), _most(ax_b - float(d.budget)),
                 _most(d.t_min - t), _most(t - d.t_max)) / scale_x
    yy = -1.0 * y                            # the max problem checked as min -z: c = (-0.0, ..., -1.0)
    yb, yt, yf = float(yy[0]), yy[1:n + 1], yy[n + 1:]
    d_t = -0.0 - ((0.0 + 1.0 * yb) + rec.inv * yt + rec.inv * yf)
    d_z = -1.0 - sequential_sum(-1.0 * yf)
    lo, up = at_bound(t, d.t_min, tol), at_bound(t, d.t_max, tol)
    dual_t = np.where(d_t > 0, np.where(lo, 0.0, d_t), np.where(up, 0.0, -d_t))
    dual_z = d_z if d_z > 0 else -d_z        # z is free: no bound is ever active
    ratio = RELATIVE / tol
    magnitude_t = 0.0 + ((0.0 + 1.0 * abs(yb)) + rec.inv * np.abs(yt) + rec.inv * np.abs(yf))
    magnitude_z = 1.0 + sequential_sum(np.abs(yf))
    col = _most(dual_t / np.maximum(1.0, ratio * magnitude_t), np.array([dual_z / max(1.0, ratio * magnitude_z)]))
    at_budget = bool(at_bound(np.array([ax_b]), np.array([float(d.budget)]), tol)[0])
    row_b = yb if yb > 0 else (0.0 if at_budget else -yb)
    row = _most(np.array([row_b]),
                np.where(yt > 0, np.where(at_bound(ax_t, rec.threshold_lower, tol), 0.0, yt), -yt),
                np.where(yf > 0, np.where(at_bound(ax_f, rec.floor_lower, tol), 0.0, yf), -yf))
    dual = max(col, row / 1.0)
    # certify's row_violation: each row over max(1, min(|x|_inf, its terms' magnitude))
    size_t = np.abs(rec.inv * t)
    rows = _most((rec.threshold_lower - ax_t) / np.maximum(1.0, np.minimum(scale_x, size_t)),
                 (rec.floor_lower - ax_f) / np.maximum(1.0, np.minimum(scale_x, size_t + abs(z))),
                 (ax_b - float(d.budget)) / max(1.0, min(scale_x, float(np.abs(t).sum()))))
    return Certificate(primal <= tol and dual <= tol and rows <= tol, primal + 0.0, dual + 0.0)


def _most(*parts: np.ndarray | float) -> float:
    """The largest entry of the parts, at least 0.0 (certify's ``np.max(..., initial=0.0)``)."""
    return max(float(np.max(p, initial=0.0)) for p in parts)


def floor_solution(rec: FloorRecord, x: np.ndarray, y: np.ndarray, objective: float, seconds: float) -> LPSolution:
    """``optimizer.fast.solutions.closed_form_solution`` on the record: the same arrays."""
    return LPSolution(status="optimal", objective=objective, x=x, row_activity=rec.activity(x), row_dual=y,
                      col_dual=rec.col_dual(y), seconds=seconds, iterations=0, algorithm="water-filling")
