"""The price of fairness and the summary notes every solve adds after the allocation."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.data import RegionData
from models.objectives import ObjectiveSpec
from optimizer.core.metrics import price_of_fairness, total_shortfall
from optimizer.engine.drivers.common import Build
from optimizer.engine.highs import solve_lp
from optimizer.fast.waterfill import max_mean_fill


def mean_level_max(data: RegionData, build: Build, time_limit: float | None,
                   closed_form: bool = False) -> float | None:
    """The max-mean value of the same round (weighted by the objective weights); on the
    bare core it is a fractional knapsack (optimizer/waterfill.py), else an LP."""
    soft = bool(data.options.get("soft_thresholds"))
    if closed_form and "shortfall_cap" not in data.options:
        theta = np.zeros(data.n) if soft else data.threshold   # soft: thresholds do not bind
        return max_mean_fill(data.own, data.need, data.weight, theta, data.t_min,
                             data.t_max, data.budget)
    lp = build(data, "max-mean")
    first, _ = solve_lp(lp, "simplex", None, time_limit=time_limit)
    return first.objective if first.status == "optimal" else None


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
        ref = mean_level_max(data, build, time_limit, closed_form)
        if ref is not None and ref > 0:
            pof |= {"max_mean_level": ref, "value": price_of_fairness(ref, mean_here)}
    s["price_of_fairness"] = pof
    s.update(info)
