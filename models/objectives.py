"""Fairness objectives, each registered by name.

An objective is one ``ObjectiveSpec``: a Pyomo function that adds its variables,
rows and objective to the core model (the model of record), and optionally a
vectorised twin that adds the identical columns and rows to an ``ArrayBuilder``.
Adding an objective means adding one spec to ``OBJECTIVES`` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from models._pyomo import pyo

from models.data import RegionData
from models.lp import INF, ArrayBuilder, Block

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
    driver: str = "lp"          # "lp": one LP; "leximin" | "dinkelbach": a sequence (optimizer/fairness_solve.py)
    options: tuple[str, ...] = ()  # option keys read from RegionData.options (CLI / [objective])


# --- min-cost -----------------------------------------------------------------

def min_cost(m: pyo.ConcreteModel, d: RegionData) -> None:
    """min sum_r T_r  s.t. core (hard thresholds).

    The least budget that lifts every region to its threshold.
    """
    m.objective = pyo.Objective(expr=pyo.quicksum(m.transfer[r] for r in m.R), sense=pyo.minimize)


def min_cost_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    b.set_cost(blocks["transfer"], 1.0)


# --- maxmin -------------------------------------------------------------------

def maxmin(m: pyo.ConcreteModel, d: RegionData) -> None:
    """max z  s.t. L_r >= z for every r, core (hard thresholds).

    The Rawlsian floor: the highest level every region can be lifted to.
    """
    m.floor = pyo.Var(domain=pyo.Reals)
    m.floor_rows = pyo.Constraint(m.R, rule=lambda m, r: m.level[r] - m.floor >= 0)
    m.objective = pyo.Objective(expr=m.floor, sense=pyo.maximize)


def maxmin_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    n, idx = d.n, np.arange(d.n)
    z = b.add_cols("floor", -INF, INF, cost=1.0, size=1)
    t = blocks["transfer"]
    rows = np.concatenate([idx, idx])
    cols = np.concatenate([t.start + idx, np.full(n, z.start)])
    vals = np.concatenate([1.0 / d.need, -np.ones(n)])
    b.add_rows("floor_rows", rows, cols, vals, -d.own / d.need, INF, size=n)
    b.maximize = True
    blocks["floor"] = z


# --- min-shortfall ------------------------------------------------------------

def min_shortfall(m: pyo.ConcreteModel, d: RegionData) -> None:
    """min sum_r w_r s_r  s.t. L_r + s_r >= theta_r, s_r >= 0, core (soft thresholds).

    The weighted service gap left within the budget (w = population share by default).
    """
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(d.weight[r]) * m.shortfall[r] for r in m.R), sense=pyo.minimize)


def min_shortfall_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    b.set_cost(blocks["shortfall"], d.weight)


from models import fairness_specs as fairness  # noqa: E402  (needs ObjectiveSpec above)

OBJECTIVES: dict[str, ObjectiveSpec] = {
    spec.name: spec
    for spec in (
        ObjectiveSpec("min-cost", "least total transfer that meets every threshold",
                      "min", False, min_cost, min_cost_arrays, algorithm="simplex", tie_break=False,
                      objective_unit="money"),
        ObjectiveSpec("maxmin", "maximise the lowest service level (Rawlsian floor)",
                      "max", False, maxmin, maxmin_arrays, algorithm="simplex"),
        ObjectiveSpec("min-shortfall", "minimise the weighted shortfall below thresholds within the budget",
                      "min", True, min_shortfall, min_shortfall_arrays, algorithm="ipm"),
        *fairness.SPECS,
    )
}


def get_objective(name: str) -> ObjectiveSpec:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise KeyError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}") from None
