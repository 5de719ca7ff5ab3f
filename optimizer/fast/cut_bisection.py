"""The bisection of the threshold decomposition's inner solve (optimizer/fast/cut_levels.py
``least_indices``): every region's level is bisected over the grid values at once, each
round cutting every group of regions sharing an interval [a, b] of grid indices at its
middle; a cut's upper set is the forced regions plus the least best prefix (in cut order)
of the free ones (the math: optimizer/fast/decompose.py's docstring).

Only the regions of groups that are still open ride the rounds: a region whose group is a
single value from the start, or closes in a round, leaves the arrays and its weight joins
``above`` (a histogram over the grid values), which gives each open group the weight
wholly above it. Groups are found by counting over the grid values (no sort of n), and
ordered by a radix sort of their ranks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def group_intervals(lo_t: np.ndarray, hi_t: np.ndarray, nv: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lo_t, hi_t clipped to at least lo_t, each region's first interval [a, b], its group
    number): region r can sit at grid indices lo_r..hi_r of nv values; overlapping boxes
    are chained into one group spanning them all, so different groups overlap at most in
    an end value, and every cut of a group (between values m and m + 1, a <= m < b) leaves
    every other region wholly above or below it. Boxes that only touch stay apart (every
    cut of one is at or beyond the other's end), except that boxes starting at the same
    value are one group (a region fixed at [x, x] and a group [x, y]). A group starts at a
    value x where some box starts and no box starting below x reaches beyond x: found by a
    running maximum over the values, O(n + nv)."""
    lo_t, hi_t, grp, g_a, g_b = chained_groups(lo_t, hi_t, nv)
    return lo_t, hi_t, g_a[grp], g_b[grp], grp


def chained_groups(lo_t: np.ndarray, hi_t: np.ndarray, nv: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``group_intervals`` with the intervals per group: (lo_t, hi_t clipped, each region's
    group number, each group's first and last value)."""
    hi_t = np.maximum(hi_t, lo_t)
    reach = _farthest_end(lo_t, hi_t, nv)
    run = np.maximum.accumulate(reach)
    before = np.concatenate([[-1], run[:-1]])             # ... of the boxes starting below x
    start = (reach >= 0) & (before <= np.arange(nv))
    first = np.flatnonzero(start)
    last = np.concatenate([first[1:] - 1, [nv - 1]])
    return lo_t, hi_t, (np.cumsum(start) - 1)[lo_t], first, run[last]


def _farthest_end(lo_t: np.ndarray, hi_t: np.ndarray, nv: int) -> np.ndarray:
    """The farthest end of the boxes starting at each value (-1: none), i.e.
    ``np.maximum.at(reach, lo_t, hi_t)`` from -1, without its unbuffered loop (8x slower at
    1e6 regions): an assignment leaves one of the ends at each value, and the boxes whose end
    lies beyond it (none where the tied boxes share their ends) are maximised in."""
    reach = np.full(nv, -1, dtype=np.int64)
    reach[lo_t] = hi_t
    beyond = hi_t > reach[lo_t]
    if beyond.any():
        np.maximum.at(reach, lo_t[beyond], hi_t[beyond])
    return reach


def stable_group_order(rank: np.ndarray, groups: int) -> np.ndarray:
    """The stable argsort of small non-negative ranks, by one or two radix passes of 16 bits."""
    if groups <= 1:
        return np.arange(rank.size)
    if groups <= 0xFFFF:
        return np.argsort(rank.astype(np.uint16), kind="stable")
    o = np.argsort((rank & 0xFFFF).astype(np.uint16), kind="stable")
    return o[np.argsort((rank[o] >> 16).astype(np.uint16), kind="stable")]


@dataclass
class _Open:
    """The regions of the open groups, in (group, cut order): groups stay contiguous, in
    ascending value, and in cut order inside."""

    perm: np.ndarray     # region numbers
    w: np.ndarray
    c: np.ndarray        # cost per unit of level
    lo: np.ndarray       # own box (grid indices)
    hi: np.ndarray
    a: np.ndarray        # the group's interval
    b: np.ndarray

    def take(self, k: np.ndarray) -> _Open:
        return _Open(*(x[k] for x in (self.perm, self.w, self.c, self.lo, self.hi, self.a, self.b)))


def _open_regions(w: np.ndarray, c: np.ndarray, perm: np.ndarray, nv: int, lo_t: np.ndarray,
                  hi_t: np.ndarray) -> tuple[np.ndarray, _Open | None, np.ndarray]:
    """The start of ``bisect_indices``: (each region's first index: its group's lower end,
    the regions of the open groups (None: every group is closed), the closed regions'
    weight per value)."""
    lo_t, hi_t, grp, g_a, g_b = chained_groups(lo_t, hi_t, nv)
    a0 = g_a[grp]
    idx = a0.copy()                                       # (a region of a closed group sits at a)
    g_open = g_a < g_b
    live = g_open[grp]
    if not live.any():
        return idx, None, np.zeros(0)
    sel = perm[live[perm]]
    grp_sel = grp[sel]
    opened = int(np.count_nonzero(g_open))
    if opened > 1:
        # (the open groups in ascending value, each in cut order)
        k = stable_group_order((np.cumsum(g_open) - 1)[grp_sel], opened)
        sel, grp_sel = sel[k], grp_sel[k]
    s = _Open(sel, w[sel], c[sel], lo_t[sel], hi_t[sel], g_a[grp_sel], g_b[grp_sel])
    hist = np.zeros(nv + 1)
    hist += np.bincount(a0[~live], weights=w[~live], minlength=nv + 1)
    return idx, s, hist


def bisect_indices(w: np.ndarray, c: np.ndarray, perm: np.ndarray, nv: int, q, tol: float,
                   lo_t: np.ndarray, hi_t: np.ndarray) -> np.ndarray:
    """The grid indices of the least minimiser of ``Phi + c.L`` over the box lo_t..hi_t of
    grid indices (nv values), Phi the Lovasz extension of ``S -> q.value(W(S))``; ``perm``:
    the regions in cut order; ``tol``: the ties of the cut values (absolute)."""
    idx, s, hist = _open_regions(w, c, perm, nv, lo_t, hi_t)
    if s is None:
        return idx
    above = np.cumsum(hist[::-1])[::-1]                   # weight of the closed regions at value >= v
    w_open = float(s.w.sum())
    while s.perm.size:
        # (groups are contiguous and ascending: the first and last alike means one open group)
        one = s.a[0] == s.a[-1] and s.b[0] == s.b[-1]
        starts, per = (_ONE, _Spread(None, 1)) if one else _groups(s)
        a_g, b_g = s.a[starts], s.b[starts]
        m, live = per((a_g + b_g) >> 1), per(a_g < b_g)    # cut between values[m] and values[m + 1]
        w_grp = np.add.reduceat(s.w, starts)
        # the weight wholly above each group: the open groups after it and the closed regions
        w_above = (w_open - np.cumsum(w_grp)) + above[b_g]
        if one:
            # (live: the one group is open, else the last round had ended the loop)
            in_s = _upper_set_one(q, s.w, s.c, w_above, s.lo > m, (s.lo <= m) & (s.hi > m), tol)
            k = int(np.count_nonzero(in_s))
            if k in (0, in_s.size):
                # the whole group goes one way: nothing moves, nothing closes unless all do
                s.a, s.b = (np.full_like(s.a, m + 1), s.b) if k else (s.a, np.full_like(s.b, m))
                if s.a[0] == s.b[0]:
                    idx[s.perm] = s.a
                    break
                continue
        else:
            in_s = _upper_set(q, s.w, s.c, w_above, s.lo > m, live & (s.lo <= m) & (s.hi > m), starts, per, tol)
        s.a, s.b = np.where(in_s, m + 1, s.a), np.where(in_s | ~live, s.b, m)
        if not np.any(s.a < s.b):
            idx[s.perm] = s.a
            break
        inv = _split_one(in_s) if one else _stable_partition(in_s, starts, per)
        if inv is not None:
            s = s.take(inv)
        closed = s.a == s.b
        if 2 * int(np.count_nonzero(closed)) > s.perm.size:
            # most have closed: they leave the rounds, their weight joins ``above``
            idx[s.perm[closed]] = s.a[closed]
            hist += np.bincount(s.a[closed], weights=s.w[closed], minlength=nv + 1)
            above = np.cumsum(hist[::-1])[::-1]
            s = s.take(~closed)
            w_open = float(s.w.sum())
    return idx


_ONE = np.zeros(1, dtype=np.int64)     # the start of the one group


def _groups(s: _Open) -> tuple[np.ndarray, _Spread]:
    """The starts of the open groups (runs of one interval) and the spread of per-group values."""
    new_grp = np.empty(s.a.size, dtype=bool)
    new_grp[0] = True
    np.not_equal(s.a[1:], s.a[:-1], out=new_grp[1:])
    new_grp[1:] |= s.b[1:] != s.b[:-1]
    starts = np.flatnonzero(new_grp)
    return starts, _Spread(np.cumsum(new_grp) - 1, starts.size)


class _Spread:
    """Per-group values spread to the group's regions (a scalar when there is one group:
    the same arithmetic, without n-sized gathers)."""

    def __init__(self, gid: np.ndarray, groups: int):
        self.gid, self.one = gid, groups == 1

    def __call__(self, v: np.ndarray):
        return v[0] if self.one else v[self.gid]


def _upper_set(q, wp: np.ndarray, cp: np.ndarray, w_above: np.ndarray, forced_in: np.ndarray,
               free: np.ndarray, starts: np.ndarray, per: _Spread, tol: float) -> np.ndarray:
    """The regions of each group that go above the cut: the forced ones plus the shortest
    prefix (in cut order) of the free ones within tol of the least value of
    Q(W above + W(S)) + c(S), the set S above the cut (the least minimiser). A region of a
    closed group is never free, and never forced (its own box reaches down to its value)."""
    n = wp.size
    wf = np.add.reduceat(np.where(forced_in, wp, 0.0), starts)
    cf = np.add.reduceat(np.where(forced_in, cp, 0.0), starts)
    fw, fc = np.where(free, wp, 0.0), np.where(free, cp, 0.0)
    cw_all, cc_all = np.cumsum(fw), np.cumsum(fc)
    # (the prefix sums within each group: the running sums less the sum before the group's start)
    s_w = per(wf) + cw_all - per(cw_all[starts] - fw[starts])
    # (the sums above the cut only grow along each group)
    val = _value_by_groups(q, per(w_above) + s_w, starts) + per(cf) + cc_all - per(cc_all[starts] - fc[starts])
    val[~free] = np.inf
    val0 = q.value(w_above + wf) + cf                     # the empty prefix
    best = np.minimum(np.minimum.reduceat(val, starts), val0)
    cand = val <= per(best + tol)
    cand &= free
    end = np.minimum.reduceat(np.where(cand, np.arange(n), n), starts)
    # the prefix taken per group: up to ``end``, or none when the empty prefix is within tol
    last = np.where(val0 <= best + tol, -1, end)
    return forced_in | (free & (np.arange(n) <= per(last)))


def _value_by_groups(q, x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``q.value(x)`` where x is nondecreasing along each group: the large groups (an eighth
    of x or more; at most eight) by contiguous slices (``ascending``), the stretches between
    them as they are (the same arithmetic on every entry)."""
    if starts.size == 1:
        return q.value(x, True)
    ends = np.append(starts[1:], x.size)
    big = np.flatnonzero(ends - starts >= max(1, x.size // 8))
    if big.size == 0:
        return q.value(x)
    out = np.empty_like(x)
    at = 0
    for g in big.tolist():
        i, j = int(starts[g]), int(ends[g])
        if i > at:
            out[at:i] = q.value(x[at:i])
        out[i:j] = q.value(x[i:j], True)
        at = j
    if at < x.size:
        out[at:] = q.value(x[at:])
    return out


def _upper_set_one(q, wp: np.ndarray, cp: np.ndarray, w_above: np.ndarray, forced_in: np.ndarray,
                   free: np.ndarray, tol: float) -> np.ndarray:
    """``_upper_set`` for one group: every value by the same arithmetic (the same sums, the
    per-group values as scalars), the least prefix by the first candidate instead of a
    minimum over positions, and no gathers."""
    wf = np.add.reduceat(np.where(forced_in, wp, 0.0), _ONE)
    cf = np.add.reduceat(np.where(forced_in, cp, 0.0), _ONE)
    fw, fc = np.where(free, wp, 0.0), np.where(free, cp, 0.0)
    cw_all, cc_all = np.cumsum(fw), np.cumsum(fc)
    s_w = wf[0] + cw_all - (cw_all[_ONE] - fw[_ONE])[0]
    val = q.value(w_above[0] + s_w, True) + cf[0] + cc_all - (cc_all[_ONE] - fc[_ONE])[0]
    val[~free] = np.inf
    val0 = q.value(w_above + wf) + cf                     # the empty prefix
    limit = (np.minimum(np.minimum.reduceat(val, _ONE), val0) + tol)[0]
    if val0[0] <= limit:
        return forced_in
    cand = val <= limit                                   # (never where not free: val is inf there)
    end = int(np.argmax(cand))
    in_s = forced_in.copy()
    if cand[end]:
        in_s[:end + 1] |= free[:end + 1]
    else:
        in_s |= free
    return in_s


def _split_one(in_s: np.ndarray) -> np.ndarray | None:
    """``_stable_partition`` for one group: the part below the cut, then the part above."""
    k = int(np.count_nonzero(in_s))
    if in_s[in_s.size - k:].all():
        return None
    return np.concatenate([np.flatnonzero(~in_s), np.flatnonzero(in_s)])


def _stable_partition(in_s: np.ndarray, starts: np.ndarray, per: _Spread) -> np.ndarray | None:
    """The permutation that splits each group stably: the part below the cut first, then
    the part above. Returns new index -> old, or None when nothing moves."""
    out_s = ~in_s
    c_out, c_in = np.cumsum(out_s), np.cumsum(in_s)
    # per group: where its lower part starts, and its upper part (after all its lower ones)
    n_out = np.add.reduceat(out_s.astype(np.int64), starts)
    base_out = starts - (c_out - out_s)[starts]
    base_in = starts + n_out - (c_in - in_s)[starts]
    new_pos = np.where(out_s, per(base_out) + c_out - 1, per(base_in) + c_in - 1)
    pos = np.arange(in_s.size)
    if np.array_equal(new_pos, pos):
        return None                       # every group went wholly one way, or split in order
    inv = np.empty(in_s.size, dtype=np.int64)
    inv[new_pos] = pos
    return inv
