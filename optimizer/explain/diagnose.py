"""Why hard thresholds cannot hold, in closed form for the core constraints.

Region r needs T_r >= max(t_min_r, theta_r * need_r - own_r). The least budget that
meets every threshold is the sum of those; a region whose requirement exceeds its
max_transfer can never meet its threshold, whatever the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.core.levels import required_transfer

RTOL = 1e-9   # the budget's slack for float rounding in the sums compared with it


@dataclass(frozen=True)
class Diagnosis:
    required_budget: float                 # least total transfer meeting every threshold
    required_transfer: np.ndarray          # per region
    budget: float
    bound_conflicts: list[tuple[int, float, float]] = field(default_factory=list)  # (r, need, max)
    min_transfer_total: float = 0.0

    @property
    def missing_budget(self) -> float:
        return max(0.0, self.required_budget - self.budget)

    def feasible(self, hard: bool, rtol: float = RTOL) -> bool:
        if not self.within_budget(self.min_transfer_total, rtol):
            return False
        if not hard:
            return True
        return not self.bound_conflicts and self.within_budget(self.required_budget, rtol)

    def within_budget(self, amount: float, rtol: float = RTOL) -> bool:
        """``amount`` fits the budget up to float rounding of the sums (one rule for the verdict
        and for the message: a requirement over the budget by 2e-16 of it is no shortfall, and
        printing it as "missing" would print noise as a figure)."""
        return amount <= self.budget * (1 + rtol) + rtol

    def explain(self, region_ids: list[str], unit: str, hard: bool) -> str:
        lines = []
        if not self.within_budget(self.min_transfer_total):
            lines.append(f"minimum transfers sum to {self.min_transfer_total:,.6g} {unit}, above the "
                         f"budget {self.budget:,.6g} {unit}")
        if hard:
            for r, need, cap in self.bound_conflicts:
                lines.append(f"region '{region_ids[r]}' needs a transfer of {need:,.6g} {unit} to meet "
                             f"its threshold but max_transfer is {cap:,.6g} {unit} "
                             f"(threshold conflicts with max_transfer)")
            if not self.within_budget(self.required_budget):
                lines.append(f"meeting every threshold needs {self.required_budget:,.6g} {unit}; the "
                             f"budget is {self.budget:,.6g} {unit}: {self.missing_budget:,.6g} {unit} "
                             f"missing (budget conflicts with thresholds)")
        return "; ".join(lines)


def diagnose(own: np.ndarray, need: np.ndarray, threshold: np.ndarray, t_min: np.ndarray,
             t_max: np.ndarray, budget: float) -> Diagnosis:
    req = required_transfer(threshold, own, need, t_min)
    conflicts = [(int(r), float(req[r]), float(t_max[r]))
                 for r in np.flatnonzero(req > t_max * (1 + 1e-12) + 1e-12)]
    return Diagnosis(required_budget=float(req.sum()), required_transfer=req, budget=float(budget),
                     bound_conflicts=conflicts, min_transfer_total=float(t_min.sum()))
