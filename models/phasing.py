"""Multi-year phase-in and service thresholds as policy row families (LP formulations only).

A multi-year round is solved as one LP over *region-years*: unit u = (r, y) is one entry of
the stacked RegionData (optimizer/phasing.py builds it), T_u its transfer. Two families tie
the years together:

    year_budget:   sum_{u in year y} T_u <= B_y                         for every year y
    phase_change:  (1 - d) T_{r,y-1} <= T_{r,y} <= (1 + d) T_{r,y-1}     (relative, share d)
                   -D <= T_{r,y} - T_{r,y-1} <= D                       (absolute, amount D)
                   for every region r and year y >= 2 (year 1 against the prior transfer is
                   the ordinary ``change-limit`` policy on the first-year units)

Service thresholds with the objective over region levels (optimizer/services.py) are lower
bounds on the region transfer, one per region:

    service_floor: T_r >= F_r

Params arrive in solver units (money / scale). Each function has a Pyomo version (model of
record) and a vectorised twin adding identical rows in the same order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from models._pyomo import pyo

from models.data import RegionData
from models.lp import INF, ArrayBuilder, Block

Params = dict[str, Any]


def _none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


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
            _none(rows[k][3]), m.transfer[rows[k][0]] + rows[k][2] * m.transfer[rows[k][1]],
            _none(rows[k][4])))


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


# --- service floors (objective over region levels) ----------------------------------

def service_floor(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """T_r >= F_r for every region with F_r > t_min_r: the least transfer that lets every
    service of r reach its threshold (optimizer/services.py computes F for general or
    earmarked transfers)."""
    floor = np.asarray(p["floor"], dtype=float)
    idx = [int(r) for r in np.flatnonzero(floor > d.t_min)]
    if idx:
        m.service_floor = pyo.Constraint(idx, rule=lambda m, r: m.transfer[r] >= float(floor[r]))


def service_floor_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    floor = np.asarray(p["floor"], dtype=float)
    idx = np.flatnonzero(floor > d.t_min)
    if idx.shape[0]:
        b.add_rows("service_floor", np.arange(idx.shape[0]), blocks["transfer"].start + idx,
                   np.ones(idx.shape[0]), floor[idx], INF, size=idx.shape[0])


# --- proportional split of a general transfer over a region's services -------------

def general_split(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """T_{r,s} = share_{r,s} * sum_{s'} T_{r,s'} for every service s of r but the last
    (units are region-services; a general transfer is spent in proportion to need)."""
    rows = _split_rows(p)
    if rows:
        m.general_split = pyo.Constraint(range(len(rows)), rule=lambda m, k: (
            pyo.quicksum(c * m.transfer[u] for u, c in rows[k]) == 0))


def _split_rows(p: Params) -> list[list[tuple[int, float]]]:
    out = []
    for units, share in zip(p["units"], p["shares"]):
        units, share = np.asarray(units, dtype=np.int64), np.asarray(share, dtype=float)
        for j in range(units.shape[0] - 1):
            coef = -share[j] * np.ones(units.shape[0])
            coef[j] += 1.0
            out.append([(int(u), float(c)) for u, c in sorted(zip(units, coef))])
    return out


def general_split_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: Params) -> None:
    rows = _split_rows(p)
    if not rows:
        return
    r = np.concatenate([np.full(len(row), k) for k, row in enumerate(rows)])
    c = np.concatenate([[u for u, _ in row] for row in rows])
    v = np.concatenate([[x for _, x in row] for row in rows])
    b.add_rows("general_split", r, blocks["transfer"].start + c, v, 0.0, 0.0, size=len(rows))


# --- post-solve checks (unscaled data; largest violation in money) ------------------

def _worst(v) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.max(np.where(np.isnan(v), 0.0, v), initial=0.0)) + 0.0


def year_budget_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    year, budgets = np.asarray(p["year"], dtype=np.int64), np.asarray(p["budgets"], dtype=float)
    used = np.bincount(year, weights=t, minlength=budgets.shape[0])
    return _worst(used - budgets)


def phase_change_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    rows = _phase_rows(p)
    if not rows:
        return 0.0
    cur, prev, coef, lo, hi = (np.array(c) for c in zip(*rows))
    act = t[cur] + coef * t[prev]
    return max(_worst(lo - act), _worst(act - hi))


def service_floor_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    floor = np.asarray(p["floor"], dtype=float)
    idx = np.flatnonzero(floor > d.t_min)
    return _worst(floor[idx] - t[idx])


def general_split_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    return _worst([abs(sum(c * t[u] for u, c in row)) for row in _split_rows(p)])
