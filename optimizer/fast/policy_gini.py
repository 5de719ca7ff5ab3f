"""min-gini with policy rows: with no-overtaking the Gini is a ratio of two linear functions
on the feasible set (up to the order inside groups tied before); Dinkelbach's steps are
linear objectives over the envelopes, the chain and the budget (the max-mean layers), and
the answer is certified on the min-gini LP of record at the optimal ratio.

Notation (models/gini.py): P(L) = sum_{i<j} w_i w_j |L_i - L_j|, mu(L) = w.L, Gini
G(L) = P(L) / mu(L). For an order pi, g(pi)_r = w_r (W before r - W after r) (``gini_cut``):
P(L) >= g(pi).L for every L, with equality when pi sorts L ascending.

Claim (issue 14's idea, for min-gini). No-overtaking (models/policies.py) asks L_p <= L_q
for p in a level-before group g and q in g + 1. When every group is a single region the
feasible set F lies in the order cone C_pi of the group order pi, so P = g(pi).L on F and
min G = min g.L / w.L is a linear-fractional program. P cares about the order inside a
tied group (every pair counts), unlike the OWA inside one slice; but for ANY pi,
min_F g(pi).L / w.L <= G* (the cut is a lower bound of P), with equality, and a Gini-optimal
minimiser, when the minimiser L* is sorted by pi (then g(pi).L* = P(L*)). So pi starts as
the group order with each tied group by need per weight descending, and when L* inverts a
tied pair pi is re-sorted by L* (ties kept) and the ratio solved again (at most
ORDER_TRIES cones; else declined). Without no-overtaking the order is free: declined.
Dinkelbach for min g.L / w.L: F(lam) = min_F (g - lam w).L is concave and decreasing, zero
at the optimal ratio; from lam_0 = the ratio of the least point (feasible: F(lam_0) <= 0)
each step takes a minimiser L_k and lam_{k+1} = g.L_k / w.L_k (finite: vertices; two
steps on the generated instances). Each step is max c.L, c = lam w - g, over the layers of
optimizer/fast/policy_mean.py (any signs of c; its price bracket on the budget).

Certificate (on the LP of record; nothing above is assumed). The LP of record is the
driver's Dinkelbach step at the final ratio lam on the cone pi: min (g(pi) - lam w).L s.t.
the chain rows of pi (gini_form chain, models/gini.py), the core and the policy rows. The
point and the chain-flow duals of policy_mean_point.py (``mean_duals`` with weights c,
negated for the min problem) are checked by ``certify``, costs scaled to max |c| = 1 (the
driver's scaling: the weights are ~1/n^2 and the dual tolerance absolute). Those duals
are 0 on the chain rows of pi (the flows use the no-overtaking rows), so they prove the
point optimal for min (g - lam w).L over F itself, not only over F n C_pi; with
P >= g.L and the value F(lam) >= -ACCEPT_TOL mu (the driver's acceptance), every feasible L
has P(L) - lam mu(L) >= -ACCEPT_TOL mu: the point, on C_pi, is Gini-optimal. Reported as the
driver does: the Gini P/mu of the point and the duals as d Gini / d rhs = dual / mu.
Tie-break: with a budget price > 0 every optimum of that LP spends the budget (a binding
dual), so each is a least-transfer one; with price 0 (e.g. Gini 0 reached): declined.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

import models.fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.metrics import pairwise_sum
from optimizer.core.solution import Run
from optimizer.fast.certify import Certificate, certify
from optimizer.fast.policy_mean import ChainMean, Point, budget_bracket, mean_round, record_x
from optimizer.fast.policy_mean_point import adjacent_pair, at_bounds, bracket_points, mean_duals, snapped
from optimizer.fast.policy_path import Envelope, before_groups, envelope, record_lp
from optimizer.fast.solutions import closed_form_solution

GINI_FAMILY = ({"gini_chain"}, set())
STEP_TOL = 1e-10     # Dinkelbach stops when F(lam) >= -STEP_TOL mu on the bracket's point
ACCEPT_TOL = 1e-9    # the certified vertex's F(lam) >= -ACCEPT_TOL mu: the driver's GINI_TOL
MAX_STEPS = 60
ORDER_TRIES = 8      # cones tried (a tied group whose answer inverts the order: re-sorted)
Build = Callable[[RegionData, str], LinearProgram]
SOLVED_BY = ("Dinkelbach over the Lagrangian layers (no-overtaking fixes the order: the Gini is linear over "
             "linear on the feasible set), certified optimal for the min-gini LP of record at the optimal "
             "ratio (optimizer/fast/policy_gini.py)")


def within_order(d: RegionData, group: np.ndarray) -> np.ndarray:
    """The regions by level-before group, inside a group by need per weight descending (of
    two tied regions the one with the larger w_r / n_r wants up: it goes later), then index."""
    ratio = d.need / np.maximum(d.weight, 1e-300)
    return np.lexsort((np.arange(d.n), -ratio, group))


def dinkelbach(cm: ChainMean, g: np.ndarray, d: RegionData, budget: float, start: np.ndarray
               ) -> tuple[np.ndarray, float, ChainMean, list[Point]] | None:
    """min g.L / w.L over the layers' set from the feasible ``start``: (L*, lam*, the layers
    at lam*, the points of the last bracket), or None."""
    w, need = d.weight, d.need
    mu0 = float(np.dot(w, start))
    if not mu0 > 0:
        return None
    lam = float(np.dot(g, start)) / mu0
    for _ in range(MAX_STEPS):
        c = lam * w - g
        step = cm.reweighted(c)
        level, seen = budget_bracket(step, budget, max(0.0, float(np.max(c / need))))
        if level is None:
            return None
        p, mu = float(np.dot(g, level)), float(np.dot(w, level))
        if not mu > 0:
            return None
        if p - lam * mu >= -STEP_TOL * mu:
            return level, lam, step, seen
        lam = p / mu
    return None


def gini_record(data: RegionData, build: Build, order: np.ndarray, lam: float) -> tuple[LinearProgram, float]:
    """The min-gini LP of record at ratio ``lam`` on the cone of ``order`` (chain form)."""
    opts = {**data.options, "gini_form": "chain", "gini_order": order, "gini_lambda": lam}
    return record_lp(replace(data, options=opts), build, "min-gini")


def sorted_by(level: np.ndarray, order: np.ndarray) -> bool:
    """``level`` ascending along ``order`` (ties allowed)."""
    return bool(np.all(np.diff(level[order]) >= 0.0))


def policy_gini_run(data: RegionData, build: Build, hard: bool) -> Run | None:
    """The certified min-gini Run with policy rows, or None (the LP path decides)."""
    scarce = bool(data.options.get("threshold_caps"))
    if not (hard or scarce) or data.n < 2 or np.any(data.weight < 0) or data.options.get("gini_order") is not None \
            or fm.option(data, "gini_form") not in ("auto", "chain"):
        return None
    folded = hard and not scarce
    order = within_order(data, before_groups(data))
    lp, build_seconds = gini_record(data, build, order, 0.0)
    t1 = time.perf_counter()
    lay = lp.layout()
    mr = mean_round(lp, data, folded, data.weight, GINI_FAMILY) if "rows:no_overtaking" in lay else None
    env = None if mr is None else envelope(lp, lay, data, folded)
    if env is None or float(np.dot(data.need, env.M)) > mr.budget * (1 + 1e-12):
        return None
    start = env.M
    for _ in range(ORDER_TRIES):
        found = dinkelbach(mr.cm, fm.gini_cut(data, order), data, mr.budget, start)
        if found is None:
            return None
        start, lam, step, seen = found
        if sorted_by(start, order):
            break
        rank = np.empty(data.n, dtype=np.int64)
        rank[order] = np.arange(data.n)
        order = np.lexsort((rank, start))             # a tied group inverted: its cone next
    else:
        return None
    t2 = time.perf_counter()
    lp, more = gini_record(data, build, order, lam)
    t1 += time.perf_counter() - t2
    sol = _certified(lp, lay, env, data, step, seen, mr.budget)
    if sol is None:
        return None
    x, y, cert, mu, level = sol
    first = closed_form_solution(lp, x, y / mu, pairwise_sum(level, data.weight) / mu, time.perf_counter() - t1)
    first.algorithm = "Dinkelbach over Lagrangian layers"
    info = {"solved_by": SOLVED_BY, "gini_form": "chain", "gini_lambda": lam,
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, lay, build_seconds + more, info)


def _certified(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, step: ChainMean,
               seen: list[Point], budget: float
               ) -> tuple[np.ndarray, np.ndarray, Certificate, float, np.ndarray] | None:
    """(x, y, certificate, mu, level): the first point of the last bracket with a budget
    price > 0 certified optimal for the LP of record at the ratio lam (the round with the
    weights c = lam w - g: ``step.w``) with value F(lam) >= -ACCEPT_TOL mu; else None.
    y: the min problem's duals (HiGHS convention), 0 on the chain rows of the cone."""
    dc = replace(d, weight=step.w)
    cmax = float(np.abs(lp.cost).max())
    sigma = 1.0 / cmax if cmax > 0 else 1.0
    scaled = replace(lp, cost=lp.cost * sigma, offset=lp.offset * sigma)
    base, inv = fm.level_coef(d)
    for level, lam_b in bracket_points(*adjacent_pair(step, seen, budget), budget, step.w, d.need,
                                       max(p.lam for p in seen)):
        if lam_b <= 0.0:
            continue                                  # other optima might spend less (the tie-break)
        level = snapped(level)
        y = mean_duals(lp, lay, env, dc, level, lam_b)
        if y is None:
            continue
        y = -y                                        # max c.L's duals -> min (g - lam w).L's
        x = record_x(lp, lay, dc, level)
        can_a, can_b = at_bounds(env, dc, level)
        x[lay["transfer"]] = np.where(can_a, env.lo, np.where(can_b, env.hi, x[lay["transfer"]]))
        cert = certify(scaled, x, y * sigma)
        mu = float(np.dot(d.weight, base + inv * x[lay["transfer"]]))
        if cert.ok and mu > 0 and float(lp.cost @ x + lp.offset) >= -ACCEPT_TOL * mu:
            return x, y, cert, mu, level
    return None
