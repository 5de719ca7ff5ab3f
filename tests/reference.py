"""Independent closed-form answers the LP results are checked against.

Nothing here imports the project's model or solver: these are the textbook
solutions written from scratch (numpy only).
"""

from __future__ import annotations

import numpy as np


def required_transfer(own, need, theta, t_min):
    """Least transfer per region that meets its threshold (and its min_transfer)."""
    return np.maximum(t_min, np.maximum(0.0, theta * need - own))


def water_filling(own, need, theta, t_min, t_max, budget):
    """Max-min level z* and the least-spending transfers achieving it.

    Each region needs c_r = required_transfer; lifting everyone to level z costs
    S(z) = sum_r max(c_r, z need_r - own_r), piecewise linear and increasing in z,
    with breakpoints k_r = (c_r + own_r) / need_r. z is also capped by
    min_r (own_r + t_max_r) / need_r. Solved exactly by walking the sorted breakpoints.
    """
    c = required_transfer(own, need, theta, t_min)
    cap = float(np.min((own + t_max) / need))
    k = (c + own) / need
    order = np.argsort(k)
    ks, ns = k[order], need[order]
    base = c.sum()
    # On [ks[j], ks[j+1]] the regions order[:j+1] are "active": S(z) = base_rest + sum(z n - own)
    z = ks[0]
    spent = base
    active_need = 0.0
    for j in range(len(ks)):
        active_need += ns[j]
        nxt = ks[j + 1] if j + 1 < len(ks) else np.inf
        # S(z) for z in [ks[j], nxt] = spent_at_ks[j] + active_need * (z - ks[j])
        room = budget - spent
        z_here = ks[j] + room / active_need
        if z_here <= nxt:
            z = z_here
            break
        spent += active_need * (nxt - ks[j])
    z = min(z, cap)
    t = np.minimum(t_max, np.maximum(c, z * need - own))
    return float(z), t


def fractional_knapsack_shortfall(own, need, theta, weight, t_min, t_max, budget):
    """Least weighted shortfall sum_r w_r max(0, theta_r - L_r) within the budget.

    After the forced t_min, each money unit given to region r cuts its shortfall by
    1/need_r, worth w_r/need_r, until its gap closes (or t_max is hit): a fractional
    knapsack, filled greedily by w_r/need_r.
    """
    w = weight / weight.sum()
    t = t_min.astype(float).copy()
    left = budget - t.sum()
    gap = np.maximum(0.0, theta * need - own - t)
    room = np.minimum(gap, t_max - t)
    for r in sorted(range(len(own)), key=lambda r: -w[r] / need[r]):
        give = min(max(room[r], 0.0), max(left, 0.0))
        t[r] += give
        left -= give
    level = (own + t) / need
    return float(np.dot(w, np.maximum(0.0, theta - level))), t
