"""max-mean with policy rows: the point of the Lagrangian layers (optimizer/fast/policy_mean.py)
with the duals that make it the optimum of the max-mean LP of record, certified.

The LP of record (models/spread.py ``max_mean``, solver units, L_r = (o_r + T_r) / n_r):

    max sum_r w_r L_r  s.t.  budget sum_r T_r <= B, the core's thresholds (hard: folded into
    the bounds; scarcity: soft with costless shortfalls), the policy rows (folded into
    bounds A_r <= L_r <= B_r, optimizer/fast/policy_path.py), no-overtaking rows
    L_p - L_q <= 0 (p in a level-before group, q in the next one up), group rows;

then the least total transfer among its optima.

The point. ``budget_bracket`` ends with two maximisers of the Lagrangian
g(lambda) = max{sum c_r L_r : bounds, chain}, c_r = w_r - lambda n_r, one spending more than
B' = B + sum o (over) and one at most (under), at prices that close the value gap to 1e-9;
``adjacent_pair`` moves them on (the price where their supporting lines meet) until the
maximiser there repeats one of them, so that both maximise g at one price. The point
is their combination spending B' (regions where both agree keep that level exactly). With
the direction D = over - under, lambda* = w.D / n.D is the price at which both are maximisers
(the Lagrangian is flat along D); at lambda = 0 with every level at its upper bound (the
budget does not bind) lambda* = 0. The point L is feasible by construction and the
certificate below proves it optimal; nothing else is assumed.

The duals (the min convention; returned negated, HiGHS's convention for a max problem):
-lambda* on the budget row, and per region a push rho_r = c_r - abs_r (level units) where
abs_r > 0 is an upper-bound dual (only at L_r = B_r) and abs_r < 0 a lower-bound dual (only
at L_r = A_r), both put on the row setting that bound (``put_duals``) or left in the reduced
cost for a column bound. Pushes travel along tight chain rows only: a block is the regions
at one level v (with no-overtaking they form a run of consecutive groups, the layers, since
every group between two members at v is held at v), and a row between layers g and g + 1 of
a block carries nu >= 0, an upward push. Per region out_r - in_r = rho_r; per block the
flow F_g across layers g|g+1 satisfies F_{g-1} >= Neg_g (the downward pushes of layer g rest
on the layer below), F = 0 below the block and above it. Without no-overtaking every block
is one region: rho_r = 0 (abs_r = c_r, signs as above).

Construction (``_flows``, every block at once by running sums): each region first absorbs what it can of its own
push (a region at A_r its downward push, at B_r its upward one); going up, a layer whose
downward pushes exceed the flow from below gets it from the nearest layer below holding a
region at A_r (which may push up without limit); going down from the top, the flow left at
the top is absorbed by the highest layers holding a region at B_r, each within the slack of
every layer from it up. When this fails the round goes to the LP. The flows between two
layers are split among the member pairs by the north-west corner rule (the rows between
consecutive groups are complete bipartite).

Tie-break: with lambda* > 0 every optimum spends the budget (a binding dual), so the least
total transfer is B for all of them and this optimum is one of phase 2's; with lambda* = 0
every region is at its upper bound, the only optimum when every weight is > 0 (a zero
weight: declined).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.levels import level_of
from optimizer.core.solution import Run
from optimizer.fast.certify import Certificate, certify
from optimizer.fast.policy_mean import ChainMean, Point, budget_bracket, mean_round, next_price, record_x
from optimizer.fast.policy_path import Envelope, envelope, put_duals, record_lp
from optimizer.fast.prefix_scan import segment_cumsum
from optimizer.fast.solutions import closed_form_solution

SNAP = 1e-12
POLISH = 60         # secant steps (a bisection every third after the first three) to an adjacent pair
SOLVED_BY = ("Lagrangian layers on the envelopes (policy rows as transfer bounds, no-overtaking as a chain) "
             "with chain-flow duals, certified optimal for the LP of record (optimizer/fast/policy_mean_point.py)")


def adjacent_pair(cm: ChainMean, seen: list[Point], budget: float) -> tuple[Point | None, Point | None]:
    """(over, under): the last points ``budget_bracket`` evaluated on each side of the budget,
    then moved by the price where their supporting lines meet until a new point repeats one
    of them: both are then maximisers of the Lagrangian at one price (the bracket stops at a
    1e-9 gap in value, which is not yet that)."""
    fits = budget                            # a spending over B' by rounding only fits (as in
    if not any(p.spend <= fits for p in seen):   # budget_bracket) when nothing else does
        fits = budget * (1 + 1e-12)
    over = next((p for p in reversed(seen) if p.spend > fits), None)
    under = next((p for p in reversed(seen) if p.spend <= fits), None)
    if over is None or under is None or not np.isfinite(over.spend):
        return over, under
    for step in range(POLISH):
        p = cm.at(next_price(over, under, budget, step if step >= 3 else 0), budget)
        if np.array_equal(p.level, over.level) or np.array_equal(p.level, under.level):
            break
        over, under = (p, under) if p.spend > fits else (over, p)
    return over, under


def bracket_points(over: Point | None, under: Point | None, budget: float, w: np.ndarray, need: np.ndarray,
                   lam_top: float) -> list[tuple[np.ndarray, float]]:
    """Candidate (L, lambda*) of the module docstring from the pair ``adjacent_pair`` found;
    when ``under`` spends the budget (the least point, say) also ``under`` at ``lam_top``,
    the bracket's highest price, where every c_r <= 0 (every region pushes down): the pair's
    kink price may rest on the layers' implied cap, which is no LP row."""
    if under is None:
        return []
    if over is None or not np.isfinite(over.spend):
        return [(under.level, 0.0)] if under.lam == 0.0 else []
    theta = min(1.0, max(0.0, (budget - under.spend) / (over.spend - under.spend)))
    same = over.level == under.level
    level = np.where(same, under.level, theta * over.level + (1.0 - theta) * under.level)
    d = np.where(same, 0.0, over.level - under.level)
    nd = float(np.dot(need, d))
    out = [(level, float(np.dot(w, d)) / nd)] if nd > 0 else []
    return out + ([(under.level, lam_top)] if theta <= 1e-12 else [])


def _flows(c: np.ndarray, can_a: np.ndarray, can_b: np.ndarray, layer: np.ndarray, lblock: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """(rho per member, F per layer) of every block at once (members sorted by block and
    layer; ``layer`` the global layer of each member, ``lblock`` the block of each layer)."""
    rho = np.where(can_a & can_b, 0.0, np.where(can_a, np.maximum(c, 0.0), np.where(can_b, np.minimum(c, 0.0), c)))
    k = lblock.size
    cap_up = np.where(can_b & ~can_a, np.maximum(c, 0.0), np.where(can_a, np.inf, 0.0))   # may push up more
    cap_dn = np.where(can_a & ~can_b, np.maximum(-c, 0.0), np.where(can_b, np.inf, 0.0))  # may take more in
    up, dn = _sums(layer, cap_up, k), _sums(layer, cap_dn, k)
    pos = np.bincount(layer, weights=np.maximum(rho, 0.0), minlength=k)
    neg = np.bincount(layer, weights=np.maximum(-rho, 0.0), minlength=k)
    first = np.r_[True, lblock[1:] != lblock[:-1]]
    last = np.r_[first[1:], True]
    # up: the deficits of the layers (downward pushes beyond the flow from below) met by the
    # lowest layers with room to push more (the most slack above them)
    short = neg - _before(segment_cumsum(pos - neg, lblock), first)
    deficit = np.maximum.reduceat(np.maximum(short, 0.0), np.flatnonzero(first))[lblock]
    given = np.minimum(_cumsum_inf(up, lblock), deficit)
    supply = given - _before(given, first)
    flow = segment_cumsum(pos - neg + supply, lblock)
    top = np.maximum(flow[last], 0.0)[lblock]     # what reaches a block's top layer
    # down: absorbed by the highest layers that may take more in
    held = np.minimum(_cumsum_inf(dn[::-1], lblock[::-1])[::-1], top)
    held_above = _after(held, last)
    sink = held - held_above
    flow = np.where(last, 0.0, flow - (top - held_above))   # the top's residual: a (checked) dual error
    return rho + _spread(supply, cap_up, layer) - _spread(sink, cap_dn, layer), flow


def _cumsum_inf(v: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """``segment_cumsum`` of values >= 0 some of which are +inf (inf from the first on; the
    grouped running sum itself turns inf + x into nan)."""
    inf = np.isinf(v)
    return np.where(segment_cumsum(inf.astype(float), segment) > 0, np.inf,
                    segment_cumsum(np.where(inf, 0.0, v), segment))


def _before(v: np.ndarray, first: np.ndarray) -> np.ndarray:
    """v of the previous layer of the block (0 at a block's first layer)."""
    return np.where(first, 0.0, np.r_[0.0, v[:-1]])


def _after(v: np.ndarray, last: np.ndarray) -> np.ndarray:
    """v of the next layer of the block (0 at a block's last layer)."""
    return np.where(last, 0.0, np.r_[v[1:], 0.0])


def _sums(layer: np.ndarray, cap: np.ndarray, k: int) -> np.ndarray:
    finite = np.bincount(layer, weights=np.where(np.isfinite(cap), cap, 0.0), minlength=k)
    return np.where(np.bincount(layer, weights=np.isinf(cap), minlength=k) > 0, np.inf, finite)


def _spread(amount: np.ndarray, cap: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """Each layer's ``amount`` over its members in order, each within its cap (an infinite
    cap takes the rest)."""
    want = amount[layer]
    room = np.where(np.isinf(cap), want, cap)
    before = segment_cumsum(room, layer) - room
    return np.clip(want - before, 0.0, room)


def _north_west(out: np.ndarray, into: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, amount): a transport of supplies ``out`` to demands ``into`` (equal sums)."""
    cs, cd = np.r_[0.0, np.cumsum(out)], np.r_[0.0, np.cumsum(into)]
    cd[-1] = cs[-1]
    cuts = np.unique(np.r_[cs, cd])
    mid = 0.5 * (cuts[:-1] + cuts[1:])
    i = np.clip(np.searchsorted(cs, mid, side="right") - 1, 0, out.size - 1)
    j = np.clip(np.searchsorted(cd, mid, side="right") - 1, 0, into.size - 1)
    amount = np.diff(cuts)
    keep = amount > 0
    return i[keep], j[keep], amount[keep]


def _pair_rows(d: RegionData, group: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Index, within the no-overtaking block, of the row L_p - L_q <= 0 for p in group g and q
    in group g + 1 (the order of ``overtaking_pairs``: groups descending, members by index)."""
    size = np.bincount(group)
    big = size.shape[0]
    desc_size = size[::-1]
    offset = np.r_[0, np.cumsum(desc_size[:-1] * desc_size[1:])]
    order = np.lexsort((np.arange(d.n), group))
    pos = np.empty(d.n, dtype=np.int64)
    pos[order] = np.arange(d.n) - np.r_[0, np.cumsum(size)[:-1]][group[order]]
    j = big - 1 - group[q]                    # the pair block of q's group (descending) and the next
    return offset[j] + pos[q] * desc_size[j + 1] + pos[p]


def _chain_pushes(d: RegionData, env: Envelope, level: np.ndarray, c: np.ndarray, can_a: np.ndarray,
                  can_b: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """(rho, (p, q, nu)): the pushes of every region and the flows on the tight chain rows."""
    rho = np.where(can_a & can_b, 0.0, np.where(can_a, np.maximum(c, 0.0), np.where(can_b, np.minimum(c, 0.0), c)))
    if not env.chain:
        return rho, (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0),)
    order = np.lexsort((np.arange(d.n), env.group, level))
    lv, gv = level[order], env.group[order]
    new_block = np.r_[True, lv[1:] != lv[:-1]]
    new_layer = new_block | np.r_[True, gv[1:] != gv[:-1]]
    if np.any(~new_block & new_layer & (np.r_[0, np.diff(gv)] != 1)):
        return None                                # a block skipping a group: not a chain block
    layer = np.cumsum(new_layer) - 1
    lblock = (np.cumsum(new_block) - 1)[np.flatnonzero(new_layer)]
    r, flow = _flows(c[order], can_a[order], can_b[order], layer, lblock)
    rho[order] = r
    return rho, _pairs(order, layer, rho, flow)


def _pairs(order: np.ndarray, layer: np.ndarray, rho: np.ndarray, flow: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, q, nu) of the flows F between consecutive layers of a block, split among members:
    one side a single region (a star, vectorised), else the north-west corner rule."""
    r = rho[order]
    into, out = np.maximum(-r, 0.0), np.maximum(r, 0.0)
    k = int(layer[-1]) + 1
    lstart = np.flatnonzero(np.r_[True, layer[1:] != layer[:-1]])
    came = np.r_[0.0, flow[:-1]]                 # F_{g-1}: 0 into a block's first layer
    extra = np.maximum(came - np.bincount(layer, weights=into, minlength=k), 0.0)
    into[lstart] += extra
    out[lstart] += extra
    size = np.bincount(layer, minlength=k)
    live = np.r_[flow[:-1] > 0, False]           # boundary g|g+1 carries flow
    nxt = np.r_[size[1:], 0]
    star_up = live & (size == 1)                 # one region below: it feeds each one above
    star_down = live & (size > 1) & (nxt == 1)   # one region above: each one below feeds it
    m_up = np.flatnonzero((layer >= 1) & star_up[np.maximum(layer - 1, 0)])
    m_dn = np.flatnonzero(star_down[layer])
    ps = [order[lstart[layer[m_up] - 1]], order[m_dn]]
    qs = [order[m_up], order[lstart[layer[m_dn] + 1]]]
    nus = [into[m_up], out[m_dn]]
    for g in np.flatnonzero(live & (size > 1) & (nxt > 1)):
        a0, b0 = lstart[g], lstart[g + 1]
        i, j, nu = _north_west(out[a0:b0], into[b0:b0 + size[g + 1]])
        ps.append(order[a0 + i])
        qs.append(order[b0 + j])
        nus.append(nu)
    return np.concatenate(ps), np.concatenate(qs), np.concatenate(nus)


def snapped(level: np.ndarray) -> np.ndarray:
    """The levels with each run of values within SNAP (relative) of the previous one set to
    the run's first: the layers add interval lengths region by region, so one block's level
    may differ in the last bits from member to member."""
    order = np.argsort(level, kind="stable")
    lv = level[order]
    new = np.r_[True, np.diff(lv) > SNAP * np.maximum(1.0, np.abs(lv[1:]))]
    out = np.empty_like(level)
    out[order] = lv[np.flatnonzero(new)][np.cumsum(new) - 1]
    return out


def at_bounds(env: Envelope, d: RegionData, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(at A_r, at B_r) within SNAP."""
    a, b = level_of(d.own, d.need, env.lo), level_of(d.own, d.need, env.hi)
    near = [np.isfinite(v) & (np.abs(level - v) <= SNAP * np.maximum(1.0, np.abs(v))) for v in (a, b)]
    return near[0], near[1]


def mean_duals(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
               lam: float) -> np.ndarray | None:
    """The duals of the module docstring, in HiGHS's convention for the max problem."""
    c = d.weight - lam * d.need
    can_a, can_b = at_bounds(env, d, level)
    found = _chain_pushes(d, env, level, c, can_a, can_b)
    if found is None:
        return None
    rho, (p, q, nu) = found
    y = np.zeros(lp.num_row)
    y[lay["rows:budget"]] = -lam
    if nu.size:
        np.add.at(y, lay["rows:no_overtaking"].start + _pair_rows(d, env.group, p, q), -nu)
    held = c - rho                               # > 0: an upper bound's dual, < 0: a lower bound's
    for side, row, coef in ((held < 0, env.lo_row, env.lo_coef), (held > 0, env.hi_row, env.hi_coef)):
        idx = np.flatnonzero(side)
        put_duals(y, lay, row, coef, d.need, -held[idx], idx)
    return -y


def _certified(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, level: np.ndarray,
               lam: float) -> tuple[np.ndarray, np.ndarray | None, Certificate | None]:
    """(x, y, its certificate) of the point ``level`` at the price ``lam``."""
    x = record_x(lp, lay, d, level)
    can_a, can_b = at_bounds(env, d, level)
    x[lay["transfer"]] = np.where(can_a, env.lo, np.where(can_b, env.hi, x[lay["transfer"]]))
    y = mean_duals(lp, lay, env, d, level, lam)
    return x, y, None if y is None else certify(lp, x, y)


def mean_point_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram], hard: bool) -> Run | None:
    """The certified max-mean Run with policy rows, or None (the LP path decides)."""
    scarce = bool(data.options.get("threshold_caps"))
    if not (hard or scarce) or np.any(data.weight <= 0):
        return None
    lp, build_seconds = record_lp(data, build, "max-mean")
    t1 = time.perf_counter()
    folded = hard and not scarce
    mr = mean_round(lp, data, folded)
    if mr is None:
        return None
    level, seen = budget_bracket(mr.cm, mr.budget, float(np.max(lp.cost[mr.lay["transfer"]], initial=0.0)))
    env = envelope(lp, mr.lay, data, folded)
    if level is None or env is None:
        return None
    for level, lam in bracket_points(*adjacent_pair(mr.cm, seen, mr.budget), mr.budget, mr.cm.w, data.need,
                                     max(p.lam for p in seen)):
        x, y, cert = _certified(lp, mr.lay, env, data, snapped(level), lam)
        if cert is not None and cert.ok:
            break
    else:
        return None
    first = closed_form_solution(lp, x, y, float(lp.cost @ x + lp.offset), time.perf_counter() - t1)
    first.algorithm = "Lagrangian layers"
    info = {"solved_by": SOLVED_BY,
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, mr.lay, build_seconds, info)
