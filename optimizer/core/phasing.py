"""The ``[phasing]`` table of a multi-year phase-in as plain data (see optimizer/prepare/phasing.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

PHASING_OBJECTIVES = ("maxmin", "min-shortfall", "min-cost")
KEYS = ("years", "budget", "budget_growth", "own_growth", "need_growth", "change_limit",
        "change_limit_abs", "guarantee_years")


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
