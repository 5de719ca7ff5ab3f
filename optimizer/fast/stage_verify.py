"""The verification LP of a group leximin stage (optimizer/fast/group_leximin.py): which free
regions every optimum of the stage holds at their certified level, proved on the group-floor
small LP (optimizer/fast/group_floors.py) where the certified duals alone prove too little.

Notation of group_floors.py: members P (the group rows' regions), the other regions in segments
s, a non-member q's least level max(z, M_q, m_q) with m_q the highest level of the members linked
to its segment (the top member group below it; 0 members without the chain). The stage's LP of
record has optimum z*; its optimal face F is every feasible point with every free level >= z*.

Claim 1 (a relaxation). z, the certified point's least free level, is <= z* when that point is
feasible (it is built exactly on its bounds and the budget; certify checks it on the record). Map
x' in F to (z, L'_P, e'_s = sum_{q in s} n_q L'_q): every row of the small LP holds (L'_p >= z*
>= z; the group rows and the budget are the record's rows; e'_s >= F_s(.) at z, and every
tangent is below F_s). So the small LP with z held at z and any subset of its tangents (the cut
loop's) contains the image of F, and a bound on its maximum of sum_{p in Q} L_p bounds that sum
over F.

Claim 2 (members). Weak duality gives that bound from ANY row multipliers y of the small LP
(min c'x: c'x = y'Ax + d'x >= sum_i min(y_i L_i, y_i U_i) + sum_j min(d_j l_j, d_j u_j),
d = c - A'y, a column's infinite side replaced by what the budget row implies: positive budget
coefficients, finite lower bounds), less a float-rounding margin (``weak_bound``): HiGHS's
tolerance enters only the tightness, not the validity (its duals, with one least-squares step
that zeroes the reduced costs of the columns inside their bounds: ``refined``). Let Q be the
members at their least level lo_p (max(z, M_p) free, M_p fixed). If V >= max over F of
sum_Q L_p and R = V - sum_Q lo_p, then for every x' in F and p in Q:
L'_p <= V - sum_{Q - p} lo_q = R + lo_p = R + level_p (each L'_q >= lo_q). So R <= LEVEL_TOL / 2
proves every member of Q within LEVEL_TOL / 2 of its level in every optimum. When R is larger,
the maximiser's members that rose leave Q (they may rise: not proved) and the LP is solved
again (at most VERIFY_ROUNDS times). Every member also gets the cruder bound
L'_p <= V_all - sum_{q != p} lo_q from one LP maximising all members' levels.

Claim 3 (non-members). Let S be a lower bound (weak duality again) on the least spending
sum_P n_p L_p + sum_s e_s of the relaxed small LP and B its budget. For x' in F, lowering every
non-member to its least level given (z, L'_P) gives a point of the relaxed LP (group_floors.py's
reduction), so S <= spending(x') - n_q (L'_q - least'_q) <= B - n_q (L'_q - least'_q), with
least'_q = max(z, M_q, m'_q) <= max(level_q, top_s), top_s the largest member bound of its
segment's links. Upper side: L'_q <= max(level_q, top_s) + (B - S) / n_q. Lower side: L'_q >=
max(z*, M_q) >= max(z, M_q) = level_q when q is not lifted by a member below it; when it is
(level_q = m_q), L'_q >= m'_q >= max of its linked members' lo = their level if they are all at
their least. A free non-member is proved when its lower side holds, top_s <= level_q +
LEVEL_TOL / 2 and (B - S) / n_q <= LEVEL_TOL / 2: every optimum holds it within LEVEL_TOL of its
level, the rule group_leximin.py fixes by. When the budget has room at z (B - S large: the floor
is held by something other than the budget) no non-member is proved and the stage keeps what
the certified duals prove.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import lsqr

from models.lp import LinearProgram
from optimizer.fast.group_cuts import SolveLP, cut_loop, with_cuts
from optimizer.fast.group_floors import GroupPoint, least_spending_stage

VERIFY_ROUNDS = 4
REFINE_STEPS = 1      # least-squares steps on the duals before the weak bound (``refined``)
ROUNDING = 64 * 2.0 ** -52      # float rounding margin of a weak-duality sum, relative to its terms


def weak_bound(lp: LinearProgram, y: np.ndarray, budget: int) -> float:
    """A lower bound on min c'x over ``lp``'s feasible set from any row multipliers ``y``
    (HiGHS's convention: d = c - A'y), columns with an infinite upper bound bounded by row
    ``budget`` (``implied_upper``); -inf when no bound follows. Summed in extended precision
    (unit u = 2^-63 on x86): d_j is the exact reduced cost of a cost off by at most
    (nnz_j + 1) u (|c_j| + (|A|'|y|)_j), which the bound pays times the column's widest side;
    each product and the sum add (terms + 2) u of the terms' absolute sum."""
    A = lp.A.tocsr()
    ld = np.longdouble
    unit = float(np.finfo(ld).eps)
    yl = y.astype(ld)
    d = lp.cost.astype(ld) - A.T.astype(ld) @ yl
    lo, hi = lp.col_lower, implied_upper(lp, A, budget)
    rl, ru = lp.row_lower, lp.row_upper
    rows = np.where(yl > 0, yl * np.where(yl > 0, rl, 0.0), np.where(yl < 0, yl * np.where(yl < 0, ru, 0.0), 0.0))
    cols = np.where(d > 0, d * np.where(d > 0, lo, 0.0), np.where(d < 0, d * np.where(d < 0, hi, 0.0), 0.0))
    terms = np.r_[rows, cols]
    if not np.all(np.isfinite(terms.astype(float))):
        return -np.inf
    size = np.abs(lp.cost) + abs(lp.A).T @ np.abs(y)
    wide = np.maximum(np.abs(np.where(np.isfinite(lo), lo, 0.0)), np.abs(np.where(np.isfinite(hi), hi, 0.0)))
    err = float(((np.diff(lp.A.tocsc().indptr) + 1.0) * unit * size) @ wide)
    err += (terms.shape[0] + 2) * unit * float(np.abs(terms).sum())
    return float(terms.sum()) - 2.0 * err


def implied_upper(lp: LinearProgram, A, budget: int) -> np.ndarray:
    """Column upper bounds, the infinite ones replaced by row ``budget``'s where it has a
    positive coefficient (every coefficient >= 0, finite lower bounds where positive: x_j <= l_j
    + (U - sum a l) / a_j), inflated by the rounding margin."""
    hi = lp.col_upper.copy()
    row = A[budget:budget + 1].toarray().ravel()
    on = row > 0
    if not (np.all(row >= 0) and np.all(np.isfinite(lp.col_lower[on])) and np.isfinite(lp.row_upper[budget])):
        return hi
    spare = float(lp.row_upper[budget] - row[on] @ lp.col_lower[on])
    implied = lp.col_lower[on] + max(spare, 0.0) / row[on]
    implied = implied + ROUNDING * row.shape[0] * (np.abs(implied) + abs(float(lp.row_upper[budget])) / row[on])
    hi[on] = np.minimum(hi[on], implied)
    return hi


def held_at(small: LinearProgram, zv: float, cost: np.ndarray) -> LinearProgram:
    """``small`` with z held at zv and the cost ``cost`` (minimised)."""
    return LinearProgram(cost=cost, col_lower=np.r_[zv, small.col_lower[1:]], col_upper=np.r_[zv, small.col_upper[1:]],
                         A=small.A, row_lower=small.row_lower, row_upper=small.row_upper)


def bounded(lp: LinearProgram, gp: GroupPoint, solve: SolveLP, budget: int) -> tuple[float, np.ndarray] | None:
    """(a rigorous lower bound on min of ``lp`` with the cuts, the cut loop's point), or None."""
    sol = cut_loop(lp, gp.red, gp.cuts, solve)
    if sol is None:
        return None
    full = with_cuts(lp, gp.cuts)
    y, best = sol.row_dual, weak_bound(full, sol.row_dual, budget)
    for _ in range(REFINE_STEPS):
        y = refined(full, sol.x, y)
        best = max(best, weak_bound(full, y, budget))
    return best, sol.x


def refined(lp: LinearProgram, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y`` with one least-squares step that zeroes the reduced costs of the columns strictly
    inside their bounds (HiGHS leaves them at its dual tolerance, 1e-9, which the weak bound
    pays times the column's width); only rows with a non-zero dual move. Any multipliers give a
    valid weak bound, so this step can only tighten it."""
    inside = (x - lp.col_lower > 1e-9 * np.maximum(1.0, np.abs(x))) & \
        (lp.col_upper - x > 1e-9 * np.maximum(1.0, np.abs(x)))
    act = np.flatnonzero(y != 0)
    if not inside.any() or act.shape[0] == 0:
        return y
    A = lp.A.tocsr()
    d = lp.cost - A.T @ y
    sub = A[act][:, np.flatnonzero(inside)]
    step = lsqr(sub.T, d[inside], atol=1e-16, btol=1e-16, iter_lim=4 * act.shape[0])[0]
    out = y.copy()
    out[act] += step
    return np.where(np.sign(out) == np.sign(y), out, 0.0)


def member_bounds(gp: GroupPoint, lo: np.ndarray, solve: SolveLP, budget: int, tol: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(per member: proved within ``tol`` above its level (Claim 2), an upper bound on its level
    over F): members at their least level lo by the rounds of Claim 2; every member also from
    one LP maximising all their levels, L'_p <= V - sum_{q != p} lo_q."""
    red, small, m = gp.red, gp.small, gp.red.members.shape[0]
    level = gp.level[red.members]
    q = level - lo <= tol / (4.0 * max(m, 1))      # at their least level
    ub = np.full(m, np.inf)
    found = bounded(held_at(small, gp.z, np.r_[0.0, -np.ones(m), np.zeros(small.num_col - 1 - m)]),
                    gp, solve, budget)
    if found is not None:
        ub = -found[0] - float(lo.sum()) + lo
    for _ in range(VERIFY_ROUNDS):
        if not q.any():
            break
        found = bounded(held_at(small, gp.z, np.r_[0.0, -q.astype(float), np.zeros(small.num_col - 1 - m)]),
                        gp, solve, budget)
        if found is None:
            break
        bound, xv = found
        rise = -bound - float(lo[q].sum())
        if rise <= tol:
            return q, np.where(q, np.minimum(ub, level + tol), ub)
        up = q & (xv[1:1 + m] - lo > min(tol, rise) / (2.0 * q.sum()))
        if not up.any():
            break
        q &= ~up
    return np.zeros(m, dtype=bool), ub


def verified(gp: GroupPoint, need: np.ndarray, M: np.ndarray, candidates: np.ndarray, solve: SolveLP,
             level_tol: float) -> np.ndarray:
    """The candidates (free regions) that every optimum of the stage holds within ``level_tol``
    of their certified level (module docstring); all False when nothing is proved."""
    out = np.zeros(candidates.shape[0], dtype=bool)
    cand = candidates & gp.free
    if not cand.any():
        return out
    red, small, P = gp.red, gp.small, gp.red.members
    m, budget, half = P.shape[0], gp.small.num_row - 1, level_tol / 2
    lo = np.maximum(small.col_lower[1:1 + m], np.where(red.free[P], gp.z, -np.inf))
    ok, ub = member_bounds(gp, lo, solve, budget, half)
    out[P[ok]] = True
    least = bounded(least_spending_stage(small, red, gp.z, need), gp, solve, budget)
    if least is None:
        return out & cand
    spare = max(0.0, float(small.row_upper[budget]) - least[0])
    at_lo = gp.level[P] <= lo
    for s, regions in enumerate(red.seg_regions):
        links = red.links[s]
        if regions.shape[0] == 0 or not red.has_z[s]:
            continue
        level = gp.level[regions]
        top = float(ub[links].max()) if links.shape[0] else -np.inf
        own = level <= np.maximum(gp.z, M[regions])          # not lifted by a member below
        lifted_ok = bool(links.shape[0]) and bool(at_lo[links].all())
        out[regions] = (own | lifted_ok) & (top <= level + half) & (spare <= need[regions] * half)
    return out & cand
