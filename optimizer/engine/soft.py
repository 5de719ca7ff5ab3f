"""Soft thresholds, phase 1: the least weighted shortfall S*, then every later LP holds
sum w s <= S* (1 + slack) + slack."""

from __future__ import annotations

from dataclasses import replace

from models.data import RegionData
from optimizer.core.errors import SolverError
from optimizer.core.solution import LPSolution
from optimizer.engine.drivers.common import Build
from optimizer.engine.highs import solve_lp

SHORTFALL_SLACK = 1e-9


def shortfall_floor(data: RegionData, build: Build, time_limit: float | None) -> tuple[float, LPSolution]:
    """Phase 1 of soft mode: S* = min sum_r w_r s_r (the min-shortfall LP)."""
    lp = build(replace(data, options={**data.options, "soft_thresholds": True, "shortfall_cap": None}),
               "min-shortfall")
    first, _ = solve_lp(lp, "ipm", None, time_limit=time_limit)
    if first.status != "optimal":
        raise SolverError(f"HiGHS stopped with status '{first.status}' on the shortfall phase")
    return max(0.0, first.objective), first


def with_shortfall_cap(data: RegionData, s_star: float) -> RegionData:
    cap = s_star * (1 + SHORTFALL_SLACK) + SHORTFALL_SLACK
    return replace(data, options={**data.options, "soft_thresholds": True, "shortfall_cap": cap})
