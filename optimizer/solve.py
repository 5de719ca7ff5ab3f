"""Solve orchestration: Instance -> scaled RegionData -> LP -> HiGHS -> Result.

Nothing here prints. The default engine builds the LP with the vectorised twin of the
Pyomo model (identical LP, tested) and hands arrays to highspy; ``engine="pyomo"``
solves the Pyomo model of record through Pyomo's own HiGHS interface, as an
independent check and for users who extend the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.build import build_lp, build_pyomo
from models.objectives import ObjectiveSpec, get_objective
from optimizer import __version__
from optimizer.diagnose import Diagnosis, diagnose
from optimizer.errors import InfeasibleError, SolverError, UsageError
from optimizer.highs import LPSolution, highs_version, solve_lp
from optimizer.instance import Instance, unit_per_capita
from optimizer.metrics import level_metrics
from optimizer.result import ALLOCATION_COLUMNS, Result
from optimizer.scaling import RoundData, money_scale, round_data, to_region_data

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


def parse_budget(text: str | None, base: float) -> float | None:
    """'1234.5' -> absolute; '1.2x' -> a multiple of the instance budget."""
    if text is None:
        return None
    t = text.strip().lower()
    try:
        value = float(t[:-1]) * base if t.endswith("x") else float(t)
    except ValueError:
        raise UsageError(f"--budget: '{text}' is neither a number nor a multiple like '1.2x'") from None
    if not np.isfinite(value) or value < 0:
        raise UsageError(f"--budget must be a finite number >= 0, got '{text}'")
    return value


def solve(inst: Instance, opts: SolveOptions = SolveOptions()) -> Result:
    name = opts.objective or inst.objective or DEFAULT_OBJECTIVE
    try:
        spec = get_objective(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if opts.threshold is not None and (not np.isfinite(opts.threshold) or opts.threshold < 0):
        raise UsageError(f"--threshold must be a finite number >= 0, got {opts.threshold}")
    rd = round_data(inst, opts.budget, opts.threshold)
    reg = inst.regions
    own = reg["own_revenue"].to_numpy(dtype=float)
    need = reg["fiscal_need"].to_numpy(dtype=float)
    diag = diagnose(own, need, rd.threshold, rd.t_min, rd.t_max, rd.budget)
    hard = not spec.soft_thresholds
    base = _base_summary(inst, spec, rd, diag)
    if not diag.feasible(hard):
        _raise_infeasible(inst, spec, diag, base, hard)

    scale = money_scale(need)
    data = to_region_data(inst, rd, scale)
    t0 = time.perf_counter()
    if opts.engine == "pyomo":
        from optimizer.pyomo_engine import solve_pyomo
        build_seconds = 0.0
        first, second, layout = solve_pyomo(build_pyomo(data, spec.name), spec, opts, t0)
        build_seconds = layout.pop("build_seconds")
    elif opts.engine == "direct":
        lp = build_lp(data, spec.name)
        build_seconds = time.perf_counter() - t0
        first, second = solve_lp(lp, spec.algorithm,
                                 lp.col_block("transfer").slice if spec.tie_break and opts.tie_break else None,
                                 time_limit=opts.time_limit)
        layout = {b.name: b.slice for b in lp.col_blocks} | {"rows:" + b.name: b.slice for b in lp.row_blocks}
    else:
        raise UsageError(f"unknown engine '{opts.engine}'; choose direct or pyomo")
    if first.status == "infeasible":
        _raise_infeasible(inst, spec, diag, base, hard)
    if first.status != "optimal":
        raise SolverError(f"HiGHS stopped with status '{first.status}' on objective '{spec.name}'")
    final = second if second is not None and second.status == "optimal" else first
    return _result(inst, spec, rd, diag, base, scale, first, final, second, layout, build_seconds)


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
    raise InfeasibleError(f"infeasible under '{spec.name}': {message}", summary)


def _clean(t: np.ndarray, scale: float, rd: RoundData) -> np.ndarray:
    """Round to 1e-9 of the money scale (HiGHS works to 1e-7 there) and snap values that
    close to a bound onto it, so unscaling noise (39.99999999999999) never reaches a report."""
    eps = 1e-9 * scale
    t = np.round(t, max(0, 9 - int(round(np.log10(scale)))))
    t = np.where(np.abs(t - rd.t_min) <= eps, rd.t_min, t)
    t = np.where(np.isfinite(rd.t_max) & (np.abs(t - rd.t_max) <= eps), rd.t_max, t)
    return np.maximum(t, 0.0) + 0.0


def _check(t: np.ndarray, level: np.ndarray, rd: RoundData, hard: bool, scale: float) -> dict[str, float]:
    """Re-check the allocation on the original (unscaled) data; raise if it does not hold."""
    checks = {
        "budget_excess": max(0.0, float(t.sum()) - rd.budget),
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
    out = []
    for r in range(t.shape[0]):
        tags = []
        if hard and abs(level[r] - rd.threshold[r]) <= eps_l:
            tags.append("threshold")
        if floor is not None and abs(level[r] - floor) <= eps_l:
            tags.append("floor")
        if rd.t_min[r] > 0 and abs(t[r] - rd.t_min[r]) <= eps_m:
            tags.append("min_transfer")
        if np.isfinite(rd.t_max[r]) and abs(t[r] - rd.t_max[r]) <= eps_m:
            tags.append("max_transfer")
        out.append(";".join(tags))
    return out


def _result(inst: Instance, spec: ObjectiveSpec, rd: RoundData, diag: Diagnosis, base: dict,
            scale: float, first: LPSolution, final: LPSolution, second: LPSolution | None,
            layout: dict[str, slice], build_seconds: float) -> Result:
    reg = inst.regions
    own = reg["own_revenue"].to_numpy(dtype=float)
    need = reg["fiscal_need"].to_numpy(dtype=float)
    pop = reg["population"].to_numpy(dtype=float)
    hard = not spec.soft_thresholds
    t = _clean(final.x[layout["transfer"]] * scale, scale, rd)
    level_before, level_after = own / need, (own + t) / need
    checks = _check(t, level_after, rd, hard, scale)
    money = spec.objective_unit == "money"
    value = first.objective * (scale if money else 1.0)
    floor = float(first.x[layout["floor"]][0]) if "floor" in layout else None
    thr_dual = first.row_dual[layout["rows:threshold"]] * (scale if money else 1.0)
    budget_dual = float(first.row_dual[layout["rows:budget"]][0]) * (1.0 if money else 1.0 / scale)
    base_unit, factor = unit_per_capita(inst.unit)
    alloc = pd.DataFrame({
        "region_id": reg["region_id"], "name": reg["name"], "population": reg["population"],
        "own_revenue": own, "fiscal_need": need, "threshold": rd.threshold,
        "prior_transfer": reg["prior_transfer"], "transfer": t,
        "transfer_per_capita": t * factor / pop,
        "level_before": level_before, "level_after": level_after,
        "shortfall": np.maximum(0.0, rd.threshold - level_after),
        "threshold_dual": np.where(np.abs(thr_dual) < 1e-12, 0.0, thr_dual),
        "binding": _binding(t, level_after, rd, hard, floor, scale),
    })[ALLOCATION_COLUMNS]
    for col in inst.extra_columns:
        alloc[col] = reg[col].to_numpy()
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
        "solve_seconds": first.seconds + (second.seconds if second is not None else 0.0),
        "iterations": first.iterations + (second.iterations if second is not None else 0),
        "scale": scale,
        "checks": checks,
    }
    return Result(alloc, summary)
