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

Certificate (LP duality on the slice LP; ``certify`` checks the pair numerically). Sort the
answer L ascending (ties by group, then index), a_r the weight below r, and let
pi_kr = c_k (min(a_r + w_r, beta_k) - min(a_r, beta_k)) in [0, c_k w_r], the dual of row
(k, r); eta_k the level of the region whose weight interval holds beta_k (the beta_k-
quantile), e_kr = (eta_k - L_r)+. Then eta_k's column: sum_r pi_kr = c_k beta_k (free:
equality); e_kr's: c_k w_r - pi_kr >= 0, zero where e_kr > 0 (L_r < eta_k: r lies wholly
below beta_k); complementary slackness: pi_kr > 0 only where L_r <= eta_k, and at L_r <
eta_k the row holds with e_kr = eta_k - L_r (tight). The rows (k, r) put
sum_k pi_kr = h_r on L_r, so the remaining duals (budget, chain, bound rows) are those of
max h.L (``mean_duals`` with the weights h): the pair is optimal for the slice LP exactly
when it is for max h.L over the rest, which ``certify`` then judges on the LP of record
itself. On failure the LP path runs.

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
from optimizer.fast.certify import Certificate, certify
from optimizer.fast.policy_mean import budget_bracket, mean_round, record_x
from optimizer.fast.policy_mean_point import adjacent_pair, at_bounds, bracket_points, mean_duals, snapped
from optimizer.fast.policy_path import Envelope, envelope, record_lp
from optimizer.fast.solutions import closed_form_solution

OWA_FAMILY = ({"owa_rows"}, {"owa_eta", "owa_excess"})
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


def owa_x(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
          eta: np.ndarray) -> np.ndarray:
    """The LP of record's columns: transfers (exactly on a bound where the level is the
    bound's), least shortfalls, eta and the excesses at the levels the LP computes."""
    x = record_x(lp, lay, d, level)
    can_a, can_b = at_bounds(env, d, level)
    t = np.where(can_a, env.lo, np.where(can_b, env.hi, x[lay["transfer"]]))
    x[lay["transfer"]] = t
    base, inv = fm.level_coef(d)
    x[lay["owa_eta"]] = eta
    x[lay["owa_excess"]] = np.maximum(0.0, eta[:, None] - (base + inv * t)[None, :]).ravel()
    return x


def owa_certified(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
                  lam: float) -> tuple[np.ndarray, np.ndarray | None, Certificate | None]:
    """(x, y, its certificate) of the point ``level`` at the budget price ``lam``."""
    beta, c = fm.owa_terms(d)
    eta, pi = lorenz_point(level, d.weight, env.group, beta, c)
    x = owa_x(lp, lay, env, d, level, eta)
    y = mean_duals(lp, lay, env, replace(d, weight=pi.sum(axis=0)), level, lam)
    if y is None:
        return x, None, None
    y[lay["rows:owa_rows"]] = -pi.ravel()
    return x, y, certify(lp, x, y)


def policy_owa_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram], hard: bool) -> Run | None:
    """The certified owa Run with policy rows, or None (the LP path decides)."""
    scarce = bool(data.options.get("threshold_caps"))
    if not (hard or scarce) or data.n < 2 or fm.owa_form(data) != "slices" or np.any(data.weight < 0):
        return None
    lp, build_seconds = record_lp(data, build, "owa")
    t1 = time.perf_counter()
    folded = hard and not scarce
    lay = lp.layout()
    env = envelope(lp, lay, data, folded) if "rows:no_overtaking" in lay else None
    h = None if env is None else owa_slopes(data, env.group, fm.owa_terms(data)[0])
    mr = None if h is None else mean_round(lp, data, folded, h, OWA_FAMILY)
    if mr is None:
        return None
    level, seen = budget_bracket(mr.cm, mr.budget, float(np.max(h / data.need)))
    if level is None:
        return None
    for level, lam in bracket_points(*adjacent_pair(mr.cm, seen, mr.budget), mr.budget, h, data.need,
                                     max(p.lam for p in seen)):
        if lam <= 0.0 and np.any(h <= 0.0):
            continue                       # other optima may spend less (the tie-break)
        x, y, cert = owa_certified(lp, lay, env, data, snapped(level), lam)
        if cert is not None and cert.ok:
            break
    else:
        return None
    first = closed_form_solution(lp, x, y, float(lp.cost @ x + lp.offset), time.perf_counter() - t1)
    first.algorithm = "Lagrangian layers"
    info = {"solved_by": SOLVED_BY,
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, lay, build_seconds, info)
