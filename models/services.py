"""Service thresholds as policy row families (LP formulations only).

With the objective over region levels (optimizer/prepare/services.py), the service
thresholds are lower bounds on the region transfer, one per region:

    service_floor: T_r >= F_r

and with units = region-services, a general transfer is spent over a region's services in
proportion to need:

    general_split: T_{r,s} = share_{r,s} sum_{s'} T_{r,s'}   (every service of r but the last)

Params arrive in solver units (money / scale). Each function has a Pyomo version (model of
record) and a vectorised twin adding identical rows in the same order.
"""

from __future__ import annotations

import numpy as np

from models.bounds import worst
from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block
from models.policy_spec import Params

# --- service floors (objective over region levels) ----------------------------------

def service_floor(m: pyo.ConcreteModel, d: RegionData, p: Params) -> None:
    """T_r >= F_r for every region with F_r > t_min_r: the least transfer that lets every
    service of r reach its threshold (optimizer/prepare/services.py computes F for general or
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

def service_floor_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    floor = np.asarray(p["floor"], dtype=float)
    idx = np.flatnonzero(floor > d.t_min)
    return worst(floor[idx] - t[idx])


def general_split_check(t: np.ndarray, d: RegionData, p: Params) -> float:
    return worst([abs(sum(c * t[u] for u, c in row)) for row in _split_rows(p)])
