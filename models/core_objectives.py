"""The core objectives: min-cost, maxmin (and leximin, whose stages are maxmin LPs),
min-shortfall (notation: models/core.py)."""

from __future__ import annotations

import numpy as np

from models.data import RegionData
from models.fairness_base import level_coef
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block
from models.spec import ObjectiveSpec

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


# --- leximin --------------------------------------------------------------------

def leximin(m: pyo.ConcreteModel, d: RegionData) -> None:
    """Stage 1 of lexicographic max-min: max z  s.t. L_r >= z for every r, core (the maxmin LP).

    Leximin is a sequence of such LPs (optimizer/engine/drivers/leximin.py): after each
    stage every region proven to sit at its level in *all* optimal solutions of the stage
    is fixed at once -- a free region whose floor row has a non-zero dual, or whose
    transfer is at a bound with a non-zero reduced cost (complementary slackness) -- and
    the next stage raises the floor of the rest; the driver derives each stage from this LP.
    """
    m.floor = pyo.Var(domain=pyo.Reals)
    m.floor_rows = pyo.Constraint(m.R, rule=lambda m, r: m.level[r] - m.floor >= 0)
    m.objective = pyo.Objective(expr=m.floor, sense=pyo.maximize)


def leximin_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    # the level written as own * (1/N) + T / N, the rounding Pyomo's compiler uses
    n, idx = d.n, np.arange(d.n)
    base, inv = level_coef(d)
    t = blocks["transfer"]
    z = b.add_cols("floor", -INF, INF, cost=1.0, size=1)
    rows = np.concatenate([idx, idx])
    cols = np.concatenate([t.start + idx, np.full(n, z.start)])
    b.add_rows("floor_rows", rows, cols, np.concatenate([inv, -np.ones(n)]), -base, INF, size=n)
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


SPECS = (
    ObjectiveSpec("min-cost", "least total transfer that meets every threshold",
                  "min", False, min_cost, min_cost_arrays, algorithm="simplex", tie_break=False,
                  objective_unit="money"),
    ObjectiveSpec("maxmin", "maximise the lowest service level (Rawlsian floor)",
                  "max", False, maxmin, maxmin_arrays, algorithm="simplex"),
    ObjectiveSpec("min-shortfall", "minimise the weighted shortfall below thresholds within the budget",
                  "min", True, min_shortfall, min_shortfall_arrays, algorithm="ipm"),
)
