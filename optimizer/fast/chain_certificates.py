"""Global optimality certificates of ordered (chain) formulations: min-gini and owa on
order cones, and min-gini on the bare core without the chain duals (docs/objectives.md).
Pure numpy: the drivers in optimizer/engine and the fast paths in optimizer/fast both
accept an answer only when these tests pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optimizer.core.levels import bound_tolerance
from optimizer.fast.prefix_scan import best_per_block, best_prefix_end, block_prefixes, scan_ratio

GINI_CERT_TOL = 1e-7         # min-gini chain: certificate slack, relative to max |g| + max w
GINI_ZERO = 1e-9             # a Gini at most this is 0: Dinkelbach stops there (P <= tol mu)


def gini_dual_scale(gini: float, mu: float) -> float:
    """The factor from a dual of ``P - lam mu`` to d Gini / d rhs: 1 / mu by the envelope
    theorem when lam = G*. At Gini 0 Dinkelbach stops on P = 0 before lam reaches G* = 0
    (lam is still the previous step's G, e.g. 0.5), so the last LP's duals are not G*'s (a
    budget price of -0.25 where both one-sided differences were 0); there G* = 0 is the
    least any point has and relaxing a row keeps the point, so every price on the relaxing
    side is 0, a one-sided derivative (the other side, at a kink, may be negative). 0 when
    mu = 0 too (every level 0: the Gini is a convention)."""
    return 0.0 if mu <= 0 or gini <= GINI_ZERO else 1.0 / mu


@dataclass(frozen=True)
class ChainBlocks:
    """The tied blocks of a chain LP's point along its order (per position in that order)."""

    ws: np.ndarray        # the weights in order
    block: np.ndarray     # block id per position
    flow: np.ndarray      # (D' nu) per position: the chain duals' push
    cum: np.ndarray       # cumulative weights
    starts: np.ndarray    # first position of each block


def chain_blocks(level: np.ndarray, w: np.ndarray, order: np.ndarray, nu: np.ndarray,
                 tol: float) -> ChainBlocks:
    """Positions along ``order`` are joined when their levels tie or the chain row between
    them has a dual > tol (a binding row ties them in the LP's own view)."""
    ls, ws = level[order], w[order]
    scale = max(1.0, float(np.abs(ls).max()))
    nu = np.maximum(nu, 0.0)
    join = (np.diff(ls) <= 1e-9 * scale) | (nu > tol)
    block = np.concatenate([[0], np.cumsum(~join)])
    nu_in = np.where(join, nu, 0.0)
    flow = np.concatenate([[0.0], nu_in]) - np.concatenate([nu_in, [0.0]])
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    return ChainBlocks(ws, block, flow, np.cumsum(ws), starts)


def gini_chain_certificate(level: np.ndarray, w: np.ndarray, order: np.ndarray, nu: np.ndarray,
                           tol: float) -> tuple[bool, np.ndarray, int]:
    """Global optimality test of a chain-LP solution (docs/objectives.md, min-gini).

    ``nu`` are the duals (>= 0) of the chain rows L_pi(k+1) - L_pi(k) >= 0. The LP's
    stationarity says s = g(pi) - D' nu is the subgradient of P it used; L is a global
    minimiser iff s lies in dP(L): on each block S of tied regions, q = s_S - (the part of
    g from the regions outside S) must lie in the base polytope of the cut function
    c(U) = W(U) (W_S - W(U)), i.e. q(U) <= c(U) for every U in S. c depends on W(U) only and
    is concave in it, so the worst U are the prefixes of S sorted by q_r / w_r descending
    (optimizer/fast/prefix_scan.py) and the test is O(n log n). Returns (certified, the
    order with every failing block re-sorted by q_r / w_r ascending, failing blocks)."""
    if level.size < 2:
        return True, order, 0
    cb = chain_blocks(level, w, order, nu, tol)
    ws, block, starts = cb.ws, cb.block, cb.starts
    w_before_block = (cb.cum - ws)[starts][block]                # weight of the blocks below
    w_block = np.add.reduceat(ws, starts)[block]
    before_in = cb.cum - ws - w_before_block
    after_in = w_block - before_in - ws
    q = ws * (before_in - after_in) - cb.flow
    pre = block_prefixes(q, ws, block)
    viol = pre.value - pre.weight * (w_block[pre.order] - pre.weight)
    return resort_failing(order, block, scan_ratio(q, ws), pre.block[viol > tol])


def resort_failing(order: np.ndarray, block: np.ndarray, ratio: np.ndarray, failing: np.ndarray
                   ) -> tuple[bool, np.ndarray, int]:
    """Certificate outcome: (True, order, 0) when no tied block fails; else the failing
    blocks re-sorted by q / w ascending (regions the duals push up go later)."""
    bad_blocks = np.unique(failing)
    if bad_blocks.size == 0:
        return True, order, 0
    key = np.where(np.isin(block, bad_blocks), ratio, 0.0)
    pos = np.lexsort((np.arange(order.shape[0]), key, block))
    return False, order[pos], int(bad_blocks.size)


@dataclass(frozen=True)
class _BareCore:
    """The bare-core test's data along the sorted order (per position)."""

    ls: np.ndarray          # levels
    ws: np.ndarray          # weights
    ns: np.ndarray          # needs
    block: np.ndarray       # tied block id
    starts: np.ndarray      # first position of each block
    w_block: np.ndarray     # weight of the own block
    push: np.ndarray        # lam w minus the cross-block part of the subgradient
    up_only: np.ndarray     # at an upper bound only: cannot be pushed up
    lo_only: np.ndarray     # at a lower bound only: cannot be pushed down
    fixed: np.ndarray       # at both bounds


@dataclass(frozen=True)
class _Side:
    """One of the two prefix tests at one lam_B."""

    best: np.ndarray        # violation per block (>= 0)
    order: np.ndarray       # the scan's sorted positions
    end: np.ndarray         # per block: sorted position where the best prefix ends (-1: none)


def _bare_core(level: np.ndarray, w: np.ndarray, need: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               lam: float, order: np.ndarray, money: np.ndarray | None = None) -> _BareCore:
    ls, ws, ns = level[order], w[order], need[order]
    scale = max(1.0, float(np.abs(ls).max()))
    join = np.diff(ls) <= 1e-9 * scale
    block = np.concatenate([[0], np.cumsum(~join)])
    cum = np.cumsum(ws)
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    w_below = (cum - ws)[starts][block]
    w_block = np.add.reduceat(ws, starts)[block]
    w_above = cum[-1] - w_below - w_block
    push = lam * ws - ws * (w_below - w_above)
    eps = bound_tolerance(ls, ns, None if money is None else money[order])   # (cut_certificate.py)
    at_lo = ls <= lo[order] + eps
    at_hi = ls >= hi[order] - eps
    return _BareCore(ls, ws, ns, block, starts, w_block, push, at_hi & ~at_lo, at_lo & ~at_hi,
                     at_lo & at_hi)


def _side(v: np.ndarray, core: _BareCore) -> _Side:
    """max over U in each block S of v(U) - W(U) (W_S - W(U)), by the prefix scan."""
    pre = block_prefixes(v, core.ws, core.block)
    gain = np.where(pre.allowed, pre.value - pre.weight * (core.w_block[pre.order] - pre.weight), -np.inf)
    n_blocks = int(core.block[-1]) + 1
    return _Side(best_per_block(gain, pre.block, n_blocks), pre.order,
                 best_prefix_end(gain, pre.block, n_blocks))


def _sides(core: _BareCore, lb: float, shift: np.ndarray | float = 0.0
           ) -> tuple[float, float, tuple[_Side, _Side]]:
    """Both tests at lam_B = lb: (worst V_lo, worst V_hi, the two scans); ``shift``: each
    region's allowance, taken off both sides (``gini_own_scale``)."""
    p = core.push - lb * core.ns
    up = _side(np.where(core.up_only | core.fixed, -np.inf, p - shift), core)      # l(U) <= c(U)
    down = _side(np.where(core.lo_only | core.fixed, -np.inf, -p - shift), core)   # -u(U) <= c(U)
    return float(up.best.max()), float(down.best.max()), (up, down)


def _budget_multiplier(core: _BareCore, budget_tight: bool, lam_b: float, tol: float,
                       shift: np.ndarray | float = 0.0) -> tuple[float, float, tuple[_Side, _Side]]:
    """lam_B for the test: 0 with a slack budget; else the LP's ``lam_b`` if it passes, else
    the bisection point where V_lo (falling in lam_B) and V_hi (rising) cross. Returns
    (lam_B, its worst violation, its scans)."""
    if not budget_tight:
        vlo, vhi, res = _sides(core, 0.0, shift)
        return 0.0, max(vlo, vhi), res
    lb = max(0.0, float(lam_b))
    vlo, vhi, res = _sides(core, lb, shift)
    if max(vlo, vhi) <= tol:
        return lb, max(vlo, vhi), res
    left, right = 0.0, max(0.0, float(np.max(core.push / core.ns))) * (1 + 1e-12) + 1e-300
    lb = left
    vlo, vhi, res = _sides(core, left, shift)
    if vlo > vhi:
        for _ in range(100):
            mid = 0.5 * (left + right)
            mlo, mhi, mres = _sides(core, mid, shift)
            if max(mlo, mhi) < max(vlo, vhi):
                lb, vlo, vhi, res = mid, mlo, mhi, mres
            if max(mlo, mhi) <= tol or right - left <= 1e-15 * max(1.0, right):
                break
            if mlo > mhi:
                left = mid
            else:
                right = mid
    return lb, max(vlo, vhi), res


def _jump_slot(core: _BareCore, b: int, u_pos: np.ndarray, up: bool, violation: float,
               lo_o: np.ndarray, hi_o: np.ndarray) -> float:
    """Where the jump order puts U (block b's most violated set): passing a block of weight
    W' costs 2 W(U) W' of the violation (the cross terms of U change sign), so U passes
    blocks while that leaves some, within U's bounds. Returns a sort key between blocks."""
    blev, bw = core.ls[core.starts], np.add.reduceat(core.ws, core.starts)
    wu = float(core.ws[u_pos].sum())
    reach = violation / (2.0 * wu) if wu > 0 else 0.0
    if up:
        cap = float(hi_o[u_pos].min())
        fits = (np.cumsum(bw[b + 1:]) < reach) & (blev[b + 1:] < cap)
    else:
        floor = float(lo_o[u_pos].max())
        below = slice(b - 1, None, -1) if b > 0 else slice(0, 0)
        fits = (np.cumsum(bw[below]) < reach) & (blev[below] > floor)
    k = int(np.argmin(fits)) if fits.size and not fits.all() else int(fits.size)
    return b + k + 0.5 if up else b - k - 0.5


def _split_orders(core: _BareCore, sides: tuple[_Side, _Side], lb: float, tol: float,
                  order: np.ndarray, lo: np.ndarray, hi: np.ndarray, resort: str
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """(safe order, jump order, failing blocks): each failing block split along its best
    prefix U, U to the top of the block (wants to rise) or the bottom (wants to fall)."""
    up_side, down_side = sides
    b1, b2 = up_side.best, down_side.best
    bad = np.flatnonzero(np.maximum(b1, b2) > tol)
    n = core.ls.size
    rank = np.zeros(n)                           # -1 bottom / +1 top of the own block (safe)
    key = core.block.astype(float)               # the jump: slot between blocks
    lo_o, hi_o = lo[order], hi[order]
    for b in bad:
        up = b1[b] >= b2[b]
        side = up_side if up else down_side
        first_b = np.searchsorted(core.block[side.order], b)   # sorted by block id
        u_pos = side.order[first_b:side.end[b] + 1]            # U: block b's best prefix
        rank[u_pos] = 1.0 if up else -1.0
        key[u_pos] = _jump_slot(core, b, u_pos, up, float(max(b1[b], b2[b])), lo_o, hi_o)
    if resort == "block":   # failing blocks re-sorted by push / weight (U included)
        p_now = core.push - lb * core.ns
        sub = np.where(core.up_only | core.fixed, -np.inf, p_now / np.where(core.ws > 0, core.ws, 1.0))
        rank = np.where(np.isin(core.block, bad), sub, 0.0)
    idx = np.arange(n)
    return order[np.lexsort((idx, rank, core.block))], order[np.lexsort((idx, rank, key))], int(bad.size)


def gini_bare_certificate(level: np.ndarray, w: np.ndarray, need: np.ndarray, lo: np.ndarray,
                          hi: np.ndarray, budget_tight: bool, lam: float, lam_b: float,
                          order: np.ndarray, tol: float, resort: str = "split",
                          money: np.ndarray | None = None) -> tuple[bool, np.ndarray, int, float, np.ndarray | None]:
    """Global optimality of L for min P(L) - lam w.L on the bare core (budget row
    sum_r n_r L_r <= C, level bounds lo <= L <= hi from t_min/t_max and hard thresholds),
    without the chain duals (docs/objectives.md, "bare-core certificate").

    KKT: some s in dP(L) equals lam w - lam_B n + alpha - beta with lam_B >= 0 (0 if the
    budget is slack), alpha_r >= 0 only at L_r = lo_r, beta_r >= 0 only at L_r = hi_r. With
    p = lam w - lam_B n - (the cross-block part of the subgradient), on each tied block S
    that asks for a q in B(c_S) (c(U) = W(U)(W_S - W(U))) inside the box l <= q <= u,
    l_r = p_r (-inf at an upper bound), u_r = p_r (+inf at a lower bound). For submodular c
    with c(S) = 0, c symmetric, B(c) meets the box iff l(U) <= c(U) and -u(U) <= c(U) for
    every U (Edmonds's polymatroid intersection): two prefix tests per block
    (optimizer/fast/prefix_scan.py). The first violation V_lo(lam_B) decreases, the second
    V_hi(lam_B) increases in lam_B, so the best lam_B is where they cross (bisection; the
    LP's budget dual ``lam_b`` is tried first).
    Returns (certified, safe order, failing blocks, lam_B used, jump order or None). On
    failure each failing block is split along its most violated set U (the best prefix):
    U moved to the top of the block (it wants to rise) or to the bottom (it wants to fall),
    both parts keeping their order (safe: L stays in the new cone, so the value cannot
    increase); the jump order also moves U past the neighbouring blocks its violation can
    pay for (linearised at the current lam_B; no monotonicity guarantee, the driver falls
    back on the safe order when the jump does not improve). ``money``: |own| + |T| per
    region, the scale of a level's rounding at its bounds (core/levels.py ``bound_tolerance``)."""
    core = _bare_core(level, w, need, lo, hi, lam, order, money)
    lb, violation, sides = _budget_multiplier(core, budget_tight, lam_b, tol)
    if violation <= tol:
        return True, order, 0, lb, None
    safe, jump, n_bad = _split_orders(core, sides, lb, tol, order, lo, hi, resort)
    return False, safe, n_bad, lb, (None if np.array_equal(jump, safe) else jump)


def ordered_chain_certificate(level: np.ndarray, w: np.ndarray, order: np.ndarray, nu: np.ndarray,
                              tol: float, G: Callable[[np.ndarray], np.ndarray]
                              ) -> tuple[bool, np.ndarray, int]:
    """``gini_chain_certificate`` for any convex ordered function
    P_G(L) = sum_r L_r (G(a_r + w_r) - G(a_r)), a_r the weight sorted below r, G convex
    (min-gini: G(b) = b^2 - b; owa: G = -V). On a tied block S spanning [a, a + W_S] the
    subgradients are the y with y(S) = G(a + W_S) - G(a) and y(X) <= G(a + W_S) - G(a + W_S - W(X))
    for every X in S (base polytope of a concave function of W(X)), so again the worst X are
    the prefixes of S by y_r / w_r descending. y = g(pi) - D' nu (chain duals nu >= 0)."""
    if level.size < 2:
        return True, order, 0
    cb = chain_blocks(level, w, order, nu, tol)
    ws, block, cum, starts = cb.ws, cb.block, cb.cum, cb.starts
    y = (G(cum) - G(cum - ws)) - cb.flow
    end = (cum - ws)[starts][block] + np.add.reduceat(ws, starts)[block]   # a + W_S per position
    pre = block_prefixes(y, ws, block)
    e = end[pre.order]
    viol = pre.value - (G(e) - G(e - pre.weight))
    return resort_failing(order, block, scan_ratio(y, ws), pre.block[viol > tol])


def gini_own_scale(level: np.ndarray, w: np.ndarray, need: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   budget_tight: bool, lam: float, lam_b: float, order: np.ndarray, rtol: float,
                   money: np.ndarray | None = None) -> tuple[bool, float]:
    """The bare-core test (``gini_bare_certificate``) with every set's violation within rtol
    of that set's own scale (sum over U of w_r W + |p_r|), not of the largest gradient, plus
    a rounding floor: (holds, its lam_B). A tolerance relative to the largest gradient let
    lam_B = 0 pass where the budget price was -5.6e-7 (a region of population 1 and need
    0.012 lifted beside one of 1e8: its reduced cost lam_B n_r ~ 1e-8 was inside 1e-7), so
    the reported price was 0 (tests/test_hunt_spreads.py, price seed 265)."""
    core = _bare_core(level, w, need, lo, hi, lam, order, money)
    total = float(core.ws.sum())
    shift = rtol * (core.ws * total + np.abs(core.push))
    floor = 1e-12 * (total * total + float(np.abs(core.push).sum()))
    lb, violation, _ = _budget_multiplier(core, budget_tight, lam_b, floor, shift)
    return violation <= floor, lb
