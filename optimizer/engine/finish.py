"""Finish a solve: the LP's answer -> a checked ``Result`` on the original (unscaled) data,
or an ``InfeasibleError`` carrying the diagnosis. Shared by ``solve`` and the sweeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from models.objectives import ObjectiveSpec
from optimizer.core.errors import InfeasibleError, SolverError
from optimizer.core.instance import Instance, unit_per_capita
from optimizer.core.memory import give_back
from optimizer.core.metrics import LEVEL_TOL, level_metrics
from optimizer.core.result import Result
from optimizer.core.scaling import RoundData
from optimizer.core.solution import LPSolution
from optimizer.core.sums import exact_sum
from optimizer.core.text_columns import STR_DTYPE
from optimizer.core.version import SCHEMA_VERSION, __version__
from optimizer.engine.highs import highs_version
from optimizer.engine.lastyear import add_change, change_columns, change_summary
from optimizer.explain.diagnose import Diagnosis
from optimizer.explain.prices import budget_price_text
from optimizer.explain.reasons import with_reasons
from optimizer.explain.verify import (
    VerifyExtras,
    Violation,
    require,
    snap_zero,
    verify,
    verify_round,
    with_violation,
)
from optimizer.fast.optimality import Core, Optimality, certify_core


def base_summary(inst: Instance, spec: ObjectiveSpec, rd: RoundData, diag: Diagnosis) -> dict:
    """The summary fields known before solving (also those of an infeasible round)."""
    return {
        "schema_version": SCHEMA_VERSION,
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


def raise_infeasible(inst: Instance, spec: ObjectiveSpec, diag: Diagnosis, base: dict, hard: bool) -> None:
    message = diag.explain(list(inst.regions["region_id"]), inst.unit, hard) or unexplained(inst, diag, hard)
    summary = base | {"status": "infeasible", "diagnosis": message,
                      "bound_conflicts": [
                          {"region_id": inst.regions["region_id"].iloc[r], "required_transfer": req,
                           "max_transfer": cap} for r, req, cap in diag.bound_conflicts]}
    if hasattr(diag, "details"):  # LP diagnosis of policy conflicts (engine/conflicts.py)
        summary |= diag.details(inst.unit)
    raise InfeasibleError(f"infeasible under '{spec.name}': {message}", summary)


def unexplained(inst: Instance, diag: Diagnosis, hard: bool) -> str:
    """HiGHS's verdict when the diagnosis finds nothing missing: with the budget enough up to
    float rounding, the LP is numerically hard (needs over many orders of magnitude), not short."""
    if not diag.feasible(hard):
        return "HiGHS reports the constraints cannot all hold"
    return (f"HiGHS reports the constraints cannot all hold, although the diagnosis finds the budget "
            f"enough up to float rounding: {need_span(inst)} make the LP numerically hard for HiGHS (the "
            f"certified closed forms, the default where the objective has one, do not use it)")


HARD_SPAN = 1e8   # needs spanning more orders of magnitude than this make an LP numerically hard for HiGHS


def need_span(inst: Instance) -> str:
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    return f"fiscal needs from {need.min():,.3g} to {need.max():,.3g} {inst.unit}"


def solver_stopped(inst: Instance, status: str, what: str) -> SolverError:
    """HiGHS stopped without an answer: on needs spanning many orders of magnitude, say that
    the round is numerically hard (and with what), never a figure."""
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    hard = status in ("error", "unbounded") and bool(need.size) and \
        float(need.max()) > HARD_SPAN * max(float(need.min()), 1e-300)
    why = f": {need_span(inst)} make the LP numerically hard for HiGHS" if hard else ""
    return SolverError(f"HiGHS stopped with status '{status}' on {what}{why}")


def check_status(inst: Instance, spec: ObjectiveSpec, diag: Diagnosis, base: dict, hard: bool,
                 first: LPSolution) -> None:
    """Raise unless phase 1 is optimal: infeasible with the diagnosis, else a solver error."""
    if first.status == "infeasible":
        raise_infeasible(inst, spec, diag, base, hard)
    if first.status != "optimal":
        raise solver_stopped(inst, first.status, f"objective '{spec.name}'")


def _round_per_region(t: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Round each t_r to 12 significant digits of ref_r (its own need, or the money scale if
    smaller): unscaling noise goes, and a region whose need is 1e-3 keeps its level."""
    digits = 12 - np.floor(np.log10(np.maximum(ref, 1e-300))).astype(np.int64)
    out = t.copy()
    for d in np.unique(digits):
        sel = digits == d
        out[sel] = np.round(t[sel], int(d))
    return out


def clean_transfers(t: np.ndarray, scale: float, rd: RoundData, need: np.ndarray | None = None) -> np.ndarray:
    """Round to 12 significant digits of each region's money scale (the smaller of the money
    scale and its need) and snap values within 1e-9 of it onto a bound, so unscaling noise
    (39.99999999999999) never reaches a report; then take any excess over the budget left
    by HiGHS's feasibility tolerance (at most ~1e-7 of the scale) off the transfer with the
    most room, so reported transfers never sum above the budget. A region's own scale
    matters when needs span many orders of magnitude: rounding a need of 1e-3 to 1e-8 of a
    money scale of 1e4 moved its level by 1e-5 (issue 10)."""
    ref = np.full(t.shape, float(scale)) if need is None else np.minimum(float(scale), np.asarray(need, dtype=float))
    eps = 1e-9 * ref
    t = _round_per_region(t, ref)
    t = np.where(np.abs(t - rd.t_min) <= eps, rd.t_min, t)
    t = np.where(np.isfinite(rd.t_max) & (np.abs(t - rd.t_max) <= eps), rd.t_max, t)
    t = np.maximum(t, np.minimum(rd.t_min, 0.0)) + 0.0  # t_min < 0: horizontal contributions
    excess = exact_sum(t) - rd.budget
    if 0 < excess <= 1e-6 * max(scale, abs(rd.budget)) and t.size:
        r = int(np.argmax(t - rd.t_min))   # the transfer with the most room above its floor
        t[r] = max(rd.t_min[r], t[r] - excess)
        while exact_sum(t) > rd.budget and t[r] > rd.t_min[r]:  # float rounding of the sum
            t[r] = np.nextafter(t[r], -np.inf)
    return t


def binding_tags(t, level, rd: RoundData, hard: bool, floor: float | None,
                 scale: float) -> pd.api.extensions.ExtensionArray:
    """The core constraints that hold with equality per region: ``threshold`` (the level is
    at its threshold: the threshold row is tight, hard or soft), ``shortfall`` (soft: below
    it, the row tight through its shortfall variable), ``floor``, ``min_transfer``,
    ``max_transfer``. A threshold dual can be nonzero only where ``threshold`` or
    ``shortfall`` is tagged (complementary slackness): the two columns agree in every mode."""
    eps_m, eps_l = 1e-7 * scale, 1e-7
    t, level = np.asarray(t, dtype=float), np.asarray(level, dtype=float)
    with np.errstate(invalid="ignore"):   # at the threshold: within the check's level tolerance
        at_thr = np.abs(level - rd.threshold) <= LEVEL_TOL * np.maximum(1.0, np.abs(rd.threshold))
        masks = (at_thr,
                 np.zeros(t.shape[0], dtype=bool) if hard else ~at_thr & (level < rd.threshold),
                 np.zeros(t.shape[0], dtype=bool) if floor is None else np.abs(level - floor) <= eps_l,
                 (rd.t_min > 0) & (np.abs(t - rd.t_min) <= eps_m),
                 np.isfinite(rd.t_max) & (np.abs(t - rd.t_max) <= eps_m))
    # vectorised (one Python loop per region took ~1 s at 1e6): bit i = tag i
    names = ("threshold", "shortfall", "floor", "min_transfer", "max_transfer")
    table = pa.array([";".join(nm for i, nm in enumerate(names) if code >> i & 1) for code in range(32)])
    code = sum(m.astype(np.int32) << i for i, m in enumerate(masks))
    # a str column straight from Arrow (no Python string per region)
    return pd.array(pa.DictionaryArray.from_arrays(pa.array(code, pa.int32()), table).dictionary_decode(),
                    dtype=STR_DTYPE)


# allocation.csv's columns computed by a round, in ALLOCATION_COLUMNS order (the others are the instance's)
COMPUTED = ("threshold", "transfer", "transfer_per_capita", "level_before", "level_after", "shortfall",
            "threshold_dual")


def allocation_frame(inst: Instance, threshold: np.ndarray, t: np.ndarray, threshold_dual: np.ndarray,
                     binding: list[str], dual_note: str | None = None,
                     change: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """allocation.csv of a round (docs/schema.md): the region data, the transfers and what they
    do to each level, the binding constraints and the reason derived from them
    (explain/reasons.py; ``dual_note`` says why empty threshold duals are empty); the
    instance's pass-through columns last. One builder for every round (plain, services).
    ``change``: ``change_columns(t, prior_transfer)`` when the caller has them already."""
    reg = inst.regions
    _, factor = unit_per_capita(inst.unit)
    own, need = reg["own_revenue"].to_numpy(dtype=float), reg["fiscal_need"].to_numpy(dtype=float)
    # the computed columns are written straight into one block that the frame wraps without a
    # copy (a dict of arrays is stacked by pandas, then reordered: two copies, 170 MB at 1e6)
    block = np.empty((len(COMPUTED), len(reg)))
    thr, tr, per_capita, before, after, shortfall, dual = block
    thr[:], tr[:], dual[:] = threshold, t, threshold_dual
    np.divide(np.multiply(tr, factor, out=per_capita), reg["population"].to_numpy(dtype=float), out=per_capita)
    np.divide(own, need, out=before)
    np.divide(np.add(own, tr, out=after), need, out=after)
    np.maximum(0.0, np.subtract(thr, after, out=shortfall), out=shortfall)
    alloc = pd.DataFrame(block.T, columns=list(COMPUTED), copy=False)
    for at, col in ((0, "region_id"), (1, "name"), (2, "population"), (3, "own_revenue"), (4, "fiscal_need"),
                    (6, "prior_transfer")):
        alloc.insert(at, col, _instance_column(reg, col, alloc.index))
    alloc.insert(len(alloc.columns), "binding", binding)
    alloc = with_reasons(add_change(alloc, columns=change), dual_note)
    if inst.extra_columns:
        alloc = pd.concat([alloc, reg[inst.extra_columns].reset_index(drop=True)], axis=1)
    return alloc


def _instance_column(reg: pd.DataFrame, col: str, index: pd.Index):
    """An instance column for the allocation frame: the Series itself when it lines up (pandas
    shares it, copy on write: 8 MB a column at 1e6), else its values (no index alignment);
    the money columns as floats."""
    values = reg[col]
    if col not in ("region_id", "name", "population") and values.dtype != np.float64:
        return values.to_numpy(dtype=float)
    return values if reg.index.equals(index) else values.array


SOFT_HELD_NOTE = "not one number under soft thresholds: the shortfall held from phase 1 moves with it"
DECOMPOSITION_NOTE = "not unique in a tied block of the threshold decomposition (--no-fast-path gives the LP's)"


def dual_note(first: LPSolution, extra: VerifyExtras | None) -> str | None:
    """Why the threshold duals (and, soft, the budget's price) are left empty, or None."""
    if extra is not None and extra.shortfall_cap is not None:
        return SOFT_HELD_NOTE
    if first.algorithm == "threshold decomposition":
        return DECOMPOSITION_NOTE
    return None


def _allocation(inst: Instance, spec: ObjectiveSpec, rd: RoundData, scale: float, t: np.ndarray,
                first: LPSolution, layout: dict[str, slice], hard: bool, note: str | None,
                change: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """threshold_dual = d objective_value / d threshold_r (objective units per level unit),
    the threshold row's dual unscaled; empty (NaN) where ``note`` says it is not one number."""
    reg = inst.regions
    level_after = (reg["own_revenue"].to_numpy(dtype=float) + t) / reg["fiscal_need"].to_numpy(dtype=float)
    money = spec.objective_unit == "money"
    floor = float(first.x[layout["floor"]][0]) if "floor" in layout else None
    thr_dual = first.row_dual[layout["rows:threshold"]] * (scale if money else 1.0)
    thr_dual = np.where(np.abs(thr_dual) < 1e-12, 0.0, thr_dual)
    if note == SOFT_HELD_NOTE:
        thr_dual = np.full(t.shape, np.nan)
    return allocation_frame(inst, rd.threshold, t, thr_dual,
                            binding_tags(t, level_after, rd, hard, floor, scale), note, change)


def build_result(inst: Instance, spec: ObjectiveSpec, rd: RoundData, base: dict, scale: float,
                 first: LPSolution, final: LPSolution, second: LPSolution | None,
                 layout: dict[str, slice], build_seconds: float, hard: bool | None = None,
                 extra: VerifyExtras | None = None) -> Result:
    """The Result of an optimal solve: ``final``'s transfers cleaned and verified on the
    original data (explain/verify.py: raises VerificationError); values, duals and tags
    read from ``first`` (phase 1)."""
    hard = (not spec.soft_thresholds) if hard is None else hard
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    t = clean_transfers(final.x[layout["transfer"]] * scale, scale, rd, need)
    note = dual_note(first, extra)
    money = spec.objective_unit == "money"
    reported = first.objective * (scale if money else 1.0)
    # the checks first: their work arrays are gone before the allocation table is built (the
    # peak at 1e6 was the two together), and a failed check builds no table
    vr = verify_round(inst, rd, spec.name, money, hard, scale, extra)
    verdict = require(verify(vr, t, reported))
    tol = verdict.tolerance
    optimality = core_optimality(vr, t, tol.money if money else tol.level)
    if optimality.gap is not None and not optimality.certified:
        tol_o = tol.money if money else tol.level
        require(with_violation(verdict, Violation("optimality", optimality.region, optimality.gap,
                                                  "money" if money else "level", tol_o, optimality.detail)))
    # the metrics and the change summary before the table too (the same levels, as the table
    # computes them): their sorts and temporaries no longer stack on it at 1e6
    before, after = _metrics(inst, rd, t, tol.level)
    reg = inst.regions
    columns = change_columns(t, reg["prior_transfer"].to_numpy(dtype=float))   # once: summary and table
    change = change_summary(reg["region_id"], t, reg["prior_transfer"], columns=columns)
    give_back(inst.n)
    alloc = _allocation(inst, spec, rd, scale, t, first, layout, hard, note, columns)
    give_back(inst.n)   # the reasons' intermediate texts (Arrow's pool keeps them otherwise)
    price = budget_price(first, layout, money, scale, note)
    two = second is not None and second is not first
    summary = base | {
        "status": "optimal",
        "objective_value": snap_zero(reported, tol.noise(money)),
        "budget_used": snap_zero(float(t.sum()), tol.noise(True)),
        "min_level": after["min_level"],
        "max_level": after["max_level"],
        "regions_below_threshold": after["regions_below_threshold"],
        "budget_shadow_price": price,
        "budget_shadow_price_text": budget_price_text(spec.name, money, price, rd.budget, inst.unit),
        "budget_binding": bool(rd.budget - t.sum() <= 1e-7 * max(scale, rd.budget)),
        "per_capita_unit": unit_per_capita(inst.unit)[0],
        "metrics_before": before,
        "metrics_after": after,
        "tie_break": "least total transfer among optimal splits" if second is not None else "none",
        "build_seconds": build_seconds,
        "solve_seconds": first.seconds + (second.seconds if two else 0.0),
        "iterations": first.iterations + (second.iterations if two else 0),
        "scale": scale,
        "checks": {k: v for k, v in verdict.checks.items() if k != "objective_gap"},
        "verified": verdict.as_summary() | {"optimality": optimality.status},
    }
    if note is not None:
        summary["threshold_dual_note"] = note
    if change is not None:
        summary["change_vs_prior"] = change
    return Result(alloc, summary)


def _metrics(inst: Instance, rd: RoundData, t: np.ndarray, level_tol: float) -> tuple[dict, dict]:
    """(metrics_before, metrics_after), population-weighted: the levels own / need and
    (own + t) / need, the very arrays ``allocation_frame`` writes as level_before and level_after."""
    reg = inst.regions
    own, need = reg["own_revenue"].to_numpy(dtype=float), reg["fiscal_need"].to_numpy(dtype=float)
    pop = reg["population"].to_numpy(dtype=float)
    w = pop / pop.sum()
    after = level_metrics((own + t) / need, w, rd.threshold, level_tol)
    return level_metrics(own / need, w, rd.threshold, level_tol), after


def budget_price(first: LPSolution, layout: dict[str, slice], money: bool, scale: float,
                 note: str | None) -> float:
    """d objective_value / d budget in objective units per instance unit: the budget row's
    dual unscaled (HiGHS reports d objective / d rhs for either sense; the finite-difference
    tests of tests/test_prices.py hold every objective to it). NaN in soft phase 2 (the
    shortfall held moves with the budget: ``SOFT_HELD_NOTE``)."""
    if note == SOFT_HELD_NOTE:
        return float("nan")
    return float(first.row_dual[layout["rows:budget"]][0]) * (1.0 if money else 1.0 / scale) + 0.0


def core_optimality(vr, t: np.ndarray, tol: float) -> Optimality:
    """"certified" when the round is the bare core (hard thresholds, no policy rows) and the
    closed form of fast/optimality.py proves ``t`` optimal (min-shortfall: its thresholds
    are the objective, never hard), else "not certified"."""
    if (not vr.hard and vr.objective != "min-shortfall") or vr.policies:
        return Optimality(False, None, None)
    core = Core(vr.own, vr.need, vr.threshold, vr.t_min, vr.t_max, vr.weight, vr.budget)
    return certify_core(vr.objective, core, t, tol)
