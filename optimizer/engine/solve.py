"""Solve orchestration: Instance -> scaled RegionData -> LP -> HiGHS -> Result.

Nothing here prints. The default engine builds the LP with the vectorised twin of the
Pyomo model (identical LP, tested) and hands arrays to highspy; ``engine="pyomo"``
solves the Pyomo model of record through Pyomo's own HiGHS interface, as an
independent check and for users who extend the model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.build import build_lp, build_pyomo
from models.objectives import ObjectiveSpec, get_objective
from optimizer import __version__
from optimizer.explain.diagnose import Diagnosis, diagnose
from optimizer.core.errors import InfeasibleError, SolverError, UsageError
from optimizer.fast.fastpath import fast_core_run
from optimizer.engine.parametric import parametric_maxmin_run
from optimizer.core.solution import LPSolution
from optimizer.engine.highs import highs_version, solve_lp
from optimizer.core.instance import Instance, unit_per_capita
from optimizer.core.metrics import level_metrics
from optimizer.core.policy import PolicyConfig
from optimizer.engine.conflicts import PolicyDiagnosis
from optimizer.prepare.policy_round import policy_round, tie_break_columns, unit_labels
from optimizer.explain.policy_checks import finish_policies
from optimizer.engine.fairness_solve import add_fairness_summary, parse_objective_options, resolve_thresholds, run_direct, shortfall_floor, with_shortfall_cap
from optimizer.core.result import ALLOCATION_COLUMNS, Result
from optimizer.core.scaling import RoundData, money_scale, round_data, to_region_data

DEFAULT_OBJECTIVE = "maxmin"
FEAS_TOL = 1e-6   # relative tolerance of the post-solve checks on the original data


@dataclass(frozen=True)
class SolveOptions:
    objective: str | None = None
    budget: float | None = None
    threshold: float | None = None
    engine: str = "direct"           # "direct" (arrays -> highspy) or "pyomo"
    tie_break: bool = True
    time_limit: float | None = None
    policy: PolicyConfig | None = None   # overrides of the instance's [policy] (CLI flags, scenarios)
    objective_options: dict | None = None   # alpha, weights, breakpoints, thresholds, ... (over [objective])
    price_of_fairness: bool = True   # also solve max-mean to report the price of fairness
    extra_terms: object = None   # callable (RoundData, scale) -> policy terms (optimizer/phasing.py, services.py)
    fast_path: bool = True   # certified water-filling for maxmin/leximin on the core (optimizer/fastpath.py)


def solve(inst: Instance, opts: SolveOptions = SolveOptions()) -> Result:
    name = opts.objective or inst.objective or DEFAULT_OBJECTIVE
    try:
        spec = get_objective(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if opts.threshold is not None and (not np.isfinite(opts.threshold) or opts.threshold < 0):
        raise UsageError(f"--threshold must be a finite number >= 0, got {opts.threshold}")
    pr = policy_round(inst, opts.policy)     # [policy], groups; revenue counting
    inst = pr.inst
    rd = pr.adjust(round_data(inst, opts.budget, opts.threshold))
    reg = inst.regions
    own = reg["own_revenue"].to_numpy(dtype=float)
    need = reg["fiscal_need"].to_numpy(dtype=float)
    diag = diagnose(own, need, rd.threshold, rd.t_min, rd.t_max, rd.budget)
    fopts = parse_objective_options({**inst.objective_options, **(opts.objective_options or {})})
    hard, threshold_mode = resolve_thresholds(spec, fopts.get("thresholds"), diag.feasible(True))
    scale = money_scale(need)
    data = to_region_data(inst, rd, scale)
    data = replace(data, options={**fopts, "soft_thresholds": not hard})
    terms = pr.terms(rd, scale) + (tuple(opts.extra_terms(rd, scale)) if opts.extra_terms else ())
    if terms:  # the closed form knows only the core: diagnose with LPs
        diag = PolicyDiagnosis(data, terms, scale, unit_labels(pr.inst.regions), hard)
        if fopts.get("thresholds") == "auto" and hard and not diag.feasible(True):
            # auto: the policies make the thresholds unreachable, so go soft after all
            hard, threshold_mode = False, "soft"
            data = replace(data, options={**data.options, "soft_thresholds": True})
            diag = PolicyDiagnosis(data, terms, scale, unit_labels(pr.inst.regions), hard)
    base = _base_summary(inst, spec, rd, diag)
    if not diag.feasible(hard):
        _raise_infeasible(inst, spec, diag, base, hard)

    fair_info: dict = {"thresholds": threshold_mode}
    build = lambda d, o: build_lp(d, o, terms)  # noqa: E731
    if not hard and not spec.soft_thresholds:  # soft mode, phase 1: the least weighted shortfall
        s_star, _ = shortfall_floor(data, build, opts.time_limit)
        data = with_shortfall_cap(data, s_star)
        fair_info["shortfall_held"] = s_star
    t0 = time.perf_counter()
    if opts.engine == "pyomo" and spec.driver != "lp":
        raise UsageError(f"'{spec.name}' solves a sequence of LPs; use --engine direct")
    if opts.engine == "pyomo":
        from optimizer.engine.pyomo_engine import solve_pyomo
        build_seconds = 0.0
        first, second, layout = solve_pyomo(build_pyomo(data, spec.name, terms), spec, opts, t0)
        build_seconds = layout.pop("build_seconds")
    elif opts.engine == "direct":
        run = fast_core_run(data, spec.name, build, hard, bool(terms)) if opts.fast_path else None
        if run is None and opts.fast_path and spec.name == "maxmin" and hard and terms:
            run = parametric_maxmin_run(data, build, tie_break_columns, opts.time_limit)
            if run is not None and not (spec.tie_break and opts.tie_break):
                run.second = None
        if run is None:
            run = run_direct(data, spec, build, opts.tie_break, opts.time_limit, tie_break_columns)
        first, second, layout, build_seconds = run.first, run.second, run.layout, run.build_seconds
        fair_info |= run.info
    else:
        raise UsageError(f"unknown engine '{opts.engine}'; choose direct or pyomo")
    if first.status == "infeasible":
        _raise_infeasible(inst, spec, diag, base, hard)
    if first.status != "optimal":
        raise SolverError(f"HiGHS stopped with status '{first.status}' on objective '{spec.name}'")
    final = second if second is not None and second.status == "optimal" else first
    result = _result(inst, spec, rd, diag, base, scale, first, final, second, layout, build_seconds, hard)
    if terms:  # policy rows: binding tags read off the LP rows; every policy re-checked unscaled
        raw_terms = pr.terms(rd, 1.0) + (tuple(opts.extra_terms(rd, 1.0)) if opts.extra_terms else ())
        result = finish_policies(result, data, terms, final.x, layout, to_region_data(inst, rd, 1.0), raw_terms,
                                 FEAS_TOL * max(scale, rd.budget * 1e-3), FEAS_TOL)
        if "rows:year_budget" in layout:  # phased rounds: one budget row per year, scaled as the budget's
            y_dual = first.row_dual[layout["rows:year_budget"]] * (1.0 if spec.objective_unit == "money" else 1 / scale)
            result.summary["year_budget_shadow_prices"] = [float(v) + 0.0 for v in y_dual]
    # the max-mean reference is auxiliary: with policy rows its LP can cost far more than
    # the allocation itself (no-overtaking, 1e5 regions: 130 s), so it gets a time budget
    main_seconds = result.summary["build_seconds"] + result.summary["solve_seconds"]
    pof_limit = opts.time_limit if opts.time_limit is not None else max(10.0, 3.0 * main_seconds)
    add_fairness_summary(result, data, spec, build, fair_info,
                         opts.price_of_fairness and opts.engine == "direct", pof_limit,
                         closed_form=not terms)
    pof = result.summary.get("price_of_fairness")
    if isinstance(pof, dict) and pof.get("value") is None and opts.price_of_fairness and terms:
        pof["note"] = f"not computed: the max-mean reference LP did not finish within {pof_limit:.0f} s"
    return pr.annotate(result)


def _base_summary(inst: Instance, spec: ObjectiveSpec, rd: RoundData, diag: Diagnosis) -> dict:
    return {
        "status": None,
        "objective": spec.name,
        "objective_value": None,
        "objective_unit": inst.unit if spec.objective_unit == "money" else "level",
        "budget": rd.budget,
        "budget_used": None,
        "required_budget": diag.required_budget,
        "missing_budget": diag.missing_budget,
        "threshold_default": float(inst.threshold if rd.threshold.size == 0 else np.median(rd.threshold)),
        "unit": inst.unit,
        "instance": {"name": inst.name, "sha256": inst.sha256, "regions": inst.n},
        "solver": {"name": "HiGHS", "version": highs_version(), "interface": "highspy",
                   "algorithm": spec.algorithm},
        "equalize_version": __version__,
    }


def _raise_infeasible(inst: Instance, spec: ObjectiveSpec, diag: Diagnosis, base: dict, hard: bool) -> None:
    message = diag.explain(list(inst.regions["region_id"]), inst.unit, hard) or \
        "HiGHS reports the constraints cannot all hold"
    summary = base | {"status": "infeasible", "diagnosis": message,
                      "bound_conflicts": [
                          {"region_id": inst.regions["region_id"].iloc[r], "required_transfer": req,
                           "max_transfer": cap} for r, req, cap in diag.bound_conflicts]}
    if hasattr(diag, "details"):  # LP diagnosis of policy conflicts (optimizer/conflicts.py)
        summary |= diag.details(inst.unit)
    raise InfeasibleError(f"infeasible under '{spec.name}': {message}", summary)


def _clean(t: np.ndarray, scale: float, rd: RoundData) -> np.ndarray:
    """Round to 1e-12 of the money scale and snap values within 1e-9 of it onto a bound,
    so unscaling noise (39.99999999999999) never reaches a report; then take any excess
    over the budget left by HiGHS's feasibility tolerance (at most ~1e-7 of the scale)
    off the transfer with the most room, so reported transfers never sum above the budget."""
    eps = 1e-9 * scale
    t = np.round(t, max(0, 12 - int(round(np.log10(scale)))))
    t = np.where(np.abs(t - rd.t_min) <= eps, rd.t_min, t)
    t = np.where(np.isfinite(rd.t_max) & (np.abs(t - rd.t_max) <= eps), rd.t_max, t)
    t = np.maximum(t, np.minimum(rd.t_min, 0.0)) + 0.0  # t_min < 0: horizontal contributions
    excess = math.fsum(t) - rd.budget
    if 0 < excess <= 1e-6 * max(scale, abs(rd.budget)) and t.size:
        r = int(np.argmax(t - rd.t_min))   # the transfer with the most room above its floor
        t[r] = max(rd.t_min[r], t[r] - excess)
        while math.fsum(t) > rd.budget and t[r] > rd.t_min[r]:  # float rounding of the sum
            t[r] = np.nextafter(t[r], -np.inf)
    return t


def _check(t: np.ndarray, level: np.ndarray, rd: RoundData, hard: bool, scale: float) -> dict[str, float]:
    """Re-check the allocation on the original (unscaled) data; raise if it does not hold."""
    checks = {
        "budget_excess": max(0.0, math.fsum(t) - rd.budget),
        "below_min_transfer": float(np.max(rd.t_min - t, initial=0.0)),
        "above_max_transfer": float(np.max(np.where(np.isfinite(rd.t_max), t - rd.t_max, 0.0), initial=0.0)),
        "threshold_violation": float(np.max(rd.threshold - level, initial=0.0)) if hard else 0.0,
    }
    money_tol = FEAS_TOL * max(scale, rd.budget * 1e-3)
    bad = {k: v for k, v in checks.items()
           if v > (FEAS_TOL if k == "threshold_violation" else money_tol)}
    if bad:
        raise SolverError(f"solution fails the check on the original data: {bad}")
    return checks


def _binding(t, level, rd: RoundData, hard: bool, floor: float | None, scale: float) -> list[str]:
    eps_m, eps_l = 1e-7 * scale, 1e-7
    t, level = np.asarray(t, dtype=float), np.asarray(level, dtype=float)
    n = t.shape[0]
    no = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        masks = (no | hard & (np.abs(level - rd.threshold) <= eps_l),
                 no if floor is None else np.abs(level - floor) <= eps_l,
                 (rd.t_min > 0) & (np.abs(t - rd.t_min) <= eps_m),
                 np.isfinite(rd.t_max) & (np.abs(t - rd.t_max) <= eps_m))
    # vectorised (one Python loop per region took ~1 s at 1e6): bit i = tag i
    names = ("threshold", "floor", "min_transfer", "max_transfer")
    table = np.array([";".join(nm for i, nm in enumerate(names) if code >> i & 1) for code in range(16)],
                     dtype=object)
    code = sum(m.astype(np.int64) << i for i, m in enumerate(masks))
    return table[code].tolist()


def _result(inst: Instance, spec: ObjectiveSpec, rd: RoundData, diag: Diagnosis, base: dict,
            scale: float, first: LPSolution, final: LPSolution, second: LPSolution | None,
            layout: dict[str, slice], build_seconds: float, hard: bool | None = None) -> Result:
    reg = inst.regions
    own = reg["own_revenue"].to_numpy(dtype=float)
    need = reg["fiscal_need"].to_numpy(dtype=float)
    pop = reg["population"].to_numpy(dtype=float)
    hard = (not spec.soft_thresholds) if hard is None else hard
    t = _clean(final.x[layout["transfer"]] * scale, scale, rd)
    level_before, level_after = own / need, (own + t) / need
    checks = _check(t, level_after, rd, hard, scale)
    money = spec.objective_unit == "money"
    value = first.objective * (scale if money else 1.0)
    floor = float(first.x[layout["floor"]][0]) if "floor" in layout else None
    thr_dual = first.row_dual[layout["rows:threshold"]] * (scale if money else 1.0)
    budget_dual = float(first.row_dual[layout["rows:budget"]][0]) * (1.0 if money else 1.0 / scale) + 0.0
    base_unit, factor = unit_per_capita(inst.unit)
    alloc = pd.DataFrame({
        # .array: no index alignment and no string re-conversion (a third of a small solve)
        "region_id": reg["region_id"].array, "name": reg["name"].array,
        "population": reg["population"].array,
        "own_revenue": own, "fiscal_need": need, "threshold": rd.threshold,
        "prior_transfer": reg["prior_transfer"].array, "transfer": t,
        "transfer_per_capita": t * factor / pop,
        "level_before": level_before, "level_after": level_after,
        "shortfall": np.maximum(0.0, rd.threshold - level_after),
        "threshold_dual": np.where(np.abs(thr_dual) < 1e-12, 0.0, thr_dual),
        "binding": _binding(t, level_after, rd, hard, floor, scale),
    })[ALLOCATION_COLUMNS]
    if inst.extra_columns:
        alloc = pd.concat([alloc, reg[inst.extra_columns].reset_index(drop=True)], axis=1)
    w = pop / pop.sum()
    after, before = level_metrics(level_after, w, rd.threshold), level_metrics(level_before, w, rd.threshold)
    summary = base | {
        "status": "optimal",
        "objective_value": value,
        "budget_used": float(t.sum()),
        "min_level": after["min_level"],
        "max_level": after["max_level"],
        "regions_below_threshold": after["regions_below_threshold"],
        "budget_shadow_price": budget_dual,
        "budget_binding": bool(rd.budget - t.sum() <= 1e-7 * max(scale, rd.budget)),
        "per_capita_unit": base_unit,
        "metrics_before": before,
        "metrics_after": after,
        "tie_break": "least total transfer among optimal splits" if second is not None else "none",
        "build_seconds": build_seconds,
        "solve_seconds": first.seconds + (second.seconds if second is not None and second is not first else 0.0),
        "iterations": first.iterations + (second.iterations if second is not None and second is not first else 0),
        "scale": scale,
        "checks": checks,
    }
    return Result(alloc, summary)
