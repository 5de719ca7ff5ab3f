"""The check of a formula's allocation against its own rule: the formula recomputed from the
round's data and parameters (optimizer/formulas), compared region by region, and the
budget (a formula that distributes the pool must not exceed it; Germany's horizontal flows
must sum to zero). Used by every formula solve and by ``equalize verify``; never imports
the engine or the LP models."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.core.instance import Instance
from optimizer.formulas import FormulaRun, run_formula

REL_TOL = 1e-9     # of the largest transfer: the rule is closed form, so only float noise differs


@dataclass(frozen=True)
class FormulaCheck:
    ok: bool
    max_difference: float          # largest |given - recomputed|, instance unit
    region: str | None             # where it is
    tolerance: float
    budget_excess: float           # sum given - budget (positive = over); a rule with its own total: |sum - its sum|
    recomputed: np.ndarray
    run: FormulaRun

    def message(self, unit: str) -> str:
        if self.ok:
            return (f"the allocation is the formula's ({self.run.spec.name}): largest difference "
                    f"{self.max_difference:.3g} {unit} (tolerance {self.tolerance:.3g})")
        parts = []
        if self.max_difference > self.tolerance:
            parts.append(f"region '{self.region}' differs from the formula by {self.max_difference:.6g} {unit}")
        if self.budget_excess > self.tolerance:
            parts.append(f"the transfers exceed the budget by {self.budget_excess:.6g} {unit}")
        return f"not the formula's allocation ({self.run.spec.name}): " + "; ".join(parts) + \
            f" (tolerance {self.tolerance:.3g})"


def check_formula(inst: Instance, name: str, t: np.ndarray, options: dict[str, Any] | None = None,
                  budget: float | None = None, threshold: float | None = None,
                  tolerance: float = 0.0) -> FormulaCheck:
    """Recompute formula ``name`` on ``inst`` and compare with the transfers ``t``."""
    run = run_formula(inst, name, options, budget, threshold)
    ref = run.outcome.transfer
    t = np.asarray(t, dtype=float)
    tol = tolerance + REL_TOL * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
    diff = np.abs(t - ref)
    worst = int(np.argmax(diff)) if diff.size else 0
    total = math.fsum(t)
    pool = inst.budget if budget is None else float(budget)
    pool_rule = run.spec.uses_budget and run.outcome.within_budget   # else the rule set its own total
    excess = total - pool if pool_rule else abs(total - math.fsum(ref))
    ok = bool(diff.size == 0 or diff[worst] <= tol) and excess <= tol * max(1, t.size)
    return FormulaCheck(ok, float(diff[worst]) if diff.size else 0.0,
                        str(inst.regions["region_id"].iloc[worst]) if diff.size else None, tol, float(excess),
                        ref, run)
