"""Global optimality certificates of ordered (chain) formulations: min-gini and owa on
order cones, and min-gini on the bare core without the chain duals (docs/objectives.md).
Pure numpy: the drivers in optimizer/engine and the fast paths in optimizer/fast both
accept an answer only when these tests pass."""

from __future__ import annotations

from typing import Callable

import numpy as np

GINI_CERT_TOL = 1e-7         # min-gini chain: certificate slack, relative to max |g| + max w


def _chain_blocks(level: np.ndarray, w: np.ndarray, order: np.ndarray, nu: np.ndarray, tol: float):
    """The tied blocks of a chain LP's point along ``order``: positions joined when their
    levels tie or the chain row between them has a dual > tol. Returns the weights in
    order, the block id per position, (D' nu) per position, the cumulative weights and the
    first position of each block."""
    ls, ws = level[order], w[order]
    scale = max(1.0, float(np.abs(ls).max()))
    nu = np.maximum(nu, 0.0)
    join = (np.diff(ls) <= 1e-9 * scale) | (nu > tol)
    block = np.concatenate([[0], np.cumsum(~join)])
    nu_in = np.where(join, nu, 0.0)
    flow = np.concatenate([[0.0], nu_in]) - np.concatenate([nu_in, [0.0]])
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    return ws, block, flow, np.cumsum(ws), starts


def gini_chain_certificate(level: np.ndarray, w: np.ndarray, order: np.ndarray, nu: np.ndarray,
                           tol: float) -> tuple[bool, np.ndarray, int]:
    """Global optimality test of a chain-LP solution (docs/objectives.md, min-gini).

    ``nu`` are the duals (>= 0) of the chain rows L_pi(k+1) - L_pi(k) >= 0. The LP's
    stationarity says s = g(pi) - D' nu is the subgradient of P it used; L is a global
    minimiser iff s lies in dP(L): on each block S of tied regions, q = s_S - (the part of
    g from the regions outside S) must lie in the base polytope of the cut function
    c(U) = W(U) (W_S - W(U)), i.e. q(U) <= c(U) for every U in S. c depends on W(U) only and
    is concave in it, so the worst U are the prefixes of S sorted by q_r / w_r descending
    (fractional-knapsack argument) and the test is O(n log n). Returns (certified, the
    order with every failing block re-sorted by q_r / w_r ascending, failing blocks)."""
    n = level.size
    if n < 2:
        return True, order, 0
    ws, block, flow, cum, starts = _chain_blocks(level, w, order, nu, tol)
    w_before_block = (cum - ws)[starts][block]                   # weight of the blocks below
    w_block = np.add.reduceat(ws, starts)[block]
    before_in = cum - ws - w_before_block
    after_in = w_block - before_in - ws
    q = ws * (before_in - after_in) - flow
    ratio = np.where(ws > 0, q / np.where(ws > 0, ws, 1.0), np.where(q > 0, np.inf, np.where(q < 0, -np.inf, 0.0)))
    srt = np.lexsort((-ratio, block))                            # within block: q/w descending
    qs, wsrt, bs = q[srt], ws[srt], block[srt]
    qcum = np.cumsum(qs)
    acum = np.cumsum(wsrt)
    first = np.concatenate([[True], bs[1:] != bs[:-1]])
    b0 = np.flatnonzero(first)
    qoff = (qcum - qs)[b0][np.cumsum(first) - 1]
    aoff = (acum - wsrt)[b0][np.cumsum(first) - 1]
    Q, A = qcum - qoff, acum - aoff
    viol = Q - A * (w_block[srt] - A)
    return _resort_failing(order, block, ratio, bs[viol > tol])


def _resort_failing(order: np.ndarray, block: np.ndarray, ratio: np.ndarray, failing: np.ndarray
                    ) -> tuple[bool, np.ndarray, int]:
    """Certificate outcome: (True, order, 0) when no tied block fails; else the failing
    blocks re-sorted by q / w ascending (regions the duals push up go later)."""
    bad_blocks = np.unique(failing)
    if bad_blocks.size == 0:
        return True, order, 0
    key = np.where(np.isin(block, bad_blocks), ratio, 0.0)
    pos = np.lexsort((np.arange(order.shape[0]), key, block))
    return False, order[pos], int(bad_blocks.size)


def _prefix_violation(v: np.ndarray, w: np.ndarray, block: np.ndarray, w_block: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """max over U in each block S of v(U) - W(U) (W_S - W(U)) (U = {} included: >= 0), by
    the prefix argument of ``gini_chain_certificate``; v_r = -inf means r is never in U.
    Returns (violation per block, sorted positions, index in them of each block's best
    prefix end, -1 for the empty set)."""
    fin = np.isfinite(v)
    vf = np.where(fin, v, 0.0)
    ratio = np.where(~fin, -np.inf, np.where(w > 0, vf / np.where(w > 0, w, 1.0),
                                             np.where(vf > 0, np.inf, np.where(vf < 0, -np.inf, 0.0))))
    srt = np.lexsort((-ratio, block))
    vs, ws, bs = vf[srt], w[srt], block[srt]
    first = np.concatenate([[True], bs[1:] != bs[:-1]])
    b0 = np.flatnonzero(first)
    grp = np.cumsum(first) - 1
    V = np.cumsum(vs) - (np.cumsum(vs) - vs)[b0][grp]
    A = np.cumsum(ws) - (np.cumsum(ws) - ws)[b0][grp]
    viol = np.where(fin[srt], V - A * (w_block[srt] - A), -np.inf)
    nb = int(block[-1]) + 1
    best = np.zeros(nb)
    arg = np.full(nb, -1)
    # per block: the maximum (and its position) of viol; empty set = 0
    key = np.lexsort((-viol, bs))
    top = key[np.concatenate([[True], bs[key][1:] != bs[key][:-1]])]
    pos_ok = viol[top] > 0
    best[bs[top][pos_ok]] = viol[top][pos_ok]
    arg[bs[top][pos_ok]] = top[pos_ok]
    return best, srt, arg


def gini_bare_certificate(level: np.ndarray, w: np.ndarray, need: np.ndarray, lo: np.ndarray,
                          hi: np.ndarray, budget_tight: bool, lam: float, lam_b: float,
                          order: np.ndarray, tol: float, resort: str = "split"
                          ) -> tuple[bool, np.ndarray, int, float, np.ndarray | None]:
    """Global optimality of L for min P(L) - lam w.L on the bare core (budget row
    sum_r n_r L_r <= C, level bounds lo <= L <= hi from t_min/t_max and hard thresholds),
    without the chain duals (docs/objectives.md, "bare-core certificate").

    KKT: some s in dP(L) equals lam w - lam_B n + alpha - beta with lam_B >= 0 (0 if the
    budget is slack), alpha_r >= 0 only at L_r = lo_r, beta_r >= 0 only at L_r = hi_r. With
    p = lam w - lam_B n - (the cross-block part of the subgradient), on each tied block S
    that asks for a q in B(c_S) (c(U) = W(U)(W_S - W(U))) inside the box l <= q <= u,
    l_r = p_r (-inf at an upper bound), u_r = p_r (+inf at a lower bound). For submodular c
    with c(S) = 0, c symmetric, B(c) meets the box iff l(U) <= c(U) and -u(U) <= c(U) for
    every U (Edmonds's polymatroid intersection): two prefix tests per block. The first
    violation V_lo(lam_B) decreases, the second V_hi(lam_B) increases in lam_B, so the best
    lam_B is where they cross (bisection; the LP's budget dual ``lam_b`` is tried first).
    Returns (certified, safe order, failing blocks, lam_B used, jump order or None). On
    failure each failing block is split along its most violated set U (the best prefix):
    U moved to the top of the block (it wants to rise) or to the bottom (it wants to fall),
    both parts keeping their order (safe: L stays in the new cone, so the value cannot
    increase); the jump order also moves U past the neighbouring blocks its violation can
    pay for (linearised at the current lam_B; no monotonicity guarantee, the driver falls
    back on the safe order when the jump does not improve)."""
    n = level.size
    ls, ws, ns = level[order], w[order], need[order]
    scale = max(1.0, float(np.abs(ls).max()))
    join = np.diff(ls) <= 1e-9 * scale
    block = np.concatenate([[0], np.cumsum(~join)])
    cum = np.cumsum(ws)
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    w_below = (cum - ws)[starts][block]
    w_block = np.add.reduceat(ws, starts)[block]
    w_above = cum[-1] - w_below - w_block
    a = lam * ws - ws * (w_below - w_above)
    eps = 1e-9 * np.maximum(1.0, np.abs(ls)) + 1e-9 / ns
    at_lo = ls <= lo[order] + eps
    at_hi = ls >= hi[order] - eps
    up_only, lo_only = at_hi & ~at_lo, at_lo & ~at_hi
    fixed = at_lo & at_hi

    def viol(lb: float):
        p = a - lb * ns
        v1 = np.where(up_only | fixed, -np.inf, p)        # l: cannot be pushed up at an upper bound
        v2 = np.where(lo_only | fixed, -np.inf, -p)       # -u: cannot be pushed down at a lower bound
        return _prefix_violation(v1, ws, block, w_block), _prefix_violation(v2, ws, block, w_block)

    def worst(lb: float):
        (b1, _, _), (b2, _, _) = r = viol(lb)
        return float(b1.max()), float(b2.max()), r

    if not budget_tight:
        lb = 0.0
        vlo, vhi, res = worst(lb)
    else:
        lb = max(0.0, float(lam_b))
        vlo, vhi, res = worst(lb)
        if max(vlo, vhi) > tol:
            left, right = 0.0, max(0.0, float(np.max(a / ns))) * (1 + 1e-12) + 1e-300
            vlo, vhi, res = worst(left)
            lb = left
            if vlo > vhi:
                for _ in range(100):
                    mid = 0.5 * (left + right)
                    mlo, mhi, mres = worst(mid)
                    if max(mlo, mhi) < max(vlo, vhi):
                        lb, vlo, vhi, res = mid, mlo, mhi, mres
                    if max(mlo, mhi) <= tol or right - left <= 1e-15 * max(1.0, right):
                        break
                    if mlo > mhi:
                        left = mid
                    else:
                        right = mid
    if max(vlo, vhi) <= tol:
        return True, order, 0, lb, None
    (b1, s1, a1), (b2, s2, a2) = res
    bad = np.flatnonzero(np.maximum(b1, b2) > tol)
    rank = np.zeros(n)                           # -1 bottom / +1 top of the own block (safe)
    p_now = a - lb * ns                          # the push up on each region at lam_B
    sub = np.where(up_only | fixed, -np.inf, p_now / np.where(ws > 0, ws, 1.0))
    sub = np.where(np.isin(block, bad), sub, 0.0)
    key = block.astype(float)                    # the jump: slot between blocks
    blev, bw = ls[starts], np.add.reduceat(ws, starts)
    for b in bad:
        up = b1[b] >= b2[b]
        srt, arg = (s1, a1[b]) if up else (s2, a2[b])
        first_b = np.searchsorted(block[srt], b)   # block[srt] is sorted by block id
        u_pos = srt[first_b:arg + 1]               # U: block b's best prefix
        rank[u_pos] = 1.0 if up else -1.0
        # jump: passing a block of weight W' costs 2 W(U) W' of the violation (the cross
        # terms of U change sign); pass blocks while that leaves some, within U's bounds
        wu, v = float(ws[u_pos].sum()), float(max(b1[b], b2[b]))
        reach = v / (2.0 * wu) if wu > 0 else 0.0
        if up:
            cap = float(hi[order][u_pos].min())
            fits = (np.cumsum(bw[b + 1:]) < reach) & (blev[b + 1:] < cap)
        else:
            floor = float(lo[order][u_pos].max())
            below = slice(b - 1, None, -1) if b > 0 else slice(0, 0)
            fits = (np.cumsum(bw[below]) < reach) & (blev[below] > floor)
        k = int(np.argmin(fits)) if fits.size and not fits.all() else int(fits.size)
        key[u_pos] = b + k + 0.5 if up else b - k - 0.5
    idx = np.arange(n)
    if resort == "block":   # failing blocks re-sorted by push / weight (U included)
        rank = sub
    safe = order[np.lexsort((idx, rank, block))]
    jump = order[np.lexsort((idx, rank, key))]
    return False, safe, int(bad.size), lb, (None if np.array_equal(jump, safe) else jump)


def ordered_chain_certificate(level: np.ndarray, w: np.ndarray, order: np.ndarray, nu: np.ndarray,
                              tol: float, G: Callable[[np.ndarray], np.ndarray]
                              ) -> tuple[bool, np.ndarray, int]:
    """``gini_chain_certificate`` for any convex ordered function
    P_G(L) = sum_r L_r (G(a_r + w_r) - G(a_r)), a_r the weight sorted below r, G convex
    (min-gini: G(b) = b^2 - b; owa: G = -V). On a tied block S spanning [a, a + W_S] the
    subgradients are the y with y(S) = G(a + W_S) - G(a) and y(X) <= G(a + W_S) - G(a + W_S - W(X))
    for every X in S (base polytope of a concave function of W(X)), so again the worst X are
    the prefixes of S by y_r / w_r descending. y = g(pi) - D' nu (chain duals nu >= 0)."""
    n = level.size
    if n < 2:
        return True, order, 0
    ws, block, flow, cum, starts = _chain_blocks(level, w, order, nu, tol)
    y = (G(cum) - G(cum - ws)) - flow
    end = (cum - ws)[starts][block] + np.add.reduceat(ws, starts)[block]   # a + W_S per position
    ratio = np.where(ws > 0, y / np.where(ws > 0, ws, 1.0), np.where(y > 0, np.inf, np.where(y < 0, -np.inf, 0.0)))
    srt = np.lexsort((-ratio, block))
    ys, wsrt, bs = y[srt], ws[srt], block[srt]
    first = np.concatenate([[True], bs[1:] != bs[:-1]])
    b0 = np.flatnonzero(first)
    grp = np.cumsum(first) - 1
    Y = np.cumsum(ys) - (np.cumsum(ys) - ys)[b0][grp]
    A = np.cumsum(wsrt) - (np.cumsum(wsrt) - wsrt)[b0][grp]
    e = end[srt]
    viol = Y - (G(e) - G(e - A))
    return _resort_failing(order, block, ratio, bs[viol > tol])
