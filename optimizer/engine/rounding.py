"""``--round-to UNIT``: transfers rounded to multiples of an official unit after the solve and
before writing (issue 11, point 5).

The rule (largest remainder on the floored amounts): every transfer is floored to a multiple
of UNIT, clipped into its bounds (min_transfer, max_transfer and, with hard thresholds, the
transfer that reaches the threshold, each taken to the nearest multiple inside); the units
still missing from the rounded-down total K = floor(total / UNIT) go one each to the largest
remainders, ties broken by region order; if the clipping overshot, the smallest remainders
give one back. The total is then exactly K x UNIT: the whole total when it is a multiple of
UNIT, never more than before (so never above the budget). Only when the lower bounds alone
need more than K units (min-cost's exact thresholds) is K raised to that least total, if it
is within the budget (``total_after`` says so). Each transfer moves by less than UNIT
whenever its bounds allow a multiple of UNIT between floor and ceiling. Where no multiple
lies within a region's bounds, or the bounds cannot hold the total, ``largest_remainder``
relaxes those regions' bounds and names them; ``round_result`` then refuses the unit
(UsageError, exit 2, nothing written) rather than write an allocation that breaks a bound.
The rounded allocation is re-checked (explain/verify.py) with a money tolerance of UNIT (the
check's ``scale`` set to UNIT / 1e-6, since its money tolerance is 1e-6 x scale): budget,
bounds, hard thresholds and every policy; its first-order optimality notes are not applied
(rounding moves the allocation off the optimum by design; the summary gives the objective
value of the rounded allocation as ``objective_value_after``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.levels import least_transfer
from optimizer.core.metrics import level_metrics
from optimizer.core.result import Result
from optimizer.engine.finish import allocation_frame
from optimizer.engine.lastyear import change_summary
from optimizer.engine.solve import DEFAULT_OBJECTIVE, SolveOptions, objective_spec, prepare_round, verify_extras
from optimizer.explain.verify import VerificationError, verify, verify_round


def _eps(q: np.ndarray) -> np.ndarray:
    return 1e-9 + 1e-12 * np.abs(q)


def unit_bounds(lo: np.ndarray, hi: np.ndarray, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """The bounds as whole numbers of UNIT (the multiples inside; +-inf stay unbounded)."""
    a, b = np.asarray(lo, dtype=float) / unit, np.asarray(hi, dtype=float) / unit
    big = np.float64(2.0 ** 62)
    lo_u = np.where(np.isfinite(a), np.ceil(a - _eps(np.nan_to_num(a))), -big)
    hi_u = np.where(np.isfinite(b), np.floor(b + _eps(np.nan_to_num(b))), big)
    return lo_u, hi_u


def _shift(f, rem, lim, need: int, up: bool) -> int:
    """Move up to ``need`` units one region at a time (largest remainder first when ``up``,
    smallest first otherwise; ties by region order) within ``lim``; the units left."""
    while need > 0:
        room = (f < lim) if up else (f > lim)
        cand = np.flatnonzero(room)
        if cand.size == 0:
            return need
        key = -rem[cand] if up else rem[cand]
        take = cand[np.argsort(key, kind="stable")[:need]]
        f[take] += 1 if up else -1
        rem[take] -= 1 if up else -1
        need -= take.size
    return 0


def largest_remainder(t, unit: float, lo=None, hi=None, k: int | None = None) -> tuple[np.ndarray, int, list[int]]:
    """Whole numbers of UNIT for transfers ``t`` (floats): their sum is K = floor(sum t / UNIT)
    (or ``k``); (units, K, indices of regions whose bounds had to be relaxed)."""
    t = np.asarray(t, dtype=float)
    if not (math.isfinite(unit) and unit > 0):
        raise UsageError(f"--round-to must be a positive number, got {unit!r}")
    n = t.size
    lo = np.full(n, -np.inf) if lo is None else lo
    hi = np.full(n, np.inf) if hi is None else hi
    q = t / unit
    total = math.fsum(t) / unit
    k = int(math.floor(total + 1e-9 + 1e-12 * abs(total))) if k is None else k
    lo_u, hi_u = unit_bounds(lo, hi, unit)
    empty = lo_u > hi_u                       # no multiple of UNIT within the bounds
    lo_u, hi_u = np.where(empty, -2.0 ** 62, lo_u), np.where(empty, 2.0 ** 62, hi_u)
    f = np.clip(np.floor(q + _eps(q)), lo_u, hi_u)
    rem = q - f
    gap = k - int(f.sum())
    left = _shift(f, rem, hi_u, gap, up=True) if gap > 0 else _shift(f, rem, lo_u, -gap, up=False)
    relaxed = set(np.flatnonzero(empty).tolist())
    if left:                                  # the bounds cannot hold the total: relax them
        before = f.copy()
        _shift(f, rem, np.full(n, 2.0 ** 62 if gap > 0 else -2.0 ** 62), left, up=gap > 0)
        relaxed |= set(np.flatnonzero(f != before).tolist())
    return f.astype(np.int64), k, sorted(relaxed)


def as_money(units: np.ndarray, unit: float) -> np.ndarray:
    """Whole numbers of UNIT as floats, without binary noise (12.345, not 12.345000000000001)."""
    digits = max(0, math.ceil(-math.log10(unit))) + 3
    return np.round(units.astype(float) * unit, digits) + 0.0


def round_result(inst: Instance, opts: SolveOptions, result: Result, unit: float) -> Result:
    """``result`` (a single-year round of ``inst`` solved with ``opts``) with its transfers
    rounded to multiples of ``unit`` and re-checked; VerificationError if the check fails."""
    if "years" in result.summary or "services" in result.tables:
        raise UsageError("--round-to works on single-year rounds without services.csv (not yet for "
                         "--years or services rounds)")
    spec = objective_spec(opts.objective or inst.objective or DEFAULT_OBJECTIVE)
    prep = prepare_round(inst, spec, opts)
    rd, pinst = prep.rd, prep.inst
    own = pinst.regions["own_revenue"].to_numpy(dtype=float)
    need = pinst.regions["fiscal_need"].to_numpy(dtype=float)
    lo = least_transfer(rd.threshold, own, need, rd.t_min) if prep.hard else rd.t_min
    t = result.allocation["transfer"].to_numpy(dtype=float)
    units, k, relaxed = largest_remainder(t, unit, lo, rd.t_max)
    lo_u, hi_u = unit_bounds(lo, rd.t_max, unit)
    k_min = float(np.sum(lo_u))
    if relaxed and np.all(lo_u <= hi_u) and k < k_min and k_min * unit <= rd.budget * (1 + 1e-12):
        # the floors alone exceed the rounded total (min-cost's exact thresholds): the least
        # total that holds every bound, still within the budget (recorded as total_after)
        units, k, relaxed = largest_remainder(t, unit, lo, rd.t_max, int(k_min))
    if relaxed:
        names = ", ".join(str(result.allocation["region_id"].iloc[i]) for i in relaxed[:5])
        raise UsageError(f"--round-to {unit:g}: no rounding to multiples of {unit:g} keeps the total "
                         f"{k * unit:,.6g} {inst.unit} and every region within its bounds (min/max transfer"
                         f"{', threshold' if prep.hard else ''}; {len(relaxed)} region(s): {names}); "
                         "use a smaller unit")
    rounded = as_money(units, unit)
    money = spec.objective_unit == "money"
    # the check's own widening (equalize verify --tolerance): money by UNIT, levels by UNIT / need
    check = dataclasses.replace(verify_round(pinst, rd, spec.name, money, prep.hard, prep.scale,
                                             verify_extras(prep, opts)), tolerance=unit)
    verdict = verify(check, rounded)
    if any(v.constraint != "optimality" for v in verdict.violations):
        raise VerificationError(verdict, f" (after --round-to {unit:g})")
    info = {"unit": unit, "largest_move": float(np.max(np.abs(rounded - t), initial=0.0)),
            "total_before": math.fsum(t), "total_after": float(k * unit) if abs(k) < 2 ** 52 else math.fsum(rounded),
            "units": k, "objective_value_after": verdict.objective_recomputed,
            "verified": {"feasible": True, "money_tolerance": check.tol().money,
                         "optimality": "not re-checked: rounding moves the allocation off the optimum by "
                                       "design (objective_value_after gives the value of the rounded one)"}}
    return _with_transfers(pinst, rd.threshold, result, rounded, info)


def _with_transfers(inst: Instance, threshold: np.ndarray, result: Result, t: np.ndarray, info: dict) -> Result:
    """``result`` with transfers ``t``: allocation.csv rebuilt by the one builder (binding tags
    and threshold duals are the solve's), metrics and the change against last year recomputed."""
    old = result.allocation
    a = allocation_frame(inst, threshold, t, old["threshold_dual"].to_numpy(), old["binding"].tolist())
    pop, thr = a["population"].to_numpy(dtype=float), a["threshold"].to_numpy(dtype=float)
    m = level_metrics(a["level_after"].to_numpy(dtype=float), pop / pop.sum(), thr)
    s = dict(result.summary) | {"budget_used": info["total_after"], "min_level": m["min_level"],
                                "max_level": m["max_level"], "metrics_after": m,
                                "regions_below_threshold": m["regions_below_threshold"], "rounding": info}
    change = change_summary(a["region_id"], t, a["prior_transfer"], info["unit"])
    if change is not None:
        s["change_vs_prior"] = change
    return dataclasses.replace(result, allocation=a, summary=s)
