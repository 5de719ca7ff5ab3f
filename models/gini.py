"""min-gini: P(L) - lambda mu(L), pairwise or on an order cone (chain), for the Dinkelbach
driver of optimizer/engine/drivers/min_gini.py (notation: models/fairness_base.py)."""

from __future__ import annotations

import numpy as np

from models.data import RegionData
from models.fairness_base import chain_arrays, chain_order, level_coef, option
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block

# --- min-gini -------------------------------------------------------------------

def gini_form(d: RegionData) -> str:
    form = option(d, "gini_form")
    if form == "auto":
        return "pairwise" if d.n <= int(option(d, "gini_pairwise_max")) else "chain"
    if form not in ("pairwise", "chain"):
        raise ValueError(f"gini_form must be pairwise, chain or auto, got {form!r}")
    return form


def gini_cut(d: RegionData, order: np.ndarray) -> np.ndarray:
    """Coefficients g with P(L) >= sum_r g_r L_r for every L, with equality when L is
    sorted as ``order`` (ascending): g_r = w_r (mass before r - mass after r)."""
    w = d.weight[order]
    before = np.cumsum(w) - w
    after = w.sum() - before - w
    g = np.empty(d.n)
    g[order] = w * (before - after)
    return g


def gini_order(d: RegionData) -> np.ndarray:
    return chain_order(d, "gini_order")


def min_gini(m: pyo.ConcreteModel, d: RegionData) -> None:
    """min P(L) - lambda mu(L)  s.t. core, with P(L) = sum_{i<j} w_i w_j |L_i - L_j|.

    The Gini coefficient is G(L) = P(L) / mu(L) (= sum_ij w_i w_j |L_i - L_j| / (2 mu)),
    a ratio of a convex piecewise-linear P and a linear mu > 0. Exactness (Dinkelbach):
    F(lambda) = min_L P - lambda mu is concave, strictly decreasing, and F(lambda) = 0 iff
    lambda = G* = min G; then the minimisers of P - G* mu are exactly the Gini-optimal
    allocations (P - G* mu >= 0 everywhere, = 0 iff G(L) = G*). The driver iterates
    lambda <- G(L_k) (finite, superlinear convergence), each step this LP.
    P is written
      pairwise: d_ij >= L_i - L_j, d_ij >= L_j - L_i, P = sum_{i<j} w_i w_j d_ij (exact,
                O(n^2) rows: up to a few hundred regions), or
      chain:    on the order cone C_pi = {L_pi(1) <= ... <= L_pi(n)} P is linear,
                P = sum_r g_r(pi) L_r (``gini_cut``); the LP is min g(pi).L - lambda mu
                s.t. the n - 1 chain rows L_pi(k+1) - L_pi(k) >= 0, core (O(n)). The driver
                certifies global optimality from the chain duals (or re-orders the tied
                regions and re-solves): see optimizer/engine/drivers/min_gini.py and docs/objectives.md.
    """
    lam = float(option(d, "gini_lambda"))
    if gini_form(d) == "pairwise":
        mu = pyo.quicksum(float(d.weight[r]) * m.level[r] for r in m.R)
        pairs = [(i, j) for i in range(d.n) for j in range(i + 1, d.n)]
        m.gini_pairs = pyo.Set(initialize=pairs, dimen=2, ordered=True)
        m.gini_diff = pyo.Var(m.gini_pairs, domain=pyo.NonNegativeReals)
        m.gini_pos = pyo.Constraint(
            m.gini_pairs, rule=lambda m, i, j: m.gini_diff[i, j] - m.level[i] + m.level[j] >= 0)
        m.gini_neg = pyo.Constraint(
            m.gini_pairs, rule=lambda m, i, j: m.gini_diff[i, j] + m.level[i] - m.level[j] >= 0)
        p = pyo.quicksum(float(d.weight[i] * d.weight[j]) * m.gini_diff[i, j] for i, j in pairs)
        m.objective = pyo.Objective(expr=p - lam * mu, sense=pyo.minimize)
        return
    order = gini_order(d)
    coef = gini_cut(d, order) - lam * d.weight
    m.gini_chain = pyo.Constraint(
        range(d.n - 1), rule=lambda m, k: m.level[int(order[k + 1])] - m.level[int(order[k])] >= 0)
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(coef[r]) * m.level[r] for r in m.R), sense=pyo.minimize)


def min_gini_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    lam = float(option(d, "gini_lambda"))
    n = d.n
    base, inv = level_coef(d)
    t = blocks["transfer"]
    if gini_form(d) == "pairwise":
        b.set_cost(blocks["transfer"], -lam * d.weight * inv)
        b.offset = -lam * float(np.dot(d.weight, base))
        i, j = np.triu_indices(n, 1)
        p = i.size
        if p == 0:   # one region: no pairs (Pyomo's empty components add nothing either)
            return
        g = b.add_cols("gini_diff", 0.0, INF, cost=d.weight[i] * d.weight[j], size=p)
        rows = np.arange(p)
        r3 = np.concatenate([rows, rows, rows])
        cols = np.concatenate([g.start + rows, t.start + i, t.start + j])
        b.add_rows("gini_pos", r3, cols, np.concatenate([np.ones(p), -inv[i], inv[j]]),
                   base[i] - base[j], INF, size=p)
        b.add_rows("gini_neg", r3, cols, np.concatenate([np.ones(p), inv[i], -inv[j]]),
                   base[j] - base[i], INF, size=p)
        return
    order = gini_order(d)
    chain_arrays(b, blocks, d, order, gini_cut(d, order) - lam * d.weight, "gini_chain")
