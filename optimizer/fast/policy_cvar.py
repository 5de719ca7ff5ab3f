"""cvar with policy rows: the max-min point of the envelope filling, certified on the cvar
LP of record when the max-min floor is wide enough for the worst-off share alpha.

The LP of record (models/lorenz.py ``cvar``, solver units, w_r >= 0 summing to 1):

    max eta - (1/alpha) sum_r w_r e_r   s.t.  e_r - eta + L_r >= 0 (cvar_rows),  e_r >= 0,
                                              eta free, the core and the policy rows,

then the least total transfer among its optima (the tie-break of engine/highs.py). As in
optimizer/fast/policy_path.py the one-entry rows are bounds on T_r, no-overtaking a chain,
M the lower envelope, and the envelope filling L = max(z*, M) the max-min point.

Claim. Let the budget bind at z* (case (a) of policy_path's duals: lambda = 1 / N_F,
N_F = sum{n_r : L_r = z*}, floor dual pi_r = lambda n_r on each region of F = {L_r = z*},
the chain and bound duals carrying every region above z*). If pi_r <= w_r / alpha for every
r in F, then (L, eta = z*, e = 0) is optimal for the cvar LP and its value is z*.
Proof (LP duality, checked numerically by ``certify``). The cvar LP is the maxmin LP with
the floor row L_r - z >= 0 replaced by e_r - eta + L_r >= 0 and the cost -w_r / alpha on
e_r. Put the maxmin duals on the same rows (pi on the cvar rows). Every constraint of the
maxmin dual holds again: eta's column has sum_r pi_r = 1 (eta is free: equality), each
T_r's reduced cost is the maxmin one, and e_r's reduced cost is pi_r - w_r / alpha <= 0 at
e_r = 0, its lower bound (a max problem): dual feasible exactly when pi_r <= w_r / alpha.
Complementary slackness: the cvar rows of F are tight (e = 0, L_r = eta); pi = 0 elsewhere.
So the pair is optimal, the value eta - 0 = z*.
Why this is the LP's answer (the tie-break): with pi_r < w_r / alpha strictly and the
budget's dual lambda > 0, complementary slackness with this exact dual pins every optimum:
e_r = 0 (nonzero reduced cost) and L_r = eta on F (pi_r > 0), every region above z* at the
bound its nonzero chain and bound duals make tight, and the budget spent, so eta = z*: the
optimum is unique, whatever phase 2 minimises. (Equality pi_r = w_r / alpha would allow
ties; the path asks for a relative margin and otherwise declines.)
With no-overtaking the floor F is a run of consecutive level-before groups (M is monotone
along them, so F = {M_r <= z*} is a down-set) whose chain rows are all tight (every member at
z*), and the cvar duals need not be max-min's: any pi with sum_r pi_r = 1 (eta's column),
0 <= pi_r <= w_r / alpha, whose pushes pi_r - lambda n_r a chain flow can balance (going up
the groups of F, the running sum of the pushes stays >= 0: a region whose share is over its
cap rests on the groups below it, whose regions take more of the tail). The second
candidate builds that pi top-down: each region starts at min(lambda n_r, cap_r); what a
group's regions cannot hold (their own excess and what came from above beyond the group's
room) passes to the group below; the room of each group is filled first from above. The
flows, bound and budget duals are then max-mean's for the pushes pi - lambda n
(policy_mean_point.py ``mean_duals`` with the weights pi), and ``certify`` judges the pair.
What is left at the lowest group means no such pi: the path declines.
When alpha is so large that no such pi exists (some floor regions' shares lambda n_r are over
w_r / alpha and the groups below cannot take the excess), the optimum lifts less of the
floor and this point is not optimal: the path declines and HiGHS solves the LP of record. The
cap case (a transfer bound holds the floor with money left, lambda = 0) also declines: the
least-spending optimum need not be the max-min point there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from models.data import RegionData
from models.fairness_base import option
from models.lp import LinearProgram
from optimizer.core.levels import shortfall_of
from optimizer.core.solution import Run
from optimizer.fast.certify import certify, primal_violation
from optimizer.fast.policy_mean_point import mean_duals
from optimizer.fast.policy_path import (
    BOUND_ROWS,
    KEPT_ROWS,
    floor_duals,
    policy_round,
    transfers_at,
)
from optimizer.fast.prefix_scan import segment_cumsum
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.waterfill import water_fill

CVAR_ROWS = (set(BOUND_ROWS + KEPT_ROWS) - {"floor_rows"}) | {"cvar_rows"}
MARGIN = 1e-9      # pi_r <= (1 - MARGIN) w_r / alpha: strict, so the optimum is unique
SOLVED_BY = ("envelope filling (the max-min point: the worst-off share alpha all at the floor z*), "
             "certified optimal for the cvar LP of record (optimizer/fast/policy_cvar.py)")


def cvar_supported(lay: dict[str, slice]) -> bool:
    rows = {k[5:] for k in lay if k.startswith("rows:")}
    cols = {k for k in lay if not k.startswith("rows:")}
    return rows <= CVAR_ROWS and {"budget", "cvar_rows"} <= rows \
        and {"transfer", "cvar_eta", "cvar_excess"} <= cols <= {"transfer", "cvar_eta", "cvar_excess", "shortfall"}


def policy_cvar_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram], hard: bool) -> Run | None:
    """The certified cvar Run with policy rows, or None (the LP path decides)."""
    alpha = float(option(data, "alpha"))
    if not 0.0 < alpha <= 1.0 or np.any(data.weight < 0):
        return None
    pr = policy_round(data, build, hard, "cvar", cvar_supported)
    if pr is None or not np.all(np.isfinite(pr.env.M)):
        return None
    lp, lay, env, build_seconds, t1 = pr.lp, pr.lay, pr.env, pr.build_seconds, pr.t1
    z = water_fill(data.own, data.need, env.M, np.full(data.n, -np.inf), env.hi, data.budget).level
    level = np.maximum(z, env.M)
    t = transfers_at(level, env, data)
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    x[lay["cvar_eta"]] = z
    if "shortfall" in lay:
        x[lay["shortfall"]] = shortfall_of(data.threshold, data.own, data.need, t)
    if primal_violation(lp, x) > 1e-9:      # e.g. a group row binds
        return None
    y = _cvar_duals(lp, lay, env, data, level, z, alpha)
    if y is None:
        return None
    cert = certify(lp, x, y)
    if not cert.ok:
        return None
    first = closed_form_solution(lp, x, y, z, time.perf_counter() - t1)
    first.algorithm = "envelope filling"
    info = {"solved_by": SOLVED_BY,
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, lay, build_seconds, info)


def _cvar_duals(lp: LinearProgram, lay: dict[str, slice], env, d: RegionData, level: np.ndarray, z: float,
                alpha: float) -> np.ndarray | None:
    """The max-min budget case's duals on the cvar rows (HiGHS's convention for the max
    problem), or None when the budget does not bind or a floor dual is not below w_r / alpha."""
    on_floor = {**lay, "rows:floor_rows": lay["rows:cvar_rows"]}
    cap = (1.0 - MARGIN) * d.weight / alpha
    for y in floor_duals(lp, on_floor, env, d, level, z):
        if y[lay["rows:budget"]][0] <= 0.0:      # the cap case (lambda = 0): declined
            continue
        pi = -y[lay["rows:cvar_rows"]]          # the min convention's floor duals lambda n_r >= 0
        if np.all(pi <= cap):
            return y
        lam = float(y[lay["rows:budget"]][0])
        pi = tail_shares(env.group, level == z, lam * d.need, cap) if env.chain else None
        if pi is None:
            return None
        y = mean_duals(lp, lay, env, replace(d, weight=pi), level, lam)
        if y is not None:
            y[lay["rows:cvar_rows"]] = -pi
        return y
    return None


def tail_shares(group: np.ndarray, floor: np.ndarray, base: np.ndarray, cap: np.ndarray) -> np.ndarray | None:
    """pi on the floor (0 elsewhere): each region min(base_r, cap_r), what exceeds a cap
    passed down the floor's groups and put into the room of the highest groups below it
    (the module docstring); None when the lowest group is left with some."""
    idx = np.flatnonzero(floor)
    g = group[idx]
    order = np.argsort(-g, kind="stable")          # groups descending
    idx, g = idx[order], g[order]
    own = np.minimum(base[idx], cap[idx])
    room = cap[idx] - own
    first = np.r_[True, g[1:] != g[:-1]]
    gid = np.cumsum(first) - 1
    excess = np.bincount(gid, weights=base[idx] - own)
    total_room = np.bincount(gid, weights=room)
    placed = np.zeros(excess.size)
    came = 0.0                                       # what comes down into the group
    for k in range(excess.size):                     # one scalar step per group (a Lindley recursion)
        placed[k] = min(came, total_room[k])
        came = came - placed[k] + excess[k]
    if came > 1e-12 * max(1.0, float(base[idx].sum())):
        return None
    want = placed[gid]                               # spread over the group's members in order
    before = segment_cumsum(room, gid) - room
    pi = np.zeros(base.size)
    pi[idx] = own + np.clip(want - before, 0.0, room)
    return pi
