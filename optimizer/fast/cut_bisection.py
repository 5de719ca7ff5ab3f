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

    def reorder(self, sl: slice, k: np.ndarray) -> None:
        """Permute the stretch ``sl`` in place (``k``: new index -> old, within it)."""
        for x in (self.perm, self.w, self.c, self.lo, self.hi, self.a, self.b):
            x[sl] = x[sl][k]


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
    opened = np.flatnonzero(g_open)
    if opened.size > 1:
        # (the open groups in ascending value, each in cut order)
        grp_sel = grp[sel]
        k = stable_group_order((np.cumsum(g_open) - 1)[grp_sel], opened.size)
        sel, grp_sel = sel[k], grp_sel[k]
        a, b = g_a[grp_sel], g_b[grp_sel]
    else:
        a, b = np.full(sel.size, g_a[opened[0]]), np.full(sel.size, g_b[opened[0]])
    s = _Open(sel, w[sel], c[sel], lo_t[sel], hi_t[sel], a, b)
    # (float even when no region is closed: bincount of nothing counts in integers)
    return idx, s, np.bincount(a0[~live], weights=w[~live], minlength=nv + 1).astype(float, copy=False)


def bisect_indices(w: np.ndarray, c: np.ndarray, perm: np.ndarray, nv: int, q, tol: float,
                   lo_t: np.ndarray, hi_t: np.ndarray, split_large: bool = True) -> np.ndarray:
    """The grid indices of the least minimiser of ``Phi + c.L`` over the box lo_t..hi_t of
    grid indices (nv values), Phi the Lovasz extension of ``S -> q.value(W(S))``; ``perm``:
    the regions in cut order; ``tol``: the ties of the cut values (absolute).
    ``split_large=False``: every round over all groups at once (``_round``; the same
    answer bit for bit, checked by tests/test_cut_bisection.py)."""
    idx, s, hist = _open_regions(w, c, perm, nv, lo_t, hi_t)
    if s is None:
        return idx
    above = np.cumsum(hist[::-1])[::-1]                   # weight of the closed regions at value >= v
    w_open = float(s.w.sum())
    while s.perm.size:
        # (groups are contiguous and ascending: the first and last alike means one open group)
        starts = _ONE if s.a[0] == s.a[-1] and s.b[0] == s.b[-1] else _group_starts(s)
        a_g, b_g = s.a[starts], s.b[starts]
        w_grp = np.add.reduceat(s.w, starts)
        # the weight wholly above each group: the open groups after it and the closed regions
        w_above = (w_open - np.cumsum(w_grp)) + above[b_g]
        state = _round(q, s, starts, a_g, b_g, w_above, tol, split_large)
        if state == _SAME:
            continue                      # one group moved as one and stays open
        if state == _CLOSED or not np.any(s.a < s.b):
            idx[s.perm] = s.a
            break
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


def _group_starts(s: _Open) -> np.ndarray:
    """The starts of the groups (runs of one interval)."""
    new_grp = np.empty(s.a.size, dtype=bool)
    new_grp[0] = True
    np.not_equal(s.a[1:], s.a[:-1], out=new_grp[1:])
    new_grp[1:] |= s.b[1:] != s.b[:-1]
    return np.flatnonzero(new_grp)


_CHECK, _SAME, _CLOSED = 0, 1, 2    # after a round: look for closed groups / one open group still / all closed


def _round(q, s: _Open, starts: np.ndarray, a_g: np.ndarray, b_g: np.ndarray, w_above: np.ndarray,
           tol: float, split_large: bool = True) -> int:
    """One round: every group cut at its middle, in place. A group of at least half the
    regions (the tied block) is cut alone (``_cut_large``: scalars, no gathers, no partition
    when it moves as one), the groups before and after it together (``_cut_groups``); the
    running sums carry over from one stretch to the next, so every value is the one the
    whole array's sums give."""
    n = s.perm.size
    ends = np.append(starts[1:], n)
    g = int(np.argmax(ends - starts))
    i, j = int(starts[g]), int(ends[g])
    if not split_large or 2 * (j - i) < n or a_g[g] >= b_g[g]:
        _cut_groups(q, s, slice(0, n), starts, a_g, b_g, w_above, tol, None)
        return _CHECK
    run = None if i == 0 else _cut_groups(q, s, slice(0, i), starts[:g], a_g[:g], b_g[:g], w_above[:g], tol, None)
    state, run = _cut_large(q, s, slice(i, j), a_g[g], b_g[g], w_above[g:g + 1], tol, run)
    if j < n:
        _cut_groups(q, s, slice(j, n), starts[g + 1:] - j, a_g[g + 1:], b_g[g + 1:], w_above[g + 1:], tol, run)
    return state if i == 0 and j == n else _CHECK


def _cut_groups(q, s: _Open, sl: slice, starts: np.ndarray, a_g: np.ndarray, b_g: np.ndarray,
                w_above: np.ndarray, tol: float, run: tuple | None) -> tuple:
    """Cut the groups of the stretch ``sl`` (``starts`` within it), each stably split below /
    above; ``run``: the running sums before it. Returns the running sums at its end."""
    size = sl.stop - sl.start
    per = _Spread(np.repeat(np.arange(starts.size), np.diff(np.append(starts, size))), starts.size)
    m, live = per((a_g + b_g) >> 1), per(a_g < b_g)    # cut between values[m] and values[m + 1]
    lo, hi = s.lo[sl], s.hi[sl]
    in_s, run = _upper_set(q, s.w[sl], s.c[sl], w_above, lo > m, live & (lo <= m) & (hi > m), starts, per, tol, run)
    s.a[sl], s.b[sl] = np.where(in_s, m + 1, s.a[sl]), np.where(in_s | ~live, s.b[sl], m)
    inv = _stable_partition(in_s, starts, per)
    if inv is not None:
        s.reorder(sl, inv)
    return run


def _cut_large(q, s: _Open, sl: slice, a, b, w_above: np.ndarray, tol: float, run: tuple | None
               ) -> tuple[int, tuple]:
    """Cut the one open group of the stretch ``sl`` (``_upper_set_one``): (the state after it,
    the running sums at its end)."""
    m = (a + b) >> 1
    lo, hi = s.lo[sl], s.hi[sl]
    in_s, run = _upper_set_one(q, s.w[sl], s.c[sl], w_above, lo > m, (lo <= m) & (hi > m), tol, run)
    k = int(np.count_nonzero(in_s))
    if k == in_s.size:                    # the whole group goes up, or down: nothing moves
        s.a[sl] = m + 1
        return (_CLOSED if m + 1 == b else _SAME), run
    if k == 0:
        s.b[sl] = m
        return (_CLOSED if a == m else _SAME), run
    s.a[sl], s.b[sl] = np.where(in_s, m + 1, s.a[sl]), np.where(in_s, s.b[sl], m)
    inv = _split_one(in_s)
    if inv is not None:
        s.reorder(sl, inv)
    return _CHECK, run


def _masked_running(x: np.ndarray, mask: np.ndarray, start) -> tuple[np.ndarray, np.ndarray]:
    """(np.where(mask, x, 0.0), its ``_running`` sum from ``start``), written once."""
    if start is None:
        f = np.where(mask, x, 0.0)
        return f, np.cumsum(f)
    ext = np.zeros(x.size + 1)
    ext[0] = start
    np.copyto(ext[1:], x, where=mask)
    return ext[1:], np.cumsum(ext)[1:]


def _running(x: np.ndarray, start) -> np.ndarray:
    """np.cumsum(x) continued from the running sum ``start`` (None: from 0): the same
    sequential additions as one cumsum over the whole array."""
    if start is None:
        return np.cumsum(x)
    ext = np.empty(x.size + 1)
    ext[0] = start
    ext[1:] = x
    return np.cumsum(ext)[1:]


class _Spread:
    """Per-group values spread to the group's regions (a scalar when there is one group:
    the same arithmetic, without n-sized gathers)."""

    def __init__(self, gid: np.ndarray, groups: int):
        self.gid, self.one = gid, groups == 1

    def __call__(self, v: np.ndarray):
        return v[0] if self.one else v[self.gid]


def _upper_set(q, wp: np.ndarray, cp: np.ndarray, w_above: np.ndarray, forced_in: np.ndarray,
               free: np.ndarray, starts: np.ndarray, per: _Spread, tol: float, run: tuple | None = None
               ) -> tuple[np.ndarray, tuple]:
    """The regions of each group that go above the cut: the forced ones plus the shortest
    prefix (in cut order) of the free ones within tol of the least value of
    Q(W above + W(S)) + c(S), the set S above the cut (the least minimiser). A region of a
    closed group is never free, and never forced (its own box reaches down to its value).
    ``run``: the running sums (weight, cost) before these regions; returns (the upper set,
    the running sums after them)."""
    n = wp.size
    wf = np.add.reduceat(np.where(forced_in, wp, 0.0), starts)
    cf = np.add.reduceat(np.where(forced_in, cp, 0.0), starts)
    fw, fc = np.where(free, wp, 0.0), np.where(free, cp, 0.0)
    cw_all, cc_all = _running(fw, run and run[0]), _running(fc, run and run[1])
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
    return forced_in | (free & (np.arange(n) <= per(last))), (cw_all[-1], cc_all[-1])


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
                   free: np.ndarray, tol: float, run: tuple | None = None) -> tuple[np.ndarray, tuple]:
    """``_upper_set`` for one group: every value by the same arithmetic (the same sums, the
    per-group values as scalars), the least prefix by the first candidate instead of a
    minimum over positions, and no gathers."""
    if forced_in.any():
        wf = np.add.reduceat(np.where(forced_in, wp, 0.0), _ONE)
        cf = np.add.reduceat(np.where(forced_in, cp, 0.0), _ONE)
    else:
        wf = cf = np.zeros(1)                             # (a sum of zeros)
    fw, cw_all = _masked_running(wp, free, run and run[0])
    fc, cc_all = _masked_running(cp, free, run and run[1])
    run = (cw_all[-1], cc_all[-1])
    s_w = wf[0] + cw_all - (cw_all[_ONE] - fw[_ONE])[0]
    val = q.value(w_above[0] + s_w, True) + cf[0] + cc_all - (cc_all[_ONE] - fc[_ONE])[0]
    val[~free] = np.inf
    val0 = q.value(w_above + wf) + cf                     # the empty prefix
    limit = (np.minimum(np.minimum.reduceat(val, _ONE), val0) + tol)[0]
    if val0[0] <= limit:
        return forced_in, run
    cand = val <= limit                                   # (never where not free: val is inf there)
    end = int(np.argmax(cand))
    in_s = forced_in.copy()
    if cand[end]:
        in_s[:end + 1] |= free[:end + 1]
    else:
        in_s |= free
    return in_s, run


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
