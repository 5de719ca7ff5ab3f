"""Soft thresholds: who gets the money when the thresholds cannot all be met.

Two rules (``--scarcity``, ``[objective] scarcity``; docs/objectives.md, "Scarcity"):

- ``objective`` (the default): the thresholds become caps. No region is lifted above its
  threshold,  T_r <= max(t_min_r, gap_r),  gap_r = max(0, theta_r need_r - own_r),
  intersected with the region's own t_max (``threshold_caps``; with policy rows each cap
  is raised to the region's transfer in the least-spending split meeting them); then the
  chosen objective decides who gets the scarce money. min-cost (which would spend nothing under caps) falls
  back to the ``shortfall-first`` rule; min-shortfall is soft by definition and unchanged.
- ``shortfall-first``: phase 1, the least weighted shortfall S*, then every later LP holds
  sum w s <= S* (1 + slack) + slack (``shortfall_floor``, ``with_shortfall_cap``). On the
  bare core S* > 0 is the certified fractional knapsack's, a feasible point's value, so
  the held row needs no slack for HiGHS's phase-1 error: only its rounding, EXACT_SLACK
  relative. (The old absolute 1e-9 let phase 2 reopen shortfalls and move cvar by 8e-5 at
  2,000 regions: an answer set by a tolerance, and no certificate could accept the held
  set's optimum, optimizer/fast/held_set.py.)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.data import RegionData
from models.objectives import ObjectiveSpec
from optimizer.core.errors import SolverError
from optimizer.core.levels import gap_to_level, level_of
from optimizer.core.solution import LPSolution
from optimizer.engine.drivers.common import Build
from optimizer.engine.highs import solve_lp
from optimizer.fast.fastpath import fast_core_run
from optimizer.fast.waterfill import threshold_caps

SHORTFALL_SLACK = 1e-9
EXACT_SLACK = 1e-12     # relative: the held row over a certified S* > 0 (its float rounding only)
UNFUNDED_SHARE = 1e-6   # a transfer closing less than this share of a region's gap counts as none
DEFAULT_SCARCITY = "objective"
# objectives whose soft rounds keep the shortfall-first rule under --scarcity objective
SHORTFALL_FALLBACK = {"min-cost": "min-cost falls back to min-shortfall under scarcity: the least weighted "
                                  "shortfall is held, then the least total transfer among those splits "
                                  "(under threshold caps min-cost would spend nothing)"}


def shortfall_floor(data: RegionData, build: Build, time_limit: float | None) -> tuple[float, LPSolution]:
    """Phase 1 of soft mode: S* = min sum_r w_r s_r (the min-shortfall LP). On the bare
    core with S* > 0, the fractional knapsack certified on that LP (its algorithm is then
    "fractional knapsack": ``exact_floor``); else HiGHS."""
    bare = {k: v for k, v in data.options.items() if k != "shortfall_cap"}
    run = fast_core_run(replace(data, options={**bare, "soft_thresholds": True}), "min-shortfall", build,
                        False, False)
    if run is not None and run.first.objective > 0:
        return run.first.objective, run.first
    lp = build(replace(data, options={**data.options, "soft_thresholds": True, "shortfall_cap": None}),
               "min-shortfall")
    first, _ = solve_lp(lp, "ipm", None, time_limit=time_limit)
    if first.status != "optimal":
        raise SolverError(f"HiGHS stopped with status '{first.status}' on the shortfall phase")
    return max(0.0, first.objective), first


def exact_floor(phase1: LPSolution) -> bool:
    """True when ``shortfall_floor`` took the certified knapsack (S* is a feasible point's value)."""
    return phase1.algorithm == "fractional knapsack"


def with_shortfall_cap(data: RegionData, s_star: float, exact: bool = False) -> RegionData:
    """The held row's rhs: S* (1 + EXACT_SLACK) over a certified S* > 0 (``exact``), else
    S* (1 + SHORTFALL_SLACK) + SHORTFALL_SLACK (HiGHS's S*, or S* = 0)."""
    cap = s_star * (1 + EXACT_SLACK) if exact and s_star > 0 else s_star * (1 + SHORTFALL_SLACK) + SHORTFALL_SLACK
    return replace(data, options={**data.options, "soft_thresholds": True, "shortfall_cap": cap})


def scarcity_rule(options: dict) -> str:
    """The rule asked for (parsed options: 'objective' unless 'shortfall-first' is set)."""
    return options.get("scarcity") or DEFAULT_SCARCITY


def caps_apply(spec: ObjectiveSpec, met: bool, options: dict) -> bool:
    """True when this round's thresholds become caps: soft and out of reach (not ``met``:
    hard, or soft with every threshold reachable), rule 'objective', and an objective that
    is neither soft by definition nor a shortfall-first fallback."""
    return (not met and not spec.soft_thresholds and scarcity_rule(options) == "objective"
            and spec.name not in SHORTFALL_FALLBACK)


def with_threshold_caps(data: RegionData, policy_floor: np.ndarray | None = None) -> RegionData:
    """``data`` in scarcity mode: soft thresholds, no shortfall cap, the caps as t_max.
    ``policy_floor``: with policy rows, the least-spending split that meets them (thresholds
    0); each cap is raised to it, so a hold-harmless floor above a region's gap stays
    feasible and the caps never make a soft round infeasible."""
    caps = threshold_caps(data.threshold, data.own, data.need, data.t_min, data.t_max)
    if policy_floor is not None:
        caps = np.minimum(data.t_max, np.maximum(caps, policy_floor))
    opts = {k: v for k, v in data.options.items() if k != "shortfall_cap"}
    return replace(data, t_max=caps, options={**opts, "soft_thresholds": True, "threshold_caps": True})


def scarcity_summary(spec: ObjectiveSpec, hard: bool, options: dict, capped: bool, reachable: bool) -> dict:
    """The ``scarcity`` entry of summary.json: the rule asked for, the one in effect."""
    rule = scarcity_rule(options)
    if hard:
        effect = "none: the thresholds are hard"
    elif spec.soft_thresholds:
        effect = f"{spec.name}: the thresholds are its objective"
    elif capped:
        effect = "thresholds as caps: the objective decides who gets the scarce money"
    elif reachable:
        effect = "none: the thresholds can all be met (the least shortfall, 0, is held)"
    else:
        effect = "shortfall-first: the least weighted shortfall is held"
    out = {"rule": rule, "in_effect": effect}
    if not hard and not reachable and rule == "objective" and spec.name in SHORTFALL_FALLBACK:
        out["note"] = SHORTFALL_FALLBACK[spec.name]
    return out


def unfunded_below_threshold(ids, own: np.ndarray, need: np.ndarray, threshold: np.ndarray,
                             transfer: np.ndarray, money_tol: float, level_tol: float = 1e-6) -> list[str]:
    """The regions left below their threshold with no transfer: |T_r| within the money
    tolerance or below UNFUNDED_SHARE of the region's gap to its threshold (a solver's
    crumb: korea-17 shortfall-first gives Gangwon 0.002 of a 8,500 KRW billion gap). The
    output names each (summary.json ``below_threshold_unfunded``)."""
    level = level_of(own, need, transfer)
    short = threshold - level > level_tol * np.maximum(1.0, np.abs(threshold))
    gap = gap_to_level(threshold, own, need)
    crumb = np.abs(transfer) <= np.maximum(money_tol, UNFUNDED_SHARE * gap)
    return [str(ids[r]) for r in np.flatnonzero(short & crumb)]
