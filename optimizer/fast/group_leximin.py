"""Leximin with policy rows and group rows that bind: the stages of the leximin driver
(optimizer/engine/drivers/leximin.py), each solved by the group-floor reduction
(optimizer/fast/group_floors.py) and certified on that stage's LP of record.

Stage k's LP of record is the leximin LP (max z s.t. L_r >= z, budget, policy rows, chain,
group rows) with every region fixed so far off its floor row and held at its level h_r,
written as the column bound T_r >= n_r h_r - o_r (the driver writes the same set as a row;
a hold and a bound are one constraint). The fixed regions enter the reduction as regions
without z: a non-member's least level is max(z, M_q, m_q) when free and max(M_q, m_q)
when fixed (M the envelope of the raised bounds, which the chain carries up), so the small
LP is that of group_floors.py with z cut only on the free regions' pieces.

Which regions to fix (a proof, with the certificate's tolerance accounted for). The leximin
optimum is optimal for every stage's LP (standard: it keeps the fixed levels and its least free
level is the stage's z). Complementary slackness ("a bound with y != 0 is active in every
optimum") holds only for an exactly optimal dual; the certified pair is optimal within a
tolerance, and a dual of 5e-16 read as non-zero fixed three regions up to 0.06 below their
leximin level (the pinned hypothesis example). Its quantitative form
(optimizer/fast/slack_bound.py): for every optimum x' of the stage's LP,
sum_i |y_i| s_i(x') <= eps, eps computed from the certified pair (its complementary-slackness
residual, the wrong-sign duals times a box that holds every optimum, the float rounding). A
bound whose dual, in level units (|y| |a| need: the level change per unit of the bound's
slack), is >= eps / LEVEL_TOL therefore holds its region within LEVEL_TOL of that bound in every
optimum: an anchor (a free region's floor row -- z is the same in every optimum --, its transfer
bound, a one-entry policy or threshold row). No-overtaking rows of that weight join regions
whose levels differ by at most their slack; since one optimum satisfies the inequality for all
rows at once, every region of a component joined to an anchor by such rows sits within
LEVEL_TOL of its level in the certified point (which satisfies it too). Those regions are fixed
at their certified level, nothing else. LEVEL_TOL = 1e-7 is HiGHS's primal feasibility
tolerance in level units: what the LP stages' floors are good to. The floor duals sum to 1, so
a stage with eps < LEVEL_TOL / n_free fixes a region; a stage that fixes nothing hands the
round to the LP stages.

A degenerate stage (z* equal to the previous floor: a region at that floor the previous stage
could not prove, e.g. 9 small-need regions at 1e5 whose proof needed a spare below HiGHS's dual
noise) needs no rule of its own: the leximin optimum is still optimal for this stage's LP, so
its z* is that floor and a certified pair for it proves, by the same bound, which free regions
every optimum holds there (the ones blocking z: their floor duals now carry the whole unit,
1e5x the weight they had among 60,000). What it needs is a certificate: the routing
(group_duals.route, ``least``) lets a free region at z hold its own demand on its floor row and
each fixed region on its hold, and passes down a chain only the least admissible flow; it used to
send a free region's demand down the block to a fixed region's hold, so z's column was unpriced
and the stage refused. Any assignment of a demand to an active row or bound is a dual; certify
judges the pair, and a greedy one that starves a negative demand below is followed by the
previous routings. The least flows also keep eps small: a 60,000-region block summed its
demands into flows of 4e4 whose float rounding (1e-10 a reduced cost) times the spare budget was
eps. That spare is the budget above the transfers every optimum reaches: a free region's at
level z - LEVEL_TOL (every optimum has every free level >= z*, and z* >= the certified point's
z less what its violations, within certify's tolerance, allow), not its hold-harmless bound
(``optimum_box``'s ``floor``).

Two repairs of the point and duals, each checked by certify on the LP of record: a member
snapped to a kink a hair (1e-12) below the small LP's z makes that kink the floor, every free
level in between lowered to it (``lowered``: a nondecreasing map, so the chain holds, spending
falls, bounds hold); and when no routing certifies the first duals, the small LP's duals
re-solved with every tangent the loop added, refined by one least-squares step
(``resolved_duals``).

The last stage's point is the leximin vector: every stage keeps the fixed levels, and a point
with every level at least the leximin optimum's and one above it would be leximin-better.
Any refused certificate, a stage that fixes nothing or MAX_STAGES stages: None (the caller
runs the LP stages).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from models.data import RegionData
from models.lp import LinearProgram
from models.policies import overtaking_pairs
from optimizer.core.levels import level_of, transfer_to_level
from optimizer.core.solution import LPSolution
from optimizer.fast.certify import certify
from optimizer.fast.group_cuts import SolveLP, cut_loop, with_cuts
from optimizer.fast.group_duals import close, record_duals
from optimizer.fast.group_floors import SNAP, GroupPoint, group_row_slices, group_stage, record_pair
from optimizer.fast.policy_path import BOUND_ROWS, Envelope, envelope, solution_x, supported, transfers_at
from optimizer.fast.slack_bound import Box, SlackBound, slack_bound
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.stage_verify import refined, verified
from optimizer.fast.waterfill import water_fill

MAX_STAGES = 200
# A fixed region is held exactly at its level in the stage's certified point (the LP stages
# hold theirs 1e-9 below, optimizer/engine/drivers/leximin.py HOLD_TOL): that point is exact
# (levels cleaned onto bounds, kinks and ties), so it stays feasible for the next stage; a hold
# 1e-9 below split the block of equal levels it belonged to and left a flow unrouted (the
# certificate failed at 1e5 regions).
PRIMAL_TOL = 1e-7    # certify's tolerance: the last point on the LP of record
# the cut loop adds tangents until e_s is within this (relative) of F_s: the maxmin default 1e-9
# of a sum over 1e5 regions let a member stop 3e-7 past a kink (a fixed region's hold), which
# lifts that region off its hold and leaves its demand unrouted (the certificate failed)
CUT_TOL = 1e-13
# a region is fixed when every optimum of the stage holds its level within this of the certified
# point's (HiGHS's primal feasibility tolerance, in level units: what the LP stages' floors are
# good to; optimizer/engine/drivers/leximin.py)
LEVEL_TOL = 1e-7
SOLVED_BY = ("group leximin: each stage's max-min by the group-floor small LP, certified optimal for "
             "that stage's LP of record; the regions every optimum holds fixed from the certified duals "
             "(optimizer/fast/group_leximin.py)")


@dataclass
class Stages:
    """The stages so far: fixed levels, floors, regions fixed per stage, worst certificate."""
    free: np.ndarray
    held: np.ndarray
    floors: list[float] = field(default_factory=list)
    fixed: list[int] = field(default_factory=list)
    primal: float = 0.0
    dual: float = 0.0


def stage_lp(lp: LinearProgram, lay: dict[str, slice], d: RegionData, st: Stages) -> LinearProgram:
    """The stage's LP of record: the fixed regions off their floor rows, held at their level."""
    fixed = np.flatnonzero(~st.free)
    if fixed.shape[0] == 0:
        return lp
    t, fl = lay["transfer"], lay["rows:floor_rows"]
    col_lower, row_lower = lp.col_lower.copy(), lp.row_lower.copy()
    hold = transfer_to_level(st.held[fixed], d.own[fixed], d.need[fixed])
    col_lower[t.start + fixed] = np.maximum(col_lower[t.start + fixed], hold)
    row_lower[fl.start + fixed] = -np.inf
    return replace(lp, col_lower=col_lower, row_lower=row_lower)


def optimum_box(lp: LinearProgram, lay: dict[str, slice], x: np.ndarray, floor: np.ndarray | None = None) -> Box:
    """Where every optimum of a stage's LP lies: the transfers jointly within the budget row
    (each at least its lower bound and ``floor``, their coefficient-weighted sum at most the
    budget), z within 1 of the certified point's (every optimum has z = z*, and the certified gap
    is far below 1). Infinite widths where no such bound exists (then eps is infinite: nothing
    fixed). ``floor``: the free regions' transfers at level z - LEVEL_TOL (every optimum holds
    them at z* or above; ``floor_transfers``): the budget left above them is the least spending's
    spare, not the whole budget above the hold-harmless bounds (14,102 at 1e5 stage 2, which
    turned a 1e-12 reduced-cost noise into eps 2e-8)."""
    t, zc = lay["transfer"], lay["floor"].start
    w = np.maximum(lp.col_upper - x, x - lp.col_lower)
    w[zc] = 1.0
    b = lay["rows:budget"].start
    row = lp.A.tocsr()[b:b + 1]
    a = np.zeros(lp.num_col)
    a[row.indices] = row.data
    at, lt = a[t], lp.col_lower[t] if floor is None else np.maximum(lp.col_lower[t], floor)
    joint = np.arange(t.start, t.stop)
    if not (np.all(at > 0) and np.all(np.isfinite(lt)) and np.isfinite(lp.row_upper[b])):
        return Box(w, joint[:0], at[:0], lt[:0], 0.0)
    return Box(w, joint, at, lt, max(0.0, float(lp.row_upper[b] - at @ lt)))


def floor_transfers(lay: dict[str, slice], d: RegionData, x: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Per region, a transfer every optimum of the stage reaches: a free region's at level
    z - LEVEL_TOL (every optimum has z* and each free level >= z*; the certified point's z is
    within certify's tolerance of z*, LEVEL_TOL in level units), -inf for a fixed one."""
    z = float(x[lay["floor"].start])
    return np.where(free, transfer_to_level(np.full(d.n, z - LEVEL_TOL), d.own, d.need), -np.inf)


def level_weights(lp: LinearProgram, lay: dict[str, slice], d: RegionData, sb: SlackBound) -> np.ndarray:
    """Per region, the largest weight in level units of a bound that holds its level alone: its
    floor row (z is the same in every optimum), its transfer bounds, a one-entry policy or
    threshold row. A weight e means every optimum sits within eps / e (levels) of that bound
    (optimizer/fast/slack_bound.py): a row with coefficient a on T_r moves by |a| need_r per
    unit of level."""
    t = lay["transfer"]
    csr = lp.A.tocsr()
    csr.sort_indices()          # a floor row's first entry is its transfer (z's column is after)
    weight = sb.col_weight[t] * d.need
    for name in ("floor_rows", *BOUND_ROWS, "threshold"):
        sl = lay.get("rows:" + name)
        if sl is None or sl.stop == sl.start:
            continue
        sub = csr[sl]
        rows = np.flatnonzero(np.diff(sub.indptr) >= 1)
        first = sub.indptr[rows]
        cols = sub.indices[first] - t.start
        one = (np.diff(sub.indptr)[rows] == 1) if name != "floor_rows" else cols >= 0
        keep = one & (cols >= 0) & (cols < d.n)
        w = sb.row_weight[sl][rows] * np.abs(sub.data[first]) * d.need[np.clip(cols, 0, d.n - 1)]
        np.maximum.at(weight, cols[keep], w[keep])
    return weight


def pinned(lp: LinearProgram, lay: dict[str, slice], d: RegionData, x: np.ndarray, y: np.ndarray,
           free: np.ndarray) -> np.ndarray:
    """The free regions whose level every optimum of ``lp`` holds within LEVEL_TOL of the
    certified point's: anchored by a bound of level weight >= eps / LEVEL_TOL, or joined to such
    an anchor by no-overtaking rows of that weight (a component's total slack is <= LEVEL_TOL:
    optimizer/fast/slack_bound.py)."""
    sb = slack_bound(lp, x, y, optimum_box(lp, lay, x, floor_transfers(lay, d, x, free)))
    if not np.isfinite(sb.eps):
        return np.zeros(d.n, dtype=bool)
    need = sb.eps / LEVEL_TOL
    anchored = level_weights(lp, lay, d, sb) >= need
    sl = lay.get("rows:no_overtaking")
    if sl is None or sl.stop == sl.start:
        return free & anchored
    his, los = overtaking_pairs(d)
    tight = sb.row_weight[sl] * chain_units(lp, lay, d) >= need
    graph = sp.coo_array((np.ones(int(tight.sum())), (his[tight], los[tight])), shape=(d.n, d.n))
    _, label = connected_components(graph, directed=False)
    hit = np.zeros(int(label.max()) + 1, dtype=bool)
    hit[label[anchored]] = True
    return free & hit[label]


def chain_units(lp: LinearProgram, lay: dict[str, slice], d: RegionData) -> np.ndarray:
    """Per no-overtaking row, the least |a_ij| need_j over its entries: the row's slack per unit
    of level gap (1 for the rows of models/policies.py, written in level units)."""
    sub = lp.A.tocsr()[lay["rows:no_overtaking"]]
    units = np.abs(sub.data) * d.need[sub.indices - lay["transfer"].start]
    return np.minimum.reduceat(units, sub.indptr[:-1]) if units.shape[0] else units


def stage(lp: LinearProgram, lay: dict[str, slice], d: RegionData, st: Stages, z0: float, solve: SolveLP
          ) -> tuple[LinearProgram, np.ndarray, np.ndarray, GroupPoint] | None:
    """(the stage's LP of record, x, y, the group point) certified, or None."""
    lp_k = stage_lp(lp, lay, d, st)
    env = envelope(lp_k, lay, d, "rows:threshold" in lay)
    if env is None or np.any(env.M > env.U):
        return None
    gp = group_stage(lp_k, lay, env, d, z0, solve, st.free, CUT_TOL)
    if gp is None:
        return None
    y = paired(lp_k, lay, env, d, st, gp, gp.yy)
    if y is None and st.floors:
        y = paired(lp_k, lay, env, d, st, gp, resolved_duals(lp_k, lay, d, gp, solve))
    return None if y is None else (lp_k, gp.x, y, gp)


def resolved_duals(lp_k: LinearProgram, lay: dict[str, slice], d: RegionData, gp: GroupPoint, solve: SolveLP
                   ) -> np.ndarray:
    """The budget's and group rows' duals of the small LP solved again with every tangent the
    cut loop added (warm), one least-squares step zeroing the reduced costs of its interior
    columns (stage_verify.refined): where the group rows' duals are 1e6 (1e5 stage 5) the first
    solve's duals priced the block at z at 1.025 (z's column needs 1) and no routing certified."""
    sol = cut_loop(gp.small, gp.red, gp.cuts, solve)
    if sol is None:
        return gp.yy
    y = refined(with_cuts(gp.small, gp.cuts), sol.x, sol.row_dual)
    rows = np.concatenate([np.arange(s.start, s.stop) for s in group_row_slices(lay)])
    return record_duals(lp_k, lay, d, y, rows, gp.small.num_row)


def paired(lp_k: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, st: Stages, gp: GroupPoint,
           yy: np.ndarray) -> np.ndarray | None:
    """The certified dual of the stage's point (``gp``'s x and z set to its least free level), or
    None. The fixed regions and the free ones at z first settle their own demand where they can
    (group_duals.route's ``least``), then only the fixed ones (``held``), then the full routing."""
    x, level, z, free = gp.x, gp.level, gp.z, gp.free
    least = float(level[free].min())
    if least < z and z - least <= SNAP * max(1.0, abs(z)):
        x, level = lowered(lp_k, lay, env, d, gp, least)
    if least != z:   # the small LP's z is HiGHS's, to its tolerance; the point's own least free level is attained
        z = gp.z = least
        x[lay["floor"]] = z
    for held, greedy in ((~free, True), (~free, False), (None, False)) if st.floors else ((None, False),):
        y = record_pair(lp_k, lay, env, d, level, close(level, z) & free, yy.copy(), held, greedy)
        cert = certify(lp_k, x, y)
        if cert.ok:
            st.primal, st.dual = max(st.primal, cert.primal_violation), max(st.dual, cert.dual_violation)
            return y
    return None


def lowered(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, gp: GroupPoint, least: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """(x, levels) with every free level in [least, z] lowered to max(least, its least level M): a
    member snapped to a kink of F_s (group_floors.full_levels) a hair below the small LP's z
    (HiGHS's tolerance, 1.1e-12 at 1e4) is then the stage's floor, with the regions at z tied to it
    (else they sit 1e-12 above it, not at it, and their demand has no floor row). The map is
    nondecreasing (the chain holds), spends less, keeps the bounds; the group rows move by at most
    that hair times the members' need (certify judges)."""
    level = gp.level.copy()
    down = gp.free & (level <= gp.z)
    level[down] = np.maximum(least, env.M[down])
    gp.level = level
    x = solution_x(lp, lay, d, transfers_at(level, env, d), least)
    gp.x = x
    return x, level


def group_leximin(lp: LinearProgram, lay: dict[str, slice], d: RegionData, solve: SolveLP
                  ) -> tuple[LPSolution, LPSolution, dict[str, Any]] | None:
    """(stage 1's certified solution of ``lp``, the leximin point, the summary's notes) of a
    round whose group rows bind (``lp`` the leximin LP of record, hard thresholds); None when
    it does not apply or a stage is not certified (the caller runs the LP stages)."""
    t0 = time.perf_counter()
    if not supported(lay) or not group_row_slices(lay) or "floor" not in lay:
        return None
    st = Stages(np.ones(d.n, dtype=bool), np.zeros(d.n))
    env = envelope(lp, lay, d, "rows:threshold" in lay)
    if env is None or np.any(env.M > env.U):
        return None
    z = float(water_fill(d.own, d.need, env.M, np.full(d.n, -np.inf), env.hi, d.budget).level)
    first = x = None
    while st.free.any() and len(st.floors) < MAX_STAGES:
        found = stage(lp, lay, d, st, z, solve)
        if found is None:
            return None
        lp_k, x, y, gp = found
        z = gp.z
        if first is None:
            first = closed_form_solution(lp, x, y, z, time.perf_counter() - t0)
            first.algorithm = "group floors"
        fix = pinned(lp_k, lay, d, x, y, st.free)
        # the verification proves regions above z too, but fixing those changed the later stages'
        # floors and a later stage's certificate was refused at 1e4 (notes-lexverify): at z only
        fix |= verified(gp, d.need, gp.M, st.free & ~fix & close(gp.level, z), solve, LEVEL_TOL)
        if not fix.any():
            return None
        st.held[fix] = level_of(d.own, d.need, x[lay["transfer"]])[fix]
        st.free &= ~fix
        st.floors.append(z)
        st.fixed.append(int(fix.sum()))
    if st.free.any() or first is None or x is None:
        return None
    last = final_point(lp, lay, d, x, t0)
    return None if last is None else (first, last, notes(st))


def final_point(lp: LinearProgram, lay: dict[str, slice], d: RegionData, x: np.ndarray, t0: float
                ) -> LPSolution | None:
    """The last stage's point on the LP of record (z the least level)."""
    out = x.copy()
    out[lay["floor"]] = float(level_of(d.own, d.need, x[lay["transfer"]]).min())
    if certify(lp, out, np.zeros(lp.num_row)).primal_violation > PRIMAL_TOL:
        return None
    return LPSolution("optimal", float("nan"), out, lp.A @ out, np.zeros(0), np.zeros(0),
                      time.perf_counter() - t0, 0, "group leximin")


def notes(st: Stages) -> dict[str, Any]:
    return {"solved_by": SOLVED_BY,
            "certificate": {"primal_violation": st.primal, "dual_violation": st.dual,
                            "stages_certified": len(st.floors)},
            "leximin_stages": len(st.floors), "leximin_floors": st.floors, "leximin_fixed_per_stage": st.fixed,
            "tie_break": "none needed: the leximin levels are unique"}
