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

import numpy as np
import pandas as pd

from models.policies import PolicyTerm
from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.limits import YEARS_MAX
from optimizer.core.phasing import PHASING_OBJECTIVES, Phasing
from optimizer.core.policy import PolicyConfig


def phasing_of(inst: Instance, years: int | None = None) -> Phasing | None:
    """The instance's [phasing] with ``years`` (CLI --years) applied; None = single year."""
    ph = inst.phasing
    if years is None:
        return ph
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= YEARS_MAX:
        raise UsageError(f"--years must be an integer between 1 and {YEARS_MAX}, got {years!r}")
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
    cfg = inst.policy.merged(override or PolicyConfig())
    ph = dataclasses.replace(
        ph, change_limit=ph.change_limit if ph.change_limit is not None else cfg.change_limit,
        change_limit_abs=ph.change_limit_abs if ph.change_limit_abs is not None else cfg.change_limit_abs)
    policy = dataclasses.replace(inst.policy, change_limit=None, change_limit_abs=None)
    if override is not None:
        override = dataclasses.replace(override, change_limit=None, change_limit_abs=None)
    return dataclasses.replace(inst, policy=policy), ph, override


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


def check_phasable(inst: Instance, spec_name: str, override: PolicyConfig | None) -> None:
    """Refuse what one LP over region-years does not model (exit 2)."""
    if spec_name not in PHASING_OBJECTIVES:
        raise UsageError(f"objective '{spec_name}' is not supported over several years (--years or [phasing]); "
                         f"use one of {', '.join(PHASING_OBJECTIVES)} (docs/policies.md, multi-year phase-in)")
    cfg = inst.policy.merged(override or PolicyConfig())
    bad = [k for k in ("no_overtaking", "horizontal_level") if getattr(cfg, k)]
    if bad:
        raise UsageError(f"policy {', '.join(bad)} is not supported over several years (--years or [phasing])")
    if any(g.constrained for g in inst.groups):
        raise UsageError("group bounds ([groups.ID]) are not supported over several years (--years or [phasing])")
