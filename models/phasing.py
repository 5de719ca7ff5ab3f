"""Multi-year phase-in and service thresholds as policy row families (LP formulations only).

A multi-year round is solved as one LP over *region-years*: unit u = (r, y) is one entry of
the stacked RegionData (optimizer/prepare/phasing.py builds it), T_u its transfer. Two families tie
the years together:

    year_budget:   sum_{u in year y} T_u <= B_y                         for every year y
    phase_change:  (1 - d) T_{r,y-1} <= T_{r,y} <= (1 + d) T_{r,y-1}     (relative, share d)
                   -D <= T_{r,y} - T_{r,y-1} <= D                       (absolute, amount D)
                   for every region r and year y >= 2 (year 1 against the prior transfer is
                   the ordinary ``change-limit`` policy on the first-year units)

Service thresholds are row families of models/services.py.

Params arrive in solver units (money / scale). Each function has a Pyomo version (model of
record) and a vectorised twin adding identical rows in the same order.
"""

from __future__ import annotations

import numpy as np

from models.bounds import pyomo_bound, worst
from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block
from models.policy_spec import Params

# --- year budget ----------------------------------------------------------------

def year_budget(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """sum_{u: year_u = y} T_u <= B_y  for every year y  (params: year index per unit, budgets)."""
    year, budgets = np.asarray(p["year"]), np.asarray(p["budgets"], dtype=float)
    m.year_budget = pyo.Constraint(range(budgets.shape[0]), rule=lambda m, y: (
        pyo.quicksum(m.transfer[int(u)] for u in np.flatnonzero(year == y)) <= float(budgets[y])))


def year_budget_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    year, budgets = np.asarray(p["year"], dtype=np.int64), np.asarray(p["budgets"], dtype=float)
    order = np.argsort(year, kind="stable")  # Pyomo lists each row's units in index order
    t = blocks["transfer"]
    b.add_rows("year_budget", year[order], t.start + order, np.ones(order.shape[0]), -INF, budgets,
               size=budgets.shape[0])


# --- change limit between consecutive years ---------------------------------------

def _phase_rows(p: Params) -> list[tuple[int, int, float, float, float]]:
    """(cur, prev, coefficient of prev, lower, upper) for every row, in block order."""
    cur, prev = np.asarray(p["cur"], dtype=np.int64), np.asarray(p["prev"], dtype=np.int64)
    rows = []
    if p.get("share") is not None:
        d = float(p["share"])
        rows += [(int(c), int(q), -(1.0 - d), 0.0, INF) for c, q in zip(cur, prev)]
        rows += [(int(c), int(q), -(1.0 + d), -INF, 0.0) for c, q in zip(cur, prev)]
    if p.get("absolute") is not None:
        a = float(p["absolute"])
        rows += [(int(c), int(q), -1.0, -a, a) for c, q in zip(cur, prev)]
    return rows


def phase_change(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """(1-d) T_{r,y-1} <= T_{r,y} <= (1+d) T_{r,y-1} and/or |T_{r,y} - T_{r,y-1}| <= D, y >= 2."""
    rows = _phase_rows(p)
    if rows:
        m.phase_change = pyo.Constraint(range(len(rows)), rule=lambda m, k: (
            pyomo_bound(rows[k][3]), m.transfer[rows[k][0]] + rows[k][2] * m.transfer[rows[k][1]],
            pyomo_bound(rows[k][4])))


def phase_change_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    rows = _phase_rows(p)
    if not rows:
        return
    k = len(rows)
    cur, prev, coef, lo, hi = (np.array(c) for c in zip(*rows))
    t = blocks["transfer"]
    # Pyomo orders the terms of a row by column index; sum_duplicates sorts anyway.
    b.add_rows("phase_change", np.concatenate([np.arange(k), np.arange(k)]),
               t.start + np.concatenate([cur, prev]), np.concatenate([np.ones(k), coef]), lo, hi, size=k)


# --- post-solve checks (unscaled data; largest violation in money) ------------------

def year_budget_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    year, budgets = np.asarray(p["year"], dtype=np.int64), np.asarray(p["budgets"], dtype=float)
    used = np.bincount(year, weights=t, minlength=budgets.shape[0])
    return worst(used - budgets)


def phase_change_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    rows = _phase_rows(p)
    if not rows:
        return 0.0
    cur, prev, coef, lo, hi = (np.array(c) for c in zip(*rows))
    act = t[cur] + coef * t[prev]
    return max(worst(lo - act), worst(act - hi))
