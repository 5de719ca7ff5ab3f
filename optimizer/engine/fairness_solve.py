"""Drivers for objectives that are a sequence of LPs, the soft-threshold phase 1, the
objective options and the price of fairness. Nothing here prints.

    run_direct(data, spec, build, ...)   one LP (+ tie-break), leximin stages, or
                                         min-gini Dinkelbach steps (+ order cones), on highspy
    shortfall_floor(data, build, ...)    phase 1 of soft mode: the least weighted shortfall
    parse_objective_options(raw)         CLI / [objective] values -> typed options
    resolve_thresholds(...)              hard | soft | auto -> hard?
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable

import highspy
import numpy as np

from models import fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.core.errors import SolverError, UsageError
from optimizer.core.metrics import pairwise_sum, price_of_fairness, total_shortfall  # noqa: F401 (re-exported
from optimizer.core.solution import LPSolution, Run
from optimizer.fast.chain_certificates import (GINI_CERT_TOL, gini_bare_certificate, gini_chain_certificate,
                                               ordered_chain_certificate)
from optimizer.engine.highs import _read, make_highs, solve_lp, to_highs_lp

Build = Callable[[RegionData, str], LinearProgram]
THRESHOLD_MODES = ("hard", "soft", "auto")
SHORTFALL_SLACK = 1e-9       # phase 2 holds sum w s <= S* (1 + slack) + slack
DUAL_TOL = 1e-9              # leximin: a dual or reduced cost above this proves saturation
GINI_TOL = 1e-9              # min-gini: Dinkelbach stops when F(lambda) >= -tol * mu
GINI_MAX_LPS = 400


# --- options --------------------------------------------------------------------

def _float_list(value: Any, key: str) -> list[float]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value]
    try:
        return [float(p) for p in parts]
    except (TypeError, ValueError):
        raise UsageError(f"{key}: expected a comma-separated list of numbers, got {value!r}") from None


def parse_objective_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Type-check the objective options (from [objective] in instance.toml and the CLI)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key == "alpha":
            try:
                a = float(value)
            except (TypeError, ValueError):
                raise UsageError(f"alpha: expected a number in (0, 1], got {value!r}") from None
            if not (0.0 < a <= 1.0):
                raise UsageError(f"alpha must be in (0, 1], got {value!r}")
            out["alpha"] = a
        elif key == "weights":
            w = np.array(_float_list(value, "weights"))
            try:
                fm.owa_weights(RegionData(np.zeros(1), np.ones(1), np.zeros(1), np.ones(1), np.zeros(1),
                                          np.ones(1), 0.0, {"weights": w}))
            except ValueError as exc:
                raise UsageError(f"weights: {exc}") from None
            out["weights"] = w.tolist()
        elif key == "breakpoints":
            if isinstance(value, bool) or not float(value) == int(float(value)) or int(float(value)) < 2:
                raise UsageError(f"breakpoints must be an integer >= 2, got {value!r}")
            out["breakpoints"] = int(float(value))
        elif key == "thresholds":
            if value not in THRESHOLD_MODES:
                raise UsageError(f"thresholds must be one of {', '.join(THRESHOLD_MODES)}, got {value!r}")
            out["thresholds"] = value
        elif key == "gini_form":
            if value not in ("auto", "pairwise", "chain"):
                raise UsageError(f"gini_form must be auto, pairwise or chain, got {value!r}")
            out["gini_form"] = value
        else:
            out[key] = value   # unknown keys travel along (other objectives or policies may read them)
    return out


def resolve_thresholds(spec: ObjectiveSpec, mode: str | None, hard_feasible: bool) -> tuple[bool, str]:
    """(hard?, mode used). min-shortfall is soft by definition; otherwise 'hard' (default),
    'soft', or 'auto' = hard when the closed-form diagnosis says the thresholds can all hold."""
    if spec.soft_thresholds:
        return False, "soft"
    mode = mode or "hard"
    if mode == "auto":
        return (True, "hard") if hard_feasible else (False, "soft")
    return mode == "hard", mode


# --- helpers --------------------------------------------------------------------


def _scaled_highs(lp: LinearProgram, algorithm: str, time_limit: float | None, basis) -> tuple[highspy.Highs, float]:
    """A Highs holding ``lp`` with its costs scaled to max |c| = 1 and tight tolerances (the
    chain LPs' weights are ~1/n and HiGHS's dual tolerance is absolute); warm from ``basis``."""
    h = make_highs(algorithm, 1, time_limit)
    for key in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        h.setOptionValue(key, 1e-9)
    cmax = float(np.abs(lp.cost).max()) if lp.num_col else 0.0
    sigma = 1.0 / cmax if cmax > 0 else 1.0
    model = to_highs_lp(lp)
    model.col_cost_ = lp.cost * sigma
    model.offset_ = lp.offset * sigma
    h.passModel(model)
    if basis is not None:
        h.setBasis(basis)
    return h, sigma


def _run(h: highspy.Highs, algorithm: str) -> LPSolution:
    t0 = time.perf_counter()
    h.run()
    return _read(h, time.perf_counter() - t0, algorithm)


def _levels(d: RegionData, x: np.ndarray, t: slice) -> np.ndarray:
    return (d.own + x[t]) / d.need


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


def _tie_break(h: highspy.Highs, lp_cost: np.ndarray, value: float, maximize: bool, n_col: int,
               tcols: slice) -> None:
    """Hold the current objective at ``value`` (without offset) and minimise sum T."""
    cols = np.flatnonzero(lp_cost)
    lo, hi = (value, np.inf) if maximize else (-np.inf, value)
    h.addRow(lo, hi, len(cols), cols.astype(np.int32), lp_cost[cols])
    cost = np.zeros(n_col)
    cost[tcols] = 1.0
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), cost)
    h.changeObjectiveOffset(0.0)


# --- entry point ----------------------------------------------------------------

def run_direct(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool = True,
               time_limit: float | None = None,
               tie_cols: Callable[[LinearProgram], Any] | None = None) -> Run:
    """Solve ``spec`` on ``data`` with the LPs ``build`` makes; ``tie_cols(lp)`` gives the
    columns whose sum the tie-break minimises (default: the transfers)."""
    t0 = time.perf_counter()
    try:
        if spec.driver == "leximin":
            return _leximin(data, spec, build, time_limit, t0)
        if spec.driver == "dinkelbach":
            return _min_gini(data, spec, build, tie_break, time_limit, t0)
        if spec.name == "owa" and fm.owa_form(data) == "chain":
            return _owa_chain(data, spec, build, tie_break, time_limit, t0)
        lp = build(data, spec.name)
    except ValueError as exc:   # bad option values caught by the formulation
        raise UsageError(f"{spec.name}: {exc}") from None
    build_seconds = time.perf_counter() - t0
    cols = (tie_cols(lp) if tie_cols is not None else lp.col_block("transfer").slice)
    first, second = solve_lp(lp, spec.algorithm, cols if spec.tie_break and tie_break else None,
                             time_limit=time_limit)
    run = Run(first, second, lp.layout(), build_seconds)
    if spec.name == "log-welfare" and first.status == "optimal":
        final = second if second is not None and second.status == "optimal" else first
        level = _levels(data, final.x, run.layout["transfer"])
        true = float(np.dot(data.weight, np.log(np.maximum(level, 1e-300))))
        run.info["log_welfare"] = {
            "lp_value": first.objective, "welfare": true,
            "certified_gap": max(0.0, first.objective - true),
            "a_priori_error_bound": fm.log_error_bound(data),
            "breakpoints": int(fm.option(data, "breakpoints")),
            "note": "the optimum lies in [welfare, welfare + certified_gap]",
        }
        first.objective = true
    return run


# --- leximin --------------------------------------------------------------------

def _leximin(data: RegionData, spec: ObjectiveSpec, build: Build, time_limit: float | None,
             t0: float) -> Run:
    d = replace(data, options={**data.options, "leximin_fixed": None})
    lp = build(d, spec.name)
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    tcol, zcol = lay["transfer"], lay["floor"].start
    frow = lay["rows:floor_rows"]
    thr = lay.get("rows:threshold")
    hard_thr = not d.options.get("soft_thresholds", False)
    n = d.n
    inv = 1.0 / d.need
    base = d.own * inv
    h = make_highs("simplex", 1, time_limit)
    h.passModel(to_highs_lp(lp))
    free = np.ones(n, dtype=bool)
    floors: list[float] = []
    fixed_per_stage: list[int] = []
    first = last = None
    seconds, iters, probes, capped_jumps = 0.0, 0, 0, 0
    z_prev = -np.inf
    # individual maximum level of each region (own bounds only): a region can never exceed it
    mcap = np.where(np.isfinite(d.t_max), (d.own + np.where(np.isfinite(d.t_max), d.t_max, 0.0)) * inv, np.inf)
    rows_all = np.arange(frow.start, frow.stop, dtype=np.int32)

    def probe(v: float) -> bool:
        """Can every free region reach min(v, its maximum level) at once (z held at v)?"""
        nonlocal seconds, iters, probes
        f = np.flatnonzero(free)
        tgt = np.minimum(v, mcap[f])
        lo = tgt - 1e-9 * np.maximum(1.0, np.abs(tgt)) - v - base[f]
        h.changeColBounds(zcol, v, v)
        h.changeRowsBounds(len(f), rows_all[f], lo, np.full(len(f), highspy.kHighsInf))
        s = _run(h, "simplex")
        probes += 1
        seconds += s.seconds
        iters += s.iterations
        return s.status == "optimal"

    def cap_jump(z_prev: float) -> None:
        """Fix in one go every free capped region the sequential stages would saturate at
        its own maximum level before any other saturation (exact: see docs/objectives.md).
        Bisection over the sorted distinct maximum levels above the last floor."""
        nonlocal capped_jumps
        cand = free & np.isfinite(mcap) & (mcap > z_prev)
        levels = np.unique(mcap[cand])
        if levels.size < 2:
            return
        lo_k, hi_k = -1, levels.size          # levels[lo_k] feasible, levels[hi_k] not
        while hi_k - lo_k > 1:
            mid = (lo_k + hi_k) // 2
            if probe(float(levels[mid])):
                lo_k = mid
            else:
                hi_k = mid
        f = np.flatnonzero(free)
        h.changeColBounds(zcol, -highspy.kHighsInf, highspy.kHighsInf)
        h.changeRowsBounds(len(f), rows_all[f], -base[f], np.full(len(f), highspy.kHighsInf))
        if lo_k < 0:
            return
        jump = free & (mcap <= levels[lo_k])
        for r in np.flatnonzero(jump):
            row = frow.start + int(r)
            h.changeCoeff(row, zcol, 0.0)
            h.changeRowBounds(row, float(mcap[r] - 1e-9 * max(1.0, mcap[r]) - base[r]), highspy.kHighsInf)
            h.changeColBounds(tcol.start + int(r), float(d.t_max[r]), float(d.t_max[r]))
        free[jump] = False
        capped_jumps += int(jump.sum())

    while free.any():
        if first is not None:
            cap_jump(z_prev)
            if not free.any():
                # every region is fixed: any point with all levels >= the fixed ones is the
                # leximin vector (it is unique); one feasibility solve (z held at 0) reads it
                h.changeColBounds(zcol, 0.0, 0.0)
                last = _run(h, "simplex")
                seconds += last.seconds
                iters += last.iterations
                if last.status != "optimal":
                    raise SolverError(f"leximin final read-out: HiGHS status '{last.status}'")
                break
        sol = _run(h, "simplex")
        seconds += sol.seconds
        iters += sol.iterations
        if sol.status != "optimal":
            if first is None:
                return Run(sol, None, lay, build_seconds, {"leximin_stages": 0})
            raise SolverError(f"leximin stage {len(floors) + 1}: HiGHS status '{sol.status}'")
        first = first or sol
        last = sol
        z = float(sol.x[zcol])
        t = sol.x[tcol]
        ydual = np.abs(sol.row_dual[frow])
        rc = np.abs(sol.col_dual[tcol])
        lo, hi = lp.col_lower[tcol], lp.col_upper[tcol]
        eps = 1e-9 * np.maximum(1.0, np.abs(t))
        at_floor = free & (ydual > DUAL_TOL)
        at_bound = free & ~at_floor & (rc > DUAL_TOL) & ((t <= lo + eps) | (t >= hi - eps))
        at_thr = np.zeros(n, dtype=bool)
        if thr is not None and hard_thr:
            at_thr = free & ~at_floor & ~at_bound & (np.abs(sol.row_dual[thr]) > DUAL_TOL)
        fix = at_floor | at_bound | at_thr
        if not fix.any():   # degenerate duals: fall back on the regions sitting at the floor
            level = base + inv * t
            fix = free & (level <= z + 1e-9 * max(1.0, abs(z)))
            at_floor = fix
        floors.append(z)
        fixed_per_stage.append(int(fix.sum()))
        zlow = z - 1e-9 * max(1.0, abs(z))
        level_now = base + inv * t
        for r in np.flatnonzero(fix):
            row = frow.start + int(r)
            h.changeCoeff(row, zcol, 0.0)
            if at_floor[r]:
                h.changeRowBounds(row, float(zlow - base[r]), highspy.kHighsInf)
            else:   # at a transfer bound or at its threshold: the level stays where it is
                h.changeRowBounds(row, float(level_now[r] - 1e-9 * max(1.0, level_now[r]) - base[r]),
                                  highspy.kHighsInf)
                if at_bound[r]:
                    h.changeColBounds(tcol.start + int(r), float(t[r]), float(t[r]))
        free &= ~fix
        z_prev = z
    assert first is not None and last is not None
    first.objective = floors[0]
    second = None
    if last is not first:
        second = last
        second.seconds, second.iterations = seconds - first.seconds, iters - first.iterations
    info = {"leximin_stages": len(floors), "leximin_floors": floors,
            "leximin_fixed_per_stage": fixed_per_stage,
            "leximin_probe_lps": probes, "leximin_fixed_at_cap_in_one_go": capped_jumps,
            "tie_break": "none needed: the leximin levels are unique"}
    return Run(first, second, lay, build_seconds, info)


# --- min-gini -------------------------------------------------------------------

def _min_gini(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool,
              time_limit: float | None, t0: float) -> Run:
    """Dinkelbach over lambda; at each lambda min P - lambda mu by one pairwise LP, or by
    chain LPs over order cones until the certificate holds (``gini_chain_certificate``)."""
    d = replace(data, options={**data.options, "gini_lambda": 0.0})
    form = fm.gini_form(d)
    chain = form == "chain"
    if chain:
        d = replace(d, options={**d.options, "gini_order": fm.gini_order(d)})
    lp = build(d, spec.name)
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    tcol = lay["transfer"]
    n_col = lp.num_col
    w, inv = d.weight, 1.0 / d.need
    base = d.own * inv
    algorithm = spec.algorithm
    lam, lps, steps, reorders, jumps, rejected = 0.0, 0, 0, 0, 0, 0
    gini_jumps = d.options.get("gini_jumps", True)
    gini_inexact = d.options.get("gini_inexact", True)
    lam_set = False   # lam = G(L) of some feasible L (so F(lam) <= 0)
    seconds, iters = 0.0, 0
    order = d.options.get("gini_order")
    basis = None
    # bare core (budget, transfer bounds, hard thresholds or soft ones without the cap row,
    # no policy rows): the chain-dual-free certificate ``gini_bare_certificate``; option
    # gini_certificate = "duals" forces the chain-dual one (``gini_chain_certificate``)
    rows = {k[5:] for k in lay if k.startswith("rows:")}
    hard = "shortfall" not in lay
    bare = (chain and d.options.get("gini_certificate", "auto") != "duals"
            and rows <= {"budget", "threshold", "gini_chain"} and set(lay) - {"transfer", "shortfall"}
            == {"rows:" + r for r in rows})
    if bare:
        lo_lvl = (d.own + d.t_min) / d.need
        if hard:
            lo_lvl = np.maximum(lo_lvl, d.threshold)
        hi_lvl = (d.own + d.t_max) / d.need

    def leximin_order() -> np.ndarray:
        """The order of the leximin levels (closed form on the bare core: always a feasible
        cone), ties by n_r / w_r descending (of two tied regions the one with the larger
        w_r / n_r wants up)."""
        from optimizer.fast.waterfill import leximin_fill
        t_lex, _ = leximin_fill(d.own, d.need, d.threshold if hard else np.zeros(d.n), d.t_min,
                                d.t_max, d.budget)
        ratio = d.need / np.maximum(w, 1e-300)
        return np.lexsort((-ratio, np.round((d.own + t_lex) / d.need, 12)))

    start = d.options.get("gini_start", "decomposition")
    start_order = None
    if bare and data.options.get("gini_order") is None and start == "leximin":
        start_order = leximin_order()
    elif bare and hard and data.options.get("gini_order") is None and start == "decomposition":
        # warm start from the threshold decomposition's optimum (optimizer/decompose.py):
        # its order's cone contains that optimum and lambda starts at its Gini, so when it
        # is optimal the first chain LP has F(lambda) = 0 and is certified at once; the
        # LPs still decide (and give every dual) whatever the decomposition returned
        from optimizer.fast.decompose import min_gini_bare
        lo0 = np.minimum(lo_lvl, hi_lvl)
        if float(np.dot(d.need, lo0) - d.own.sum()) <= d.budget and np.all(lo_lvl <= hi_lvl + 1e-12):
            sol0 = min_gini_bare(w, d.need, d.own, lo0, hi_lvl, d.budget, lo0)
            start_order = np.lexsort((np.arange(d.n), sol0.level))
            lam, lam_set = pairwise_sum(sol0.level, w) / float(np.dot(w, sol0.level)), True
    if start_order is not None:
        order = start_order
        tb = time.perf_counter()
        lp = build(replace(d, options={**d.options, "gini_order": order, "gini_lambda": lam}), spec.name)
        build_seconds += time.perf_counter() - tb

    def new_lp(lam: float, order) -> tuple[highspy.Highs, np.ndarray, float]:
        """The LP at (lambda, order), costs scaled to max |c| = 1 (HiGHS's dual tolerance
        is absolute; the weights are ~1/n). Warm: the previous basis, if any."""
        nonlocal lp, build_seconds
        if lps:
            tb = time.perf_counter()
            lp = build(replace(d, options={**d.options, "gini_lambda": lam, "gini_order": order}), spec.name)
            build_seconds += time.perf_counter() - tb
        h, sigma = _scaled_highs(lp, algorithm, time_limit, basis)
        return h, lp.cost * sigma, sigma

    def solve_at(lam: float) -> tuple[LPSolution, highspy.Highs, np.ndarray, float]:
        """min P - lam mu: one LP (pairwise) or chain LPs until certified. On the bare
        core lam is lowered to G(L) whenever an uncertified LP point L has G(L) < lam (or
        set to G(L) if lam is still the start 0): any feasible L gives F(G(L)) <= 0, so
        Dinkelbach stays valid (inexact Dinkelbach); returns the lam certified."""
        nonlocal lps, seconds, iters, order, reorders, basis, jumps, rejected, lam_set
        pending = None   # (P, mu, safe order, basis) while the current order is a jump
        while True:
            h, cost, sigma = new_lp(lam, order)
            s = _run(h, algorithm)
            lps += 1
            seconds += s.seconds
            iters += s.iterations
            if chain and s.status == "infeasible" and lps == 1:
                # the starting cone (order of the levels before) cuts off every feasible
                # point (bounds, thresholds or policies cross the order): start instead from
                # the order of the min-mad optimum, a feasible point (option gini_start =
                # "leximin" on the bare core: the leximin levels, closed form, instead)
                mad, _ = solve_lp(build(replace(d, options={**d.options}), "min-mad"), "simplex", None,
                                  time_limit=time_limit)
                seconds += mad.seconds
                if mad.status != "optimal":
                    return mad, h, cost, lam
                order = np.argsort(_levels(d, mad.x, tcol), kind="stable")
                continue
            level = _levels(d, s.x, tcol) if s.status == "optimal" else None
            if pending is not None:
                p_prev, mu_prev, safe, safe_basis = pending
                f_prev = p_prev - lam * mu_prev
                pending = None
                f_new, p_new = np.inf, 0.0
                if level is not None:
                    p_new = pairwise_sum(level, w)
                    f_new = p_new - lam * float(np.dot(w, level))
                if not f_new < f_prev - 1e-12 * max(abs(f_prev), p_new):
                    order, basis = safe, safe_basis   # the jump did not improve: safe order
                    rejected += 1
                    continue
            if s.status != "optimal" or not chain:
                return s, h, cost, lam
            basis = h.getBasis()
            gscale = float(np.abs(fm.gini_cut(d, order)).max()) + float(w.max())
            if bare:   # bare core: KKT certificate without the chain duals
                slack = d.budget - float(s.x[tcol].sum())
                lam_b = -float(s.row_dual[lay["rows:budget"]][0]) / sigma
                ok, order, bad, _, jump = gini_bare_certificate(
                    level, w, d.need, lo_lvl, hi_lvl, slack <= 1e-8 * max(1.0, abs(d.budget)), lam,
                    lam_b, order, GINI_CERT_TOL * gscale, d.options.get("gini_resort", "split"))
                if not ok and jump is not None and gini_jumps:
                    pending = (pairwise_sum(level, w), float(np.dot(w, level)), order, basis)
                    order = jump
                    jumps += 1
            else:
                nu = s.row_dual[lay["rows:gini_chain"]] / sigma if d.n > 1 else np.zeros(0)
                ok, order, bad = gini_chain_certificate(level, w, order, nu, GINI_CERT_TOL * gscale)
            if ok:
                return s, h, cost, lam
            reorders += 1
            if bare and gini_inexact:
                g_now = pairwise_sum(level, w) / float(np.dot(w, level))
                if not lam_set or g_now < lam * (1 - 1e-12):
                    lam, lam_set = g_now, True
            if lps >= GINI_MAX_LPS:
                raise SolverError(f"min-gini: chain certificate not reached after {lps} LPs")

    first = None
    while True:
        sol, h, cost, lam = solve_at(lam)
        if sol.status != "optimal":
            if first is None:
                return Run(sol, None, lay, build_seconds, {"gini_lps": lps})
            raise SolverError(f"min-gini: HiGHS status '{sol.status}' at lambda = {lam}")
        first = sol
        steps += 1
        level = _levels(d, sol.x, tcol)
        p, mu = pairwise_sum(level, w), float(np.dot(w, level))
        f_val = p - lam * mu
        if p <= GINI_TOL * mu:                        # Gini 0 reached: optimal
            break
        if lam_set and f_val >= -GINI_TOL * mu:       # F(lambda_k) = 0: lambda_k = G*
            break
        if steps > 60:
            raise SolverError(f"min-gini: Dinkelbach did not converge in {steps} steps")
        lam, lam_set = p / mu, True
    second = None
    if tie_break and spec.tie_break:
        # hold the last LP's objective (on the chain form: within the certified cone, where
        # P = g(pi).L, so every point kept is Gini-optimal) and spend the least
        value = float(np.dot(cost, sol.x))   # scaled objective without offset
        _tie_break(h, cost, value + 1e-12 * max(1.0, abs(value)), False, n_col, tcol)
        second = _run(h, "simplex")
        if second.status != "optimal":
            second = None
    level = _levels(d, (second or first).x, tcol)
    gini = pairwise_sum(level, w) / float(np.dot(w, level))
    first.objective = gini
    # duals as d Gini / d rhs: the LP's are those of sigma (P - G* mu) (costs scaled to max
    # |c| = 1); by the envelope theorem dG*/db = (dual of P - G* mu) / mu
    cmax = float(np.abs(lp.cost).max()) if lp.num_col else 0.0
    per = (cmax if cmax > 0 else 1.0) / float(np.dot(w, level))
    first.row_dual, first.col_dual = first.row_dual * per, first.col_dual * per
    info = {"gini_form": form, "gini_dinkelbach_steps": steps, "gini_lps": lps, "gini_lambda": lam}
    if chain:
        info["gini_reorders"] = reorders
        info["gini_certificate"] = "bare-core KKT" if bare else "chain duals"
        if bare:
            info["gini_jumps"], info["gini_jumps_rejected"] = jumps, rejected
    if second is not None:
        second.seconds, second.iterations = 0.0, 0
    first.seconds, first.iterations = seconds, iters
    return Run(first, second, lay, build_seconds, info)


# --- owa, chain form -----------------------------------------------------------

def _owa_chain(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool,
               time_limit: float | None, t0: float) -> Run:
    """owa on the chain form: max h(pi).L over order cones until the certificate holds
    (min -OWA = P_G with G = -V), each LP a warm dual-simplex re-solve."""
    d = replace(data, options={**data.options, "owa_order": fm.owa_order(data)})
    lp = build(d, spec.name)
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    tcol = lay["transfer"]
    w = d.weight
    V = fm.owa_V(d)
    G = lambda b: -V(b)   # noqa: E731
    order = d.options["owa_order"]
    lps, seconds, iters, reorders = 0, 0.0, 0, 0
    basis = None
    while True:
        if lps:
            tb = time.perf_counter()
            lp = build(replace(d, options={**d.options, "owa_order": order}), spec.name)
            build_seconds += time.perf_counter() - tb
        h, sigma = _scaled_highs(lp, "simplex", time_limit, basis)
        s = _run(h, "simplex")
        lps += 1
        seconds += s.seconds
        iters += s.iterations
        if s.status == "infeasible" and lps == 1 and d.n > 1:
            mad, _ = solve_lp(build(data, "min-mad"), "simplex", None, time_limit=time_limit)
            seconds += mad.seconds
            if mad.status != "optimal":
                return Run(mad, None, lay, build_seconds, {"owa_form": "chain", "owa_lps": lps})
            order = np.argsort(_levels(d, mad.x, tcol), kind="stable")
            continue
        if s.status != "optimal":
            if lps == 1:
                return Run(s, None, lay, build_seconds, {"owa_form": "chain", "owa_lps": lps})
            raise SolverError(f"owa: HiGHS status '{s.status}' on chain LP {lps}")
        basis = h.getBasis()
        # maximisation: HiGHS's duals are d(objective)/d(rhs), <= 0 on binding >= rows
        nu = -s.row_dual[lay["rows:owa_chain"]] / sigma if d.n > 1 else np.zeros(0)
        level = _levels(d, s.x, tcol)
        gscale = float(np.abs(fm.owa_cut(d, order)).max()) + float(w.max())
        ok, order, _ = ordered_chain_certificate(level, w, order, nu, GINI_CERT_TOL * gscale, G)
        if ok:
            break
        reorders += 1
        if lps >= GINI_MAX_LPS:
            raise SolverError(f"owa: chain certificate not reached after {lps} LPs")
    first, second = s, None
    if tie_break and spec.tie_break:
        cost = lp.cost * sigma
        value = float(np.dot(cost, s.x))
        _tie_break(h, cost, value - 1e-12 * max(1.0, abs(value)), True, lp.num_col, tcol)
        second = _run(h, "simplex")
        if second.status != "optimal":
            second = None
    first.objective = float(np.dot(lp.cost, first.x) + lp.offset)
    first.seconds, first.iterations = seconds, iters
    info = {"owa_form": "chain", "owa_lps": lps, "owa_reorders": reorders}
    return Run(first, second, lay, build_seconds, info)


# --- price of fairness ----------------------------------------------------------

def mean_level_max(data: RegionData, build: Build, time_limit: float | None,
                   closed_form: bool = False) -> float | None:
    """The max-mean value of the same round (weighted by the objective weights); on the
    bare core it is a fractional knapsack (optimizer/waterfill.py), else an LP."""
    soft = bool(data.options.get("soft_thresholds"))
    if closed_form and "shortfall_cap" not in data.options:
        from optimizer.fast.waterfill import max_mean_fill
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
