"""The max-mean value of a round whose group rows bind (the price of fairness's reference), by
Dantzig-Wolfe decomposition over the layers of optimizer/fast/policy_mean.py, with a
primal-dual bracket instead of the max-mean LP with group rows.

    mu* = max w'L  s.t.  L in X,   lo_i <= a_i'L <= hi_i   (i in the coupling rows)

X: the bounds M_r <= L_r <= U_r and the no-overtaking chain (policy_mean's layers, U capped
by the budget's implied bound, so X is a polytope and max c'L over X is exact and fast for
any c: ``ChainMean.best``). The coupling rows are the budget and the group rows (group-level
floors sum_{r in G} (o_r + T_r) / sum_{r in G} n_r >= lambda_G, group-transfer bounds), read
from the LP of record itself: a row lo <= sum_r A_r T_r <= hi with T_r = n_r L_r - o_r is
a'L in [lo + A'o, hi + A'o] with a_r = A_r n_r.

Upper bound (weak duality). For prices y with y_i > 0 only where hi_i is finite and y_i < 0
only where lo_i is finite, let b_i = hi_i (y_i > 0) or lo_i (y_i < 0); every feasible L has
y_i (a_i'L - b_i) <= 0, so

    mu* <= D(y) = max_{L in X} (w - A'y)'L + y'b.

Lower bound. The master LP maximises sum_j theta_j w'L^j over convex combinations of the
oracle's points L^j (theta >= 0, sum theta = 1) subject to the coupling rows. Its first
columns: every vertex the budget's bracket met, the least levels M and, when it meets every
row, the seed (the round's allocation), which makes the master feasible from the first step;
without it, slack columns at a large penalty do. A combination with zero slack lies in X
(convex) and meets every coupling row: its mean is <= mu*. The master's row duals are
the next prices y; the oracle at y gives D(y) and the next column (the column of largest
reduced cost, so the master improves until D(y) meets it: column generation ends in finitely
many steps as X has finitely many vertices; the prices are smoothed toward the best ones met,
which halves the number of steps). Accepted when the point's mean is within GAP_TOL
of the least D met and the point meets every row of the max-mean LP of record (certify's
primal check); else None (the caller solves the LP). The master LP is solved by ``solve``,
supplied by the engine (optimizer.fast does not import the solver).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import LPSolution
from optimizer.fast.policy_mean import GAP_TOL, ChainMean, budget_bracket, mean_round, value_at

GROUP_ROWS = ("group_level", "group_transfer")
MAX_ROUNDS = 300
PENALTY = 1e6          # per unit of a scaled coupling row's slack, times the objective's scale
SLACK_TOL = 1e-12
# the master's rows (scaled to 1) are widened by this much: a seed that meets them to float
# rounding (1 - 3e-11) stays feasible for HiGHS at the master's tolerance (1e-10); the point
# is pulled back within the budget (``_within_budget``) and checked on the LP of record
ROW_SLACK = 1e-10
SMOOTH = 0.5            # Wentges smoothing of the prices toward the best ones met
SolveLP = Callable[[LinearProgram], LPSolution]


class Coupling:
    """The coupling rows in levels: a (k x n, CSR), their bounds and a scale per row."""

    def __init__(self, lp: LinearProgram, lay: dict[str, slice], d: RegionData, names: list[str]) -> None:
        idx = np.concatenate([np.arange(lp.num_row)[lay["rows:" + nm]] for nm in names])
        rows = sp.csr_array(lp.A)[idx]
        t = lay["transfer"]
        on_t = rows[:, t]
        self.ok = abs(rows).sum() == abs(on_t).sum()          # no entry off the transfer columns
        shift = on_t @ d.own
        self.a = sp.csr_array(on_t @ sp.diags_array(d.need))
        self.lo, self.hi = lp.row_lower[idx] + shift, lp.row_upper[idx] + shift
        lo_abs = np.abs(np.where(np.isfinite(self.lo), self.lo, 0.0))
        hi_abs = np.abs(np.where(np.isfinite(self.hi), self.hi, 0.0))
        self.scale = np.maximum(np.maximum(lo_abs, hi_abs), 1e-12)

    def prices(self, dual: np.ndarray) -> np.ndarray:
        """The master's scaled row duals as prices y, of the sign the finite bounds allow."""
        y = dual / self.scale
        return np.where(y > 0, np.where(np.isfinite(self.hi), y, 0.0), np.where(np.isfinite(self.lo), y, 0.0))

    def bound(self, y: np.ndarray) -> float:
        return float(np.dot(y, np.where(y > 0, np.where(np.isfinite(self.hi), self.hi, 0.0),
                                        np.where(np.isfinite(self.lo), self.lo, 0.0))))


class Master:
    """The restricted master LP over the columns found so far."""

    def __init__(self, cm: ChainMean, rows: Coupling) -> None:
        self.cm, self.rows = cm, rows
        self.slacks = True      # off once a column meets every row: the master is then feasible
        self.levels: list[np.ndarray] = []
        self.acts: list[np.ndarray] = []
        self.means: list[float] = []

    def add(self, level: np.ndarray) -> None:
        self.levels.append(level)
        self.acts.append(self.rows.a @ level / self.rows.scale)
        self.means.append(float(np.dot(self.cm.w, level)))

    def lp(self) -> LinearProgram:
        """max sum_j theta_j mean_j - P (s+ + s-)  s.t.  lo <= sum_j theta_j act_j + s- - s+ <= hi
        (scaled), sum_j theta_j = 1, theta, s >= 0."""
        m, k = len(self.levels), self.rows.lo.shape[0]
        ns = 2 * k if self.slacks else 0
        scale = max(1.0, float(np.max(np.abs(self.means))))
        eye = np.eye(k)
        top = np.hstack([np.column_stack(self.acts), eye, -eye][:3 if self.slacks else 1])
        A = sp.csc_array(np.vstack([top, np.r_[np.ones(m), np.zeros(ns)][None, :]]))
        s = self.rows.scale
        widen = ROW_SLACK
        return LinearProgram(np.r_[self.means, np.full(ns, -PENALTY * scale)], np.zeros(m + ns),
                             np.full(m + ns, np.inf), A, np.r_[self.rows.lo / s - widen, 1.0],
                             np.r_[self.rows.hi / s + widen, 1.0], maximize=True)

    def point(self, x: np.ndarray) -> tuple[np.ndarray, float] | None:
        """The weights of the combination the master chose and its mean (sum_j theta_j w'L^j,
        the levels are formed only for the answer); None while a slack is in use."""
        m = len(self.levels)
        if float(np.sum(x[m:])) > SLACK_TOL:
            return None
        theta = np.maximum(x[:m], 0.0)
        theta /= theta.sum()
        return theta, float(np.dot(theta, self.means))

    def level(self, theta: np.ndarray) -> np.ndarray:
        level = np.zeros_like(self.levels[0])
        for th, lv in zip(theta, self.levels):
            if th > 0:
                level += th * lv
        return level


def policy_max_mean(lp: LinearProgram, d: RegionData, hard: bool, solve: SolveLP,
                    seed: np.ndarray | None = None) -> float | None:
    """mu* of the max-mean LP ``lp`` of a round with policy rows, within GAP_TOL, or None (the
    caller solves the LP): the budget's bracket of optimizer/fast/policy_mean.py when its
    point meets every row, else (group rows bind) column generation seeded with its points
    and ``seed`` (levels, e.g. the round's allocation: used only if it meets every row, so
    the master is feasible from its first step and its slacks stay out)."""
    mr = mean_round(lp, d, hard)
    if mr is None:
        return None
    cm = mr.cm
    level, points = budget_bracket(cm, mr.budget, float(np.max(lp.cost[mr.lay["transfer"]], initial=0.0)))
    if level is not None:
        value = value_at(lp, mr, d, level)
        if value is not None:
            return value
    names = ["budget"] + [g for g in GROUP_ROWS if "rows:" + g in mr.lay]
    points = [p for p in points if np.isfinite(p.dual)]      # every vertex the bracket met
    if len(names) == 1 or not points:
        return None
    rows = Coupling(lp, mr.lay, d, names)
    if not rows.ok:
        return None
    master = Master(cm, rows)
    for p in points:
        master.add(p.level)
    master.add(cm.ly.M)                                   # the least levels: the cheapest point
    if seed is not None and seed.shape == (d.n,) and value_at(lp, mr, d, seed) is not None:
        master.add(seed)
        master.slacks = False
    best = min(points, key=lambda p: p.dual)                 # the center: the bracket's best price
    y0 = np.zeros(rows.lo.shape[0])
    y0[0] = best.lam * _budget_units(rows, d.need)
    level = _generate(master, solve, y0, best.dual)
    if level is None:
        return None
    return value_at(lp, mr, d, _within_budget(level, cm.ly.M, d.need, mr.budget))


def _within_budget(level: np.ndarray, cheap: np.ndarray, need: np.ndarray, budget: float) -> np.ndarray:
    """``level`` moved toward the least levels ``cheap`` (a convex combination: still in X)
    just far enough to spend at most ``budget``: the master meets its rows only to HiGHS's
    tolerance (1e-10 of the budget, more than the record's primal check allows in money).
    The other rows move by the same small fraction t of their gap to ``cheap``."""
    spend, least = float(np.dot(need, level)), float(np.dot(need, cheap))
    if spend <= budget or least >= budget:
        return level
    t = min(1.0, (spend - budget) / (spend - least) * (1 + 1e-6))
    return (1.0 - t) * level + t * cheap


def _budget_units(rows: Coupling, need: np.ndarray) -> float:
    """lambda (per unit of sum n_r L_r) in the budget row's units: its a_r = s n_r."""
    a = rows.a[[0]].toarray()[0]
    k = int(np.argmax(np.abs(a)))
    return float(need[k] / a[k]) if a[k] != 0 else 0.0


def _generate(master: Master, solve: SolveLP, center: np.ndarray, best_dual: float) -> np.ndarray | None:
    """Column generation, the prices smoothed toward the best ones met (Wentges): the
    oracle is asked at alpha y_best + (1 - alpha) y_master; when that column does not
    improve the master (a mispricing), at the master's prices themselves. Stops when the
    master's point is within GAP_TOL of the least dual bound."""
    cm, rows = master.cm, master.rows
    for _ in range(MAX_ROUNDS):
        sol = solve(master.lp())
        if sol.status != "optimal":
            return None
        point = master.point(sol.x)
        if point is not None and best_dual - point[1] <= GAP_TOL * max(1.0, abs(point[1])):
            return master.level(point[0])
        ym = rows.prices(sol.row_dual[:-1])
        column = None
        for y in (SMOOTH * center + (1 - SMOOTH) * ym, ym):
            found = cm.best(cm.w - rows.a.T @ y)
            if found is None:
                return None
            if found[1] + rows.bound(y) < best_dual:
                best_dual, center = found[1] + rows.bound(y), y
            reduced = float(np.dot(cm.w - rows.a.T @ ym, found[0])) + rows.bound(ym) - sol.objective
            if reduced > GAP_TOL * max(1.0, abs(sol.objective)):
                column = found[0]
                break
        if point is not None and best_dual - point[1] <= GAP_TOL * max(1.0, abs(point[1])):
            return master.level(point[0])
        if column is None:
            return None
        master.add(column)
    return None
