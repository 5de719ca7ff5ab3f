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
They are not trusted: ``optimizer.certify`` checks primal and dual feasibility and
complementary slackness on the LP arrays before the answer is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WaterFill:
    level: float
    transfer: np.ndarray
    cap_binds: bool


def water_fill(own: np.ndarray, need: np.ndarray, threshold: np.ndarray, t_min: np.ndarray,
               t_max: np.ndarray, budget: float) -> WaterFill:
    c = np.maximum(t_min, threshold * need - own)
    c = np.maximum(c, 0.0) if np.all(t_min >= 0) else c
    with np.errstate(invalid="ignore"):
        cap = float(np.min((own + t_max) / need))
    k = (c + own) / need
    order = np.argsort(k, kind="stable")
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
    t = np.minimum(t_max, np.maximum(c, z * need - own))
    return WaterFill(z, t, cap_binds)
