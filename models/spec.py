"""``ObjectiveSpec``: how an objective is registered (models/objectives.py holds the
registry)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import ArrayBuilder, Block

PyomoRule = Callable[["pyo.ConcreteModel", RegionData], None]
ArrayRule = Callable[[ArrayBuilder, dict[str, Block], RegionData], None]


@dataclass(frozen=True)
class ObjectiveSpec:
    name: str
    summary: str
    sense: str                  # "min" or "max"
    soft_thresholds: bool       # True: thresholds enter as shortfall variables
    pyomo: PyomoRule
    arrays: ArrayRule | None    # vectorised twin; None = compile the Pyomo model
    algorithm: str = "simplex"  # HiGHS algorithm that suits the structure ("simplex" | "ipm")
    tie_break: bool = True      # re-solve for the least spending among optimal splits
    objective_unit: str = "level"  # "level" (dimensionless) or "money" (the instance unit)
    driver: str = "lp"          # "lp": one LP; "leximin" | "dinkelbach": a sequence (optimizer/engine/drivers/)
    options: tuple[str, ...] = ()  # option keys read from RegionData.options (CLI / [objective])
