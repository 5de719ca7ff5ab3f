"""The validated instance every stage after loading works on (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.core.groups import Group
from optimizer.core.phasing import Phasing
from optimizer.core.policy import PolicyConfig
from optimizer.core.scenario import Scenario
from optimizer.core.services import ServiceOptions

_SCALE_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
# [budget] spend / --spend: "least" spends what the objective needs (the tie-break keeps the
# least total), "all" pays the whole pool out (engine/surplus.py); [budget] surplus / --surplus:
# how the money left after the optimum is shared (docs/objectives.md, "The whole pool paid out")
SPEND_MODES = ("least", "all")
SURPLUS_RULES = ("maxmin", "proportional", "per-capita")


@dataclass(frozen=True)
class Instance:
    path: Path
    name: str
    unit: str
    budget: float
    threshold: float
    regions: pd.DataFrame                  # one row per region, input order, typed columns
    description: str = ""
    year: int | None = None
    sources: list[str] = field(default_factory=list)
    objective: str | None = None
    objective_options: dict[str, Any] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    sha256: str = ""
    # the optional parts, parsed and validated once at load; prepare/ applies scenarios and
    # merges to these objects, so no later stage reads a file or the TOML again
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    groups: list[Group] = field(default_factory=list)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    phasing: Phasing | None = None
    services: pd.DataFrame | None = None   # services.csv rows (SERVICE_ROW_COLUMNS), None = absent
    service_options: ServiceOptions = field(default_factory=ServiceOptions)
    applied: dict[str, Any] = field(default_factory=dict)  # scenario/merges applied after loading
    spend: str = "least"                   # [budget] spend: SPEND_MODES
    surplus: str = "maxmin"                # [budget] surplus: SURPLUS_RULES
    # the regions frame the loader validated (io/checks.py re-checks any other frame: a
    # scenario, a merge or phasing growth replaces ``regions`` and so re-arms the check)
    checked_regions: Any = field(default=None, compare=False, repr=False)

    @property
    def n(self) -> int:
        return len(self.regions)

    def thresholds(self, default: float | None = None) -> np.ndarray:
        """Per-region thresholds: the override where given, else the default level."""
        level = self.threshold if default is None else default
        col = self.regions["threshold"].to_numpy(dtype=float)
        return np.where(np.isnan(col), level, col)

    def weights(self) -> np.ndarray:
        """Objective weights, normalised to sum to one (population by default)."""
        w = self.regions["weight"].to_numpy(dtype=float)
        w = np.where(np.isnan(w), self.regions["population"].to_numpy(dtype=float), w)
        return w / w.sum()


def unit_per_capita(unit: str) -> tuple[str, float]:
    """'KRW billion' -> ('KRW', 1e9): the base unit for per-capita figures and its factor."""
    words = unit.split()
    if len(words) == 2 and words[1].lower() in _SCALE_WORDS:
        return words[0], _SCALE_WORDS[words[1].lower()]
    return unit, 1.0
