"""The primal check of a decomposition point on the LP of record, row family by row family,
without building the LP (optimizer/fast/decomposition_paths.py).

A certified decomposition point (levels proven optimal in level space by the KKT tests of
optimizer/fast/cut_certificate.py and chain_certificates.py) is the LP of record's
optimum once its columns are shown feasible there with the same objective value. Building
that LP only to compute ``A x`` costs more than the decomposition at 1e6 regions (owa over
deciles: 10 n excess columns and rows, 3 GB), so the same rows are evaluated here in
vectors: the core of models/core.py (transfer bounds, the budget row, the threshold rows
hard or soft with the least shortfalls, the held shortfall's row), then the objective's
family: the Lorenz rows ``e_kr - eta_k + L_r >= 0`` of models/lorenz.py (cvar, owa) or the
chain rows ``L_pi(k+1) - L_pi(k) >= 0`` of models/fairness_base.py (min-gini), with
``L_r = base_r + inv_r T_r`` as the LP writes it (``level_coef``). The violation is
certify.py's measure: the largest violation of a row or a bound over max(1, max |x|).
tests/test_record_check.py compares both, and the value, with the built LP on random
instances, so a change of the formulation that this module misses fails there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import models.fairness as fm
from models.data import RegionData
from models.lorenz import lorenz_costs
from optimizer.core.levels import shortfall_of


@dataclass(frozen=True)
class RecordCheck:
    violation: float       # certify.py's primal measure on the LP of record
    value: float           # the LP of record's objective at the point (nan: not computed)


def least_shortfalls(d: RegionData, t: np.ndarray) -> np.ndarray | None:
    """The soft core's shortfall columns at transfers ``t``: max(0, theta - L); None when
    the thresholds are hard (no such columns)."""
    if not d.options.get("soft_thresholds"):
        return None
    return shortfall_of(d.threshold, d.own, d.need, t)


def _core(d: RegionData, t: np.ndarray) -> tuple[float, float]:
    """(largest absolute violation, largest |x|) over the core's columns and rows."""
    inv = 1.0 / d.need
    lower = d.threshold - d.own * inv
    act = inv * t
    s = least_shortfalls(d, t)
    parts = [d.t_min - t, t - d.t_max, np.array([float(t.sum()) - d.budget])]
    xmax = float(np.max(np.abs(t), initial=0.0))
    if s is not None:
        act = act + s
        xmax = max(xmax, float(np.max(s, initial=0.0)))
        cap = d.options.get("shortfall_cap")
        if cap is not None:
            parts.append(np.array([float(np.dot(d.weight, s)) - float(cap)]))
    parts.append(lower - act)
    return max(float(np.max(p, initial=0.0)) for p in parts), xmax


def chain_check(d: RegionData, t: np.ndarray, order: np.ndarray) -> RecordCheck:
    """The min-gini chain LP (gini_form chain over ``order``): core plus the chain rows."""
    viol, xmax = _core(d, t)
    base, inv = fm.level_coef(d)
    if d.n > 1:
        lo_r, hi_r = order[:-1], order[1:]
        act = inv[hi_r] * t[hi_r] - inv[lo_r] * t[lo_r]
        viol = max(viol, float(np.max(base[lo_r] - base[hi_r] - act, initial=0.0)))
    return RecordCheck(viol / max(1.0, xmax), float("nan"))


def lorenz_check(d: RegionData, t: np.ndarray, level: np.ndarray, eta: np.ndarray, objective: str
                 ) -> RecordCheck:
    """cvar / owa over population slices: core plus, per term k, the rows
    ``e_kr - eta_k + inv_r T_r >= -base_r`` at e_kr = max(0, eta_k - level_r), e >= 0; the
    value is the LP's ``cost . x`` summed over the whole column vector in its order
    (transfers, shortfalls, eta, e), as a solve of the LP would report it."""
    viol, xmax = _core(d, t)
    base, inv = fm.level_coef(d)
    eta_cost, e_cost = lorenz_costs(d, objective)
    s = least_shortfalls(d, t)
    lead = d.n if s is None else 2 * d.n
    x = np.zeros(lead + eta.size * (d.n + 1))
    x[:d.n] = t
    if s is not None:
        x[d.n:lead] = s
    x[lead:lead + eta.size] = eta
    lhs = inv * t + base
    for k in range(eta.size):
        e = np.maximum(0.0, eta[k] - level)
        x[lead + eta.size + k * d.n: lead + eta.size + (k + 1) * d.n] = e
        viol = max(viol, float(np.max(eta[k] - lhs - e, initial=0.0)))
    xmax = max(xmax, float(np.max(np.abs(x[lead:]), initial=0.0)))
    cost = np.zeros(x.size)
    cost[lead:lead + eta.size] = eta_cost
    cost[lead + eta.size:] = e_cost.ravel()
    return RecordCheck(viol / max(1.0, xmax), float(np.dot(cost, x)))
