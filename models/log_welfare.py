"""log-welfare (proportional fairness) by tangents of ln (notation: models/fairness_base.py)."""

from __future__ import annotations

import numpy as np

from models.data import RegionData
from models.fairness_base import level_coef, option
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block

LOG_FLOOR = 1e-3               # log-welfare: smallest level the tangent grid covers


# --- log-welfare ----------------------------------------------------------------

def level_range(d: RegionData) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on each level from the transfer bounds and the budget alone."""
    free = d.budget - float(d.t_min.sum())
    lo = (d.own + d.t_min) / d.need
    hi = (d.own + np.minimum(d.t_max, d.t_min + max(free, 0.0))) / d.need
    return lo, np.maximum(hi, lo)


def log_breakpoints(d: RegionData) -> np.ndarray:
    """(n, K) tangent points: K geometric points from max(lo_r, LOG_FLOOR) to hi_r."""
    K = int(option(d, "breakpoints"))
    if K < 2:
        raise ValueError(f"breakpoints must be >= 2, got {K}")
    lo, hi = level_range(d)
    lo = np.maximum(lo, LOG_FLOOR)
    hi = np.maximum(hi, lo)
    s = np.linspace(0.0, 1.0, K)
    return np.exp(np.log(lo)[:, None] + (np.log(hi) - np.log(lo))[:, None] * s[None, :])


def log_error_bound(d: RegionData) -> float:
    """A-priori bound on max_L [min_k tangent_k(L) - log L] over the grid, weighted:
    between tangents at a and rho*a the gap peaks at c - 1 - ln c, c = rho ln rho/(rho-1)."""
    x = log_breakpoints(d)
    rho = x[:, 1] / x[:, 0]
    err = np.zeros(d.n)
    big = rho > 1 + 1e-12
    c = rho[big] * np.log(rho[big]) / (rho[big] - 1)
    err[big] = c - 1 - np.log(c)
    return float(np.dot(d.weight, err))


def log_welfare(m: pyo.ConcreteModel, d: RegionData) -> None:
    """max sum_r w_r u_r  s.t. u_r <= ln x_rk + (L_r - x_rk) / x_rk for every tangent point k, core.

    Proportional fairness, max sum w ln L, by an outer (tangent) approximation: u_r is the
    lower envelope of K tangents of ln at geometric points x_r1 < ... < x_rK spanning the
    level range region r can reach. ln is concave, so every tangent lies above it: the LP
    value is an upper bound on the true optimum, and the welfare of the LP's allocation a
    lower bound; between points a and rho a the envelope exceeds ln by at most
    c - 1 - ln c, c = rho ln rho / (rho - 1) (3e-4 for rho = 1.05). Option: breakpoints (K).
    """
    coef, upper = log_tangents(d)     # the tangent rows written on T_r (L_r substituted)
    K = coef.shape[1]
    m.log_K = pyo.RangeSet(0, K - 1)
    m.log_util = pyo.Var(m.R, domain=pyo.Reals)
    m.log_tangent = pyo.Constraint(
        m.R, m.log_K,
        rule=lambda m, r, k: m.log_util[r] - float(coef[r, k]) * m.transfer[r] <= float(upper[r, k]))
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(d.weight[r]) * m.log_util[r] for r in m.R), sense=pyo.maximize)


def log_tangents(d: RegionData) -> tuple[np.ndarray, np.ndarray]:
    """Tangent k of region r as  u_r - coef_rk T_r <= upper_rk  (from u <= ln x + (L - x)/x)."""
    x = log_breakpoints(d)
    base, inv = level_coef(d)
    inv_x = 1.0 / x
    return inv_x * inv[:, None], (np.log(x) - 1.0) + inv_x * base[:, None]


def log_welfare_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    coef, upper = log_tangents(d)
    n, K = coef.shape
    t = blocks["transfer"]
    u = b.add_cols("log_util", -INF, INF, cost=d.weight, size=n)
    r_of = np.repeat(np.arange(n), K)
    rows = np.arange(n * K)
    b.add_rows("log_tangent", np.concatenate([rows, rows]),
               np.concatenate([u.start + r_of, t.start + r_of]),
               np.concatenate([np.ones(n * K), -coef.ravel()]), -INF, upper.ravel(), size=n * K)
    b.maximize = True
