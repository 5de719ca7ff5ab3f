"""min-range with policy rows: the envelope filling stopped at min(z*, M0), certified on
the min-range LP of record.

The LP of record (models/spread.py ``min_range``, solver units):

    min u - l   s.t.  L_r - u <= 0 (range_upper),  L_r - l >= 0 (range_lower),  u, l free,
                      the core (budget; hard thresholds, or under scarcity soft thresholds
                      with costless shortfalls and capped t_max), the policy rows;

then the least total transfer among its optima (the tie-break of engine/highs.py).
As in optimizer/fast/policy_path.py every one-entry policy row (and a hard threshold) is a
bound on T_r, no-overtaking makes the levels monotone in the level-before groups, and the
feasible levels lie between the envelopes, M_r <= L_r <= U_r, with L(z) = max(z, M)
feasible for every z <= z* (z* = the envelope filling's max-min value, min_r U_r >= z*).

Claim. With M0 = max_r M_r and m* = min(z*, M0), L* = max(m*, M) is optimal, the optimum is
R* = M0 - m*, and L* is the least-spending optimum.
Proof. Every feasible L has u >= max_r L_r >= max_r M_r = M0 and l <= min_r L_r <= z* (z* is
the largest min level of any feasible allocation; a group row only shrinks the feasible set),
so u - l >= max(0, M0 - z*) = M0 - m*. L* is feasible (m* <= z*) with max L* = M0 and
min L* = m* (z* >= min M, else the round is infeasible), so it attains the bound. Any optimum
has min L = max L - R* >= M0 - R* = m* and L >= M, so L >= L* componentwise and it spends at
least sum_r n_r L*_r - o_r: L* is the least-spending optimum (the tie-break's answer), and
with group rows, when L* meets them, the same holds on the smaller set.

Duals (HiGHS's convention for a min problem is the min convention; ``certify`` checks them):
(c) range 0 (m* = M0): -1 on the range_upper row and +1 on the range_lower row of one
    region at M0; every other dual 0.
(a) budget binds (m* = z* < M0, at the water level): lambda = 1 / sum{n_r : L*_r = z*}, -lambda
    on the budget row, lambda n_r on the range_lower row of each region at z*, -1 on the
    range_upper row of one region `top` at M0. The reduced cost of T_r is then lambda n_r a unit
    of level for each region above z*, plus 1 for `top`: exactly the maxmin floor duals' demand
    (policy_path.floor_duals) with one more unit at `top`, carried down the no-overtaking chain
    (``chain_flows`` is linear in the demand: called with the demand vector as its "need" and
    lambda = 1) to the rows that set the lower bounds holding the block.
(b) a transfer cap holds the minimum (z* = B_r0 with money left): +1 on r0's range_lower row,
    -1 (level units) on the row setting hi_r0 and the unit demand of `top` carried as in (a).
Group rows (group floors, group transfer bounds) get dual 0; they are checked by the
certificate. Anything the certificate rejects, or a round outside this (soft thresholds under
shortfall-first, a row family not folded, contributions), returns None: the LP decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.levels import level_of, shortfall_of
from optimizer.core.solution import Run
from optimizer.fast.certify import certify
from optimizer.fast.policy_path import (
    BOUND_ROWS,
    KEPT_ROWS,
    Envelope,
    chain_flows,
    policy_round,
    put_duals,
    transfers_at,
)
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.waterfill import water_fill

RANGE_ROWS = (set(BOUND_ROWS + KEPT_ROWS) - {"floor_rows"}) | {"range_upper", "range_lower"}
SOLVED_BY = ("envelope filling to min(z*, max lower envelope) (policy rows as transfer bounds, no-overtaking "
             "as a chain), certified optimal for the LP of record (optimizer/fast/policy_range.py)")


def range_supported(lay: dict[str, slice]) -> bool:
    rows = {k[5:] for k in lay if k.startswith("rows:")}
    cols = {k for k in lay if not k.startswith("rows:")}
    return rows <= RANGE_ROWS and {"budget", "range_upper", "range_lower"} <= rows \
        and {"transfer", "range_hi", "range_lo"} <= cols <= {"transfer", "range_hi", "range_lo", "shortfall"}


def range_levels(env: Envelope, d: RegionData) -> tuple[np.ndarray, float, float]:
    """(L* = max(m*, M), m*, z*) of the module docstring."""
    z = water_fill(d.own, d.need, env.M, np.full(d.n, -np.inf), env.hi, d.budget).level
    # (a budget exactly the least point's spending can fill to a z an ulp below min M: the
    # least level is then min M itself, where some region sits; the certificate decides)
    m_star = min(max(z, float(env.M.min())), float(env.M.max()))
    return np.maximum(m_star, env.M), m_star, z


def range_duals(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
                m_star: float) -> list[np.ndarray]:
    """Candidate duals (c), (a), (b) of the module docstring, in the min convention."""
    upper, lower = lay["rows:range_upper"].start, lay["rows:range_lower"].start
    top = int(np.argmax(level))
    if level[top] == m_star:                                     # (c) range 0
        y = np.zeros(lp.num_row)
        y[upper + top], y[lower + top] = -1.0, 1.0
        return [y]
    out = []
    at_z = level == m_star
    unit = np.zeros(d.n)
    unit[top] = 1.0
    lam = 1.0 / float(d.need[at_z].sum())
    y = np.zeros(lp.num_row)                                     # (a) the budget binds
    y[lay["rows:budget"]] = -lam
    y[lower + np.flatnonzero(at_z)] = lam * d.need[at_z]
    _carry(y, lay, env, d, level, m_star, np.where(at_z, 0.0, lam * d.need) + unit)
    y[upper + top] = -1.0
    out.append(y)
    capped = np.flatnonzero(at_z & (level_of(d.own, d.need, env.hi) == m_star))
    if capped.size:                                              # (b) a cap holds the minimum
        y = np.zeros(lp.num_row)
        r0 = capped[:1]
        y[lower + int(r0[0])] = 1.0
        put_duals(y, lay, env.hi_row, env.hi_coef, d.need, np.array([-1.0]), r0)
        _carry(y, lay, env, d, level, m_star, unit)
        y[upper + top] = -1.0
        out.append(y)
    return out


def _carry(y: np.ndarray, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray, z: float,
           demand: np.ndarray) -> None:
    """Put ``demand`` (level units, regions above z) on the rows holding their lower bounds,
    down the no-overtaking chain when there is one."""
    if env.chain:
        nu, idx, amount = chain_flows(level, z, env.group, demand, 1.0, d)
        y[lay["rows:no_overtaking"]] = -nu
    else:
        idx = np.flatnonzero((level > z) & (demand != 0))
        amount = demand[idx]
    put_duals(y, lay, env.lo_row, env.lo_coef, d.need, amount, idx)


def policy_range_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram], hard: bool) -> Run | None:
    """The certified min-range Run with policy rows, or None (the LP path decides)."""
    pr = policy_round(data, build, hard, "min-range", range_supported)
    if pr is None or not np.all(np.isfinite(pr.env.M)):
        return None
    lp, lay, env, build_seconds, t1 = pr.lp, pr.lay, pr.env, pr.build_seconds, pr.t1
    level, m_star, _ = range_levels(env, data)
    t = transfers_at(level, env, data)
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    if "shortfall" in lay:
        x[lay["shortfall"]] = shortfall_of(data.threshold, data.own, data.need, t)
    x[lay["range_hi"]], x[lay["range_lo"]] = float(level.max()), float(level.min())
    for y in range_duals(lp, lay, env, data, level, m_star):
        cert = certify(lp, x, y)
        if cert.ok:
            break
    else:
        return None
    first = closed_form_solution(lp, x, y, float(level.max() - level.min()), time.perf_counter() - t1)
    first.algorithm = "envelope filling"
    info = {"solved_by": SOLVED_BY,
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, lay, build_seconds, info)
