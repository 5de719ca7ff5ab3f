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

Which regions to fix (exact). The leximin optimum is optimal for every stage's LP (standard:
it keeps the fixed levels and its least free level is the stage's z). By complementary
slackness, any optimal dual y and every primal optimum x agree: a row or bound with y != 0 is
active in every optimum. So a free region is at the same level in every optimum when it is
joined, through no-overtaking rows with y != 0 (L_p = L_q in every optimum), to an anchor:
a free region whose floor row has y != 0 (at z) or a region whose transfer sits on a bound
(a column bound, a hold, or a one-entry policy row) with a non-zero reduced cost or row dual.
Those regions are fixed at their level in the stage's certified point; nothing else is. A
dual below RELATIVE of its scale counts as zero (fewer regions fixed, more stages, never a
wrong one). The floor duals sum to 1 (z's column), so every certified stage fixes a region.

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
from optimizer.fast.group_cuts import SolveLP
from optimizer.fast.group_duals import close
from optimizer.fast.group_floors import group_point, group_row_slices, record_pair
from optimizer.fast.policy_path import BOUND_ROWS, envelope, supported
from optimizer.fast.solutions import closed_form_solution
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
RELATIVE = 1e-9      # a dual this far below its scale (relative) is read as zero
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


def _noise_free(values: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    return np.abs(values) > RELATIVE * np.maximum(scale, 1e-300)


def anchors(lp: LinearProgram, lay: dict[str, slice], d: RegionData, y: np.ndarray) -> np.ndarray:
    """Regions whose level every optimum of ``lp`` shares: on a floor row or a bound with a
    non-zero dual (y in HiGHS's convention; only magnitudes matter)."""
    t = lay["transfer"]
    out = np.zeros(d.n, dtype=bool)
    phi = y[lay["rows:floor_rows"]]
    out |= _noise_free(phi, float(np.max(np.abs(phi), initial=0.0)))
    sign = -1.0 if lp.maximize else 1.0
    reduced = (sign * lp.cost - lp.A.T @ (sign * y))[t]
    magnitude = (np.abs(lp.cost) + abs(lp.A).T @ np.abs(y))[t]
    out |= _noise_free(reduced, magnitude)
    csr = lp.A.tocsr()
    for name in (*BOUND_ROWS, "threshold"):
        sl = lay.get("rows:" + name)
        if sl is None or sl.stop == sl.start:
            continue
        sub = csr[sl]
        one = np.diff(sub.indptr) == 1       # one-entry rows: a bound on that region's transfer
        rows = np.flatnonzero(one)
        cols = sub.indices[sub.indptr[rows]] - t.start
        big = _noise_free(y[sl][rows], float(np.max(np.abs(y[sl]), initial=0.0)))
        out[cols[big]] = True
    return out


def pinned(lp: LinearProgram, lay: dict[str, slice], d: RegionData, y: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The free regions joined to an anchor by no-overtaking rows with a non-zero dual."""
    anchored = anchors(lp, lay, d, y)
    sl = lay.get("rows:no_overtaking")
    if sl is None or sl.stop == sl.start:
        return free & anchored
    his, los = overtaking_pairs(d)
    nu = y[sl]
    tight = _noise_free(nu, float(np.max(np.abs(nu), initial=0.0)))
    graph = sp.coo_array((np.ones(int(tight.sum())), (his[tight], los[tight])), shape=(d.n, d.n))
    _, label = connected_components(graph, directed=False)
    hit = np.zeros(int(label.max()) + 1, dtype=bool)
    hit[label[anchored]] = True
    return free & hit[label]


def stage(lp: LinearProgram, lay: dict[str, slice], d: RegionData, st: Stages, z0: float, solve: SolveLP
          ) -> tuple[LinearProgram, np.ndarray, np.ndarray, float] | None:
    """(the stage's LP of record, x, y, z) certified, or None. The fixed regions first settle
    their own demand where they can (group_duals.route's ``held``: fast); if that dual is
    refused, the full routing."""
    lp_k = stage_lp(lp, lay, d, st)
    env = envelope(lp_k, lay, d, "rows:threshold" in lay)
    if env is None or np.any(env.M > env.U):
        return None
    found = group_point(lp_k, lay, env, d, z0, solve, st.free, CUT_TOL)
    if found is None:
        return None
    x, level, z, yy, free = found
    for held in (~free, None) if st.floors else (None,):
        y = record_pair(lp_k, lay, env, d, level, close(level, z) & free, yy.copy(), held)
        cert = certify(lp_k, x, y)
        if cert.ok:
            st.primal, st.dual = max(st.primal, cert.primal_violation), max(st.dual, cert.dual_violation)
            return lp_k, x, y, z
    return None


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
        lp_k, x, y, z = found
        if first is None:
            first = closed_form_solution(lp, x, y, z, time.perf_counter() - t0)
            first.algorithm = "group floors"
        fix = pinned(lp_k, lay, d, y, st.free)
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
