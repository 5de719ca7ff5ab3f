"""Objectives on the Lorenz curve: cvar (the worst-off share alpha) and owa (ordered
weighted average over population slices, or its chain form on an order cone); notation:
models/fairness_base.py."""

from __future__ import annotations

import numpy as np

from models.data import RegionData
from models.fairness_base import chain_arrays, chain_order, level_coef, option
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block

# --- cvar -----------------------------------------------------------------------

def cvar(m: pyo.ConcreteModel, d: RegionData) -> None:
    """max eta - (1/alpha) sum_r w_r e_r  s.t. e_r >= eta - L_r, e_r >= 0, core.

    The mean level of the worst-off share alpha of the population (Rockafellar-Uryasev:
    the optimum over eta is that tail mean; eta is the alpha-quantile). alpha -> 0 gives
    the lowest level (maxmin; exactly once alpha <= the smallest w_r), alpha = 1 the mean.
    Option: alpha in (0, 1].
    """
    alpha = _alpha(d)
    m.cvar_eta = pyo.Var(domain=pyo.Reals)
    m.cvar_excess = pyo.Var(m.R, domain=pyo.NonNegativeReals)
    m.cvar_rows = pyo.Constraint(m.R, rule=lambda m, r: m.cvar_excess[r] - m.cvar_eta + m.level[r] >= 0)
    m.objective = pyo.Objective(
        expr=m.cvar_eta - pyo.quicksum(float(d.weight[r] / alpha) * m.cvar_excess[r] for r in m.R),
        sense=pyo.maximize)


def _alpha(d: RegionData) -> float:
    alpha = float(option(d, "alpha"))
    if not (0.0 < alpha <= 1.0):
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    return alpha


def cvar_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    n, idx = d.n, np.arange(d.n)
    base, inv = level_coef(d)
    eta_cost, e_cost = lorenz_costs(d, "cvar")
    t = blocks["transfer"]
    eta = b.add_cols("cvar_eta", -INF, INF, cost=eta_cost, size=1)
    e = b.add_cols("cvar_excess", 0.0, INF, cost=e_cost.ravel(), size=n)
    rows = np.concatenate([idx, idx, idx])
    cols = np.concatenate([e.start + idx, np.full(n, eta.start), t.start + idx])
    b.add_rows("cvar_rows", rows, cols, np.concatenate([np.ones(n), -np.ones(n), inv]), -base, INF, size=n)
    b.maximize = True


def lorenz_costs(d: RegionData, objective: str) -> tuple[np.ndarray, np.ndarray]:
    """The costs (maximised) of the Lorenz LPs' columns eta_k (shape (K,)) and excesses
    e_kr (shape (K, n)), for cvar (K = 1) and owa over population slices: one place for the
    LP builders here and the matrix-free check of a decomposition point on the LP of record
    (optimizer/fast/record_check.py), so both sum the same numbers."""
    if objective == "cvar":
        return np.ones(1), -(d.weight / _alpha(d))[None, :]
    beta, c = owa_terms(d)
    return c * beta, -(c[:, None] * d.weight[None, :])


# --- owa ------------------------------------------------------------------------

def owa_weights(d: RegionData) -> np.ndarray:
    """The OWA weights v_1..v_m (worst slice first), normalised to sum 1; checked
    non-increasing (the condition for the LP to be exact: the OWA is then concave)."""
    v = option(d, "weights")
    if v is None:
        v = np.arange(10, 0, -1, dtype=float)   # deciles, linearly decreasing
    v = np.asarray(v, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 0) or v.sum() <= 0:
        raise ValueError("owa weights must be finite, >= 0 and not all zero")
    if np.any(np.diff(v) > 1e-12 * v.max()):
        raise ValueError("owa weights must be non-increasing (worst-off first); "
                         "increasing weights make the OWA non-concave (not an LP)")
    return v / v.sum()


def owa_terms(d: RegionData) -> tuple[np.ndarray, np.ndarray]:
    """(beta_k, c_k) with c_k > 0: OWA(L) = sum_k c_k * Lorenz(beta_k)."""
    v = owa_weights(d)
    mslices = v.size
    c = mslices * (v - np.append(v[1:], 0.0))
    keep = c > 1e-15
    beta = np.arange(1, mslices + 1, dtype=float) / mslices
    return beta[keep], c[keep]


def owa_form(d: RegionData) -> str:
    form = option(d, "owa_form")
    if form not in ("slices", "chain"):
        raise ValueError(f"owa_form must be slices, chain or auto, got {form!r}")
    return form


def owa_V(d: RegionData):
    """V(b) = integral_0^b of the OWA weight density (m v_k on slice k), concave, V(1) = 1."""
    v = owa_weights(d)
    mslices = v.size

    def V(b):
        b = np.asarray(b, dtype=float)
        k = np.arange(mslices)
        return (v[None, :] * np.clip(mslices * b.reshape(-1, 1) - k[None, :], 0.0, 1.0)).sum(axis=1).reshape(b.shape)
    return V


def owa_cut(d: RegionData, order: np.ndarray) -> np.ndarray:
    """Coefficients h with OWA(L) <= h.L for every L, with equality when L is sorted as
    ``order`` (ascending): h_r = V(W_before(r) + w_r) - V(W_before(r))."""
    w = d.weight[order]
    cum = np.cumsum(w)
    V = owa_V(d)
    h = np.empty(d.n)
    h[order] = V(cum) - V(cum - w)
    return h




def owa_order(d: RegionData) -> np.ndarray:
    return chain_order(d, "owa_order")


def _owa_chain(m: pyo.ConcreteModel, d: RegionData) -> None:
    order = owa_order(d)
    coef = owa_cut(d, order)
    m.owa_chain = pyo.Constraint(
        range(d.n - 1), rule=lambda m, k: m.level[int(order[k + 1])] - m.level[int(order[k])] >= 0)
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(coef[r]) * m.level[r] for r in m.R), sense=pyo.maximize)


def owa(m: pyo.ConcreteModel, d: RegionData) -> None:
    """max sum_k c_k (beta_k eta_k - sum_r w_r e_kr)  s.t. e_kr >= eta_k - L_r, e_kr >= 0, core.

    Weighted OWA over the population (Torra's WOWA, Ogryczak's compact LP): the m user
    weights v_1 >= ... >= v_m weigh m equal population slices ordered from the worst-off;
    OWA = sum_k v_k Q_k, Q_k the mean level of slice k. With the absolute Lorenz curve
    Lorenz(b) = total level of the worst b of the population = max_eta b eta - sum w (eta-L)+,
    OWA = sum_k c_k Lorenz(k/m) with c_k = m (v_k - v_{k+1}) >= 0; one eta and n excesses
    per k with c_k > 0. v = (1/m, ..., 1/m) is the mean (max-mean); v = (1, 0, ..., 0) is
    the mean of the worst 1/m, the lowest level (maxmin) when every w_r >= 1/m, e.g. the
    classic OWA over n equally weighted regions with m = n.

    chain form (``owa_form``): on the order cone C_pi the OWA is linear, sum_r h_r(pi) L_r
    (``owa_cut``); the LP is max h(pi).L s.t. the n - 1 chain rows, core (O(n)); the driver
    certifies global optimality from the chain duals or re-orders (optimizer/engine/drivers/owa_chain.py).
    """
    if owa_form(d) == "chain":
        _owa_chain(m, d)
        return
    beta, c = owa_terms(d)
    K = range(beta.size)
    m.owa_K = pyo.Set(initialize=list(K), ordered=True)
    m.owa_eta = pyo.Var(m.owa_K, domain=pyo.Reals)
    m.owa_excess = pyo.Var(m.owa_K, m.R, domain=pyo.NonNegativeReals)
    m.owa_rows = pyo.Constraint(
        m.owa_K, m.R, rule=lambda m, k, r: m.owa_excess[k, r] - m.owa_eta[k] + m.level[r] >= 0)
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(c[k] * beta[k]) * m.owa_eta[k] for k in K)
        - pyo.quicksum(float(c[k] * d.weight[r]) * m.owa_excess[k, r] for k in K for r in m.R),
        sense=pyo.maximize)


def owa_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    if owa_form(d) == "chain":
        chain_arrays(b, blocks, d, owa_order(d), owa_cut(d, owa_order(d)), "owa_chain")
        b.maximize = True
        return
    eta_cost, e_cost = lorenz_costs(d, "owa")
    n, K = d.n, eta_cost.size
    base, inv = level_coef(d)
    t = blocks["transfer"]
    eta = b.add_cols("owa_eta", -INF, INF, cost=eta_cost, size=K)
    e = b.add_cols("owa_excess", 0.0, INF, cost=e_cost.ravel(), size=K * n)
    k_of = np.repeat(np.arange(K), n)
    r_of = np.tile(np.arange(n), K)
    rows = np.arange(K * n)
    b.add_rows("owa_rows", np.concatenate([rows, rows, rows]),
               np.concatenate([e.start + rows, eta.start + k_of, t.start + r_of]),
               np.concatenate([np.ones(K * n), -np.ones(K * n), inv[r_of]]),
               -base[r_of], INF, size=K * n)
    b.maximize = True
