"""Core constraints shared by every objective.

    T_r          transfer to region r,            t_min_r <= T_r <= t_max_r
    L_r          = (own_r + T_r) / need_r          (service level, an expression)
    budget:      sum_r T_r <= B
    threshold:   L_r >= theta_r                    (hard mode)
                 L_r + s_r >= theta_r,  s_r >= 0   (soft mode: s_r is the shortfall)
    shortfall_cap: sum_r w_r s_r <= S               (soft mode, phase 2: the phase-1 optimum
                                                     S held while another objective is optimised)

Soft mode is on when the objective asks for it or when ``d.options["soft_thresholds"]``
is true; ``d.options["shortfall_cap"]`` (S, a float) adds the cap row.

Two constructions of the same LP live here: ``build_core`` (Pyomo, the model of
record) and ``core_arrays`` (numpy, the fast twin). Rows and columns come out in the
same order, so ``models.compile.to_linear_program`` of the first equals the second.
"""

from __future__ import annotations

import numpy as np

from models.bounds import pyomo_bound
from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block


def _soft(d: RegionData, soft: bool) -> tuple[bool, float | None]:
    opts = d.options or {}
    soft = bool(soft or opts.get("soft_thresholds", False))
    cap = opts.get("shortfall_cap")
    return soft, (float(cap) if soft and cap is not None else None)


def build_core(d: RegionData, soft: bool) -> pyo.ConcreteModel:
    soft, cap = _soft(d, soft)
    m = pyo.ConcreteModel(name="equalize")
    m.R = pyo.RangeSet(0, d.n - 1)
    m.transfer = pyo.Var(m.R, bounds=lambda m, r: (float(d.t_min[r]), pyomo_bound(d.t_max[r])))
    m.level = pyo.Expression(m.R, rule=lambda m, r: (float(d.own[r]) + m.transfer[r]) / float(d.need[r]))
    m.budget = pyo.Constraint(expr=pyo.quicksum(m.transfer[r] for r in m.R) <= float(d.budget))
    if soft:
        m.shortfall = pyo.Var(m.R, domain=pyo.NonNegativeReals)
        m.threshold = pyo.Constraint(
            m.R, rule=lambda m, r: m.level[r] + m.shortfall[r] >= float(d.threshold[r]))
        if cap is not None:
            m.shortfall_cap = pyo.Constraint(
                expr=pyo.quicksum(float(d.weight[r]) * m.shortfall[r] for r in m.R) <= cap)
    else:
        m.threshold = pyo.Constraint(m.R, rule=lambda m, r: m.level[r] >= float(d.threshold[r]))
    return m


def core_arrays(d: RegionData, soft: bool) -> tuple[ArrayBuilder, dict[str, Block]]:
    soft, cap = _soft(d, soft)
    n, idx = d.n, np.arange(d.n)
    b = ArrayBuilder()
    blocks = {"transfer": b.add_cols("transfer", d.t_min, d.t_max)}
    if soft:
        blocks["shortfall"] = b.add_cols("shortfall", 0.0, INF, size=n)
    t = blocks["transfer"]
    b.add_rows("budget", np.zeros(n, dtype=np.int64), t.start + idx, np.ones(n), -INF, d.budget, size=1)
    inv_need = 1.0 / d.need
    lower = d.threshold - d.own * inv_need
    if soft:
        s = blocks["shortfall"]
        rows = np.concatenate([idx, idx])
        cols = np.concatenate([t.start + idx, s.start + idx])
        vals = np.concatenate([inv_need, np.ones(n)])
        b.add_rows("threshold", rows, cols, vals, lower, INF, size=n)
        if cap is not None:
            b.add_rows("shortfall_cap", np.zeros(n, dtype=np.int64), s.start + idx, d.weight, -INF, cap, size=1)
    else:
        b.add_rows("threshold", idx, t.start + idx, inv_need, lower, INF, size=n)
    return b, blocks
