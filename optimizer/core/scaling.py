"""Money scaling: the LP sees needs of order one, results come back in the instance unit.

Real instances are in KRW billions (needs of 1e3..1e5); generated ones span more. We
divide every money figure by one power of ten chosen from the median need, so the
threshold rows (coefficient 1/need) and the budget row are well conditioned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.data import RegionData
from optimizer.core.instance import Instance


@dataclass(frozen=True)
class RoundData:
    """The parameters of one solve, in the instance unit (before scaling)."""

    budget: float
    threshold: np.ndarray
    t_min: np.ndarray
    t_max: np.ndarray


def money_scale(need: np.ndarray) -> float:
    med = float(np.median(need))
    return 10.0 ** math.floor(math.log10(med)) if med > 0 else 1.0


def round_data(inst: Instance, budget: float | None = None, threshold: float | None = None) -> RoundData:
    reg = inst.regions
    t_min = np.nan_to_num(reg["min_transfer"].to_numpy(dtype=float), nan=0.0)
    t_max = reg["max_transfer"].to_numpy(dtype=float)
    t_max = np.where(np.isnan(t_max), np.inf, t_max)
    return RoundData(
        budget=inst.budget if budget is None else float(budget),
        threshold=inst.thresholds(threshold),
        t_min=t_min, t_max=t_max)


def to_region_data(inst: Instance, rd: RoundData, scale: float) -> RegionData:
    reg = inst.regions
    return RegionData(
        own=reg["own_revenue"].to_numpy(dtype=float) / scale,
        need=reg["fiscal_need"].to_numpy(dtype=float) / scale,
        threshold=rd.threshold,
        weight=inst.weights(),
        t_min=_scaled(rd.t_min, scale),
        t_max=_scaled(rd.t_max, scale),
        budget=rd.budget / scale,
    )


def _scaled(x: np.ndarray, scale: float) -> np.ndarray:
    """``x / scale``; ``x`` itself when the division changes no bit (every value 0 or infinite:
    the usual transfer bounds), so the round keeps one array where it had two (8 MB at 1e6)."""
    return x if not np.any(np.isfinite(x) & (x != 0)) else x / scale
