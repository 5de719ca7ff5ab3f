"""A named scenario of ``[scenarios.NAME]`` as parsed at load (plain data).

Steps apply in ``ORDER`` (echoed in summary.json under "applied"): region field overrides
(on the original regions), merges, budget, threshold, policy, group bounds, objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from optimizer.core.policy import PolicyConfig

ORDER = ("regions", "merges", "budget", "threshold", "policy", "groups", "objective")
KEYS = ("description", *ORDER)
REGION_FIELDS = ("population", "own_revenue", "fiscal_need", "threshold", "prior_transfer",
                 "min_transfer", "max_transfer", "weight")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)   # rid -> field -> number | {scale|add}
    merges: list[list[str]] = field(default_factory=list)              # merger group ids resolved
    budget: float | None = None
    budget_multiple: bool = False       # budget is a multiple of the instance budget ("1.1x")
    threshold: float | None = None
    policy: PolicyConfig = field(default_factory=PolicyConfig)        # merged over the instance's
    groups: dict[str, dict[str, float]] = field(default_factory=dict)  # group id -> bounds
    objective: str | None = None


def override_value(old: float, spec: Any) -> float:
    """A region field after a scenario's override: a number replaces it, ``{ scale = x }``
    multiplies it, ``{ add = x }`` adds to it (a blank optional field counts as 0 for add).
    Population is rounded to a whole number of people."""
    if isinstance(spec, dict):
        (op, x), = spec.items()
        return old * x if op == "scale" else (0.0 if math.isnan(old) else old) + x
    return float(spec)
