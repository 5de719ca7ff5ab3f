"""Spread objectives: max-mean (the utilitarian reference), min-range, min-mad
(notation: models/fairness_base.py)."""

from __future__ import annotations

import numpy as np

from models.data import RegionData
from models.fairness_base import level_coef
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block

# --- max-mean -------------------------------------------------------------------

def max_mean(m: pyo.ConcreteModel, d: RegionData) -> None:
    """max mu = sum_r w_r L_r  s.t. core.

    The utilitarian reference: the efficiency end of the trade-off. The budget goes to
    the regions with the largest w_r / N_r (population per unit of need) first.
    """
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(d.weight[r]) * m.level[r] for r in m.R), sense=pyo.maximize)


def max_mean_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    base, inv = level_coef(d)
    b.set_cost(blocks["transfer"], d.weight * inv)
    b.offset = float(np.dot(d.weight, base))
    b.maximize = True


# --- min-range ------------------------------------------------------------------

def min_range(m: pyo.ConcreteModel, d: RegionData) -> None:
    """min u - l  s.t. l <= L_r <= u for every r, core.

    The gap between the best- and the worst-off region (u, l free).
    """
    m.range_hi = pyo.Var(domain=pyo.Reals)
    m.range_lo = pyo.Var(domain=pyo.Reals)
    m.range_upper = pyo.Constraint(m.R, rule=lambda m, r: m.level[r] - m.range_hi <= 0)
    m.range_lower = pyo.Constraint(m.R, rule=lambda m, r: m.level[r] - m.range_lo >= 0)
    m.objective = pyo.Objective(expr=m.range_hi - m.range_lo, sense=pyo.minimize)


def min_range_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    n, idx = d.n, np.arange(d.n)
    base, inv = level_coef(d)
    t = blocks["transfer"]
    hi = b.add_cols("range_hi", -INF, INF, cost=1.0, size=1)
    lo = b.add_cols("range_lo", -INF, INF, cost=-1.0, size=1)
    rows = np.concatenate([idx, idx])
    b.add_rows("range_upper", rows, np.concatenate([t.start + idx, np.full(n, hi.start)]),
               np.concatenate([inv, -np.ones(n)]), -INF, -base, size=n)
    b.add_rows("range_lower", rows, np.concatenate([t.start + idx, np.full(n, lo.start)]),
               np.concatenate([inv, -np.ones(n)]), -base, INF, size=n)


# --- min-mad --------------------------------------------------------------------

def min_mad(m: pyo.ConcreteModel, d: RegionData) -> None:
    """min sum_r w_r e_r  s.t. m = sum_r w_r L_r,  e_r >= L_r - m,  e_r >= m - L_r,  core.

    The weighted mean absolute deviation from the weighted mean (m free, e_r >= 0).
    The mean is one variable defined by one row, so each deviation row has three
    entries and the LP stays O(n) (substituting m would make the rows dense).
    """
    m.mean = pyo.Var(domain=pyo.Reals)
    m.mad_dev = pyo.Var(m.R, domain=pyo.NonNegativeReals)
    m.mean_def = pyo.Constraint(
        expr=m.mean - pyo.quicksum(float(d.weight[r]) * m.level[r] for r in m.R) == 0)
    m.mad_above = pyo.Constraint(m.R, rule=lambda m, r: m.mad_dev[r] - m.level[r] + m.mean >= 0)
    m.mad_below = pyo.Constraint(m.R, rule=lambda m, r: m.mad_dev[r] + m.level[r] - m.mean >= 0)
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(d.weight[r]) * m.mad_dev[r] for r in m.R), sense=pyo.minimize)


def min_mad_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    n, idx = d.n, np.arange(d.n)
    base, inv = level_coef(d)
    t = blocks["transfer"]
    mu = b.add_cols("mean", -INF, INF, size=1)
    e = b.add_cols("mad_dev", 0.0, INF, cost=d.weight, size=n)
    rhs = float(np.dot(d.weight, base))
    b.add_rows("mean_def", np.zeros(n + 1, dtype=np.int64),
               np.concatenate([[mu.start], t.start + idx]),
               np.concatenate([[1.0], -d.weight * inv]), rhs, rhs, size=1)
    rows = np.concatenate([idx, idx, idx])
    cols = np.concatenate([e.start + idx, t.start + idx, np.full(n, mu.start)])
    b.add_rows("mad_above", rows, cols, np.concatenate([np.ones(n), -inv, np.ones(n)]), base, INF, size=n)
    b.add_rows("mad_below", rows, cols, np.concatenate([np.ones(n), inv, -np.ones(n)]), -base, INF, size=n)
