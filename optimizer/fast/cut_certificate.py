"""Exact optimality test for min Phi(L) + lin.L on the bare core, Phi the Lovasz extension of
S -> Q(W(S)) with Q concave, Q(0) = 0 (Gini's P, minus owa or cvar). Independent of how
the levels were found (optimizer/decompose.py) and of any LP duals.

KKT (the bare core: box ``lo <= L <= hi``, one budget row ``sum_r n_r L_r <= C``):
some s in dPhi(L) equals ``p + alpha - beta`` with ``p = -lin - lam_B n``, ``lam_B >= 0``
(0 if the budget is slack), ``alpha_r >= 0`` only at ``lo_r``, ``beta_r >= 0`` only at
``hi_r``. dPhi(L) is the face of the base polytope B(F) fixed by the level sets; on a
block S of tied levels with weight A strictly above it, ``s_S`` ranges over B(f) with
``f(U) = Q(A + W(U)) - Q(A)``. So on each block the test is ``B(f) meets the box [l, u]``
(``l_r = p_r`` unless at hi, then -inf; ``u_r = p_r`` unless at lo, then +inf), which
for submodular f holds iff (Frank's discrete sandwich theorem)

    (1) l(U) <= f(U)                   and   (2) u(U) >= f(S) - f(S \\ U)   for all U.

Both sides depend on U through W(U) only except for l(U), u(U): for fixed W(U) = a the best
l(U) is a fractional knapsack (concave piecewise linear in a, breakpoints at the prefixes
of S sorted by l_r / w_r descending), and ``-f(U)`` resp. ``f(S) - f(S \\ U)`` is convex in a,
so the worst U is a prefix: two sorted prefix scans per block, O(n log n). Violation (1)
falls and (2) rises with lam_B, so the best lam_B is where they cross (bisection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from optimizer.fast.decompose import CutFunction
from optimizer.fast.prefix_scan import best_per_block, block_prefixes


@dataclass(frozen=True)
class CutCertificate:
    ok: bool
    lam_b: float          # the budget multiplier found
    violation: float      # the largest violation of (1) or (2), in objective units
    tol: float


def _worst_prefix(v: np.ndarray, w: np.ndarray, block: np.ndarray,
                 cost_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 order: np.ndarray | None = None) -> np.ndarray:
    """max over U in each block of v(U) - cost_of(a, block) with a = W(U) (U = {} gives 0),
    by the prefix scan (optimizer/fast/prefix_scan.py); v_r = -inf: r never in U. ``order``:
    the scan order if known (blocks, then v_r / w_r descending, the -inf entries last in
    their block)."""
    pre = block_prefixes(v, w, block, order)
    gain = np.where(pre.allowed, pre.value - cost_of(pre.weight, pre.block), -np.inf)
    n_blocks = int(block.max()) + 1 if block.size else 0
    return best_per_block(gain, pre.block, n_blocks)


def cut_certificate(level: np.ndarray, w: np.ndarray, need: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    budget_tight: bool, lin: np.ndarray, cut: CutFunction, rtol: float = 1e-7,
                    lam_b_hint: float | None = None) -> CutCertificate:
    n = level.size
    order = np.lexsort((np.arange(n), -level))          # descending levels
    ls, ws, ns, lin_s = level[order], w[order], need[order], lin[order]
    scale = max(1.0, float(np.abs(ls).max()))
    split = np.diff(ls) < -1e-9 * scale
    block = np.concatenate([[0], np.cumsum(split)])
    starts = np.flatnonzero(np.concatenate([[True], split]))
    w_blk = np.add.reduceat(ws, starts)
    above = np.cumsum(w_blk) - w_blk                     # weight strictly above each block
    eps = 1e-9 * np.maximum(1.0, np.abs(ls)) + 1e-9 / ns
    at_lo = ls <= lo[order] + eps
    at_hi = ls >= hi[order] - eps
    q = cut.value

    def cost1(a: np.ndarray, b: np.ndarray) -> np.ndarray:        # f(U) = Q(A + a) - Q(A)
        return q(above[b] + a) - q(above[b])

    def cost2(a: np.ndarray, b: np.ndarray) -> np.ndarray:        # f(S \ U) - f(S)
        top = above[b] + w_blk[b]
        return q(top - a) - q(top)

    slope = cut.magnitude() / max(cut.total, 1e-300)
    tol = rtol * (float(ws.max()) * slope + float(np.abs(lin_s).max()))

    # when lin is proportional to w (Gini's -lam w, or 0) the scan orders do not depend on
    # lam_B: p_r / w_r = const - lam_B n_r / w_r, so sort once by need per weight
    srt1 = srt2 = None
    if np.all(ws > 0):
        base = lin_s / ws
        if np.allclose(base, base[0], rtol=1e-12, atol=0.0):
            rho = ns / ws
            srt1 = np.lexsort((rho, at_hi, block))       # p / w descending = rho ascending
            srt2 = np.lexsort((-rho, at_lo, block))      # -p / w descending = rho descending

    def worst(lb: float) -> tuple[float, float]:
        p = -lin_s - lb * ns
        v1 = np.where(at_hi, -np.inf, p)                 # (1) l(U) - f(U)
        v2 = np.where(at_lo, -np.inf, -p)                # (2) -u(U) + f(S) - f(S \ U)
        return (float(_worst_prefix(v1, ws, block, cost1, srt1).max()),
                float(_worst_prefix(v2, ws, block, cost2, srt2).max()))

    if not budget_tight:
        v1, v2 = worst(0.0)
        return CutCertificate(max(v1, v2) <= tol, 0.0, max(v1, v2), tol)
    best_lb, best = 0.0, np.inf
    for lb in ([lam_b_hint] if lam_b_hint is not None and lam_b_hint >= 0 else []):
        v1, v2 = worst(lb)
        best_lb, best = lb, max(v1, v2)
        if best <= tol:
            return CutCertificate(True, lb, best, tol)
    left, right = 0.0, float(np.max((np.abs(lin_s) + ws * slope) / ns)) * 2.0 + 1e-300
    for _ in range(200):
        mid = 0.5 * (left + right)
        v1, v2 = worst(mid)
        if max(v1, v2) < best:
            best_lb, best = mid, max(v1, v2)
        if best <= tol or right - left <= 1e-15 * right:
            break
        if v1 > v2:
            left = mid
        else:
            right = mid
    return CutCertificate(best <= tol, best_lb, best, tol)
