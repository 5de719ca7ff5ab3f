"""Max-min with policy rows and group rows that bind: a small LP over the group members,
the other regions at their cheapest levels, certified on the LP of record.

Notation as in optimizer/fast/policy_path.py (levels L_r, lower/upper envelopes M_r, U_r,
the level-before groups g(r) ranked ascending, the chain L_p <= L_q for g(p) < g(q)). The
group rows (group-level floors sum_{r in G}(o_r + T_r) >= lambda_G sum_{r in G} n_r,
group-transfer bounds) touch only the members P (a few hundred regions).

Reduction (exact). M is nondecreasing along the groups (M_q = max(A_q, max A below g(q)))
and U too. Fix z and the members' levels L_P, monotone along the groups, with z <= L_p,
M_p <= L_p <= U_p. Every other region q must have L_q >= z, >= M_q and >= L_p for each
member p with g(p) < g(q); so

    L_q = max(z, M_q, m_q),   m_q = max{L_p : p in P, g(p) < g(q)},

is the least level q can take, and it is feasible: L_q <= U_q because z <= min_q U_q (a
column bound of z), M_q <= U_q (the round is feasible) and L_p <= U_p <= U_q for a member
ranked below q; the chain holds between two such regions (each term is monotone in the
group) and between q and a member p' above it (L_p' >= z, M_p' >= M_q, L_p' >= m_q by the
members' chain). So the max-min LP of record equals the LP in (z, L_P, e_s):

    max z  s.t.  z <= L_p, members' chain, the group rows on L_P, M_p <= L_p <= U_p,
                 sum_p n_p L_p + sum_s e_s <= budget + sum_r o_r,
                 e_s >= F_s(z), e_s >= F_s(L_p) for the top members p below segment s,

where segment s holds the non-members with the same set of members below them and
F_s(t) = sum_{q in s} n_q max(t, M_q) is convex, piecewise linear and nondecreasing (so
F_s(max(a, b)) = max(F_s(a), F_s(b))). F_s enters through its tangents (at a point and
its neighbouring breakpoints), added when the solution violates one by more than HiGHS's
tolerance (Kelley's cutting planes: F_s has finitely many pieces, so the loop ends with a
solution of the exact LP to that tolerance). Then z is held at its optimum and the spending
minimised the same way: the least-spending max-min optimum, the maxmin tie-break. The
members' levels are put back exactly on the levels HiGHS reached only to its tolerance (their
bounds, the breakpoint M_q they stop at, the level of a tied member) before the other levels
are derived; the blocks of the certificate are read from those exact values.

Certificate. HiGHS's duals of the small LP give the budget's price beta and the group
rows' multipliers mu (the same rows as in the LP of record, shifted by constants). Each
region's demand in level units is delta_r = n_r (beta - sum_k a_kr mu_k) (a_kr the row's
coefficient on T_r): a unit of level costs n_r beta and earns the group rows. A region
with delta_r > 0 must be held from below, one with delta_r < 0 from above. Along a block
(the regions at one level, a run of consecutive groups) the demand is routed on the active
chain rows, top down: the representative (first member) of each group passes what comes
from above plus its own demand to the representative below; another member sends its
positive demand straight to the representative below and takes its negative demand from the
representative above. What reaches the bottom goes on the floor row (a region at z), the row
or column bound holding it from below, or (negative) from above. ``certify`` then checks the
whole pair on the LP of record; on any failure the caller solves the LP.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.levels import level_of
from optimizer.core.solution import LPSolution
from optimizer.fast.group_cuts import Reduced, SolveLP, cut_loop, first_cuts, segments, with_cuts
from optimizer.fast.group_duals import chain_rows_for, close, demand, record_duals, route
from optimizer.fast.policy_path import (
    Envelope,
    put_duals,
    solution_x,
    transfers_at,
)

GROUP_ROWS = ("group_level", "group_transfer")
SNAP = 1e-7
PRICE = 0.5       # priced_loop's weight on the spending, times the total need
SOLVED_BY = ("group floors: the members' levels by a small LP with the other regions at their least "
             "levels (convex pieces as cutting planes), certified optimal for the LP of record "
             "(optimizer/fast/group_floors.py)")




def group_row_slices(lay: dict[str, slice]) -> list[slice]:
    found = [lay.get("rows:" + k) for k in GROUP_ROWS]
    return [s for s in found if s is not None and s.stop > s.start]



@dataclass
class Rows:
    """Rows of the small LP as they are added (triplets and sides)."""
    rows: list = field(default_factory=list)
    cols: list = field(default_factory=list)
    vals: list = field(default_factory=list)
    lo: list = field(default_factory=list)
    hi: list = field(default_factory=list)

    def add(self, cols: list[int], vals: list[float], lo: float, hi: float) -> None:
        self.rows.extend([len(self.lo)] * len(cols))
        self.cols.extend(cols)
        self.vals.extend(vals)
        self.lo.append(float(lo))
        self.hi.append(float(hi))


def member_rows(out: Rows, red: Reduced, group: np.ndarray, chain: bool) -> None:
    """L_p - z >= 0 for every member; L_p <= L_p' between consecutive member groups (every
    pair; transitivity gives the rest)."""
    for i in np.flatnonzero(red.free[red.members]):
        out.add([0, 1 + int(i)], [-1.0, 1.0], 0.0, np.inf)
    if chain:
        mg = np.searchsorted(red.mgroups, group[red.members])
        for j in range(red.mgroups.shape[0] - 1):
            for a in np.flatnonzero(mg == j):
                for c in np.flatnonzero(mg == j + 1):
                    out.add([1 + int(a), 1 + int(c)], [1.0, -1.0], -np.inf, 0.0)


def record_rows_on_members(out: Rows, red: Reduced, lp: LinearProgram, lay: dict[str, slice], d: RegionData,
                           csr: sp.csr_array) -> np.ndarray | None:
    """The group rows and the budget of the LP of record in the small LP's columns (T_r =
    n_r L_r - o_r; the budget's non-members through their e_s; ``csr``: ``lp.A`` by rows).
    Returns the record rows of the group rows; None when a row has another shape."""
    t = lay["transfer"]
    record_rows = np.concatenate([np.arange(s.start, s.stop) for s in group_row_slices(lay)])
    pos = {int(r): i for i, r in enumerate(red.members)}
    for row in record_rows:
        sub = csr[int(row):int(row) + 1]
        cs = sub.indices - t.start
        if np.any(cs < 0) or np.any(cs >= d.n) or any(int(c) not in pos for c in cs):
            return None
        shift = float((sub.data * d.own[cs]).sum())
        out.add([1 + pos[int(c)] for c in cs], list(sub.data * d.need[cs]),
                lp.row_lower[row] + shift, lp.row_upper[row] + shift)
    b = lay["rows:budget"]
    brow = csr[b.start:b.start + 1]
    if b.stop - b.start != 1 or brow.nnz != d.n or np.any(brow.data != 1.0) or \
            np.any(np.sort(brow.indices) != np.arange(t.start, t.stop)):
        return None
    m, k, total = red.members.shape[0], len(red.seg_regions), float(d.own.sum())
    out.add(list(range(1, 1 + m + k)), list(d.need[red.members]) + [1.0] * k,
            lp.row_lower[b.start] + total, lp.row_upper[b.start] + total)
    return record_rows


def small_lp(red: Reduced, lp: LinearProgram, lay: dict[str, slice], d: RegionData, env: Envelope,
             z_max: float, csr: sp.csr_array) -> tuple[LinearProgram, np.ndarray] | None:
    """Columns [z, L_P, e_s]; rows: floors, members' chain, group rows, budget (the last;
    cuts come later). Returns it with the LP-of-record rows of the group rows, in order."""
    P, k = red.members, len(red.seg_regions)
    out = Rows()
    member_rows(out, red, env.group, env.chain)
    record_rows = record_rows_on_members(out, red, lp, lay, d, csr)
    if record_rows is None:
        return None
    nc = 1 + P.shape[0] + k
    e_lo = np.array([float(red.seg_nM[s][0]) for s in range(k)])
    small = LinearProgram(cost=np.r_[-1.0, np.zeros(nc - 1)], col_lower=np.r_[-np.inf, env.M[P], e_lo],
                          col_upper=np.r_[z_max, env.U[P], np.full(k, np.inf)],
                          A=sp.csc_array((out.vals, (out.rows, out.cols)), shape=(len(out.lo), nc)),
                          row_lower=np.array(out.lo), row_upper=np.array(out.hi))
    return small, record_rows

def snap(value: np.ndarray, target: np.ndarray | float, tol: float = SNAP) -> np.ndarray:
    """``target`` where ``value`` is within ``tol`` (relative) of it: HiGHS's answers land on
    the levels they touch only to its tolerance (1e-7), and the blocks are read by equality;
    a snap that should not have happened makes the certificate fail, never a wrong answer."""
    target = np.broadcast_to(target, value.shape)
    finite = np.isfinite(target)
    safe = np.where(finite, target, 0.0)
    near = finite & (np.abs(value - safe) <= tol * np.maximum(1.0, np.abs(safe)))
    return np.where(near, safe, value)


def kink(sorted_values: np.ndarray, v: float) -> float:
    """The value of ``sorted_values`` nearest ``v``."""
    j = int(np.searchsorted(sorted_values, v))
    near = sorted_values[max(0, j - 1):j + 1]
    return float(near[np.argmin(np.abs(near - v))])


def full_levels(red: Reduced, x: np.ndarray, z: float, M: np.ndarray, U: np.ndarray, group: np.ndarray
                ) -> np.ndarray:
    """Every region's level from (z, L_P): members cleaned onto their bounds, the kinks of
    the pieces they stop at and their chain; the others at max(z, M_q, m_q)."""
    P, m = red.members, red.members.shape[0]
    least = np.where(red.free[P], np.maximum(z, M[P]), M[P])
    lp_ = snap(snap(np.clip(x[1:1 + m], least, U[P]), least), U[P])
    for s in range(1, len(red.seg_regions)):     # the small LP stops at a kink of F_s: a region's M
        if red.seg_M[s].shape[0] and red.links[s].shape[0]:
            lp_[red.links[s]] = snap(lp_[red.links[s]], kink(red.seg_M[s], float(lp_[red.links[s]].max())))
    mg = np.searchsorted(red.mgroups, group[P])
    chained = red.has_z.count(True) > 1      # the free segments are the chain's (fixed ones repeat them)
    for j in range(red.mgroups.shape[0] - 2 if chained else -1, -1, -1):   # tied members: the upper value
        at = mg == j
        lp_[at] = snap(lp_[at], float(lp_[mg == j + 1].min()))
    for j in range(1, red.mgroups.shape[0] if chained else 0):
        at = mg == j
        lp_[at] = np.maximum(lp_[at], float(lp_[mg == j - 1].max()))
    level = np.where(red.free, np.maximum(z, M), M)
    level[P] = lp_
    for s in range(1, len(red.seg_regions)):
        q = red.seg_regions[s]
        if q.shape[0] and red.links[s].shape[0]:
            level[q] = np.maximum(level[q], float(lp_[red.links[s]].max()))
    return level


def least_spending_stage(small: LinearProgram, red: Reduced, z: float, need: np.ndarray) -> LinearProgram:
    """``small`` with z held at ``z`` and the spending sum_p n_p L_p + sum_s e_s minimised."""
    k = len(red.seg_regions)
    return LinearProgram(cost=np.r_[0.0, need[red.members], np.ones(k)],
                         col_lower=np.r_[z, small.col_lower[1:]], col_upper=np.r_[z, small.col_upper[1:]],
                         A=small.A, row_lower=small.row_lower, row_upper=small.row_upper)


def reduce(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, free: np.ndarray | None = None
           ) -> tuple[Reduced, LinearProgram, np.ndarray] | None:
    """(segments, the small LP, the record rows of the group rows), or None. ``free``: the
    regions with a floor row (default all; a leximin stage has fixed the others)."""
    slices = group_row_slices(lay)
    if not slices or "rows:budget" not in lay:
        return None
    t, csr = lay["transfer"], lp.A.tocsr()     # once: at 1e5 each conversion of A costs 20 ms
    members = np.unique(np.concatenate([csr[s].indices for s in slices])) - t.start
    free = np.ones(d.n, dtype=bool) if free is None else free
    red = segments(env.group, env.M, d.need, members, env.chain, free)
    others = np.setdiff1d(np.flatnonzero(free), members)
    z_max = float(env.U[others].min()) if others.shape[0] else np.inf
    built = small_lp(red, lp, lay, d, env, z_max, csr)
    return None if built is None else (red, *built)


def record_pair(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
                at_z: np.ndarray, yy: np.ndarray, held: np.ndarray | None = None, least: bool = False) -> np.ndarray:
    """The rest of the dual (floor rows, chain, bounds; see group_duals.py) added to ``yy``
    (the budget's and group rows'), in HiGHS's convention for ``lp``'s sense (``held``, ``least``:
    group_duals.route's)."""
    a, b = level_of(d.own, d.need, env.lo), level_of(d.own, d.need, env.hi)
    way = route(level, env.group, demand(lp, lay, d, yy), env.chain, at_z, close(level, a), close(level, b),
                held, least)
    if "rows:floor_rows" in lay:
        yy[lay["rows:floor_rows"]] = way.phi
    if way.send and "rows:no_overtaking" in lay:
        rows, amounts = chain_rows_for(d, way.send)
        np.add.at(yy, lay["rows:no_overtaking"].start + rows, -amounts)
    lo_idx, hi_idx = np.flatnonzero(way.held_lo), np.flatnonzero(way.held_hi)
    put_duals(yy, lay, env.lo_row, env.lo_coef, d.need, way.held_lo[lo_idx], lo_idx)
    put_duals(yy, lay, env.hi_row, env.hi_coef, d.need, way.held_hi[hi_idx], hi_idx)
    return -yy if lp.maximize else yy


@dataclass
class GroupPoint:
    """A group-floor point with the small LP it came from: (x, level, z*, the budget's and group
    rows' duals, free) and the segments, the small LP (without cuts) and its cuts."""
    x: np.ndarray
    level: np.ndarray
    z: float
    yy: np.ndarray
    free: np.ndarray
    red: Reduced
    small: LinearProgram
    cuts: list
    M: np.ndarray           # the envelope's least levels (env.M)


def group_point(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, z0: float,
                solve: SolveLP, free: np.ndarray | None = None, cut_tol: float = 1e-9
                ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray] | None:
    """(x, level, z*, the budget's and group rows' duals, free) of ``group_stage``."""
    p = group_stage(lp, lay, env, d, z0, solve, free, cut_tol)
    return None if p is None else (p.x, p.level, p.z, p.yy, p.free)


def priced_loop(small: LinearProgram, red: Reduced, cuts: list, solve: SolveLP, need: np.ndarray
                ) -> tuple[LPSolution | None, np.ndarray | None]:
    """(the max-z point, the small LP's duals) when the plain max-z cut loop does not settle.
    max z leaves the members free on a face of optima, and the loop can chase them from one
    vertex of that face to the next, each putting some e_s below F_s at a member level no
    tangent models yet (1e5 stage 7: 42 rounds, 4,772 tangents, then HiGHS 'error'). The
    spending priced at PRICE / (total need) per unit beside -z settles the members on their
    least levels, as the least-spending pass does; z is unchanged as long as a unit of z costs
    less than 1 / that price (it costs at most the total need, as every level rising with z).
    The duals come from one solve of the plain max-z LP with every tangent the loops added (no
    loop: the duals only need to be that LP's); certify judges the pair either way."""
    k = len(red.seg_regions)
    w = PRICE / float(need.sum())
    priced = replace(small, cost=np.r_[-1.0, w * need[red.members], np.full(k, w)])
    first = cut_loop(priced, red, cuts, solve)
    if first is None:
        return None, None
    again = solve(with_cuts(small, cuts))
    return (first, again.row_dual) if again.status == "optimal" else (None, None)


def group_stage(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, z0: float,
                solve: SolveLP, free: np.ndarray | None = None, cut_tol: float = 1e-9) -> GroupPoint | None:
    """The least-spending max-min optimum with group rows (``lp`` the maxmin LP of record, or a
    leximin stage's with only ``free`` on floor rows); None when the reduction does not apply
    or the small LP does not settle. ``record_pair`` completes the dual."""
    found = reduce(lp, lay, env, d, free)
    if found is None:
        return None
    red, small, record_rows = found
    red.cut_tol = cut_tol
    cuts = first_cuts(red, z0, env.M)
    first = cut_loop(small, red, cuts, solve)
    duals = None if first is None else first.row_dual
    if first is None:
        first, duals = priced_loop(small, red, cuts, solve, d.need)
        if first is None:
            return None
    z = float(first.x[0])
    second = cut_loop(least_spending_stage(small, red, z, d.need), red, cuts, solve)
    if second is None:
        return None
    level = full_levels(red, second.x, z, env.M, env.U, env.group)
    x = solution_x(lp, lay, d, transfers_at(level, env, d), z)
    yy = record_duals(lp, lay, d, duals, record_rows, small.num_row)
    return GroupPoint(x, level, z, yy, red.free, red, small, cuts, env.M)
