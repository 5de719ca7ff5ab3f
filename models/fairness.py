"""Fairness objectives: LP formulations (Pyomo model of record + vectorised twin).

Notation (solver units, see models/core.py): T_r transfer, L_r = (own_r + T_r) / N_r the
level, w_r >= 0 the weights (population shares, sum 1), mu = sum_r w_r L_r the mean level.
Every function here adds columns, rows and an objective to the core model; the twin adds
the identical columns and rows, in the same order, to an ``ArrayBuilder``. Options come
from ``RegionData.options`` (see ``option``); nothing here does I/O.

Objectives that need a sequence of LPs (leximin's stages, min-gini's Dinkelbach steps and
order cones, the soft-threshold phase 1) are driven by optimizer/fairness_solve.py: each LP of
the sequence is the model written here with the options of that step.
"""

from __future__ import annotations

import numpy as np
from models._pyomo import pyo

from models.data import RegionData
from models.lp import INF, ArrayBuilder, Block

DEFAULTS = {
    "alpha": 0.1,              # cvar: the worst-off share of the population
    "weights": None,           # owa: rank weights, worst slice first (None = decile default)
    "breakpoints": 32,         # log-welfare: tangents per region
    "gini_form": "auto",       # min-gini: "pairwise" | "chain" | "auto" (pairwise up to 200)
    "gini_pairwise_max": 200,
    "gini_lambda": 0.0,        # min-gini: Dinkelbach parameter (set by the driver)
    "gini_order": None,        # min-gini chain: the region ordering of the cone (set by the driver)
    "owa_form": "slices",      # owa: "slices" (O(m n), default) | "chain" (order cones, O(n) per LP)
    "owa_order": None,         # owa chain: the region ordering of the cone (set by the driver)
}
LOG_FLOOR = 1e-3               # log-welfare: smallest level the tangent grid covers


def option(d: RegionData, key: str):
    v = d.options.get(key) if d.options else None
    return DEFAULTS[key] if v is None else v


def _coef(d: RegionData) -> tuple[np.ndarray, np.ndarray]:
    """L_r = base_r + inv_r T_r (base = own * (1/N): the rounding Pyomo's compiler uses)."""
    inv = 1.0 / d.need
    return d.own * inv, inv


# --- max-mean -------------------------------------------------------------------

def max_mean(m: pyo.ConcreteModel, d: RegionData) -> None:
    """max mu = sum_r w_r L_r  s.t. core.

    The utilitarian reference: the efficiency end of the trade-off. The budget goes to
    the regions with the largest w_r / N_r (population per unit of need) first.
    """
    m.objective = pyo.Objective(
        expr=pyo.quicksum(float(d.weight[r]) * m.level[r] for r in m.R), sense=pyo.maximize)


def max_mean_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    base, inv = _coef(d)
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
    base, inv = _coef(d)
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
    base, inv = _coef(d)
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
    base, inv = _coef(d)
    alpha = _alpha(d)
    t = blocks["transfer"]
    eta = b.add_cols("cvar_eta", -INF, INF, cost=1.0, size=1)
    e = b.add_cols("cvar_excess", 0.0, INF, cost=-(d.weight / alpha), size=n)
    rows = np.concatenate([idx, idx, idx])
    cols = np.concatenate([e.start + idx, np.full(n, eta.start), t.start + idx])
    b.add_rows("cvar_rows", rows, cols, np.concatenate([np.ones(n), -np.ones(n), inv]), -base, INF, size=n)
    b.maximize = True


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


def _chain_order(d: RegionData, key: str) -> np.ndarray:
    """The ordering of a chain form (option ``key``; default: by level before)."""
    o = option(d, key)
    if o is None:
        return np.argsort(d.own / d.need, kind="stable")
    o = np.asarray(o, dtype=np.int64)
    if o.shape != (d.n,) or not np.array_equal(np.sort(o), np.arange(d.n)):
        raise ValueError(f"{key} must be a permutation of the regions")
    return o


def owa_order(d: RegionData) -> np.ndarray:
    return _chain_order(d, "owa_order")


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
    certifies global optimality from the chain duals or re-orders (optimizer/fairness_solve.py).
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
        _chain_arrays(b, blocks, d, owa_order(d), owa_cut(d, owa_order(d)), "owa_chain")
        b.maximize = True
        return
    beta, c = owa_terms(d)
    n, K = d.n, beta.size
    base, inv = _coef(d)
    t = blocks["transfer"]
    eta = b.add_cols("owa_eta", -INF, INF, cost=c * beta, size=K)
    e = b.add_cols("owa_excess", 0.0, INF, cost=-(c[:, None] * d.weight[None, :]).ravel(), size=K * n)
    k_of = np.repeat(np.arange(K), n)
    r_of = np.tile(np.arange(n), K)
    rows = np.arange(K * n)
    b.add_rows("owa_rows", np.concatenate([rows, rows, rows]),
               np.concatenate([e.start + rows, eta.start + k_of, t.start + r_of]),
               np.concatenate([np.ones(K * n), -np.ones(K * n), inv[r_of]]),
               -base[r_of], INF, size=K * n)
    b.maximize = True


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
    base, inv = _coef(d)
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


# --- leximin --------------------------------------------------------------------

def leximin(m: pyo.ConcreteModel, d: RegionData) -> None:
    """Stage k: max z  s.t. L_r >= z (r free),  L_r >= z_r* (r fixed at an earlier stage), core.

    Lexicographic max-min, as a sequence of such LPs (optimizer/fairness_solve.py): after
    each stage every region proven to sit at its level in *all* optimal solutions of the
    stage is fixed at once -- a free region whose floor row has a non-zero dual, or whose
    transfer is at a bound with a non-zero reduced cost (complementary slackness) -- and
    the next stage raises the floor of the rest. Stage 1 is maxmin. Option
    ``leximin_fixed`` (levels, NaN = free) gives the LP of a later stage.
    """
    fixed = _lex_fixed(d)
    m.floor = pyo.Var(domain=pyo.Reals)

    def row(m, r):
        if np.isnan(fixed[r]):
            return m.level[r] - m.floor >= 0
        return m.level[r] >= float(fixed[r])
    m.floor_rows = pyo.Constraint(m.R, rule=row)
    m.objective = pyo.Objective(expr=m.floor, sense=pyo.maximize)


def _lex_fixed(d: RegionData) -> np.ndarray:
    f = d.options.get("leximin_fixed") if d.options else None
    return np.full(d.n, np.nan) if f is None else np.asarray(f, dtype=float)


def leximin_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData) -> None:
    fixed = _lex_fixed(d)
    free = np.isnan(fixed)
    n, idx = d.n, np.arange(d.n)
    base, inv = _coef(d)
    t = blocks["transfer"]
    z = b.add_cols("floor", -INF, INF, cost=1.0, size=1)
    fi = idx[free]
    rows = np.concatenate([idx, fi])
    cols = np.concatenate([t.start + idx, np.full(fi.size, z.start)])
    vals = np.concatenate([inv, -np.ones(fi.size)])
    lower = np.where(free, -base, np.where(free, 0.0, fixed) - base)
    b.add_rows("floor_rows", rows, cols, vals, lower, INF, size=n)
    b.maximize = True
    blocks["floor"] = z


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
    return _chain_order(d, "gini_order")


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
                regions and re-solves): see optimizer/fairness_solve.py and docs/objectives.md.
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
    base, inv = _coef(d)
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
    _chain_arrays(b, blocks, d, order, gini_cut(d, order) - lam * d.weight, "gini_chain")


def _chain_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, order: np.ndarray,
                  coef: np.ndarray, name: str) -> None:
    """Objective sum_r coef_r L_r and the chain rows L_pi(k+1) - L_pi(k) >= 0."""
    n = d.n
    base, inv = _coef(d)
    t = blocks["transfer"]
    b.set_cost(t, coef * inv)
    b.offset = float(np.dot(coef, base))
    if n > 1:
        lo_r, hi_r = order[:-1], order[1:]
        k = np.arange(n - 1)
        b.add_rows(name, np.concatenate([k, k]), np.concatenate([t.start + hi_r, t.start + lo_r]),
                   np.concatenate([inv[hi_r], -inv[lo_r]]), base[lo_r] - base[hi_r], INF, size=n - 1)
