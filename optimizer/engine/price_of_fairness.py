"""The price of fairness and the summary notes every solve adds after the allocation.

One definition, shared by solve, compare and batch (they all read the solve's summary):

    price of fairness = (mu* - mu) / mu*

mu = the weighted mean level of the allocation; mu* = the utilitarian optimum (max-mean)
of the same round: the same budget, transfer bounds and policy rows, with the thresholds
imposed exactly when the round can meet them all, whatever the objective's threshold mode.
So mu* depends on the round only, never on the objective: two objectives that give the
same allocation have the same price of fairness (min-cost and min-shortfall on korea-17:
3.2143% both; min-shortfall's soft mode once dropped the thresholds from its reference).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from models.data import RegionData
from models.objectives import ObjectiveSpec
from optimizer.core.levels import least_transfer
from optimizer.core.metrics import price_of_fairness, total_shortfall
from optimizer.engine.drivers.common import Build
from optimizer.engine.highs import solve_lp
from optimizer.fast.group_mean import policy_max_mean
from optimizer.fast.waterfill import max_mean_fill

MASTER_TOL = 1e-10  # the column generation's master LP: its reduced costs decide the next column
REACH_RTOL = 1e-9   # the thresholds are reachable when their least cost fits the budget to this


def reference_data(data: RegionData, hard: bool) -> RegionData:
    """The round of the max-mean reference: thresholds hard or dropped, no shortfall held."""
    return replace(data, options={**data.options, "soft_thresholds": not hard, "shortfall_cap": None})


def mean_level_max(data: RegionData, build: Build, time_limit: float | None,
                   closed_form: bool = False, seed: np.ndarray | None = None) -> float | None:
    """mu*: the max-mean value of the same round (weighted by the objective weights), the
    thresholds hard when they can all be met, else dropped. On the bare core a fractional
    knapsack (optimizer/fast/waterfill.py); with policy rows the layered bracket of
    optimizer/fast/policy_mean.py when it closes (with binding group rows, the column generation
    of optimizer/fast/group_mean.py, seeded with ``seed``, the allocation's levels, when they
    meet every row), else an LP (hard first; infeasible -> dropped)."""
    if closed_form:
        c = least_transfer(data.threshold, data.own, data.need, data.t_min)
        reach = bool(c.sum() <= data.budget * (1 + REACH_RTOL) + REACH_RTOL and np.all(c <= data.t_max))
        theta = data.threshold if reach else np.zeros(data.n)
        return max_mean_fill(data.own, data.need, data.weight, theta, data.t_min, data.t_max, data.budget)
    for hard in (True, False):
        lp = build(reference_data(data, hard), "max-mean")
        # policy rows as bounds, no-overtaking as a chain, binding group rows by column generation
        fast = policy_max_mean(lp, data, hard, lambda small: solve_lp(small, tolerance=MASTER_TOL)[0], seed)
        if fast is not None:
            return fast
        first, _ = solve_lp(lp, "simplex", None, time_limit=time_limit)
        if first.status == "optimal":
            return first.objective
        if first.status != "infeasible":
            return None
    return None


def add_fairness_summary(result, data: RegionData, spec: ObjectiveSpec, build: Build, info: dict,
                         price: bool, time_limit: float | None, closed_form: bool = False) -> None:
    """Merge the driver's notes into the summary; add total shortfall (money) to the metrics
    and the price of fairness: (max-mean value - mean level here) / max-mean value, the
    means weighted by the objective weights, max-mean solved on the same round."""
    s, a = result.summary, result.allocation
    need = a["fiscal_need"].to_numpy(dtype=float)
    thr = a["threshold"].to_numpy(dtype=float)
    for key, col in (("metrics_before", "level_before"), ("metrics_after", "level_after")):
        if key in s:
            lv = a[col].to_numpy(dtype=float)
            s[key]["total_shortfall"] = total_shortfall(lv, thr, need)
    level = a["level_after"].to_numpy(dtype=float)
    mean_here = float(np.dot(data.weight, level))
    pof: dict[str, Any] = {"mean_level": mean_here, "max_mean_level": None, "value": None}
    if spec.name == "max-mean":
        pof |= {"max_mean_level": mean_here, "value": 0.0}
    elif price:
        ref = mean_level_max(data, build, time_limit, closed_form, level)
        if ref is not None and ref > 0:
            pof |= {"max_mean_level": ref, "value": price_of_fairness(ref, mean_here)}
    s["price_of_fairness"] = pof
    s.update(info)
