"""Structure-exploiting paths on the bare core: the dispatch, and max-min, leximin and
min-shortfall (min-range: optimizer/fast/range_path.py; min-gini, owa, cvar:
optimizer/fast/decomposition_paths.py).

The max-min LP has its level variable z in every floor row; simplex needs ~0.3n
iterations of O(n) each (158 s at 1e5 regions). With only the core constraints
(budget, thresholds, transfer bounds) the answer is known in closed form
(optimizer/fast/waterfill.py), and so are the LP's duals. We build the LP of record anyway
(arrays, O(n)), plug in the closed-form primal and dual, and accept them only if
``optimizer.fast.certify`` proves them optimal for that LP; otherwise the caller solves the LP
with HiGHS as usual. So the reported answer and duals are always those of the model of
record, certified, and a formulation change that breaks the closed form falls back safely.

Scarcity (soft thresholds as caps, ``d.options["threshold_caps"]``; engine/soft.py): the
LP of record is the soft maxmin LP with t_max_r = min(t_max_r, max(t_min_r, gap_r)) and no
shortfall cap. Its thresholds bind nothing (the shortfall columns are free of cost), so
the same water-filling with the thresholds at 0 and the capped t_max is its optimum z*
(certified with the same duals, threshold duals 0), and the capped progressive filling
level_r = clip(z, L0_r, cap level_r) = min(theta_r, max(L0_r, z)) is the split reported
for both maxmin (its tie-break among the max-min optima) and leximin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.levels import least_transfer, level_of, shortfall_of
from optimizer.core.solution import LPSolution, Run
from optimizer.fast.certify import certify
from optimizer.fast.decomposition_paths import gini_run, lorenz_run
from optimizer.fast.floor_record import certify_floor, floor_record, floor_solution
from optimizer.fast.log_welfare import log_welfare_run
from optimizer.fast.mad_path import mad_run
from optimizer.fast.policy_cvar import policy_cvar_run
from optimizer.fast.policy_gini import policy_gini_run
from optimizer.fast.policy_least import LEAST_POINT_OBJECTIVES, least_point_run
from optimizer.fast.policy_mean_point import mean_point_run
from optimizer.fast.policy_owa import policy_owa_run
from optimizer.fast.policy_path import policy_run
from optimizer.fast.policy_range import policy_range_run
from optimizer.fast.range_path import range_run
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.waterfill import knapsack_shortfall, leximin_fill, water_fill

FAST_OBJECTIVES = ("maxmin", "leximin")
SCARCE_MAXMIN_TIE_BREAK = ("scarcity: the leximin split among the max-min optima, level_r = min(threshold_r, "
                           "max(level_before_r, z)) with z the common level the budget buys")
# every objective with a certified structure-exploiting path on the bare core (hard thresholds)
BARE_CORE_FAST = ("maxmin", "leximin", "min-shortfall", "min-gini", "owa", "cvar", "min-range", "log-welfare",
                  "min-mad")

PolicyPath = Callable[[RegionData, str, Callable[[RegionData, str], LinearProgram], bool], "Run | None"]
# the certified paths of rounds with policy rows, by objective (adding one touches this table);
# any other objective: maxmin / leximin's envelope filling (policy_path.py), None for the rest
POLICY_PATHS: dict[str, PolicyPath] = {
    **{name: least_point_run for name in LEAST_POINT_OBJECTIVES},                     # policy_least.py
    "min-range": lambda d, _o, b, h: policy_range_run(d, b, h),   # the envelope filling to min(z*, M0)
    "max-mean": lambda d, _o, b, h: mean_point_run(d, b, h),      # the Lagrangian layers' point
    "cvar": lambda d, _o, b, h: policy_cvar_run(d, b, h),         # the max-min point when alpha fits its floor
    "owa": lambda d, _o, b, h: policy_owa_run(d, b, h),           # linear on the chain: the layers' point
    "min-gini": lambda d, _o, b, h: policy_gini_run(d, b, h),     # linear-fractional on the chain: Dinkelbach
}


def _candidate_duals(num_row: int, lay: dict[str, slice], d: RegionData, t: np.ndarray,
                     z: float) -> list[np.ndarray]:
    """Duals in HiGHS's convention for the max problem (= minus those of min -z)."""
    n = d.n
    level = level_of(d.own, d.need, t)
    c = least_transfer(d.threshold, d.own, d.need, d.t_min)
    lo = level_of(d.own, d.need, c)
    tol = 1e-9 * max(1.0, abs(z))
    at_floor = np.abs(level - z) <= tol
    out = []
    # (a) the budget binds: the regions lifted to z share it in proportion to need
    active = at_floor & (lo < z - tol)
    if active.any():
        y = np.zeros(num_row)
        n_a = float(d.need[active].sum())
        y[lay["rows:budget"]] = -1.0 / n_a
        fl = np.zeros(n)
        fl[active] = d.need[active] / n_a
        y[lay["rows:floor_rows"]] = fl
        # regions held above z by their threshold, with the transfer strictly above t_min
        held = ~at_floor & (np.abs(t - c) <= 1e-9 * np.maximum(1.0, np.abs(c))) & (c > d.t_min)
        th = np.zeros(n)
        th[held] = d.need[held] / n_a
        if "rows:threshold" in lay:
            y[lay["rows:threshold"]] = th
        out.append(-y)
    # (b) a transfer cap binds: the capped region at z carries the whole floor dual
    capped = at_floor & np.isfinite(d.t_max) & (np.abs(t - d.t_max) <= 1e-9 * np.maximum(1.0, d.t_max))
    if capped.any():
        y = np.zeros(num_row)
        r0 = int(np.flatnonzero(capped)[0])
        y[lay["rows:floor_rows"].start + r0] = 1.0
        out.append(-y)
    return out


def _shortfall_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram]) -> Run | None:
    """min-shortfall on the bare core: the fractional knapsack and its duals, certified."""
    t0 = time.perf_counter()
    lp = build(data, "min-shortfall")
    build_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    lay = lp.layout()
    if set(lay) != {"transfer", "shortfall", "rows:budget", "rows:threshold"}:
        return None
    d = data
    t, rho = knapsack_shortfall(d.own, d.need, d.weight, d.threshold, d.t_min, d.t_max, d.budget)
    level = level_of(d.own, d.need, t)
    s = np.maximum(0.0, d.threshold - level)
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    x[lay["shortfall"]] = s
    y = np.zeros(lp.num_row)
    y[lay["rows:budget"]] = -rho
    tol = 1e-12 * np.maximum(1.0, d.threshold)
    tight = np.abs(level + s - d.threshold) <= tol
    # a shortfall of float noise (1e-16) is a met threshold: its dual is the tight one, not w_r
    tau = np.where(s > tol, d.weight, np.where(tight, np.minimum(d.weight, rho * d.need), 0.0))
    y[lay["rows:threshold"]] = tau
    cert = certify(lp, x, y)
    if not cert.ok:
        return None
    first = closed_form_solution(lp, x, y, float(np.dot(d.weight, s)), time.perf_counter() - t1)
    first.algorithm = "fractional knapsack"
    info = {"solved_by": "fractional knapsack, certified optimal for the LP (optimizer/fast/fastpath.py)",
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    # least spending among optima: with rho > 0 every optimum spends the budget (the
    # budget row's dual is nonzero); with rho = 0 the knapsack spends only what closes gaps
    return Run(first, first, lay, build_seconds, info)


def _set_transfers(x: np.ndarray, lay: dict[str, slice], data: RegionData, t: np.ndarray) -> np.ndarray:
    """The transfers in ``x`` and, in soft mode, the least shortfalls max(0, theta - L)."""
    x[lay["transfer"]] = t
    if "shortfall" in lay:
        x[lay["shortfall"]] = shortfall_of(data.threshold, data.own, data.need, t)
    return x


def _floor_run(data: RegionData, objective: str, build: Callable[[RegionData, str], LinearProgram]
               ) -> Run | None:
    """maxmin by water-filling and, for leximin (and maxmin under scarcity), the
    progressive filling as its second stage; the water-filling point and duals certified
    on the maxmin LP of record: hard, checked as vectors without building it
    (optimizer/fast/floor_record.py: the same numbers as certify on the built LP), or soft
    with the threshold caps, built."""
    t0 = time.perf_counter()
    scarce = bool(data.options.get("threshold_caps"))
    lp = build(data, "maxmin") if scarce else floor_record(data)
    build_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    lay = lp.layout()
    core = replace(data, threshold=np.zeros(data.n)) if scarce else data   # caps: no threshold row binds
    wf = water_fill(core.own, core.need, core.threshold, core.t_min, core.t_max, core.budget)
    x = _set_transfers(np.zeros(lp.num_col), lay, data, wf.transfer)
    x[lay["floor"]] = wf.level
    for y in _candidate_duals(lp.num_row, lay, core, wf.transfer, wf.level):
        cert = certify(lp, x, y) if scarce else certify_floor(lp, x, y)
        if cert.ok:
            break
    else:
        return None
    seconds = time.perf_counter() - t1
    first = closed_form_solution(lp, x, y, wf.level, seconds) if scarce else floor_solution(lp, x, y, wf.level,
                                                                                              seconds)
    info: dict[str, Any] = {"solved_by": "water-filling, certified optimal for the LP "
                                         "(optimizer/fast/fastpath.py)",
                            "certificate": {"primal_violation": cert.primal_violation,
                                            "dual_violation": cert.dual_violation}}
    if objective == "maxmin" and not scarce:
        return Run(first, None, lay, build_seconds, info)
    t, z = leximin_fill(core.own, core.need, core.threshold, core.t_min, core.t_max, core.budget)
    x2 = _set_transfers(x.copy(), lay, data, t)
    second = LPSolution("optimal", float("nan"), x2, lp.A @ x2 if scarce else lp.activity(x2), np.zeros(0),
                        np.zeros(0), time.perf_counter() - t1, 0, "progressive filling")
    info |= {"leximin_stages": 1, "leximin_floors": [wf.level, z],
             "tie_break": SCARCE_MAXMIN_TIE_BREAK if objective == "maxmin" else
             "none needed: the leximin levels are unique"}
    return Run(first, second, lay, build_seconds, info)


def fast_core_run(data: RegionData, objective: str, build: Callable[[RegionData, str], LinearProgram],
                  hard: bool, has_policies: bool) -> Run | None:
    """A certified closed-form Run for the objectives of ``BARE_CORE_FAST``, or None when
    it does not apply (the LP path then solves the instance)."""
    if has_policies:
        return POLICY_PATHS.get(objective, policy_run)(data, objective, build, hard)
    if objective == "min-shortfall" and "shortfall_cap" not in data.options:
        return _shortfall_run(data, build)
    scarce = bool(data.options.get("threshold_caps"))   # caps: the same box, thresholds at 0
    held = data.options.get("shortfall_cap") is not None  # shortfall-first: hard within the held eps
    if objective == "min-gini" and (hard or scarce or held):
        return gini_run(data, build)
    if objective in ("owa", "cvar") and (hard or scarce or held):
        return lorenz_run(data, build, objective)
    if objective == "min-range" and (hard or scarce):
        return range_run(data, build)
    if objective == "log-welfare" and hard:
        return log_welfare_run(data)
    if objective == "min-mad" and hard:
        return mad_run(data, build)
    if objective not in FAST_OBJECTIVES or not (hard or data.options.get("threshold_caps")):
        return None
    return _floor_run(data, objective, build)
