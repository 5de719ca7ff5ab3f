"""Shortfall-first with the thresholds out of reach (S* > 0, the budget binds): the set the
held row leaves, and what its slack can gain (optimizer/fast/decomposition_paths.py).

The LP of record is the soft core (``L_r + s_r >= theta_r``, ``s_r >= 0``, budget, transfer
bounds) plus the held row ``sum_r w_r s_r <= eps``, eps = S* (1 + 1e-9) + 1e-9
(engine/soft.py). The fractional knapsack (optimizer/fast/waterfill.py) gives S* and the
duals of the min-shortfall LP: the budget's rho = w/n of the last region funded, and on
the threshold rows tau_r = w_r (short), min(w_r, rho n_r) (met exactly), 0 (above). For
ANY point x of the soft core, by LP duality (an identity, term by term),

    sum_r w_r s_r - D = sum_r [(w_r - tau_r) s_r + tau_r (L_r + s_r - theta_r)
                               + rc_r (T_r - its bound)] + rho (B - sum_r T_r)  >= 0,

rc_r = rho - tau_r / n_r, D the dual value (= S* at the knapsack's optimum). Every term is
>= 0, so each way of leaving the knapsack's answer costs held slack at a known rate per won
(``_classes``): a region with w/n below rho stays at t_min (rate rho - w/n); above rho it
is at its threshold (up: rho, down: w/n - rho) or short at t_max (w/n - rho); a region
above its threshold at t_min stays there (rho). Only the tie class w/n = rho (exactly,
with a gap open) moves freely, below its threshold, with the budget spent. So at eps = S*
the held LP is the bare core with those transfers fixed, the tie class boxed
t_min .. min(t_max, the threshold's transfer), the thresholds at 0 (``HeldSet.core``),
which the decomposition and its KKT certificates solve (one tie region: a single point).

The slack eps - S* can gain at most (eps - D) kappa: with g a subgradient of the
objective at the certified optimum, f(x) - v* >= lam_B (B - sum T) - sum over the boxes the
set adds of |g_r + lam_B n_r| |dL_r|, and |g_r + lam_B n_r| <= P_r (the objective's slope
in L_r plus lam_B n_r), so kappa = max_r (P_r / n_r) / rate_r (``held_set_gain``). A point
is accepted when that bound is within HELD_TOL; anything else goes to the LP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from models.data import RegionData
from optimizer.core.levels import level_of, transfer_to_level
from optimizer.fast.waterfill import knapsack_shortfall

ROUND = 4e-16          # a few units in the last place: the float rounding of a fixed transfer
MARGIN = 1e-15         # the rounding of each term of the dual bound (a few ulps of its terms), relative


@dataclass(frozen=True)
class HeldSet:
    core: RegionData      # the bare core (thresholds 0) whose optimum set is the held LP's at eps = S*
    fixed: np.ndarray     # bool: transfer fixed in ``core`` (everything but the tie class)
    rate: np.ndarray      # held slack per won of leaving the fixed value (fixed regions; tie: rho)
    ref: np.ndarray       # the exact value the rates are measured from (bound or threshold transfer)
    tie_fixed: int        # the one tie region fixed by the budget (-1: the tie class is free)
    rho: float
    slack: float          # eps - D, D the knapsack's dual bound on S* (less its rounding)


def _classes(d: RegionData, t: np.ndarray, rho: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(tau, rc, tie, rate, ref) of the knapsack's answer ``t``, or None when its complementary
    slackness does not hold in floats (then the LP decides)."""
    ratio = d.weight / d.need
    level = level_of(d.own, d.need, t)
    tol = 1e-12 * np.maximum(1.0, np.abs(d.threshold))
    s = np.maximum(0.0, d.threshold - level)
    short = s > tol
    tight = ~short & (np.abs(level + s - d.threshold) <= tol)
    above = ~short & ~tight
    tie = (ratio == rho) & ~above
    tau = np.where(short | tie, d.weight, np.where(tight, np.minimum(d.weight, rho * d.need), 0.0))
    lo, hi = (ratio < rho) & ~above, (ratio > rho) & ~above
    at_min = np.abs(t - d.t_min) <= 1e-12 * np.maximum(1.0, np.abs(d.t_min))
    at_max = np.abs(t - d.t_max) <= 1e-12 * np.maximum(1.0, np.abs(d.t_max))
    if np.any((lo | above) & ~at_min) or np.any(hi & short & ~at_max):
        return None
    t_theta = transfer_to_level(d.threshold, d.own, d.need)
    rate = np.where(lo, rho - ratio, np.where(hi & short, ratio - rho,
                    np.where(hi, np.minimum(rho, ratio - rho), rho)))
    ref = np.where(lo | above, d.t_min, np.where(hi & short, d.t_max, np.where(hi, t_theta, t)))
    # rc = rho - tau / n, written per class: exactly 0 where tau = rho n or w = rho n (the
    # float quotient may land an ulp either side; _dual_bound's margin covers it)
    rc = np.where(lo, rho - ratio, np.where(above, rho, np.where(hi & short, rho - ratio, 0.0)))
    return tau, rc, tie, rate, ref


def _dual_bound(d: RegionData, tau: np.ndarray, rc: np.ndarray, rho: float) -> float | None:
    """D = sum tau (theta - own / n) - rho B + sum_r min over [t_min, t_max] of rc_r T_r,
    less a rounding margin: a lower bound on S*. None when it is -inf."""
    if np.any((rc < 0) & ~np.isfinite(d.t_max)):
        return None
    box = np.where(rc >= 0, rc * d.t_min, rc * np.where(np.isfinite(d.t_max), d.t_max, 0.0))
    terms = tau * (d.threshold - d.own / d.need)
    # fsum: the sums exactly rounded, so only each term's own rounding (a few ulps) is left
    total = math.fsum(terms) - rho * d.budget + math.fsum(box)
    finite = np.abs(d.t_min) + np.where(np.isfinite(d.t_max), np.abs(d.t_max), 0.0)
    scale = (math.fsum(tau * (np.abs(d.threshold) + np.abs(d.own / d.need))) +
             rho * (abs(d.budget) + math.fsum(finite)) + math.fsum(np.abs(box)))
    return total - MARGIN * scale


def held_set(d: RegionData) -> HeldSet | None:
    """The held LP's optimum set at eps = S* as a bare core, when the budget binds in the
    min-shortfall knapsack (rho > 0) and its duals certify it; else None."""
    eps = d.options.get("shortfall_cap")
    if eps is None or not np.all(d.need > 0) or np.any(d.weight < 0):
        return None
    t, rho = knapsack_shortfall(d.own, d.need, d.weight, d.threshold, d.t_min, d.t_max, d.budget)
    if not rho > 0 or not np.all(np.isfinite(t)):
        return None
    cls = _classes(d, t, rho)
    bound = None if cls is None else _dual_bound(d, cls[0], cls[1], rho)
    if cls is None or bound is None or bound > float(eps):
        return None
    _, _, tie, rate, ref = cls
    tie_at = np.flatnonzero(tie)
    tie_fixed = int(tie_at[0]) if tie_at.size == 1 else -1
    fixed = ~tie if tie_fixed < 0 else np.ones(d.n, dtype=bool)
    t_top = np.minimum(d.t_max, np.maximum(d.t_min, transfer_to_level(d.threshold, d.own, d.need)))
    core = replace(d, threshold=np.zeros(d.n), t_min=np.where(fixed, t, d.t_min),
                   t_max=np.where(fixed, t, t_top))
    return HeldSet(core, fixed, rate, ref, tie_fixed, rho, float(eps) - bound)


def held_set_gain(hs: HeldSet, level: np.ndarray, t: np.ndarray, lam_b: float, lin_per_w: float,
                  slope: float) -> float:
    """An upper bound, in objective units, on how far the LP of record's optimum lies below
    the certified optimum ``level`` (transfers ``t``) of ``hs.core``: kappa (eps - D) plus
    the rounding of the fixed transfers and the money left unspent (module docstring).
    lin_per_w, slope: the objective's linear coefficient and largest |Q'| per weight (as
    decomposition_paths.held_gain_ok); lam_b >= 0 the certified budget multiplier."""
    d = hs.core
    c = (d.weight * (abs(lin_per_w) + slope) + lam_b * d.need) / d.need     # per won
    top = d.t_max[~hs.fixed]
    at_top = np.zeros(d.n, dtype=bool)
    at_top[~hs.fixed] = t[~hs.fixed] >= top - 1e-12 * np.maximum(1.0, np.abs(top))   # (a t_max top: conservative)
    c_tie = float(c[hs.tie_fixed])
    if hs.tie_fixed >= 0:   # the tie region absorbs every other move and the money left unspent
        others = np.ones(d.n, dtype=bool)
        others[hs.tie_fixed] = False
        ratios = (c[others] + c_tie) / hs.rate[others]
        kappa = max(c_tie / hs.rho, float(np.max(ratios, initial=0.0)))
    else:
        ratios = np.where(hs.fixed, c / np.where(hs.fixed, hs.rate, 1.0), np.where(at_top, c / hs.rho, 0.0))
        kappa = float(np.max(ratios, initial=0.0))
    if not np.isfinite(kappa) or np.any(hs.rate[hs.fixed] <= 0):
        return float("inf")
    rounding = float(np.dot(c[hs.fixed], np.abs(t[hs.fixed] - hs.ref[hs.fixed]) +
                            ROUND * (np.abs(hs.ref[hs.fixed]) + np.abs(t[hs.fixed]) + np.abs(d.own[hs.fixed]))))
    unspent = (c_tie if hs.tie_fixed >= 0 else lam_b) * abs(d.budget - float(t.sum()))
    return kappa * hs.slack + rounding + unspent
