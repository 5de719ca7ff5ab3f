"""Multi-year phase-in: ``[phasing]`` in instance.toml, one LP over all region-years.

    [phasing]
    years = 3                    # K >= 1
    budget = [60, 63, 66]        # one budget per year (instance unit), or:
    budget_growth = 0.05         # B_y = B * (1 + g)^(y-1), B the instance budget (or --budget)
    own_growth = 0.03            # own_{r,y} = own_r * (1 + g_own)^(y-1)
    need_growth = 0.02           # N_{r,y}   = N_r   * (1 + g_need)^(y-1)
    change_limit = 0.1           # |T_{r,y} - T_{r,y-1}| <= d * T_{r,y-1},  T_{r,0} = prior_r
    change_limit_abs = 500       # |T_{r,y} - T_{r,y-1}| <= D
    guarantee_years = 4          # merger_guarantee covers years 1..4 (the merger year and three more)

The round is stacked: unit u = (r, y), year-major, is one "region" of an ordinary solve whose
budget row is the sum of the year budgets; ``year-budget`` and ``phase-change`` rows
(models/phasing.py) are added as extra policy terms. The objective therefore applies to all
region-years at once: maxmin maximises the lowest level over every region and year,
min-shortfall minimises the weighted shortfall summed over years (weights normalised over
region-years, i.e. the yearly sum divided by K), min-cost minimises the total over years.
Other objectives are refused (exit 2). See docs/policies.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.policies import PolicyTerm
from optimizer.core.errors import InputError, Problem, SolverError, UsageError
from optimizer.core.instance import Instance
from optimizer.core.metrics import level_metrics
from optimizer.prepare.policy_config import PolicyConfig
from optimizer.core.result import Result

PHASING_OBJECTIVES = ("maxmin", "min-shortfall", "min-cost")
KEYS = ("years", "budget", "budget_growth", "own_growth", "need_growth", "change_limit",
        "change_limit_abs", "guarantee_years")
CHECK_TOL = 1e-6


@dataclass(frozen=True)
class Phasing:
    years: int = 1
    budget: tuple[float, ...] | None = None
    budget_growth: float = 0.0
    own_growth: float = 0.0
    need_growth: float = 0.0
    change_limit: float | None = None
    change_limit_abs: float | None = None
    guarantee_years: int = 4

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["budget"] = list(self.budget) if self.budget is not None else None
        return d


def _num(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def parse_phasing(table: Any, file: str, problems: list[Problem]) -> Phasing | None:
    """Validate ``[phasing]``; None when absent. Appends one Problem per bad key."""
    if table is None:
        return None
    if not isinstance(table, dict):
        problems.append(Problem(file, "[phasing] must be a table", column="phasing"))
        return None
    n0 = len(problems)
    vals: dict[str, Any] = {}
    for key, val in table.items():
        col = f"phasing.{key}"
        if key not in KEYS:
            problems.append(Problem(file, f"unknown phasing key '{key}'; known: {', '.join(KEYS)}", column=col))
        elif key in ("years", "guarantee_years"):
            lo = 1 if key == "years" else 0
            if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= 100:
                problems.append(Problem(file, f"'{col}' must be an integer between {lo} and 100, got {val!r}",
                                        column=col))
            else:
                vals[key] = val
        elif key == "budget":
            if not isinstance(val, list) or not val or not all(_num(x) and x >= 0 for x in val):
                problems.append(Problem(file, f"'{col}' must be a list of numbers >= 0 (one per year), "
                                              f"got {val!r}", column=col))
            else:
                vals[key] = tuple(float(x) for x in val)
        elif key.endswith("_growth"):
            if not _num(val) or val <= -1:
                problems.append(Problem(file, f"'{col}' must be a number > -1, got {val!r}", column=col))
            else:
                vals[key] = float(val)
        else:  # change limits
            if not _num(val) or val < 0:
                problems.append(Problem(file, f"'{col}' must be a number >= 0, got {val!r}", column=col))
            else:
                vals[key] = float(val)
    if "budget" in vals and "budget_growth" in vals:
        problems.append(Problem(file, "give either 'phasing.budget' (a list) or 'phasing.budget_growth', "
                                      "not both", column="phasing.budget_growth"))
    years = vals.get("years", len(vals["budget"]) if "budget" in vals else 1)
    if "budget" in vals and len(vals["budget"]) != years:
        problems.append(Problem(file, f"'phasing.budget' has {len(vals['budget'])} entries for "
                                      f"{years} years", column="phasing.budget"))
    if len(problems) > n0:
        return None
    return Phasing(**{**vals, "years": years})


def phasing_of(inst: Instance, years: int | None = None) -> Phasing | None:
    """The instance's [phasing] with ``years`` (CLI --years) applied; None = single year."""
    problems: list[Problem] = []
    ph = parse_phasing(inst.raw_toml.get("phasing"), str(inst.path / "instance.toml"), problems)
    if problems:
        raise InputError(problems)
    if years is None:
        return ph
    if years < 1:
        raise UsageError(f"--years must be >= 1, got {years}")
    ph = ph or Phasing()
    if ph.budget is not None and len(ph.budget) != years:
        raise UsageError(f"--years {years} but [phasing] budget lists {len(ph.budget)} years")
    return dataclasses.replace(ph, years=years)


def year_labels(inst: Instance, k: int) -> list[int]:
    """Calendar years when instance.toml has ``year``, else 1..K."""
    return [inst.year + y for y in range(k)] if inst.year is not None else list(range(1, k + 1))


def year_budgets(ph: Phasing, base: float) -> np.ndarray:
    if ph.budget is not None:
        return np.asarray(ph.budget, dtype=float)
    return base * (1.0 + ph.budget_growth) ** np.arange(ph.years)


def stack(inst: Instance, ph: Phasing, budgets: np.ndarray) -> Instance:
    """The instance over region-years (year-major), budget = the sum of the year budgets.
    Region ids repeat once per year (groups.csv still names valid regions); column ``year``."""
    reg = inst.regions
    frames = []
    labels = year_labels(inst, ph.years)
    for y in range(ph.years):
        f = reg.copy()
        f["own_revenue"] = reg["own_revenue"].to_numpy(dtype=float) * (1.0 + ph.own_growth) ** y
        f["fiscal_need"] = reg["fiscal_need"].to_numpy(dtype=float) * (1.0 + ph.need_growth) ** y
        if "merged_from" in f.columns and y >= ph.guarantee_years:
            f["merged_from"] = ""   # the merger guarantee covers the first guarantee_years years
        f["year"] = labels[y]
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    extra = [*inst.extra_columns, "year"] if "year" not in inst.extra_columns else list(inst.extra_columns)
    return dataclasses.replace(inst, regions=out, budget=float(budgets.sum()), extra_columns=extra)


def split_change_limit(inst: Instance, ph: Phasing, override: PolicyConfig | None
                       ) -> tuple[Instance, Phasing, PolicyConfig | None]:
    """Move [policy]/flag change limits into the phasing (they then hold every year, not only
    against the prior transfer); [phasing] values win."""
    from optimizer.prepare.policy_round import instance_policy

    cfg = instance_policy(inst).merged(override or PolicyConfig())
    ph = dataclasses.replace(
        ph, change_limit=ph.change_limit if ph.change_limit is not None else cfg.change_limit,
        change_limit_abs=ph.change_limit_abs if ph.change_limit_abs is not None else cfg.change_limit_abs)
    raw = dict(inst.raw_toml)
    if isinstance(raw.get("policy"), dict):
        raw["policy"] = {k: v for k, v in raw["policy"].items() if k not in ("change_limit", "change_limit_abs")}
    if override is not None:
        override = dataclasses.replace(override, change_limit=None, change_limit_abs=None)
    return dataclasses.replace(inst, raw_toml=raw), ph, override


def phase_terms(n: int, ph: Phasing, budgets: np.ndarray, prior: np.ndarray):
    """extra_terms callable of SolveOptions: year budgets, year-1 change limit against the
    prior transfer, and the change limit between consecutive years (solver units)."""
    def terms(rd, scale: float) -> tuple[PolicyTerm, ...]:
        out = [PolicyTerm("year-budget", {"year": np.repeat(np.arange(ph.years), n),
                                          "budgets": budgets / scale})]
        if ph.change_limit is not None or ph.change_limit_abs is not None:
            first = np.full(n * ph.years, np.nan)
            first[:n] = prior / scale
            absolute = None if ph.change_limit_abs is None else ph.change_limit_abs / scale
            out.append(PolicyTerm("change-limit", {"share": ph.change_limit, "prior": first,
                                                   "absolute": absolute}))
            if ph.years > 1:
                cur = np.arange(n, n * ph.years)
                out.append(PolicyTerm("phase-change", {"cur": cur, "prev": cur - n, "share": ph.change_limit,
                                                       "absolute": absolute}))
        return tuple(out)
    return terms


def _refuse(inst: Instance, spec_name: str, override: PolicyConfig | None) -> None:
    from optimizer.prepare.policy_round import instance_groups, instance_policy

    if spec_name not in PHASING_OBJECTIVES:
        raise UsageError(f"objective '{spec_name}' is not supported over several years; use one of "
                         f"{', '.join(PHASING_OBJECTIVES)} (docs/policies.md, multi-year phase-in)")
    cfg = instance_policy(inst).merged(override or PolicyConfig())
    bad = [k for k in ("no_overtaking", "horizontal_level") if getattr(cfg, k)]
    if bad:
        raise UsageError(f"policy {', '.join(bad)} is not supported over several years")
    if any(g.constrained for g in instance_groups(inst)):
        raise UsageError("group bounds ([groups.ID]) are not supported over several years")


def solve_phased(inst: Instance, opts, ph: Phasing) -> Result:
    """One LP over all years; allocation in long form (one row per region and year)."""
    from optimizer.engine.solve import DEFAULT_OBJECTIVE, solve

    name = opts.objective or inst.objective or DEFAULT_OBJECTIVE
    _refuse(inst, name, opts.policy)
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
    w_pop = inst.regions["population"].to_numpy(dtype=float)
    years = []
    duals = res.summary.get("year_budget_shadow_prices") or [float("nan")] * k
    for y, label in enumerate(year_labels(inst, k)):
        part = a.iloc[y * n:(y + 1) * n]
        m = level_metrics(part["level_after"].to_numpy(dtype=float), w_pop, part["threshold"].to_numpy(dtype=float))
        years.append({"year": label, "budget": float(budgets[y]), "budget_used": float(t[y].sum()),
                      "min_level": m["min_level"], "max_level": m["max_level"], "mean_level": m["mean_level"],
                      "regions_below_threshold": m["regions_below_threshold"],
                      "budget_shadow_price": duals[y]})
    s = dict(res.summary)
    s["instance"] = dict(s["instance"]) | {"regions": n, "region_years": n * k}
    s["phasing"] = ph.as_dict() | {"objective_over_years": _over_years(s["objective"])}
    s["years"] = years
    s["checks"] = dict(s.get("checks", {})) | checks
    s["budget_shadow_price"] = float("nan")  # the total-budget row is implied by the year rows:
    s.pop("year_budget_shadow_prices", None)  # see years[y]["budget_shadow_price"]
    return Result(a, s)


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
