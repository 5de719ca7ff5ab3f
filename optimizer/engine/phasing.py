"""Solve a multi-year phase-in: one LP over the stacked region-years (optimizer/prepare/phasing.py),
reported in long form (one row per region and year) with the year figures re-checked."""

from __future__ import annotations

import dataclasses

import numpy as np

from optimizer.core.errors import SolverError, UsageError
from optimizer.core.instance import Instance
from optimizer.core.metrics import level_metrics
from optimizer.core.phasing import Phasing
from optimizer.core.result import Result
from optimizer.engine.lastyear import change_columns, change_summary, previous_transfers
from optimizer.engine.solve import DEFAULT_OBJECTIVE, solve
from optimizer.prepare.phasing import check_phasable, phase_terms, split_change_limit, stack, year_budgets, year_labels

CHECK_TOL = 1e-6


def solve_phased(inst: Instance, opts, ph: Phasing) -> Result:
    """One LP over all years; allocation in long form (one row per region and year)."""
    name = opts.objective or inst.objective or DEFAULT_OBJECTIVE
    check_phasable(inst, name, opts.policy)
    if ph.budget is not None and opts.budget is not None:
        raise UsageError("--budget cannot be combined with a [phasing] budget list")
    budgets = year_budgets(ph, inst.budget if opts.budget is None else opts.budget)
    inst2, ph, override = split_change_limit(inst, ph, opts.policy)
    n = inst.n
    prior = inst.regions["prior_transfer"].to_numpy(dtype=float)
    stacked = stack(inst2, ph, budgets)
    sub = dataclasses.replace(opts, objective=name, budget=None, policy=override,
                              extra_terms=phase_terms(n, ph, budgets, prior))
    res = solve(stacked, sub)
    return _long_form(inst, ph, budgets, res, prior)


def _long_form(inst: Instance, ph: Phasing, budgets: np.ndarray, res: Result, prior: np.ndarray) -> Result:
    n, k = inst.n, ph.years
    a = res.allocation.copy()
    a["region_id"] = np.tile(inst.regions["region_id"].to_numpy(), k)
    a.insert(0, "year", a.pop("year"))
    t = a["transfer"].to_numpy(dtype=float).reshape(k, n)
    checks = check_years(t, budgets, prior, ph)
    prev = previous_transfers(t, prior)
    change, pct = change_columns(t.ravel(), prev.ravel())
    a["change"], a["change_pct"] = change, pct   # the first year against the prior, then year over year
    w_pop = inst.regions["population"].to_numpy(dtype=float)
    years = []
    duals = res.summary.get("year_budget_shadow_prices") or [float("nan")] * k
    for y, label in enumerate(year_labels(inst, k)):
        part = a.iloc[y * n:(y + 1) * n]
        m = level_metrics(part["level_after"].to_numpy(dtype=float), w_pop, part["threshold"].to_numpy(dtype=float))
        years.append({"year": label, "budget": float(budgets[y]), "budget_used": float(t[y].sum()),
                      "min_level": m["min_level"], "max_level": m["max_level"], "mean_level": m["mean_level"],
                      "regions_below_threshold": m["regions_below_threshold"],
                      "budget_shadow_price": duals[y], "gini": m["gini"],
                      **_year_surplus(res.summary, budgets[y], t[y]),
                      "change_vs_previous": change_summary(
                          inst.regions["region_id"], t[y], prev[y],
                          against="prior_transfer" if y == 0 else f"transfer {years[-1]['year']}")})
    s = dict(res.summary)
    s["instance"] = dict(s["instance"]) | {"regions": n, "region_years": n * k}
    s["phasing"] = ph.as_dict() | {"objective_over_years": _over_years(s["objective"])}
    s["years"] = years
    s.pop("change_vs_prior", None)
    if years and years[0]["change_vs_previous"] is not None:
        s["change_vs_prior"] = years[0]["change_vs_previous"]  # the first year against the prior
    s["checks"] = dict(s.get("checks", {})) | checks
    s["budget_shadow_price"] = float("nan")  # the total-budget row is implied by the year rows:
    s.pop("year_budget_shadow_prices", None)  # see years[y]["budget_shadow_price"]
    return Result(a, s)


def _year_surplus(summary: dict, budget: float, t: np.ndarray) -> dict:
    """--spend all (engine/surplus.py, honoured per year through the year budget rows): the
    year's money left unspent (0 within the check's money tolerance)."""
    if "surplus" not in summary:
        return {}
    left = float(budget) - float(t.sum())
    tol = summary.get("verified", {}).get("tolerance", {}).get("money", 0.0)
    return {"surplus_unspent": left if left > tol else 0.0}


def _over_years(name: str) -> str:
    return {"maxmin": "the lowest level over all region-years",
            "min-shortfall": "weighted shortfall summed over years (weights normalised over region-years)",
            "min-cost": "total transfer summed over years"}.get(name, name)


def check_years(t: np.ndarray, budgets: np.ndarray, prior: np.ndarray, ph: Phasing) -> dict[str, float]:
    """Re-check the year budgets and change limits on the unscaled allocation (K x n)."""
    scale = max(1.0, float(np.max(np.abs(t), initial=0.0)), float(np.max(budgets, initial=0.0)))
    prev = np.vstack([prior[None, :], t[:-1]])
    known = np.isfinite(prev)
    out = {"year_budget_excess": float(np.max(t.sum(axis=1) - budgets, initial=0.0))}
    viol = 0.0
    if ph.change_limit is not None:
        width = ph.change_limit * np.where(known, prev, 0.0)
        viol = max(viol, float(np.max(np.where(known, np.abs(t - prev) - width, 0.0), initial=0.0)))
    if ph.change_limit_abs is not None:
        viol = max(viol, float(np.max(np.where(known, np.abs(t - prev) - ph.change_limit_abs, 0.0), initial=0.0)))
    out["year_change_excess"] = max(0.0, viol)
    bad = {kk: v for kk, v in out.items() if v > CHECK_TOL * scale}
    if bad:
        raise SolverError(f"phased solution fails the check on the original data: {bad}")
    return out
