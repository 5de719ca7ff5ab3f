"""The segments of the group-floor reduction (optimizer/fast/group_floors.py) and their
cutting planes: F_s(t) = sum_{q in s} n_q max(t, M_q), convex, piecewise linear and
nondecreasing, enters the small LP through its tangents e_s >= slope t + intercept, added
(Kelley) while the small LP's point puts some e_s below F_s at its argument.

Moved out of group_floors.py (which keeps the small LP, the levels and the certificate)
unchanged, except ``violated``, which checks every segment in one vectorised pass (the same
arguments, values and tests, so the same cuts in the same order)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from models.lp import LinearProgram
from optimizer.core.solution import LPSolution

MAX_CUT_ROUNDS = 60
NEAR = 8             # breakpoints on either side of a cut point that get their tangents too
SolveLP = Callable[[LinearProgram], LPSolution]


@dataclass
class Reduced:
    """The small LP's data: members (sorted by group), their linked segments and pieces."""
    members: np.ndarray          # region indices of P, ascending group
    mgroups: np.ndarray          # distinct groups of the members, ascending
    seg_regions: list[np.ndarray]    # per segment s = 0..K, its non-members
    seg_M: list[np.ndarray]          # their M, sorted
    seg_cum: list[np.ndarray]        # prefix sums of n over sorted M
    seg_nM: list[np.ndarray]         # suffix sums of n M over sorted M
    links: list[np.ndarray]          # per segment, positions (in members) of the top members below
    free: np.ndarray                 # regions with a floor row L_r >= z (leximin: not yet fixed)
    has_z: list[bool] = field(default_factory=list)   # per segment: its regions are free (F_s(z) binds)
    cut_tol: float = 1e-9            # e_s below F_s by more than this (relative) gets new tangents
    index: Any = None                # the SegmentIndex of violated, built on its first call


def segments(group: np.ndarray, M: np.ndarray, need: np.ndarray, members: np.ndarray, chain: bool,
             free: np.ndarray) -> Reduced:
    """Split the non-members into segments by how many member groups lie below them (and,
    when some regions are fixed, by free / fixed: a fixed region has no floor row)."""
    n = group.shape[0]
    members = members[np.argsort(group[members], kind="stable")]
    mgroups = np.unique(group[members])
    others = np.setdiff1d(np.arange(n), members)
    seg = np.searchsorted(mgroups, group[others], side="left") if chain else np.zeros(others.shape[0], int)
    k = mgroups.shape[0] if chain else 0
    split = not free.all()
    seg = seg + (k + 1) * (split & ~free[others])
    out = Reduced(members, mgroups, [], [], [], [], [], free)
    order = np.lexsort((M[others], seg))
    bounds = np.searchsorted(seg[order], np.arange((k + 1) * (1 + split) + 1))
    # gathered once, then cut per segment (each segment's sums restart, as its own cumsum)
    regions, at = others[order], bounds.tolist()
    Ms, ns = M[regions], need[regions]
    nMs, zero = ns * Ms, np.zeros(1)
    gm = group[members]
    first, last = np.searchsorted(gm, mgroups, "left").tolist(), np.searchsorted(gm, mgroups, "right").tolist()
    for s in range((k + 1) * (1 + split)):
        a, b = at[s], at[s + 1]
        out.has_z.append(s <= k)
        s = s % (k + 1)
        out.seg_regions.append(regions[a:b])
        out.seg_M.append(Ms[a:b])
        out.seg_cum.append(np.concatenate((zero, np.cumsum(ns[a:b]))))
        out.seg_nM.append(np.concatenate((np.cumsum(nMs[a:b][::-1])[::-1], zero)))
        out.links.append(np.arange(first[s - 1], last[s - 1]) if s >= 1 else np.zeros(0, int))
    return out


def piece(red: Reduced, s: int, t: float) -> tuple[float, float, float]:
    """(F_s(t), slope, intercept) of the tangent of F_s at t: F_s(u) >= slope u + intercept."""
    j = int(np.searchsorted(red.seg_M[s], t, side="left"))     # M_q < t rise with t
    slope, intercept = float(red.seg_cum[s][j]), float(red.seg_nM[s][j])
    return slope * t + intercept, slope, intercept



def with_cuts(small: LinearProgram, cuts: list[tuple[int, int, float, float]]) -> LinearProgram:
    """``small`` with the tangent rows e_col - slope var_col >= intercept."""
    if not cuts:
        return small
    k = len(cuts)
    arr = np.asarray(cuts, dtype=float)          # (e, var, slope, intercept) per cut
    rows = np.repeat(np.arange(k), 2)
    cols = arr[:, :2].astype(np.int64).ravel()
    vals = np.column_stack([np.ones(k), -arr[:, 2]]).ravel()
    extra = sp.csc_array((vals, (rows, cols)), shape=(k, small.num_col))
    return LinearProgram(cost=small.cost, col_lower=small.col_lower, col_upper=small.col_upper,
                         A=sp.csc_array(sp.vstack([small.A, extra])),
                         row_lower=np.r_[small.row_lower, arr[:, 3]],
                         row_upper=np.r_[small.row_upper, np.full(k, np.inf)])


def tangents(red: Reduced, s: int, e: int, var: int, t: float) -> list[tuple[int, int, float, float]]:
    """The tangent of F_s at t and at the NEAR breakpoints on either side (M_q of the
    segment): one round then models a neighbourhood of t exactly."""
    j = int(np.searchsorted(red.seg_M[s], t))
    at = np.searchsorted(red.seg_M[s], np.r_[t, red.seg_M[s][max(0, j - NEAR):j + NEAR]], side="left")
    # piece's (slope, intercept) at every point, into a set in the same order (the same cut order)
    return [(e, var, g, c) for g, c in {*zip(red.seg_cum[s][at].tolist(), red.seg_nM[s][at].tolist())}]


def violated(red: Reduced, x: np.ndarray, have: set) -> list[tuple[int, int, float, float]]:
    """New tangents at the current arguments of every segment whose e_s is below F_s by
    more than HiGHS's own tolerance allows (a cut it has is met only to that tolerance).
    Each segment's argument is z or its top linked member (the first of the highest, when it
    is above z or the segment has no z); every segment is checked at once (SegmentIndex)."""
    ix = red.index if red.index is not None else segment_index(red)
    red.index = ix
    m = red.members.shape[0]
    var = np.zeros(ix.has_z.shape[0], dtype=np.int64)
    if ix.linked.shape[0]:
        xv = x[1 + ix.flat_links]
        top = np.maximum.reduceat(xv, ix.link_start)
        at = np.arange(xv.shape[0])
        best = ix.flat_links[np.minimum.reduceat(np.where(xv == np.repeat(top, ix.link_count), at, xv.shape[0]),
                                                 ix.link_start)]
        var[ix.linked] = np.where((x[1 + best] > x[0]) | ~ix.has_z[ix.linked], 1 + best, 0)
    act = ix.active
    t = x[var[act]]
    j = np.searchsorted(ix.keys, act * (ix.values.shape[0] + 1) + np.searchsorted(ix.values, t), "left") - ix.off[act]
    val = ix.cum[ix.off[act] + act + j] * t + ix.nM[ix.off[act] + act + j]
    bad = x[1 + m + act] < val - red.cut_tol * np.maximum(1.0, np.abs(val))
    out = []
    for s, v, ts in zip(act[bad].tolist(), var[act][bad].tolist(), t[bad].tolist()):
        out += [cut for cut in tangents(red, s, 1 + m + s, v, ts) if cut[:3] not in have]
    return out


@dataclass
class SegmentIndex:
    """The segments flattened, to check all their cuts in one pass: a segment's count of
    M_q < t is found in ``keys`` (segment, rank of M_q among every M) by the key of
    (segment, rank of t), exact since M_q < t iff its rank is below t's."""
    has_z: np.ndarray            # per segment
    active: np.ndarray           # segments checked: non-empty, with z or a member below
    linked: np.ndarray           # segments with a member below
    link_start: np.ndarray       # their starts in flat_links
    link_count: np.ndarray
    flat_links: np.ndarray       # member positions, segment after segment
    values: np.ndarray           # every segment's M, sorted
    keys: np.ndarray             # segment * (len(values) + 1) + rank of M, ascending
    off: np.ndarray              # each segment's start in keys (and off[s] + s in cum, nM)
    cum: np.ndarray              # seg_cum, flattened
    nM: np.ndarray               # seg_nM, flattened


def segment_index(red: Reduced) -> SegmentIndex:
    k = len(red.seg_regions)
    sizes = np.array([r.shape[0] for r in red.seg_regions], dtype=np.int64)
    nlinks = np.array([lk.shape[0] for lk in red.links], dtype=np.int64)
    has_z = np.array(red.has_z, dtype=bool)
    flat = np.concatenate([*red.seg_M, np.zeros(0)])
    values = np.sort(flat)
    seg = np.repeat(np.arange(k, dtype=np.int64), sizes)
    linked = np.flatnonzero(nlinks > 0)
    return SegmentIndex(has_z, np.flatnonzero((sizes > 0) & (has_z | (nlinks > 0))), linked,
                        np.r_[0, np.cumsum(nlinks)][linked], nlinks[linked],
                        np.concatenate([*red.links, np.zeros(0, dtype=np.int64)]).astype(np.int64),
                        values, seg * (values.shape[0] + 1) + np.searchsorted(values, flat),
                        np.r_[0, np.cumsum(sizes)][:k],
                        np.concatenate([*red.seg_cum, np.zeros(0)]), np.concatenate([*red.seg_nM, np.zeros(0)]))


def cut_loop(small: LinearProgram, red: Reduced, cuts: list, solve: SolveLP) -> LPSolution | None:
    """Solve ``small`` with tangents added until none is violated (the exact LP's optimum,
    to HiGHS's tolerance; the certificate on the LP of record judges the rest)."""
    have = {cut[:3] for cut in cuts}
    current = with_cuts(small, cuts)
    for _ in range(MAX_CUT_ROUNDS):
        sol = solve(current)
        if sol.status != "optimal":
            return None
        new = violated(red, sol.x, have)
        if not new:
            return sol
        cuts.extend(new)
        have |= {cut[:3] for cut in new}
        current = with_cuts(current, new)      # the same rows as with_cuts(small, cuts), built once
    return None


def first_cuts(red: Reduced, z0: float, M: np.ndarray) -> list[tuple[int, int, float, float]]:
    """Tangents near z0 (the max-min level without the group rows) for z, and near each
    member's least level for the members linked to a segment."""
    m = red.members.shape[0]
    cuts = []
    for s in range(len(red.seg_regions)):
        if red.seg_regions[s].shape[0] == 0:
            continue
        if red.has_z[s]:
            cuts += tangents(red, s, 1 + m + s, 0, z0)
        for i in red.links[s]:
            cuts += tangents(red, s, 1 + m + s, 1 + int(i), max(z0, float(M[red.members[i]])))
    return cuts
