"""The inner solve of the threshold decomposition (optimizer/fast/decompose.py): the least
minimiser of ``Phi(L) + sum_r c_r L_r`` over a box, Phi the Lovasz extension of
``S -> Q(W(S))`` with Q concave (``CutFunction``), by bisection of every region's level over
the breakpoints at once (the math: decompose.py's docstring)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.core.metrics import pairwise_sum
from optimizer.fast.cut_bisection import bisect_indices


@dataclass(frozen=True)
class CutFunction:
    """Q concave on [0, W] with Q(0) = 0: the objective is Phi(L) = int Q(W({L > t})) dt
    (the Lovasz extension of S -> Q(W(S))), plus a linear term.

    - Gini's P(L) = sum_{i<j} w_i w_j |L_i - L_j|:  Q(x) = x (W - x)
    - minus the absolute Lorenz curve at beta (total level of the worst beta of the
      population):  Q(x) = -(x - (W - beta))+ ; owa and cvar are sums of these.
    Evaluated by ``value`` on arrays; ``kinks``/``coef`` describe the piecewise-linear
    ones (x - theta_k)+ with coefficients -c_k (None for Gini's quadratic)."""
    total: float
    quadratic: bool = False
    kinks: np.ndarray | None = None     # theta_k, ascending
    coef: np.ndarray | None = None      # c_k > 0: Q(x) = -sum_k c_k (x - theta_k)+

    @staticmethod
    def gini(total: float) -> CutFunction:
        return CutFunction(total, quadratic=True)

    @staticmethod
    def lorenz(total: float, beta: np.ndarray, c: np.ndarray) -> CutFunction:
        """-sum_k c_k Lorenz(beta_k): minimising it maximises sum_k c_k Lorenz(beta_k)."""
        theta = total - np.asarray(beta, dtype=float)
        order = np.argsort(theta, kind="stable")
        return CutFunction(total, kinks=theta[order], coef=np.asarray(c, dtype=float)[order])

    def value(self, x: np.ndarray, ascending: bool = False) -> np.ndarray:
        """Q at every x; ``ascending``: x is nondecreasing, so the pieces of Q are contiguous
        slices of x (the same arithmetic, without a search and two gathers per entry)."""
        if self.quadratic:
            return x * (self.total - x)
        # -sum_{theta_k < x} c_k (x - theta_k) = -(x C(x) - D(x)), C, D prefix sums
        cum_c = np.concatenate([[0.0], np.cumsum(self.coef)])
        cum_d = np.concatenate([[0.0], np.cumsum(self.coef * self.kinks)])
        if not ascending:
            k = np.searchsorted(self.kinks, x, side="left")
            return -(x * cum_c[k] - cum_d[k])
        out = np.empty_like(x)
        cuts = [0, *np.searchsorted(x, self.kinks, side="right").tolist(), x.size]   # x[cuts[k]:] > kinks[k - 1]
        for k in range(len(cuts) - 1):
            out[cuts[k]:cuts[k + 1]] = -(x[cuts[k]:cuts[k + 1]] * cum_c[k] - cum_d[k])
        return out

    def steepest(self) -> float:
        """max over x of -Q'(x): the most a unit of weight gains by rising (Gini: W)."""
        return self.total if self.quadratic else float(self.coef.sum())

    def magnitude(self) -> float:
        return self.total * self.total if self.quadratic else float(self.coef.sum()) * max(self.total, 1.0)


def phi(level: np.ndarray, w: np.ndarray, cut: CutFunction | None = None) -> float:
    """Phi(L) = int Q(W({L > t})) dt (from t = 0): sum over the levels sorted descending of
    (L_(k) - L_(k+1)) Q(weight of the top k), plus L_min Q(W)."""
    if cut is None or cut.quadratic:
        return pairwise_sum(level, w)
    order = np.argsort(-level, kind="stable")
    ls, top = level[order], np.cumsum(w[order])
    qv = cut.value(top)
    return float(np.dot(ls[:-1] - ls[1:], qv[:-1]) + ls[-1] * qv[-1])


def cut_order(w: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Regions by rho = n / w ascending (index on ties); zero weights last."""
    rho = np.where(w > 0, need / np.where(w > 0, w, 1.0), np.inf)
    return np.lexsort((np.arange(w.size), rho))


def lagrangian_levels(w: np.ndarray, need: np.ndarray, lo: np.ndarray, hi: np.ndarray, lam: float,
                      lam_b: float, rank: np.ndarray, grid: Grid | None = None,
                      cut: CutFunction | None = None, lower: np.ndarray | None = None,
                      upper: np.ndarray | None = None) -> np.ndarray:
    """The least minimiser of ``Phi(L) + sum_r (lam_b n_r - lam w_r) L_r`` over the box
    (``hi`` finite); Phi = Gini's P unless ``cut`` says otherwise. ``rank[r]`` is r's
    position in ``cut_order``. Every region's level is bisected over the grid values at
    once: each step cuts every group of regions sharing an interval at its middle value.

    ``lower``/``upper`` (grid values): bounds known to hold for the least minimiser, from
    the least minimisers at a higher / lower budget price (they fall as lam_B rises: for
    submodular F and c <= c' the least minimiser of F + c' is inside that of F + c, at
    every level set). The box shrinks to them and the bisection starts from the chains of
    overlapping shrunk intervals (``group_intervals``, cut_bisection.py), so a narrow bracket costs few rounds."""
    g = grid if grid is not None else Grid.of(lo, hi, rank)
    lo_t, hi_t = g.lo_i, g.hi_i
    if lower is not None:
        lo_t = np.maximum(lo_t, np.searchsorted(g.values, lower))
    if upper is not None:
        hi_t = np.minimum(hi_t, np.searchsorted(g.values, upper))
    return g.values[least_indices(w, need, lam, lam_b, g, cut, lo_t, hi_t)]


def least_indices(w: np.ndarray, need: np.ndarray, lam: float, lam_b: float, g: Grid,
                  cut: CutFunction | None, lo_t: np.ndarray, hi_t: np.ndarray) -> np.ndarray:
    """``lagrangian_levels`` over the box of grid indices lo_t..hi_t (within the grid's own
    box): the grid indices of the least minimiser there (optimizer/fast/cut_bisection.py)."""
    q = cut if cut is not None else CutFunction.gini(float(w.sum()))
    c = lam_b * need - lam * w
    scale = float(np.abs(c).max()) * max(1.0, float(np.abs(g.values).max())) + q.magnitude()
    return bisect_indices(w, c, g.perm, g.values.size, q, 1e-13 * scale, lo_t, hi_t)


# the half-widths (grid steps) of the guessed boxes ``guessed_indices`` tries in turn: the
# block of tied regions moves 10-40 grid steps between the first probes at 1e6 regions
GUESS_STEPS = (64, 1024)


def guessed_indices(w: np.ndarray, need: np.ndarray, lam: float, lam_b: float, g: Grid,
                    cut: CutFunction | None, lo_t: np.ndarray, hi_t: np.ndarray, centre: np.ndarray,
                    steps: tuple[int, ...] | None = None) -> np.ndarray:
    """``least_indices`` over the valid box lo_t..hi_t, solved first on guessed boxes
    ``centre +- k`` (grid steps) inside it, which take log2(2k) rounds instead of log2 of
    the box's span. A guess is accepted only when no guessed bound binds: if the least
    minimiser L' over a sub-box B' is strictly inside every bound of B' that is tighter
    than the valid box B's, B' and B agree near L', so L' is a local, hence (convexity of
    the Lovasz extension) a global minimiser over B; and for any minimiser L* <= L' over
    B, the segment from L' towards L* starts inside B' and consists of minimisers, which
    contradicts L' being the least in B' unless L* = L'. So L' is B's least minimiser.
    Otherwise the next guess, and at last the valid box itself. ``steps``: the half-widths
    tried (default ``GUESS_STEPS``, read at each call).

    Exact bound first: a region whose cost per unit of level c_r = lam_b n_r - lam w_r is
    at least w_r max(-Q') gains nothing anywhere by rising (Phi's derivative in L_r is at
    least -w_r max(-Q')), so the least minimiser leaves it at its lower bound."""
    q = cut if cut is not None else CutFunction.gini(float(w.sum()))
    c = lam_b * need - lam * w
    hi_t = np.where(c > w * q.steepest() * (1 + 1e-9), lo_t, hi_t)
    centre = np.clip(centre, lo_t, hi_t)
    for k in GUESS_STEPS if steps is None else steps:
        gl, gu = guess_box(lo_t, hi_t, centre, k, (centre > g.lo_i) & (centre < g.hi_i))
        idx = least_indices(w, need, lam, lam_b, g, cut, gl, gu)
        if not np.any(((gl > lo_t) & (idx <= gl)) | ((gu < hi_t) & (idx >= gu))):
            return idx
    return least_indices(w, need, lam, lam_b, g, cut, lo_t, hi_t)


def guess_steps(expected: float | None) -> tuple[int, ...]:
    """The half-widths worth trying when the levels are expected to move by up to
    ``expected`` grid steps from the centre (unknown: ``GUESS_STEPS``; known: the narrowest
    of a quarter, a half of ``GUESS_STEPS[0]`` and ``GUESS_STEPS`` that is at least twice
    that, then the widest): a guess that binds costs a whole solve. A narrowing probe near
    a bracket end moves the tied block a few steps: 5-6 rounds instead of 10 at 1e6 regions."""
    if expected is None:
        return GUESS_STEPS
    fit = [k for k in (GUESS_STEPS[0] // 4, GUESS_STEPS[0] // 2, *GUESS_STEPS) if k >= max(1.0, 2.0 * expected)]
    # (the narrowest that fits, then the widest: a cascade of failing guesses costs more than it saves)
    return tuple(dict.fromkeys(fit[:1] + list(GUESS_STEPS[-1:])))


def typical_move(idx: np.ndarray, before: np.ndarray) -> int:
    """How far the levels moved between two probes, in grid steps: the 99th percentile of
    the regions that moved (the tied block moves as one; a few dozen regions jumping
    across a band of the grid would otherwise set every later guess to the widest box)."""
    count = np.bincount(np.abs(idx - before))[1:]       # regions by the steps they moved (by counting)
    total = int(count.sum())
    if total == 0:
        return 0
    # (numpy's "higher" quantile: the value at sorted position ceil(0.99 (N - 1)))
    return 1 + int(np.searchsorted(np.cumsum(count), int(np.ceil(0.99 * (total - 1))) + 1))


def worth_guessing(lo_t: np.ndarray, hi_t: np.ndarray) -> bool:
    """Whether a box of known bounds is wide enough that a guessed box inside it saves rounds."""
    return int(np.max(hi_t - lo_t, initial=0)) > 2 * GUESS_STEPS[0]


def guess_box(lo_t: np.ndarray, hi_t: np.ndarray, centre: np.ndarray, k: int, inner: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """The guessed box of ``guessed_indices`` inside the valid box lo_t..hi_t: centre +- k
    for the regions ``inner`` (strictly inside their own box: the bands); a region at a
    bound of its own box may move one step off it, or across the band its bound lies in
    (it may join a tied block that moves). Narrow boxes of regions at their bounds chain
    little, so the groups of the bisection stay narrow."""
    b_lo, b_hi = _bands(centre[inner], k)
    gl, gu = np.maximum(lo_t, centre - k), np.minimum(hi_t, centre + k)
    at = np.flatnonzero(~inner)               # (the regions at a bound of their own box: the rest keep centre +- k)
    lo_a, hi_a, c_a = lo_t[at], hi_t[at], centre[at]
    j = np.searchsorted(b_lo, lo_a, side="right") - 1
    top = np.where(j >= 0, b_hi[np.maximum(j, 0)], -1) if b_lo.size else np.full(lo_a.size, -1)
    gu[at] = np.where(c_a <= lo_a, np.minimum(hi_a, np.maximum(lo_a + 1, top)), gu[at])
    j = np.searchsorted(b_lo, hi_a, side="right") - 1
    bottom = np.where((j >= 0) & (hi_a <= b_hi[np.maximum(j, 0)]), b_lo[np.maximum(j, 0)], hi_a) \
        if b_lo.size else hi_a
    gl[at] = np.where(c_a >= hi_a, np.maximum(lo_a, np.minimum(hi_a - 1, bottom)), gl[at])
    return gl, gu


def _bands(centres: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The union of the intervals [c - k, c + k] as disjoint bands (starts, ends), ascending:
    the distinct centres found by counting (the intervals have one width, so sorted
    centres sort both ends)."""
    if centres.size == 0:
        return centres, centres
    low = int(centres.min())
    c = np.flatnonzero(np.bincount(centres - low)) + low
    new = np.concatenate([[True], c[1:] - k > c[:-1] + k])
    starts = np.flatnonzero(new)
    return c[starts] - k, c[np.concatenate([starts[1:] - 1, [c.size - 1]])] + k


@dataclass(frozen=True)
class Grid:
    """What the inner solve reuses: the candidate levels and the regions in cut order."""
    values: np.ndarray
    lo_i: np.ndarray
    hi_i: np.ndarray
    perm: np.ndarray

    @staticmethod
    def of(lo: np.ndarray, hi: np.ndarray, rank: np.ndarray) -> Grid:
        # (the inverse gives every lo and hi its value's index: what searchsorted on the
        # values found, without two searches of n in an array of n)
        values, at = np.unique(np.concatenate([lo, hi]), return_inverse=True)
        n = rank.size
        if n and rank.min() >= 0 and rank.max() < n and np.bincount(rank, minlength=n).max() == 1:
            perm = np.empty(n, dtype=np.int64)        # a permutation: its inverse, without a sort
            perm[rank] = np.arange(n)
        else:
            perm = np.argsort(rank, kind="stable")
        return Grid(values, at[:lo.size], at[lo.size:], perm)


def budget_price_hint(w: np.ndarray, need: np.ndarray, level: np.ndarray, hi: np.ndarray, z: float,
                      lam: float, cut: CutFunction | None = None) -> float | None:
    """An estimate of the budget price lam_B from a start point with a floor at level z
    (the leximin split): raising the regions U at z that can rise by delta spends
    delta N_U and changes Phi - lam mu by delta (Q(W_above + W_U) - Q(W_above) - lam W_U)
    (the level sets just above z gain U), so lam_B ~ -(that) / N_U when the start is near
    the optimum. Only a hint: the search brackets around it and widens when it is off.
    None when no region can rise or the estimate is not positive."""
    tol = 1e-9 * max(1.0, abs(z))
    u = (np.abs(level - z) <= tol) & (level < hi - tol)
    if not u.any():
        return None
    q = cut if cut is not None else CutFunction.gini(float(w.sum()))
    w_ab, w_u = float(w[level > z + tol].sum()), float(w[u].sum())
    dq = float(q.value(np.array([w_ab + w_u]))[0] - q.value(np.array([w_ab]))[0])
    est = -(dq - lam * w_u) / float(need[u].sum())
    return est if np.isfinite(est) and est > 0 else None
