"""The dual certificate of a max-min point with binding group rows (optimizer/fast/group_floors.py):
the budget's and the group rows' duals from the small LP, each region's demand routed along the
active no-overtaking rows of its block to the rows that can hold it (see that module's docstring)."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from models.policies import overtaking_pairs


def record_duals(lp: LinearProgram, lay: dict[str, slice], d: RegionData, small_duals: np.ndarray,
                 record_rows: np.ndarray, n_small: int) -> np.ndarray:
    """The budget's and the group rows' duals of the LP of record (min -z convention) from
    the small LP's (same rows up to constants; the budget is its last row before the cuts)."""
    yy = np.zeros(lp.num_row)
    g = record_rows.shape[0]
    yy[lay["rows:budget"].start] = small_duals[n_small - 1]
    yy[record_rows] = small_duals[n_small - 1 - g:n_small - 1]
    return yy


def chain_rows_for(d: RegionData, send: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(row positions in the no-overtaking block, amounts) of the flows ``send``."""
    his, los = overtaking_pairs(d)
    keys = his * d.n + los
    order = np.argsort(keys)
    arr = np.array(send, dtype=float).reshape(-1, 3)
    want = arr[:, 0].astype(np.int64) * d.n + arr[:, 1].astype(np.int64)
    at = np.searchsorted(keys[order], want)
    at = np.minimum(at, keys.shape[0] - 1)
    ok = keys[order][at] == want if keys.shape[0] else np.zeros(want.shape[0], bool)
    return order[at[ok]], arr[ok, 2]


def demand(lp: LinearProgram, lay: dict[str, slice], d: RegionData, yy: np.ndarray) -> np.ndarray:
    """delta_r = n_r (c_r - sum_i A_ir yy_i) over the rows set so far (budget, group rows)."""
    t = lay["transfer"]
    sign = -1.0 if lp.maximize else 1.0
    return d.need * (sign * lp.cost[t] - (lp.A.T @ yy)[t])


@dataclass
class Routing:
    phi: np.ndarray        # floor-row duals (level units)
    held_lo: np.ndarray    # demand put on the bound holding a region from below (>= 0)
    held_hi: np.ndarray    # demand put on the bound holding it from above (<= 0)
    send: list[tuple[int, int, float]]   # (from, to, amount): flow down an active chain row


def _settle(r: int, amount: float, at_z: list[bool], at_lo: list[bool], at_hi: list[bool], out: Routing) -> None:
    """Put what reaches the end of a block on a row that can hold it (else it stays as a
    reduced cost for ``certify`` to judge)."""
    if amount > 0 and at_z[r]:
        out.phi[r] += amount
    elif amount > 0 and at_lo[r]:
        out.held_lo[r] += amount
    elif amount < 0 and at_hi[r]:
        out.held_hi[r] += amount


LONG = 32       # a block of more runs, all held from below, takes _pass_up
TIE = 1e-12     # levels this close (relative) are one level: HiGHS's and float64's noise, far below certify's 1e-7


def close(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    b = np.broadcast_to(b, a.shape)
    finite = np.isfinite(b)
    safe = np.where(finite, b, 0.0)
    return finite & (np.abs(a - safe) <= TIE * np.maximum(1.0, np.abs(safe)))


def route(level: np.ndarray, group: np.ndarray, delta: np.ndarray, chain: bool, at_z: np.ndarray,
          at_lo: np.ndarray, at_hi: np.ndarray, held: np.ndarray | None = None, least: bool = False) -> Routing:
    """The demands routed along the blocks (module docstring), top down; a block of one
    region settles its own demand, and so does a block of ``held`` regions (a leximin stage's
    fixed ones) each of which can hold its own demand on its own bound (no flow needed).
    ``least``: every region settles what it can hold itself first (greedy: a demand a region
    below needed may then go unrouted, which ``certify`` refuses, and the caller retries without
    it); see ``_route_block``."""
    n = level.shape[0]
    out = Routing(np.zeros(n), np.zeros(n), np.zeros(n), [])
    srt = np.argsort(level, kind="stable")
    ls = level[srt]
    same_level = np.empty(n, dtype=np.int64)
    same_level[srt] = np.cumsum(np.r_[True, np.diff(ls) > TIE * np.maximum(1.0, np.abs(ls[1:]))]) - 1
    order = np.lexsort((np.arange(n), group, same_level))
    lv, gv = same_level[order], group[order]
    new_run = np.r_[True, (lv[1:] != lv[:-1]) | (gv[1:] != gv[:-1])]
    linked = np.r_[False, (lv[1:] == lv[:-1]) & (gv[1:] == gv[:-1] + 1)] if chain else np.zeros(n, bool)
    new_block = new_run & ~linked
    starts = np.flatnonzero(new_run)
    run_block = np.cumsum(new_block[starts]) - 1
    ends = np.r_[starts[1:], n]
    blocks = np.flatnonzero(np.r_[True, run_block[1:] != run_block[:-1]])
    block_end = np.r_[blocks[1:], starts.shape[0]]
    alone = (block_end - blocks == 1) & (ends[blocks] - starts[blocks] == 1)
    if least:     # a leximin stage: a free region at z holds its own demand on its floor row
        up = at_z & (delta > 0)
        out.phi[up] += delta[up]
        delta = np.where(up, 0.0, delta)
    _settle_all(order[starts[blocks[alone]]], delta, at_z, at_lo, at_hi, out)
    if held is not None:
        # a region settles its own demand where its own row or bound can hold it: a fixed one on
        # its bound, a free one at z on its floor row (a degenerate stage: free regions tied with
        # fixed ones at the previous floor, optimizer/fast/group_leximin.py)
        can = ((delta > 0) & (at_z | at_lo)) | ((delta < 0) & at_hi) | (delta == 0)
        own = (held | at_z) & can if least else held & can
        block_of = run_block[np.cumsum(new_run) - 1]
        local = (np.bincount(block_of, weights=~own[order], minlength=blocks.shape[0]) == 0) & ~alone
        _settle_all(order[local[block_of]], delta, at_z, at_lo, at_hi, out)
        alone |= local
    if not np.all(alone):     # Python lists: the block loop reads them element by element (5x faster)
        ol, lists = order.tolist(), (delta.tolist(), at_z.tolist(), at_lo.tolist(), at_hi.tolist())
        reps, sl, el = order[starts].tolist(), starts.tolist(), ends.tolist()
        multi = np.flatnonzero(ends - starts > 1).tolist()      # runs with members besides their representative
        not_up = np.r_[0, np.cumsum(~((at_z | at_lo) & ~at_hi)[order[starts]])].tolist()
        for b0, b1 in zip(blocks[~alone].tolist(), block_end[~alone].tolist()):
            i0, i1 = bisect_left(multi, b0), bisect_left(multi, b1)
            long_up = not least and b1 - b0 > LONG and not_up[b1] == not_up[b0]
            _route_block(reps[b0:b1], [(j - b0, ol[sl[j] + 1:el[j]]) for j in multi[i0:i1]], *lists, out, long_up,
                         least)
    return out


def _settle_all(r: np.ndarray, delta: np.ndarray, at_z: np.ndarray, at_lo: np.ndarray, at_hi: np.ndarray,
                out: Routing) -> None:
    """``_settle`` for regions ``r`` (each its own block), vectorised."""
    dr = delta[r]
    up, low = (dr > 0) & at_z[r], (dr > 0) & ~at_z[r] & at_lo[r]
    out.phi[r[up]] += dr[up]
    out.held_lo[r[low]] += dr[low]
    high = (dr < 0) & at_hi[r]
    out.held_hi[r[high]] += dr[high]


def _route_block(reps: list[int], others: list[tuple[int, list[int]]], delta: list[float], at_z: list[bool],
                 at_lo: list[bool], at_hi: list[bool], out: Routing, all_up: bool = False, least: bool = False
                 ) -> None:
    """One block, runs bottom (0) to top: ``reps`` their representatives, ``others`` (run,
    its other members) for the runs that have more. A run's other members route their own
    demand (a positive one to the representative below, a negative one from the one above;
    at the block's ends they settle themselves); the representatives carry the rest. Which
    representative absorbs how much is found backwards: the inflows into run j that let
    runs j..0 end balanced form an interval [lo_j, hi_j]; then forwards, each run passes
    down the amount nearest its inflow plus demand within the next run's interval.
    ``least`` (a leximin stage): every region that can hold its own demand on its own row or bound
    does (greedy), and each representative passes down the least admissible flow -- duals as valid, with
    chain flows no larger than the demands that need them (a block of 60,000 fixed regions at one
    level summed their demands into flows of 4e4, whose float rounding, 1e-10 a reduced cost,
    times the spare budget was eps: nothing was provable)."""
    top = len(reps) - 1
    agg = [delta[r] for r in reps]
    pos_in, neg_in = [0.0] * len(reps), [0.0] * len(reps)
    for j, run in others:
        for q in run:
            dq = delta[q]
            if least and ((dq > 0 and (at_z[q] or at_lo[q])) or (dq < 0 and at_hi[q])):
                _settle(q, dq, at_z, at_lo, at_hi, out)
                continue
            if dq > 0 and j > 0:
                out.send.append((q, reps[j - 1], dq))
                pos_in[j] += dq
            elif dq < 0 and j < top:
                out.send.append((reps[j + 1], q, -dq))
                neg_in[j] += -dq
            else:
                _settle(q, dq, at_z, at_lo, at_hi, out)
                continue
            agg[j] += dq
    if all_up:
        _pass_up(reps, agg, pos_in, neg_in, at_z, at_lo, at_hi, out)
    else:
        _pass_down(reps, agg, pos_in, neg_in, at_z, at_lo, at_hi, out, least)


def _pass_down(reps: list[int], agg: list[float], pos_in: list[float], neg_in: list[float], at_z: list[bool],
               at_lo: list[bool], at_hi: list[bool], out: Routing, least: bool = False) -> None:
    """The representatives' part of ``_route_block``: windows backwards, flows forwards (``least``:
    the least admissible flow where the representative can hold the rest from below)."""
    top = len(reps) - 1
    windows, inf = [(0.0, 0.0)], np.inf     # windows[j + 1]: admissible inflow into run j; run -1 takes 0
    lo, hi = 0.0, 0.0
    for r, a in zip(reps, agg):
        lo, hi = (0.0 if at_hi[r] else max(0.0, lo - a)), (inf if at_z[r] or at_lo[r] else hi - a)
        windows.append((lo, hi))
    flow, send, phi, held_lo, held_hi = 0.0, out.send, out.phi, out.held_lo, out.held_hi
    for j in range(top, -1, -1):
        rep = reps[j]
        lo, hi = windows[j]
        total = flow + agg[j]
        passed = min(max(total, lo), hi) if hi >= lo else lo
        if least and (at_z[rep] or at_lo[rep]) and j > 0:     # the least flow, none of it upwards
            passed = min(passed, max(lo, pos_in[j] + neg_in[j - 1]))
        rest = total - passed
        if rest > 0 and at_z[rep]:        # _settle, inlined (the loop runs once per region of long chains)
            phi[rep] += rest
        elif rest > 0 and at_lo[rep]:
            held_lo[rep] += rest
        elif rest < 0 and at_hi[rep]:
            held_hi[rep] += rest
        if j > 0:
            send.append((rep, reps[j - 1], passed - pos_in[j] - neg_in[j - 1]))
        flow = passed


def _pass_up(reps: list[int], agg: list[float], pos_in: list[float], neg_in: list[float], at_z: list[bool],
             at_lo: list[bool], at_hi: list[bool], out: Routing) -> None:
    """``_pass_down`` for a block whose representatives are all held from below (at z or on a
    lower bound) and none from above, with the same arithmetic: every window is [lo_j, inf)
    (run -1's [0, 0]), lo_j > 0 only in the stretch after a negative demand, and a run passes
    down its whole inflow plus demand (a running sum: numpy's cumsum adds in the same order)
    except where that total is negative or below lo_j; only those runs step one by one."""
    top, a = len(reps) - 1, np.array(agg)
    lo = np.zeros(top + 2)              # lo[j]: the lower end of windows[j]
    k = 0
    for j in np.flatnonzero(a < 0).tolist():
        cur, k = 0.0, max(k, j)        # windows[k] is 0 here: the stretch before ended there
        while k <= top and (k == j or cur > 0.0 or agg[k] < 0):
            cur = max(0.0, cur - agg[k])
            lo[k + 1], k = cur, k + 1
    passed = np.empty(top + 1)
    flow, j = 0.0, top
    for c in np.union1d(np.flatnonzero((a < 0) | (lo[:top + 1] > 0)), [0]).tolist()[::-1]:
        if j > c:
            cs = np.cumsum(np.r_[flow, a[j:c:-1]])
            passed[j:c:-1], flow = cs[1:], float(cs[-1])
        low, high = (float(lo[c]), np.inf) if c else (0.0, 0.0)
        total = flow + agg[c]
        flow = passed[c] = min(max(total, low), high) if high >= low else low
        _settle(reps[c], total - flow, at_z, at_lo, at_hi, out)
        j = c - 1
    amounts = passed[1:] - np.array(pos_in[1:]) - np.array(neg_in[:-1])
    out.send.extend(zip(reps[top:0:-1], reps[top - 1::-1] if top else [], amounts[::-1].tolist()))
