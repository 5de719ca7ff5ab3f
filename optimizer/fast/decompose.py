"""min-gini, owa and cvar on the bare core without LPs: the threshold decomposition.

The objectives are (up to a linear term) ``Phi(L) = int Q(W({r : L_r > t})) dt``, the
Lovasz extension of ``S -> Q(W(S))`` with Q concave (``CutFunction``): Gini's
``P(L) = sum_{i<j} w_i w_j |L_i - L_j|`` (Q(x) = x (W - x); min-gini runs Dinkelbach,
lam -> G* = min P / mu, over ``P - lam mu``), and minus a sum of absolute Lorenz values
(owa over population slices, cvar). On the bare core (budget row, transfer bounds, hard
thresholds, nothing else) the feasible set in level space is a box ``lo <= L <= hi`` and
one row ``sum_r n_r L_r <= C``. Dualising that row with ``lam_B >= 0`` leaves

    min_{lo <= L <= hi}  Phi(L) + sum_r c_r L_r,     c_r = lam_B n_r - lam w_r.

Its level sets ``S_t`` solve independent cut problems (threshold decomposition):
``min Q(W(S)) + c(S)`` over ``S`` containing the regions forced up (``lo_r > t``) and
none forced down (``hi_r <= t``). Q depends on ``W(S)`` only and is concave, so for fixed
``W(S)`` the best free part is a fractional knapsack and the minimum is at a prefix of the
free regions sorted by ``c_r / w_r`` ascending, i.e. by ``rho_r = n_r / w_r`` (for
lam_B > 0): the same order for every t and every subproblem (the regions above a
subproblem only shift Q's argument). Optimal levels are breakpoints ``{lo_r, hi_r}`` (an
LP vertex), so the decomposition algorithm (cut at the middle breakpoint, recurse on both
sides, all subproblems of a depth at once) needs ``ceil(log2 #breakpoints)`` vectorised
rounds: O(n log n).

The budget row: ``budget_bounded`` searches lam_B on the concave piecewise-linear dual
function (crossing of supporting lines, safeguarded by bisection) and mixes the two
minimisers at its maximiser to spend exactly C (KKT with that lam_B). The result is *not
trusted*: optimizer/fast (fastpath.py, decomposition_paths.py) accepts it only if an exact test of the KKT conditions of
the LP of record holds (``gini_bare_certificate``, optimizer/fast/cut_certificate.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.core.metrics import pairwise_ratio, pairwise_sum
from optimizer.fast.cut_bisection import stable_group_order
from optimizer.fast.cut_levels import (
    CutFunction,
    Grid,
    budget_price_hint,
    cut_order,
    guess_steps,
    guessed_indices,
    lagrangian_levels,
    least_indices,
    phi,
    typical_move,
    worth_guessing,
)

__all__ = ["CutFunction", "Grid", "cut_order", "lagrangian_levels", "budget_bounded", "budget_price_hint",
           "min_gini_bare", "max_lorenz_bare", "phi"]


@dataclass
class GiniSolution:
    level: np.ndarray
    lam: float          # Dinkelbach parameter at which ``level`` minimises P - lam mu
    lam_b: float        # the budget row's multiplier (0: budget slack)
    dinkelbach_steps: int
    inner_solves: int


def _spend(need: np.ndarray, level: np.ndarray, lo: np.ndarray, base: float) -> float:
    """What ``level`` spends: ``base`` (the spend at ``lo``) plus ``sum_r n_r (L_r - lo_r)``.
    Summed over the moves, not as ``sum n L - sum own``: the difference of two sums of all
    the money in play (1e6 solver units beside needs of 1e-7) rounds by 1e-10, which a
    budget of 0 turned into a transfer of 4.7e-5 to a region of need 0.011 (seed 101)."""
    return float(np.dot(need, level - lo)) + base


def lo_spend(need: np.ndarray, own: np.ndarray, lo: np.ndarray, spend: float | None) -> float:
    """The spend at the least levels ``lo``: ``spend`` when the caller knows it in money (the
    sum of the least transfers, exact where ``lo`` rounds), else ``sum n lo - sum own``."""
    return float(np.dot(need, lo)) - float(own.sum()) if spend is None else float(spend)


@dataclass(frozen=True)
class _Probe:
    """The least minimiser of the Lagrangian at one budget price, and what it spends."""

    lam_b: float
    level: np.ndarray
    spend: float
    idx: np.ndarray        # ``level`` as grid indices


@dataclass
class _Lagrangian:
    """min Phi - lam mu + lam_B spend over the box, probed at budget prices lam_B."""

    w: np.ndarray
    need: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    lam: float
    grid: Grid
    base: float                            # the spend at ``lo`` (``lo_spend``)
    cut: CutFunction | None
    centre: np.ndarray | None = None       # grid indices of an expected least minimiser (a start point)
    solves: int = 0
    last: _Probe | None = None             # the last probe, and the largest typical level move per relative
    drift: float = 0.0                     # price move between consecutive probes (grid steps, typical_move)
    memo: list = field(default_factory=list)   # (level, value) of the last values: the ends recur

    def probe(self, lam_b: float, lower: _Probe | None = None, upper: _Probe | None = None) -> _Probe:
        """The least minimiser at ``lam_b``; ``lower``/``upper``: probes at a higher / lower price (bounds)."""
        self.solves += 1
        g = self.grid
        lo_t = g.lo_i if lower is None else np.maximum(g.lo_i, lower.idx)
        hi_t = g.hi_i if upper is None else np.minimum(g.hi_i, upper.idx)
        # with a bound missing, guess a narrow box around the known side (or the start); with
        # both known but far apart, around the one nearer in price (``guessed_indices``)
        near = upper if lower is None else lower if upper is None or \
            lower.lam_b - lam_b < lam_b - upper.lam_b else upper
        centre = self.centre if near is None else \
            near.idx if lower is None or upper is None or worth_guessing(lo_t, hi_t) else None
        if centre is None:
            idx = least_indices(self.w, self.need, self.lam, lam_b, g, self.cut, lo_t, hi_t)
        else:
            # (the levels move about ``drift`` grid steps per relative change of the price; 0: unknown)
            move = self.drift * abs(lam_b - near.lam_b) / max(lam_b, 1e-300) if near and self.drift > 0 else None
            steps = None if near is None else guess_steps(move)
            idx = guessed_indices(self.w, self.need, self.lam, lam_b, g, self.cut, lo_t, hi_t, centre, steps)
        lev = g.values[idx]
        p = _Probe(lam_b, lev, _spend(self.need, lev, self.lo, self.base), idx)
        if self.last is not None and p.lam_b != self.last.lam_b:
            shift = typical_move(idx, self.last.idx)
            self.drift = max(self.drift, shift * max(lam_b, 1e-300) / abs(lam_b - self.last.lam_b))
        self.last = p
        return p

    def value(self, p: _Probe) -> np.longdouble:
        """Phi - lam mu: the Lagrangian without the budget term, summed in extended precision:
        the crossing of two supporting lines divides the difference of two such values by a
        spend difference of a few units, and in doubles the rounding of 1e6 terms moves
        that crossing by 1e-8 (relative), more than the gaps between pieces of the dual.
        A bracket end's value is reused while it stays an end; levels sorted by radix passes on p.idx."""
        for known, v in self.memo:
            if known is p.level:
                return v
        v = self._value(p.level, stable_group_order(self.grid.values.size - 1 - p.idx, self.grid.values.size))
        self.memo = [*self.memo[-3:], (p.level, v)]
        return v

    def _value(self, level: np.ndarray, order: np.ndarray) -> np.longdouble:
        ls = level[order].astype(np.longdouble)
        ws = self.w[order].astype(np.longdouble)
        top = np.cumsum(ws)
        if self.cut is None or self.cut.quadratic:
            qv = top * (top[-1] - top)
        else:
            k = np.searchsorted(self.cut.kinks, top.astype(float), side="left")
            cum_c = np.concatenate([[0.0], np.cumsum(self.cut.coef.astype(np.longdouble))])
            cum_d = np.concatenate([[0.0], np.cumsum(self.cut.coef.astype(np.longdouble) * self.cut.kinks)])
            qv = -(top * cum_c[k] - cum_d[k])
        return np.dot(ls[:-1] - ls[1:], qv[:-1]) + ls[-1] * qv[-1] - self.lam * np.dot(ws, ls)


def _bracket_from_hint(lag: _Lagrangian, cap: float, hint: float, hint_step: float
                       ) -> tuple[_Probe | None, _Probe]:
    """Bracket the estimated multiplier closely, widening geometrically on the side where
    it lies (x16 the step per probe, each probe bounded by the last): (overspending,
    fitting) probes, or (None, the probe at 0) when the budget is slack."""
    step = hint_step
    hi = lag.probe(hint * (1 + step))
    if hi.spend > cap:                             # the price is above the estimate
        lo = hi
        while step < 1e3:
            step *= WIDEN
            # (a higher price: the levels there are at most lo's)
            p = lag.probe(hint * (1 + step), upper=lo)
            if p.spend <= cap:
                return lo, p
            lo = p
        return lo, lo                              # _grow takes it from here
    lo = None
    while hi.spend <= cap and lo is None:
        # (a lower price: the levels there are at least hi's)
        p = lag.probe(hint / (1 + step) if step < 1e3 else 0.0, lower=hi)
        if p.spend > cap:
            lo = p
        elif p.lam_b == 0.0:
            return None, p                         # the budget is slack
        else:
            hi = p
            step *= WIDEN
    return (hi if lo is None else lo), hi


def _bracket_from_zero(lag: _Lagrangian, cap: float) -> tuple[_Probe | None, _Probe]:
    """(the probe at 0, one at the scale of the budget price), or (None, the probe at 0)
    when the budget is slack."""
    p0 = lag.probe(0.0)
    if p0.spend <= cap * (1 + 1e-12) + 1e-12:
        return None, p0
    # the scale of the budget price: (money -> level) x (the steepest slope of the
    # objective in a level: |lam| w_r + max |Q'| w_r)
    cut = lag.cut
    slope = abs(lag.lam) + (cut.magnitude() / max(cut.total, 1e-300) if cut is not None else float(lag.w.sum()))
    return p0, lag.probe(float(np.max(lag.w / lag.need)) * slope + 1e-300, upper=p0)


def _grow(lag: _Lagrangian, lo: _Probe, hi: _Probe, cap: float) -> tuple[_Probe, _Probe]:
    """Raise the upper price until its minimiser fits the budget (to rounding: when the
    budget just covers the least levels, their spend may exceed it by 1e-16)."""
    while hi.spend > cap * (1 + 1e-12) + 1e-12 and not np.array_equal(hi.level, lag.lo):
        lo, hi = hi, lag.probe(hi.lam_b * 4.0, upper=hi)
        if lag.solves > 2000:
            raise ArithmeticError("min-gini: no budget multiplier keeps the budget")
    return lo, hi


def _narrow(lag: _Lagrangian, lo: _Probe, hi: _Probe, cap: float, rtol: float) -> tuple[_Probe, _Probe]:
    """Shrink the bracket until the two ends both minimise at the upper price, the upper
    end spends the budget exactly, or the bracket is narrow (``budget_bounded``).

    The trial price is the root of the secant of spend(lam_B) between the ends (regula
    falsi with the Illinois rule: an end kept k times in a row has its residual halved
    k - 1 times). spend is a
    monotone step function with one small step per region; at 1e5-1e6 regions it is close
    to smooth and the secant converges superlinearly, where the crossing of the two
    supporting lines of the dual function (used alone before) only halves the bracket
    on a near-quadratic dual. Once the bracket is within 1e-4 (relative), every other step
    is that crossing, which ends the search exactly (below). Across a factor 4 (or from 0)
    the step is a bisection in log scale (from 0: an eighth of the upper end), and a
    step that shrinks the bracket by less than a tenth is followed by a bisection step."""
    bisect_next, streak, use_cross = False, 0, False   # streak: +k the lower end moved k times in a row
    for _ in range(500):
        width = hi.lam_b - lo.lam_b
        # (a bracket of 1e-12 relative width: the mix violates KKT by far less than the
        # certificate's tolerance even if pieces of g remain inside)
        if lo.spend <= hi.spend or width <= max(rtol, 1e-12) * hi.lam_b or \
                cap - hi.spend <= 1e-13 * max(1.0, abs(cap)):
            break
        r_lo, r_hi = lo.spend - cap, hi.spend - cap            # > 0, <= 0
        # Illinois: the end kept k >= 2 times in a row has its residual halved k - 1 times
        r_lo, r_hi = r_lo * 0.5 ** min(30, max(0, -streak - 1)), r_hi * 0.5 ** min(30, max(0, streak - 1))
        # (below 1e-6 the spend steps dominate and secant steps stall: crossings only)
        use_cross = width <= 1e-6 * hi.lam_b or (width <= 1e-4 * hi.lam_b and not use_cross)
        if use_cross:
            # (the spend difference summed over the level differences: exact to rounding
            # of the differences, where lo.spend - hi.spend cancels two sums of 1e6 terms)
            d_spend = float(np.dot(lag.need, lo.level - hi.level))
            trial = float((lag.value(hi) - lag.value(lo)) / d_spend) if d_spend > 0 else -1.0
        else:
            trial = lo.lam_b + width * r_lo / (r_lo - r_hi)
        wide = lo.lam_b <= 0 or hi.lam_b > 4 * lo.lam_b     # spend is far from linear across the bracket
        if bisect_next or wide or not lo.lam_b < trial < hi.lam_b:
            use_cross = False
            trial = (0.125 * hi.lam_b if lo.lam_b <= 0 else np.sqrt(lo.lam_b * hi.lam_b)) if wide \
                else 0.5 * (lo.lam_b + hi.lam_b)
        p = lag.probe(trial, hi, lo)
        if use_cross and (np.array_equal(p.level, hi.level) or np.array_equal(p.level, lo.level)):
            lo, hi, done = _check_crossing(lag, lo, hi, p, trial, cap)
            if done:
                break
            continue
        if p.spend > cap:
            lo = p
        else:
            hi = p
        streak = streak + 1 if p.spend > cap and streak >= 0 else 1 if p.spend > cap else \
            streak - 1 if streak <= 0 else -1
        bisect_next = not bisect_next and hi.lam_b - lo.lam_b > 0.9 * width
    return lo, hi


def _check_crossing(lag: _Lagrangian, lo: _Probe, hi: _Probe, p: _Probe, trial: float, cap: float
                    ) -> tuple[_Probe, _Probe, bool]:
    """The least minimiser ``p`` at the crossing is one of the two ends, so (in exact
    arithmetic) both minimise there and their mix is optimal. The crossing carries the
    rounding of the values (extended precision, ``_Lagrangian.value``), so it is checked:
    one probe NUDGE further towards the other end; if that lands on the other side, the
    bracket is NUDGE wide and its ends' mix violates KKT far below the certificate's
    tolerance. (Levels are compared, not values: they are exact grid values.) Returns the
    new bracket and whether the search is done."""
    up = np.array_equal(p.level, lo.level)
    lo, hi = (p, hi) if up else (lo, p)
    nudge = trial * (1 + NUDGE) if up else trial * (1 - NUDGE)
    if not lo.lam_b < nudge < hi.lam_b:
        return lo, hi, True
    q = lag.probe(nudge, hi, lo)
    lo, hi = (q, hi) if q.spend > cap else (lo, q)
    return lo, hi, hi.lam_b - lo.lam_b <= 1.5 * NUDGE * hi.lam_b


def budget_bounded(w: np.ndarray, need: np.ndarray, lo: np.ndarray, hi: np.ndarray, cap: float,
                   base: float, lam: float, grid: Grid, lam_b_hint: float | None = None,
                   widths: tuple[float, float] = (0.0, 1e-3), cut: CutFunction | None = None,
                   start: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """min Phi - lam mu over the box and ``base + sum n (L - lo) <= cap`` (Phi = P unless
    ``cut``; ``base``: the spend at ``lo``).

    The dual function ``g(lam_B) = min_L Phi - lam mu + lam_B (spend(L) - cap)`` is concave
    piecewise linear; each least minimiser L gives a supporting line of slope
    spend(L) - cap. Bracket the maximiser between a minimiser that overspends (lam_lo) and
    one that fits (lam_hi), then intersect their two lines: at the crossing lam* either a
    third minimiser beats both (it replaces the bracket end on its side) or the least
    minimiser there is one of the ends, so both minimise there, and mixing them to spend
    exactly ``cap`` is optimal (KKT with lam_B = lam*). A crossing step that does not halve
    the bracket is followed by a bisection step. The search also stops at a bracket of
    relative width ``max(rtol, 1e-12)``: the mix is then feasible and, at 1e-12, optimal to
    well within the certificate's tolerance; the loose Dinkelbach steps use rtol = 1e-4.
    ``widths``: (rtol, the first bracket's relative half-width around ``lam_b_hint``);
    ``start``: levels expected near the first probe's (a guess: ``guessed_indices``).
    Returns (levels, lam_B, inner solves)."""
    rtol, hint_step = widths
    centre = None if start is None else np.searchsorted(grid.values, start)
    lag = _Lagrangian(w, need, lo, hi, lam, grid, base, cut, centre)
    low, high = _bracket_from_hint(lag, cap, lam_b_hint, hint_step) if lam_b_hint else _bracket_from_zero(lag, cap)
    if low is None:
        return high.level, 0.0, lag.solves
    low, high = _narrow(lag, *_grow(lag, low, high, cap), cap, rtol)
    alpha = (cap - high.spend) / (low.spend - high.spend) if low.spend > high.spend else 0.0
    level = high.level + min(1.0, max(0.0, alpha)) * (low.level - high.level)
    return level, high.lam_b, lag.solves


def min_gini_bare(w: np.ndarray, need: np.ndarray, own: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  budget: float, start: np.ndarray, tol: float = 1e-10, max_steps: int = 60,
                  lam_b_hint: float | None = None, spend: float | None = None,
                  start_gini: float | None = None) -> GiniSolution:
    """Dinkelbach: lam <- G(L_k) = P(L_k) / mu(L_k) from a feasible ``start`` until
    ``F(lam) = P - lam mu >= -tol mu`` at the inner optimum. ``hi`` may be infinite: it is
    clipped at what the whole budget could buy (cuts off no feasible point). ``spend``: the
    spend at ``lo`` in money (``lo_spend``); ``start_gini``: ``pairwise_ratio(start, w)`` if
    the caller has it."""
    spend_lo = base = lo_spend(need, own, lo, spend)
    hi_eff = np.minimum(hi, lo + max(0.0, budget - spend_lo) / need)
    rank = np.empty(w.size, dtype=np.int64)
    rank[cut_order(w, need)] = np.arange(w.size)
    grid = Grid.of(lo, hi_eff, rank)
    lam = pairwise_ratio(start, w) if start_gini is None else start_gini
    # with an estimated price (a leximin start, usually within a few per cent of G*) the
    # searches are exact from the first: the loose ones cost more probes than they save
    lam_b, steps, solves, moved = lam_b_hint, 0, 0, (HINT_STEP if lam_b_hint else 1e-3)
    exact = lam_b_hint is not None
    guess = start if exact else None      # (the leximin start: its levels are near the first probe's)
    while True:
        # the hint's first bracket: the move of lam, but at least the width the last loose
        # search left (1e-4), else the exact step re-brackets from 1e-9 by factors of 4
        level, lam_b, k = budget_bounded(w, need, lo, hi_eff, budget, base, lam, grid, lam_b,
                                         (0.0 if exact else 1e-4, min(0.1, max(1e-4 if steps else 1e-9, moved))),
                                         start=guess)
        guess = level
        solves += k
        steps += 1
        p, mu = pairwise_sum(level, w), float(np.dot(w, level))
        if p <= tol * mu or steps >= max_steps or (exact and p - lam * mu >= -tol * mu):
            return GiniSolution(level, lam, lam_b, steps, solves)   # (Gini 0 is optimal)
        # inexact steps: any feasible L gives G(L) >= G*, so lam <- G(L) stays an upper
        # bound; once that stalls, exact inner solves decide (F(lam) = 0 <=> lam = G*)
        if not exact and p / mu >= lam * (1 - 1e-6):
            exact = True
        moved = (lam - min(lam, p / mu)) / lam if lam > 0 else 1e-3
        lam = min(lam, p / mu)


NUDGE = 1e-10      # the check of a crossing step (``_narrow``), relative
# the first bracket around an estimated budget price (``budget_price_hint``, cut_levels.py), widened x16 per
# probe: the leximin split's estimate is within 1e-6 - 1e-4 of the price on 1e5-1e6-region
# instances, and a bracket that narrow needs few probes to close (1e-3 took 8-21 in all;
# x16 reaches a 1e-4 miss in 3 probes where x4 took 5)
HINT_STEP = 1e-6
WIDEN = 16.0


@dataclass
class LorenzSolution:
    level: np.ndarray
    value: float        # sum_k c_k Lorenz(beta_k) at ``level``
    lam_b: float
    inner_solves: int


def max_lorenz_bare(w: np.ndarray, need: np.ndarray, own: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    budget: float, beta: np.ndarray, c: np.ndarray, lam_b_hint: float | None = None,
                    start: np.ndarray | None = None, spend: float | None = None) -> LorenzSolution:
    """max sum_k c_k Lorenz(beta_k)(L) (owa over population slices; cvar = one term with
    c = 1/alpha) on the bare core: one budget search over the threshold decomposition with
    Q(x) = -sum_k c_k (x - (W - beta_k))+ (no Dinkelbach: the objective is not a ratio).
    ``start``: levels expected near the optimum (the leximin split), a guess only;
    ``spend``: the spend at ``lo`` in money (``lo_spend``)."""
    cut = CutFunction.lorenz(float(w.sum()), beta, c)
    spend_lo = base = lo_spend(need, own, lo, spend)
    hi_eff = np.minimum(hi, lo + max(0.0, budget - spend_lo) / need)
    rank = np.empty(w.size, dtype=np.int64)
    rank[cut_order(w, need)] = np.arange(w.size)
    grid = Grid.of(lo, hi_eff, rank)
    level, lam_b, k = budget_bounded(w, need, lo, hi_eff, budget, base, 0.0, grid, lam_b_hint, (0.0, HINT_STEP),
                                     cut=cut, start=start)
    return LorenzSolution(level, -phi(level, w, cut), lam_b, k)
