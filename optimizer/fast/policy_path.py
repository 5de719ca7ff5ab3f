"""Max-min and leximin with policy rows: the single-region rows folded into bounds,
no-overtaking as a chain, certified on the LP of record.

Notation (solver units, models/core.py): T_r transfer, o_r own revenue, n_r need,
L_r = (o_r + T_r) / n_r. Every row of the LP of record with one entry, coefficient
a > 0 on T_r (hard threshold, hold-harmless, change-limit, per-capita,
equalization-rate, merger-guarantee; the scarcity caps are already column bounds) is a
bound on T_r, so with the column bounds

    lo_r <= T_r <= hi_r,    in levels  A_r = (o_r + lo_r)/n_r <= L_r <= B_r = (o_r + hi_r)/n_r.

No-overtaking (models/policies.py ``overtaking_pairs``) ranks the regions into groups g
of equal level before (ascending) and asks L_p <= L_q for every p of group g and q of
group g + 1. So L is monotone in the groups and every feasible allocation has

    L_r >= M_r = max(A_r, max{A_s : g(s) < g(r)}),   L_r <= U_r = min(B_r, min{B_s : g(s) > g(r)})

(the lower and upper envelopes; without no-overtaking M = A, U = B). The round is
feasible only if M <= U (else: None, the LP diagnoses). L(z) = max(z, M) is feasible
for z <= min B and is the least-cost allocation with every level >= z (any allocation
with min level >= z has L >= max(z, M)); its cost C(z) = sum_r n_r max(z, M_r) - o_r
increases in z, so

    maxmin:  z* = min(min_r B_r, C^{-1}(B))      (the water-filling with lower levels M),

and L(z*) is also the least-spending max-min optimum (the maxmin tie-break). Leximin:
L_r = clip(y, M_r, U_r) with spending(y) = B (or y = inf when every region reaches U):
every region is at the common level y, at a level it must keep (M_r > y) or at one it
can never pass (U_r < y); any other feasible allocation lowers a region at or below y or,
keeping all of them, spends more, so it is the unique leximin optimum (the progressive
filling of optimizer/fast/waterfill.py with M and U as bounds).

Duals (min -z convention; HiGHS reports their negatives for the max problem). Budget
case: lambda = 1 / sum{n_r : L_r = z*} on the budget row, floor dual lambda n_r on each
region at z*. Each region above z* costs lambda n_r a unit of level; its demand flows
down the active chain rows of its block (the regions at one level v > z*, a run of
groups) to the block's lowest group, whose members sit at their own lower bound (M_r =
A_r = v): per group the first member of the block (its representative) collects what
comes from the group above and passes it, with its own demand, to the representative
below; the others pass their own demand straight to it. The lowest members put the sum
on the row that sets lo_r (dual sum / (n_r a)) or, for a column bound, in the reduced
cost. Cap case (z* = B_r0 with money left): floor dual 1 on r0, -1/(n a) on the row
setting hi_r0. Group rows (group-level floors, group-transfer bounds) get dual 0: an
optimum of the relaxation that meets them is optimal with them. ``optimizer.fast.certify``
then checks the pair on the LP of record; on any failure (a group row violated, a row
family not folded here, a tie-breaking surprise) the caller solves the LP instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from models.policies import overtaking_pairs
from optimizer.core.levels import level_of, shortfall_of, transfer_to_level
from optimizer.core.solution import LPSolution, Run
from optimizer.fast.certify import TOL as CERTIFY_TOL
from optimizer.fast.certify import certify, primal_violation
from optimizer.fast.prefix_scan import segment_cumsum
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.waterfill import leximin_fill, water_fill

BOUND_ROWS = ("hold_harmless", "change_limit", "per_capita", "equalization_rate", "merger_guarantee")
# rows left as they are: the core's, the chain, and the group rows (dual 0, checked by certify)
KEPT_ROWS = ("budget", "threshold", "floor_rows", "no_overtaking", "group_transfer", "group_level")
SOLVED_BY = ("envelope filling (policy rows as transfer bounds, no-overtaking as a chain), certified "
             "optimal for the LP of record (optimizer/fast/policy_path.py)")


@dataclass(frozen=True)
class Envelope:
    """The folded bounds of one round (transfers, solver units) and their level envelopes."""
    lo: np.ndarray
    hi: np.ndarray
    lo_row: np.ndarray      # the row setting lo_r (-1: the column bound)
    lo_coef: np.ndarray     # that row's coefficient on T_r
    hi_row: np.ndarray
    hi_coef: np.ndarray
    group: np.ndarray       # rank of the level-before group, ascending (no chain: 0 .. n-1, unlinked)
    chain: bool
    M: np.ndarray           # lower envelope (level)
    U: np.ndarray           # upper envelope (level)


def fold_bounds(lp: LinearProgram, lay: dict[str, slice], d: RegionData, hard: bool
                ) -> tuple[np.ndarray, ...] | None:
    """(lo, hi, lo_row, lo_coef, hi_row, hi_coef): the column bounds of T tightened by every
    one-entry row; None when a row block has another form."""
    t = lay["transfer"]
    lo, hi = lp.col_lower[t].copy(), lp.col_upper[t].copy()
    lo_row, hi_row = np.full(d.n, -1), np.full(d.n, -1)
    lo_coef, hi_coef = np.ones(d.n), np.ones(d.n)
    csr = lp.A.tocsr()
    for name in BOUND_ROWS + (("threshold",) if hard else ()):
        sl = lay.get("rows:" + name)
        if sl is None or sl.stop == sl.start:
            continue
        sub = csr[sl]
        cols = sub.indices - t.start
        if np.any(np.diff(sub.indptr) != 1) or np.any(cols < 0) or np.any(cols >= d.n) or np.any(sub.data <= 0):
            return None
        rows = np.arange(sl.start, sl.stop)
        for bound, row, coef, side, better in ((lo, lo_row, lo_coef, lp.row_lower[sl], np.greater),
                                               (hi, hi_row, hi_coef, lp.row_upper[sl], np.less)):
            cand = side / sub.data
            win = better(cand, bound[cols])
            bound[cols[win]] = cand[win]
            row[cols[win]] = rows[win]
            coef[cols[win]] = sub.data[win]
    return lo, hi, lo_row, lo_coef, hi_row, hi_coef


def before_groups(d: RegionData) -> np.ndarray:
    """Rank of each region's level-before group, ascending: the grouping of
    ``overtaking_pairs`` (levels before rounded to 12 decimals, ties grouped)."""
    before = np.round(d.own / d.need, 12)
    return np.unique(before, return_inverse=True)[1].ravel()


def envelope(lp: LinearProgram, lay: dict[str, slice], d: RegionData, hard: bool) -> Envelope | None:
    folded = fold_bounds(lp, lay, d, hard)
    if folded is None:
        return None
    lo, hi = folded[0], folded[1]
    a, b = level_of(d.own, d.need, lo), level_of(d.own, d.need, hi)
    chain = "rows:no_overtaking" in lay
    group = before_groups(d) if chain else np.arange(d.n)
    M, U = a.copy(), b.copy()
    if chain:
        k = int(group.max()) + 1
        gmax, gmin = np.full(k, -np.inf), np.full(k, np.inf)
        np.maximum.at(gmax, group, a)
        np.minimum.at(gmin, group, b)
        below = np.r_[-np.inf, np.maximum.accumulate(gmax)[:-1]]          # max over lower groups
        above = np.r_[np.minimum.accumulate(gmin[::-1])[::-1][1:], np.inf]  # min over higher groups
        M, U = np.maximum(a, below[group]), np.minimum(b, above[group])
    # bounds that meet only after a round trip through transfers (the scarcity caps raised to
    # the least-spending split; a per-capita floor at prior + change limit) may cross by float
    # noise: within 1e-9 (HiGHS accepts 1e-7) that is equality, checked again by the certificate
    U = np.where((M > U) & (M <= U + 1e-9 * np.maximum(1.0, np.abs(M))), M, U)
    return Envelope(lo, hi, *folded[2:], group=group, chain=chain, M=M, U=U)


def transfers_at(level: np.ndarray, env: Envelope, d: RegionData) -> np.ndarray:
    """T for ``level``, exactly on a bound where the level is the bound's."""
    a, b = level_of(d.own, d.need, env.lo), level_of(d.own, d.need, env.hi)
    t = transfer_to_level(level, d.own, d.need)
    return np.where(level == a, env.lo, np.where(level == b, env.hi, t))


def put_duals(yy: np.ndarray, lay: dict[str, slice], row: np.ndarray, coef: np.ndarray, need: np.ndarray,
         amount: np.ndarray, idx: np.ndarray) -> None:
    """Row duals for ``amount`` (level units) on the rows setting a bound of regions ``idx``;
    a column bound takes it in its reduced cost."""
    on_row = row[idx] >= 0
    r = idx[on_row]
    yy[row[r]] += amount[on_row] / (need[r] * coef[r])


def chain_flows(level: np.ndarray, z: float, group: np.ndarray, need: np.ndarray, lam: float,
                d: RegionData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nu per no-overtaking row, absorbing regions, their amounts): each region above z
    sends lam n_r down its block (see the module docstring)."""
    n = level.shape[0]
    order = np.lexsort((np.arange(n), group, level))          # by level, then group, then index
    lv, gv = level[order], group[order]
    new_run = np.r_[True, (lv[1:] != lv[:-1]) | (gv[1:] != gv[:-1])]
    run_id = np.cumsum(new_run) - 1
    run_start = np.flatnonzero(new_run)
    rep = np.zeros(n, dtype=bool)
    rep[order[run_start]] = True
    run_need = np.bincount(run_id, weights=need[order])
    new_val = np.r_[True, lv[run_start[1:]] != lv[run_start[:-1]]]
    val_id = np.cumsum(new_val) - 1
    # need of the same level in higher groups: a suffix sum within each level (runs sorted by
    # (level, group)), accumulated within the level (prefix_scan.segment_cumsum)
    above = segment_cumsum(run_need[::-1], val_id[::-1])[::-1] - run_need
    lowest = new_val                                             # the lowest group holding that level
    region_run = np.empty(n, dtype=np.int64)
    region_run[order] = run_id
    his, los = overtaking_pairs(d)
    same = (level[his] == level[los]) & (level[los] > z)
    carry = same & rep[los]
    send = np.where(rep[his], need[his] + above[region_run[his]], need[his])
    nu = np.where(carry, lam * send, 0.0)
    high = level > z
    absorb = high & rep & lowest[region_run]
    idx_rep = np.flatnonzero(absorb)
    others = np.flatnonzero(high & ~rep & lowest[region_run])
    idx = np.r_[idx_rep, others]
    amount = np.r_[lam * (need[idx_rep] + above[region_run[idx_rep]]), lam * need[others]]
    return nu, idx, amount


def floor_duals(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
                z: float) -> list[np.ndarray]:
    """Candidate duals (HiGHS convention for the max problem) of the max-min point."""
    out = []
    at_z = level == z
    if at_z.any():                                   # (a) the budget binds
        yy = np.zeros(lp.num_row)
        lam = 1.0 / float(d.need[at_z].sum())
        yy[lay["rows:budget"]] = -lam
        fl = np.zeros(d.n)
        fl[at_z] = lam * d.need[at_z]
        yy[lay["rows:floor_rows"]] = fl
        if env.chain:
            nu, idx, amount = chain_flows(level, z, env.group, d.need, lam, d)
            yy[lay["rows:no_overtaking"]] = -nu
        else:
            idx = np.flatnonzero(~at_z)
            amount = lam * d.need[idx]
        put_duals(yy, lay, env.lo_row, env.lo_coef, d.need, amount, idx)
        out.append(-yy)
    b = level_of(d.own, d.need, env.hi)
    capped = np.flatnonzero(at_z & (b == z))
    if capped.size:                                  # (b) an upper bound holds the floor
        yy = np.zeros(lp.num_row)
        r0 = capped[:1]
        yy[lay["rows:floor_rows"].start + int(r0[0])] = 1.0
        put_duals(yy, lay, env.hi_row, env.hi_coef, d.need, np.array([-1.0]), r0)
        out.append(-yy)
    return out


def solution_x(lp: LinearProgram, lay: dict[str, slice], d: RegionData, t: np.ndarray, z: float) -> np.ndarray:
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    x[lay["floor"]] = z
    if "shortfall" in lay:
        x[lay["shortfall"]] = shortfall_of(d.threshold, d.own, d.need, t)
    return x


def supported(lay: dict[str, slice]) -> bool:
    rows = {k[5:] for k in lay if k.startswith("rows:")}
    cols = set(k for k in lay if not k.startswith("rows:"))
    return rows <= set(BOUND_ROWS + KEPT_ROWS) and cols <= {"transfer", "floor", "shortfall"} \
        and {"budget", "floor_rows"} <= rows


def record_lp(data: RegionData, build: Callable[[RegionData, str], LinearProgram], objective: str
              ) -> tuple[LinearProgram, float]:
    """(the objective's LP of record for a policy round's certified path, seconds to build it):
    hard thresholds, unless the round is scarce (thresholds as caps: the soft core is the record)."""
    scarce = bool(data.options.get("threshold_caps"))
    t0 = time.perf_counter()
    lp = build(data if scarce else replace(data, options={**data.options, "soft_thresholds": False}), objective)
    return lp, time.perf_counter() - t0


def least_point_fits(env: Envelope | None, d: RegionData) -> bool:
    """The envelopes hold together (M <= U) and their least point fits the budget."""
    return env is not None and not np.any(env.M > env.U) and \
        not float(transfer_to_level(env.M, d.own, d.need).sum()) > d.budget * (1 + 1e-12) + 1e-12


@dataclass
class PolicyRound:
    """A policy round set up for a certified path: its LP of record, layout and envelopes;
    ``t1`` is when the path's own work began (its solve seconds count from there)."""
    lp: LinearProgram
    lay: dict[str, slice]
    env: Envelope
    build_seconds: float
    t1: float


def policy_round(data: RegionData, build: Callable[[RegionData, str], LinearProgram], hard: bool,
                 objective: str, supports: Callable[[dict[str, slice]], bool]) -> PolicyRound | None:
    """The set-up every envelope path shares: the LP of record, the envelopes; None where the
    thresholds are soft without caps, the LP has rows the path does not ``supports``, or the
    envelopes' least point does not fit the budget."""
    scarce = bool(data.options.get("threshold_caps"))
    if not (hard or scarce):
        return None
    lp, build_seconds = record_lp(data, build, objective)
    t1 = time.perf_counter()
    lay = lp.layout()
    if not supports(lay):
        return None
    env = envelope(lp, lay, data, hard and not scarce)
    if not least_point_fits(env, data):
        return None
    return PolicyRound(lp, lay, env, build_seconds, t1)


def policy_run(data: RegionData, objective: str, build: Callable[[RegionData, str], LinearProgram],
               hard: bool) -> Run | None:
    """maxmin (and leximin) with policy rows by the envelope filling, certified on the maxmin
    LP of record; None when it does not apply or the certificate fails."""
    pr = policy_round(data, build, hard, "maxmin", supported) if objective in ("maxmin", "leximin") else None
    if pr is None:
        return None
    lp, lay, env, build_seconds, t1 = pr.lp, pr.lay, pr.env, pr.build_seconds, pr.t1
    scarce = bool(data.options.get("threshold_caps"))
    found = _maxmin_solution(lp, lay, env, data, t1)
    if found is None:
        return None
    first, cert = found
    z = float(first.objective)
    info: dict[str, Any] = {"solved_by": SOLVED_BY, "certificate": cert}
    if objective == "maxmin" and not scarce:
        return Run(first, None, lay, build_seconds, info)
    second, y = _leximin_solution(lp, lay, env, data, t1)
    if second is None:
        return None
    info |= {"leximin_stages": 1, "leximin_floors": [z, y],
             "tie_break": ("scarcity: the leximin split among the max-min optima" if objective == "maxmin"
                           else "none needed: the leximin levels are unique")}
    return Run(first, second, lay, build_seconds, info)


def _maxmin_solution(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData,
                     t1: float) -> tuple[LPSolution, dict[str, float]] | None:
    own, need = d.own, d.need
    wf = water_fill(own, need, env.M, np.full(d.n, -np.inf), env.hi, d.budget)
    z = wf.level
    level = np.maximum(z, env.M)
    x = solution_x(lp, lay, d, transfers_at(level, env, d), z)
    if primal_violation(lp, x) > CERTIFY_TOL:   # e.g. a group row binds: no dual can certify it
        return None
    for y in floor_duals(lp, lay, env, d, level, z):
        cert = certify(lp, x, y)
        if cert.ok:
            break
    else:
        return None
    sol = closed_form_solution(lp, x, y, z, time.perf_counter() - t1)
    sol.algorithm = "envelope filling"
    return sol, {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}


def _leximin_solution(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData,
                      t1: float) -> tuple[LPSolution | None, float]:
    """The progressive filling clip(y, M, U); checked feasible for the LP of record."""
    own, need = d.own, d.need
    t_hi = np.where(np.isfinite(env.U), transfer_to_level(env.U, own, need), np.inf)
    _, y = leximin_fill(own, need, env.M, np.full(d.n, -np.inf), t_hi, d.budget)
    level = np.clip(y, env.M, env.U)
    t = transfers_at(level, env, d)
    x = solution_x(lp, lay, d, t, float(level.min()))
    if primal_violation(lp, x) > 1e-9:
        return None, y
    return LPSolution("optimal", float("nan"), x, lp.A @ x, np.zeros(0), np.zeros(0),
                      time.perf_counter() - t1, 0, "progressive filling"), y


def least_point(lp: LinearProgram, d: RegionData) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """min sum_r T_r over the rows of ``lp`` (the policy diagnosis's LP with the budget row
    open, or the min-cost objective's LP of record, whose budget row then has dual 0):
    T_r = n_r M_r - o_r, the unique least point, certified with the duals of the module
    docstring at price 1 (every region's unit of level costs n_r, carried down its block to
    the bound that holds it). (T, x, y) or None when it does not apply or certify fails
    (a least point over the budget, a group row it violates: the LP decides).
    Soft thresholds (the policy diagnosis's least forced spending: shortfall columns of cost
    0, rows L_r + s_r >= theta_r): those rows restrict no transfer, so the least point is
    the envelopes' without the thresholds, s_r = max(0, theta_r - L_r), the threshold rows'
    duals 0 (each s_r's reduced cost is then its cost, 0)."""
    lay = lp.layout()
    rows = {k[5:] for k in lay if k.startswith("rows:")}
    cols = set(k for k in lay if not k.startswith("rows:"))
    soft = cols == {"transfer", "shortfall"} and not np.any(lp.cost[lay["shortfall"]])
    if lp.maximize or not rows <= set(BOUND_ROWS + KEPT_ROWS) - {"floor_rows"} or not (
            cols == {"transfer"} or soft):
        return None
    env = envelope(lp, lay, d, "rows:threshold" in lay and not soft)
    if env is None or np.any(env.M > env.U) or not np.all(np.isfinite(env.M)):
        return None
    t = transfers_at(env.M, env, d)
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    if soft:
        x[lay["shortfall"]] = shortfall_of(d.threshold, d.own, d.need, t)
    y = np.zeros(lp.num_row)
    if env.chain:
        nu, idx, amount = chain_flows(env.M, -np.inf, env.group, d.need, 1.0, d)
        y[lay["rows:no_overtaking"]] = -nu
    else:
        idx, amount = np.arange(d.n), d.need.copy()
    put_duals(y, lay, env.lo_row, env.lo_coef, d.need, amount, idx)
    if not certify(lp, x, y).ok:
        return None
    return t, x, y


def least_spending(lp: LinearProgram, d: RegionData) -> tuple[float, np.ndarray] | None:
    """(sum T, T) of ``least_point`` (the policy diagnosis's required budget)."""
    found = least_point(lp, d)
    return None if found is None else (float(found[0].sum()), found[0])
