"""owa with policy rows: a linear objective on the feasible set when no-overtaking fixes the
order, maximised by the Lagrangian layers of max-mean, certified on the owa LP of record.

The LP of record (models/lorenz.py ``owa``, slice form; solver units, weights w_r >= 0
summing to 1, L_r = base_r + inv_r T_r):

    max sum_k c_k (beta_k eta_k - sum_r w_r e_kr)  s.t.  e_kr - eta_k + L_r >= 0 (owa_rows),
        e_kr >= 0, eta_k free, the core and the policy rows,

then the least total transfer among its optima; c_k = m (v_k - v_{k+1}) > 0, beta_k = k / m.

Claim (the idea of issue 14, proved here). With V(b) = sum_k c_k min(b, beta_k) (concave,
piecewise linear, breakpoints beta_k; models/lorenz.py ``owa_V``) and any order sigma that
sorts L ascending, OWA(L) = sum_r L_r (V(a_r + w_r) - V(a_r)), a_r the weight sorted below r
(``owa_cut``; ties: any sorting order gives the same sum). No-overtaking
(models/policies.py) ranks the regions into groups g of equal level before and asks
L_p <= L_q for p in g, q in g + 1: on the feasible set every L is sorted by the group order
up to the order inside each group. Let pi be the group order (members by index). If every
group of two or more regions spans a weight interval [a_g, a_g + W_g] with no breakpoint
beta_k strictly inside, V is linear there, so h_r = V(a_r + w_r) - V(a_r) = V'_g w_r for
every member whatever their order inside g: OWA(L) = h.L for every feasible L, linear. The
owa round is then max h.L over the envelopes, the chain and the budget: what
optimizer/fast/policy_mean.py maximises for arbitrary weights (its layers and bracket) and
policy_mean_point.py proves optimal with chain-flow duals. When a group of several regions
straddles a breakpoint the OWA is not linear on the feasible set (the order inside the
group matters and the objective is concave, not linear, there): declined (the LP solves
it). Without no-overtaking the order is free: declined. The claim is not assumed by the
answer: the certificate below is on the LP of record.

Certificate (LP duality on the slice LP). Sort the answer L ascending (ties by group, then
index), a_r the weight below r, and let pi_kr = c_k (min(a_r + w_r, beta_k) - min(a_r, beta_k))
in [0, c_k w_r], the dual of row (k, r); eta_k the level of the region whose weight interval
holds beta_k (the beta_k-quantile), e_kr = (eta_k - L_r)+. Then eta_k's column:
sum_r pi_kr = c_k beta_k (free: equality); e_kr's: c_k w_r - pi_kr >= 0, zero where
e_kr > 0 (L_r < eta_k: r lies wholly below beta_k); complementary slackness: pi_kr > 0 only
where L_r <= eta_k, where the row is tight. The rows (k, r) push sum_k pi_kr = h_r on L_r,
so the remaining duals (budget, chain, bound rows) are those of max h.L over the round's
rows, exactly the reduced costs of the slice LP's transfer columns. The check, split as
the bare path's (optimizer/fast/record_check.py; the slice LP has 10 n rows and columns, 3.4
GB at 1e6 regions when built): the round's max-mean LP with the weights h (its rows are the
slice LP's without the Lorenz family, its cost h.L) is built and ``certify`` judges the
point with the chain-flow duals of ``mean_duals``; the Lorenz family is checked in
vectors, its rows and the value by ``lorenz_check`` (as the LP computes them) and its dual
conditions above by ``lorenz_dual_violation``. Together they are the slice LP's
optimality conditions for the pair (x, eta, e; y, pi). On any failure the LP path runs.

Tie-break: with a budget price lambda* > 0 every optimum spends the budget (a binding dual),
so each optimum is a least-transfer one; at lambda* = 0 with some h_r = 0 (weights with
v_m = 0) other optima might spend less: declined.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

import models.fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import Run
from optimizer.fast.certify import TOL as CERTIFY_TOL
from optimizer.fast.certify import Certificate, certify
from optimizer.fast.policy_mean import budget_bracket, mean_round, record_x
from optimizer.fast.policy_mean_point import adjacent_pair, at_bounds, bracket_points, mean_duals, snapped
from optimizer.fast.policy_path import Envelope, before_groups, envelope, record_lp
from optimizer.fast.record_check import lorenz_check
from optimizer.fast.solutions import closed_form_solution

BREAK_TOL = 1e-12     # a breakpoint this close to a group's end counts as at the end
SOLVED_BY = ("Lagrangian layers on the envelopes (no-overtaking fixes the order: the owa is linear on the "
             "feasible set), certified optimal for the owa LP of record (optimizer/fast/policy_owa.py)")


def owa_slopes(d: RegionData, group: np.ndarray, beta: np.ndarray) -> np.ndarray | None:
    """h with OWA(L) = h.L on every L sorted by the groups (ascending, members in any
    order), or None when a group of several regions has a breakpoint beta_k strictly inside
    its weight interval (the module docstring)."""
    order = np.lexsort((np.arange(d.n), group))
    g, w = group[order], d.weight[order]
    cum = np.cumsum(w)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], d.n]
    a, e = (cum - w)[starts], cum[ends - 1]
    inside = np.searchsorted(beta, a + BREAK_TOL, side="right") < np.searchsorted(beta, e - BREAK_TOL, side="left")
    if np.any(inside & (ends - starts > 1)):
        return None
    return fm.owa_cut(d, order)


def lorenz_point(level: np.ndarray, w: np.ndarray, group: np.ndarray, beta: np.ndarray, c: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(eta, pi): the quantiles eta_k and the duals pi_kr (shape (K, n), min convention,
    >= 0) of the owa rows at ``level`` (the module docstring's certificate)."""
    n = level.shape[0]
    order = np.lexsort((np.arange(n), group, level))
    ws = w[order]
    cum = np.cumsum(ws)
    a = cum - ws
    j = np.minimum(np.searchsorted(cum, beta, side="left"), n - 1)
    eta = level[order[j]]
    pi = np.empty((beta.size, n))
    pi[:, order] = c[:, None] * np.maximum(np.minimum(cum[None, :], beta[:, None])
                                           - np.minimum(a[None, :], beta[:, None]), 0.0)
    return eta, pi


def lorenz_dual_violation(pi: np.ndarray, eta: np.ndarray, level: np.ndarray, d: RegionData, beta: np.ndarray,
                          c: np.ndarray, h: np.ndarray) -> float:
    """The largest violation of the Lorenz family's dual conditions (certify's measure, in
    the units of the costs): eta_k's column sum_r pi_kr = c_k beta_k; e_kr's reduced cost
    c_k w_r - pi_kr >= 0 and 0 where e_kr > 0; pi_kr > 0 only on a tight row (L_r <= eta_k);
    and the rows' push on L_r is the h_r the rest of the LP was certified with."""
    cw = c[:, None] * d.weight[None, :]
    gap = eta[:, None] - level[None, :]                        # e_kr where > 0
    near = 1e-9 * np.maximum(1.0, np.abs(level))[None, :]
    parts = [np.abs(pi.sum(axis=1) - c * beta), np.maximum(pi - cw, 0.0).ravel(),
             np.where(gap > near, np.abs(cw - pi), 0.0).ravel(), np.where(gap < -near, pi, 0.0).ravel(),
             np.abs(pi.sum(axis=0) - h)]
    return max(float(np.max(p, initial=0.0)) for p in parts)


def owa_certified(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
                  lam: float, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, Certificate, float] | None:
    """(x, y, certificate, value) of the point ``level`` at the budget price ``lam``: ``lp``
    (max h.L over the round's rows) certified by ``certify``, the Lorenz family checked in
    vectors (record_check.py: primal rows and value; ``lorenz_dual_violation``); else None."""
    beta, c = fm.owa_terms(d)
    eta, pi = lorenz_point(level, d.weight, env.group, beta, c)
    x = record_x(lp, lay, d, level)
    can_a, can_b = at_bounds(env, d, level)
    t = np.where(can_a, env.lo, np.where(can_b, env.hi, x[lay["transfer"]]))
    x[lay["transfer"]] = t
    y = mean_duals(lp, lay, env, replace(d, weight=h), level, lam)
    if y is None:
        return None
    cert = certify(lp, x, y)
    base, inv = fm.level_coef(d)
    lev = base + inv * t
    chk = lorenz_check(d, t, lev, eta, "owa")
    dual = lorenz_dual_violation(pi, eta, lev, d, beta, c, h)
    if not cert.ok or chk.violation > CERTIFY_TOL or dual > CERTIFY_TOL:
        return None
    return x, y, Certificate(True, max(cert.primal_violation, chk.violation), max(cert.dual_violation, dual)), chk.value


def policy_owa_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram], hard: bool) -> Run | None:
    """The certified owa Run with policy rows, or None (the LP path decides)."""
    scarce = bool(data.options.get("threshold_caps"))
    if not (hard or scarce) or data.n < 2 or fm.owa_form(data) != "slices" or np.any(data.weight < 0):
        return None
    h = owa_slopes(data, before_groups(data), fm.owa_terms(data)[0])
    if h is None:
        return None
    lp, build_seconds = record_lp(replace(data, weight=h), build, "max-mean")    # the round's rows, max h.L
    t1 = time.perf_counter()
    folded = hard and not scarce
    lay = lp.layout()
    mr = mean_round(lp, data, folded) if "rows:no_overtaking" in lay else None
    env = None if mr is None else envelope(lp, lay, data, folded)
    if env is None:
        return None
    level, seen = budget_bracket(mr.cm, mr.budget, float(np.max(h / data.need)))
    if level is None:
        return None
    for level, lam in bracket_points(*adjacent_pair(mr.cm, seen, mr.budget), mr.budget, h, data.need,
                                     max(p.lam for p in seen)):
        if lam <= 0.0 and np.any(h <= 0.0):
            continue                       # other optima may spend less (the tie-break)
        found = owa_certified(lp, lay, env, data, snapped(level), lam, h)
        if found is not None:
            break
    else:
        return None
    x, y, cert, value = found
    first = closed_form_solution(lp, x, y, value, time.perf_counter() - t1)
    first.algorithm = "Lagrangian layers"
    info = {"solved_by": SOLVED_BY,
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, lay, build_seconds, info)
