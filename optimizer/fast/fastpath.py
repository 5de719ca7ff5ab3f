"""Structure-exploiting path for max-min and leximin on the core constraints.

The max-min LP has its level variable z in every floor row; simplex needs ~0.3n
iterations of O(n) each (158 s at 1e5 regions). With only the core constraints
(budget, thresholds, transfer bounds) the answer is known in closed form
(optimizer/waterfill.py), and so are the LP's duals. We build the LP of record anyway
(arrays, O(n)), plug in the closed-form primal and dual, and accept them only if
``optimizer.certify`` proves them optimal for that LP; otherwise the caller solves the LP
with HiGHS as usual. So the reported answer and duals are always those of the model of
record, certified, and a formulation change that breaks the closed form falls back safely.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
import models.fairness as fm
from optimizer.fast.certify import certify
from optimizer.fast.chain_certificates import GINI_CERT_TOL, gini_bare_certificate
from optimizer.core.solution import Run
from optimizer.fast.cut_certificate import cut_certificate
from optimizer.fast.decompose import CutFunction, max_lorenz_bare, min_gini_bare
from optimizer.core.solution import LPSolution
from optimizer.core.levels import least_transfer, level_of, transfer_to_level
from optimizer.core.metrics import pairwise_sum
from optimizer.fast.waterfill import knapsack_shortfall, leximin_fill, water_fill

FAST_OBJECTIVES = ("maxmin", "leximin")
# every objective with a certified structure-exploiting path on the bare core (hard thresholds)
BARE_CORE_FAST = ("maxmin", "leximin", "min-shortfall", "min-gini", "owa", "cvar", "min-range")



def _candidate_duals(lp: LinearProgram, lay: dict[str, slice], d: RegionData, t: np.ndarray,
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
        y = np.zeros(lp.num_row)
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
        y = np.zeros(lp.num_row)
        r0 = int(np.flatnonzero(capped)[0])
        y[lay["rows:floor_rows"].start + r0] = 1.0
        out.append(-y)
    return out


def _solution(lp: LinearProgram, x: np.ndarray, y: np.ndarray, z: float, seconds: float) -> LPSolution:
    col_dual = lp.cost - lp.A.T @ y   # reduced costs, HiGHS's convention
    return LPSolution(status="optimal", objective=z, x=x, row_activity=lp.A @ x, row_dual=y,
                      col_dual=col_dual, seconds=seconds, iterations=0, algorithm="water-filling")


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
    tight = np.abs(level + s - d.threshold) <= 1e-12 * np.maximum(1.0, d.threshold)
    tau = np.where(s > 0, d.weight, np.where(tight, np.minimum(d.weight, rho * d.need), 0.0))
    y[lay["rows:threshold"]] = tau
    cert = certify(lp, x, y)
    if not cert.ok:
        return None
    first = _solution(lp, x, y, float(np.dot(d.weight, s)), time.perf_counter() - t1)
    first.algorithm = "fractional knapsack"
    info = {"solved_by": "fractional knapsack, certified optimal for the LP (optimizer/fastpath.py)",
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    # least spending among optima: with rho > 0 every optimum spends the budget (the
    # budget row's dual is nonzero); with rho = 0 the knapsack spends only what closes gaps
    return Run(first, first, lay, build_seconds, info)


def _decomposition_solution(lp: LinearProgram, lay: dict[str, slice], x: np.ndarray, objective: float,
                            budget_dual: float, seconds: float) -> LPSolution:
    """The certified point as a solution of the LP of record: the budget's dual is the exact
    d objective / d budget; threshold (and reduced-cost) duals are not unique inside tied
    blocks and are not computed (NaN, empty in allocation.csv)."""
    y = np.zeros(lp.num_row)
    y[lay["rows:budget"]] = budget_dual
    if "rows:threshold" in lay:
        y[lay["rows:threshold"]] = np.nan
    return LPSolution(status="optimal", objective=objective, x=x, row_activity=lp.A @ x, row_dual=y,
                      col_dual=np.full(lp.num_col, np.nan), seconds=seconds, iterations=0,
                      algorithm="threshold decomposition")


def _level_box(d: RegionData) -> tuple[np.ndarray, np.ndarray] | None:
    """The bare core in level space: lo = max(threshold, (own + t_min) / need) <= L <= hi =
    (own + t_max) / need; None when the thresholds cannot all be met (the LP path then
    diagnoses the instance)."""
    lo = np.maximum(level_of(d.own, d.need, d.t_min), d.threshold)
    hi = level_of(d.own, d.need, d.t_max)
    if np.any(lo > hi + 1e-12 * np.maximum(1.0, np.abs(hi))) or \
            float(np.dot(d.need, lo) - d.own.sum()) > d.budget * (1 + 1e-12) + 1e-12:
        return None
    return np.minimum(lo, hi), hi         # (a threshold met exactly at a cap, to rounding)


def _gini_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram]) -> Run | None:
    """min-gini on the bare core (hard thresholds): Dinkelbach over the threshold
    decomposition (optimizer/decompose.py), accepted only if the bare-core KKT test
    (``gini_bare_certificate``) proves the levels optimal; the LP of record is then the
    chain LP over the order of those levels, at lambda = G*."""
    d = data
    if d.options.get("gini_form", "auto") != "auto" or d.n < 2:
        return None
    t0 = time.perf_counter()
    box = _level_box(d)
    if box is None:
        return None                       # infeasible: the LP path reports it
    lo, hi = box
    sol = min_gini_bare(d.weight, d.need, d.own, lo, hi, d.budget, lo)
    t = np.clip(transfer_to_level(sol.level, d.own, d.need), d.t_min, d.t_max)
    level = level_of(d.own, d.need, t)          # what is reported is what is certified
    order = np.lexsort((np.arange(d.n), level))
    spent = float(t.sum())
    gscale = float(np.abs(fm.gini_cut(d, order)).max()) + float(d.weight.max())
    ok, _, _, lam_b, _ = gini_bare_certificate(
        level, d.weight, d.need, lo, hi, spent >= d.budget * (1 - 1e-9), sol.lam, sol.lam_b, order,
        GINI_CERT_TOL * gscale)
    if not ok:
        return None
    solve_seconds = time.perf_counter() - t0
    tb = time.perf_counter()
    lp = build(replace(d, options={**d.options, "gini_form": "chain", "gini_lambda": sol.lam,
                                    "gini_order": order}), "min-gini")
    build_seconds = time.perf_counter() - tb
    lay = lp.layout()
    if not set(lay) <= {"transfer", "rows:budget", "rows:threshold", "rows:gini_chain"}:
        return None                       # not the bare chain LP: let the LP path decide
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    if certify(lp, x, np.zeros(lp.num_row)).primal_violation > 1e-7:
        return None
    mu = float(np.dot(d.weight, level))
    gini = pairwise_sum(level, d.weight) / mu
    # duals, reported as d Gini / d rhs: the budget's is -lam_B / mu (envelope theorem on
    # P - G* mu); threshold duals are not unique inside tied blocks and are not computed
    first = _decomposition_solution(lp, lay, x, gini, -lam_b / mu, solve_seconds)
    info = {"solved_by": "Dinkelbach over the threshold decomposition, certified by the bare-core "
                         "KKT test (optimizer/decompose.py)",
            "gini_form": "decomposition", "gini_dinkelbach_steps": sol.dinkelbach_steps,
            "gini_inner_solves": sol.inner_solves, "gini_lps": 0, "gini_lambda": sol.lam,
            "gini_certificate": "bare-core KKT",
            "duals": "budget: d Gini / d budget; threshold duals not computed on this path "
                     "(not unique inside tied blocks; --no-fast-path gives the chain LP's)"}
    return Run(first, first, lay, build_seconds, info)


def _quantile(level: np.ndarray, w: np.ndarray, beta: float) -> float:
    """A level eta maximising beta eta - sum_r w_r (eta - L_r)+ (the beta-quantile)."""
    order = np.argsort(level, kind="stable")
    cum = np.cumsum(w[order])
    k = min(int(np.searchsorted(cum, beta * cum[-1] * (1 - 1e-12))), level.size - 1)
    return float(level[order][k])


def _lorenz_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram], objective: str) -> Run | None:
    """owa (population slices) and cvar on the bare core: sum_k c_k Lorenz(beta_k) by the
    threshold decomposition (optimizer/decompose.py), accepted only if ``cut_certificate``
    proves the levels optimal; then the LP of record's point (eta_k the beta_k-quantiles,
    e_kr = (eta_k - L_r)+) is checked feasible and its objective equal."""
    d = data
    if d.n < 2:
        return None
    if objective == "owa":
        if fm.owa_form(d) != "slices":
            return None
        beta, c = fm.owa_terms(d)
    else:
        alpha = float(fm.option(d, "alpha"))
        if not 0.0 < alpha <= 1.0:
            return None                   # the LP path reports the bad option
        beta, c = np.array([alpha]), np.array([1.0 / alpha])
    t0 = time.perf_counter()
    box = _level_box(d)
    if box is None:
        return None
    lo, hi = box
    sol = max_lorenz_bare(d.weight, d.need, d.own, lo, hi, d.budget, beta, c)
    t = np.clip(transfer_to_level(sol.level, d.own, d.need), d.t_min, d.t_max)
    level = level_of(d.own, d.need, t)          # what is reported is what is certified
    cert = cut_certificate(level, d.weight, d.need, lo, hi, float(t.sum()) >= d.budget * (1 - 1e-9),
                           np.zeros(d.n), CutFunction.lorenz(float(d.weight.sum()), beta, c),
                           lam_b_hint=sol.lam_b)
    if not cert.ok:
        return None
    solve_seconds = time.perf_counter() - t0
    tb = time.perf_counter()
    lp = build(d, objective)
    build_seconds = time.perf_counter() - tb
    lay = lp.layout()
    prefix = "owa" if objective == "owa" else "cvar"
    if not set(lay) <= {"transfer", "rows:budget", "rows:threshold", f"{prefix}_eta", f"{prefix}_excess",
                        f"rows:{prefix}_rows"}:
        return None
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    eta = np.array([_quantile(level, d.weight, b) for b in beta])
    x[lay[f"{prefix}_eta"]] = eta
    x[lay[f"{prefix}_excess"]] = np.maximum(0.0, eta[:, None] - level[None, :]).ravel()
    value = float(np.dot(lp.cost, x)) + lp.offset
    if certify(lp, x, np.zeros(lp.num_row)).primal_violation > 1e-7 or \
            abs(value - sol.value) > 1e-9 * max(1.0, abs(value)):
        return None
    first = _decomposition_solution(lp, lay, x, value, cert.lam_b, solve_seconds)
    info = {"solved_by": "threshold decomposition, certified by the KKT test of "
                         "optimizer/cut_certificate.py (optimizer/decompose.py)",
            "decomposition_inner_solves": sol.inner_solves,
            "certificate": {"violation": cert.violation, "tolerance": cert.tol},
            "duals": "budget: d objective / d budget; threshold duals not computed on this path "
                     "(--no-fast-path gives the LP's)"}
    return Run(first, first, lay, build_seconds, info)


def _range_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram]) -> Run | None:
    """min-range on the bare core in closed form: nobody can be lowered, so max L >= M0 =
    max_r lo_r, and min L <= the water-filling level z*; both are attained by lifting
    everyone to m* = min(z*, M0) at the least cost (range M0 - m*, least spending: every
    region must reach m*). Duals built as for max-min (the floor rows become the
    range_lower rows, plus -1 on the range_upper row of a region at M0) and certified on
    the LP of record, like every closed form here."""
    d = data
    t0 = time.perf_counter()
    lp = build(d, "min-range")
    build_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    lay = lp.layout()
    if set(lay) != {"transfer", "range_hi", "range_lo", "rows:budget", "rows:threshold", "rows:range_upper",
                    "rows:range_lower"}:
        return None
    c = least_transfer(d.threshold, d.own, d.need, d.t_min)
    if np.any(c > d.t_max + 1e-12 * np.maximum(1.0, np.abs(d.t_max))) or float(c.sum()) > d.budget * (1 + 1e-12):
        return None                       # infeasible: the LP path diagnoses it
    c = np.minimum(c, d.t_max)            # a threshold met exactly at the cap (rounding)
    lo = level_of(d.own, d.need, c)
    m0 = float(lo.max())
    wf = water_fill(d.own, d.need, d.threshold, d.t_min, d.t_max, d.budget)
    m_star = min(wf.level, m0)
    t = np.minimum(d.t_max, np.maximum(c, transfer_to_level(m_star, d.own, d.need)))
    level = level_of(d.own, d.need, t)
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    x[lay["range_hi"]] = float(level.max())
    x[lay["range_lo"]] = float(level.min())
    inv = 1.0 / d.need
    tol = 1e-9 * max(1.0, abs(m0))
    top = int(np.argmax(lo))
    held = np.abs(t - c) <= 1e-12 * np.maximum(1.0, np.abs(c))
    thr_binds = held & (c > d.t_min)
    at_floor = np.abs(level - m_star) <= tol
    candidates = []
    if m_star >= m0 - tol:                            # range 0: one region carries both rows
        y = np.zeros(lp.num_row)
        y[lay["rows:range_upper"].start + top] = -1.0
        y[lay["rows:range_lower"].start + top] = 1.0
        candidates.append(y)
    # the budget binds: the regions lifted to m* share its price (if the lift is too small
    # to tell them from the ones already there, as when the budget just covers the
    # thresholds, every region at m* shares it)
    lifted = at_floor & (lo < m_star - tol)
    for active in ([lifted] if lifted.any() else []) + [at_floor]:
        if not active.any():
            continue
        n_a = float(d.need[active].sum())
        y = np.zeros(lp.num_row)
        y[lay["rows:budget"]] = -1.0 / n_a
        y[lay["rows:range_lower"].start + np.flatnonzero(active)] = d.need[active] / n_a
        y[lay["rows:range_upper"].start + top] = -1.0
        thr = np.where(thr_binds & ~at_floor, d.need / n_a, 0.0)
        if thr_binds[top]:
            thr[top] = 1.0 + d.need[top] / n_a
        y[lay["rows:threshold"]] = thr
        candidates.append(y)
    capped = at_floor & np.isfinite(d.t_max) & (np.abs(t - d.t_max) <= 1e-12 * np.maximum(1.0, d.t_max))
    if capped.any():                                  # a transfer cap binds
        y = np.zeros(lp.num_row)
        y[lay["rows:range_lower"].start + int(np.flatnonzero(capped)[0])] = 1.0
        y[lay["rows:range_upper"].start + top] = -1.0
        if thr_binds[top]:
            y[lay["rows:threshold"].start + top] = 1.0
        candidates.append(y)
    for y in candidates:
        cert = certify(lp, x, y)
        if cert.ok:
            break
    else:
        return None
    first = _solution(lp, x, y, float(level.max() - level.min()), time.perf_counter() - t1)
    first.algorithm = "water-filling"
    info = {"solved_by": "water-filling to min(z*, max lower level), certified optimal for the LP "
                         "(optimizer/fastpath.py)",
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, lay, build_seconds, info)


def fast_core_run(data: RegionData, objective: str, build: Callable[[RegionData, str], LinearProgram],
                  hard: bool, has_policies: bool) -> Run | None:
    """A certified closed-form Run for maxmin / leximin / min-shortfall, or None when it
    does not apply."""
    if has_policies:
        return None
    if objective == "min-shortfall" and "shortfall_cap" not in data.options:
        return _shortfall_run(data, build)
    if objective == "min-gini" and hard:
        return _gini_run(data, build)
    if objective in ("owa", "cvar") and hard:
        return _lorenz_run(data, build, objective)
    if objective == "min-range" and hard:
        return _range_run(data, build)
    if objective not in FAST_OBJECTIVES or not hard:
        return None
    t0 = time.perf_counter()
    lp = build(replace(data, options={**data.options, "soft_thresholds": False}), "maxmin")
    build_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    lay = lp.layout()
    wf = water_fill(data.own, data.need, data.threshold, data.t_min, data.t_max, data.budget)
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = wf.transfer
    x[lay["floor"]] = wf.level
    for y in _candidate_duals(lp, lay, data, wf.transfer, wf.level):
        cert = certify(lp, x, y)
        if cert.ok:
            break
    else:
        return None
    first = _solution(lp, x, y, wf.level, time.perf_counter() - t1)
    info: dict[str, Any] = {"solved_by": "water-filling, certified optimal for the LP "
                                         "(optimizer/fastpath.py)",
                            "certificate": {"primal_violation": cert.primal_violation,
                                            "dual_violation": cert.dual_violation}}
    if objective == "maxmin":
        return Run(first, None, lay, build_seconds, info)
    t, z = leximin_fill(data.own, data.need, data.threshold, data.t_min, data.t_max, data.budget)
    x2 = x.copy()
    x2[lay["transfer"]] = t
    second = LPSolution("optimal", float("nan"), x2, lp.A @ x2, np.zeros(0), np.zeros(0),
                        time.perf_counter() - t1, 0, "progressive filling")
    info |= {"leximin_stages": 1, "leximin_floors": [wf.level, z],
             "tie_break": "none needed: the leximin levels are unique"}
    return Run(first, second, lay, build_seconds, info)
