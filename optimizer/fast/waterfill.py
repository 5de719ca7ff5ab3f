"""Closed-form max-min (water-filling) for the core constraints, with its duals.

Region r needs c_r = max(a_r, theta_r n_r - o_r) at least. Lifting every region to level z
costs S(z) = sum_r max(c_r, z n_r - o_r), piecewise linear and increasing, with breakpoints
k_r = (c_r + o_r)/n_r; z is also capped by min_r (o_r + b_r)/n_r. So

    z* = min(cap, S^{-1}(B)),     T_r = min(b_r, max(c_r, z* n_r - o_r))

(the least-spending optimal split, i.e. exactly what the LP's tie-break phase returns).

Duals of the max-min LP (HiGHS convention, objective min -z): with A the regions whose
transfer sits strictly inside (c_r, b_r] at level z*, N_A = sum_A n_r,
    budget row  y_B = -1/N_A                   (0 when the cap binds instead)
    floor rows  mu_r = n_r / N_A on A          (mu_r0 = 1 on the capping region)
    threshold rows: n_r/N_A where theta_r > z* and the threshold holds the transfer
They are not trusted: ``optimizer.fast.certify`` checks primal and dual feasibility and
complementary slackness on the LP arrays before the answer is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.core.levels import least_transfer, level_of, required_transfer, transfer_to_level
from optimizer.core.ordering import stable_argsort


@dataclass(frozen=True)
class WaterFill:
    level: float
    transfer: np.ndarray
    cap_binds: bool


def threshold_caps(threshold: np.ndarray, own: np.ndarray, need: np.ndarray, t_min: np.ndarray,
                   t_max: np.ndarray) -> np.ndarray:
    """The transfer caps of scarcity mode (soft thresholds as caps, engine/soft.py):
    min(t_max_r, max(t_min_r, gap_r)), gap_r = max(0, theta_r need_r - own_r): no region
    lifted above its threshold (one already above it keeps only its t_min). Water-filling
    with these caps and the thresholds at 0 gives level_r = min(theta_r, max(L0_r, z))."""
    return np.minimum(t_max, required_transfer(threshold, own, need, t_min))


def water_fill(own: np.ndarray, need: np.ndarray, threshold: np.ndarray, t_min: np.ndarray,
               t_max: np.ndarray, budget: float) -> WaterFill:
    c = least_transfer(threshold, own, need, t_min)
    with np.errstate(invalid="ignore"):
        cap = float(np.min(level_of(own, need, t_max)))
    k = level_of(own, need, c)
    order = stable_argsort(k)
    ks, ns = k[order], need[order]
    cum_need = np.cumsum(ns)
    # S at breakpoint j: sum c + sum_{i<=j} (ks[j] n_i - o_i - c_i) = base + ks[j]*cumN_j - cumK_j
    base = float(c.sum())
    cum_kn = np.cumsum(ks * ns)           # sum_{i<=j} k_i n_i = sum (c_i + o_i)
    spent_at = base + ks * cum_need - cum_kn
    j = int(np.searchsorted(spent_at, budget, side="right")) - 1
    if j < 0:
        z = float(ks[0])  # budget below the requirement: infeasible, caller has diagnosed
    else:
        z = float(ks[j] + (budget - spent_at[j]) / cum_need[j])
    cap_binds = cap <= z
    z = min(z, cap)
    t = np.minimum(t_max, np.maximum(c, transfer_to_level(z, own, need)))
    return WaterFill(z, t, cap_binds)


def leximin_fill(own: np.ndarray, need: np.ndarray, threshold: np.ndarray, t_min: np.ndarray,
                 t_max: np.ndarray, budget: float) -> tuple[np.ndarray, float]:
    """Leximin levels under box bounds and one budget: L_r = clip(z, lo_r, hi_r).

    lo_r = (c_r + o_r)/n_r is the least level region r can have (threshold, min_transfer),
    hi_r = (o_r + b_r)/n_r the most (max_transfer). Spending sum_r (n_r L_r - o_r) is
    piecewise linear and increasing in z with slope sum of n_r over regions with
    lo_r < z < hi_r; z solves spending = B (or z = max hi when the budget exceeds every
    cap: the rest stays unspent). With a single resource row and box constraints this
    progressive filling is the leximin optimum (raising any level would need money taken
    from a region at an equal or lower level). Returns (transfers, z).
    """
    c = least_transfer(threshold, own, need, t_min)
    lo = level_of(own, need, c)
    hi = level_of(own, need, t_max)
    floor_cost = float(np.sum(c))
    # breakpoints: +n_r at lo_r, -n_r at hi_r (hi may be inf)
    pts = np.concatenate([lo, hi])
    dslope = np.concatenate([need, -need])
    keep = np.isfinite(pts)
    pts, dslope = pts[keep], dslope[keep]
    order = stable_argsort(pts)
    pts, dslope = pts[order], dslope[order]
    slope_after = np.cumsum(dslope)                # slope on (pts[j], pts[j+1])
    seg = np.diff(pts)
    spend_at = floor_cost + np.concatenate([[0.0], np.cumsum(slope_after[:-1] * seg)])
    j = int(np.searchsorted(spend_at, budget, side="right")) - 1   # last breakpoint within budget
    if j < 0:
        z = float(pts[0])            # budget below the floors: infeasible, diagnosed upstream
    elif slope_after[j] > 1e-300:
        z = float(pts[j]) + (budget - float(spend_at[j])) / float(slope_after[j])
        if j + 1 < len(pts):
            z = min(z, float(pts[j + 1]))
    else:
        z = float(pts[j])            # every region at its cap: the rest of the budget stays unspent
    level = np.clip(z, lo, hi)
    t = np.minimum(t_max, np.maximum(c, transfer_to_level(level, own, need)))
    return t, z


def max_mean_fill(own: np.ndarray, need: np.ndarray, weight: np.ndarray, threshold: np.ndarray,
                  t_min: np.ndarray, t_max: np.ndarray, budget: float) -> float:
    """max sum_r w_r L_r over the core (hard thresholds): a fractional knapsack.

    Each region first gets c_r = max(t_min_r, theta_r n_r - o_r); each further unit of
    money raises the objective by w_r / n_r, so the rest goes to the largest w_r / n_r
    first, up to t_max. Returns the optimal weighted mean level.
    """
    c = least_transfer(threshold, own, need, t_min)
    left = budget - float(c.sum())
    room = t_max - c
    order = stable_argsort(-(weight / need))
    room_sorted = room[order]
    before = np.concatenate([[0.0], np.cumsum(room_sorted)[:-1]])
    give_sorted = np.clip(left - before, 0.0, room_sorted)
    t = c.copy()
    t[order] += give_sorted
    return float(np.dot(weight, level_of(own, need, t)))


def knapsack_shortfall(own: np.ndarray, need: np.ndarray, weight: np.ndarray, threshold: np.ndarray,
                       t_min: np.ndarray, t_max: np.ndarray, budget: float) -> tuple[np.ndarray, float]:
    """min sum_r w_r max(0, theta_r - L_r) within the budget: a fractional knapsack.

    After the forced t_min, a unit of money given to region r cuts its shortfall by 1/n_r,
    worth w_r/n_r, until its gap closes (or t_max). Fill by w_r/n_r, largest first (ties by
    index). Returns (transfers, rho): rho is the marginal worth w/n of the last region
    funded when the budget runs out, 0 when every gap that can close does (least spending).
    """
    t = t_min.astype(float).copy()
    left = budget - float(t.sum())
    room = np.clip(np.minimum(transfer_to_level(threshold, own, need) - t, t_max - t), 0.0, None)
    order = np.lexsort((np.arange(own.shape[0]), -(weight / need)))
    room_sorted = room[order]
    before = np.concatenate([[0.0], np.cumsum(room_sorted)[:-1]])
    give = np.clip(left - before, 0.0, room_sorted)
    t[order] += give
    partial = np.flatnonzero((give > 0) & (give < room_sorted))
    short = left < float(room_sorted.sum())
    if not short:
        return t, 0.0
    # the budget runs out inside region order[k]'s room (or exactly at a boundary)
    k = int(partial[0]) if partial.size else int(np.searchsorted(np.cumsum(room_sorted), left, side="left"))
    k = min(k, len(order) - 1)
    r = order[k]
    return t, float(weight[r] / need[r])
