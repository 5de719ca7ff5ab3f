"""The max-mean value of a round with policy rows (the price of fairness's reference), by
Lagrangian layers on the envelopes of optimizer/fast/policy_path.py, with a primal-dual
bracket instead of the LP (which does not finish 1e5 regions with no-overtaking in 60 s).

    mu* = max sum_r w_r L_r  s.t.  M_r <= L_r <= U_r,  L monotone over the level-before
          groups (no-overtaking),  sum_r n_r L_r <= B + sum_r o_r       (w_r = n_r c^T_r)

For a price lambda >= 0 of the budget, with c_r = w_r - lambda n_r,
g(lambda) = max { sum c_r L_r : bounds, chain } is computed by layers: L_r = M_r plus the
length of every level interval (t_j, t_j+1) (between consecutive values of M and U) in
which r belongs to the chosen up-set S_j. An up-set of the groups is every region of the
groups above a boundary group g plus a subset X of g; it must hold the forced regions
(M_r >= t) and only allowed ones (U_r >= t). The envelopes make the groups' M ranges (and
U ranges) disjoint, so below the lowest forced group gF every group is unforced, above the
highest group gA - 1 that is not all allowed every group is allowed, the best X is the
forced members plus the allowed ones with c_r > 0, and the best boundary is a range
maximum of h(g) = (sum of c over groups > g) + (sum of c_r > 0 in g) over [gA, gF - 1],
or one of the ends gA - 1, gF evaluated member by member. Without no-overtaking all
regions form one group (the constraints decouple: the fractional knapsack).

Weak duality gives mu* <= lambda B' + g(lambda) for every lambda; the allocations L(lambda)
are feasible when they spend <= B'. Bisection on lambda brackets the price; the point
between the last allocations over and under the budget that spends exactly B' is feasible
(convex), and its mean is accepted when it is within 1e-9 of the dual bound and it meets
every row of the max-mean LP of record (group rows included); else None (solve the LP).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.fast.certify import primal_violation
from optimizer.fast.policy_path import BOUND_ROWS, KEPT_ROWS, Envelope, envelope
from optimizer.fast.range_max import range_max

GAP_TOL = 1e-9
BISECTIONS = 200


@dataclass(frozen=True)
class Layers:
    """The lambda-free part: intervals, group statuses and the member orders."""
    M: np.ndarray
    group: np.ndarray
    G: int
    length: np.ndarray      # interval lengths (inf: the last one above every finite bound)
    gF: np.ndarray          # lowest group with a forced member (G: none)
    gA: np.ndarray          # lowest group from which every group is all allowed
    by_m: np.ndarray        # regions sorted by (group, rank of M)
    by_u: np.ndarray        # regions sorted by (group, rank of U)
    key_m: np.ndarray       # the sorted keys group * (V + 1) + rank (V distinct finite bounds)
    key_u: np.ndarray
    rank_t: np.ndarray      # rank of each interval's upper end t (inf: V)
    k: int                  # V + 1
    start: np.ndarray       # first position of each group in either order (G + 1)


def _ranked(group: np.ndarray, value: np.ndarray, tb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order by (group, rank of value), sorted keys); an infinite value ranks last."""
    rank = np.searchsorted(tb, value, side="left")
    key = group.astype(np.int64) * (tb.size + 1) + rank
    order = np.argsort(key, kind="stable")
    return order, key[order]


def layers(env: Envelope, chain: bool) -> Layers | None:
    """The intervals between consecutive finite values of M and U (and the one above them
    all when some U is infinite), each with its status read at its upper end t."""
    M, U = env.M, env.U
    if not np.all(np.isfinite(M)):
        return None
    group = env.group if chain else np.zeros(M.shape[0], dtype=np.int64)
    G = int(group.max()) + 1
    tb = np.unique(np.r_[M, U[np.isfinite(U)]])
    ts = np.r_[tb[1:], np.inf] if np.isinf(U).any() else tb[1:]
    length = np.r_[np.diff(tb), np.inf] if np.isinf(U).any() else np.diff(tb)
    gmax_m, gmin_u = np.full(G, -np.inf), np.full(G, np.inf)
    np.maximum.at(gmax_m, group, M)
    np.minimum.at(gmin_u, group, U)
    gF = np.searchsorted(gmax_m, ts, side="left")
    gA = np.searchsorted(gmin_u, ts, side="left")
    by_m, key_m = _ranked(group, M, tb)
    by_u, key_u = _ranked(group, U, tb)
    start = np.searchsorted(key_m, np.arange(G + 1) * (tb.size + 1), side="left")
    rank_t = np.searchsorted(tb, ts, side="left")
    return Layers(M, group, G, length, gF, gA, by_m, by_u, key_m, key_u, rank_t, tb.size + 1, start)


@dataclass
class Point:
    lam: float
    level: np.ndarray
    spend: float
    dual: float


class ChainMean:
    """g(lambda), the allocation it picks and its spending, for one round."""

    def __init__(self, env: Envelope, w: np.ndarray, need: np.ndarray, chain: bool) -> None:
        ly = layers(env, chain)
        if ly is None:
            raise ValueError("unbounded lower envelope")
        self.ly, self.w, self.need = ly, w, need
        self.key_m, self.key_u = ly.key_m, ly.key_u
        self.k = ly.k
        # the positions the two ends gF and gA - 1 query, the same for every lambda
        self.ends = {name: self._positions(np.minimum(g, ly.G - 1)) for name, g in (("F", ly.gF), ("A", ly.gA - 1))}
        # what _raise reads at gF for every c: gF's first position and its first forced member
        self.at_f = (ly.start[np.minimum(ly.gF, ly.G)], self._ge(self.key_m, ly.gF))

    def reweighted(self, w: np.ndarray) -> ChainMean:
        """The same layers with other level coefficients (min-gini's Dinkelbach steps)."""
        out = copy.copy(self)
        out.w = w
        return out

    def _positions(self, gg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._ge(self.key_m, gg), self._ge(self.key_u, gg), self.ly.start[1:][gg]

    def _ge(self, key: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Per interval: the first position (in that order) of group g's members with value >= t."""
        return np.searchsorted(key, np.minimum(g, self.ly.G) * self.k + self.ly.rank_t, side="left")

    def at(self, lam: float, budget: float) -> Point:
        found = self.parts(self.w - lam * self.need)
        if found is None:
            return Point(lam, self.ly.M, np.inf, np.inf)
        level, at_m, gains = found
        return Point(lam, level, float(np.dot(self.need, level)), lam * budget + at_m + gains)

    def best(self, c: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(argmax, max) of c'L over the bounds and the chain (None: unbounded)."""
        found = self.parts(c)
        return None if found is None else (found[0], found[1] + found[2])

    def parts(self, c: np.ndarray) -> tuple[np.ndarray, float, float] | None:
        """(argmax of c'L, c'M, the sum over the intervals of length times best gain)."""
        ly = self.ly
        G = ly.G
        sum_g = np.bincount(ly.group, weights=c, minlength=G)
        suf = np.concatenate((np.cumsum(sum_g[::-1])[::-1], [0.0]))  # suf[k] = sum over groups >= k
        pos = np.maximum(c, 0.0)
        h = suf[1:] + np.bincount(ly.group, weights=pos, minlength=G)
        c_m = c[ly.by_m]
        cm, cu = _from0(np.cumsum(c_m)), _from0(np.cumsum(pos[ly.by_u]))
        pm = _from0(np.cumsum(np.maximum(c_m, 0.0)))                   # = pos[by_m], gathered once

        def bx(end_name: str) -> tuple[np.ndarray, np.ndarray]:
            """(sum of c over forced members of g, the best X's value) per interval."""
            im, iu, e = self.ends[end_name]
            forced = cm[e] - cm[im]
            return forced, forced + (cu[e] - cu[iu]) - (pm[e] - pm[im])

        gF, gA = ly.gF, ly.gA
        forced_f, best_f = bx("F")
        cand_f = np.where(gF < G, suf[np.minimum(gF + 1, G)] + best_f, 0.0)
        base = np.where(gF < G, suf[np.minimum(gF + 1, G)] + forced_f, 0.0)
        _, best_a = bx("A")
        cand_a = np.where(gA >= 1, suf[np.minimum(gA, G)] + best_a, -np.inf)
        lo_i, hi_i = gA, gF - 1
        arg_i, cand_i = range_max(h, lo_i, hi_i)
        value = np.maximum(np.maximum(cand_f, cand_a), cand_i)
        choice = np.where(cand_f >= value, gF, np.where(cand_i >= value, arg_i, gA - 1))
        gain = np.maximum(value - base, 0.0)
        finite = np.isfinite(ly.length)
        if (~finite).any() and gain[~finite].max() > 0.0:
            return None
        gain, choice = np.where(finite, gain, 0.0), np.where(finite, choice, gF)
        at_m, gains = float(np.dot(c, ly.M)), float(np.dot(np.where(finite, ly.length, 0.0), gain))
        gs = np.where(gain > 0, choice, gF)
        level = ly.M + self._raise(gs, np.where(finite, ly.length, 0.0), c, (gs == gF, gs == gA - 1))
        return level, at_m, gains

    def _raise(self, gs: np.ndarray, length: np.ndarray, c: np.ndarray, ends: tuple[np.ndarray, np.ndarray]
               ) -> np.ndarray:
        """What each region gains over M: the intervals whose up-set holds it and not forced.
        ``ends``: where gs is gF, where it is gA - 1 (their positions are cached)."""
        ly, G, n = self.ly, self.ly.G, self.need.shape[0]
        gF = ly.gF
        mid = gs + 1 < gF                              # groups strictly between the boundary and gF
        add = _ranges(gs[mid] + 1, gF[mid], length[mid], G)[ly.group]   # float
        whole = (gs < gF) & (gF < G)                   # gF itself: its unforced members
        out = add.copy()
        out[ly.by_m] += _ranges(self.at_f[0][whole], self.at_f[1][whole], length[whole], n)
        sel = gs < G                                   # the boundary group's X: allowed, unforced, c > 0
        gg = np.minimum(gs, G - 1)
        e = ly.start[1:][gg][sel]
        im, iu = self._boundary(gg, ends)
        x = np.zeros(n)
        x[ly.by_u] += _ranges(iu[sel], e, length[sel], n)
        x[ly.by_m] -= _ranges(im[sel], e, length[sel], n)
        return out + np.where(c > 0, x, 0.0)

    def _boundary(self, gg: np.ndarray, ends: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """_ge(key_m, gg) and _ge(key_u, gg): the cached ends' where gg is one, else searched."""
        im, iu = np.empty_like(gg), np.empty_like(gg)
        rest = np.ones(gg.shape[0], dtype=bool)
        for at, name in zip(ends, ("F", "A")):
            take = at & rest
            im[take], iu[take] = self.ends[name][0][take], self.ends[name][1][take]
            rest &= ~at
        if rest.any():
            g = np.minimum(gg[rest], self.ly.G) * self.k + self.ly.rank_t[rest]
            im[rest] = np.searchsorted(self.key_m, g, side="left")
            iu[rest] = np.searchsorted(self.key_u, g, side="left")
        return im, iu


def _from0(a: np.ndarray) -> np.ndarray:
    """``a`` after a leading 0 (a prefix sum's table)."""
    return np.concatenate(([0.0], a))


def _ranges(lo: np.ndarray, hi: np.ndarray, value: np.ndarray, size: int) -> np.ndarray:
    """sum of value_k over the k with lo_k <= i < hi_k, for i < size (a difference array)."""
    diff = np.zeros(size + 1)
    diff += np.bincount(lo, weights=value, minlength=size + 1)[:size + 1]
    diff -= np.bincount(hi, weights=value, minlength=size + 1)[:size + 1]
    return np.cumsum(diff)[:size]


@dataclass(frozen=True)
class MeanRound:
    """A max-mean LP of record read as layers: its layout, the oracle and B' = B + sum o."""
    lay: dict[str, slice]
    cm: ChainMean
    budget: float


def mean_round(lp: LinearProgram, d: RegionData, hard: bool, w: np.ndarray | None = None,
               family: tuple[set[str], set[str]] = (set(), set())) -> MeanRound | None:
    """The layers of the max-mean LP ``lp`` (bounds, chain, budget, group rows), or None
    when it has another row family or column, or a bound the layers cannot take. ``w``:
    the level coefficients to maximise (default: the LP's own, cost per transfer times
    need); ``family``: the (rows, columns) of an objective's own block that the layers
    leave to the caller (min-gini's chain rows, policy_gini.py)."""
    lay = lp.layout()
    rows = {k[5:] for k in lay if k.startswith("rows:")} - family[0]
    cols = {k for k in lay if not k.startswith("rows:")} - family[1]
    if (w is None and not lp.maximize) or not rows <= set(BOUND_ROWS + KEPT_ROWS) or "budget" not in rows \
            or not cols <= {"transfer", "shortfall"}:
        return None
    if "shortfall" in lay and np.any(lp.cost[lay["shortfall"]] != 0):
        return None
    env = envelope(lp, lay, d, hard)
    if env is None or np.any(env.M > env.U):
        return None
    t = lay["transfer"]
    budget = float(lp.row_upper[lay["rows:budget"]][0]) + float(d.own.sum())
    # an implied bound: no level passes what the whole budget left over the others' M buys;
    # one constant for all, so U stays monotone and every layer finite
    spare = budget - float(np.dot(d.need, env.M))
    env = replace(env, U=np.minimum(env.U, float(np.max(env.M + spare / d.need)) * (1 + 1e-12) + 1e-12))
    try:
        return MeanRound(lay, ChainMean(env, lp.cost[t] * d.need if w is None else w, d.need, env.chain), budget)
    except ValueError:
        return None


def record_x(lp: LinearProgram, lay: dict[str, slice], d: RegionData, level: np.ndarray) -> np.ndarray:
    """The LP of record's columns at these levels (each shortfall at its least)."""
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = level * d.need - d.own
    if "shortfall" in lay:
        x[lay["shortfall"]] = np.maximum(0.0, d.threshold - level)
    return x


def chain_max_mean(lp: LinearProgram, d: RegionData, hard: bool) -> float | None:
    """mu* of the max-mean LP ``lp`` of this round, within GAP_TOL, or None."""
    mr = mean_round(lp, d, hard)
    if mr is None:
        return None
    level, _ = budget_bracket(mr.cm, mr.budget, float(np.max(lp.cost[mr.lay["transfer"]], initial=0.0)))
    return None if level is None else value_at(lp, mr, d, level)


def value_at(lp: LinearProgram, mr: MeanRound, d: RegionData, level: np.ndarray) -> float | None:
    """The LP's objective at ``level`` when it meets every row of ``lp`` (else None)."""
    x = record_x(lp, mr.lay, d, level)
    if float(np.dot(d.need, level)) > mr.budget * (1 + 1e-12) or \
            primal_violation(lp, x) > 1e-9:   # certify's primal part (no dual to check)
        return None
    return float(lp.cost @ x + lp.offset)


def budget_bracket(cm: ChainMean, budget: float, lam_max: float) -> tuple[np.ndarray | None, list[Point]]:
    """The level vector spending at most ``budget`` whose mean is within GAP_TOL of the
    least dual bound met on the way (None if the bracket does not close), and every point
    evaluated on the way (vertices of the layers' polytope, each with its dual bound)."""
    over = cm.at(0.0, budget)
    if over.spend <= budget:
        return over.level, [over]                         # the budget does not bind: exact
    under = cm.at(lam_max * (1 + 1e-9) + 1e-12, budget)
    seen = [over, under]
    if under.spend > budget * (1 + 1e-12):
        return None, seen
    best_dual = min(under.dual, over.dual)
    for step in range(BISECTIONS):
        mid = cm.at(next_price(over, under, budget, step), budget)
        seen.append(mid)
        best_dual = min(best_dual, mid.dual)
        if mid.spend > budget:
            over = mid
        else:
            under = mid
        level = _between(over, under, budget)
        mean = float(np.dot(cm.w, level))
        if best_dual - mean <= GAP_TOL * max(1.0, abs(mean)):
            return level, seen
        if under.lam - over.lam <= 1e-16 * under.lam:
            break
    return None, seen


def next_price(over: Point, under: Point, budget: float, step: int) -> float:
    """Where the two supporting lines of the dual bound meet (the dual is convex and piecewise
    linear in lambda with slope B' - spend: exact in a few steps once both sides sit on the
    pieces next to the optimum); a bisection every third step, or when they do not meet inside."""
    half = 0.5 * (over.lam + under.lam)
    if step % 3 == 2 or not (np.isfinite(over.dual) and np.isfinite(over.spend)):
        return half
    so, su = budget - over.spend, budget - under.spend           # slopes: < 0 over, >= 0 under
    if su - so <= 0:
        return half
    lam = (under.dual - over.dual + so * over.lam - su * under.lam) / (so - su)
    return lam if over.lam < lam < under.lam else half


def _between(over: Point, under: Point, budget: float) -> np.ndarray:
    if not np.isfinite(over.spend):
        return under.level
    theta = (budget - under.spend) / (over.spend - under.spend) if over.spend > under.spend else 0.0
    return theta * over.level + (1.0 - theta) * under.level
